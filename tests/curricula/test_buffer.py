"""The level buffer: replay distribution against hand-computed values, exact top-k insertion."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curriculax.curricula import buffer as buf

#: A "level" for these tests: one int32 vector (the buffer is agnostic to the level's structure).
TEMPLATE = {"cells": jnp.zeros(3, jnp.int32)}


def _levels(values) -> dict:
    values = np.asarray(values, np.int32)
    return {"cells": jnp.asarray(np.stack([values, values + 1, values * 7], axis=1))}


def _buffer(scores, last_seen=None, clock=0, capacity=None):
    """A buffer whose first len(scores) slots hold distinct levels with those scores."""
    capacity = capacity or len(scores)
    b = buf.init_buffer(TEMPLATE, capacity)
    n = len(scores)
    b = b.replace(
        levels={"cells": b.levels["cells"].at[:n].set(_levels(np.arange(n))["cells"])},
        scores=b.scores.at[:n].set(jnp.asarray(scores, jnp.float32)),
        filled=b.filled.at[:n].set(True),
        last_seen=b.last_seen.at[:n].set(
            jnp.asarray(last_seen if last_seen is not None else [0] * n)
        ),
        clock=jnp.asarray(clock, jnp.int32),
    )
    return b


def test_rank_weights_are_inverse_rank_to_the_power_one_over_temperature():
    b = _buffer([3.0, 1.0, 2.0], capacity=4)  # slot 3 empty
    p = buf.score_weights(b, "rank", 1.0)
    np.testing.assert_allclose(p, [6 / 11, 2 / 11, 3 / 11, 0.0], rtol=1e-6)
    p = buf.score_weights(b, "rank", 0.5)  # h^(1/0.5) = h^2: 1, 1/9, 1/4
    np.testing.assert_allclose(p, [36 / 49, 4 / 49, 9 / 49, 0.0], rtol=1e-6)


def test_rank_ties_break_by_slot_order():
    p = buf.score_weights(_buffer([2.0, 2.0, 1.0]), "rank", 1.0)
    np.testing.assert_allclose(p, [6 / 11, 3 / 11, 2 / 11], rtol=1e-6)


def test_power_weights_and_all_zero_scores_fall_back_to_uniform():
    p = buf.score_weights(_buffer([1.0, 3.0, 0.0]), "power", 1.0)
    np.testing.assert_allclose(p, [0.25, 0.75, 0.0], rtol=1e-6)
    p = buf.score_weights(_buffer([1.0, 3.0, 0.0]), "power", 0.5)  # squared: 1, 9, 0
    np.testing.assert_allclose(p, [0.1, 0.9, 0.0], rtol=1e-6)
    p = buf.score_weights(_buffer([0.0, 0.0, 0.0], capacity=4), "power", 0.3)
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 1 / 3, 0.0], rtol=1e-6)
    assert np.all(np.isfinite(p))


def test_staleness_weights_and_mixture():
    b = _buffer([3.0, 1.0, 2.0], last_seen=[4, 10, 8], clock=10)
    np.testing.assert_allclose(buf.staleness_weights(b), [6 / 8, 0.0, 2 / 8], rtol=1e-6)
    p = buf.replay_distribution(b, prioritization="rank", temperature=1.0, staleness_coef=0.3)
    expected = 0.7 * np.array([6, 2, 3]) / 11 + 0.3 * np.array([6, 0, 2]) / 8
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    fresh = _buffer([3.0, 1.0, 2.0], last_seen=[5, 5, 5], clock=5)  # nothing stale yet
    np.testing.assert_allclose(buf.staleness_weights(fresh), [1 / 3] * 3, rtol=1e-6)


def test_sampling_follows_the_distribution_and_marks_slots_seen():
    b = _buffer([3.0, 1.0, 2.0], last_seen=[4, 10, 8], clock=10, capacity=4)
    expected = buf.replay_distribution(b, temperature=1.0, staleness_coef=0.3)
    _, slots = buf.sample_slots(b, jax.random.key(0), 20000, temperature=1.0)
    freq = np.bincount(np.asarray(slots), minlength=4) / 20000
    np.testing.assert_allclose(freq, expected, atol=0.015)
    assert freq[3] == 0
    b2, slots = buf.sample_slots(b, jax.random.key(1), 2, temperature=1.0)
    seen = np.asarray(b2.last_seen)[np.asarray(slots)]
    assert np.all(seen == 10)


def test_sampling_an_empty_buffer_is_a_clear_error():
    with pytest.raises(ValueError, match="empty level buffer"):
        buf.sample_slots(buf.init_buffer(TEMPLATE, 4), jax.random.key(0), 2)


def test_insert_keeps_exactly_the_top_k_and_survivors_keep_their_slots():
    rng = np.random.default_rng(0)
    insert = jax.jit(buf.insert)  # one small compile per batch size, not one per primitive
    b = buf.init_buffer(TEMPLATE, 8)
    seen_scores: list[float] = []
    ids = 0
    for _ in range(6):
        n = int(rng.integers(1, 6))
        scores = rng.normal(size=n).astype(np.float32)
        stored = np.asarray(b.levels["cells"][:, 0])
        before = {int(stored[i]) for i in np.flatnonzero(np.asarray(b.filled))}
        b, slots = insert(
            b, _levels(np.arange(ids, ids + n)), jnp.asarray(scores), jnp.full(n, -jnp.inf)
        )
        ids += n
        seen_scores.extend(scores.tolist())
        kept = np.sort(np.asarray(b.scores)[np.asarray(b.filled)])
        np.testing.assert_allclose(kept, np.sort(seen_scores)[-8:], rtol=0)
        stored = np.asarray(b.levels["cells"][:, 0])
        after = {int(stored[i]): int(i) for i in np.flatnonzero(np.asarray(b.filled))}
        for level_id in before:  # an entry that survives stays where it was
            if level_id in after:
                assert b.levels["cells"][after[level_id], 0] == level_id
        for j, slot in enumerate(np.asarray(slots)):  # each candidate reports where it went
            level_id = ids - n + j
            assert (slot >= 0) == (level_id in after)
            if slot >= 0:
                assert after[level_id] == slot


def test_insert_prefers_stored_levels_on_ties():
    b = _buffer([1.0, 1.0])
    b, slots = buf.insert(b, _levels([10]), jnp.asarray([1.0]), jnp.asarray([-jnp.inf]))
    assert np.asarray(slots).tolist() == [-1]
    assert sorted(np.asarray(b.levels["cells"][:, 0]).tolist()) == [0, 1]


def test_duplicates_rescore_the_stored_entry_instead_of_taking_a_slot():
    b = buf.init_buffer(TEMPLATE, 4)
    b, first = buf.insert(b, _levels([5, 6]), jnp.asarray([0.2, 0.4]), jnp.asarray([0.0, 0.5]))
    b = buf.tick(b)
    b, again = buf.insert(
        b, _levels([5, 5, 7]), jnp.asarray([0.9, 0.1, 0.3]), jnp.asarray([1.0, 0.0, 0.0])
    )
    assert int(b.size()) == 3  # 5, 6, 7: the repeats of 5 took no slot
    slot5 = int(first[0])
    assert np.asarray(again).tolist()[:2] == [slot5, slot5]
    assert float(b.scores[slot5]) == pytest.approx(0.9)  # the first repeat's score
    assert float(b.best_return[slot5]) == pytest.approx(1.0)
    assert int(b.last_seen[slot5]) == 1
    b_no, _ = buf.insert(
        buf.init_buffer(TEMPLATE, 4), _levels([5, 5]), jnp.ones(2), jnp.zeros(2), dedupe=False
    )
    assert int(b_no.size()) == 2


def test_rescore_updates_scores_and_keeps_the_best_return():
    b = _buffer([1.0, 2.0, 3.0])
    b = b.replace(best_return=jnp.asarray([0.5, 0.5, 0.5]))
    b = buf.rescore(b, jnp.asarray([2, -1]), jnp.asarray([7.0, 9.0]), jnp.asarray([0.2, 9.0]))
    np.testing.assert_allclose(b.scores, [1.0, 2.0, 7.0])
    np.testing.assert_allclose(b.best_return, [0.5, 0.5, 0.5])


def test_level_hash_tells_levels_apart_and_is_deterministic():
    a = buf.level_hash(_levels([3])["cells"][0])
    assert np.array_equal(a, buf.level_hash(_levels([3])["cells"][0]))
    hashes = jax.vmap(buf.level_hash)(_levels(np.arange(2000)))
    assert len({tuple(h) for h in np.asarray(hashes).tolist()}) == 2000


def test_buffer_ops_are_jittable_and_capacity_is_validated():
    b = jax.jit(buf.insert, static_argnames="dedupe")(
        buf.init_buffer(TEMPLATE, 4), _levels([1, 2]), jnp.ones(2), jnp.zeros(2)
    )[0]
    assert int(b.size()) == 2
    with pytest.raises(ValueError, match="capacity"):
        buf.init_buffer(TEMPLATE, 0)
