"""The level buffer PLR, Robust PLR, ACCEL and SFL share: fixed capacity, scores, staleness.

Everything is fixed-shape and jittable. Insertion of a whole batch is one top-k merge: the buffer
keeps the ``capacity`` highest scores among its entries and the candidates (existing entries win
ties), and the candidates that make it take the slots of the entries they push out, so slots of
surviving entries never move. A candidate equal to a stored level (same content hash) rescores
that entry instead of being stored twice.

Replay distribution (Jiang et al. 2021, "Prioritized Level Replay"), over filled slots::

    P = (1 - rho) * P_S + rho * P_C
    P_S(i) = h(S_i)^(1/beta) / sum_j h(S_j)^(1/beta)   h = 1/rank ("rank") or S ("power")
    P_C(i) = (c - C_i) / sum_j (c - C_j)                 staleness: rounds since i was sampled

The temperature beta is a power (minimax issue #7 applied it as a division), ranks break ties by
slot order, and a distribution whose weights sum to zero (all scores or all staleness zero) is
uniform over the filled slots rather than a division by zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.types import Array, PRNGKey, PyTree

#: Score prioritisations: 1/rank, the score itself, or none.
PRIORITIZATIONS = ("rank", "power", "uniform")


@struct.dataclass
class LevelBuffer:
    """A fixed-capacity store of levels and their scores.

    Attributes:
        levels: the stored levels, leaves [C, ...].
        scores: float32 [C], each level's latest score (-inf where empty).
        best_return: float32 [C], the best return seen on each level (-inf if none).
        last_seen: int32 [C], the round at which each level was last inserted or replayed.
        hashes: uint32 [C, 2], content hashes of the levels (for duplicate detection).
        filled: bool [C], which slots hold a level.
        clock: int32 [], rounds so far (the staleness clock ``c``).
    """

    levels: PyTree
    scores: Array
    best_return: Array
    last_seen: Array
    hashes: Array
    filled: Array
    clock: Array

    @property
    def capacity(self) -> int:
        """C, the number of slots."""
        return int(self.scores.shape[-1])

    def size(self) -> Array:
        """int32 [], filled slots."""
        return jnp.sum(self.filled).astype(jnp.int32)


def init_buffer(template: PyTree, capacity: int) -> LevelBuffer:
    """An empty buffer of ``capacity`` slots for levels shaped like ``template`` (one level)."""
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"buffer capacity must be a positive int, got {capacity!r}")
    return LevelBuffer(
        levels=jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), x.dtype), template),
        scores=jnp.full(capacity, -jnp.inf, jnp.float32),
        best_return=jnp.full(capacity, -jnp.inf, jnp.float32),
        last_seen=jnp.zeros(capacity, jnp.int32),
        hashes=jnp.zeros((capacity, 2), jnp.uint32),
        filled=jnp.zeros(capacity, bool),
        clock=jnp.asarray(0, jnp.int32),
    )


def _hash_coefficients(length: int) -> np.ndarray:
    """Fixed odd uint32 multipliers [2, length] (the same in every process)."""
    rng = np.random.default_rng(20261130)
    return (rng.integers(0, 2**31, size=(2, length), dtype=np.uint32) * 2 + 1).astype(np.uint32)


def level_hash(level: PyTree) -> Array:
    """A 64-bit content hash of one level as uint32 [2] (two independent linear hashes)."""
    words = []
    for leaf in jax.tree.leaves(level):
        leaf = jnp.asarray(leaf)
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            leaf = jax.lax.bitcast_convert_type(leaf.astype(jnp.float32), jnp.uint32)
        words.append(leaf.astype(jnp.uint32).reshape(-1))
    flat = jnp.concatenate(words)
    coefficients = jnp.asarray(_hash_coefficients(flat.shape[0]))
    return jnp.sum(coefficients * flat[None, :], axis=1, dtype=jnp.uint32)


def insert(
    buffer: LevelBuffer,
    levels: PyTree,
    scores: Array,
    best_return: Array,
    *,
    dedupe: bool = True,
) -> tuple[LevelBuffer, Array]:
    """Merges ``n`` candidate levels into the buffer, keeping the ``capacity`` best scores.

    Args:
        buffer: the buffer.
        levels: candidate levels, leaves [n, ...].
        scores: float32 [n], their scores.
        best_return: float32 [n], the best return seen on each (-inf if none).
        dedupe: a candidate equal to a stored level (or to an earlier candidate) updates that
            entry's score, best return and ``last_seen`` instead of taking a slot.

    Returns:
        ``(buffer, slots)``: slots int32 [n] where each candidate now lives (its duplicate's slot
        when deduplicated), -1 where it did not make the cut.
    """
    n = scores.shape[0]
    capacity = buffer.capacity
    hashes = jax.vmap(level_hash)(levels)
    scores = scores.astype(jnp.float32)
    best_return = best_return.astype(jnp.float32)
    stored_scores = jnp.where(buffer.filled, buffer.scores, -jnp.inf)
    slot_of = jnp.full(n, -1, jnp.int32)
    if dedupe:
        same_stored = jnp.all(hashes[:, None, :] == buffer.hashes[None, :, :], axis=-1)
        same_stored &= buffer.filled[None, :]
        dup_slot = jnp.where(jnp.any(same_stored, axis=1), jnp.argmax(same_stored, axis=1), -1)
        same_batch = jnp.all(hashes[:, None, :] == hashes[None, :, :], axis=-1)
        earlier = jnp.tril(same_batch, k=-1)
        repeat = jnp.any(earlier, axis=1)
        first = jnp.argmax(earlier, axis=1)
        # a repeated candidate follows its first occurrence; a stored duplicate is rescored
        dup_slot = jnp.where(repeat, dup_slot[first], dup_slot)
        is_dup = (dup_slot >= 0) | repeat
        target = jnp.where(dup_slot >= 0, dup_slot, capacity)  # capacity = dropped
        first_only = ~repeat & (dup_slot >= 0)
        stored_scores = stored_scores.at[jnp.where(first_only, dup_slot, capacity)].set(
            scores, mode="drop"
        )
        buffer = buffer.replace(
            scores=stored_scores,
            best_return=buffer.best_return.at[target].max(best_return, mode="drop"),
            last_seen=buffer.last_seen.at[target].set(buffer.clock, mode="drop"),
        )
        slot_of = dup_slot
        candidate_scores = jnp.where(is_dup, -jnp.inf, scores)
        eligible = ~is_dup
    else:
        candidate_scores = scores
        eligible = jnp.ones(n, bool)

    merged = jnp.concatenate([stored_scores, candidate_scores])
    filled_merged = jnp.concatenate([buffer.filled, eligible])
    # rank key: filled entries above empty ones, then by score; top_k keeps lower indices on ties
    _, kept = jax.lax.top_k(jnp.where(filled_merged, merged, -jnp.inf), capacity)
    keep = jnp.zeros(capacity + n, bool).at[kept].set(True) & filled_merged
    keep_stored = keep[:capacity] | ~buffer.filled
    keep_candidate = keep[capacity:]
    # entering candidates take free or evicted slots, in order
    free_slots = jnp.argsort(keep_stored & buffer.filled, stable=True)[:n]
    entering = jnp.argsort(~keep_candidate, stable=True)
    rank_of = jnp.zeros(n, jnp.int32).at[entering].set(jnp.arange(n, dtype=jnp.int32))
    dest = jnp.where(keep_candidate, free_slots[rank_of], capacity)
    slot_of = jnp.where(keep_candidate, dest, slot_of).astype(jnp.int32)

    def put(stored: Array, new: Array) -> Array:
        return stored.at[dest].set(new, mode="drop")

    buffer = buffer.replace(
        levels=jax.tree.map(put, buffer.levels, levels),
        scores=put(stored_scores, candidate_scores),
        best_return=put(buffer.best_return, best_return),
        last_seen=put(buffer.last_seen, jnp.full(n, buffer.clock, jnp.int32)),
        hashes=put(buffer.hashes, hashes),
        filled=put(buffer.filled & keep_stored, jnp.ones(n, bool)),
    )
    return buffer, slot_of


def rescore(buffer: LevelBuffer, slots: Array, scores: Array, best_return: Array) -> LevelBuffer:
    """Sets the scores of replayed ``slots`` (int32 [n]; -1 is skipped) and raises best returns."""
    target = jnp.where(slots >= 0, slots, buffer.capacity)
    return buffer.replace(
        scores=buffer.scores.at[target].set(scores.astype(jnp.float32), mode="drop"),
        best_return=buffer.best_return.at[target].max(best_return.astype(jnp.float32), mode="drop"),
    )


def _normalise(weights: Array, filled: Array) -> Array:
    """``weights`` over filled slots summing to 1; uniform over them when all are zero."""
    weights = jnp.where(filled, weights, 0.0)
    total = jnp.sum(weights)
    uniform = filled / jnp.maximum(jnp.sum(filled), 1)
    return jnp.where(total > 0, weights / jnp.where(total > 0, total, 1.0), uniform)


def score_weights(buffer: LevelBuffer, prioritization: str, temperature: float) -> Array:
    """P_S over the slots: float32 [C] (0 on empty slots)."""
    if prioritization not in PRIORITIZATIONS:
        raise ValueError(f"prioritization must be one of {PRIORITIZATIONS}, got {prioritization!r}")
    filled = buffer.filled
    if prioritization == "uniform":
        return _normalise(jnp.zeros(filled.shape), filled)
    scores = jnp.where(filled, buffer.scores, -jnp.inf)
    if prioritization == "rank":
        order = jnp.argsort(-scores, stable=True)
        rank = (
            jnp.zeros(scores.shape, jnp.float32)
            .at[order]
            .set(jnp.arange(1, scores.shape[0] + 1, dtype=jnp.float32))
        )
        h = 1.0 / rank
    else:
        h = jnp.maximum(jnp.where(filled, buffer.scores, 0.0), 0.0)
    return _normalise(h ** (1.0 / temperature), filled)


def staleness_weights(buffer: LevelBuffer) -> Array:
    """P_C over the slots: float32 [C]."""
    stale = (buffer.clock - buffer.last_seen).astype(jnp.float32)
    return _normalise(stale, buffer.filled)


def replay_distribution(
    buffer: LevelBuffer,
    *,
    prioritization: str = "rank",
    temperature: float = 0.3,
    staleness_coef: float = 0.3,
) -> Array:
    """The replay distribution ``P`` over the slots: float32 [C]."""
    p_s = score_weights(buffer, prioritization, temperature)
    if staleness_coef == 0:
        return p_s
    return (1.0 - staleness_coef) * p_s + staleness_coef * staleness_weights(buffer)


def sample_slots(
    buffer: LevelBuffer,
    key: PRNGKey,
    num: int,
    *,
    prioritization: str = "rank",
    temperature: float = 0.3,
    staleness_coef: float = 0.3,
    allow_empty: bool = False,
) -> tuple[LevelBuffer, Array]:
    """Draws ``num`` slots from the replay distribution (with replacement) and marks them seen.

    Args:
        buffer: the buffer.
        key: PRNG key.
        num: slots to draw (static).
        prioritization: one of ``PRIORITIZATIONS``.
        temperature: beta of the score weights.
        staleness_coef: rho, the staleness share.
        allow_empty: the caller discards the draw when the buffer is empty (the slots are then
            meaningless); otherwise an empty buffer is an error.

    Returns:
        ``(buffer, slots int32 [num])``.

    Raises:
        ValueError: the buffer is empty (checked when its contents are concrete; traced
            callers such as ``PLR`` replay only once the buffer is ``min_fill`` full).
    """
    concrete = not isinstance(buffer.filled, jax.core.Tracer)
    if not allow_empty and concrete and not bool(jnp.any(buffer.filled)):
        raise ValueError("cannot sample from an empty level buffer: insert levels first")
    p = replay_distribution(
        buffer,
        prioritization=prioritization,
        temperature=temperature,
        staleness_coef=staleness_coef,
    )
    slots = jax.random.choice(key, buffer.capacity, (num,), p=p).astype(jnp.int32)
    return buffer.replace(last_seen=buffer.last_seen.at[slots].set(buffer.clock)), slots


def take(buffer: LevelBuffer, slots: Array) -> PyTree:
    """The levels in ``slots``, leaves [n, ...]."""
    return jax.tree.map(lambda x: x[slots], buffer.levels)


def best(buffer: LevelBuffer, k: int) -> tuple[PyTree, Array]:
    """The ``k`` highest-scored stored levels, best first.

    Args:
        buffer: the buffer.
        k: how many (static); more than the capacity gives the capacity.

    Returns:
        ``(levels, scores)``: levels leaves [k, ...] and their scores float32 [k], where -inf
        marks a row that holds no level (fewer than ``k`` stored).
    """
    scores = jnp.where(buffer.filled, buffer.scores, -jnp.inf)
    top, slots = jax.lax.top_k(scores, min(k, buffer.capacity))
    return take(buffer, slots), top


def tick(buffer: LevelBuffer) -> LevelBuffer:
    """Advances the staleness clock by one round."""
    return buffer.replace(clock=buffer.clock + 1)
