"""A trained policy on MiniWoB++'s own pages, and on the same episodes in the mock.

``evaluate_pages`` plays a policy trained on a mirrored web-form id (``curriculax/<Task>-v0``)
through its bridge (``curriculax/MiniWoB-<Task>-v0``, ``envs.webform.miniwob``): each episode is a
seeded MiniWoB++ episode on the real page and, action for action, the same imported level in the
mock. The mock's own distribution (fresh generated forms) is ``agents.evaluation.evaluate``'s.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import PyTree


def evaluate_pages(
    trainer: Any,
    net_params: PyTree,
    bridge_id: str,
    *,
    episodes: int = 100,
    seed: int = 0,
    greedy: bool = True,
) -> dict[str, Any]:
    """Success of a policy on MiniWoB++'s pages and on the same episodes imported in the mock.

    Args:
        trainer: the run's ``PPO`` (its ``act`` and network).
        net_params: one agent's network parameters.
        bridge_id: ``curriculax/MiniWoB-<Task>-v0``.
        episodes: MiniWoB++ episodes, seeded ``seed, seed + 1, ...``.
        seed: the first MiniWoB++ seed (and the sampling key's, when not greedy).
        greedy: the most likely action; else sampled (the same key in both).

    Returns:
        ``{"episodes", "page_success", "mock_success", "page_reward", "disagreements"}``:
        success rates on the pages and in the mock, MiniWoB++'s mean (time-scaled) reward, and
        the episodes whose outcome differs between the two.

    Raises:
        ValueError: an id that is not a bridge, or a policy for another form.
    """
    from curriculax.envs.webform.miniwob import BRIDGE_IDS, MiniWoBBridge

    if bridge_id not in BRIDGE_IDS:
        raise ValueError(f"{bridge_id!r} is not a MiniWoB++ bridge; bridges: {sorted(BRIDGE_IDS)}")
    bridge = MiniWoBBridge(BRIDGE_IDS[bridge_id])
    form, params = bridge.form, bridge.params
    if form.observation_space(params).shape != trainer.obs_space.shape:
        bridge.close()
        raise ValueError(
            f"the policy reads observations of shape {trainer.obs_space.shape}; "
            f"{bridge_id} gives {form.observation_space(params).shape}"
        )

    @jax.jit
    def act(carry, obs, first, key):
        return trainer.act(net_params, carry, obs[None], first[None], key)

    @jax.jit
    def advance(state, action):
        state, _, terminated = form.transition(
            jax.random.key(0), state.replace(time=state.time + 1), action, params
        )
        return state, terminated, form.observe(state, params)

    @jax.jit
    def start(level):
        state = form.init_state(jax.random.key(0), level, params)
        return state, form.observe(state, params)

    page_wins = mock_wins = disagreements = 0
    rewards = []
    try:
        for episode in range(episodes):
            obs, _ = bridge.reset(seed=seed + episode)
            state, mock_obs = start(bridge.imported.level)
            carries = [trainer.network.initial_carry(1)] * 2
            key = None if greedy else jax.random.key(seed + episode)
            page_done = mock_done = False
            page_win = mock_win = False
            reward = 0.0
            for t in range(bridge.max_steps):
                step_key = None if key is None else jax.random.fold_in(key, t)
                first = jnp.asarray(t == 0)
                if not page_done:
                    carries[0], action = act(carries[0], jnp.asarray(obs), first, step_key)
                    obs, reward, page_done, _, info = bridge.step(
                        int(np.asarray(action).ravel()[0])
                    )
                    page_win = bool(info["success"])
                if not mock_done:
                    carries[1], action = act(carries[1], mock_obs, first, step_key)
                    state, terminated, mock_obs = advance(
                        state, jnp.int32(np.asarray(action).ravel()[0])
                    )
                    mock_done = bool(terminated)
                    mock_win = mock_done and int(state.ended) == 1 and float(state.raw_reward) > 0
                if page_done and mock_done:
                    break
            page_wins += page_win
            mock_wins += mock_win
            disagreements += page_win != mock_win
            rewards.append(reward)
    finally:
        bridge.close()
    return {
        "episodes": episodes,
        "page_success": page_wins / episodes,
        "mock_success": mock_wins / episodes,
        "page_reward": float(np.mean(rewards)),
        "disagreements": disagreements,
    }
