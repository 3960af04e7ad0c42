"""PAIRED: the regret estimate on hand-made returns, the adversary's levels and episodes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig
from curriculax.agents.ppo.losses import log_prob_entropy
from curriculax.curricula.base import EpisodeStats
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
