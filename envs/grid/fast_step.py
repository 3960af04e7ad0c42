"""A numba twin of the grid engine's step, on numpy state, for the single-env gymnasium path.

One jitted JAX call costs ~100 us on a CPU, more than a whole MiniGrid step, so
``gymnasium.make`` of a grid id steps this twin instead (docs/decisions.md, "The grids'
single-env path"): levels still come from the JAX generators (one jitted reset per episode), the
episode's state is converted to numpy once, and every step after that is one call into the
``@numba.njit`` function ``step`` below. It reproduces ``Env.step`` of ``GridEnv`` exactly: the
step count and the time limit, every action and object rule (``GridEnv.transition``, and the
overrides of ``KeyCorridor`` and ``Memory``), ``goal_reward``'s float32 bits, and every
observation option (``"image"`` with or without occlusion, ``"full"``, ``"rgb"`` with any tile
size). ``tests/grid/test_fast_step_parity.py`` holds the two to each other step for step.

The episode state is two arrays, mutated in place by ``step``:

* ``grid``: uint8 [H, W], one-byte cell codes, as ``GridState.grid``;
* ``agent``: int64 [5], ``(x, y, direction, carried code, time)`` (``X`` .. ``TIME``).

An env whose ``transition``, ``observe``, ``init_state`` or ``step`` the twin does not know (a
subclass with rules of its own) gets no stepper (``make_host_stepper`` returns ``None``) and is
stepped by the JAX engine, as are episodes whose params are batched.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numba
import numpy as np

from curriculax.env import Env
from curriculax.envs.grid import engine
from curriculax.envs.grid.constants import Action, DoorState, Obj
from curriculax.envs.grid.engine import (
    COLOR_STRIDE,
    EMPTY_CODE,
    WALL_CODE,
    GridEnv,
    GridState,
)
from curriculax.envs.grid.render import render_grid

#: Slots of the ``agent`` vector.
X, Y, DIR, CARRYING, TIME = range(5)
#: Slots of the ``config`` vector: the episode's step limit, then the env's static choices.
MAX_STEPS, RULE, MODE, VIEW, SEE_THROUGH = range(5)
#: Transition rules: the engine's, KeyCorridor's (a ball picked up succeeds), Memory's.
RULE_ENGINE, RULE_BALL_PICKUP, RULE_MEMORY = range(3)
#: Observation modes, in ``engine.OBSERVATIONS`` order.
MODE_IMAGE, MODE_FULL, MODE_RGB = range(3)
#: Columns of the code table.
_TYPE, _COLOUR, _STATE, _CLEAR, _PASSABLE = range(5)

_INT32_SPAN = 1 << 32
_INT32_MIN = 1 << 31


def code_table() -> np.ndarray:
    """What the engine reads from a cell code, for every byte.

    Returns:
        uint8 [256, 5]: ``(type, colour, state, transparent, passable)`` per code, from the
        engine's own lookup tables (so the twin and the engine share them).
    """
    return np.concatenate(
        [
            engine._DECODE_TABLE,
            engine._TRANSPARENT_CODE[:, None].astype(np.uint8),
            engine._PASSABLE_CODE[:, None].astype(np.uint8),
        ],
        axis=1,
    )


# --------------------------------------------------------------------------------------------
# Transition
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _int32(value: int) -> int:
    """``value`` wrapped into int32, as JAX's int32 arithmetic wraps."""
    return (value + _INT32_MIN) % _INT32_SPAN - _INT32_MIN


@numba.njit(cache=True)
def goal_reward(time: int, max_steps: int) -> float:
    """``engine.goal_reward`` with its float32 bits: ``1 - 0.9 * time / max_steps``.

    The quotient of two float32 values is computed in float64 and rounded once to float32,
    which gives the correctly rounded float32 quotient (float64 holds more than twice float32's
    precision).

    Args:
        time: the step count, including the step that succeeds.
        max_steps: the episode length.

    Returns:
        The float32 reward, as a Python float.
    """
    numerator = np.float64(np.float32(_int32(10 * max_steps - 9 * time)))
    denominator = np.float64(np.float32(_int32(10 * max_steps)))
    return np.float64(np.float32(numerator / denominator))


@numba.njit(cache=True)
def _direction(direction: int) -> tuple[int, int]:
    """The unit step ``(dx, dy)`` of a direction (0 right, 1 down, 2 left, 3 up)."""
    if direction == 0:
        return 1, 0
    if direction == 1:
        return 0, 1
    if direction == 2:
        return -1, 0
    return 0, -1


@numba.njit(cache=True)
def _door_toggled(door: int, has_key: bool) -> int:
    """A door's state after a toggle: a locked door opens with its key, others flip."""
    if door == DoorState.LOCKED:
        return DoorState.OPEN if has_key else DoorState.LOCKED
    return DoorState.CLOSED if door == DoorState.OPEN else DoorState.OPEN


@numba.njit(cache=True)
def engine_transition(
    grid: np.ndarray, agent: np.ndarray, action: int, max_steps: int, table: np.ndarray
) -> tuple[float, bool]:
    """``GridEnv.transition``: turn, move, pick up, drop, toggle or do nothing, in place.

    Args:
        grid: uint8 [H, W], cell codes; the cell ahead may change.
        agent: int64 [5], ``(x, y, direction, carried code, time)``, time already counting this
            step; position, direction and carried object may change.
        action: the action (``Action``); any other value does nothing.
        max_steps: the episode length (for the reward).
        table: uint8 [256, 5], ``code_table()``.

    Returns:
        ``(reward, terminated)``.
    """
    height, width = grid.shape
    x, y, direction, carrying = agent[X], agent[Y], agent[DIR], agent[CARRYING]
    dx, dy = _direction(direction)
    ahead_x, ahead_y = x + dx, y + dy
    on_grid = 0 <= ahead_x < width and 0 <= ahead_y < height
    code = int(grid[ahead_y, ahead_x]) if on_grid else WALL_CODE  # beyond the edge: wall
    kind = table[code, _TYPE]

    if action == Action.LEFT:
        agent[DIR] = (direction + 3) % 4
    elif action == Action.RIGHT:
        agent[DIR] = (direction + 1) % 4

    reward, terminated = 0.0, False
    if action == Action.FORWARD:
        if table[code, _PASSABLE]:
            agent[X], agent[Y] = ahead_x, ahead_y
        if kind == Obj.GOAL:
            reward, terminated = goal_reward(agent[TIME], max_steps), True
        elif kind == Obj.LAVA:
            terminated = True

    new_code = code
    if action == Action.PICKUP:
        liftable = kind == Obj.KEY or kind == Obj.BALL or kind == Obj.BOX
        if liftable and carrying == EMPTY_CODE:
            new_code, agent[CARRYING] = EMPTY_CODE, code
    elif action == Action.DROP:
        if kind == Obj.EMPTY and carrying != EMPTY_CODE:
            new_code, agent[CARRYING] = carrying, EMPTY_CODE
    elif action == Action.TOGGLE:
        if kind == Obj.DOOR:
            held_key = table[carrying, _TYPE] == Obj.KEY
            has_key = held_key and table[carrying, _COLOUR] == table[code, _COLOUR]
            door = code % COLOR_STRIDE
            new_code = code - door + _door_toggled(door, has_key)
        elif kind == Obj.BOX:  # boxes hold nothing yet
            new_code = EMPTY_CODE
    if on_grid:
        grid[ahead_y, ahead_x] = new_code
    return reward, terminated


@numba.njit(cache=True)
def _is_object(kind: int) -> bool:
    """A key or a ball (what Memory's ends show)."""
    return kind == Obj.KEY or kind == Obj.BALL


@numba.njit(cache=True)
def memory_end(grid: np.ndarray, agent: np.ndarray, table: np.ndarray) -> tuple[bool, bool]:
    """Memory's checks after the engine's step: has the agent reached an end, the right one?

    The start room's object is the first key or ball of column 1; an end is reached at that
    row below an object, or two rows lower above one (``Memory.transition``).

    Args:
        grid: uint8 [H, W], cell codes after the step.
        agent: int64 [5], the agent after the step.
        table: uint8 [256, 5], ``code_table()``.

    Returns:
        ``(reached, success)``.
    """
    height = grid.shape[0]
    cue_row = 0
    for row in range(height):
        if _is_object(table[grid[row, 1], _TYPE]):
            cue_row = row
            break
    x, y = agent[X], agent[Y]
    above = table[grid[max(y - 1, 0), x], _TYPE]
    below = table[grid[min(y + 1, height - 1), x], _TYPE]
    at_upper = y == cue_row and _is_object(above)
    at_lower = y == cue_row + 2 and _is_object(below)
    reached = at_upper or at_lower
    end = above if at_upper else below
    return reached, reached and end == table[grid[cue_row, 1], _TYPE]


@numba.njit(cache=True)
def transition(
    grid: np.ndarray, agent: np.ndarray, action: int, max_steps: int, rule: int, table: np.ndarray
) -> tuple[float, bool]:
    """The env's ``transition`` (``rule``: ``RULE_ENGINE``, ``RULE_BALL_PICKUP``, ``RULE_MEMORY``).

    Arguments and result as ``engine_transition``.
    """
    if rule == RULE_MEMORY and action == Action.PICKUP:  # Memory: pickup acts as toggle
        action = Action.TOGGLE
    held = agent[CARRYING]
    reward, terminated = engine_transition(grid, agent, action, max_steps, table)
    if rule == RULE_BALL_PICKUP:
        picked = (
            action == Action.PICKUP
            and table[held, _TYPE] != Obj.BALL
            and table[agent[CARRYING], _TYPE] == Obj.BALL
        )
        if picked:
            reward, terminated = goal_reward(agent[TIME], max_steps), True
    elif rule == RULE_MEMORY:
        reached, success = memory_end(grid, agent, table)
        if success:
            reward = goal_reward(agent[TIME], max_steps)
        elif reached:
            reward = 0.0
        terminated = terminated or reached
    return reward, terminated


# --------------------------------------------------------------------------------------------
# Observation
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def view_codes(grid: np.ndarray, agent: np.ndarray, view_size: int) -> np.ndarray:
    """The egocentric view's cell codes (``GridEnv._view``), walls beyond the grid's edge.

    Args:
        grid: uint8 [H, W], cell codes.
        agent: int64 [5], the agent.
        view_size: V.

    Returns:
        uint8 [V, V], indexed ``[i, j]`` as MiniGrid's view (agent at ``(V // 2, V - 1)``
        facing up).
    """
    height, width = grid.shape
    fx, fy = _direction(agent[DIR])
    rx, ry = -fy, fx
    x, y, half = agent[X], agent[Y], view_size // 2
    codes = np.empty((view_size, view_size), np.uint8)
    for i in range(view_size):
        lateral = i - half
        for j in range(view_size):
            forward = view_size - 1 - j
            cell_x = x + forward * fx + lateral * rx
            cell_y = y + forward * fy + lateral * ry
            inside = 0 <= cell_x < width and 0 <= cell_y < height
            codes[i, j] = grid[cell_y, cell_x] if inside else WALL_CODE
    return codes


@numba.njit(cache=True)
def visibility(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """MiniGrid's occlusion sweep (``Grid.process_vis``) over a view.

    Rows are swept away from the agent; in each, visibility spreads left to right and then right
    to left through transparent cells, and each visible transparent cell lights its neighbours
    in the next row.

    Args:
        codes: uint8 [V, V], the view's cell codes, indexed ``[i, j]``.
        table: uint8 [256, 5], ``code_table()``.

    Returns:
        bool [V, V], the visible cells.
    """
    size = codes.shape[0]
    seen = np.zeros((size, size), np.bool_)
    seen[size // 2, size - 1] = True
    for j in range(size - 1, -1, -1):
        for i in range(size - 1):
            if seen[i, j] and table[codes[i, j], _CLEAR]:
                seen[i + 1, j] = True
                if j > 0:
                    seen[i + 1, j - 1] = True
                    seen[i, j - 1] = True
        for i in range(size - 1, 0, -1):
            if seen[i, j] and table[codes[i, j], _CLEAR]:
                seen[i - 1, j] = True
                if j > 0:
                    seen[i - 1, j - 1] = True
                    seen[i, j - 1] = True
    return seen


@numba.njit(cache=True)
def _seen_view(
    grid: np.ndarray, agent: np.ndarray, view_size: int, see_through: bool, table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The view's codes and visibility: uint8 [V, V] and bool [V, V]."""
    codes = view_codes(grid, agent, view_size)
    if see_through:
        return codes, np.ones((view_size, view_size), np.bool_)
    return codes, visibility(codes, table)


@numba.njit(cache=True)
def observe_image(
    grid: np.ndarray, agent: np.ndarray, view_size: int, see_through: bool, table: np.ndarray
) -> np.ndarray:
    """The ``"image"`` observation: uint8 [V, V, 3], occluded cells ``(0, 0, 0)``.

    The carried object (or the empty cell) shows in the agent's cell.
    """
    codes, seen = _seen_view(grid, agent, view_size, see_through, table)
    codes[view_size // 2, view_size - 1] = agent[CARRYING]
    out = np.zeros((view_size, view_size, 3), np.uint8)
    for i in range(view_size):
        for j in range(view_size):
            if seen[i, j] or (i == view_size // 2 and j == view_size - 1):
                code = codes[i, j]
                out[i, j, 0] = table[code, _TYPE]
                out[i, j, 1] = table[code, _COLOUR]
                out[i, j, 2] = table[code, _STATE]
    return out


@numba.njit(cache=True)
def observe_full(grid: np.ndarray, agent: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The ``"full"`` observation: uint8 [W, H, 3] indexed ``[x, y]``, the agent drawn in."""
    height, width = grid.shape
    out = np.empty((width, height, 3), np.uint8)
    for x in range(width):
        for y in range(height):
            code = grid[y, x]
            out[x, y, 0] = table[code, _TYPE]
            out[x, y, 1] = table[code, _COLOUR]
            out[x, y, 2] = table[code, _STATE]
    out[agent[X], agent[Y], 0] = Obj.AGENT
    out[agent[X], agent[Y], 1] = 0
    out[agent[X], agent[Y], 2] = agent[DIR]
    return out


@numba.njit(cache=True)
def observe_rgb(
    grid: np.ndarray,
    agent: np.ndarray,
    view_size: int,
    see_through: bool,
    table: np.ndarray,
    tiles: np.ndarray,
) -> np.ndarray:
    """The ``"rgb"`` observation: uint8 [V * T, V * T, 3], pasted from ``rgb_tiles``.

    Occluded cells show the empty tile unlit, visible ones their lit tile, the agent's cell the
    agent facing up over the carried object.
    """
    tile = tiles.shape[3]
    codes, seen = _seen_view(grid, agent, view_size, see_through, table)
    out = np.empty((view_size * tile, view_size * tile, 3), np.uint8)
    for i in range(view_size):
        for j in range(view_size):
            lit = seen[i, j]
            code = codes[i, j] if lit else EMPTY_CODE
            which = 0
            if i == view_size // 2 and j == view_size - 1:
                code, which = agent[CARRYING], 1
            out[j * tile : (j + 1) * tile, i * tile : (i + 1) * tile] = tiles[which, code, int(lit)]
    return out


@numba.njit(cache=True)
def observe(
    grid: np.ndarray, agent: np.ndarray, config: np.ndarray, table: np.ndarray, tiles: np.ndarray
) -> np.ndarray:
    """``GridEnv.observe`` for the observation mode in ``config`` (uint8, 3 dimensions)."""
    mode, view_size, see_through = config[MODE], config[VIEW], config[SEE_THROUGH] != 0
    if mode == MODE_FULL:
        return observe_full(grid, agent, table)
    if mode == MODE_RGB:
        return observe_rgb(grid, agent, view_size, see_through, table, tiles)
    return observe_image(grid, agent, view_size, see_through, table)


@numba.njit(cache=True)
def step(
    grid: np.ndarray,
    agent: np.ndarray,
    config: np.ndarray,
    action: int,
    table: np.ndarray,
    tiles: np.ndarray,
) -> tuple[np.ndarray, float, bool, bool]:
    """``Env.step`` of a grid env, in place on ``grid`` and ``agent``.

    Args:
        grid: uint8 [H, W], cell codes.
        agent: int64 [5], ``(x, y, direction, carried code, time)``.
        config: int64 [5], ``(max_steps, rule, mode, view_size, see_through)`` (``MAX_STEPS``
            .. ``SEE_THROUGH``).
        action: the action.
        table: uint8 [256, 5], ``code_table()``.
        tiles: uint8 [2, 256, 2, T, T, 3], ``rgb_tiles`` (any uint8 6-d array unless the mode
            is ``MODE_RGB``).

    Returns:
        ``(obs, reward, terminated, truncated)``; ``reward`` holds a float32 value.
    """
    max_steps = config[MAX_STEPS]
    agent[TIME] = _int32(agent[TIME] + 1)
    reward, terminated = transition(grid, agent, action, max_steps, config[RULE], table)
    truncated = agent[TIME] >= max_steps
    return observe(grid, agent, config, table, tiles), reward, terminated, truncated


# --------------------------------------------------------------------------------------------
# The stepper the gymnasium adapter drives
# --------------------------------------------------------------------------------------------

#: A stand-in for ``tiles`` when the observation has no pixels.
_NO_TILES = np.zeros((1, 1, 1, 1, 1, 3), np.uint8)


@functools.lru_cache(maxsize=8)
def rgb_tiles(tile_size: int) -> np.ndarray:
    """The pixels of every view cell the ``"rgb"`` observation can show, drawn by the engine.

    Each cell of that observation is one tile of ``render_grid``, a function of the cell's code,
    whether it is visible (lit) and whether the agent stands there (facing up), so rendering
    one-cell grids gives every tile bit for bit.

    Returns:
        uint8 [2, 256, 2, T, T, 3], indexed ``[agent here, code, visible]``; read-only.
    """
    codes = jnp.arange(256, dtype=jnp.uint8)

    def tile(code, lit, with_agent):
        cell = engine.decode_cells(code)[None, None]
        pos = jnp.where(with_agent, jnp.zeros(2, jnp.int32), jnp.full(2, -1, jnp.int32))
        return render_grid(cell, pos, 3, tile_size, jnp.reshape(lit, (1, 1)))

    per_lit = jax.vmap(tile, (None, 0, None))
    per_code = jax.vmap(per_lit, (0, None, None))
    lit = jnp.array([False, True])
    tiles = jax.jit(lambda: jnp.stack([per_code(codes, lit, False), per_code(codes, lit, True)]))
    out = np.asarray(tiles())
    out.setflags(write=False)
    return out


def _rule(env: GridEnv) -> int | None:
    """The twin's rule for ``env``'s class, ``None`` if its step is not one the twin knows."""
    from curriculax.envs.grid.keycorridor import KeyCorridor
    from curriculax.envs.grid.memory import Memory

    cls = type(env)
    known = (
        cls.observe is GridEnv.observe
        and cls.init_state is GridEnv.init_state
        and cls.step is Env.step
        and not env.checks
    )
    rules = {
        GridEnv.transition: RULE_ENGINE,
        KeyCorridor.transition: RULE_BALL_PICKUP,
        Memory.transition: RULE_MEMORY,
    }
    return rules.get(cls.transition) if known else None


class HostGridStepper:
    """One grid episode stepped on the host by the numba twin (the adapter's host-stepper hook).

    ``load`` takes the episode's state after a JAX reset, ``step`` advances it, ``state`` gives
    it back as a ``GridState`` of numpy arrays (for rendering and pickling).

    Args:
        env: the grid env (its static config; the rule comes from its class).
        rule: ``RULE_ENGINE``, ``RULE_BALL_PICKUP`` or ``RULE_MEMORY``.
    """

    def __init__(self, env: GridEnv, rule: int) -> None:
        self._table = code_table()
        mode = engine.OBSERVATIONS.index(env.observation)
        self._tile_size = env.tile_size if mode == MODE_RGB else None
        self._tiles = _NO_TILES  # drawn at the first ``load`` (making an env stays cheap)
        self._config = np.array(
            [0, rule, mode, env.view_size, int(env.see_through_walls)], np.int64
        )
        self._grid = np.zeros((env.height, env.width), np.uint8)
        self._agent = np.zeros(5, np.int64)

    def load(self, state: GridState, params: Any) -> bool:
        """Takes over an episode from ``state`` (numpy or JAX leaves) under ``params``.

        Returns:
            False (and nothing loaded) if ``params`` are batched: the JAX engine steps those.
        """
        max_steps = np.asarray(params.max_steps)
        if max_steps.shape != ():
            return False
        if self._tile_size is not None and self._tiles is _NO_TILES:
            self._tiles = rgb_tiles(self._tile_size)
        self._config[MAX_STEPS] = int(max_steps)
        self._grid = np.array(state.grid, np.uint8)
        x, y = np.asarray(state.agent_pos).tolist()
        self._agent[:] = (x, y, int(state.agent_dir), int(state.carrying), int(state.time))
        return True

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """One step: ``(obs, reward, terminated, truncated)``, Python scalars."""
        return step(self._grid, self._agent, self._config, action, self._table, self._tiles)

    def observe(self) -> np.ndarray:
        """The observation of the current state."""
        return observe(self._grid, self._agent, self._config, self._table, self._tiles)

    def state(self) -> GridState:
        """The episode's state now, as the JAX engine holds it (numpy leaves, copies)."""
        agent = self._agent
        return GridState(
            time=np.int32(agent[TIME]),
            grid=self._grid.copy(),
            agent_pos=np.array([agent[X], agent[Y]], np.int32),
            agent_dir=np.int32(agent[DIR]),
            carrying=np.uint8(agent[CARRYING]),
        )


def make_host_stepper(env: GridEnv) -> HostGridStepper | None:
    """A ``HostGridStepper`` for ``env``, or ``None`` if the twin does not cover its class."""
    rule = _rule(env)
    return None if rule is None else HostGridStepper(env, rule)
