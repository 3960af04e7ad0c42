"""Golden trajectories on small hand-made levels: MiniGrid's rules, step by step."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import curriculax
from curriculax.envs.grid.constants import EMPTY_CELL, WALL_CELL, Action, DoorState, Obj
from curriculax.envs.grid.engine import decode_cells
from curriculax.envs.grid.layout import parse_layout

L, R, F, P, D, T, N = (int(a) for a in Action)

DOORKEY = """
# # # # #
# > K # #
# . . D #
# . . G #
# # # # #
"""


def _play(name, layout, actions, **config):
    """Plays ``actions`` on ``layout``, padded with wall to a square grid of the env's size.

    The trace's states hold decoded cells: ``grid`` [H, W, 3] and ``carrying`` [3].
    """
    level = parse_layout(layout)
    height, width = level.grid.shape[:2]
    env, params = curriculax.make(name, size=max(height, width, 5), **config)
    pad = ((0, env.height - height), (0, env.width - width), (0, 0))
    grid = np.pad(np.asarray(level.grid), pad, constant_values=0)
    grid[height:, :, :] = WALL_CELL
    grid[:, width:, :] = WALL_CELL
    state = env.init_state(jax.random.key(0), level.replace(grid=grid), params)
    step = jax.jit(env.step)
    trace = []
    for a in actions:
        obs, state, reward, term, trunc, _ = step(jax.random.key(0), state, a, params)
        cells = state.replace(grid=decode_cells(state.grid), carrying=decode_cells(state.carrying))
        trace.append((jax.device_get(cells), float(reward), bool(term), bool(trunc), obs))
    return env, params, trace


def test_doorkey_solution_picks_key_unlocks_door_and_scores_minigrid_reward():
    actions = [P, R, F, L, F, T, F, R, F]
    _, params, trace = _play("DoorKey-5x5-v0", DOORKEY, actions)
    states = [t[0] for t in trace]
    assert tuple(states[0].carrying) == (Obj.KEY, 4, 0)  # key picked up ...
    assert tuple(states[0].grid[1, 2]) == tuple(EMPTY_CELL)  # ... and gone from the grid
    assert tuple(states[2].agent_pos) == (1, 2)
    assert tuple(states[4].agent_pos) == (2, 2)
    assert tuple(states[4].grid[2, 3]) == (Obj.DOOR, 4, DoorState.LOCKED)
    assert tuple(states[5].grid[2, 3]) == (Obj.DOOR, 4, DoorState.OPEN)  # unlocked with the key
    assert tuple(states[5].carrying) == (Obj.KEY, 4, 0)  # the key is kept
    assert tuple(states[6].agent_pos) == (3, 2)  # standing in the open doorway
    assert [t[2] for t in trace] == [False] * 8 + [True]
    assert [t[1] for t in trace[:8]] == [0.0] * 8
    assert trace[8][1] == pytest.approx(1 - 0.9 * 9 / int(params.max_steps))
    assert tuple(states[8].agent_pos) == (3, 3)


def test_reaching_goal_terminates_with_time_discounted_reward():
    layout = """
    # # # #
    # > G #
    # # # #
    """
    _, params, trace = _play("Empty-8x8-v0", layout, [L, R, F])
    rewards = [t[1] for t in trace]
    assert rewards[:2] == [0.0, 0.0]
    assert rewards[2] == pytest.approx(1 - 0.9 * 3 / int(params.max_steps))
    assert [t[2] for t in trace] == [False, False, True]


def test_lava_terminates_with_zero_reward_and_walls_block():
    layout = """
    # # # # #
    # > # L #
    # . L . #
    # # # # #
    """
    _, _, trace = _play("Empty-8x8-v0", layout, [F, R, F, L, F])
    assert tuple(trace[0][0].agent_pos) == (1, 1)  # wall ahead: no move
    assert tuple(trace[2][0].agent_pos) == (1, 2)
    state, reward, term, _, _ = trace[4]
    assert tuple(state.agent_pos) == (2, 2) and term and reward == 0.0


def test_locked_door_needs_matching_key_and_doors_toggle():
    layout = """
    # # # # #
    # > Db # #
    # Kr . . #
    # # # # #
    """
    # toggle locked blue door with no key, then fetch the red key and try again
    _, _, trace = _play("Empty-8x8-v0", layout, [T, R, P, L, T])
    assert tuple(trace[0][0].grid[1, 2]) == (Obj.DOOR, 2, DoorState.LOCKED)
    assert tuple(trace[2][0].carrying) == (Obj.KEY, 0, 0)
    assert tuple(trace[4][0].grid[1, 2]) == (Obj.DOOR, 2, DoorState.LOCKED)  # wrong colour
    layout_closed = layout.replace("Db", "db")
    _, _, trace = _play("Empty-8x8-v0", layout_closed, [T, F, L, R, T, T])
    assert tuple(trace[0][0].grid[1, 2])[2] == DoorState.OPEN
    assert tuple(trace[1][0].agent_pos) == (2, 1)  # walked onto the open door


def test_drop_needs_an_empty_cell_and_hands_full_block_pickup():
    layout = """
    # # # # #
    # > B Kb #
    # . . . #
    # # # # #
    """
    _, _, trace = _play("Empty-8x8-v0", layout, [P, D, P, R, D, L, F, P])
    assert tuple(trace[0][0].carrying) == (Obj.BALL, 4, 0)
    assert tuple(trace[1][0].grid[1, 2]) == (Obj.BALL, 4, 0)  # dropped back in front
    assert tuple(trace[4][0].grid[2, 1]) == (Obj.BALL, 4, 0)  # dropped below
    state = trace[7][0]
    assert tuple(state.agent_pos) == (2, 1) and tuple(state.carrying) == (Obj.KEY, 2, 0)


def test_observation_shows_carried_object_in_agent_cell_and_hides_behind_walls():
    layout = """
    # # # # # # #
    # . . # . . #
    # . . # . G #
    # ^ . # . . #
    # # # # # # #
    """
    _, _, trace = _play("DoorKey-8x8-v0", layout, [R])
    obs = trace[0][4]  # facing right, the wall column x=3 in front hides the goal
    assert not (np.asarray(obs)[..., 0] == Obj.GOAL).any()
    assert tuple(obs[3, 6]) == tuple(EMPTY_CELL)


def test_truncation_at_max_steps_even_on_the_terminal_step():
    layout = """
    # # # #
    # > G #
    # # # #
    """
    _, _, trace = _play("Empty-8x8-v0", layout, [L, R, F], max_steps=3)
    assert [(t[2], t[3]) for t in trace] == [(False, False), (False, False), (True, True)]


def test_layout_errors_are_clear():
    with pytest.raises(ValueError, match="exactly one agent"):
        parse_layout("# # #\n# . #\n# # #")
    with pytest.raises(ValueError, match="unknown layout character"):
        parse_layout("# # #\n# > ?\n# # #")


def test_state_is_compact_uint8_grid():
    env, params = curriculax.make("DoorKey-8x8-v0")
    state = jax.eval_shape(env.reset, jax.random.key(0), params)[1]
    assert state.grid.dtype == np.uint8 and state.grid.shape == (8, 8)
    assert state.carrying.dtype == np.uint8 and state.carrying.shape == ()
    assert sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state)) <= 166  # XLand's


def test_the_grid_edge_acts_as_a_wall_on_borderless_levels():
    layout = """
    > B . . .
    . . . . .
    . . . . .
    . . . . .
    . . . . .
    """
    # facing off the grid: forward, drop and toggle do nothing; the ball is picked after turning
    _, _, trace = _play("Empty-8x8-v0", layout, [L, F, P, D, T, R, P, L, L, D])
    assert all(tuple(t[0].agent_pos) == (0, 0) for t in trace)
    state = trace[-1][0]
    # the ball was picked up, then the drop towards the edge failed: still carried
    assert tuple(state.carrying) == (Obj.BALL, 4, 0)
    assert (np.asarray(state.grid[..., 0]) != Obj.WALL).all()
