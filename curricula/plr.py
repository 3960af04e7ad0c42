"""Level replay: PLR, Robust PLR and ACCEL over one shared level buffer.

Each round is one of three branches, chosen at sampling time (JaxUED's structure):

* ``NEW``: fresh levels from the Params; after the rollout they are scored and merged into the
  buffer;
* ``REPLAY``: levels drawn from the buffer's replay distribution; after the rollout their scores
  are updated;
* ``MUTATE`` (ACCEL only, the round after every replay round): the last replayed levels, each
  edited ``num_edits`` times with the env's ``mutate_level``; scored and merged like new ones.

A round replays with probability ``replay_prob`` once the buffer holds ``replay_threshold`` levels:
``min_fill`` of the levels it can hold, which is its capacity, or fewer when the env's generator
yields fewer distinct levels than that (DoorKey-5x5 yields 48): the distinct levels are counted
once, on the host, when the teacher is built (``count_distinct_levels``). Without that rule a
small level space could never fill the buffer, and PLR would quietly be domain randomisation.
Within a round every env plays its level from the start, and an episode that ends replays the
same level, so the statistics belong to the level they score (minimax issue #6).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.curricula import buffer as buf
from curriculax.curricula.base import (
    Batch,
    EpisodeStats,
    Teacher,
    batch_size_of,
    check_stats,
    require_positive_int,
    require_unit,
)
from curriculax.curricula.scores import SCORES, best_return, score_function
from curriculax.env import Env
from curriculax.options import check
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

NEW, REPLAY, MUTATE = 0, 1, 2


@struct.dataclass
class PLRState:
    """A level-replay teacher's state.

    Attributes:
        buffer: the level buffer.
        last_branch: int32 [], the previous round's branch (NEW, REPLAY or MUTATE).
        last_replayed: the levels of the last replay round, leaves [N, ...] (ACCEL's parents).
        rounds: int32 [N_branches=3], rounds taken per branch.
    """

    buffer: buf.LevelBuffer
    last_branch: Array
    last_replayed: PyTree
    rounds: Array


class PLR(Teacher[PLRState]):
    """Prioritized Level Replay (Jiang, Grefenstette, Rocktäschel, ICML 2021).

    Args:
        env: the env.
        params: Params of new levels (default: the env's defaults).
        capacity: buffer slots (4000 in the maze papers).
        replay_prob: probability that a round replays buffer levels once it may (0.5, Robust PLR
            on mazes).
        min_fill: fraction of the levels the buffer can hold (its capacity, or the distinct
            levels the generator yields when fewer) that must be stored before any replay
            (0.5, minimax).
        temperature: beta, applied as the power 1/beta (0.3 on mazes; 0.1 on Procgen).
        staleness_coef: rho, the weight of the staleness distribution (0.3 on mazes).
        score: one of ``SCORES`` (``"pvl"``, as the Robust PLR paper's mazes; JaxUED uses
            ``"maxmc"``).
        prioritization: ``"rank"`` (paper default) or ``"power"``.
        dedupe: store each distinct level once (minimax's ``force_unique``).
        robust: learn only from replayed levels (Robust PLR / PLR-perp, Jiang et al., NeurIPS
            2021, "Replay-Guided Adversarial Environment Design"); plain PLR also learns from
            new levels.
    """

    name = "plr"
    signal = "replay_share"

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        *,
        capacity: int = 4000,
        replay_prob: float = 0.5,
        min_fill: float = 0.5,
        temperature: float = 0.3,
        staleness_coef: float = 0.3,
        score: str = "pvl",
        prioritization: str = "rank",
        dedupe: bool = True,
        robust: bool = False,
    ) -> None:
        super().__init__(env, params)
        owner = type(self).__name__
        require_positive_int(owner, "capacity", capacity)
        require_unit(owner, "replay_prob", replay_prob)
        require_unit(owner, "min_fill", min_fill, open_low=True)
        require_unit(owner, "staleness_coef", staleness_coef)
        for name, value in (("dedupe", dedupe), ("robust", robust)):
            check(f"{owner}.{name}", value, bool)  # "yes" is not a bool
        if not check(f"{owner}.temperature", temperature, float) > 0:
            raise ValueError(f"{owner}.temperature must be > 0, got {temperature!r}")
        if score not in SCORES:
            raise ValueError(f"{owner}.score must be one of {SCORES}, got {score!r}")
        if prioritization not in ("rank", "power"):
            raise ValueError(f"{owner}.prioritization must be 'rank' or 'power'")
        self.capacity = capacity
        self.replay_prob = float(replay_prob)
        self.min_fill = float(min_fill)
        self.temperature = float(temperature)
        self.staleness_coef = float(staleness_coef)
        self.score = score
        self.prioritization = prioritization
        self.dedupe = bool(dedupe)
        self.robust = bool(robust)
        self._score = score_function(score)
        self.distinct_levels = _distinct_levels(self, capacity)
        #: Stored levels needed before the first replay.
        self.replay_threshold = max(1, math.ceil(self.min_fill * self.distinct_levels))

    #: ``mutate_level`` applications per ACCEL child; 0 means no MUTATE branch (PLR).
    num_edits: int = 0

    def _mutated(self, key: PRNGKey, parents: PyTree) -> PyTree:
        """Each parent level (leaves [N, ...]) edited ``num_edits`` times."""
        num = jax.tree.leaves(parents)[0].shape[0]

        def edit(key: PRNGKey, level: PyTree) -> PyTree:
            for sub in jax.random.split(key, self.num_edits):
                level = self.env.mutate_level(sub, level, self.params)
            return level

        return jax.vmap(edit)(jax.random.split(key, num), parents)

    def init(self, key: PRNGKey, num: int) -> PLRState:
        """An empty buffer, for rounds of ``num`` envs."""
        del key
        require_positive_int(type(self).__name__, "num", num)
        template = self.level_template()
        return PLRState(
            buffer=buf.init_buffer(template, self.capacity),
            last_branch=jnp.asarray(NEW, jnp.int32),
            last_replayed=jax.tree.map(lambda x: jnp.zeros((num, *x.shape), x.dtype), template),
            rounds=jnp.zeros(3, jnp.int32),
        )

    def _may_replay(self, buffer: buf.LevelBuffer) -> Array:
        return buffer.size() >= self.replay_threshold

    def summary(self) -> str:
        """When replay starts, and why at that fill."""
        name = type(self).__name__
        if self.distinct_levels < self.capacity:
            source = (
                f"min_fill {self.min_fill:g} of the {self.distinct_levels} distinct levels the "
                f"generator yields (fewer than capacity {self.capacity})"
            )
        else:
            source = f"min_fill {self.min_fill:g} of capacity {self.capacity}"
        return f"{name} replays once {self.replay_threshold} levels are stored ({source})"

    def run_warnings(self, rounds: int, num: int) -> list[str]:
        """Warns when the buffer cannot reach the replay threshold within the run."""
        # Only new (and ACCEL's mutated) rounds add levels, at most ``num`` each.
        if rounds * num >= self.replay_threshold:
            return []
        return [
            f"{type(self).__name__} never replays in this run: replay starts once "
            f"{self.replay_threshold} levels are stored, but {rounds} rounds of {num} envs can "
            f"store at most {rounds * num}. Lower min_fill or capacity (--curriculum-option), "
            "or train longer; as it is, this run is domain randomisation"
        ]

    def sample(self, state: PLRState, key: PRNGKey, num: int) -> tuple[PLRState, Batch]:
        """This round's levels: new, replayed or (ACCEL) mutated.

        ``batch.info`` holds ``branch`` (int32 []) and ``slots`` (int32 [num], buffer slots of
        replayed levels, -1 otherwise).
        """
        _check_num(state, num)
        decide_key, new_key, replay_key, mutate_key = jax.random.split(key, 4)
        buffer = buf.tick(state.buffer)
        replay = self._may_replay(buffer) & jax.random.bernoulli(decide_key, self.replay_prob)
        branch = jnp.where(replay, REPLAY, NEW)
        if self.num_edits:
            branch = jnp.where(state.last_branch == REPLAY, MUTATE, branch)

        def new(buffer: buf.LevelBuffer) -> tuple[buf.LevelBuffer, PyTree, Array]:
            return buffer, self.new_levels(new_key, num), jnp.full(num, -1, jnp.int32)

        def replayed(buffer: buf.LevelBuffer) -> tuple[buf.LevelBuffer, PyTree, Array]:
            buffer, slots = buf.sample_slots(
                buffer,
                replay_key,
                num,
                prioritization=self.prioritization,
                temperature=self.temperature,
                staleness_coef=self.staleness_coef,
            )
            return buffer, buf.take(buffer, slots), slots

        branches = [new, replayed]
        if self.num_edits:

            def mutated(buffer: buf.LevelBuffer) -> tuple[buf.LevelBuffer, PyTree, Array]:
                levels = self._mutated(mutate_key, state.last_replayed)
                return buffer, levels, jnp.full(num, -1, jnp.int32)

            branches.append(mutated)
        buffer, levels, slots = jax.lax.switch(branch, branches, buffer)
        train = branch == REPLAY if self.robust else jnp.asarray(True)
        state = state.replace(
            buffer=buffer,
            last_branch=branch.astype(jnp.int32),
            rounds=state.rounds.at[branch].add(1),
        )
        info = {"branch": branch.astype(jnp.int32), "slots": slots}
        return state, Batch(levels=levels, info=info, train=train)

    def update(self, state: PLRState, batch: Batch, stats: EpisodeStats) -> PLRState:
        """Scores the round's levels: rescore replayed slots, or merge new/mutated levels."""
        num = batch_size_of(batch)
        check_stats(stats, num)
        slots = batch.info["slots"]
        replayed = batch.info["branch"] == REPLAY
        previous = jnp.where(
            replayed & (slots >= 0), state.buffer.best_return[jnp.maximum(slots, 0)], -jnp.inf
        )
        best = best_return(stats, previous)
        scores = self._score(stats, best)

        def rescored(buffer: buf.LevelBuffer) -> buf.LevelBuffer:
            return buf.rescore(buffer, slots, scores, best)

        def merged(buffer: buf.LevelBuffer) -> buf.LevelBuffer:
            return buf.insert(buffer, batch.levels, scores, best, dedupe=self.dedupe)[0]

        buffer = jax.lax.cond(replayed, rescored, merged, state.buffer)
        state = state.replace(buffer=buffer)
        parents = jax.tree.map(
            lambda new, old: jnp.where(replayed, new, old), batch.levels, state.last_replayed
        )
        return state.replace(last_replayed=parents)

    def top_levels(self, state: PLRState, k: int) -> tuple[PyTree, Array]:
        """The ``k`` stored levels of highest replay score, best first (see ``Teacher``)."""
        return buf.best(state.buffer, k)

    def metrics(self, state: PLRState) -> dict[str, Array]:
        """Buffer fill, score mean/max over stored levels (0 while empty), and branch shares."""
        b = state.buffer
        size = jnp.maximum(b.size(), 1)
        stored = jnp.where(b.filled, b.scores, 0.0)
        rounds = jnp.maximum(jnp.sum(state.rounds), 1)
        return {
            "buffer_fill": b.size() / b.capacity,
            "score_mean": jnp.sum(stored) / size,
            "score_max": jnp.where(
                b.size() > 0, jnp.max(jnp.where(b.filled, b.scores, -jnp.inf)), 0.0
            ),
            "replay_share": state.rounds[REPLAY] / rounds,
            "mutate_share": state.rounds[MUTATE] / rounds,
        }


class RobustPLR(PLR):
    """Robust PLR (PLR-perp): PLR that takes gradient steps only on replayed levels.

    Jiang, Dennis, Parker-Holder, Foerster, Grefenstette, Rocktäschel, NeurIPS 2021,
    "Replay-Guided Adversarial Environment Design". Same hyper-parameters as ``PLR``.
    """

    name = "robust_plr"

    def __init__(self, env: Env, params: EnvParams | None = None, **kwargs: object) -> None:
        kwargs.setdefault("robust", True)
        super().__init__(env, params, **kwargs)  # type: ignore[arg-type]


class ACCEL(PLR):
    """ACCEL: Robust PLR whose replayed levels are edited into new candidates.

    Parker-Holder, Jiang, Dennis, Samvelyan, Foerster, Grefenstette, Rocktäschel, ICML 2022,
    "Evolving Curricula with Regret-Based Environment Design". After every replay round the next
    round plays the replayed levels each passed ``num_edits`` times through the env's
    ``mutate_level``, scores them and merges them into the buffer. Defaults: replay probability
    0.8 (JaxUED); one ``mutate_level`` call per child, which for the Maze flips 3 cells and moves
    the goal with probability 1/2, close to JaxUED's 5 single-cell edits. The paper's mazes start
    from empty rooms (pass Params with no walls); JaxUED starts from its DR levels.

    Args:
        num_edits: ``mutate_level`` applications per child.
        **kwargs: ``PLR``'s; ``robust`` defaults to True.

    Raises:
        ValueError: the env has no ``mutate_level``.
    """

    name = "accel"

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        *,
        num_edits: int = 1,
        replay_prob: float = 0.8,
        **kwargs: object,
    ) -> None:
        if type(env).mutate_level is Env.mutate_level:
            raise ValueError(
                f"ACCEL edits levels with mutate_level, which {type(env).__name__} does not "
                "have; use a level family that supports it (Maze, PerfectMaze) or Robust PLR"
            )
        kwargs.setdefault("robust", True)
        super().__init__(env, params, replay_prob=replay_prob, **kwargs)  # type: ignore[arg-type]
        require_positive_int(type(self).__name__, "num_edits", num_edits)
        self.num_edits = num_edits


def count_distinct_levels(
    draw: Callable[[PRNGKey, int], PyTree], limit: int, key: PRNGKey | None = None
) -> int:
    """How many distinct levels ``draw`` yields, counted up to ``limit``.

    Draws batches of levels (``draw(key, n)``, leaves [n, ...]) and counts distinct content
    hashes until ``limit`` distinct levels are seen, a batch adds none (the generator's levels
    are exhausted: a level it draws with probability 1/200 or more is missed by a batch of 1024
    with probability under 1 %), or ``4 * limit`` levels were drawn.

    Returns:
        ``limit`` if at least that many distinct levels were seen, else the count.
    """
    key = jax.random.key(0) if key is None else key
    chunk = min(1024, max(64, 2 * limit))
    hashes_of = jax.jit(lambda key: jax.vmap(buf.level_hash)(draw(key, chunk)))
    seen: set[bytes] = set()
    drawn = 0
    while len(seen) < limit and drawn < 4 * limit:
        key, sub = jax.random.split(key)
        before = len(seen)
        seen.update(row.tobytes() for row in np.asarray(hashes_of(sub)))
        drawn += chunk
        if len(seen) == before:
            break
    return min(len(seen), limit)


_DISTINCT: dict[tuple, int] = {}


def _distinct_levels(teacher: Teacher, limit: int) -> int:
    """``count_distinct_levels`` of the teacher's generator, cached per env, Params and limit."""
    leaves = jax.tree.leaves(teacher.params)
    key = (
        teacher.env,
        jax.tree.structure(teacher.params),
        tuple((np.asarray(x).dtype.str, np.asarray(x).tobytes()) for x in leaves),
        limit,
    )
    if key not in _DISTINCT:
        _DISTINCT[key] = count_distinct_levels(teacher.new_levels, limit)
    return _DISTINCT[key]


def _check_num(state: PLRState, num: int) -> None:
    """Raises ``ValueError`` if ``num`` differs from the batch size the state was made for."""
    made_for = jax.tree.leaves(state.last_replayed)[0].shape[0]
    if num != made_for:
        raise ValueError(f"this teacher state was initialised for {made_for} envs, not {num}")
