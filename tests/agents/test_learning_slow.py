"""Real learning results (marker ``slow``): PPO solves DoorKey-8x8 in every seed."""

from __future__ import annotations

import time

import jax
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train


@pytest.mark.slow
def test_doorkey_8x8_reaches_return_0_9_in_5_of_5_seeds_within_2m_steps():
    env, params = curriculax.make("curriculax/DoorKey-8x8-v0")
    config = PPOConfig(total_timesteps=2_000_000, num_envs=64, num_steps=128)
    train = make_train(config, env, params)
    start = time.perf_counter()
    _, metrics = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 5))
    returns = np.asarray(metrics["return_mean"])
    final = returns[:, -10:].mean(axis=1)
    print(f"DoorKey-8x8, 5 seeds x 2M steps: {time.perf_counter() - start:.0f} s, final {final}")
    assert np.all(final >= 0.9), final
