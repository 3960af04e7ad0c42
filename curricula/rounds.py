"""A curriculum's round, written once: the jitted PPO loop and the host gymnasium wrapper use it.

A round is: the teacher hands out ``num`` levels (and, for parameter-space teachers, one Params
per level), the learner plays them, and the round's statistics per level update the teacher.
This module owns every part of it that the two drivers share:

* the key convention (``start_curriculum``, ``sample_round``, ``eval_round_levels``), so the host
  wrapper hands out exactly the levels a jitted loop of the same rounds does;
* the evaluation schedule of teachers that evaluate the policy (SFL): before rounds 0,
  ``eval_every``, ``2 * eval_every``, ... (``evaluation_due``);
* the statistics: ``RoundSums`` adds up what the learner did on each level, over one rollout or
  over the several rollouts of a round, and ``finish`` turns the sums into the ``EpisodeStats``
  the teacher learns from; success is ``env.succeeded`` (one place);
* the Params a round's episodes run under (``round_params``).

``Rounds`` is the jitted trainer's driver: a round lasts ``updates`` PPO updates, episodes continue
across the updates of a round (nothing restarts between them), and the teacher is updated once, at
the round's end, from the statistics of all its rollouts. Pick ``updates`` so that a round covers
an episode (``updates * num_steps >= max_steps``); ``rounds_for`` does, and refuses a round in
which no episode could run to its time limit.

Key convention (the host wrapper follows it exactly; a jitted loop follows it too)::

    key = jax.random.key(seed)
    key, init_key = jax.random.split(key)
    state = teacher.init(init_key, num)
    for r in range(rounds):
        if teacher.eval_every and r % teacher.eval_every == 0:   # teachers that evaluate (SFL)
            key, eval_key = jax.random.split(key)
            levels = teacher.eval_levels(state, eval_key)
            state = teacher.absorb_eval(state, levels, success_of(levels))
        key, sub = jax.random.split(key)
        state, batch = teacher.sample(state, sub, num)
        ...  # play batch.levels (under batch.params when given)
        state = teacher.update(state, batch, stats)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.curricula.base import Batch, EpisodeStats, Teacher, check_stats
from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

# --------------------------------------------------------------------------- the key convention


def start_curriculum(teacher: Teacher, seed: int | Array, num: int) -> tuple[PyTree, PRNGKey]:
    """The teacher's initial state and the curriculum's key from a seed.

    ``key = jax.random.key(seed)``, then ``start_from_key``. Pure; ``seed`` may be traced.

    Returns:
        ``(state, key)``.
    """
    return start_from_key(teacher, jax.random.key(seed), num)


def start_from_key(teacher: Teacher, key: PRNGKey, num: int) -> tuple[PyTree, PRNGKey]:
    """``key, init_key = jax.random.split(key)`` and ``state = teacher.init(init_key, num)``.

    Returns:
        ``(state, key)`` with the advanced key.
    """
    key, init_key = jax.random.split(key)
    return teacher.init(init_key, num), key


def sample_round(
    teacher: Teacher, state: PyTree, key: PRNGKey, num: int
) -> tuple[PyTree, PRNGKey, Batch]:
    """One round's levels: ``key, sub = jax.random.split(key)``, then ``teacher.sample``.

    Pure and jittable (``num`` static).

    Returns:
        ``(state, key, batch)`` with the advanced key.
    """
    key, sub = jax.random.split(key)
    state, batch = teacher.sample(state, sub, num)
    return state, key, batch


def eval_round_levels(teacher: Teacher, state: PyTree, key: PRNGKey) -> tuple[PRNGKey, PyTree]:
    """The levels of an evaluation: ``key, sub = jax.random.split(key)``, ``eval_levels``.

    Returns:
        ``(key, levels)`` with the advanced key and levels (leaves [M, ...]).
    """
    key, sub = jax.random.split(key)
    return key, teacher.eval_levels(state, sub)


def evaluation_due(teacher: Teacher, round_index: Array | int) -> Array | bool:
    """Whether an evaluating teacher (SFL) evaluates the policy before round ``round_index``."""
    if not teacher.eval_every:
        return False
    return round_index % teacher.eval_every == 0


# --------------------------------------------------------------------------- the statistics


@struct.dataclass
class RoundSums:
    """What the learner did on each of a round's ``N`` levels so far; every field float32 [N].

    Attributes:
        episodes: episodes that ended.
        return_sum: sum of their returns.
        return_max: best of their returns (-inf while none ended).
        successes: how many of them succeeded (``env.succeeded``).
        positive_advantage_sum: sum over the counted steps of max(GAE advantage, 0).
        abs_advantage_sum: sum over the counted steps of |GAE advantage|.
        value_sum: sum over the counted steps of V(s).
        steps: counted steps (every rollout step in the jitted loop; the steps of the finished
            episodes behind the host wrapper).
    """

    episodes: Array
    return_sum: Array
    return_max: Array
    successes: Array
    positive_advantage_sum: Array
    abs_advantage_sum: Array
    value_sum: Array
    steps: Array

    @classmethod
    def zeros(cls, num: int, xp: object = jnp) -> RoundSums:
        """Empty sums for ``num`` levels (``xp=np`` for mutable host arrays)."""
        zero = xp.zeros(num, xp.float32)  # type: ignore[attr-defined]
        fields = {name: zero + 0 for name in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        fields["return_max"] = zero - xp.inf  # type: ignore[attr-defined]
        return cls(**fields)


def add_rollout(
    sums: RoundSums,
    env: Env,
    value: Array,
    advantage: Array,
    done: Array,
    episode_return: Array,
) -> RoundSums:
    """``sums`` plus one rollout of every env; inputs are [T, N].

    Args:
        sums: the round's sums so far.
        env: the env (decides success).
        value: V(s_t).
        advantage: GAE advantages.
        done: bool, an episode ended at step t.
        episode_return: the ended episode's return, valid where ``done``.
    """
    done = done.astype(bool)
    ended = jnp.where(done, episode_return, -jnp.inf)
    return RoundSums(
        episodes=sums.episodes + jnp.sum(done, axis=0),
        return_sum=sums.return_sum + jnp.sum(jnp.where(done, episode_return, 0.0), axis=0),
        return_max=jnp.maximum(sums.return_max, jnp.max(ended, axis=0)),
        successes=sums.successes + jnp.sum(done & env.succeeded(episode_return), axis=0),
        positive_advantage_sum=sums.positive_advantage_sum
        + jnp.sum(jnp.maximum(advantage, 0.0), axis=0),
        abs_advantage_sum=sums.abs_advantage_sum + jnp.sum(jnp.abs(advantage), axis=0),
        value_sum=sums.value_sum + jnp.sum(value, axis=0),
        steps=sums.steps + value.shape[0],
    )


def finish(sums: RoundSums) -> EpisodeStats:
    """The ``EpisodeStats`` a teacher learns from (float32 [N]): means over episodes and steps."""
    per_episode = jnp.maximum(sums.episodes, 1.0)
    per_step = jnp.maximum(sums.steps, 1.0)
    stats = EpisodeStats(
        episodes=sums.episodes,
        return_mean=sums.return_sum / per_episode,
        return_max=sums.return_max,
        success_rate=sums.successes / per_episode,
        positive_value_loss=sums.positive_advantage_sum / per_step,
        l1_value_loss=sums.abs_advantage_sum / per_step,
        value_mean=sums.value_sum / per_step,
    )
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), stats)


def episode_stats(
    env: Env, value: Array, advantage: Array, done: Array, episode_return: Array
) -> EpisodeStats:
    """Per-env ``EpisodeStats`` of one rollout (inputs [T, N]): ``finish`` of ``add_rollout``."""
    num = value.shape[1]
    return finish(add_rollout(RoundSums.zeros(num), env, value, advantage, done, episode_return))


# --------------------------------------------------------------------------- the Params of a round


def round_params(batch: Batch, shared: EnvParams) -> EnvParams:
    """The Params a round's episodes run under.

    A parameter-space teacher's per-env Params (``batch.params``, leaves [N]) with the episode
    knob ``max_steps`` kept from ``shared`` (the trainer's), or ``shared`` itself when the teacher
    hands out levels only.
    """
    if batch.params is None:
        return shared
    num = jax.tree.leaves(batch.levels)[0].shape[0]
    return batch.params.replace(max_steps=jnp.full(num, shared.max_steps, jnp.int32))


# --------------------------------------------------------------------------- the jitted driver


def rounds_for(num_steps: int, max_steps: int, updates: int | None) -> int:
    """Updates per round: ``updates``, or by default the fewest whose rollouts cover an episode.

    Raises:
        ValueError: a round of ``updates * num_steps`` steps shorter than ``max_steps``: no
            episode could run to its time limit inside a round, so every one that does not end
            early would be cut before the teacher sees it. The message names the fix.
    """
    need = max(1, math.ceil(max_steps / num_steps))
    if updates is None:
        return need
    if not isinstance(updates, int) or isinstance(updates, bool) or updates < 1:
        raise ValueError(f"round_updates must be a positive int, got {updates!r}")
    if updates * num_steps < max_steps:
        raise ValueError(
            f"a curriculum round of round_updates={updates} x num_steps={num_steps} = "
            f"{updates * num_steps} steps is shorter than the env's max_steps={max_steps}: every "
            "episode that does not end early would be cut before the teacher scores it. Set "
            f"round_updates >= {need} (or leave it unset, which chooses {need}), or raise num_steps"
        )
    return updates


@struct.dataclass
class RoundState:
    """A curriculum inside the jitted loop.

    Attributes:
        teacher: the teacher's state.
        key: the curriculum's key (the key convention's).
        batch: the current round's levels (and Params).
        sums: the current round's statistics so far.
    """

    teacher: PyTree
    key: PRNGKey
    batch: Batch
    sums: RoundSums


class Rounds:
    """Rounds of ``teacher`` over ``num`` envs, each lasting ``updates`` trainer updates.

    The trainer calls, per update with index ``u`` (shared by every seed, so the branches below
    stay real conditionals under ``vmap``): ``starts(u)`` and, when true, ``start`` (then it
    restarts its envs on ``state.batch``); after its rollout ``record``; then ``end(state, u)``,
    which updates the teacher after the round's last update.

    Args:
        teacher: the curriculum.
        num: envs per round.
        updates: trainer updates per round (see ``rounds_for``).
    """

    def __init__(self, teacher: Teacher, num: int, updates: int) -> None:
        self.teacher = teacher
        self.num = num
        self.updates = updates
        #: Students playing each level (``Teacher.students``): sums are [N] or [students, N].
        self.students = teacher.students

    def _zero_sums(self) -> RoundSums:
        """Empty sums, leaves [N], or [students, N] for a teacher with several students."""
        sums = RoundSums.zeros(self.num)
        if self.students == 1:
            return sums
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (self.students, self.num)), sums)

    def init(self, key: PRNGKey) -> RoundState:
        """The curriculum before its first round (a zero batch stands in until ``start``)."""
        teacher_state, key = start_from_key(self.teacher, key, self.num)
        shape = jax.eval_shape(
            lambda s, k: sample_round(self.teacher, s, k, self.num)[2], teacher_state, key
        )
        batch = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shape)
        return RoundState(teacher_state, key, batch, self._zero_sums())

    def starts(self, update: Array) -> Array:
        """Whether update ``update`` (0-based) begins a round."""
        return update % self.updates == 0

    def start(
        self,
        state: RoundState,
        update: Array,
        success_of: Callable[[PyTree], Array] | None = None,
    ) -> RoundState:
        """Begins the round of update ``update``: evaluates when due, samples its levels.

        Args:
            state: the curriculum.
            update: the update index (the round is ``update // updates``).
            success_of: ``levels [M] -> success rate float32 [M]``, the policy evaluation of a
                teacher that evaluates (SFL).
        """
        teacher = self.teacher
        teacher_state, key = state.teacher, state.key
        if teacher.eval_every:
            if success_of is None:
                raise ValueError(f"{teacher!r} evaluates the policy: pass success_of")

            def evaluate(teacher_state: PyTree, key: PRNGKey) -> tuple[PyTree, PRNGKey]:
                key, levels = eval_round_levels(teacher, teacher_state, key)
                return teacher.absorb_eval(teacher_state, levels, success_of(levels)), key

            teacher_state, key = jax.lax.cond(
                evaluation_due(teacher, update // self.updates),
                evaluate,
                lambda s, k: (s, k),
                teacher_state,
                key,
            )
        teacher_state, key, batch = sample_round(teacher, teacher_state, key, self.num)
        return RoundState(teacher_state, key, batch, self._zero_sums())

    def record(
        self,
        state: RoundState,
        env: Env,
        value: Array,
        advantage: Array,
        done: Array,
        episode_return: Array,
    ) -> RoundState:
        """Adds one rollout ([T, N] inputs, see ``add_rollout``) to the round's statistics.

        With several students, every input is [students, T, N], the trained student first.
        """
        if self.students == 1:
            sums = add_rollout(state.sums, env, value, advantage, done, episode_return)
        else:
            add = jax.vmap(lambda *a: add_rollout(a[0], env, *a[1:]))
            sums = add(state.sums, value, advantage, done, episode_return)
        return state.replace(sums=sums)

    def end(self, state: RoundState, update: Array) -> RoundState:
        """After update ``update``: if it is the round's last, the teacher learns from the round."""

        def learn(state: RoundState) -> RoundState:
            stats = finish(state.sums)
            check_stats(stats, self.num, self.students)
            return state.replace(teacher=self.teacher.update(state.teacher, state.batch, stats))

        return jax.lax.cond((update + 1) % self.updates == 0, learn, lambda s: s, state)

    def metrics(self, state: RoundState) -> dict[str, Array]:
        """The teacher's metrics, float32 scalars, named ``curriculum/...``."""
        out = {
            f"curriculum/{name}": jnp.asarray(value, jnp.float32)
            for name, value in self.teacher.metrics(state.teacher).items()
        }
        out["curriculum/trained"] = jnp.asarray(state.batch.train, jnp.float32)
        return out


def host_sums_add_episode(
    sums: RoundSums,
    index: int,
    episode_return: float,
    success: bool,
    advantages: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> None:
    """Adds one finished episode to host ``sums`` (numpy arrays, changed in place).

    Args:
        sums: ``RoundSums.zeros(num, np)``.
        index: the level's index in the round.
        episode_return: its return.
        success: whether it succeeded (``env.succeeded``).
        advantages: [T], its GAE advantages (with a value function), else ``None``.
        values: [T], V of the observations its actions were taken in (with ``advantages``).
    """
    sums.episodes[index] += 1
    sums.return_sum[index] += episode_return
    sums.return_max[index] = max(sums.return_max[index], episode_return)
    sums.successes[index] += bool(success)
    if advantages is not None and values is not None:
        sums.positive_advantage_sum[index] += np.sum(np.maximum(advantages, 0.0))
        sums.abs_advantage_sum[index] += np.sum(np.abs(advantages))
        sums.value_sum[index] += np.sum(values)
        sums.steps[index] += len(advantages)
