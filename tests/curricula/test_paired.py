"""PAIRED: the regret on hand-made returns, the adversary, and the teacher in the trainer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.agents.ppo.losses import log_prob_entropy
from curriculax.agents.runner import RunSpec, load_run, run_training
from curriculax.curricula import make_teacher
from curriculax.curricula.base import EpisodeStats
from curriculax.curricula.gym import HostCurriculum
from curriculax.curricula.paired import ADVERSARY_PPO, Adversary, regret
from curriculax.envs.grid.constants import Obj


def _stats(episodes, return_mean, return_max) -> EpisodeStats:
    n = len(episodes)
    zeros = jnp.zeros(n, jnp.float32)
    return EpisodeStats(
        episodes=jnp.asarray(episodes, jnp.float32),
        return_mean=jnp.asarray(return_mean, jnp.float32),
        return_max=jnp.asarray(return_max, jnp.float32),
        success_rate=zeros,
        positive_value_loss=zeros,
        l1_value_loss=zeros,
        value_mean=zeros,
    )


def test_regret_is_the_antagonists_best_minus_the_protagonists_mean():
    # level 0: protagonist 0.2 on average, antagonist's best 0.9 -> 0.7
    # level 1: the protagonist does better than the antagonist -> negative
    # levels 2 and 3: one student finished no episode -> no estimate, 0
    protagonist = _stats([2, 3, 0, 1], [0.2, 0.8, 0.0, 0.5], [0.3, 0.9, -np.inf, 0.5])
    antagonist = _stats([1, 2, 4, 0], [0.9, 0.1, 0.6, 0.0], [0.9, 0.3, 0.7, -np.inf])
    np.testing.assert_allclose(regret(protagonist, antagonist), [0.7, -0.5, 0.0, 0.0], atol=1e-6)


def test_the_adversary_builds_valid_levels_and_keeps_the_episodes_it_played():
    env, _ = curriculax.make("curriculax/Maze-v0")
    editor = env.editor(num_walls=50)
    adversary = Adversary(editor)
    weights = adversary.init(jax.random.key(0)).weights
    num = 16
    build = jax.jit(adversary.build, static_argnums=2)
    levels, solvable, trajectory = build(weights, jax.random.key(1), num)
    steps = editor.num_steps
    assert trajectory.action.shape == (steps, num)
    assert trajectory.obs.shape == (steps, num, 13, 13, 4)
    actions = np.asarray(trajectory.action)
    assert (actions[1] != actions[0]).all()  # the goal never lands on the agent (masked)
    kinds = np.asarray(levels.grid[..., 0])
    for i in range(num):
        x, y = (int(v) for v in levels.agent_pos[i])
        assert (kinds[i] == Obj.GOAL).sum() == 1 and kinds[i, y, x] == Obj.EMPTY
        assert 0 < (kinds[i] == Obj.WALL).sum() <= 50
    assert solvable.shape == (num,)
    # the stored log-probabilities are those of the masked policy that chose the actions
    logits, values = adversary.policy(weights, trajectory.obs, trajectory.mask)
    log_prob, _ = log_prob_entropy(logits, trajectory.action)
    np.testing.assert_allclose(log_prob, trajectory.log_prob, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values, trajectory.value, rtol=1e-4, atol=1e-5)
    goal_choice = jax.nn.softmax(logits[1])  # the second step: the agent's cell has no mass
    assert np.asarray(goal_choice[jnp.arange(num), trajectory.action[0]]).max() == 0.0
    # another key builds other levels; so do other weights (the policy decides the level)
    other_key = build(weights, jax.random.key(2), num)[0]
    other_weights = build(adversary.init(jax.random.key(3)).weights, jax.random.key(1), num)[0]
    for other in (other_key, other_weights):
        assert not np.array_equal(np.asarray(other.grid), np.asarray(levels.grid))


def test_the_adversarys_ppo_step_moves_its_levels_towards_what_scores():
    """Scored by how far right it puts the agent, the adversary learns to put it there."""
    env, _ = curriculax.make("curriculax/Maze-v0")
    editor = env.editor(num_walls=10)
    config = PPOConfig(**{**ADVERSARY_PPO, "learning_rate": 3e-3, "num_minibatches": 2})
    adversary = Adversary(editor, config)
    num = 32

    @jax.jit
    def round_(state, key):
        build_key, learn_key = jax.random.split(key)
        levels, _, trajectory = adversary.build(state.weights, build_key, num)
        x = levels.agent_pos[:, 0].astype(jnp.float32) / (editor.size - 1)
        state, metrics = adversary.learn(state, trajectory, x, learn_key)
        return state, x.mean(), metrics

    state = adversary.init(jax.random.key(0))
    means = []
    for key in jax.random.split(jax.random.key(1), 40):
        state, x, metrics = round_(state, key)
        means.append(float(x))
        assert all(np.isfinite(float(v)) for v in metrics.values())
    # uniform placement: 0.5 on average
    assert np.mean(means[-5:]) > np.mean(means[:5]) + 0.15, means


def test_settings_the_adversary_would_not_use_are_refused_before_tracing():
    editor = curriculax.make("curriculax/Maze-v0")[0].editor()
    for change, name in (
        ({"anneal_lr": True}, "anneal_lr"),
        ({"recurrent": "gru"}, "recurrent"),
        ({"normalize_returns": True}, "normalize_returns"),
    ):
        with pytest.raises(ValueError, match=name):
            Adversary(editor, PPOConfig(**{**ADVERSARY_PPO, **change}))


def _raw(x):
    return jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x


def _equal(a, b) -> bool:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return all(np.array_equal(np.asarray(_raw(x)), np.asarray(_raw(y))) for x, y in pairs)


def test_paired_trains_two_students_on_the_adversarys_levels_and_the_levels_change():
    env, params = curriculax.make("curriculax/Maze-v0", max_steps=32)
    rounds, num = 30, 32
    config = PPOConfig(
        total_timesteps=num * 32 * rounds, num_envs=num, num_steps=32, num_minibatches=2
    )
    teacher = make_teacher("paired", env, params, learning_rate=1e-3)
    train = make_train(config, env, params, teacher=teacher)
    start, (runner, metrics) = jax.jit(lambda k: (train.init(k), train(k)))(jax.random.key(0))
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    for name, values in metrics.items():
        assert np.all(np.isfinite(values)), name
    for tree in (runner.params, runner.antagonist.params, runner.curriculum.teacher.adversary):
        assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(tree))
    # two students, each trained: both moved from their start, and apart
    assert not _equal(start.params, runner.params)
    assert not _equal(start.antagonist.params, runner.antagonist.params)
    assert not _equal(runner.params, runner.antagonist.params)
    # the antagonist's envs play the round's levels, as the protagonist's do
    levels = runner.curriculum.batch.levels
    keys = jax.random.split(jax.random.key(0), num)
    _, fresh = jax.vmap(env.reset_to_level, (0, 0, None))(keys, levels, params)
    for student in (runner, runner.antagonist):
        starts = student.vec_state.source_state
        assert np.array_equal(np.asarray(starts.grid), np.asarray(fresh.grid))
        assert np.array_equal(np.asarray(starts.agent_pos), np.asarray(levels.agent_pos))
    # the adversary learns every round: its policy sharpens and its mazes change
    entropy, walls = metrics["curriculum/adversary_entropy"], metrics["curriculum/walls"]
    assert entropy[-5:].mean() < entropy[:5].mean() - 0.3
    assert abs(walls[-5:].mean() - walls[:5].mean()) > 4.0
    assert np.all((metrics["curriculum/solvable"] >= 0) & (metrics["curriculum/solvable"] <= 1))


@pytest.mark.slow  # ~27 s; exact resumption of one-student runs is in the default suite
def test_a_paired_run_resumes_exactly_with_both_students_and_the_adversary(tmp_path):
    config = PPOConfig(total_timesteps=8 * 16 * 4, num_envs=8, num_steps=16, num_minibatches=2)
    spec = RunSpec(
        "curriculax/Maze-v0",
        config,
        env_kwargs={"max_steps": 16},
        chunk_updates=1,
        curriculum="paired",
        curriculum_options={"num_minibatches": 2},
    )
    whole, _ = run_training(spec, tmp_path / "whole", quiet=True, pictures=False)
    run_training(spec, tmp_path / "cut", quiet=True, stop_after_updates=2, pictures=False)
    _, _, saved, _ = load_run(tmp_path / "cut")
    assert int(saved.update[0]) == 2 and saved.antagonist is not None
    resumed, _ = run_training(spec, tmp_path / "cut", quiet=True, pictures=False)
    assert _equal(whole.params, resumed.params)
    assert _equal(whole.antagonist, resumed.antagonist)
    assert _equal(whole.curriculum, resumed.curriculum)
    header = (tmp_path / "cut" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "curriculum/regret" in header and "curriculum/walls" in header


def test_paired_needs_an_editor_and_the_jitted_trainer():
    env, params = curriculax.make("curriculax/DoorKey-5x5-v0")
    with pytest.raises(ValueError, match="Maze-v0"):
        make_teacher("paired", env, params)
    maze, maze_params = curriculax.make("curriculax/Maze-v0")
    with pytest.raises(ValueError, match="num_walls"):
        make_teacher("paired", maze, maze_params, num_walls=500)
    with pytest.raises(ValueError, match="learning_rate"):
        make_teacher("paired", maze, maze_params, learning_rate=-1.0)
    teacher = make_teacher("paired", maze, maze_params, num_minibatches=3)
    with pytest.raises(ValueError, match="divide"):
        teacher.init(jax.random.key(0), 8)
    with pytest.raises(ValueError, match="2 students"):
        HostCurriculum(make_teacher("paired", maze, maze_params), num=4)


def test_the_perfect_maze_has_an_editor_whose_levels_it_plays():
    env, params = curriculax.make("curriculax/PerfectMaze-15x15-v0")
    teacher = make_teacher("paired", env, params, num_walls=20)
    state = teacher.init(jax.random.key(0), 4)
    _, batch = jax.jit(teacher.sample, static_argnums=2)(state, jax.random.key(1), 4)
    assert batch.levels.grid.shape[:3] == (4, 15, 15)
    keys = jax.random.split(jax.random.key(2), 4)
    _, env_state = jax.vmap(env.reset_to_level, (0, 0, None))(keys, batch.levels, params)
    assert np.array_equal(np.asarray(env_state.agent_pos), np.asarray(batch.levels.agent_pos))
    step = jax.vmap(env.step, (0, 0, 0, None))
    obs, _, reward, *_ = step(keys, env_state, jnp.full(4, 2, jnp.int32), params)  # forward
    assert obs.shape[0] == 4 and np.all(np.isfinite(np.asarray(reward)))
