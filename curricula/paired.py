"""PAIRED's pieces (Dennis et al. 2020): the regret estimate and the adversary that builds levels.

PAIRED trains three policies: an adversary that builds each level in the env's editor
(``env.editor()``), the protagonist (the student being trained) and an antagonist (a second
student). The adversary's reward for a level is the regret estimate: the antagonist's best
return on it minus the protagonist's mean return. Built here so far: ``regret`` and
``Adversary`` (its network and its rollout in the editor, which hands out the levels and keeps
the trajectory its PPO step trains on) and the adversary's PPO step. Not yet: the teacher that
runs them every round and
the trainer's second student (docs/decisions.md, "PAIRED: where its three policies live"), so
``make_teacher`` does not offer ``"paired"``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from curriculax.advantages import gae
from curriculax.agents.ppo.config import PPOConfig
from curriculax.agents.ppo.losses import log_prob_entropy, ppo_loss, sample_action
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


@struct.dataclass
class AdversaryState:
    """The adversary's learner: network weights and optimiser state."""

    weights: PyTree
    opt_state: PyTree


#: The adversary's PPO settings unless given (no schedule: it learns once per round).
ADVERSARY_PPO = dict(
    learning_rate=1e-4, anneal_lr=False, update_epochs=5, num_minibatches=1, gamma=0.995,
    gae_lambda=0.98, ent_coef=0.0,
)  # fmt: skip


class Adversary:
    """PAIRED's level builder: a policy over the editor's cells, its rollout and its PPO step.

    Args:
        editor: the env's editor (``env.editor()``): ``reset``, ``step``, ``action_mask``,
            ``observe``, ``level``, ``num_steps`` and its spaces.
        config: its PPO step, read from ``PPOConfig`` (checked there): ``hidden_size``,
            ``learning_rate``, ``update_epochs``, ``num_minibatches`` (over levels), ``gamma``,
            ``gae_lambda``, ``clip_eps``, ``clip_value``, ``ent_coef``, ``vf_coef``,
            ``max_grad_norm``, ``normalize_advantages``. Default: ``ADVERSARY_PPO``, the
            settings the UED maze papers report for their students, not yet tuned for it.

    Raises:
        ValueError: a setting that would reach nothing here (a learning-rate schedule, a
            recurrent network, observation or return normalisation), before tracing.
    """

    def __init__(self, editor: Any, config: PPOConfig | None = None):
        config = PPOConfig(**ADVERSARY_PPO) if config is None else config
        unused = {
            "anneal_lr": config.anneal_lr,
            "recurrent": config.recurrent is not None,
            "normalize_observations": config.normalize_observations,
            "normalize_returns": config.normalize_returns,
        }
        if any(unused.values()):
            names = [name for name, on in unused.items() if on]
            raise ValueError(f"the adversary's PPO step does not use {names}; turn them off")
        self.editor = editor
        self.config = config
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm),
            optax.adam(config.learning_rate, eps=1e-5),
        )
        self.network = make_network(
            "auto", editor.observation_space(), editor.action_space(), config.hidden_size, None
        )

    def init(self, key: PRNGKey) -> AdversaryState:
        """Fresh weights and optimiser state."""
        obs = self.editor.reset()[0][None, None]
        weights = self.network.init(key, None, obs, jnp.ones((1, 1), bool))
        return AdversaryState(weights, self.optimizer.init(weights))

    def policy(self, weights: PyTree, obs: Array, mask: Array) -> tuple[Array, Array]:
        """Masked logits [..., A] and values [...] for observations [..., *obs shape]."""
        lead = obs.shape[: obs.ndim - len(self.editor.observation_space().shape)]
        flat = obs.reshape((1, -1, *obs.shape[len(lead) :]))
        _, logits, value = self.network.apply(weights, None, flat, jnp.zeros(flat.shape[:2], bool))
        logits = jnp.where(mask.reshape(logits.shape), logits, MASKED_LOGIT)
        return logits.reshape((*lead, -1)), value.reshape(lead)

    def build(
        self, weights: PyTree, key: PRNGKey, num: int
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
            logits, value = self.policy(weights, obs, mask)
            action = sample_action(step_key, logits)
            log_prob, _ = log_prob_entropy(logits, action)
            _, state, _ = jax.vmap(editor.step)(state, action)
            return state, AdversaryTrajectory(obs, action, log_prob, value, mask)

        steps = jax.random.split(build_key, editor.num_steps)
        final, trajectory = jax.lax.scan(one, start, steps)
        levels, solvable = jax.vmap(editor.level)(final, jax.random.split(dir_key, num))
        return levels, solvable, trajectory

    def learn(
        self, state: AdversaryState, trajectory: AdversaryTrajectory, score: Array, key: PRNGKey
    ) -> tuple[AdversaryState, dict[str, Array]]:
        """PPO on the episodes that built the levels, each rewarded ``score`` at its last step.

        Args:
            state: the adversary's learner.
            trajectory: ``build``'s episodes, leaves [T, N, ...].
            score: float32 [N], each level's reward (PAIRED: its regret).
            key: shuffles the levels into minibatches.

        Returns:
            ``(state, metrics)``: the mean over the step's minibatches of ``policy_loss``,
            ``value_loss``, ``entropy``, ``approx_kl`` and ``clip_fraction``.
        """
        c = self.config
        steps, num = trajectory.action.shape
        last = jnp.arange(steps)[:, None] == steps - 1
        rewards = jnp.where(last, score[None, :], 0.0)
        next_values = jnp.concatenate([trajectory.value[1:], jnp.zeros((1, num))])
        advantages, returns = gae(
            rewards, trajectory.value, next_values, last, jnp.zeros_like(last),
            c.gamma, c.gae_lambda,
        )  # fmt: skip
        if num % c.num_minibatches:
            raise ValueError(
                f"the adversary's {c.num_minibatches} minibatches must divide its {num} levels"
            )
        data = (trajectory, advantages, returns)

        def loss(weights, minibatch):
            part, advantage, target = minibatch
            logits, value = self.policy(weights, part.obs, part.mask)
            log_prob, entropy = log_prob_entropy(logits, part.action)
            return ppo_loss(
                log_prob, part.log_prob, advantage, value, part.value, target, entropy,
                clip_eps=c.clip_eps, vf_coef=c.vf_coef, ent_coef=c.ent_coef,
                clip_value=c.clip_value, normalize_advantages=c.normalize_advantages,
            )  # fmt: skip

        def minibatch_step(learner, minibatch):
            grads, aux = jax.grad(loss, has_aux=True)(learner.weights, minibatch)
            updates, opt_state = self.optimizer.update(grads, learner.opt_state, learner.weights)
            weights = optax.apply_updates(learner.weights, updates)
            return AdversaryState(weights, opt_state), aux

        def epoch(learner, epoch_key):
            order = jax.random.permutation(epoch_key, num)
            size = num // c.num_minibatches

            def split(x):  # [T, N, ...] -> [M, T, N / M, ...], levels shuffled
                x = jnp.take(x, order, axis=1)
                x = x.reshape((x.shape[0], c.num_minibatches, size, *x.shape[2:]))
                return jnp.swapaxes(x, 0, 1)

            return jax.lax.scan(minibatch_step, learner, jax.tree.map(split, data))

        state, aux = jax.lax.scan(epoch, state, jax.random.split(key, c.update_epochs))
        return state, jax.tree.map(jnp.mean, aux)
