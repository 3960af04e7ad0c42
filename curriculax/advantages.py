"""Generalised advantage estimation, once for the whole package.

PPO's update (``curriculax.agents.ppo``) and the curricula's value-based level scores (PLR's
positive value loss, in the jitted loop and behind the host gymnasium wrapper) all read
advantages from here, so a level is scored with the same advantages the learner trains on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import Array


def next_values(
    values: Array, last_value: Array, final_values: Array, truncated: Array, terminated: Array
) -> Array:
    """The value of the state reached by each step, for bootstrapping.

    With auto-reset the observation after a step that ended an episode is the next episode's
    first; the state the step reached is the episode's final observation, kept by auto-reset.

    Args:
        values: float [T, N], V(s_t) of the observations the actions were taken in.
        last_value: float [N], V of the observation after the rollout's last step.
        final_values: float [T, N], V(final observation) where ``truncated & ~terminated``
            (anything elsewhere).
        truncated: bool [T, N].
        terminated: bool [T, N].

    Returns:
        float [T, N]: ``V(final_obs_t)`` where the episode was truncated (and not terminated),
        ``V(s_{t+1})`` elsewhere (unused where terminated).
    """
    following = jnp.concatenate([values[1:], last_value[None]], axis=0)
    return jnp.where(truncated & ~terminated, final_values, following)


def gae(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array,
    gamma: float,
    gae_lambda: float,
) -> tuple[Array, Array]:
    """Generalised advantage estimation that bootstraps on truncation, never on termination.

    ``δ_t = r_t + γ (1 - terminated_t) V'_t - V_t`` and ``A_t = δ_t + γ λ (1 - done_t) A_{t+1}``,
    with ``V'_t`` the value of the state step t reached (``next_values``) and ``done = terminated
    | truncated``: a truncated episode keeps the value of where it stopped, a terminated one
    keeps none, and no advantage flows across an episode boundary. Terminated wins when both
    flags are set.

    Args:
        rewards: float [T, N].
        values: float [T, N], V(s_t).
        next_values: float [T, N], the value of the state each step reached.
        terminated: bool [T, N].
        truncated: bool [T, N].
        gamma: discount.
        gae_lambda: λ.

    Returns:
        ``(advantages, returns)``, float [T, N]; ``returns = advantages + values``.
    """
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    not_done = 1.0 - (terminated | truncated).astype(jnp.float32)
    deltas = rewards + gamma * not_terminated * next_values - values

    def backward(carry: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        delta, keep = step
        advantage = delta + gamma * gae_lambda * keep * carry
        return advantage, advantage

    _, advantages = jax.lax.scan(
        backward, jnp.zeros_like(values[0]), (deltas, not_done), reverse=True
    )
    return advantages, advantages + values


@jax.jit
def _episode_gae(
    rewards: Array,
    values: Array,
    following: Array,
    terminated: Array,
    truncated: Array,
    gamma: Array,
    gae_lambda: Array,
) -> Array:
    advantages, _ = gae(rewards, values, following, terminated, truncated, gamma, gae_lambda)
    return advantages


def episode_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    *,
    bootstrap: bool,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """``gae`` of one finished episode, on the host (the gymnasium curriculum wrapper's case).

    The episode is padded to a power-of-two length with cut-off steps, so episodes of any length
    share a handful of compiled programs and the padding never reaches a real step.

    Args:
        rewards: [T], the episode's rewards.
        values: [T + 1], V of the T observations the actions were taken in, then of the final one.
        bootstrap: whether the episode was truncated (its return continues past the last step,
            so V(final observation) is counted); a terminated episode's continuation is 0.
        gamma: discount.
        gae_lambda: GAE's lambda.

    Returns:
        float32 [T].
    """
    rewards = np.asarray(rewards, np.float32).reshape(-1)
    values = np.asarray(values, np.float32).reshape(-1)
    steps = rewards.shape[0]
    if values.shape != (steps + 1,):
        raise ValueError(f"values must have shape ({steps + 1},), got {values.shape}")
    size = 1 << max(steps - 1, 0).bit_length()
    padded = np.zeros((5, size, 1), np.float32)
    padded[0, :steps, 0] = rewards
    padded[1, :steps, 0] = values[:-1]
    padded[2, :steps, 0] = values[1:]
    cut = np.zeros((2, size, 1), bool)
    cut[0, steps:] = True  # padding: terminated steps, so nothing flows back from it
    cut[1 if bootstrap else 0, steps - 1] = True
    advantages = _episode_gae(
        padded[0], padded[1], padded[2], cut[0], cut[1], np.float32(gamma), np.float32(gae_lambda)
    )
    return np.asarray(advantages)[:steps, 0]
