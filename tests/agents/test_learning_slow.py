"""Real learning results (marker ``slow``): PPO solves DoorKey-8x8, walks flat Stump Tracks."""

from __future__ import annotations

import time

import jax
import numpy as np
import pytest

import curriculax
from curriculax.agents.evaluation import evaluate
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.recipes import recipe

#: DoorKey-8x8's recipe (envs/grid/recipes.py), the settings `curriculax train` uses.
DOORKEY_CONFIG = PPOConfig(**recipe("curriculax/DoorKey-8x8-v0"))


@pytest.mark.slow
def test_doorkey_8x8_reaches_return_0_9_in_5_of_5_seeds_within_5m_steps():
    env, params = curriculax.make("curriculax/DoorKey-8x8-v0")
    train = make_train(DOORKEY_CONFIG, env, params)
    start = time.perf_counter()
    _, metrics = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 5))
    returns = np.asarray(metrics["return_mean"])
    final = returns[:, -20:].mean(axis=1)
    steps = np.asarray(metrics["env_steps"])[0]
    first = [int(steps[np.argmax(r >= 0.9)]) if np.any(r >= 0.9) else None for r in returns]
    print(
        f"DoorKey-8x8, 5 seeds x {DOORKEY_CONFIG.total_timesteps:,} steps: "
        f"{time.perf_counter() - start:.0f} s wall on {jax.device_count()} device(s); "
        f"final return (last 20 updates) {np.round(final, 3)}; first update >= 0.9 at {first}"
    )
    assert np.all(final >= 0.9), final


#: The walker's recipe (envs/parkour/recipes.py), the settings `curriculax train` uses.
WALKER_CONFIG = PPOConfig(**recipe("curriculax/StumpTracks-v0"))


@pytest.mark.slow
def test_walker_masters_flat_stump_tracks_within_6m_steps():
    env, params = curriculax.make("curriculax/StumpTracks-v0")  # lowest stumps, 6 m apart
    train = make_train(WALKER_CONFIG, env, params)
    start = time.perf_counter()
    runner, metrics = jax.jit(train)(jax.random.key(0))
    levels = jax.vmap(env.sample_level, (0, None))(jax.random.split(jax.random.key(1), 16), params)
    result = evaluate(train, runner.params, levels, jax.random.key(2), num_episodes=2, greedy=True)
    summary = result.summary()
    print(
        f"StumpTracks flat, {WALKER_CONFIG.total_timesteps:,} steps: "
        f"{time.perf_counter() - start:.0f} s wall; training return (last 10 updates) "
        f"{np.asarray(metrics['return_mean'])[-10:].mean():.1f}; greedy on 16 tracks: return "
        f"{summary['return_mean']:.1f}, mastered (> 230) {summary['solve_rate']:.2f}"
    )
    assert summary["return_mean"] >= 230.0 and summary["solve_rate"] >= 0.9, summary
