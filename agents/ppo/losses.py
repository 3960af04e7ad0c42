"""The policy distributions and PPO's loss.

GAE (``gae``, ``next_values``) is re-exported from ``curriculax.advantages``, where the curricula's
value scores read it too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from curriculax.advantages import gae, next_values
from curriculax.types import Array

__all__ = [
    "gae",
    "greedy_action",
    "log_prob_entropy",
    "next_values",
    "ppo_loss",
    "sample_action",
    "squash_action",
]


def log_prob_entropy(policy: Array | tuple[Array, Array], action: Array) -> tuple[Array, Array]:
    """Log-probability of ``action`` and the entropy of the policy, per sample.

    Args:
        policy: logits [..., A] (categorical) or ``(mean, log_std)`` each [..., A] (diagonal
            Gaussian).
        action: int [...] or float [..., A].

    Returns:
        ``(log_prob [...], entropy [...])``.
    """
    if isinstance(policy, tuple):
        mean, log_std = policy
        z = (action - mean) * jnp.exp(-log_std)
        log_prob = jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
        entropy = jnp.sum(log_std + 0.5 * (1.0 + jnp.log(2 * jnp.pi)), axis=-1)
        return log_prob, entropy
    log_probs = jax.nn.log_softmax(policy)
    log_prob = jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), -1)[..., 0]
    entropy = -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
    return log_prob, entropy


def sample_action(key: Array, policy: Array | tuple[Array, Array]) -> Array:
    """Draws an action: int [...] (categorical) or float [..., A] (Gaussian)."""
    if isinstance(policy, tuple):
        mean, log_std = policy
        return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
    return jax.random.categorical(key, policy).astype(jnp.int32)


def greedy_action(policy: Array | tuple[Array, Array]) -> Array:
    """The most likely action: the argmax (categorical) or the mean (Gaussian)."""
    if isinstance(policy, tuple):
        return policy[0]
    return jnp.argmax(policy, axis=-1).astype(jnp.int32)


def ppo_loss(
    log_prob: Array,
    old_log_prob: Array,
    advantages: Array,
    value: Array,
    old_value: Array,
    returns: Array,
    entropy: Array,
    *,
    clip_eps: float,
    vf_coef: float,
    ent_coef: float,
    clip_value: bool,
    normalize_advantages: bool,
) -> tuple[Array, dict[str, Array]]:
    """PPO's clipped surrogate, (clipped) value loss and entropy bonus on one minibatch.

    ``L = -mean(min(ρ A, clip(ρ, 1 ± ε) A)) + c_v · 0.5 mean(max((V - R)², (V_clip - R)²))
    - c_e · mean(H)`` with ``ρ = exp(log π - log π_old)`` and ``V_clip = V_old + clip(V - V_old,
    ±ε)`` (without ``clip_value``, just ``(V - R)²``). All inputs have the same shape.

    Returns:
        ``(loss, aux)``; aux holds ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``
        (``mean((ρ - 1) - log ρ)``) and ``clip_fraction``.
    """
    if normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    policy_loss = -jnp.mean(jnp.minimum(unclipped, clipped))
    value_error = jnp.square(value - returns)
    if clip_value:
        value_clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
        value_error = jnp.maximum(value_error, jnp.square(value_clipped - returns))
    value_loss = 0.5 * jnp.mean(value_error)
    mean_entropy = jnp.mean(entropy)
    loss = policy_loss + vf_coef * value_loss - ent_coef * mean_entropy
    aux = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": mean_entropy,
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_fraction": jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32)),
    }
    return loss, aux


def squash_action(action: Array, low: Array, high: Array) -> Array:
    """A Gaussian sample through ``tanh``, rescaled from (-1, 1) to ``[low, high]``.

    Args:
        action: float [..., A], unbounded.
        low: float [A], the Box's finite lower bounds.
        high: float [A], its upper bounds.

    Returns:
        float [..., A] inside the bounds.
    """
    return 0.5 * (low + high) + 0.5 * (high - low) * jnp.tanh(action)
