"""``PPOConfig.squash_actions``: a Gaussian policy that acts through tanh into the Box's bounds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.evaluation import record
from curriculax.agents.ppo import PPO, PPOConfig
from curriculax.agents.ppo.losses import squash_action
from curriculax.agents.ppo.train import _squash_bounds
from curriculax.replay import simulate
from curriculax.spaces import Box

#: A small walker run whose initial std (e^1) puts most raw samples outside [-1, 1].
SMALL = {"num_envs": 4, "num_steps": 8, "hidden_size": 16, "init_log_std": 1.0}


@pytest.fixture(scope="module")
def walker():
    env, params = curriculax.make("curriculax/StumpTracks-v0")
    return env, params


def test_squash_maps_into_any_finite_box_by_tanh():
    low, high = jnp.array([-2.0, 0.0]), jnp.array([3.0, 1.0])
    raw = jnp.array([[0.0, 0.0], [50.0, -50.0], [0.5, 1.0]])
    out = np.asarray(squash_action(raw, low, high))
    np.testing.assert_allclose(out[0], [0.5, 0.5])  # the mean of tanh's range: the middle
    np.testing.assert_allclose(out[1], [3.0, 0.0])
    np.testing.assert_allclose(out[2], [-2 + 2.5 * (np.tanh(0.5) + 1), (np.tanh(1.0) + 1) / 2])


def test_rollout_gives_the_env_tanh_of_the_sample_it_learns_from(walker):
    env, params = walker
    trainer = PPO(PPOConfig(squash_actions=True, **SMALL), env, params)
    given = []
    step = trainer.venv.step

    def spying_step(key, state, action, env_params):
        jax.debug.callback(lambda a: given.append(np.asarray(a)), action)
        return step(key, state, action, env_params)

    trainer.venv.step = spying_step
    runner = trainer.init(jax.random.key(0))
    _, batch, _, _ = jax.jit(trainer._rollout)(runner, params)
    jax.effects_barrier()
    given, raw = np.stack(given), np.asarray(batch.action)
    assert given.shape == raw.shape == (8, 4, 4)
    assert np.abs(raw).max() > 2.0  # the stored (learned-from) sample is the raw Gaussian one
    np.testing.assert_allclose(given, np.tanh(raw), rtol=1e-6, atol=1e-6)
    assert np.abs(given).max() < 1.0


def test_act_and_recorded_replays_use_the_squashed_actions():
    env, params = curriculax.make("curriculax/StumpTracks-v0", max_steps=60)  # a short replay
    squashed = PPO(PPOConfig(squash_actions=True, **SMALL), env, params)
    plain = PPO(PPOConfig(**SMALL), env, params)
    net = squashed.init_params(jax.random.key(1))
    obs, _ = env.reset(jax.random.key(2), params)
    obs, first = obs[None], jnp.ones(1, bool)
    _, greedy = squashed.act(net, None, obs, first)
    _, mean = plain.act(net, None, obs, first)
    np.testing.assert_allclose(np.asarray(greedy), np.tanh(np.asarray(mean)), rtol=1e-6)
    _, sampled = squashed.act(net, None, obs, first, jax.random.key(3))
    _, raw = plain.act(net, None, obs, first, jax.random.key(3))
    np.testing.assert_allclose(np.asarray(sampled), np.tanh(np.asarray(raw)), rtol=1e-6)
    replay = record(
        squashed, net, "curriculax/StumpTracks-v0", {"max_steps": 60}, jax.random.key(4), 1
    )
    length = int(replay.lengths[0])
    actions = replay.actions[0, :length]
    assert 0.0 < np.abs(actions).max() < 1.0  # what the env was given, not the raw samples
    out = simulate(replay, 0)  # and the replay plays back the same episode
    assert out["terminated"][-1] or out["truncated"][-1]
    assert not np.any(out["terminated"][:-1] | out["truncated"][:-1])


def test_squash_is_refused_for_unbounded_boxes():
    config = PPOConfig(squash_actions=True)
    low, high = _squash_bounds(config, Box(-2.0, 3.0, (2,), np.dtype(np.float32)))
    np.testing.assert_allclose(np.asarray(low), -2.0)
    np.testing.assert_allclose(np.asarray(high), 3.0)
    with pytest.raises(ValueError, match="squash_actions needs finite action bounds"):
        _squash_bounds(config, Box(-np.inf, np.inf, (2,), np.dtype(np.float32)))
    assert _squash_bounds(PPOConfig(), Box(-np.inf, np.inf, (2,), np.dtype(np.float32))) is None


def test_squash_is_refused_for_discrete_actions_and_non_bools():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    with pytest.raises(ValueError, match="squash_actions maps a Gaussian policy into a Box"):
        PPO(PPOConfig(squash_actions=True), env, params)
    with pytest.raises((TypeError, ValueError), match="squash_actions"):
        PPOConfig(squash_actions="yes")
