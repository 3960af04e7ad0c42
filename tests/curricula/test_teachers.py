"""Level-replay teachers (DR, PLR, Robust PLR, ACCEL, SFL): scores, branches, errors."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents import checkpoints
from curriculax.curricula import make_teacher, scores
from curriculax.curricula.base import Batch, EpisodeStats
from curriculax.curricula.plr import ACCEL, MUTATE, NEW, PLR, REPLAY, RobustPLR
from curriculax.curricula.rounds import episode_stats
from curriculax.curricula.sfl import SFL

N = 4


@pytest.fixture(scope="module")
def maze():
    return curriculax.make("curriculax/Maze-v0")


@pytest.fixture(scope="module")
def plr(maze):
    """One PLR teacher shared by the tests, so its compiled rounds are reused."""
    env, params = maze
    return PLR(env, params, capacity=16, min_fill=0.5, replay_prob=0.9)


def _stats(key, n=N, **fixed) -> EpisodeStats:
    values = {
        name: jax.random.uniform(k, (n,))
        for name, k in zip(EpisodeStats.field_names(), jax.random.split(key, 7), strict=True)
    }
    values["episodes"] = jnp.ones(n)
    values.update({k: jnp.asarray(v, jnp.float32) for k, v in fixed.items()})
    return EpisodeStats(**values)


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _rounds(teacher, state, key, count, num=N):
    """``count`` rounds fed random statistics: (state, branches, train flags, levels)."""

    def one(state, key):
        sample_key, stats_key = jax.random.split(key)
        state, batch = teacher.sample(state, sample_key, num)
        state = teacher.update(state, batch, _stats(stats_key, num))
        branch = batch.info["branch"] if "branch" in batch.info else jnp.asarray(NEW)
        return state, (branch, batch.train, batch.levels)

    return jax.lax.scan(one, state, jax.random.split(key, count))


def test_episode_stats_by_hand():
    done = jnp.asarray([[0, 1], [1, 0], [0, 1]], bool)
    ret = jnp.asarray([[0.0, 0.5], [0.8, 0.0], [0.0, 0.0]])
    adv = jnp.asarray([[1.0, -2.0], [-1.0, 0.5], [2.0, 0.5]])
    value = jnp.asarray([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    env, _ = curriculax.make("curriculax/Empty-5x5-v0")  # a grid: success is a return > 0
    stats = episode_stats(env, value, adv, done, ret)
    np.testing.assert_allclose(stats.episodes, [1, 2])
    np.testing.assert_allclose(stats.return_mean, [0.8, 0.25])
    np.testing.assert_allclose(stats.return_max, [0.8, 0.5])
    np.testing.assert_allclose(stats.success_rate, [1.0, 0.5])
    np.testing.assert_allclose(stats.positive_value_loss, [1.0, 1.0 / 3])
    np.testing.assert_allclose(stats.l1_value_loss, [4.0 / 3, 1.0])
    np.testing.assert_allclose(stats.value_mean, [0.3, 0.4], rtol=1e-6)


def test_scores_by_hand():
    stats = _stats(
        jax.random.key(0),
        n=3,
        episodes=[2, 0, 4],
        success_rate=[0.5, 0.0, 1.0],
        value_mean=[0.2, 0.3, 0.1],
        return_max=[0.6, -jnp.inf, 0.9],
        positive_value_loss=[0.1, 0.2, 0.3],
    )
    np.testing.assert_allclose(scores.learnability(stats, None), [0.25, 0.0, 0.0])
    best = scores.best_return(stats, jnp.asarray([0.7, -jnp.inf, 0.1]))
    np.testing.assert_allclose(best, [0.7, -np.inf, 0.9])
    np.testing.assert_allclose(scores.max_mc(stats, best), [0.5, 0.0, 0.8], rtol=1e-6)
    np.testing.assert_allclose(scores.positive_value_loss(stats, best), [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="unknown score"):
        scores.score_function("regret")


def test_plr_replays_only_once_min_fill_is_reached(plr):
    teacher = plr
    state, (branch, train, _) = _rounds(
        teacher, teacher.init(jax.random.key(0), N), jax.random.key(1), 12
    )
    branch = np.asarray(branch)
    assert np.all(branch[:2] == NEW)  # 2 rounds x 4 new levels = 8 = min_fill * capacity
    assert np.sum(branch[2:] == REPLAY) >= 6  # then mostly replays (p = 0.9)
    assert np.all(np.asarray(train))  # plain PLR learns from every round
    assert int(state.buffer.size()) >= 8


def test_plr_replays_on_a_small_level_space_with_default_options(maze):
    env, params = curriculax.make("curriculax/DoorKey-5x5-v0")  # 48 distinct levels
    teacher = PLR(env, params)
    assert (teacher.distinct_levels, teacher.replay_threshold) == (48, 24)
    assert "24 levels" in teacher.summary() and "48 distinct" in teacher.summary()
    # the README's job: 32 envs, 256-step rounds; 100k steps = 12 rounds
    num = 32
    start = teacher.init(jax.random.key(0), num)
    state, (branch, _, _) = _rounds(teacher, start, jax.random.key(1), 12, num)
    assert np.sum(np.asarray(branch) == REPLAY) > 0
    assert float(teacher.metrics(state)["replay_share"]) > 0
    assert teacher.run_warnings(rounds=12, num=num) == []
    # a run too short to store 24 levels says that it is DR, before anything compiles
    (warning,) = teacher.run_warnings(rounds=1, num=8)
    assert "never replays" in warning and "domain randomisation" in warning


def test_plr_threshold_on_a_large_level_space_is_min_fill_of_capacity(maze):
    env, params = maze
    teacher = PLR(env, params)
    assert (teacher.distinct_levels, teacher.replay_threshold) == (4000, 2000)


def test_robust_plr_learns_only_from_replays(maze):
    env, params = maze
    teacher = RobustPLR(env, params, capacity=8, min_fill=0.5)
    _, (branch, train, _) = _rounds(
        teacher, teacher.init(jax.random.key(0), N), jax.random.key(2), 12
    )
    np.testing.assert_array_equal(np.asarray(train), np.asarray(branch) == REPLAY)
    assert {NEW, REPLAY} <= set(np.asarray(branch).tolist())


def test_accel_mutates_the_levels_it_just_replayed(maze):
    env, params = maze
    teacher = ACCEL(env, params, capacity=8, min_fill=0.5, num_edits=1)
    _, (branch, train, levels) = _rounds(
        teacher, teacher.init(jax.random.key(0), N), jax.random.key(3), 14
    )
    branch = np.asarray(branch)
    after_replay = np.flatnonzero(branch[:-1] == REPLAY) + 1
    assert len(after_replay) >= 2
    assert np.all(branch[after_replay] == MUTATE)
    np.testing.assert_array_equal(np.asarray(train), branch == REPLAY)
    for t in after_replay:
        parents = np.asarray(levels.grid[t - 1])
        children = np.asarray(levels.grid[t])
        # each child is its parent with a few cells edited (1 edit: <= 3 flips + a goal move)
        changed = np.any(parents != children, axis=-1).sum(axis=(1, 2))
        assert np.all(changed <= 5)
        assert np.any(changed > 0)  # the children are edited, not copies of their parents
        np.testing.assert_array_equal(levels.agent_pos[t], levels.agent_pos[t - 1])


def test_sfl_keeps_the_most_learnable_levels_and_mixes_them_in(maze):
    env, params = maze
    with pytest.warns(UserWarning, match="less than two episodes"):  # success is fed to absorb_eval
        teacher = SFL(env, params, num_eval_levels=16, keep=4, eval_steps=10, replay_fraction=0.5)
    sample = jax.jit(teacher.sample, static_argnums=2)
    state = teacher.init(jax.random.key(0), N)
    state, batch = sample(state, jax.random.key(1), N)
    assert np.all(np.asarray(batch.info["slots"]) == -1)  # nothing learnable known yet
    levels = jax.jit(teacher.eval_levels)(state, jax.random.key(2))
    success = jnp.linspace(0.0, 1.0, 16)
    state = jax.jit(teacher.absorb_eval)(state, levels, success)
    p = np.asarray(success)
    best = np.sort(p * (1 - p))[-4:]
    np.testing.assert_allclose(np.sort(np.asarray(state.buffer.scores)), best, rtol=1e-6)
    state, batch = sample(state, jax.random.key(3), N)
    slots = np.asarray(batch.info["slots"])
    assert np.all(slots[:2] >= 0) and np.all(slots[2:] == -1)
    np.testing.assert_array_equal(
        np.asarray(batch.levels.grid[:2]), np.asarray(state.buffer.levels.grid)[slots[:2]]
    )
    with pytest.raises(ValueError, match="success rates must have shape"):
        teacher.absorb_eval(state, levels, jnp.ones(3))


def test_teacher_state_survives_a_checkpoint_round_trip(plr, tmp_path):
    teacher = plr
    state, _ = _rounds(teacher, teacher.init(jax.random.key(0), N), jax.random.key(4), 12)
    checkpoints.save(tmp_path / "t.ckpt", state, {"what": "teacher"})
    template = jax.tree.map(np.zeros_like, state)
    loaded, header = checkpoints.load(tmp_path / "t.ckpt", template)
    assert header["what"] == "teacher"
    loaded = jax.tree.map(jnp.asarray, loaded)
    _, (b1, _, l1) = _rounds(teacher, state, jax.random.key(5), 12)
    _, (b2, _, l2) = _rounds(teacher, loaded, jax.random.key(5), 12)
    assert REPLAY in np.asarray(b1).tolist()  # the restored buffer was sampled from
    np.testing.assert_array_equal(b1, b2)
    for a, b in zip(jax.tree.leaves(l1), jax.tree.leaves(l2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_wrong_statistics_are_rejected_before_compiling(maze):
    env, params = maze
    plr = PLR(env, params, capacity=8)
    levels = plr.init(jax.random.key(0), N).last_replayed  # N placeholder levels
    info = {"branch": jnp.asarray(NEW), "slots": jnp.full(N, -1)}
    batch = Batch(levels=levels, info=info, train=jnp.asarray(True))
    for teacher in (make_teacher("dr", env, params), plr):
        state = teacher.init(jax.random.key(0), N)
        with pytest.raises(ValueError, match="has shape"):
            teacher.update(state, batch, _stats(jax.random.key(2), n=N + 1))
        with pytest.raises(ValueError, match="has shape"):
            jax.jit(teacher.update)(state, batch, _stats(jax.random.key(2), n=N + 1))
        with pytest.raises(ValueError, match="EpisodeStats"):
            teacher.update(state, batch, {"episodes": jnp.ones(N)})
    with pytest.raises(ValueError, match="initialised for 4 envs"):
        PLR(env, params, capacity=8).sample(
            PLR(env, params).init(jax.random.key(0), 4), jax.random.key(0), 5
        )


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("plr", {"capacity": 0}, "capacity"),
        ("plr", {"min_fill": 0.0}, "min_fill"),
        ("plr", {"replay_prob": 1.5}, "replay_prob"),
        ("plr", {"temperature": 0}, "temperature"),
        ("plr", {"score": "regret"}, "score"),
        ("robust_plr", {"staleness_coef": -0.1}, "staleness_coef"),
        ("accel", {"num_edits": 0}, "num_edits"),
        ("sfl", {"keep": 10, "num_eval_levels": 5}, "keep"),
        ("plr", {"buffer": 3}, "has no options"),
        ("nope", {}, "unknown curriculum"),
    ],
)
def test_bad_hyper_parameters_fail_at_construction(maze, name, options, match):
    env, params = maze
    with pytest.raises(ValueError, match=match):
        make_teacher(name, env, params, **options)


def test_a_teacher_rejects_a_task_space_it_cannot_handle():
    env, params = curriculax.make("curriculax/DoorKey-5x5-v0")
    with pytest.raises(ValueError, match="mutate_level"):
        make_teacher("accel", env, params)
    with pytest.raises(TypeError, match="curriculax Env"):
        PLR("not an env")  # type: ignore[arg-type]
