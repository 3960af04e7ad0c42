"""The observation variants against MiniGrid's wrappers on the same levels and actions."""

from __future__ import annotations

import gymnasium
import jax
import numpy as np
import pytest

import curriculax
from curriculax.envs.grid.minigrid_import import from_minigrid

pytest.importorskip("minigrid")
from minigrid.wrappers import FullyObsWrapper, RGBImgPartialObsWrapper


def _compare(name, observation, wrapper, check, episodes=15, steps=40):
    env, params = curriculax.make(name, observation=observation)
    step = jax.jit(env.step)
    observe = jax.jit(env.observe)
    rng = np.random.default_rng(0)
    for seed in range(episodes):
        ref = wrapper(gymnasium.make(f"MiniGrid-{name}"))
        ref_obs, _ = ref.reset(seed=seed)
        state = env.init_state(jax.random.key(0), from_minigrid(ref), params)
        check(np.asarray(observe(state, params)), ref_obs["image"], f"{name} {seed} reset")
        for t in range(steps):
            action = int(rng.integers(0, 7))
            obs, state, *_ = step(jax.random.key(0), state, action, params)
            ref_obs, _, terminated, truncated, _ = ref.step(action)
            check(np.asarray(obs), ref_obs["image"], f"{name} {seed} step {t}")
            if terminated or truncated:
                break


def _equal(ours, theirs, where):
    np.testing.assert_array_equal(ours, theirs, err_msg=where)


def _close_pixels(ours, theirs, where):
    assert ours.shape == theirs.shape, where
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 1.0, where  # measured 0.06


@pytest.mark.parametrize("name", ["DoorKey-5x5-v0", "LavaGapS5-v0"])
def test_full_grid_observation_matches_fully_obs_wrapper(name):
    _compare(name, "full", FullyObsWrapper, _equal)


@pytest.mark.parametrize("name", ["DoorKey-5x5-v0", "LavaGapS5-v0"])
def test_rgb_observation_looks_like_rgb_partial_obs_wrapper(name):
    _compare(name, "rgb", RGBImgPartialObsWrapper, _close_pixels, episodes=5, steps=20)


def test_unknown_observation_is_rejected():
    with pytest.raises(ValueError, match="observation must be one of"):
        curriculax.make("DoorKey-5x5-v0", observation="pixels")
