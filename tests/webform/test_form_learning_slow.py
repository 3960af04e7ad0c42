"""PPO with the pointer network learns MiniWoB++'s form tasks (marker ``slow``)."""

from __future__ import annotations

import time

import jax
import numpy as np
import pytest

import curriculax
from curriculax.agents.evaluation import evaluate
from curriculax.agents.ppo import PPOConfig, make_train

#: Short episodes (<= 12 steps): many envs, short rollouts, a discount that values finishing.
FORM_CONFIG = PPOConfig(
    total_timesteps=300_000,
    num_envs=128,
    num_steps=16,
    num_minibatches=4,
    learning_rate=5e-4,
    gamma=0.95,
)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["LoginUser", "EnterText", "ClickCheckboxes", "ChooseList"])
def test_ppo_succeeds_on_90_percent_of_fresh_forms(task):
    env, params = curriculax.make(f"curriculax/{task}-v0")
    train = make_train(FORM_CONFIG, env, params)
    start = time.perf_counter()
    runner, metrics = jax.jit(train)(jax.random.key(0))
    levels = jax.vmap(env.sample_level, (0, None))(jax.random.split(jax.random.key(1), 256), params)
    summary = evaluate(train, runner.params, levels, jax.random.key(2), greedy=True).summary()
    print(
        f"{task}, {FORM_CONFIG.total_timesteps:,} steps in {time.perf_counter() - start:.0f} s: "
        f"training success (last 10 updates) {np.asarray(metrics['success_rate'])[-10:].mean():.3f}"
        f"; greedy on 256 fresh forms: success {summary['solve_rate']:.3f}, return "
        f"{summary['return_mean']:.3f}"
    )
    assert summary["solve_rate"] >= 0.9, summary
