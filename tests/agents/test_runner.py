"""The host loop: chunked training, metrics files, checkpoints that resume to the same result."""

from __future__ import annotations

import csv

import jax
import numpy as np
import pytest

from curriculax.agents import checkpoints
from curriculax.agents.checkpoints import CheckpointError
from curriculax.agents.ppo import PPOConfig
from curriculax.agents.runner import CHECKPOINT, METRICS_CSV, RunSpec, load_run, run_training

SPEC = RunSpec(
    "curriculax/Empty-5x5-v0",
    PPOConfig(total_timesteps=16 * 32 * 6, num_envs=16, num_steps=32),
    seed=3,
    num_seeds=2,
    chunk_updates=2,
)


def _equal(a, b) -> bool:
    same = jax.tree.map(lambda x, y: np.array_equal(np.asarray(x), np.asarray(y)), a, b)
    return all(jax.tree.leaves(same))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    runner, _ = run_training(SPEC, folder, quiet=True)
    return folder, runner


def test_a_killed_run_resumes_to_the_same_parameters(uninterrupted, tmp_path):
    _, whole = uninterrupted
    run_training(SPEC, tmp_path, quiet=True, stop_after_updates=3)  # "killed" after update 3
    assert int(load_run(tmp_path)[2].update[0]) == 3
    resumed, _ = run_training(SPEC, tmp_path, quiet=True)
    assert int(resumed.update[0]) == 6
    assert _equal(whole.params, resumed.params)
    assert _equal(whole.opt_state, resumed.opt_state)
    rows = list(csv.DictReader((tmp_path / METRICS_CSV).open()))
    assert [(int(r["update"]), int(r["seed"])) for r in rows] == [
        (u, s) for u in range(1, 7) for s in range(2)
    ]


def test_metrics_csv_has_a_row_per_update_and_seed(uninterrupted):
    folder, _ = uninterrupted
    rows = list(csv.DictReader((folder / METRICS_CSV).open()))
    assert len(rows) == 6 * 2
    assert float(rows[-1]["env_steps"]) == 6 * 16 * 32
    assert (folder / "tensorboard").is_dir()
    assert not (folder / "curriculum").exists()  # level pictures only for curriculum runs


def test_corrupt_checkpoint_is_reported_and_never_overwritten(uninterrupted, tmp_path):
    folder, _ = uninterrupted
    data = bytearray((folder / CHECKPOINT).read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / CHECKPOINT).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        run_training(SPEC, tmp_path, quiet=True)
    assert (tmp_path / CHECKPOINT).read_bytes() == bytes(data)
    (tmp_path / CHECKPOINT).write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="truncated"):
        load_run(tmp_path)
    (tmp_path / CHECKPOINT).write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="not a curriculax checkpoint"):
        load_run(tmp_path)


def test_missing_checkpoint_and_mismatched_run_are_errors(uninterrupted, tmp_path):
    folder, _ = uninterrupted
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_run(tmp_path)
    other = RunSpec(SPEC.env_id, SPEC.config, seed=4, num_seeds=2, chunk_updates=2)
    with pytest.raises(CheckpointError, match="different run"):
        run_training(other, folder, quiet=True)
    with pytest.raises(CheckpointError, match="exists"):
        run_training(SPEC, folder, quiet=True, resume=False)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.ckpt"
    checkpoints.save(path, {"a": np.arange(3)}, {"note": "good"})
    good = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        checkpoints.save(path, {"a": np.arange(5)}, {"note": "bad"})
    assert path.read_bytes() == good
    assert list(tmp_path.iterdir()) == [path]
    tree, header = checkpoints.load(path, {"a": np.zeros(3, int)})
    assert header["note"] == "good" and list(tree["a"]) == [0, 1, 2]
