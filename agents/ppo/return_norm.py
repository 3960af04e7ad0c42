"""Return normalisation: rewards divided by the running std of each env's discounted return.

What SB3's ``VecNormalize(norm_reward=True)`` and gymnasium's ``NormalizeReward`` do, batched:
every env keeps a discounted return ``G <- gamma * G + r`` (zeroed after its episode ends); the
mean and variance of every ``G`` the run has seen are kept as running moments, and the rewards
PPO learns from are ``clip(r / sqrt(var + eps), -10, 10)``. The returns, hence the value
targets, then have a scale near one whatever the env's reward units, and the scale follows the
policy as its returns grow. The rewards that are reported (episode returns, success) stay in the
env's units.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.agents.ppo.networks import update_obs_stats
from curriculax.types import Array

#: Normalised rewards are clipped to this (SB3's ``clip_reward``).
REWARD_CLIP = 10.0
#: Added to the variance before the square root.
EPSILON = 1e-8


@struct.dataclass
class ReturnNorm:
    """The running state of return normalisation.

    Attributes:
        discounted: float32 [N], each env's discounted return so far in its episode.
        stats: ``{"mean", "var", "count"}`` (float32 []), moments of every discounted return
            seen (``networks.update_obs_stats``'s merge).
    """

    discounted: Array
    stats: dict[str, Array]

    @classmethod
    def create(cls, num_envs: int) -> ReturnNorm:
        """No return seen yet: the identity scale (variance 1)."""
        stats = {"mean": jnp.zeros(()), "var": jnp.ones(()), "count": jnp.zeros(())}
        return cls(discounted=jnp.zeros(num_envs), stats=stats)


def normalize_rewards(
    state: ReturnNorm, reward: Array, done: Array, gamma: float
) -> tuple[ReturnNorm, Array]:
    """A rollout's rewards, scaled by the std of the discounted returns seen so far and in it.

    Args:
        state: the running state before the rollout.
        reward: float32 [T, N], the rollout's rewards.
        done: bool [T, N], whether each step ended its env's episode.
        gamma: the discount of the returns whose scale is measured.

    Returns:
        ``(state after the rollout, clip(reward / sqrt(var + eps), -10, 10) [T, N])``, with
        ``var`` the variance of every discounted return up to the rollout's end.
    """

    def accumulate(discounted: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        r, ended = step
        discounted = gamma * discounted + r
        return jnp.where(ended, 0.0, discounted), discounted

    discounted, returns = jax.lax.scan(
        accumulate, state.discounted, (reward.astype(jnp.float32), done)
    )
    stats = update_obs_stats(state.stats, returns.reshape(-1))
    scale = jnp.sqrt(stats["var"] + EPSILON)
    scaled = jnp.clip(reward / scale, -REWARD_CLIP, REWARD_CLIP)
    return ReturnNorm(discounted=discounted, stats=stats), scaled
