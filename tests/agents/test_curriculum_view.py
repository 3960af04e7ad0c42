"""What the teacher chooses, shown: level sheets, top-level sheets, task histograms (PNG + TB)."""

from __future__ import annotations

import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.curriculum_view import FOLDER, CurriculumView, tile_sheet
from curriculax.agents.ppo import PPOConfig
from curriculax.agents.runner import RunSpec, run_training
from curriculax.curricula import buffer as buf
from curriculax.curricula import make_teacher

PIL = pytest.importorskip("PIL.Image")

MAZE = {"size": 7, "n_walls": 5, "max_steps": 32}  # renders at 7 x 32 = 224 pixels a side
CONFIG = PPOConfig(
    total_timesteps=4 * 16 * 4, num_envs=4, num_steps=16, update_epochs=1, num_minibatches=1
)  # 4 updates; a curriculum round spans 2 (max_steps 32 / num_steps 16)


def _run(tmp_path_factory, curriculum: str, **options):
    spec = RunSpec(
        "curriculax/Maze-v0",
        CONFIG,
        env_kwargs=MAZE,
        chunk_updates=2,
        curriculum=curriculum,
        curriculum_options=options,
    )
    folder = tmp_path_factory.mktemp(curriculum)
    runner, trainer = run_training(spec, folder, quiet=True)
    return folder, runner, trainer


@pytest.fixture(scope="module")
def plr_run(tmp_path_factory):
    return _run(tmp_path_factory, "plr", capacity=16)


@pytest.fixture(scope="module")
def alpgmm_run(tmp_path_factory):
    return _run(tmp_path_factory, "alpgmm", fit_rate=8, history=16)


def _png(path) -> np.ndarray:
    with PIL.open(path) as image:
        return np.asarray(image)


def _colours(image: np.ndarray) -> int:
    return len(np.unique(image.reshape(-1, image.shape[-1]), axis=0))


def _events(folder) -> list:
    """Every Event in the run's TensorBoard files (TFRecord framing read by hand)."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
    events = []
    for path in sorted((folder / "tensorboard").glob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at : at + 8])
            events.append(event_pb2.Event.FromString(data[at + 12 : at + 12 + length]))
            at += 12 + length + 4
    return events


def _summaries(folder) -> dict[str, list]:
    """tag -> [(step, summary value)] over the run's event files."""
    out: dict[str, list] = {}
    for event in _events(folder):
        for value in event.summary.value:
            out.setdefault(value.tag, []).append((event.step, value))
    return out


def test_a_plr_run_leaves_level_sheets_and_scored_top_levels(plr_run):
    folder, _, _ = plr_run
    pictures = folder / FOLDER
    for update in (2, 4):
        levels = _png(pictures / f"levels_{update:06d}.png")
        # 4 envs -> one row of four 224-pixel tiles, 2-pixel separators
        assert levels.shape == (2 + 224 + 2, 2 + 4 * (224 + 2), 3)
        assert _colours(levels) > 2
        top = _png(pictures / f"top_levels_{update:06d}.png")
        assert top.ndim == 3 and top.shape[2] == 3
        assert top.shape[0] > 224 + 2 * 2  # tiles with a score strip under them
        assert _colours(top) > 2


def test_a_plr_run_logs_its_sheets_to_tensorboard(plr_run):
    folder, _, _ = plr_run
    tags = _summaries(folder)
    for tag in ("curriculum/levels", "curriculum/top_levels"):
        steps = [step for step, value in tags[tag]]
        assert steps == [2 * 4 * 16, 4 * 4 * 16]  # env steps per agent after each chunk
        image = tags[tag][-1][1].image
        assert image.colorspace == 3 and image.height > 224 and image.width > 224


def test_the_renderer_compiles_once_for_both_sheets(plr_run):
    _, runner, trainer = plr_run
    view = CurriculumView(trainer)
    first = view.level_sheet(runner)
    top = view.top_level_sheet(runner)
    assert first is not None and top is not None
    assert view.render._cache_size() == 1
    assert view.task_params(runner) == {}  # PLR moves no task parameter


def test_top_levels_are_the_best_stored_best_first(plr_run):
    _, runner, trainer = plr_run
    state = jax.tree.map(lambda x: x[0], runner.curriculum.teacher)
    levels, scores = trainer.teacher.top_levels(state, 8)
    stored = np.where(state.buffer.filled, state.buffer.scores, -np.inf)
    np.testing.assert_array_equal(np.asarray(scores), np.sort(stored)[::-1][:8])
    assert jax.tree.leaves(levels)[0].shape[0] == 8


def test_buffer_best_marks_missing_rows_with_minus_inf():
    template = {"x": jnp.zeros(2, jnp.int32)}
    buffer = buf.init_buffer(template, 4)
    levels = {"x": jnp.arange(6, dtype=jnp.int32).reshape(3, 2)}
    buffer, _ = buf.insert(buffer, levels, jnp.array([0.2, 0.9, 0.5]), jnp.zeros(3))
    best, scores = buf.best(buffer, 6)  # more than the capacity: the capacity
    np.testing.assert_allclose(np.asarray(scores), [0.9, 0.5, 0.2, -np.inf])
    np.testing.assert_array_equal(np.asarray(best["x"][:3]), [[2, 3], [4, 5], [0, 1]])


def test_an_alpgmm_run_leaves_parameter_histograms(alpgmm_run):
    folder, runner, trainer = alpgmm_run
    assert trainer.teacher.task_dims == ("n_walls",)
    pictures = folder / FOLDER
    for update in (2, 4):
        histogram = _png(pictures / f"params_{update:06d}.png")
        assert histogram.ndim == 3 and _colours(histogram) > 2
        assert (pictures / f"levels_{update:06d}.png").exists()
    assert not list(pictures.glob("top_levels_*"))  # ALP-GMM keeps no scored levels
    tags = _summaries(folder)
    histos = tags["curriculum/params/n_walls"]
    assert [step for step, _ in histos] == [2 * 4 * 16, 4 * 4 * 16]
    walls = np.asarray(runner.curriculum.batch.params.n_walls[0])
    last = histos[-1][1].histo
    assert last.num == 4 and last.min == walls.min() and last.max == walls.max()
    assert "curriculum/levels" in tags


def test_teachers_without_a_store_or_task_space_show_nothing_more():
    env, params = curriculax.make("curriculax/Maze-v0", **MAZE)
    dr = make_teacher("dr", env, params)
    assert dr.top_levels(dr.init(jax.random.key(0), 4), 8) is None
    assert dr.task_dims == ()


def test_tile_sheet_tiles_and_labels():
    tiles = np.zeros((3, 10, 20, 3), np.uint8)
    sheet = tile_sheet(tiles, columns=2)
    assert sheet.shape == (2 * (10 + 2) + 2, 2 * (20 + 2) + 2, 3)
    assert (sheet[0] == 128).all() and (sheet[2:12, 2:22] == 0).all()  # grey rules
    labelled = tile_sheet(tiles, ["0.5", "-1", "nan"], columns=3)
    assert labelled.shape[0] > 10 + 2 * 2
    strip = labelled[2 + 10 :, 2:22]  # under the first tile: black ink on white
    assert (strip == 0).any() and (strip == 255).any()
    with pytest.raises(ValueError, match="labels"):
        tile_sheet(tiles, ["1"])
