"""The closed-form occlusion rule against a literal port of MiniGrid's row sweep."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from curriculax.envs.grid.engine import visibility


def sweep_reference(clear: np.ndarray) -> np.ndarray:
    """MiniGrid's ``Grid.process_vis`` loop, cell by cell, on a transparency mask [x, y]."""
    size = clear.shape[0]
    mask = np.zeros((size, size), bool)
    mask[size // 2, size - 1] = True
    for y in reversed(range(size)):
        for x in range(size - 1):
            if mask[x, y] and clear[x, y]:
                mask[x + 1, y] = True
                if y > 0:
                    mask[x + 1, y - 1] = mask[x, y - 1] = True
        for x in reversed(range(1, size)):
            if mask[x, y] and clear[x, y]:
                mask[x - 1, y] = True
                if y > 0:
                    mask[x - 1, y - 1] = mask[x, y - 1] = True
    return mask


@pytest.mark.parametrize("size", [3, 5, 7, 9, 11])
def test_visibility_matches_row_sweep_on_random_views(size):
    rng = np.random.default_rng(size)
    density = rng.uniform(0.0, 0.8, size=(2000, 1, 1))
    clear = rng.uniform(size=(2000, size, size)) > density
    ours = np.asarray(jax.jit(jax.vmap(visibility))(clear))
    for i in range(len(clear)):
        np.testing.assert_array_equal(ours[i], sweep_reference(clear[i]), err_msg=f"view {i}")


def test_everything_visible_in_open_view_and_walls_block():
    open_view = np.ones((7, 7), bool)
    assert np.asarray(visibility(open_view)).all()
    walled = open_view.copy()
    walled[:, 5] = False  # a wall across the row in front of the agent
    seen = np.asarray(visibility(walled))
    assert seen[:, 5].all() and not seen[:, :5].any()
