"""PPO with a teacher inside the jitted update: rounds, gradient gating, SFL evaluations, checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.curricula import make_teacher
from curriculax.curricula.dr import DomainRandomization
from curriculax.curricula.rounds import sample_round

CONFIG = PPOConfig(total_timesteps=4 * 16 * 12, num_envs=4, num_steps=16, num_minibatches=2)


@pytest.fixture(scope="module")
def small_maze():
    # 32-step episodes: a round is 2 updates of 16 steps
    return curriculax.make("curriculax/Maze-v0", size=7, n_walls=5, max_steps=32)


def _leaves_equal(a, b) -> bool:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return all(np.array_equal(x, y) for x, y in pairs)


def test_robust_plr_takes_gradient_steps_only_on_replay_rounds(small_maze):
    env, params = small_maze
    teacher = make_teacher("robust_plr", env, params, capacity=8, min_fill=0.5)
    train = make_train(CONFIG, env, params, teacher=teacher)
    assert train.rounds.updates == 2
    one_update = jax.jit(lambda runner, step: train.run(runner, 1, step))
    runner = jax.jit(train.init)(jax.random.key(0))
    trained = []
    for step in range(12):
        before = runner.params
        runner, metrics = one_update(runner, step)
        flag = bool(metrics["curriculum/trained"][0])
        trained.append(flag)
        assert _leaves_equal(before, runner.params) != flag
    assert trained[0::2] == trained[1::2]  # one decision per round of 2 updates
    assert trained[:2] == [False, False]  # the first round's new levels are only scored
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
    chunk = jax.vmap(lambda r, start: train.run(r, 5, start), in_axes=(0, None))
    runner, metrics = jax.jit(chunk)(runners, 0)
    # eval_every=2 rounds of 2 updates: evaluations before rounds 0 and 2 (updates 0 and 4)
    np.testing.assert_array_equal(metrics["curriculum/evaluations"], [[1, 1, 1, 1, 2]] * 2)
    filled = np.asarray(runner.curriculum.teacher.buffer.filled)
    assert filled.sum(axis=1).tolist() == [4, 4]
    # With the shared update index the "evaluate now?" branch stays a cond under vmap; with the
    # per-seed counter it becomes a select that evaluates on every update.
    shared = str(jax.make_jaxpr(chunk)(runners, 0)).count("cond[")
    per_seed = str(jax.make_jaxpr(jax.vmap(lambda r: train.run(r, 5)))(runners)).count("cond[")
    assert shared > per_seed


def test_a_teacher_for_another_env_is_rejected(small_maze):
    env, params = small_maze
    other, other_params = curriculax.make("curriculax/Maze-v0")
    teacher = make_teacher("dr", other, other_params)
    with pytest.raises(ValueError, match="teacher was built for"):
        make_train(CONFIG, env, params, teacher=teacher)
    with pytest.raises(TypeError, match="Teacher"):
        make_train(CONFIG, env, params, teacher="plr")  # type: ignore[arg-type]


class RecordingDR(DomainRandomization):
    """DR whose state keeps the statistics of the last round it learned from."""

    def init(self, key, num):
        del key
        return {"rounds": jnp.zeros((), jnp.int32), "episodes": jnp.zeros(num, jnp.float32)}

    def sample(self, state, key, num):
        return state, super().sample(state["rounds"], key, num)[1]

    def update(self, state, batch, stats):
        return {"rounds": state["rounds"] + 1, "episodes": stats.episodes}

    def metrics(self, state):
        return {"rounds": state["rounds"].astype(jnp.float32)}


def test_rounds_span_updates_so_episodes_longer_than_a_rollout_are_scored(small_maze):
    env, params = small_maze  # 32-step episodes, 16-step rollouts
    teacher = RecordingDR(env, params)
    train = make_train(CONFIG, env, params, teacher=teacher)
    runner = jax.jit(train.init)(jax.random.key(0))
    runner, metrics = jax.jit(lambda r: train.run(r, 4, 0))(runner)
    # the teacher learned twice, once per round of 2 updates, not after every update
    np.testing.assert_array_equal(metrics["curriculum/rounds"], [0, 1, 1, 2])
    # every env finished an episode in each round: a random walk mostly times out at step 32,
    # which a 16-step round would have cut before the teacher saw it
    assert np.all(np.asarray(runner.curriculum.teacher["episodes"]) >= 1)
    assert float(metrics["length_mean"][1]) > CONFIG.num_steps


def test_a_round_shorter_than_an_episode_is_refused_before_compiling(small_maze):
    env, params = small_maze
    config = PPOConfig(**{**CONFIG.to_dict(), "round_updates": 1})
    with pytest.raises(ValueError, match="round_updates >= 2"):
        make_train(config, env, params, teacher=make_teacher("dr", env, params))
    with pytest.raises(ValueError, match="only with a curriculum"):
        make_train(config, env, params)


def test_the_trainer_hands_out_the_round_modules_levels(small_maze):
    env, params = small_maze
    teacher = make_teacher("dr", env, params)
    train = make_train(CONFIG, env, params, teacher=teacher)
    runner = jax.jit(train.init)(jax.random.key(3))
    state, key = runner.curriculum.teacher, runner.curriculum.key
    one_round = jax.jit(lambda r, step: train.run(r, 2, step))
    sample = jax.jit(lambda state, key: sample_round(teacher, state, key, CONFIG.num_envs))
    for step in (0, 2):
        state, key, batch = sample(state, key)
        runner, _ = one_round(runner, step)
        assert _leaves_equal(runner.curriculum.batch.levels, batch.levels)
