"""The grid engine: MiniGrid's dynamics, egocentric view and visibility rule as pure JAX.

Every grid task shares this engine and writes only its level generator. A level is a uint8 grid of
encoded cells ``grid[y, x] = (type, colour, state)`` plus the agent's start. The episode state
packs each cell into one byte, ``code = type * TYPE_STRIDE + colour * COLOR_STRIDE + state``
(``encode_cells``, ``decode_cells``), and adds the carried object's code and the step count: an
8x8 episode's state is 8*8 + 17 = 81 bytes. Observations and pictures decode only what they show.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import Env, ParamsT
from curriculax.envs.grid.constants import (
    DIR_TO_VEC,
    EMPTY_CELL,
    GOAL_CELL,
    NUM_ACTIONS,
    NUM_COLORS,
    NUM_OBJECTS,
    NUM_STATES,
    WALL_CELL,
    Action,
    DoorState,
    Obj,
)
from curriculax.envs.grid.render import render_grid
from curriculax.spaces import Box, Discrete
from curriculax.types import Array, EnvState, PRNGKey

#: The ``observation`` choices of grid envs.
OBSERVATIONS = ("image", "full", "rgb")

#: A cell's one-byte code is ``type * TYPE_STRIDE + colour * COLOR_STRIDE + state``.
COLOR_STRIDE = NUM_STATES
TYPE_STRIDE = NUM_COLORS * NUM_STATES
#: Codes in use: ``0 .. NUM_CODES - 1``.
NUM_CODES = NUM_OBJECTS * TYPE_STRIDE
assert NUM_CODES <= 256, "cell codes must fit in uint8"


def encode_cells(cells: Array) -> Array:
    """One-byte codes of encoded cells: uint8 [..., 3] ``(type, colour, state)`` -> uint8 [...].

    Every cell a grid stores (door states 0 to 2, other objects 0) has a code; the agent's
    triple in a full observation (state = direction, up to 3) does not.
    """
    cells = jnp.asarray(cells, jnp.uint8)
    return cells[..., 0] * TYPE_STRIDE + cells[..., 1] * COLOR_STRIDE + cells[..., 2]


def _decode_table() -> np.ndarray:
    """``(type, colour, state)`` of every byte: uint8 [256, 3]."""
    codes = np.arange(256)
    cells = [codes // TYPE_STRIDE, codes // COLOR_STRIDE % NUM_COLORS, codes % COLOR_STRIDE]
    return np.stack(cells, axis=-1).astype(np.uint8)


_DECODE_TABLE = _decode_table()


def decode_cells(codes: Array) -> Array:
    """Encoded cells of one-byte codes: uint8 [...] -> uint8 [..., 3] ``(type, colour, state)``.

    A lookup in a 256-row table, which XLA fuses into the gather that reads the codes; the
    arithmetic (``//``, ``%``) measured slower, its three planes stacked in a separate pass.
    """
    return jnp.asarray(_DECODE_TABLE)[jnp.asarray(codes, jnp.uint8)]


def cell_types(codes: Array) -> Array:
    """Object types (``Obj``) of one-byte cell codes: uint8 [...]."""
    return jnp.asarray(codes, jnp.uint8) // TYPE_STRIDE


#: Codes of the empty cell (also "nothing carried") and of the wall beyond the grid's edge.
EMPTY_CODE = int(np.dot(EMPTY_CELL, (TYPE_STRIDE, COLOR_STRIDE, 1)))
WALL_CODE = int(np.dot(WALL_CELL, (TYPE_STRIDE, COLOR_STRIDE, 1)))


def transparent(cells: Array) -> Array:
    """Whether the agent sees past each encoded cell (walls and closed doors block)."""
    kind = cells[..., 0]
    return (kind != Obj.WALL) & ~((kind == Obj.DOOR) & (cells[..., 2] != DoorState.OPEN))


def passable(cells: Array) -> Array:
    """Whether the agent can step onto each encoded cell (MiniGrid's ``can_overlap``)."""
    kind = cells[..., 0]
    open_door = (kind == Obj.DOOR) & (cells[..., 2] == DoorState.OPEN)
    overlap = (kind == Obj.EMPTY) | (kind == Obj.GOAL) | (kind == Obj.FLOOR) | (kind == Obj.LAVA)
    return overlap | open_door


#: ``transparent`` and ``passable`` of every code: bool [256], gathered by code.
_VALID_CODE = np.arange(256) < NUM_CODES
_TRANSPARENT_CODE = transparent(_DECODE_TABLE) & _VALID_CODE
_PASSABLE_CODE = passable(_DECODE_TABLE) & _VALID_CODE


def transparent_codes(codes: Array) -> Array:
    """``transparent`` of one-byte cell codes: bool [...]."""
    return jnp.asarray(_TRANSPARENT_CODE)[codes]


@struct.dataclass
class GridLevel:
    """One grid task.

    Attributes:
        grid: uint8 [H, W, 3], encoded cells indexed ``[y, x]``.
        agent_pos: int32 [2], the agent's start ``(x, y)``.
        agent_dir: int32 [], the agent's start direction (0 right, 1 down, 2 left, 3 up).
    """

    grid: Array
    agent_pos: Array
    agent_dir: Array


@struct.dataclass
class GridState(EnvState):
    """State of a grid episode.

    Attributes:
        grid: uint8 [H, W], the one-byte codes (``encode_cells``) of the cells now (doors
            opened, keys picked up).
        agent_pos: int32 [2], ``(x, y)``.
        agent_dir: int32 [].
        carrying: uint8 [], the carried object's code, ``EMPTY_CODE`` for none.
    """

    grid: Array
    agent_pos: Array
    agent_dir: Array
    carrying: Array


@functools.cache
def view_offsets(view_size: int) -> np.ndarray:
    """World offsets of every egocentric view cell, for each direction.

    Returns:
        int32 [4, view_size, view_size, 2]: ``[d, i, j] = (dx, dy)`` of view cell ``(i, j)``
        (MiniGrid's ``[x, y]`` view indexing: the agent sits at ``(view_size // 2, view_size - 1)``
        facing up) for an agent facing direction ``d``.
    """
    i, j = np.meshgrid(np.arange(view_size), np.arange(view_size), indexing="ij")
    forward = view_size - 1 - j
    lateral = i - view_size // 2
    out = np.zeros((4, view_size, view_size, 2), np.int32)
    for d, (fx, fy) in enumerate(DIR_TO_VEC):
        rx, ry = -fy, fx
        out[d, ..., 0] = forward * fx + lateral * rx
        out[d, ..., 1] = forward * fy + lateral * ry
    return out


#: Largest view side whose per-row visibility table is precomputed (2**(2V) entries, 1 MiB at 9).
TABLE_MAX_VIEW = 9
#: Largest view side: ``visibility`` packs a view row into the bits of an int32.
MAX_VIEW = 31
#: Largest grid side: far beyond every MiniGrid task (31), and small enough that the step limits
#: the families derive from it (up to ``30 * side**2``) and cell counts stay inside int32.
MAX_SIDE = 255


@functools.cache
def visibility_row_table(size: int) -> np.ndarray:
    """MiniGrid's visibility sweep of one view row, tabulated for every input.

    Row bits hold one bit per cell, bit ``x`` for column ``x``. The table is indexed by
    ``seen << size | clear``, where ``seen`` is the row's cells lit by the row nearer the agent
    and ``clear`` its transparent cells.

    Returns:
        int32 [2**(2 * size)]: ``visible | lit_next << size``, with ``visible`` the row's
        visible cells and ``lit_next`` the cells it lights in the next row.
    """
    full = (1 << size) - 1
    seen, clear = np.meshgrid(np.arange(1 << size), np.arange(1 << size), indexing="ij")
    seen_lr = seen.copy()
    for x in range(size - 1):  # left to right through transparent cells
        seen_lr |= ((seen_lr >> x) & (clear >> x) & 1) << (x + 1)
    visible = seen_lr.copy()
    for x in reversed(range(1, size)):  # then right to left
        visible |= ((visible >> x) & (clear >> x) & 1) << (x - 1)
    lr_source = seen_lr & clear & (full >> 1)  # the rightward sweep stops before the last cell
    rl_source = visible & clear & (full - 1)  # the leftward sweep stops before the first cell
    lit_next = (lr_source | (lr_source << 1) | rl_source | (rl_source >> 1)) & full
    return (visible | (lit_next << size)).astype(np.int32).reshape(-1)


def _row_sweep_bits(row_seen: Array, clear: Array, size: int) -> tuple[Array, Array]:
    """``visibility_row_table`` computed with bit-parallel fills, for views too big to tabulate."""
    full = (1 << size) - 1
    steps = tuple(1 << i for i in range((size - 1).bit_length()))

    def fill(seeds: Array, through: Array, shift) -> Array:
        for k in steps:
            seeds = seeds | (through & shift(seeds, k))
            through = through & shift(through, k)
        return seeds

    def up(word: Array, k: int) -> Array:
        return (word << k) & full

    def down(word: Array, k: int) -> Array:
        return word >> k

    seen_lr = row_seen | up(fill(row_seen & clear, clear, up), 1)
    visible = seen_lr | down(fill(seen_lr & clear, clear, down), 1)
    lr_source = seen_lr & clear & (full >> 1)
    rl_source = visible & clear & (full - 1)
    return visible, (lr_source | (lr_source << 1) | rl_source | (rl_source >> 1)) & full


def visibility(clear: Array) -> Array:
    """MiniGrid's occlusion rule on an egocentric view.

    MiniGrid (``Grid.process_vis``) sweeps rows away from the agent; in each row visibility
    spreads left to right, then right to left, through transparent cells, and every visible
    transparent cell also lights its neighbours in the next row. Each row is packed into an
    integer (a bit per cell) and swept by one lookup in ``visibility_row_table`` (views up to
    ``TABLE_MAX_VIEW``) or by bit-parallel fills (larger views).

    Args:
        clear: bool [V, V], transparency of each view cell, indexed ``[x, y]``.

    Returns:
        bool [V, V], visible view cells, indexed ``[x, y]``.
    """
    size = clear.shape[0]
    bits = jnp.left_shift(1, jnp.arange(size, dtype=jnp.int32))
    words = jnp.sum(jnp.where(clear, bits[:, None], 0), axis=0)  # [V]: row y as bits over x
    table = jnp.asarray(visibility_row_table(size)) if size <= TABLE_MAX_VIEW else None
    lit = jnp.asarray(1 << (size // 2), jnp.int32)  # the agent's cell
    rows = []
    for y in reversed(range(size)):
        if table is not None:
            out = table[(lit << size) | words[y]]
            visible, lit = out & ((1 << size) - 1), out >> size
        else:
            visible, lit = _row_sweep_bits(lit, words[y], size)
        rows.append(visible)
    visible_rows = jnp.stack(rows[::-1])  # [V] over y
    return ((visible_rows[None, :] >> jnp.arange(size)[:, None]) & 1).astype(bool)


def room_grid(height: int, width: int, size: Array) -> Array:
    """A ``size`` x ``size`` walled room in the top-left of an ``height`` x ``width`` grid.

    Cells outside the room are walls too. ``size`` may be traced.

    Returns:
        uint8 [height, width, 3].
    """
    ys, xs = jnp.mgrid[0:height, 0:width]
    wall = (xs >= size - 1) | (ys >= size - 1) | (xs == 0) | (ys == 0)
    return jnp.where(wall[..., None], jnp.asarray(WALL_CELL), jnp.asarray(EMPTY_CELL))


def goal_reward(time: Array, max_steps: Array) -> Array:
    """MiniGrid's success reward ``1 - 0.9 * time / max_steps``: float32 [].

    Computed as one correctly rounded division of exact integers, so every compiled program
    (single, vmapped, fused differently) gives the same float32 bits.

    Args:
        time: int32 [], the step count including the step that succeeds.
        max_steps: int32 [], the episode length.
    """
    numerator = (10 * max_steps - 9 * time).astype(jnp.float32)
    return numerator / (10 * max_steps).astype(jnp.float32)


def random_cell(key: PRNGKey, allowed: Array) -> Array:
    """A uniformly random ``(x, y)`` among the True cells of ``allowed`` (bool [H, W])."""
    width = allowed.shape[1]
    logits = jnp.where(allowed.reshape(-1), 0.0, -jnp.inf)
    index = jax.random.categorical(key, logits)
    return jnp.stack([index % width, index // width]).astype(jnp.int32)


class GridEnv(Env[GridLevel, GridState, ParamsT]):
    """Base of the grid tasks: MiniGrid's 7 actions, objects and egocentric observation.

    Observation: uint8 [V, V, 3], MiniGrid's ``image`` (indexed ``[x, y]``, agent at the bottom
    centre facing up, occluded cells ``(0, 0, 0)``, the carried object in the agent's cell).
    Reward: ``1 - 0.9 * t / max_steps`` on reaching the goal, else 0. Lava and goal terminate.

    Args:
        height: H, rows of the grid array, in [3, MAX_SIDE] (255).
        width: W, columns of the grid array, in [3, MAX_SIDE].
        view_size: V, side of the egocentric view; odd, in [3, MAX_VIEW] (31).
        see_through_walls: skip occlusion, every view cell is visible (MiniGrid's flag of the
            same name; its ``Empty`` sets it, its ``DoorKey`` does not).
        observation: ``"image"`` (MiniGrid's egocentric encoding, uint8 [V, V, 3]), ``"full"``
            (the whole grid with the agent, as MiniGrid's ``FullyObsWrapper``: uint8 [W, H, 3]
            indexed ``[x, y]``) or ``"rgb"`` (pixels of the egocentric view, as MiniGrid's
            ``RGBImgPartialObsWrapper``: uint8 [V * tile_size, V * tile_size, 3]).
        tile_size: pixels per cell of the ``"rgb"`` observation (MiniGrid's wrapper: 8).
    """

    reward_range = (0.0, 1.0)

    def __init__(
        self,
        height: int,
        width: int,
        view_size: int = 7,
        see_through_walls: bool = False,
        observation: str = "image",
        tile_size: int = 8,
    ) -> None:
        for name, value in (("height", height), ("width", width), ("view_size", view_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {value!r}")
        if not (3 <= height <= MAX_SIDE and 3 <= width <= MAX_SIDE):
            raise ValueError(
                f"grid must be at least 3x3 and at most {MAX_SIDE}x{MAX_SIDE}, got {height}x{width}"
            )
        if not 3 <= view_size <= MAX_VIEW or view_size % 2 == 0:
            raise ValueError(f"view_size must be odd, in [3, {MAX_VIEW}], got {view_size}")
        self.height = int(height)
        self.width = int(width)
        self.view_size = int(view_size)
        self.see_through_walls = bool(see_through_walls)
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {observation!r}")
        if not isinstance(tile_size, int) or tile_size < 1:
            raise ValueError(f"tile_size must be a positive int, got {tile_size!r}")
        self.observation = observation
        self.tile_size = tile_size

    def level_checks(self, level: GridLevel, xp: ModuleType) -> list[tuple[str, Any]]:
        """The agent on the grid facing one of 4 directions; every cell a valid encoding."""
        x, y, cells = level.agent_pos[..., 0], level.agent_pos[..., 1], level.grid
        return [
            *super().level_checks(level, xp),
            (
                f"agent_pos (x, y) inside the {self.width}x{self.height} grid",
                (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height),
            ),
            ("agent_dir in 0..3", (level.agent_dir >= 0) & (level.agent_dir < 4)),
            (
                f"grid cells (type, colour, state) below ({NUM_OBJECTS}, {NUM_COLORS}, "
                f"{NUM_STATES})",
                (cells[..., 0] < NUM_OBJECTS)
                & (cells[..., 1] < NUM_COLORS)
                & (cells[..., 2] < NUM_STATES),
            ),
        ]

    # ----------------------------------------------------------------- engine

    def init_state(self, key: PRNGKey, level: GridLevel, params: ParamsT) -> GridState:
        """The episode start on ``level``: nothing carried, ``time`` 0."""
        if level.grid.shape != (self.height, self.width, 3):
            raise ValueError(
                f"level grid has shape {level.grid.shape}; this env's is "
                f"{(self.height, self.width, 3)}"
            )
        return GridState(
            time=jnp.asarray(0, jnp.int32),
            grid=encode_cells(level.grid),
            agent_pos=level.agent_pos,
            agent_dir=level.agent_dir,
            carrying=jnp.asarray(EMPTY_CODE, jnp.uint8),
        )

    def transition(
        self, key: PRNGKey, state: GridState, action: Array, params: ParamsT
    ) -> tuple[GridState, Array, Array]:
        """MiniGrid's ``step``: turn, move, pick up, drop, toggle or do nothing."""
        action = jnp.asarray(action, jnp.int32)
        ahead = state.agent_pos + jnp.asarray(DIR_TO_VEC)[state.agent_dir]
        on_grid = jnp.all((ahead >= 0) & (ahead < jnp.array([self.width, self.height])))
        ahead = jnp.clip(ahead, 0, jnp.array([self.width - 1, self.height - 1]))
        # Beyond the grid's edge is wall, as in MiniGrid's view slicing.
        here = state.grid[ahead[1], ahead[0]]
        code = jnp.where(on_grid, here, jnp.uint8(WALL_CODE))
        kind = code // TYPE_STRIDE
        colour = code // COLOR_STRIDE % NUM_COLORS
        door = code % COLOR_STRIDE

        turn = jnp.where(action == Action.LEFT, 3, jnp.where(action == Action.RIGHT, 1, 0))
        agent_dir = (state.agent_dir + turn) % 4

        forward = action == Action.FORWARD
        can_enter = jnp.asarray(_PASSABLE_CODE)[code]
        agent_pos = jnp.where(forward & can_enter, ahead, state.agent_pos)
        reached_goal = forward & (kind == Obj.GOAL)
        terminated = reached_goal | (forward & (kind == Obj.LAVA))
        reward = jnp.where(reached_goal, goal_reward(state.time, params.max_steps), 0.0)

        empty = jnp.uint8(EMPTY_CODE)
        hands_empty = state.carrying == empty
        liftable = (kind == Obj.KEY) | (kind == Obj.BALL) | (kind == Obj.BOX)
        pick = (action == Action.PICKUP) & liftable & hands_empty
        drop = (action == Action.DROP) & (kind == Obj.EMPTY) & ~hands_empty
        toggle = action == Action.TOGGLE
        held_colour = state.carrying // COLOR_STRIDE % NUM_COLORS
        has_key = (cell_types(state.carrying) == Obj.KEY) & (held_colour == colour)
        door_next = jnp.where(
            door == DoorState.LOCKED,
            jnp.where(has_key, DoorState.OPEN, DoorState.LOCKED),
            jnp.where(door == DoorState.OPEN, DoorState.CLOSED, DoorState.OPEN),
        ).astype(jnp.uint8)

        new_code = jnp.where(pick, empty, code)
        new_code = jnp.where(drop, state.carrying, new_code)
        new_code = jnp.where(toggle & (kind == Obj.DOOR), code - door + door_next, new_code)
        new_code = jnp.where(toggle & (kind == Obj.BOX), empty, new_code)  # boxes hold nothing yet
        carrying = jnp.where(pick, code, jnp.where(drop, empty, state.carrying))

        new_code = jnp.where(on_grid, new_code, here)
        state = state.replace(
            grid=state.grid.at[ahead[1], ahead[0]].set(new_code),
            agent_pos=agent_pos,
            agent_dir=agent_dir,
            carrying=carrying,
        )
        return state, reward, terminated

    def _view(self, state: GridState) -> tuple[Array, Array, Array]:
        """The egocentric view: cell codes [V, V], visibility [V, V], world ``(x, y)`` [V, V, 2]."""
        coords = state.agent_pos + jnp.asarray(view_offsets(self.view_size))[state.agent_dir]
        x, y = coords[..., 0], coords[..., 1]
        inside = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
        codes = state.grid[jnp.clip(y, 0, self.height - 1), jnp.clip(x, 0, self.width - 1)]
        codes = jnp.where(inside, codes, jnp.uint8(WALL_CODE))
        if self.see_through_walls:
            return codes, jnp.ones(codes.shape, bool), coords
        return codes, visibility(transparent_codes(codes)), coords

    def observe(self, state: GridState, params: ParamsT) -> Array:
        """The observation chosen by the ``observation`` config (see the class docstring)."""
        if self.observation == "full":
            full = decode_cells(jnp.swapaxes(state.grid, 0, 1))
            agent = jnp.stack(
                [jnp.uint8(Obj.AGENT), jnp.uint8(0), state.agent_dir.astype(jnp.uint8)]
            )
            return full.at[state.agent_pos[0], state.agent_pos[1]].set(agent)
        codes, seen, _ = self._view(state)
        agent_cell = (self.view_size // 2, self.view_size - 1)
        # The carried object shows in the agent's cell (a select: cheaper than a scatter here).
        at_agent = np.zeros(codes.shape, bool)
        at_agent[agent_cell] = True
        if self.observation == "rgb":  # occluded cells drawn empty, visible ones highlighted
            codes = jnp.where(seen, codes, jnp.uint8(EMPTY_CODE))
            codes = jnp.where(at_agent, state.carrying, codes)
            return render_grid(
                decode_cells(jnp.swapaxes(codes, 0, 1)),
                jnp.array(agent_cell, jnp.int32),
                jnp.asarray(3, jnp.int32),
                self.tile_size,
                jnp.swapaxes(seen, 0, 1),
            )
        # Code 0 decodes to (UNSEEN, 0, 0), MiniGrid's occluded cell.
        codes = jnp.where(seen, codes, jnp.uint8(0))
        return decode_cells(jnp.where(at_agent, state.carrying, codes))

    def observation_space(self, params: ParamsT) -> Box:
        """uint8, of the shape the ``observation`` config gives (bounds 0..255 as MiniGrid's)."""
        if self.observation == "full":
            shape = (self.width, self.height, 3)
        elif self.observation == "rgb":
            shape = (self.view_size * self.tile_size, self.view_size * self.tile_size, 3)
        else:
            shape = (self.view_size, self.view_size, 3)
        return Box(0, 255, shape, np.dtype(np.uint8))

    def action_space(self, params: ParamsT) -> Discrete:
        """The 7 MiniGrid actions (see ``Action``)."""
        return Discrete(NUM_ACTIONS)

    def host_stepper(self) -> Any:
        """A numba twin of ``step`` on numpy state, for the single-env gymnasium path.

        Returns:
            A ``fast_step.HostGridStepper`` (see ``GymnasiumEnv`` for the hook), or ``None``
            for a subclass whose step the twin does not reproduce (the JAX engine steps it).
        """
        from curriculax.envs.grid.fast_step import make_host_stepper  # imports numba

        return make_host_stepper(self)

    def render(self, state: GridState, params: ParamsT, tile_size: int = 32) -> Array:
        """MiniGrid-style picture with the agent's visible cells highlighted.

        Returns:
            uint8 [H * tile_size, W * tile_size, 3].
        """
        _, seen, coords = self._view(state)
        x, y = coords[..., 0], coords[..., 1]
        inside = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
        y = jnp.where(inside, y, self.height)  # off the grid: dropped by the scatter below
        highlight = jnp.zeros((self.height, self.width), bool)
        highlight = highlight.at[y, x].max(seen, mode="drop")
        return render_grid(
            decode_cells(state.grid), state.agent_pos, state.agent_dir, tile_size, highlight
        )


def place_goal(grid: Array, size: Array) -> Array:
    """Puts the goal in the room's bottom-right corner ``(size - 2, size - 2)``."""
    return grid.at[size - 2, size - 2].set(jnp.asarray(GOAL_CELL))
