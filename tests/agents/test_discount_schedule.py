"""PPOConfig.gamma_end: the discount moves linearly from ``gamma`` to ``gamma_end`` over the run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train

SHAPE = {"num_envs": 4, "num_steps": 16, "num_minibatches": 2, "total_timesteps": 5 * 64}


def _advantages(config: PPOConfig, update: int) -> np.ndarray:
    """GAE advantages of one rollout from the same start, as if at update ``update``."""
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    train = make_train(config, env, params)
    runner = train.init(jax.random.key(3))
    runner = runner.replace(update=jnp.asarray(update, jnp.int32))
    _, experience = jax.jit(train._experience)(runner, train.env_params)
    return np.asarray(experience.advantages)


def test_each_update_uses_its_point_on_the_line_from_gamma_to_gamma_end():
    scheduled = PPOConfig(gamma=0.5, gamma_end=0.9, **SHAPE)  # 5 updates: 0.5, 0.6, ..., 0.9
    for update, gamma in [(0, 0.5), (2, 0.7), (4, 0.9)]:
        fixed = PPOConfig(gamma=gamma, **SHAPE)
        np.testing.assert_allclose(
            _advantages(scheduled, update), _advantages(fixed, update), rtol=1e-5, atol=1e-6
        )
    # and the discounts differ enough to tell apart: a real check
    assert not np.allclose(_advantages(scheduled, 0), _advantages(scheduled, 4), atol=1e-3)


def test_the_metrics_report_each_update_s_discount():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    train = make_train(PPOConfig(gamma=0.5, gamma_end=0.9, **SHAPE), env, params)
    _, metrics = jax.jit(train)(jax.random.key(0))
    np.testing.assert_allclose(metrics["gamma"], [0.5, 0.6, 0.7, 0.8, 0.9], rtol=1e-6)
    assert "gamma" in train.metric_names  # logged to metrics.csv
    assert "gamma" not in make_train(PPOConfig(**SHAPE), env, params).metric_names


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_gamma_end_outside_0_1_is_refused(value):
    with pytest.raises(ValueError, match=r"PPOConfig\.gamma_end must be in"):
        PPOConfig(gamma_end=value)
