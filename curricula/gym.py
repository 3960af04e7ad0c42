"""Curricula for users of other RL libraries: a teacher on the host behind a gymnasium wrapper.

``HostCurriculum`` keeps a teacher's state on the host and calls the *same* jitted ``sample`` and
``update`` functions a JAX training loop calls, so a curriculum behaves identically whether it
runs inside ``jax.jit`` or behind ``gymnasium``. ``CurriculumWrapper`` puts one single curriculax
gymnasium env under a ``HostCurriculum``; several wrappers may share one curriculum, e.g. the N
envs of Stable-Baselines3's ``DummyVecEnv``::

    import gymnasium
    from curriculax.curricula.gym import CurriculumWrapper, HostCurriculum
    from curriculax.curricula.plr import PLR

    base = gymnasium.make("curriculax/Maze-v0")
    teacher = PLR(base.unwrapped.env, base.unwrapped.params, score="learnability")
    curriculum = HostCurriculum(teacher, num=8, seed=0, min_episodes=4)
    envs = [CurriculumWrapper(gymnasium.make("curriculax/Maze-v0"), curriculum) for _ in range(4)]

Rounds. A round is ``num`` levels, ``teacher.sample(state, key, num)``. Wrappers take the round's
levels one at a time (``reset``): each reset gets the level of the round with the fewest episodes
finished or in progress (the lowest index on ties), so the first ``num`` resets hand out every
level once and later ones replay the levels that still lack finished episodes. Finished
episodes are recorded per level; once every level of the round has at least ``min_episodes``
(default 1; a success rate wants several), the curriculum builds an ``EpisodeStats`` [num] from
them, calls ``update`` and samples the next round. An episode started in a round that has since
ended (or abandoned by a reset before its end) is not counted
(``metrics()["episodes_dropped"]``); the learner still learns from its steps.

Statistics per level, over the round's finished episodes on it: ``episodes``, ``return_mean``,
``return_max``, ``success_rate`` (an episode succeeds when its return exceeds the env's
``success_return``: 0 for grids, where reaching the goal pays ``1 - 0.9 * steps / max_steps`` and
nothing else pays; 230 for the parkour, TeachMyAgent's criterion), and, given a
``value_fn``, ``positive_value_loss``, ``l1_value_loss`` (means of max(A, 0) and |A| over the
episodes' steps, A the GAE advantage) and ``value_mean`` (mean V(s) over those steps). Without a
``value_fn`` those three are 0, so a teacher that scores levels by them (PLR, Robust PLR and ACCEL
with ``score`` ``"pvl"``, ``"l1vl"`` or ``"maxmc"``) is refused. In the jitted trainer the value
statistics cover a fixed-length rollout, including unfinished episodes; here they cover the
finished episodes only.

The round itself (the key convention, the evaluation schedule, the statistics and the Params
of parameter-space teachers) is ``curriculax.curricula.rounds``, the module the jitted trainer
uses too, so a host run hands out exactly the levels a jitted loop of the same rounds does. A
parameter-space teacher's per-level Params (``batch.params``) go to the env with the level, as
``reset(options={"level": ..., "params": ...})``.

Teachers that evaluate the policy on many levels (SFL, ``teacher.eval_every > 0``) need a
``success_fn(levels) -> success rates``: the user's own policy evaluation, since the curriculum
never sees the policy. As in the jitted trainer, it runs before rounds 0, ``eval_every``,
``2 * eval_every``, ... (the first round is sampled at the first ``reset``, so ``success_fn`` may
refer to a model built after the curriculum).

A ``HostCurriculum`` lives in one process: wrappers share it by reference, so use in-process
vector envs (gymnasium's ``SyncVectorEnv``, SB3's ``DummyVecEnv``). Pickling it (as subprocess
vector envs do) raises ``TypeError`` rather than silently giving every worker its own copy.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from curriculax.advantages import episode_advantages
from curriculax.curricula.base import Batch, EpisodeStats, Teacher
from curriculax.curricula.rounds import (
    RoundSums,
    eval_round_levels,
    evaluation_due,
    finish,
    host_sums_add_episode,
    round_params,
    sample_round,
    start_curriculum,
)
from curriculax.gym_adapters import GymnasiumEnv
from curriculax.types import Array, PyTree

__all__ = [
    "VALUE_SCORES",
    "CurriculumWrapper",
    "HostCurriculum",
    "LevelTicket",
    "make_curriculum_env",
    "needs_value_estimates",
    "sample_round",
    "start_curriculum",
]

#: Level scores computed from value estimates: a teacher scoring by one needs a ``value_fn``.
VALUE_SCORES = ("pvl", "l1vl", "maxmc")

#: Version of the ``HostCurriculum.state_dict()`` layout.
STATE_DICT_VERSION = 2

ValueFn = Callable[[np.ndarray], Any]
SuccessFn = Callable[[PyTree], Any]


def needs_value_estimates(teacher: Teacher) -> bool:
    """Whether ``teacher`` scores levels from value estimates (``positive_value_loss``, ...).

    A teacher may say so with a boolean ``needs_values`` attribute; otherwise a teacher with a
    ``score`` in ``VALUE_SCORES`` (PLR, Robust PLR, ACCEL) needs them.
    """
    declared = getattr(teacher, "needs_values", None)
    if isinstance(declared, bool):
        return declared
    return getattr(teacher, "score", None) in VALUE_SCORES


# --------------------------------------------------------------------------- the host curriculum


_COMPILED: weakref.WeakKeyDictionary[Teacher, dict[int, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _compiled(teacher: Teacher, num: int) -> dict[str, Any]:
    """The jitted functions of ``teacher`` for rounds of ``num``, shared by its curricula."""
    per_num = _COMPILED.setdefault(teacher, {})
    if num not in per_num:
        per_num[num] = {
            "sample": jax.jit(functools.partial(sample_round, teacher, num=num)),
            "update": jax.jit(teacher.update),
            "metrics": jax.jit(teacher.metrics),
            "eval_levels": jax.jit(functools.partial(eval_round_levels, teacher)),
            "absorb_eval": jax.jit(teacher.absorb_eval),
        }
    return per_num[num]


@dataclasses.dataclass(frozen=True)
class LevelTicket:
    """One level handed to one episode.

    Attributes:
        generation: the curriculum's generation (bumped by ``load_state_dict``).
        round: the round the level belongs to.
        index: the level's index in the round, in [0, num).
        level: the level, numpy leaves without a batch dimension.
        train: whether the learner should take gradient steps on this round (``batch.train``).
        params: the Params to play the level under (a parameter-space teacher's, numpy leaves
            without a batch dimension), or ``None``: the env's own.
    """

    generation: int
    round: int
    index: int
    level: PyTree
    train: bool
    params: PyTree = None


class HostCurriculum:
    """A teacher whose state lives on the host, driven one episode at a time.

    ``sample``, ``update`` and ``metrics`` (and SFL's ``eval_levels`` / ``absorb_eval``) are
    jitted once per teacher and round size (curricula sharing a teacher object share them); the
    round size is fixed, so they never recompile.

    It belongs to one process: in a run of several processes (``jax.distributed``) each one's
    wrapper would hold a teacher of its own, learning from its own envs only. One teacher for
    the whole run is the jitted trainer's ``--curriculum`` (docs/agents.md, "Several hosts").

    Args:
        teacher: the teacher.
        num: levels per round (at least the number of envs that share the curriculum is best).
        seed: the curriculum's seed (see the module's key convention).
        gamma: discount of the GAE behind the value statistics.
        gae_lambda: lambda of that GAE.
        min_episodes: finished episodes every level of a round needs before the round ends. A
            success rate from one episode is 0 or 1, so a ``"learnability"`` score p (1 - p) is
            then always 0: give such teachers several (the jitted trainer's rollouts replay each
            level for a whole rollout).
        value_fn: ``value_fn(observations [T, ...]) -> values [T]``, the learner's value estimate
            of a batch of observations (those the wrapper's ``step`` returns). Needed by teachers
            that score by ``"pvl"``, ``"l1vl"`` or ``"maxmc"``; without it the value statistics
            are 0. GAE is computed per finished episode, bootstrapping V(final observation) only
            on truncation.
        success_fn: ``success_fn(levels) -> float [M]``, the policy's success rate on each of M
            levels (numpy leaves [M, ...]); needed by teachers that evaluate (SFL).

    Raises:
        TypeError: ``teacher`` is not a Teacher, or ``value_fn`` / ``success_fn`` not callable.
        ValueError: a bad ``num``, ``gamma`` or ``gae_lambda``; a teacher that needs value
            estimates without ``value_fn``; an evaluating teacher without ``success_fn``.
    """

    def __init__(
        self,
        teacher: Teacher,
        num: int = 16,
        seed: int = 0,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        *,
        min_episodes: int = 1,
        value_fn: ValueFn | None = None,
        success_fn: SuccessFn | None = None,
    ) -> None:
        if not isinstance(teacher, Teacher):
            raise TypeError(f"teacher must be a curricula Teacher, got {type(teacher).__name__}")
        if teacher.students != 1:
            raise ValueError(
                f"{teacher!r} scores each level by {teacher.students} students playing it "
                "(PAIRED's protagonist and antagonist); a host curriculum serves one learner. "
                "Train it with curriculax's PPO (`curriculax train ENV --curriculum "
                f"{teacher.name}`), or choose another curriculum"
            )
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ValueError(f"num must be a positive int, got {num!r}")
        if not isinstance(min_episodes, int) or isinstance(min_episodes, bool) or min_episodes < 1:
            raise ValueError(f"min_episodes must be a positive int, got {min_episodes!r}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        for name, value in (("gamma", gamma), ("gae_lambda", gae_lambda)):
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        for name, fn in (("value_fn", value_fn), ("success_fn", success_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        if needs_value_estimates(teacher) and value_fn is None:
            raise ValueError(
                f"{teacher!r} scores levels by {getattr(teacher, 'score', 'value estimates')!r}, "
                "which needs the learner's value estimates: pass value_fn=(observations -> "
                "values) to HostCurriculum, or use a teacher that needs none (score="
                "'learnability', DomainRandomization or SFL)"
            )
        if teacher.eval_every and success_fn is None:
            raise ValueError(
                f"{teacher!r} evaluates the policy on levels every {teacher.eval_every} rounds: "
                "pass success_fn=(levels -> success rate per level) to HostCurriculum, or use a "
                "teacher that does not evaluate"
            )
        self.teacher = teacher
        self.num = num
        self.min_episodes = min_episodes
        self.seed = int(seed)
        self.gamma = float(gamma)
        self.gae_lambda = float(gae_lambda)
        self.value_fn = value_fn
        self.success_fn = success_fn

        fns = _compiled(teacher, num)
        self._sample = fns["sample"]
        self._update = fns["update"]
        self._metrics = fns["metrics"]
        self._eval_levels = fns["eval_levels"]
        self._absorb = fns["absorb_eval"]

        self._state, self._key = start_curriculum(teacher, self.seed, num)
        self._generation = 0
        self._round = 0  # index of the current round; rounds before it are complete
        self._batch: Batch | None = None  # sampled lazily, at the first level asked for
        self._levels: PyTree = None  # the batch's levels on the host
        self._train = True
        self._in_flight = np.zeros(num, np.int64)
        self._params: PyTree = None  # the batch's per-level Params on the host, if any
        self._sums = RoundSums.zeros(num, np)
        self._recorded = 0
        self._dropped = 0
        self.last_stats: EpisodeStats | None = None

    def __repr__(self) -> str:
        return f"HostCurriculum({self.teacher!r}, num={self.num}, seed={self.seed})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "a HostCurriculum lives in one process and is shared by reference; use in-process "
            "vector envs (gymnasium SyncVectorEnv, SB3 DummyVecEnv), and state_dict() to save it"
        )

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> PyTree:
        """The teacher's state (device arrays)."""
        return self._state

    @property
    def round(self) -> int:
        """Index of the current round (= rounds completed, = ``update`` calls so far)."""
        return self._round

    @property
    def batch(self) -> Batch:
        """The current round's batch (sampled now if no level was asked for yet)."""
        self._ensure_round()
        assert self._batch is not None
        return self._batch

    @property
    def needs_observations(self) -> bool:
        """Whether wrappers should keep each episode's observations (for ``value_fn``)."""
        return self.value_fn is not None

    # ------------------------------------------------------------------ rounds

    def _ensure_round(self) -> None:
        if self._batch is not None:
            return
        teacher = self.teacher
        if evaluation_due(teacher, self._round):
            self._evaluate()
        self._state, self._key, batch = self._sample(self._state, self._key)
        self._take_batch(batch)
        self._in_flight[:] = 0
        self._sums = RoundSums.zeros(self.num, np)

    def _take_batch(self, batch: Batch) -> None:
        """Makes ``batch`` the current round's, with host copies of its levels and Params."""
        self._batch = batch
        self._levels = jax.device_get(batch.levels)
        self._train = bool(batch.train)
        self._params = None
        if batch.params is not None:
            self._params = jax.device_get(round_params(batch, self.teacher.params))

    def _evaluate(self) -> None:
        self._key, levels = self._eval_levels(self._state, self._key)
        host_levels = jax.device_get(levels)
        assert self.success_fn is not None
        success = np.asarray(self.success_fn(host_levels), np.float32)
        expected = (jax.tree.leaves(host_levels)[0].shape[0],)
        if success.shape != expected:
            raise ValueError(f"success_fn must return shape {expected}, got {success.shape}")
        self._state = self._absorb(self._state, levels, success)

    def episode_stats(self) -> EpisodeStats:
        """The current round's statistics so far, as the teacher would get them (float32 [num])."""
        return jax.device_get(finish(self._sums))

    def _finish_round(self) -> None:
        stats = self.episode_stats()
        self._state = self._update(self._state, self._batch, stats)
        self.last_stats = stats
        self._round += 1
        self._batch = None
        self._ensure_round()

    # ------------------------------------------------------------------ what wrappers call

    def next_level(self) -> LevelTicket:
        """Hands out a level of the current round for one episode.

        The level with the fewest episodes finished or in progress this round (lowest index on
        ties).
        """
        self._ensure_round()
        index = int(np.argmin(self._sums.episodes + self._in_flight))
        self._in_flight[index] += 1
        row = functools.partial(jax.tree.map, lambda x: x[index])
        return LevelTicket(
            generation=self._generation,
            round=self._round,
            index=index,
            level=row(self._levels),
            train=self._train,
            params=None if self._params is None else row(self._params),
        )

    def is_current(self, ticket: LevelTicket) -> bool:
        """Whether ``ticket`` belongs to the current round (its episode would still count)."""
        return ticket.generation == self._generation and ticket.round == self._round

    def release(self, ticket: LevelTicket) -> None:
        """An episode on ``ticket``'s level was abandoned before it ended; it is not counted."""
        if self.is_current(ticket):
            self._in_flight[ticket.index] = max(self._in_flight[ticket.index] - 1, 0)
        self._dropped += 1

    def record_episode(
        self,
        ticket: LevelTicket,
        episode_return: float,
        success: bool,
        *,
        observations: np.ndarray | None = None,
        rewards: np.ndarray | None = None,
        truncated: bool = False,
    ) -> bool:
        """Records a finished episode; ends the round once every level has ``min_episodes``.

        Args:
            ticket: the ticket the episode was played on.
            episode_return: the episode's undiscounted return.
            success: whether it succeeded.
            observations: [T + 1, ...], the observations the T actions were taken in, then the
                final one (needed with ``value_fn``).
            rewards: [T], the rewards (needed with ``value_fn``).
            truncated: the episode was cut by the time limit, not terminated (GAE bootstraps
                V(final observation) only then).

        Returns:
            Whether the episode counted (False for a ticket of an earlier round).
        """
        if not self.is_current(ticket):
            self._dropped += 1
            return False
        i = ticket.index
        advantages = values = None
        if self.value_fn is not None:
            if observations is None or rewards is None:
                raise ValueError("with a value_fn, record_episode needs observations and rewards")
            values = np.asarray(self.value_fn(np.asarray(observations)), np.float32).reshape(-1)
            if values.shape != (len(observations),):
                raise ValueError(
                    f"value_fn returned {values.shape[0]} values for {len(observations)} "
                    "observations; it must return one value per observation"
                )
            advantages = episode_advantages(
                rewards,
                values,
                bootstrap=truncated,
                gamma=self.gamma,
                gae_lambda=self.gae_lambda,
            )
            values = values[:-1]
        host_sums_add_episode(self._sums, i, float(episode_return), success, advantages, values)
        self._in_flight[i] = max(self._in_flight[i] - 1, 0)
        self._recorded += 1
        if np.all(self._sums.episodes >= self.min_episodes):
            self._finish_round()
        return True

    # ------------------------------------------------------------------ metrics, checkpoints

    def metrics(self) -> dict[str, float]:
        """The teacher's metrics and the host's counters, as Python floats.

        The host adds ``rounds_completed``, ``episodes_recorded``, ``episodes_dropped`` and
        ``round_coverage`` (share of this round's levels with ``min_episodes`` finished
        episodes).
        """
        out = {k: float(v) for k, v in jax.device_get(self._metrics(self._state)).items()}
        done = self._sums.episodes >= self.min_episodes
        coverage = float(np.mean(done)) if self._batch is not None else 0.0
        out.update(
            rounds_completed=float(self._round),
            episodes_recorded=float(self._recorded),
            episodes_dropped=float(self._dropped),
            round_coverage=coverage,
        )
        return out

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: teacher state, key, current round and its progress.

        Plain nested dicts of numpy arrays and Python scalars, ready for
        ``flax.serialization.msgpack_serialize``. Episodes in progress are not saved: after
        ``load_state_dict`` they no longer count.
        """
        batch = None if self._batch is None else jax.device_get(self._batch)
        return {
            "version": STATE_DICT_VERSION,
            "teacher": type(self.teacher).__name__,
            "num": self.num,
            "seed": self.seed,
            "round": self._round,
            "recorded": self._recorded,
            "dropped": self._dropped,
            "key": np.asarray(jax.random.key_data(self._key)),
            "teacher_state": serialization.to_state_dict(jax.device_get(self._state)),
            "batch": None if batch is None else serialization.to_state_dict(batch),
            "sums": serialization.to_state_dict(jax.tree.map(np.copy, self._sums)),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restores a ``state_dict()``; tickets handed out before no longer count.

        Raises:
            ValueError: a state of another version, teacher class, round size or state layout.
        """
        if saved.get("version") != STATE_DICT_VERSION:
            raise ValueError(f"unsupported curriculum state version {saved.get('version')!r}")
        if saved["teacher"] != type(self.teacher).__name__ or int(saved["num"]) != self.num:
            raise ValueError(
                f"this state is of a {saved['teacher']} curriculum with num={saved['num']}, not "
                f"{type(self.teacher).__name__} with num={self.num}"
            )
        self._state = _restore_like(self._state, saved["teacher_state"])
        if saved["batch"] is None:
            self._batch, self._levels = None, None
        else:
            template = jax.eval_shape(self._sample, self._state, self._key)[2]
            self._take_batch(_restore_like(template, saved["batch"]))
        self._key = jax.random.wrap_key_data(jnp.asarray(saved["key"], jnp.uint32))
        self._round = int(saved["round"])
        self._recorded = int(saved["recorded"])
        self._dropped = int(saved["dropped"])
        sums = serialization.from_state_dict(RoundSums.zeros(self.num, np), saved["sums"])
        self._sums = jax.tree.map(lambda x: np.array(x, np.float32), sums)
        self._in_flight[:] = 0
        self._generation += 1

    def to_bytes(self) -> bytes:
        """``state_dict()`` as msgpack bytes."""
        return serialization.msgpack_serialize(self.state_dict())

    def from_bytes(self, data: bytes) -> None:
        """Restores ``to_bytes()`` output."""
        self.load_state_dict(serialization.msgpack_restore(data))


def _restore_like(template: PyTree, saved: Any) -> PyTree:
    """``saved`` (a state dict) as device arrays with ``template``'s structure, shapes, dtypes."""
    restored = serialization.from_state_dict(template, saved)

    def cast(want: Any, got: Any) -> Array:
        got = np.asarray(got)
        if got.shape != tuple(want.shape):
            raise ValueError(
                f"saved curriculum state has an array of shape {got.shape} where this "
                f"curriculum has {tuple(want.shape)}; was it made with other hyper-parameters?"
            )
        return jnp.asarray(got, dtype=want.dtype)

    return jax.tree.map(cast, template, restored)


# --------------------------------------------------------------------------- the wrapper


class CurriculumWrapper(gymnasium.Wrapper):
    """A single curriculax gymnasium env whose levels a (shared) ``HostCurriculum`` chooses.

    ``reset`` takes the curriculum's next level and passes it on as ``options={"level": ...}``
    (other options, such as ``"params"``, pass through; a user-given ``"level"`` is refused, as
    the curriculum owns the level). ``step`` adds up the episode's return and, when the episode
    ends, reports it to the curriculum; it succeeded when its return exceeds the env's
    ``success_return`` (grids: 0).

    A parameter-space teacher's level comes with its Params, passed as ``options["params"]``
    too (a user-given ``"params"`` is then refused, as the curriculum owns them).

    ``info`` of ``reset`` and of every ``step`` holds ``curriculum_round`` and
    ``curriculum_level_index`` (the level's index in that round), and ``curriculum_train``
    (whether the teacher wants the learner to train on this round: Robust PLR and ACCEL say no
    for new levels; libraries that cannot skip updates may ignore it). The ``step`` that ends an
    episode adds ``curriculum_episode_return``, ``curriculum_success`` and ``curriculum_counted``
    (False when the episode's round had already ended).

    Args:
        env: a curriculax env from ``gymnasium.make("curriculax/...")`` (other wrappers may sit
            between it and this one; a ``value_fn`` then sees their observations).
        curriculum: the curriculum; share one among the envs of a vector env.

    Raises:
        TypeError: ``env`` is not a curriculax gymnasium env, or ``curriculum`` not a
            ``HostCurriculum``.
        ValueError: the curriculum's teacher was built for another env.
    """

    def __init__(self, env: gymnasium.Env, curriculum: HostCurriculum) -> None:
        if not isinstance(env, gymnasium.Env) or not isinstance(env.unwrapped, GymnasiumEnv):
            raise TypeError(
                "CurriculumWrapper needs a single curriculax env, e.g. "
                f"gymnasium.make('curriculax/Maze-v0'); got {type(env).__name__}"
                + (
                    f" around {type(env.unwrapped).__name__}"
                    if isinstance(env, gymnasium.Env)
                    else ""
                )
            )
        if not isinstance(curriculum, HostCurriculum):
            raise TypeError(f"curriculum must be a HostCurriculum, got {type(curriculum).__name__}")
        inner = env.unwrapped.env
        if curriculum.teacher.env != inner:
            raise ValueError(
                f"the curriculum's teacher hands out levels of {curriculum.teacher.env!r}, but "
                f"this env is {inner!r}; build the teacher from env.unwrapped.env"
            )
        super().__init__(env)
        self.curriculum = curriculum
        self._ticket: LevelTicket | None = None
        self._return = 0.0
        self._inner = inner
        self._observations: list[np.ndarray] = []
        self._rewards: list[float] = []

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        ticket = self._ticket
        assert ticket is not None
        info = dict(info)
        info["curriculum_round"] = ticket.round
        info["curriculum_level_index"] = ticket.index
        info["curriculum_train"] = ticket.train
        return info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Starts an episode on the curriculum's next level."""
        options = dict(options or {})
        if options.get("level") is not None:
            raise ValueError(
                "CurriculumWrapper chooses the level itself; do not pass options['level'] (use "
                "the unwrapped env to play a given level)"
            )
        options.pop("level", None)
        if self._ticket is not None:
            self.curriculum.release(self._ticket)
            self._ticket = None
        ticket = self.curriculum.next_level()
        if ticket.params is not None:
            if options.get("params") is not None:
                self.curriculum.release(ticket)
                raise ValueError(
                    f"{self.curriculum.teacher!r} hands out each level's Params; do not pass "
                    "options['params']"
                )
            options["params"] = ticket.params
        try:
            obs, info = self.env.reset(seed=seed, options={**options, "level": ticket.level})
        except Exception:
            self.curriculum.release(ticket)
            raise
        self._ticket = ticket
        self._return = 0.0
        self._rewards = []
        self._observations = [np.asarray(obs)] if self.curriculum.needs_observations else []
        return obs, self._info(info)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """One step; an episode's end is reported to the curriculum."""
        if self._ticket is None:
            raise RuntimeError("call reset() before step(), and again after an episode ends")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        if self.curriculum.needs_observations:
            self._observations.append(np.asarray(obs))
            self._rewards.append(float(reward))
        info = self._info(info)
        if terminated or truncated:
            success = bool(self._inner.succeeded(self._return))
            keep = self.curriculum.needs_observations
            counted = self.curriculum.record_episode(
                self._ticket,
                self._return,
                success,
                observations=np.stack(self._observations) if keep else None,
                rewards=np.asarray(self._rewards) if keep else None,
                truncated=bool(truncated and not terminated),
            )
            info["curriculum_episode_return"] = self._return
            info["curriculum_success"] = success
            info["curriculum_counted"] = counted
            self._ticket = None
            self._observations, self._rewards = [], []
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        """Abandons the episode in progress (not counted) and closes the env."""
        if self._ticket is not None:
            self.curriculum.release(self._ticket)
            self._ticket = None
        super().close()


# --------------------------------------------------------------------------- convenience


def make_curriculum_env(
    env_id: str,
    curriculum: str | Teacher | HostCurriculum,
    *,
    teacher_kwargs: dict[str, Any] | None = None,
    num: int = 16,
    seed: int = 0,
    gamma: float = 0.99,
    gae_lambda: float = 0.95,
    min_episodes: int = 1,
    value_fn: ValueFn | None = None,
    success_fn: SuccessFn | None = None,
    render_mode: str | None = None,
    **env_kwargs: Any,
) -> CurriculumWrapper:
    """``gymnasium.make(env_id, ...)`` under a curriculum.

    To share one curriculum among several envs, pass the first env's ``.curriculum`` to the
    others.

    Args:
        env_id: a registered curriculax id.
        curriculum: a teacher name from ``curriculax.curricula.TEACHERS`` (built on this env
            and its params with ``teacher_kwargs``), a teacher, or a ``HostCurriculum`` to share.
        teacher_kwargs: hyper-parameters of a teacher given by name.
        num: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        seed: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        gamma: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        gae_lambda: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        min_episodes: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        value_fn: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        success_fn: ``HostCurriculum`` argument (not used when ``curriculum`` is one).
        render_mode: the env's render mode.
        **env_kwargs: static config and param overrides of the env.

    Raises:
        ValueError: an unknown teacher name, or ``HostCurriculum``'s errors.
    """
    env = gymnasium.make(env_id, render_mode=render_mode, **env_kwargs)
    if isinstance(curriculum, str):
        from curriculax.curricula import make_teacher

        base = env.unwrapped
        try:
            curriculum = make_teacher(curriculum, base.env, base.params, **(teacher_kwargs or {}))
        except (ValueError, TypeError):
            env.close()
            raise
    elif teacher_kwargs:
        raise ValueError("teacher_kwargs apply only to a curriculum given by name")
    if isinstance(curriculum, Teacher):
        curriculum = HostCurriculum(
            curriculum,
            num=num,
            seed=seed,
            gamma=gamma,
            gae_lambda=gae_lambda,
            min_episodes=min_episodes,
            value_fn=value_fn,
            success_fn=success_fn,
        )
    return CurriculumWrapper(env, curriculum)
