"""Conformance of every registered id, generated from the registry (DESIGN.md tests, tier 1)."""

from __future__ import annotations

import pickle
import warnings

import chex
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from id_tiers import one_per_class_by_default

import curriculax
from curriculax.gym_adapters import key_from_seed

IDS = curriculax.registered_ids()


# The functional checks compile a vmapped reset and step per id: every env class in the default
# suite, every id in the slow one.
FUNCTIONAL_IDS = one_per_class_by_default(IDS)


# check_env, determinism, scalar types and pickling: every env class in the default suite, every
# id in the slow one.
@pytest.fixture(scope="module", params=FUNCTIONAL_IDS)
def class_id(request):
    return request.param


def test_check_env_passes_with_warnings_as_errors(class_id):
    env = gymnasium.make(class_id, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_check_env_passes_without_render_mode():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gymnasium.make(IDS[0]).unwrapped)


def _actions(env, count, seed=0):
    """``count`` actions of ``env``'s action space, the same for the same seed."""
    space = env.action_space
    space.seed(seed)
    return [space.sample() for _ in range(count)]


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        out += [obs, reward, terminated, truncated]
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(obs)
    return out


def _same(first, second):
    return len(first) == len(second) and all(
        np.array_equal(a, b) for a, b in zip(first, second, strict=True)
    )


def test_same_seed_same_trajectory_and_other_seed_differs(class_id):
    actions = _actions(gymnasium.make(class_id), 60)
    first = _rollout(gymnasium.make(class_id), 3, actions)
    second = _rollout(gymnasium.make(class_id), 3, actions)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    others = [_rollout(gymnasium.make(class_id), seed, actions) for seed in (4, 5)]
    if all(_same(first, other) for other in others):
        # Only an env without randomness may ignore its seed: one level (MiniGrid's Empty with
        # its fixed start) and deterministic dynamics (the grids').
        core, params = curriculax.make(class_id)
        keys = jax.random.split(jax.random.key(0), 8)
        levels = jax.jit(jax.vmap(core.sample_level, (0, None)))(keys, params)
        starts = jax.jit(jax.vmap(core.reset_to_level, (0, 0, None)))(keys, levels, params)[0]
        for leaf in jax.tree.leaves((levels, starts)):
            assert bool(jnp.all(leaf == leaf[:1])), f"{class_id}: seeds 3, 4, 5 gave one run"


def test_step_returns_numpy_and_python_scalars(class_id):
    env = gymnasium.make(class_id)
    obs, info = env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and info == {}
    obs, reward, terminated, truncated, info = env.step(_actions(env, 1)[0])
    assert isinstance(obs, np.ndarray) and obs.dtype == env.observation_space.dtype
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
    assert env.observation_space.contains(obs)


def test_pickled_env_continues_identically(class_id):
    env = gymnasium.make(class_id)
    env.reset(seed=1)
    for action in _actions(env, 5, seed=1):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for action in _actions(env, 8, seed=2):
        np.testing.assert_equal(env.step(action), clone.step(action))


@pytest.mark.parametrize("functional_id", FUNCTIONAL_IDS)
def test_jit_vmap_one_trace_shapes_spaces_and_finite_values(functional_id):
    env, params = curriculax.make(functional_id)
    batch = 4
    obs_space, action_space = env.observation_space(params), env.action_space(params)

    def step(key, state, action, params):  # a fresh function: its own trace counter
        return env.step(key, state, action, params)

    reset = jax.jit(jax.vmap(env.reset, (0, None)))
    step = jax.jit(jax.vmap(chex.assert_max_traces(step, n=1), (0, 0, 0, None)))
    obs, state = reset(jax.random.split(jax.random.key(0), batch), params)
    assert obs.shape == (batch, *obs_space.shape) and obs.dtype == obs_space.dtype
    other = params.replace(max_steps=params.max_steps + 7)  # new values, same shapes: no retrace
    key = jax.random.key(1)
    for i in range(20):
        key, act_key, step_key = jax.random.split(key, 3)
        actions = action_space.sample(act_key, (batch,))
        obs, state, reward, terminated, truncated, _ = step(
            jax.random.split(step_key, batch), state, actions, other if i % 2 else params
        )
        assert obs.shape == (batch, *obs_space.shape)
        assert reward.shape == terminated.shape == truncated.shape == (batch,)
        assert reward.dtype == jnp.float32 and terminated.dtype == truncated.dtype == jnp.bool_
        assert bool(jnp.all(jax.vmap(obs_space.contains)(obs)))
        chex.assert_tree_all_finite(reward)
        low, high = env.reward_range
        assert bool(jnp.all((reward >= low) & (reward <= high)))
    chex.clear_trace_counter()


@pytest.mark.parametrize("functional_id", FUNCTIONAL_IDS)
def test_reset_to_level_option_starts_that_level(functional_id):
    env_id = functional_id
    core, params = curriculax.make(env_id)
    level = jax.jit(core.sample_level)(jax.random.key(5), params)
    # The adapter starts the episode with the second half of its seed's first split.
    reset_key = jax.random.split(key_from_seed(0))[1]
    expected, _ = jax.jit(core.reset_to_level)(reset_key, level, params)
    env = gymnasium.make(env_id)
    obs, _ = env.reset(seed=0, options={"level": jax.device_get(level)})
    np.testing.assert_array_equal(obs, expected)
