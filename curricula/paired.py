"""PAIRED's pieces (Dennis et al. 2020): the regret estimate and the adversary that builds levels.

PAIRED trains three policies: an adversary that builds each level in the env's editor
(``env.editor()``), the protagonist (the student being trained) and an antagonist (a second
student). The adversary's reward for a level is the regret estimate: the antagonist's best
return on it minus the protagonist's mean return. Built here so far: ``regret`` and
``Adversary`` (its network and its rollout in the editor, which hands out the levels and keeps
the trajectory its PPO step will train on). Not yet: the teacher that trains the adversary and
the trainer's second student (docs/decisions.md, "PAIRED: where its three policies live"), so
``make_teacher`` does not offer ``"paired"``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.agents.ppo.losses import log_prob_entropy, sample_action
from curriculax.agents.ppo.networks import make_network
from curriculax.curricula.base import EpisodeStats
from curriculax.types import Array, PRNGKey, PyTree

#: Logit of an action the editor's mask rules out (finite, so log-softmax stays finite).
MASKED_LOGIT = -1e9


def regret(protagonist: EpisodeStats, antagonist: EpisodeStats) -> Array:
    """PAIRED's regret estimate per level: float32 [N].

    ``max(antagonist returns) - mean(protagonist returns)`` over the episodes each student
    finished on the level during the round. A level on which either student finished no episode
    has no estimate: its regret is 0 (it neither rewards nor punishes the adversary).
    """
    both = (protagonist.episodes > 0) & (antagonist.episodes > 0)
    gap = antagonist.return_max - protagonist.return_mean
    return jnp.where(both, gap, 0.0).astype(jnp.float32)


@struct.dataclass
class AdversaryTrajectory:
    """The adversary's episodes in the editor, one per level; leaves [T, N, ...].

    Attributes:
        obs: float32 [T, N, *editor observation], what the adversary saw.
        action: int32 [T, N], the cell it chose.
        log_prob: float32 [T, N], the log-probability of that choice under the masked policy.
        value: float32 [T, N], its value estimate.
        mask: bool [T, N, A], the actions the editor allowed.
    """

    obs: Array
    action: Array
    log_prob: Array
    value: Array
    mask: Array


class Adversary:
    """PAIRED's level builder: a policy over the editor's cells and its rollout.

    Args:
        editor: the env's editor (``env.editor()``): ``reset``, ``step``, ``action_mask``,
            ``level``, ``num_steps`` and its spaces.
        hidden_size: the network's width (the same feed-forward actor-critic as the students',
            built for the editor's observation and action spaces).
    """

    def __init__(self, editor: Any, hidden_size: int = 64):
        self.editor = editor
        self.network = make_network(
            "auto", editor.observation_space(), editor.action_space(), hidden_size, None
        )

    def init(self, key: PRNGKey) -> PyTree:
        """Fresh network parameters."""
        obs = self.editor.reset()[0][None, None]
        return self.network.init(key, None, obs, jnp.ones((1, 1), bool))

    def policy(self, params: PyTree, obs: Array, mask: Array) -> tuple[Array, Array]:
        """Masked logits [..., A] and values [...] for observations [..., *obs shape]."""
        lead = obs.shape[: obs.ndim - len(self.editor.observation_space().shape)]
        flat = obs.reshape((1, -1, *obs.shape[len(lead) :]))
        _, logits, value = self.network.apply(params, None, flat, jnp.zeros(flat.shape[:2], bool))
        logits = jnp.where(mask.reshape(logits.shape), logits, MASKED_LOGIT)
        return logits.reshape((*lead, -1)), value.reshape(lead)

    def build(
        self, params: PyTree, key: PRNGKey, num: int
    ) -> tuple[PyTree, Array, AdversaryTrajectory]:
        """Builds ``num`` levels, each an episode of the editor under the sampled policy.

        Returns:
            ``(levels, solvable, trajectory)``: the env's levels (leaves [num, ...]), bool [num]
            (unsolvable levels are flagged, not repaired, as in PAIRED) and the episodes.
        """
        editor = self.editor
        build_key, dir_key = jax.random.split(key)
        _, start = jax.vmap(lambda _: editor.reset())(jnp.arange(num))

        def one(state, step_key):
            obs = jax.vmap(editor.observe)(state)
            mask = jax.vmap(editor.action_mask)(state)
            logits, value = self.policy(params, obs, mask)
            action = sample_action(step_key, logits)
            log_prob, _ = log_prob_entropy(logits, action)
            _, state, _ = jax.vmap(editor.step)(state, action)
            return state, AdversaryTrajectory(obs, action, log_prob, value, mask)

        steps = jax.random.split(build_key, editor.num_steps)
        final, trajectory = jax.lax.scan(one, start, steps)
        levels, solvable = jax.vmap(editor.level)(final, jax.random.split(dir_key, num))
        return levels, solvable, trajectory
