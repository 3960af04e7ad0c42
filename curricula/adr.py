"""ADR: automatic domain randomisation over a growing box of task parameters.

OpenAI et al. 2019, "Solving Rubik's Cube with a Robot Hand", as implemented in TeachMyAgent
(Romac, Portelas, Hofmann, Oudeyer, ICML 2021). Tasks are points of the env's ``ParamSpace``,
handled in its unit cube [0, 1]^d.

Each dimension has a current range [lo, hi], at first a single point. A task is uniform in the
current box; with probability ``boundary_prob`` one dimension, chosen uniformly, is then pinned
to its lo or its hi (equally likely). The return of a pinned task (mapped from ``reward_range``
onto [0, 1]) joins the queue of its (dimension, side), provided that boundary has not moved since
the task was drawn. When a queue holds ``queue_length`` returns, their mean decides:
``>= high_threshold`` widens that side by ``step_size`` (lo down, hi up, never past the box);
``<= low_threshold`` narrows it (never past the other side); then the queue is emptied.

Differences from TeachMyAgent: a task counts only for the boundary it was pinned to (TeachMyAgent
also counts any task whose coordinate happens to equal a boundary, e.g. every task of a
dimension whose range is still a point); a dimension whose range already spans the box is still
pinned (TeachMyAgent then leaves it free, so it can no longer shrink); ``step_size`` is a share of
the box, not env units.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.curricula.base import (
    Batch,
    EpisodeStats,
    Teacher,
    batch_size_of,
    check_stats,
    require_positive_int,
    require_unit,
)
from curriculax.curricula.param_space import ParamSpace, check_reward_range, unit_returns
from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey

#: Sides of a dimension's range (second axis of ``ADRState.bounds``).
LOW, HIGH = 0, 1
#: ``Batch.info["dim"]`` of a task with no pinned dimension.
FREE = -1


@struct.dataclass
class ADRState:
    """ADR's state.

    Attributes:
        bounds: float32 [d, 2], each dimension's current (lo, hi) in the unit cube.
        queues: float32 [d, 2, L], recent returns of tasks pinned to each boundary.
        counts: int32 [d, 2], how many entries of each queue are filled.
    """

    bounds: Array
    queues: Array
    counts: Array


class ADR(Teacher[ADRState]):
    """Automatic Domain Randomization.

    Defaults: ``boundary_prob`` 0.7, ``step_size`` 0.1 and ``queue_length`` 10 are TeachMyAgent's
    benchmark values (``run_utils/teacher_args_handler.py``). The thresholds are on returns
    mapped onto [0, 1]. TeachMyAgent's are 0 and 180 in raw walker returns (0.3 and 0.66 once
    mapped from [-150, 350], the range Portelas et al.'s code scales BipedalWalker returns by);
    they do not carry over. For the grid tasks, whose return is 1 - 0.9 * steps / max_steps on
    success and 0 otherwise, the defaults are ``high_threshold`` 0.5 (widen when most pinned
    episodes are solved) and ``low_threshold`` 0.1 (narrow when almost none is): our choice.

    Args:
        env: the env.
        params: Params whose non-task fields every level keeps (default: the env's).
        dims: the Params fields to adapt (default: every adaptable field; see ``ParamSpace``).
        bounds: dimension name -> (low, high) inside the env's bounds: the box the teacher
            searches (default: the env's bounds; see ``ParamSpace``).
        initial: the starting point, float [d] in env units (default: the box's low corner, the
            easiest tasks of every grid family: fewest walls, rooms, crossings, smallest size).
        boundary_prob: probability that a task pins one dimension to a boundary.
        step_size: how far a boundary moves, as a share of the dimension's range, in (0, 1].
        queue_length: pinned returns averaged per decision.
        high_threshold: mean (mapped) return at or above which a boundary widens.
        low_threshold: mean (mapped) return at or below which a boundary narrows; below
            ``high_threshold``.
        reward_range: (low, high) of an episode's return, mapped onto [0, 1] (default (0, 1), the
            grid tasks' returns).

    Raises:
        ValueError: on a bad hyper-parameter, an ``initial`` point outside the box or of the
            wrong size, or an env without adaptable Params.
    """

    name = "adr"
    signal = "box_share"

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        *,
        dims: list[str] | None = None,
        bounds: dict[str, tuple[float, float]] | None = None,
        initial: Sequence[float] | np.ndarray | None = None,
        boundary_prob: float = 0.7,
        step_size: float = 0.1,
        queue_length: int = 10,
        high_threshold: float = 0.5,
        low_threshold: float = 0.1,
        reward_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__(env, params)
        owner = type(self).__name__
        self.space = ParamSpace(env, self.params, dims, bounds)
        require_unit(owner, "boundary_prob", boundary_prob)
        require_unit(owner, "step_size", step_size, open_low=True)
        require_positive_int(owner, "queue_length", queue_length)
        require_unit(owner, "high_threshold", high_threshold)
        require_unit(owner, "low_threshold", low_threshold)
        if not low_threshold < high_threshold:
            raise ValueError(
                f"{owner}.low_threshold ({low_threshold}) must be below high_threshold "
                f"({high_threshold})"
            )
        if initial is None:
            start = np.zeros(self.space.dim, np.float32)
        else:
            point = np.asarray(initial, np.float32)
            if point.shape != (self.space.dim,):
                raise ValueError(
                    f"{owner}.initial must have shape ({self.space.dim},) for dims "
                    f"{self.space.names}, got {point.shape}"
                )
            outside = (point < self.space.low) | (point > self.space.high)
            if not np.all(np.isfinite(point)) or np.any(outside):
                raise ValueError(
                    f"{owner}.initial {point.tolist()} is outside the box "
                    f"[{self.space.low.tolist()}, {self.space.high.tolist()}]"
                )
            start = np.asarray(self.space.to_unit(point), np.float32)
        self.initial = start
        self.boundary_prob = float(boundary_prob)
        self.step_size = float(step_size)
        self.queue_length = queue_length
        self.high_threshold = float(high_threshold)
        self.low_threshold = float(low_threshold)
        self.reward_range = check_reward_range(owner, reward_range)

    @property
    def task_dims(self) -> tuple[str, ...]:
        """The Params fields of the task space, ``space.names``."""
        return self.space.names

    def init(self, key: PRNGKey, num: int) -> ADRState:
        """The box shrunk to the initial point, with empty queues."""
        del key
        require_positive_int(type(self).__name__, "num", num)
        d = self.space.dim
        start = jnp.asarray(self.initial)
        return ADRState(
            bounds=jnp.stack([start, start], axis=1),
            queues=jnp.zeros((d, 2, self.queue_length), jnp.float32),
            counts=jnp.zeros((d, 2), jnp.int32),
        )

    def sample_tasks(self, state: ADRState, key: PRNGKey, num: int) -> dict[str, Array]:
        """``num`` tasks in the current box.

        Returns:
            ``tasks`` float32 [num, d] (unit cube), ``dim`` int32 [num] (the pinned dimension,
            ``FREE`` if none) and ``side`` int32 [num] (``LOW`` or ``HIGH``, meaningful where
            pinned).
        """
        d = self.space.dim
        box_key, pin_key, dim_key, side_key = jax.random.split(key, 4)
        lo, hi = state.bounds[:, LOW], state.bounds[:, HIGH]
        tasks = lo + (hi - lo) * jax.random.uniform(box_key, (num, d), jnp.float32)
        tasks = jnp.clip(tasks, lo, hi)
        pinned = jax.random.bernoulli(pin_key, self.boundary_prob, (num,))
        dim = jax.random.randint(dim_key, (num,), 0, d)
        side = jax.random.randint(side_key, (num,), 0, 2)
        boundary = state.bounds[dim, side]  # [num]
        hit = pinned[:, None] & (jnp.arange(d)[None, :] == dim[:, None])
        tasks = jnp.where(hit, boundary[:, None], tasks)
        return {
            "tasks": tasks,
            "dim": jnp.where(pinned, dim, FREE).astype(jnp.int32),
            "side": side.astype(jnp.int32),
        }

    def sample(self, state: ADRState, key: PRNGKey, num: int) -> tuple[ADRState, Batch]:
        """Levels for ``num`` envs.

        ``batch.info`` is ``sample_tasks``' dict, ``batch.params`` each task's Params (leaves
        [num]).
        """
        require_positive_int(type(self).__name__, "num", num)
        task_key, level_key = jax.random.split(key)
        info = self.sample_tasks(state, task_key, num)
        x = self.space.from_unit(info["tasks"])
        levels = self.space.levels(level_key, x)
        params = jax.vmap(self.space.to_params)(x)
        return state, Batch(levels=levels, info=info, train=jnp.asarray(True), params=params)

    def update(self, state: ADRState, batch: Batch, stats: EpisodeStats) -> ADRState:
        """Queues the returns of pinned tasks, env by env, moving boundaries as queues fill."""
        num = batch_size_of(batch)
        check_stats(stats, num)
        tasks = batch.info["tasks"]
        if tasks.shape != (num, self.space.dim):
            raise ValueError(
                f"batch.info['tasks'] has shape {tasks.shape}, expected ({num}, {self.space.dim})"
            )
        return self.record(
            state,
            batch.info,
            unit_returns(stats.return_mean, self.reward_range),
            stats.episodes > 0,
        )

    def record(
        self, state: ADRState, info: dict[str, Array], returns: Array, valid: Array
    ) -> ADRState:
        """Processes one round's results in order.

        Args:
            state: the state.
            info: ``sample_tasks``' dict, entries [N, ...].
            returns: float32 [N], returns already mapped onto [0, 1].
            valid: bool [N], which envs finished an episode.
        """
        length = self.queue_length

        def step(state: ADRState, row: tuple[Array, ...]) -> tuple[ADRState, None]:
            task, dim, side, ret, ok = row
            d = jnp.maximum(dim, 0)
            ok = ok & (dim >= 0) & (task[d] == state.bounds[d, side])
            count = state.counts[d, side]
            queues = state.queues.at[d, side, count].set(ret)
            full = count + 1 >= length
            mean = jnp.mean(queues[d, side])  # every entry is fresh when the queue is full
            lo, hi = state.bounds[d, LOW], state.bounds[d, HIGH]
            widened = jnp.where(
                side == LOW,
                jnp.maximum(lo - self.step_size, 0.0),
                jnp.minimum(hi + self.step_size, 1.0),
            )
            narrowed = jnp.where(
                side == LOW,
                jnp.minimum(lo + self.step_size, hi),
                jnp.maximum(hi - self.step_size, lo),
            )
            current = state.bounds[d, side]
            moved = jnp.where(
                mean >= self.high_threshold,
                widened,
                jnp.where(mean <= self.low_threshold, narrowed, current),
            )
            new = ADRState(
                bounds=state.bounds.at[d, side].set(jnp.where(full, moved, current)),
                queues=queues,
                counts=state.counts.at[d, side].set(jnp.where(full, 0, count + 1)),
            )
            return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, state), None

        rows = (
            info["tasks"],
            info["dim"],
            info["side"],
            jnp.asarray(returns, jnp.float32),
            jnp.asarray(valid, bool),
        )
        state, _ = jax.lax.scan(step, state, rows)
        return state

    def metrics(self, state: ADRState) -> dict[str, Array]:
        """Each dimension's ``{name}_low`` / ``{name}_high`` (env units), and ``box_share``.

        ``box_share`` is the mean width of the current ranges as a share of the box.
        """
        bounds = self.space.from_unit(state.bounds.T)  # [2, d]
        out = {}
        for i, name in enumerate(self.space.names):
            out[f"{name}_low"] = bounds[LOW, i]
            out[f"{name}_high"] = bounds[HIGH, i]
        out["box_share"] = jnp.mean(state.bounds[:, HIGH] - state.bounds[:, LOW])
        return out
