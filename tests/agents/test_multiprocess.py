"""Several processes train one run (``curriculax train --coordinator ...``), checked on localhost.

Two processes with one CPU device each must end where one process with two XLA host devices
ends (the same envs split the same way), to float rounding: parameters, optimiser and env
state, metrics; with a curriculum (PLR) too, and after a stop and a resume.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from curriculax.agents.runner import load_run

#: A small run: 8 envs, chunks of 2 updates (a checkpoint every 2).
SMALL = ["--num-envs", "8", "--set", "num_minibatches=2", "--chunk", "2", "--quiet"]
NO_REPORT = ["--eval-levels", "0", "--replay-episodes", "0"]
PLAIN = [
    "train",
    "curriculax/Empty-Random-5x5-v0",
    "--total-timesteps",
    "1024",
    "--num-steps",
    "16",
    *SMALL,
    *NO_REPORT,
]
#: PLR on DoorKey-5x5: rounds of 4 updates cover its 250-step episodes; 3 rounds.
PLR = [
    "train",
    "curriculax/DoorKey-5x5-v0",
    "--total-timesteps",
    "6144",
    "--num-steps",
    "64",
    "--curriculum",
    "plr",
    *SMALL,
    *NO_REPORT,
]


def free_port() -> int:
    """A port whose successor is free too (the coordinator uses both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports")


def command(argv: list[str], devices: int = 1) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    # keep the suite's fast-compile XLA flags (conftest.py); add the device count
    flags = os.environ.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    return [sys.executable, "-m", "curriculax", *argv], env


def flags(address: str, count: int, process_id: int, timeout: int | None = None) -> list[str]:
    """The coordinator flags of process ``process_id`` of ``count``."""
    out = ["--coordinator", address, "--num-processes", str(count), "--process-id", str(process_id)]
    return out if timeout is None else [*out, "--coordinator-timeout", str(timeout)]


def run_processes(argv: list[str], out, count: int = 2, timeout: float = 600) -> list[str]:
    """Runs ``argv`` as ``count`` processes of one run; their outputs (each must exit 0)."""
    address = f"127.0.0.1:{free_port()}"
    procs = []
    for i in range(count):
        cmd, env = command([*argv, "--out", str(out), *flags(address, count, i)])
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = [p.communicate(timeout=timeout)[0].decode() for p in procs]
    for p, text in zip(procs, outputs, strict=True):
        assert p.returncode == 0, text
    return outputs


def run_single(argv: list[str], out, devices: int = 2) -> None:
    cmd, env = command([*argv, "--out", str(out)], devices)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def assert_same_run(a, b) -> None:
    """Two run folders hold the same final state and metrics, to float rounding."""
    _, _, runner_a, header_a = load_run(a)
    _, _, runner_b, header_b = load_run(b)
    assert header_a["update"] == header_b["update"]
    leaves_a = jax.tree.leaves(jax.tree.map(_data, runner_a))
    leaves_b = jax.tree.leaves(jax.tree.map(_data, runner_b))
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_allclose(x, y, rtol=2e-5, atol=2e-6)
    rows_a, rows_b = (_metrics(f) for f in (a, b))
    assert rows_a.shape == rows_b.shape and rows_a.shape[0] > 0
    np.testing.assert_allclose(rows_a, rows_b, rtol=2e-5, atol=2e-6)


def _data(x):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(x))
    return np.asarray(x, np.float64)


def _metrics(folder) -> np.ndarray:
    with (folder / "metrics.csv").open() as f:
        rows = list(csv.reader(f))[1:]
    return np.array([[float(v) for v in r] for r in rows])


def test_two_processes_train_what_one_process_with_two_devices_trains(tmp_path):
    outputs = run_processes(PLAIN, tmp_path / "two")
    assert "process 0 of 2: 8 updates done, the envs split across 2 devices" in outputs[0]
    assert "process 1 of 2: 8 updates done, the envs split across 2 devices" in outputs[1]
    run_single(PLAIN, tmp_path / "one")
    assert_same_run(tmp_path / "two", tmp_path / "one")
    assert not (tmp_path / "two" / "checkpoint.ckpt.tmp").exists()


@pytest.mark.slow  # 5 process starts, each compiling PLR: ~3 min of the default suite's 15
def test_two_processes_with_plr_stopped_and_resumed_end_as_one_uninterrupted_run(tmp_path):
    two = tmp_path / "two"
    outputs = run_processes([*PLR, "--stop-after-updates", "4"], two)
    assert "stopped after 4 of 12 updates" in outputs[0]
    assert load_run(two)[3]["update"] == 4
    run_processes(PLR, two)
    run_single(PLR, tmp_path / "one")
    assert_same_run(two, tmp_path / "one")
    _, _, runner, _ = load_run(two)
    assert np.asarray(runner.curriculum.teacher.buffer.filled).sum() > 0  # PLR kept levels


def test_a_checkpoint_resumes_only_with_the_process_count_that_saved_it(tmp_path):
    run_single([*PLAIN, "--stop-after-updates", "2"], tmp_path / "run", devices=1)
    address = f"127.0.0.1:{free_port()}"
    cmd, env = command([*PLAIN, "--out", str(tmp_path / "run"), *flags(address, 1, 0)])
    # one process through the coordinator flags resumes it (the count is what matters)
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=600).returncode == 0
    with pytest.raises(AssertionError, match="saved by a run of 1 process"):
        run_processes(PLAIN, tmp_path / "run")


def test_an_unreachable_coordinator_fails_within_the_timeout_with_one_line(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    cmd, env = command([*PLAIN, "--out", str(tmp_path / "r"), *flags(address, 2, 1, timeout=3)])
    start = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert time.monotonic() - start < 60
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the coordinator" in lines[0], done.stderr


def test_processes_started_with_different_counts_fail_with_one_line(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    procs = []
    for count, pid in ((2, 0), (3, 1)):
        cmd, env = command([*PLAIN, "--out", str(tmp_path / "r"), *flags(address, count, pid, 20)])
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True))
    for p in procs:
        err = p.communicate(timeout=120)[1]
        assert p.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "--num-processes 3, process 0 with 2" in lines[0], err


@pytest.mark.parametrize(
    ("flags_given", "message"),
    [
        (["--num-processes", "2"], "need --coordinator HOST:PORT"),
        (["--coordinator", "127.0.0.1:5000"], "needs --num-processes N and --process-id I"),
        (["--coordinator", "localhost", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "in 0..1"),
        (["--distributed", "--coordinator", "h:1"], "give it without --coordinator"),
    ],
)
def test_inconsistent_process_flags_are_one_line_errors_before_jax_starts(
    flags_given, message, tmp_path, capsys
):
    from curriculax.cli import main

    assert main(["train", "Empty-5x5-v0", "--out", str(tmp_path / "r"), *flags_given]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "r").exists()


def test_two_processes_with_one_id_fail_with_one_line(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    procs = []
    for pid in (0, 1, 1):
        cmd, env = command([*PLAIN, "--out", str(tmp_path / "r"), *flags(address, 3, pid, 20)])
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True))
    for p in procs:
        err = p.communicate(timeout=120)[1]
        assert p.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "process id 1 is taken" in lines[0], err
