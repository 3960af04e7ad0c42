"""PPO with a teacher inside the jitted update: gradient gating, SFL evaluations, checks."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.curricula import make_teacher

CONFIG = PPOConfig(total_timesteps=4 * 16 * 8, num_envs=4, num_steps=16, num_minibatches=2)


@pytest.fixture(scope="module")
def small_maze():
    return curriculax.make("curriculax/Maze-v0", size=7, n_walls=5)


def _leaves_equal(a, b) -> bool:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return all(np.array_equal(x, y) for x, y in pairs)


def test_robust_plr_takes_gradient_steps_only_on_replay_rounds(small_maze):
    env, params = small_maze
    teacher = make_teacher("robust_plr", env, params, capacity=8, min_fill=0.5)
    train = make_train(CONFIG, env, params, teacher=teacher)
    one_update = jax.jit(lambda runner: train.run(runner, 1))
    runner = jax.jit(train.init)(jax.random.key(0))
    trained = []
    for _ in range(8):
        before = runner.params
        runner, metrics = one_update(runner)
        flag = bool(metrics["curriculum/trained"][0])
        trained.append(flag)
        assert _leaves_equal(before, runner.params) != flag
    assert trained[:2] == [False, False]  # the buffer fills (8 = 2 rounds x 4) before replays
    assert any(trained)
    assert "curriculum/buffer_fill" in train.metric_names
    assert float(metrics["curriculum/buffer_fill"][0]) > 0


@pytest.mark.slow  # ~110 s, mostly compiling; SFL's scoring is tested in test_teachers.py
def test_sfl_gets_a_policy_evaluation_every_eval_every_updates(small_maze):
    env, params = small_maze
    with pytest.warns(UserWarning, match="less than two episodes"):  # tiny, for speed
        teacher = make_teacher(
            "sfl", env, params, num_eval_levels=8, keep=4, eval_steps=12, eval_every=2
        )
    train = make_train(CONFIG, env, params, teacher=teacher)
    keys = jax.random.split(jax.random.key(1), 2)
    runners = jax.vmap(train.init)(keys)
    chunk = jax.vmap(lambda r, start: train.run(r, 3, start), in_axes=(0, None))
    runner, metrics = jax.jit(chunk)(runners, 0)
    np.testing.assert_array_equal(metrics["curriculum/evaluations"], [[1, 1, 2]] * 2)
    assert np.asarray(runner.teacher_state.buffer.filled).sum(axis=1).tolist() == [4, 4]
    # With the shared update index the "evaluate now?" branch stays a cond under vmap; with the
    # per-seed counter it becomes a select that evaluates on every update.
    shared = str(jax.make_jaxpr(chunk)(runners, 0)).count("cond[")
    per_seed = str(jax.make_jaxpr(jax.vmap(lambda r: train.run(r, 3)))(runners)).count("cond[")
    assert shared > per_seed


def test_a_teacher_for_another_env_is_rejected(small_maze):
    env, params = small_maze
    other, other_params = curriculax.make("curriculax/Maze-v0")
    teacher = make_teacher("dr", other, other_params)
    with pytest.raises(ValueError, match="teacher was built for"):
        make_train(CONFIG, env, params, teacher=teacher)
    with pytest.raises(TypeError, match="Teacher"):
        make_train(CONFIG, env, params, teacher="plr")  # type: ignore[arg-type]
