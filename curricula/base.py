"""The teacher API: a curriculum is pure functions over a pytree state.

A ``Teacher`` chooses the levels a learner trains on next and learns from how the learner did on
them. All of its methods are pure and jittable, so a teacher lives inside a jitted training loop,
vmaps over seeds with the agent and is checkpointed with it; the same functions run on the host
behind ``curriculax.curricula.gym.CurriculumWrapper`` for users of other RL libraries.

One round of a curriculum, for a batch of ``num`` envs::

    state = teacher.init(key, num)
    state, batch = teacher.sample(state, key, num)    # batch.levels: leaves [num, ...]
    ...  # every env starts batch.levels[i] (under batch.params[i] when given); a finished
    ...  # episode replays the same level until the round ends
    state = teacher.update(state, batch, stats)      # stats: EpisodeStats, fields [num]

``curriculax.curricula.rounds`` drives rounds (the key convention, the statistics, rounds that
span several PPO updates); the jitted trainer and the gymnasium wrapper both use it.

``batch.train`` says whether the learner should take gradient steps on the rollout (Robust PLR
and ACCEL learn only from replayed levels). Teachers that score levels by evaluating the policy on
many of them (SFL) also set ``eval_every`` and implement ``eval_levels`` / ``absorb_eval``; the
trainer runs those evaluations, since a teacher never sees the policy.

Level-space teachers (PLR, Robust PLR, ACCEL, SFL) store ``Level``s and DR draws them from fixed
Params; parameter-space teachers (ALP-GMM, ADR) move a box of the env's ``Params``: they draw
levels from it and hand out each level's Params with it (``Batch.params``), so a task dimension
that only the transition reads still reaches the episode. The env's episode knob (``max_steps``)
stays the trainer's.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

StateT = TypeVar("StateT")


@struct.dataclass
class EpisodeStats:
    """How the learner did on each env's level during one rollout; every field float32 [N].

    Attributes:
        episodes: episodes that ended during the rollout.
        return_mean: mean return of those episodes (0 where none ended).
        return_max: best return among them (-inf where none ended).
        success_rate: fraction of them that succeeded (0 where none ended).
        positive_value_loss: mean over the rollout's steps of max(GAE advantage, 0).
        l1_value_loss: mean over the rollout's steps of |GAE advantage|.
        value_mean: mean over the rollout's steps of the value estimate V(s).
    """

    episodes: Array
    return_mean: Array
    return_max: Array
    success_rate: Array
    positive_value_loss: Array
    l1_value_loss: Array
    value_mean: Array

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The statistic names, in order."""
        return tuple(f for f in cls.__dataclass_fields__)  # type: ignore[attr-defined]


@struct.dataclass
class Batch:
    """The levels a teacher hands out for one round.

    Attributes:
        levels: the env's levels, leaves [N, ...].
        info: teacher-specific pytree given back to ``update`` (buffer slots, task vectors...).
        train: bool [], whether the learner should take gradient steps on this round's rollout.
        params: the Params each level's episodes run under, leaves [N] (parameter-space
            teachers: a task's non-level fields, such as a form's reward shaping or the parkour's
            gravity, reach the transition this way), or ``None``: the trainer's shared Params.
    """

    levels: PyTree
    info: PyTree
    train: Array
    params: PyTree = None


def check_stats(stats: Any, num: int, students: int = 1) -> None:
    """Raises ``ValueError`` unless ``stats`` is an ``EpisodeStats`` with every field [num].

    With ``students`` > 1 (a teacher whose levels several students play: PAIRED), every field
    is [students, num], one row per student. Shapes are static, so this runs at trace time,
    before anything is compiled.
    """
    if not isinstance(stats, EpisodeStats):
        raise ValueError(f"statistics must be an EpisodeStats, got {type(stats).__name__}")
    want = (num,) if students == 1 else (students, num)
    for name in EpisodeStats.field_names():
        shape = tuple(np.shape(getattr(stats, name)))
        if shape != want:
            raise ValueError(
                f"statistics field {name!r} has shape {shape}; this batch has {num} envs"
                + ("" if students == 1 else f" played by {students} students")
                + f", so every field must have shape {want}"
            )


def batch_size_of(batch: Batch) -> int:
    """N, the number of levels in ``batch``."""
    return int(jax.tree.leaves(batch.levels)[0].shape[0])


class Teacher(abc.ABC, Generic[StateT]):
    """Base class of every curriculum.

    Args:
        env: the env whose levels the teacher hands out.
        params: the Params new levels are drawn from (default: ``env.default_params()``);
            parameter-space teachers read their box from ``env.param_bounds()`` instead.

    Subclasses validate their hyper-parameters in ``__init__`` (so bad input fails before
    tracing), and implement ``init``, ``sample``, ``update`` and ``metrics``.
    """

    #: The name used by ``make_teacher`` and ``curriculax train --curriculum``.
    name: ClassVar[str] = ""
    #: Updates between policy evaluations on ``eval_levels`` (0: this teacher never asks).
    eval_every: int = 0
    #: Steps the policy plays each evaluated level for (episodes that end replay it).
    eval_steps: int = 0
    #: The metric that shows this teacher at work (the progress line shows it), or "".
    signal: ClassVar[str] = ""
    #: Students that play every level of a round (PAIRED: 2, the protagonist being trained and
    #: an antagonist). With more than one, the jitted trainer runs them all, side by side on the
    #: same levels, and ``update`` gets ``EpisodeStats`` with fields [students, N], the trained
    #: student's row first.
    students: ClassVar[int] = 1

    def __init__(self, env: Env, params: EnvParams | None = None) -> None:
        if not isinstance(env, Env):
            raise TypeError(f"a teacher needs a curriculax Env, got {type(env).__name__}")
        self.env = env
        self.params = env.default_params() if params is None else params
        if jnp.ndim(self.params.max_steps) != 0:
            raise ValueError("a teacher draws new levels from one shared Params, not per-env ones")
        env.validate_params(self.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.env).__name__})"

    # ----------------------------------------------------------------- the API

    @abc.abstractmethod
    def init(self, key: PRNGKey, num: int) -> StateT:
        """The teacher's state before any round, for rounds of ``num`` envs."""

    @abc.abstractmethod
    def sample(self, state: StateT, key: PRNGKey, num: int) -> tuple[StateT, Batch]:
        """Levels for ``num`` envs (``num`` is static)."""

    @abc.abstractmethod
    def update(self, state: StateT, batch: Batch, stats: EpisodeStats) -> StateT:
        """Learns from the learner's ``stats`` (fields [N]) on ``batch``."""

    @abc.abstractmethod
    def metrics(self, state: StateT) -> dict[str, Array]:
        """Float32 scalars that describe the curriculum (logged beside the learner's)."""

    def run_warnings(self, rounds: int, num: int) -> list[str]:
        """What this teacher cannot do in a run of ``rounds`` rounds of ``num`` envs.

        The trainer warns with each line before compiling, so a curriculum that would quietly
        act as another method (a replay that never starts) says so. Empty: nothing to say.
        """
        del rounds, num
        return []

    def summary(self) -> str:
        """One line on how this teacher will act (printed when a run starts); may be empty."""
        return ""

    # ----------------------------------------------------------------- what a researcher sees

    def top_levels(self, state: StateT, k: int) -> tuple[PyTree, Array] | None:
        """The ``k`` levels this teacher values most, best first, or ``None``.

        Teachers that keep scored levels (PLR, Robust PLR, ACCEL: their replay score; SFL:
        learnability) return ``(levels, scores)``: levels leaves [k', ...] and scores float32
        [k'], ``k' = min(k, buffer capacity)``, -inf marking a row that holds no level yet.
        Pure and jittable (``k`` static). The default, for teachers without such a store, is
        ``None``.
        """
        del state, k
        return None

    @property
    def task_dims(self) -> tuple[str, ...]:
        """The Params fields this teacher moves per env (``Batch.params``); () for none.

        Parameter-space teachers (ALP-GMM, ADR) name their task dimensions, so that the
        distribution of the tasks they hand out can be shown (``batch.params.<name>``, [N]).
        """
        return ()

    def eval_levels(self, state: StateT, key: PRNGKey) -> PyTree:
        """Levels (leaves [M, ...]) to evaluate the policy on, every ``eval_every`` updates."""
        raise NotImplementedError(f"{type(self).__name__} does not evaluate levels")

    def absorb_eval(self, state: StateT, levels: PyTree, success: Array) -> StateT:
        """Learns from the policy's success rate float32 [M] on ``eval_levels``."""
        raise NotImplementedError(f"{type(self).__name__} does not evaluate levels")

    # ----------------------------------------------------------------- shared helpers

    def new_levels(self, key: PRNGKey, num: int, params: EnvParams | None = None) -> PyTree:
        """``num`` levels drawn from ``params`` (default: the teacher's), leaves [num, ...]."""
        params = self.params if params is None else params
        return jax.vmap(self.env.sample_level, (0, None))(jax.random.split(key, num), params)

    def level_template(self) -> PyTree:
        """One zero level with the env's level structure (to size buffers)."""
        shape = self.env.level_shape(self.params)
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shape)


def require_positive_int(owner: str, name: str, value: Any) -> None:
    """Raises ``ValueError`` unless ``value`` is an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}.{name} must be a positive int, got {value!r}")


def require_unit(owner: str, name: str, value: Any, *, open_low: bool = False) -> None:
    """Raises ``ValueError`` unless ``value`` is a number in [0, 1] ((0, 1] with ``open_low``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > 0.0 if open_low else value >= 0.0) and value <= 1.0
    if not ok:
        interval = "(0, 1]" if open_low else "[0, 1]"
        raise ValueError(f"{owner}.{name} must be in {interval}, got {value!r}")
