"""Rollout helpers: whole batched rollouts as one jittable function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from curriculax.autoreset import AutoResetVecEnv, VecState
from curriculax.types import Array, EnvParams, PRNGKey

RolloutFn = Callable[[PRNGKey, VecState, EnvParams], tuple[VecState, dict[str, Array]]]


def random_rollout(venv: AutoResetVecEnv, num_steps: int) -> RolloutFn:
    """A function that refills the reset source, then steps uniformly random actions.

    Args:
        venv: the batched env.
        num_steps: T, steps per env.

    Returns:
        ``rollout(key, state, params) -> (state, stats)``, pure and jittable, where stats holds
        ``episodes`` (int32 [], episodes finished), ``return_sum`` (float32 [], their total
        return) and ``last_obs`` (the observations of the last step; carried through the loop so
        that the compiler cannot skip computing observations, as a learner would read them).
    """
    space = venv.env.action_space(venv.env.default_params())

    def rollout(key: PRNGKey, state: VecState, params: EnvParams) -> tuple[VecState, Any]:
        fill_key, key = jax.random.split(key)
        state = venv.refill(fill_key, state, params)

        def body(carry, step_key):
            state, episodes, return_sum, _ = carry
            action_key, env_key = jax.random.split(step_key)
            action = space.sample(action_key, (venv.num_envs,))
            obs, state, _, terminated, truncated, info = venv.step(env_key, state, action, params)
            done = terminated | truncated
            episodes = episodes + done.sum(dtype=jnp.int32)
            return_sum = return_sum + jnp.where(done, info["episode_return"], 0.0).sum()
            return (state, episodes, return_sum, obs), None

        obs = jax.tree.map(
            lambda x: jnp.zeros((venv.num_envs, *x.shape[1:]), x.dtype), state.source_obs
        )
        init = (state, jnp.asarray(0, jnp.int32), jnp.asarray(0.0, jnp.float32), obs)
        (state, episodes, return_sum, obs), _ = jax.lax.scan(
            body, init, jax.random.split(key, num_steps)
        )
        return state, {"episodes": episodes, "return_sum": return_sum, "last_obs": obs}

    return rollout
