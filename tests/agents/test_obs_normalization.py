"""PPOConfig.normalize_observations: running mean/std of the policy's inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.agents.ppo.networks import NORMALIZER, OBS_CLIP, OBS_NORM, update_obs_stats

CONFIG = PPOConfig(
    total_timesteps=3 * 16 * 32,
    num_envs=16,
    num_steps=32,
    num_minibatches=2,
    network="mlp",
    normalize_observations=True,
)


def test_merged_statistics_equal_those_of_every_observation_at_once():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 4, 2)).astype(np.float32) for n in (5, 64, 1, 300)]
    stats = {"mean": jnp.zeros((4, 2)), "var": jnp.ones((4, 2)), "count": jnp.zeros(())}
    for batch in batches:
        stats = update_obs_stats(stats, jnp.asarray(batch))
    every = np.concatenate(batches)
    np.testing.assert_allclose(stats["mean"], every.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats["var"], every.var(axis=0), rtol=1e-4)
    assert float(stats["count"]) == len(every)


@pytest.fixture(scope="module")
def trained():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    train = make_train(CONFIG, env, params)
    runner, _ = jax.jit(train)(jax.random.key(0))
    return train, runner


def rollout_observations(train, runner):
    """The observations the next ``train.update(runner)`` collects, [T * N, ...] (its first
    steps: the key split, the pool refill, the rollout)."""
    key, refill_key, _ = jax.random.split(runner.key, 3)
    vec_state = train.venv.refill(refill_key, runner.vec_state, train.env_params)
    runner = runner.replace(key=key, vec_state=vec_state)
    _, batch, _, _ = train._rollout(runner, train.env_params)
    return batch.obs.reshape((-1, *batch.obs.shape[2:]))


def test_statistics_are_those_of_every_collected_observation_untouched_by_adam():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    train = make_train(CONFIG, env, params)
    update = jax.jit(train.update)
    start = jax.jit(train.init)(jax.random.key(0))
    first, _ = update(start)
    second, _ = update(first)
    observations = jax.jit(lambda r: rollout_observations(train, r))  # one compile for both
    seen = np.concatenate([np.asarray(observations(r), np.float64) for r in (start, first)])
    stats = second.params[OBS_NORM][NORMALIZER]
    # exact after two updates only if the merge is right and the gradient steps between the
    # two merges left the statistics alone (after one, any prior statistics give the same)
    assert float(stats["count"]) == len(seen) == 2 * CONFIG.batch_size
    np.testing.assert_allclose(stats["mean"], seen.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["var"], seen.var(axis=0), rtol=1e-4, atol=1e-6)
    assert np.any(np.asarray(stats["var"]) > 0)  # the observations vary: a real check


def test_the_network_reads_standardised_clipped_observations(trained):
    train, runner = trained
    stats = runner.params[OBS_NORM][NORMALIZER]
    obs = train.obs_space.sample(jax.random.key(1))[None].astype(jnp.float32)
    reset = jnp.ones(1, bool)
    _, logits, value = train.policy(runner.params, None, obs, reset)
    # the same layers without the normaliser, fed the observation standardised by hand
    plain = make_train(
        CONFIG.__class__(**{**CONFIG.to_dict(), "normalize_observations": False}),
        train.env,
        train.env_params,
    )
    by_hand = jnp.clip((obs - stats["mean"]) / jnp.sqrt(stats["var"] + 1e-8), -OBS_CLIP, OBS_CLIP)
    weights = {k: v for k, v in runner.params.items() if k != OBS_NORM}
    _, logits_by_hand, value_by_hand = plain.policy(weights, None, by_hand, reset)
    np.testing.assert_allclose(logits, logits_by_hand, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value, value_by_hand, rtol=1e-5, atol=1e-6)


def test_normalisation_is_refused_for_encoders_it_would_break():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")  # cell codes -> the grid encoder
    config = PPOConfig(total_timesteps=512, num_envs=8, num_steps=64, normalize_observations=True)
    with pytest.raises(ValueError, match="normalize_observations standardises Box observations"):
        make_train(config, env, params)
