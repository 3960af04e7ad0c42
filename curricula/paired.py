"""PAIRED (Dennis et al. 2020): an adversary that builds levels, rewarded by the students' regret.

PAIRED trains three policies: an adversary that builds each level in the env's editor
(``env.editor()``), the protagonist (the student being trained) and an antagonist (a second
student). The adversary's reward for a level is the regret estimate: the antagonist's best
return on it minus the protagonist's mean return. ``regret`` computes it, ``Adversary`` holds the
adversary's network, its rollout in the editor (which builds the levels) and its PPO step, and
``PAIRED`` is the teacher that runs them every round. The antagonist is trained by the jitted
trainer beside the protagonist (``Teacher.students``; docs/decisions.md, "PAIRED: where its
three policies live").
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
from curriculax.curricula.base import Batch, EpisodeStats, Teacher, batch_size_of, check_stats
from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

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

    def replay(self, trajectory: AdversaryTrajectory) -> AdversaryTrajectory:
        """``trajectory`` with its observations and masks rebuilt from its actions [T, N].

        The editor is deterministic, so a round need keep only the actions, log-probabilities
        and values (a few bytes per step) rather than every observation.
        """
        editor = self.editor
        num = trajectory.action.shape[1]
        _, start = jax.vmap(lambda _: editor.reset())(jnp.arange(num))

        def one(state, action):
            seen = (jax.vmap(editor.observe)(state), jax.vmap(editor.action_mask)(state))
            _, state, _ = jax.vmap(editor.step)(state, action)
            return state, seen

        _, (obs, mask) = jax.lax.scan(one, start, trajectory.action)
        return trajectory.replace(obs=obs, mask=mask)

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


@struct.dataclass
class PAIREDState:
    """The teacher between rounds.

    Attributes:
        adversary: the adversary's weights and optimiser state.
        key: shuffles the adversary's minibatches.
        levels: the latest round's levels, leaves [N, ...] (zeros before the first round).
        regret: float32 [N], their regret (-inf before the first round).
        last: the latest round's metrics (``PAIRED.METRICS``), float32 scalars.
    """

    adversary: AdversaryState
    key: PRNGKey
    levels: PyTree
    regret: Array
    last: dict[str, Array]


class PAIRED(Teacher[PAIREDState]):
    """PAIRED: an adversary builds every level; its reward is the students' regret on it.

    Each round the adversary's policy builds ``N`` levels in the env's editor
    (``env.editor(num_walls=...)``); the protagonist (the student being trained) and the
    antagonist (a second student, ``students = 2``: the jitted trainer runs it beside the
    protagonist on the same levels, with the same PPO settings) play them; at the round's end
    the adversary takes a PPO step on the episodes that built the levels, each rewarded with its
    regret ``max(antagonist returns) - mean(protagonist returns)`` (``regret``). Unsolvable
    levels are handed out as built, as in the paper; ``solvable`` reports their share.

    Args:
        env: an env with an editor (the mazes).
        params: the env's Params (the episodes' ``max_steps`` stays the trainer's).
        num_walls: the editor's wall budget (PAIRED's maze: 50).
        learning_rate: the adversary's Adam step size.
        update_epochs: the adversary's passes over each round's levels.
        num_minibatches: its minibatches per pass (must divide the number of envs).
        ent_coef: its entropy bonus.
        hidden_size: the width of its network.

    Raises:
        ValueError: an env without an editor, or an option out of range.
    """

    name = "paired"
    signal = "regret"
    students = 2
    #: The metrics, after each round: the regret and the students' returns (means over the
    #: levels), the adversary's step (``adversary_entropy``: its policy's mean entropy per
    #: build step) and what it built (``walls``, ``solvable``, and ``path_length``, the mean
    #: shortest path over the solvable levels).
    METRICS = (
        "regret",
        "protagonist_return",
        "antagonist_return",
        "adversary_entropy",
        "adversary_policy_loss",
        "walls",
        "solvable",
        "path_length",
    )

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        num_walls: int = 50,
        learning_rate: float = ADVERSARY_PPO["learning_rate"],
        update_epochs: int = ADVERSARY_PPO["update_epochs"],
        num_minibatches: int = ADVERSARY_PPO["num_minibatches"],
        ent_coef: float = ADVERSARY_PPO["ent_coef"],
        hidden_size: int = 64,
    ) -> None:
        super().__init__(env, params)
        try:
            editor = env.editor(num_walls=num_walls)
        except NotImplementedError as error:
            raise ValueError(f"PAIRED builds levels in an editor: {error}") from None
        except ValueError as error:  # the budget does not fit this env's grid
            raise ValueError(
                f"PAIRED.num_walls: {error} (the wall budget must fit {env!r}; "
                "set the curriculum option num_walls)"
            ) from None
        settings = dict(
            ADVERSARY_PPO, learning_rate=learning_rate, update_epochs=update_epochs,
            num_minibatches=num_minibatches, ent_coef=ent_coef, hidden_size=hidden_size,
        )  # fmt: skip
        # its batch is a round's levels, known at ``init``: the trainer's batch fields stand
        # aside so that PPOConfig checks only what the adversary uses
        settings.update(num_envs=num_minibatches, num_steps=1, total_timesteps=num_minibatches)
        try:
            config = PPOConfig(**settings)
        except ValueError as error:
            raise ValueError(str(error).replace("PPOConfig.", "PAIRED.")) from None
        self.adversary = Adversary(editor, config)
        self.editor = editor

    def summary(self) -> str:
        """How the adversary builds levels."""
        c = self.adversary.config
        return (
            f"an adversary builds each level in {self.editor!r} ({self.editor.num_steps} "
            f"choices); reward = regret of the protagonist against an antagonist trained beside "
            f"it; adversary PPO lr {c.learning_rate:g}, {c.update_epochs} epochs"
        )

    def init(self, key: PRNGKey, num: int) -> PAIREDState:
        """A fresh adversary; rounds of ``num`` envs (``num_minibatches`` must divide it)."""
        minibatches = self.adversary.config.num_minibatches
        if num % minibatches:
            raise ValueError(
                f"PAIRED.num_minibatches={minibatches} must divide the {num} levels of a round"
            )
        net_key, key = jax.random.split(key)
        levels = jax.tree.map(lambda x: jnp.broadcast_to(x, (num, *x.shape)), self.level_template())
        return PAIREDState(
            adversary=self.adversary.init(net_key),
            key=key,
            levels=levels,
            regret=jnp.full(num, -jnp.inf, jnp.float32),
            last={name: jnp.float32(0.0) for name in self.METRICS},
        )

    def sample(self, state: PAIREDState, key: PRNGKey, num: int) -> tuple[PAIREDState, Batch]:
        """The adversary builds ``num`` levels; ``info`` keeps its choices (not its views)."""
        levels, solvable, trajectory = self.adversary.build(state.adversary.weights, key, num)
        kept = trajectory.replace(obs=None, mask=None)
        return state, Batch(levels, {"trajectory": kept, "solvable": solvable}, jnp.asarray(True))

    def update(self, state: PAIREDState, batch: Batch, stats: EpisodeStats) -> PAIREDState:
        """The adversary's PPO step on the round's levels, rewarded with their regret.

        Args:
            state: the teacher.
            batch: the round's levels and the adversary's choices.
            stats: the students' statistics, fields [2, N]: protagonist, antagonist.
        """
        num = batch_size_of(batch)
        check_stats(stats, num, self.students)
        protagonist = jax.tree.map(lambda x: x[0], stats)
        antagonist = jax.tree.map(lambda x: x[1], stats)
        score = regret(protagonist, antagonist)
        trajectory = self.adversary.replay(batch.info["trajectory"])
        key, learn_key = jax.random.split(state.key)
        adversary, learned = self.adversary.learn(state.adversary, trajectory, score, learn_key)
        built = jax.vmap(self.editor.statistics)(batch.levels)
        solvable = batch.info["solvable"]
        paths = jnp.where(solvable, built["path_length"], 0.0)
        last = {
            "regret": jnp.mean(score),
            "protagonist_return": jnp.mean(protagonist.return_mean),
            "antagonist_return": jnp.mean(antagonist.return_mean),
            "adversary_entropy": learned["entropy"],
            "adversary_policy_loss": learned["policy_loss"],
            "walls": jnp.mean(built["walls"]),
            "solvable": jnp.mean(solvable.astype(jnp.float32)),
            "path_length": jnp.sum(paths) / jnp.maximum(jnp.sum(solvable), 1),
        }
        last = {name: jnp.asarray(value, jnp.float32) for name, value in last.items()}
        return PAIREDState(adversary, key, batch.levels, score, last)

    def metrics(self, state: PAIREDState) -> dict[str, Array]:
        """The latest round's ``METRICS`` (zeros before the first round ends)."""
        return dict(state.last)

    def top_levels(self, state: PAIREDState, k: int) -> tuple[PyTree, Array]:
        """The latest round's ``k`` highest-regret levels, best first (-inf: none yet)."""
        k = min(k, state.regret.shape[0])
        scores, order = jax.lax.top_k(state.regret, k)
        return jax.tree.map(lambda x: x[order], state.levels), scores
