"""PPOConfig.normalize_returns: rewards scaled by the running std of the discounted return."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.agents.ppo.return_norm import REWARD_CLIP, ReturnNorm, normalize_rewards

GAMMA = 0.9


def reference(rollouts: list[tuple[np.ndarray, np.ndarray]], num_envs: int) -> list[np.ndarray]:
    """Each rollout's normalised rewards, step by step in plain Python (float64)."""
    discounted = [0.0] * num_envs
    seen: list[float] = []
    out = []
    for reward, done in rollouts:
        for t in range(reward.shape[0]):
            for n in range(num_envs):
                discounted[n] = GAMMA * discounted[n] + reward[t, n]
                seen.append(discounted[n])
                if done[t, n]:
                    discounted[n] = 0.0
        std = np.sqrt(np.var(seen) + 1e-8)
        out.append(np.clip(reward / std, -REWARD_CLIP, REWARD_CLIP))
    return out


def test_rewards_are_divided_by_the_std_of_every_discounted_return_so_far():
    rng = np.random.default_rng(0)
    rollouts = []
    for t in (7, 5, 9):
        reward = rng.normal(2.0, 3.0, (t, 4)).astype(np.float32)
        done = rng.random((t, 4)) < 0.3
        rollouts.append((reward, done))
    rollouts[1][0][2, 1] = 1e4  # a spike: clipped
    state = ReturnNorm.create(4)
    for (reward, done), expected in zip(rollouts, reference(rollouts, 4), strict=True):
        state, scaled = normalize_rewards(state, jnp.asarray(reward), jnp.asarray(done), GAMMA)
        np.testing.assert_allclose(scaled, expected, rtol=1e-4, atol=1e-5)
    assert float(state.stats["count"]) == sum(r.size for r, _ in rollouts)
    assert np.max(np.abs(np.asarray(scaled))) <= REWARD_CLIP


#: The walker (a fall costs -100, so raw returns are far from unit scale), 8 envs x 32 steps.
WALKER = dict(total_timesteps=4 * 8 * 32, num_envs=8, num_steps=32, num_minibatches=2, gamma=GAMMA)


@pytest.fixture(scope="module")
def walker_updates():
    """Two updates with return normalisation (one compile, shared by the tests).

    Returns:
        ``(rollouts, runner, first_metrics, config)``: each update's rewards and episode ends
        ([T, N] each, recorded from the same state the update starts from), the runner after
        both updates and the first update's metrics.
    """
    env, params = curriculax.make("curriculax/StumpTracks-v0")
    config = PPOConfig(**WALKER, normalize_returns=True)
    train = make_train(config, env, params)
    update = jax.jit(train.update)
    runner = jax.jit(train.init)(jax.random.key(0))
    assert float(runner.return_norm.stats["count"]) == 0

    @jax.jit
    def next_rollout(runner):
        """The rewards and episode ends the next ``update(runner)`` trains on (its first steps:
        the key split, the pool refill, the rollout)."""
        key, refill_key, _ = jax.random.split(runner.key, 3)
        vec_state = train.venv.refill(refill_key, runner.vec_state, train.env_params)
        start = runner.replace(key=key, vec_state=vec_state)
        _, batch, _, _ = train._rollout(start, train.env_params)
        return batch.reward, batch.terminated | batch.truncated

    rollouts, metrics = [], []
    for _ in range(2):
        reward, done = next_rollout(runner)
        rollouts.append((np.asarray(reward, np.float64), np.asarray(done)))
        runner, step_metrics = update(runner)
        metrics.append(step_metrics)
    return rollouts, runner, metrics[0], config


@pytest.mark.slow  # the walker PPO compiles (~50 s); the option is off by default
def test_ppo_scales_its_rewards_and_keeps_the_statistics_across_updates(walker_updates):
    rollouts, runner, _, config = walker_updates
    seen = []
    discounted = np.zeros(config.num_envs)
    for reward, done in rollouts:
        for t in range(config.num_steps):
            discounted = GAMMA * discounted + reward[t]
            seen.append(discounted.copy())
            discounted[done[t]] = 0.0
    seen = np.concatenate(seen)
    stats = runner.return_norm.stats
    assert float(stats["count"]) == seen.size == 2 * config.batch_size
    np.testing.assert_allclose(stats["var"], seen.var(), rtol=1e-4)
    np.testing.assert_allclose(runner.return_norm.discounted, discounted, rtol=1e-3, atol=1e-4)
    assert seen.var() > 0.1  # the walker's rewards vary: a real check


def test_without_the_option_the_runner_carries_no_return_state():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    train = make_train(PPOConfig(total_timesteps=512, num_envs=8, num_steps=64), env, params)
    runner = jax.eval_shape(train.init, jax.random.key(0))  # the structure, nothing run
    assert runner.return_norm is None


@pytest.mark.slow  # the walker PPO compiles (~50 s); the option is off by default
def test_the_value_targets_are_built_from_the_normalised_rewards(walker_updates):
    _, _, normalised, _ = walker_updates
    env, params = curriculax.make("curriculax/StumpTracks-v0")
    train = make_train(PPOConfig(**WALKER), env, params)
    _, raw = jax.jit(lambda key: train.update(train.init(key)))(jax.random.key(0))
    losses = {True: float(normalised["value_loss"]), False: float(raw["value_loss"])}
    # the same rollout either way (same key, same first policy); a fall's -100 makes the raw
    # returns' scale >> 1, so value targets from rewards / std give a far smaller value loss
    assert losses[True] < 0.1 * losses[False], losses
