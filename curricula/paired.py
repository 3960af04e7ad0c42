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
from curriculax.agents.ppo.losses import log_prob_entropy, ppo_loss, sample_action
from curriculax.agents.ppo.networks import make_network
from curriculax.curricula.base import EpisodeStats, require_positive_int, require_unit
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


class Adversary:
    """PAIRED's level builder: a policy over the editor's cells, its rollout and its PPO step.

    Args:
        editor: the env's editor (``env.editor()``): ``reset``, ``step``, ``action_mask``,
            ``observe``, ``level``, ``num_steps`` and its spaces.
        hidden_size: the network's width (the students' feed-forward actor-critic, built for the
            editor's observation and action spaces).
        learning_rate, update_epochs, num_minibatches, gamma, gae_lambda, clip_eps, ent_coef,
            vf_coef, max_grad_norm: its PPO step (defaults: the settings the UED maze papers
            report for their students, not yet tuned for the adversary).

    Raises:
        ValueError: on a hyper-parameter out of range (before anything is traced).
    """

    def __init__(
        self,
        editor: Any,
        hidden_size: int = 64,
        learning_rate: float = 1e-4,
        update_epochs: int = 5,
        num_minibatches: int = 1,
        gamma: float = 0.995,
        gae_lambda: float = 0.98,
        clip_eps: float = 0.2,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
    ):
        owner = "Adversary"
        require_positive_int(owner, "hidden_size", hidden_size)
        require_positive_int(owner, "update_epochs", update_epochs)
        require_positive_int(owner, "num_minibatches", num_minibatches)
        for name, value in (("gamma", gamma), ("gae_lambda", gae_lambda)):
            require_unit(owner, name, value)
        for name, value in (("learning_rate", learning_rate), ("clip_eps", clip_eps)):
            require_unit(owner, name, value, open_low=True)
        for name, value, low in (
            ("max_grad_norm", max_grad_norm, 0.0),
            ("ent_coef", ent_coef, None),
            ("vf_coef", vf_coef, None),
        ):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or value < 0 or (low is not None and value <= low):
                bound = "> 0" if low is not None else ">= 0"
                raise ValueError(f"{owner}.{name} must be a number {bound}, got {value!r}")
        self.editor = editor
        self.update_epochs = update_epochs
        self.num_minibatches = num_minibatches
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.loss_options = dict(
            clip_eps=float(clip_eps),
            vf_coef=float(vf_coef),
            ent_coef=float(ent_coef),
            clip_value=True,
            normalize_advantages=True,
        )
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate, eps=1e-5)
        )
        self.network = make_network(
            "auto", editor.observation_space(), editor.action_space(), hidden_size, None
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
        steps, num = trajectory.action.shape
        last = jnp.arange(steps)[:, None] == steps - 1
        rewards = jnp.where(last, score[None, :], 0.0)
        next_values = jnp.concatenate([trajectory.value[1:], jnp.zeros((1, num))])
        advantages, returns = gae(
            rewards, trajectory.value, next_values, last, jnp.zeros_like(last),
            self.gamma, self.gae_lambda,
        )  # fmt: skip
        if num % self.num_minibatches:
            raise ValueError(
                f"Adversary.num_minibatches ({self.num_minibatches}) must divide the {num} levels"
            )
        data = (trajectory, advantages, returns)

        def loss(weights, minibatch):
            part, advantage, target = minibatch
            logits, value = self.policy(weights, part.obs, part.mask)
            log_prob, entropy = log_prob_entropy(logits, part.action)
            return ppo_loss(
                log_prob, part.log_prob, advantage, value, part.value, target, entropy,
                **self.loss_options,
            )  # fmt: skip

        def minibatch_step(learner, minibatch):
            grads, aux = jax.grad(loss, has_aux=True)(learner.weights, minibatch)
            updates, opt_state = self.optimizer.update(grads, learner.opt_state, learner.weights)
            weights = optax.apply_updates(learner.weights, updates)
            return AdversaryState(weights, opt_state), aux

        def epoch(learner, epoch_key):
            order = jax.random.permutation(epoch_key, num)
            size = num // self.num_minibatches

            def split(x):  # [T, N, ...] -> [M, T, N / M, ...], levels shuffled
                x = jnp.take(x, order, axis=1)
                x = x.reshape((x.shape[0], self.num_minibatches, size, *x.shape[2:]))
                return jnp.swapaxes(x, 0, 1)

            return jax.lax.scan(minibatch_step, learner, jax.tree.map(split, data))

        state, aux = jax.lax.scan(epoch, state, jax.random.split(key, self.update_epochs))
        return state, jax.tree.map(jnp.mean, aux)
