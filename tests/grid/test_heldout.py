"""The held-out evaluation mazes: registered, readable, solvable, fixed."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from bfs import shortest_path

import curriculax
from curriculax.envs.grid.heldout import HeldOutMaze, heldout_layouts

IDS = [i for i in curriculax.registered_ids() if "Maze-HeldOut-" in i]


def test_at_least_ten_held_out_mazes_are_registered_one_per_layout():
    assert len(IDS) >= 10
    assert {i.split("-")[2] for i in IDS} == set(heldout_layouts())


@pytest.mark.parametrize("env_id", IDS)
def test_held_out_maze_is_solvable_and_always_the_same_level(env_id):
    env, params = curriculax.make(env_id)
    levels = jax.vmap(env.sample_level, (0, None))(jax.random.split(jax.random.key(0), 3), params)
    grid = np.asarray(levels.grid)
    assert (grid == grid[0]).all()
    assert shortest_path(grid[0, ..., 0], np.asarray(levels.agent_pos[0])) is not None


def test_unknown_layout_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown held-out maze 'Nope'; known: "):
        HeldOutMaze("Nope")
