"""The episode state's one-byte cell codes: every MiniGrid cell round-trips exactly."""

from __future__ import annotations

import itertools

import numpy as np

from curriculax.envs.grid.constants import (
    EMPTY_CELL,
    NUM_COLORS,
    NUM_OBJECTS,
    NUM_STATES,
    WALL_CELL,
)
from curriculax.envs.grid.engine import (
    EMPTY_CODE,
    WALL_CODE,
    cell_types,
    decode_cells,
    encode_cells,
    transparent,
    transparent_codes,
)

#: Every (type, colour, state) a stored cell can hold: [N, 3].
ALL_CELLS = np.array(
    list(itertools.product(range(NUM_OBJECTS), range(NUM_COLORS), range(NUM_STATES))), np.uint8
)


def test_every_cell_round_trips_through_a_distinct_byte():
    codes = np.asarray(encode_cells(ALL_CELLS))
    assert codes.dtype == np.uint8
    assert len(set(codes.tolist())) == len(ALL_CELLS)  # no two cells share a code
    np.testing.assert_array_equal(np.asarray(decode_cells(codes)), ALL_CELLS)
    np.testing.assert_array_equal(np.asarray(cell_types(codes)), ALL_CELLS[:, 0])
    assert np.asarray(decode_cells(np.uint8(0))).tolist() == [0, 0, 0]  # unseen


def test_codes_keep_their_shape_and_named_codes_match_the_cells():
    grid = ALL_CELLS[:60].reshape(3, 4, 5, 3)
    codes = encode_cells(grid)
    assert codes.shape == (3, 4, 5)
    np.testing.assert_array_equal(np.asarray(decode_cells(codes)), grid)
    assert int(encode_cells(EMPTY_CELL)) == EMPTY_CODE
    assert int(encode_cells(WALL_CELL)) == WALL_CODE


def test_transparency_of_codes_matches_that_of_cells():
    np.testing.assert_array_equal(
        np.asarray(transparent_codes(encode_cells(ALL_CELLS))), np.asarray(transparent(ALL_CELLS))
    )
