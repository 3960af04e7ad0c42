"""Step-by-step parity with the reference ``minigrid`` package on imported levels.

For each task MiniGrid also has: reset a MiniGrid env with a seed, import its level, then apply
the same action sequence to both. At every step until the episode ends the observation image,
reward, terminated, truncated, agent position and direction, and the carried object must match.
"""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.envs.grid.constants import EMPTY_CELL, Action
from curriculax.envs.grid.minigrid_import import from_minigrid

minigrid = pytest.importorskip("minigrid")

# (id without namespace, episodes in the default suite); MiniGrid registers the same names.
CASES = [
    ("Empty-5x5-v0", 200),
    ("Empty-Random-5x5-v0", 200),
    ("Empty-Random-6x6-v0", 200),
    ("DoorKey-5x5-v0", 200),
    ("DoorKey-6x6-v0", 200),
    ("DoorKey-8x8-v0", 60),
    ("FourRooms-v0", 60),
    ("LavaGapS5-v0", 200),
    ("LavaGapS7-v0", 100),
    ("LavaCrossingS9N1-v0", 100),
    ("SimpleCrossingS9N2-v0", 60),
    ("MultiRoom-N2-S4-v0", 100),
    ("MultiRoom-N4-S5-v0", 60),
]
SLOW_CASES = [
    ("Empty-8x8-v0", 200),
    ("DoorKey-8x8-v0", 200),
    ("DoorKey-16x16-v0", 40),
    ("FourRooms-v0", 200),
    ("LavaGapS6-v0", 200),
    ("LavaCrossingS9N2-v0", 200),
    ("LavaCrossingS9N3-v0", 200),
    ("LavaCrossingS11N5-v0", 100),
    ("SimpleCrossingS9N1-v0", 200),
    ("SimpleCrossingS9N3-v0", 200),
    ("SimpleCrossingS11N5-v0", 100),
    ("MultiRoom-N6-v0", 100),
]

# Biased towards acting on objects so that keys are picked up and doors opened often.
ACTION_PROBS = np.array([0.15, 0.15, 0.3, 0.12, 0.08, 0.15, 0.05])


def _run_ours(env, params, levels, actions):
    """Our rollouts of ``actions`` [E, T] from ``levels`` [E]: per-step records [E, T, ...]."""

    def episode(level, acts):
        state = env.init_state(jax.random.key(0), level, params)

        def body(state, action):
            obs, state, reward, terminated, truncated, _ = env.step(
                jax.random.key(0), state, action, params
            )
            return state, (
                obs,
                reward,
                terminated,
                truncated,
                state.agent_pos,
                state.agent_dir,
                state.carrying,
            )

        first = env.observe(state, params)
        return first, jax.lax.scan(body, state, acts)[1]

    return jax.device_get(jax.jit(jax.vmap(episode))(levels, jnp.asarray(actions)))


def _carried(ref) -> np.ndarray:
    return EMPTY_CELL if ref.carrying is None else np.array(ref.carrying.encode(), np.uint8)


def _check_parity(name: str, episodes: int) -> None:
    env, params = curriculax.make(name)
    horizon = int(params.max_steps)
    rng = np.random.default_rng(0)
    refs, levels, first_obs = [], [], []
    for seed in range(episodes):
        ref = gymnasium.make(f"MiniGrid-{name}").unwrapped
        obs, _ = ref.reset(seed=seed)
        refs.append(ref)
        levels.append(from_minigrid(ref))
        first_obs.append(obs["image"])
    levels = jax.tree.map(lambda *xs: jnp.stack(xs), *levels)
    actions = rng.choice(len(Action), size=(episodes, horizon), p=ACTION_PROBS)
    ours_first, (obs, reward, term, trunc, pos, direction, carrying) = _run_ours(
        env, params, levels, actions
    )
    ended = 0
    for e, ref in enumerate(refs):
        np.testing.assert_array_equal(ours_first[e], first_obs[e], err_msg=f"{name} ep {e} reset")
        for t in range(horizon):
            r_obs, r_rew, r_term, r_trunc, _ = ref.step(int(actions[e, t]))
            where = f"{name} episode {e} step {t + 1} action {Action(actions[e, t]).name}"
            np.testing.assert_array_equal(obs[e, t], r_obs["image"], err_msg=where)
            assert reward[e, t] == pytest.approx(r_rew, abs=1e-6), where
            assert (bool(term[e, t]), bool(trunc[e, t])) == (r_term, r_trunc), where
            assert tuple(pos[e, t]) == tuple(ref.agent_pos), where
            assert int(direction[e, t]) == ref.agent_dir, where
            np.testing.assert_array_equal(carrying[e, t], _carried(ref), err_msg=where)
            if r_term or r_trunc:
                ended += r_term
                break
    # random actions rarely finish tasks that need a key or several doors
    hard = name.startswith(("DoorKey", "MultiRoom-N4", "MultiRoom-N6"))
    assert ended > 0 or hard, f"{name}: no episode reached a terminal state"


@pytest.mark.parametrize(("name", "episodes"), CASES)
def test_matches_minigrid_step_by_step(name, episodes):
    _check_parity(name, episodes)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "episodes"), SLOW_CASES)
def test_matches_minigrid_step_by_step_large(name, episodes):
    _check_parity(name, episodes)
