"""The batched auto-reset: what a finished env resets to, the final observation, the pool."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.envs.grid.constants import Obj
from curriculax.envs.grid.engine import cell_types, encode_cells

N = 8


def _roll(venv, params, steps, seed=0, state=None):
    """Random-action steps; returns the per-step outputs and the final state."""
    space = venv.env.action_space(params)
    step = jax.jit(venv.step)
    key = jax.random.key(seed)
    if state is None:
        key, sub = jax.random.split(key)
        obs, state = jax.jit(venv.reset)(sub, params)
    outs = []
    for _ in range(steps):
        key, a_key, s_key = jax.random.split(key, 3)
        action = space.sample(a_key, (venv.num_envs,))
        before = state
        obs, state, reward, term, trunc, info = step(s_key, state, action, params)
        outs.append((before, action, s_key, obs, state, reward, term, trunc, info))
    return outs, state


def test_final_obs_is_what_the_env_observed_and_obs_is_a_new_start():
    env, params = curriculax.make("DoorKey-5x5-v0", max_steps=6)
    venv = AutoResetVecEnv(env, N, mode="fresh")
    raw_step = jax.jit(jax.vmap(env.step, (0, 0, 0, None)))
    outs, _ = _roll(venv, params, 20)
    ended = 0
    for before, action, s_key, obs, after, reward, term, trunc, info in outs:
        step_key = jax.random.split(s_key)[0]
        raw = raw_step(jax.random.split(step_key, N), before.env_state, action, params)
        np.testing.assert_array_equal(info["final_obs"], raw[0])
        np.testing.assert_array_equal(reward, raw[2])
        done = np.asarray(term | trunc)
        ended += done.sum()
        for i in np.flatnonzero(done):
            slot = int(after.slot[i])
            np.testing.assert_array_equal(obs[i], after.source_obs[slot])
            np.testing.assert_array_equal(after.env_state.grid[i], after.source_state.grid[slot])
            assert int(after.env_state.time[i]) == 0
        for i in np.flatnonzero(~done):
            np.testing.assert_array_equal(obs[i], raw[0][i])
    assert ended >= N * 2  # every env truncates at least every 6 steps


def test_replay_mode_restarts_the_same_level():
    env, params = curriculax.make("DoorKey-5x5-v0", max_steps=5)
    venv = AutoResetVecEnv(env, N, mode="replay")
    obs0, state0 = jax.jit(venv.reset)(jax.random.key(3), params)
    outs, _ = _roll(venv, params, 12, state=state0)
    for *_, obs, after, _, term, trunc, _ in outs:
        for i in np.flatnonzero(np.asarray(term | trunc)):
            np.testing.assert_array_equal(obs[i], obs0[i])
            np.testing.assert_array_equal(after.env_state.grid[i], state0.env_state.grid[i])
            np.testing.assert_array_equal(
                after.env_state.agent_pos[i], state0.env_state.agent_pos[i]
            )


def test_fresh_mode_draws_varied_levels_from_the_pool():
    env, params = curriculax.make("DoorKey-8x8-v0", max_steps=2)
    venv = AutoResetVecEnv(env, 4, mode="fresh", pool_size=64)
    outs, _ = _roll(venv, params, 30)
    starts = {
        np.asarray(after.env_state.grid[i]).tobytes()
        for *_, after, _, term, trunc, _ in outs
        for i in np.flatnonzero(np.asarray(term | trunc))
    }
    assert len(starts) > 20


def test_per_env_params_reset_to_levels_of_their_own_params():
    env, params = curriculax.make("Empty-8x8-v0", max_steps=3)
    sizes = jnp.array([4, 5, 6, 8], jnp.int32)
    batched = jax.tree.map(lambda x: jnp.broadcast_to(x, (4, *jnp.shape(x))), params)
    batched = batched.replace(room_size=sizes)
    venv = AutoResetVecEnv(env, 4, mode="fresh", pool_size=12)
    outs, _ = _roll(venv, batched, 10)
    for *_, after, _, term, trunc, _ in outs:
        for i in np.flatnonzero(np.asarray(term | trunc)):
            goal = np.argwhere(np.asarray(cell_types(after.env_state.grid[i])) == Obj.GOAL)
            assert tuple(goal[0]) == (int(sizes[i]) - 2,) * 2
            assert int(after.slot[i]) % 4 == i


def test_refill_skips_work_when_no_episode_ended_and_redraws_otherwise():
    env, params = curriculax.make("DoorKey-8x8-v0")
    venv = AutoResetVecEnv(env, N, mode="fresh")
    refill = jax.jit(venv.refill)
    _, state = jax.jit(venv.reset)(jax.random.key(0), params)
    same = refill(jax.random.key(1), state, params)
    np.testing.assert_array_equal(same.source_state.grid, state.source_state.grid)
    used = state.replace(resets=state.resets.at[0].set(1))
    redrawn = refill(jax.random.key(1), used, params)
    assert not np.array_equal(redrawn.source_state.grid, state.source_state.grid)
    assert int(redrawn.resets.sum()) == 0


def test_refill_with_levels_injects_exactly_those_levels():
    env, params = curriculax.make("DoorKey-8x8-v0")
    venv = AutoResetVecEnv(env, N, mode="fresh", pool_size=16)
    _, state = jax.jit(venv.reset)(jax.random.key(0), params)
    levels = jax.jit(jax.vmap(env.sample_level, (0, None)))(
        jax.random.split(jax.random.key(9), 16), params
    )
    state = jax.jit(venv.refill)(jax.random.key(1), state, params, levels=levels)
    np.testing.assert_array_equal(state.source_state.grid, encode_cells(levels.grid))


def test_episode_statistics_match_manual_accumulation():
    env, params = curriculax.make("Empty-5x5-v0", max_steps=7)
    venv = AutoResetVecEnv(env, N, mode="fresh")
    outs, _ = _roll(venv, params, 40)
    running = np.zeros(N)
    lengths = np.zeros(N, int)
    checked = 0
    for *_, reward, term, trunc, info in outs:
        running += np.asarray(reward)
        lengths += 1
        for i in np.flatnonzero(np.asarray(term | trunc)):
            assert info["episode_return"][i] == pytest.approx(running[i])
            assert int(info["episode_length"][i]) == lengths[i]
            running[i], lengths[i] = 0.0, 0
            checked += 1
    assert checked > N


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "sometimes"}, "auto-reset mode must be one of"),
        ({"num_envs": 0}, "num_envs must be a positive int"),
        ({"mode": "replay", "pool_size": 3}, "pool_size applies to mode='fresh' only"),
    ],
)
def test_bad_configuration_is_rejected(kwargs, message):
    env, _ = curriculax.make("Empty-5x5-v0")
    with pytest.raises(ValueError, match=message):
        AutoResetVecEnv(env, **{"num_envs": 4, **kwargs})


def test_per_env_params_need_a_pool_multiple_of_num_envs():
    env, params = curriculax.make("Empty-5x5-v0")
    batched = jax.tree.map(lambda x: jnp.broadcast_to(x, (4, *jnp.shape(x))), params)
    with pytest.raises(ValueError, match="multiple of num_envs"):
        AutoResetVecEnv(env, 4, pool_size=6).reset(jax.random.key(0), batched)
