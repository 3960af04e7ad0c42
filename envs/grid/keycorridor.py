"""KeyCorridor: find the key in a side room, unlock the door, pick up the ball (MiniGrid's).

MiniGrid builds it on ``RoomGrid``: ``num_rows`` rows of 3 square rooms sharing walls, the middle
column opened into a corridor, a locked door from the corridor into one room of the right column
with the ball behind it, the key in a room of the left column, and ``connect_all``: closed doors
on randomly picked walls until every room is reachable from the agent's, never into the locked
room. Its picks are uniform over the eligible walls, repeats skipped, so the doors it adds are the
shortest prefix of a uniformly random order of those walls that connects every room; that is how
it is drawn here, as one ``lax.scan`` over the walls.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import (
    DIR_TO_VEC,
    EMPTY_CELL,
    NUM_COLORS,
    WALL_CELL,
    Action,
    DoorState,
    Obj,
)
from curriculax.envs.grid.engine import GridEnv, GridLevel, GridState, cell_types, goal_reward
from curriculax.types import Array, EnvParams, PRNGKey

#: Columns of rooms (MiniGrid's ``RoomGrid`` default, which KeyCorridor keeps).
NUM_COLS = 3
#: Smallest room side including walls (MiniGrid asserts ``room_size >= 3``: one free cell).
MIN_ROOM_SIZE = 3


def _wall_table(max_rows: int) -> np.ndarray:
    """Every wall between two neighbouring rooms of a ``max_rows`` x 3 room grid.

    Returns:
        int32 [E, 3], rows ``(i, j, vertical)``: between rooms ``(i, j)`` and ``(i + 1, j)``
        (``vertical`` 0, a wall along ``x``) or ``(i, j)`` and ``(i, j + 1)`` (``vertical`` 1),
        with ``E = 2 * max_rows + 3 * (max_rows - 1)``.
    """
    side = [(i, j, 0) for j in range(max_rows) for i in range(NUM_COLS - 1)]
    below = [(i, j, 1) for j in range(max_rows - 1) for i in range(NUM_COLS)]
    return np.array(side + below, np.int32).reshape(-1, 3)


@struct.dataclass
class KeyCorridorParams(EnvParams):
    """KeyCorridor's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``30 * room_size**2``).
        room_size: int32 [], side of each room including its walls, in [3, max_room_size].
        num_rows: int32 [], rows of rooms, in [1, max_rows]. Cells beyond the rooms are wall.
    """

    room_size: Array
    num_rows: Array


class KeyCorridor(GridEnv[KeyCorridorParams]):
    """Pick up the ball behind a locked door; its key lies in a room off the corridor.

    Level distribution (as MiniGrid's ``KeyCorridorEnv``): ``num_rows`` rows of 3 rooms of side
    ``room_size`` sharing their walls; every wall between two neighbouring rooms has a door
    position uniform among its cells but the corners. The middle column's walls between rows are
    removed (the corridor). The ball, of a uniform colour, lies at a uniform cell of the
    right-column room of a uniform row, behind a locked door of a uniform colour at that room's
    left wall; the key, of the door's colour, lies at a uniform cell of the left-column room of
    another uniform row. The agent starts at a uniform free cell of the corridor's room in row
    ``num_rows // 2`` (the opened wall rows included, as MiniGrid's room rectangle does) facing a
    uniform direction but not the locked door. Then MiniGrid's ``connect_all``: closed doors of
    uniform colours on the eligible walls (not removed, not the locked room's) in uniformly
    random order until every room is reachable, the locked one through its locked door.

    Reward ``1 - 0.9 * t / max_steps`` when a pickup puts a ball in the agent's hands (the
    level's only ball), which ends the episode; else 0. Registered as
    ``curriculax/KeyCorridorS{3R1,3R2,3R3,4R3,5R3,6R3}-v0`` (room size S, R rows), as MiniGrid.

    Args:
        max_room_size: largest ``room_size``; with ``max_rows`` it fixes the grid array:
            ``(max_room_size - 1) * max_rows + 1`` rows, ``(max_room_size - 1) * 3 + 1`` columns.
        max_rows: largest ``num_rows``.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's KeyCorridor does not).
    """

    def __init__(
        self,
        max_room_size: int = 6,
        max_rows: int = 3,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ) -> None:
        for name, value, low in (
            ("max_room_size", max_room_size, MIN_ROOM_SIZE),
            ("max_rows", max_rows, 1),
        ):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        step = int(max_room_size) - 1
        super().__init__(
            step * int(max_rows) + 1,
            step * NUM_COLS + 1,
            view_size,
            see_through_walls,
            **grid_config,
        )
        self.max_room_size = int(max_room_size)
        self.max_rows = int(max_rows)

    def default_params(self) -> KeyCorridorParams:
        """The largest layout the grid holds, with MiniGrid's ``30 * room_size**2`` steps."""
        return KeyCorridorParams(
            max_steps=jnp.asarray(30 * self.max_room_size**2, jnp.int32),
            room_size=jnp.asarray(self.max_room_size, jnp.int32),
            num_rows=jnp.asarray(self.max_rows, jnp.int32),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``room_size`` in [3, max_room_size]; ``num_rows`` in [1, max_rows]."""
        return {
            "max_steps": (1, INT32_MAX),
            "room_size": (MIN_ROOM_SIZE, self.max_room_size),
            "num_rows": (1, self.max_rows),
        }

    def _connect_all(self, key: PRNGKey, walls: Array, rows: Array, ball_row: Array) -> Array:
        """The walls MiniGrid's ``connect_all`` gives a door.

        Args:
            key: draws the order of the eligible walls.
            walls: int32 [E, 3], ``_wall_table``.
            rows: int32 [], rows of rooms in use.
            ball_row: int32 [], row of the locked room (the right column's).

        Returns:
            bool [E], the walls given a closed door.
        """
        i, j, vertical = walls.T
        room_a = j * NUM_COLS + i
        room_b = jnp.where(vertical == 1, room_a + NUM_COLS, room_a + 1)
        exists = j < rows - vertical
        removed = exists & (vertical == 1) & (i == 1)
        locked = (vertical == 0) & (i == 1) & (j == ball_row)
        locked_room = ball_row * NUM_COLS + 2
        eligible = exists & ~removed & ~locked & (room_a != locked_room) & (room_b != locked_room)
        # The walls that join rooms from the start come first, then the eligible ones in random
        # order; the rest never join anything.
        priority = jnp.where(
            removed | locked, -1.0, jnp.where(eligible, jax.random.uniform(key, i.shape), 2.0)
        )
        order = jnp.argsort(priority)
        rooms = jnp.arange(NUM_COLS * self.max_rows)
        in_use = rooms < rows * NUM_COLS
        start = (rows // 2) * NUM_COLS + 1

        def join(labels: Array, wall: Array) -> tuple[Array, Array]:
            joined = jnp.all(jnp.where(in_use, labels == labels[start], True))
            take = removed[wall] | locked[wall] | (eligible[wall] & ~joined)
            a, b = labels[room_a[wall]], labels[room_b[wall]]
            labels = jnp.where(take & (labels == b), a, labels)  # union by relabelling
            return labels, take & eligible[wall]

        _, added = jax.lax.scan(join, rooms, order)
        return jnp.zeros_like(eligible).at[order].set(added)

    def sample_level(self, key: PRNGKey, params: KeyCorridorParams) -> GridLevel:
        """The rooms, their doors, the key, the ball and the agent, as MiniGrid draws them."""
        size = jnp.clip(params.room_size, MIN_ROOM_SIZE, self.max_room_size)
        rows = jnp.clip(params.num_rows, 1, self.max_rows)
        step = size - 1
        keys = jax.random.split(key, 7)
        ball_row, key_row = jax.random.randint(keys[0], (2,), 0, rows)
        walls = jnp.asarray(_wall_table(self.max_rows))
        added = self._connect_all(keys[1], walls, rows, ball_row)

        ys, xs = jnp.mgrid[0 : self.height, 0 : self.width]
        inside = (xs <= NUM_COLS * step) & (ys <= rows * step)
        wall = ~inside | (xs % step == 0) | (ys % step == 0)
        corridor = (ys % step == 0) & (ys > 0) & (ys < rows * step) & (xs > step) & (xs < 2 * step)
        grid = jnp.where((wall & ~corridor)[..., None], jnp.asarray(WALL_CELL), EMPTY_CELL)

        # Door positions: a uniform cell of each wall but its corners.
        i, j, vertical = walls.T
        along = jax.random.randint(keys[2], i.shape, 1, step)
        door_x = jnp.where(vertical == 1, i * step + along, (i + 1) * step)
        door_y = jnp.where(vertical == 1, (j + 1) * step, j * step + along)
        locked = (vertical == 0) & (i == 1) & (j == ball_row)
        colours = jax.random.randint(keys[3], (i.shape[0] + 1,), 0, NUM_COLORS)
        lock_colour, ball_colour = colours[-1], jax.random.randint(keys[4], (), 0, NUM_COLORS)
        state = jnp.where(locked, DoorState.LOCKED, DoorState.CLOSED)
        cells = jnp.stack(
            jnp.broadcast_arrays(Obj.DOOR, jnp.where(locked, lock_colour, colours[:-1]), state), -1
        ).astype(jnp.uint8)
        lock_pos = jnp.stack(
            [jnp.sum(jnp.where(locked, door_x, 0)), jnp.sum(jnp.where(locked, door_y, 0))]
        )
        door_y = jnp.where(added | locked, door_y, self.height)  # no door: dropped
        grid = grid.at[door_y, door_x].set(cells, mode="drop")

        # Key and ball at uniform cells inside their rooms.
        ox, oy, bx, by = jax.random.randint(keys[5], (4,), 1, step)
        grid = grid.at[key_row * step + oy, ox].set(
            jnp.stack([Obj.KEY, lock_colour, 0]).astype(jnp.uint8)
        )
        grid = grid.at[ball_row * step + by, 2 * step + bx].set(
            jnp.stack([Obj.BALL, ball_colour, 0]).astype(jnp.uint8)
        )

        # The agent: a uniform (free cell, direction) of the middle room's rectangle, not facing
        # the locked door (MiniGrid places it before connect_all, so other doors may be ahead).
        top = (rows // 2) * step
        rect = (xs >= step) & (xs <= 2 * step) & (ys >= top) & (ys <= top + step)
        free = rect & (grid[..., 0] == Obj.EMPTY)
        ahead = jnp.stack([xs, ys], -1)[:, :, None, :] + jnp.asarray(DIR_TO_VEC)  # [H, W, 4, 2]
        facing_lock = jnp.all(ahead == lock_pos, axis=-1)
        allowed = free[..., None] & ~facing_lock
        index = jax.random.categorical(keys[6], jnp.where(allowed.reshape(-1), 0.0, -jnp.inf))
        cell, agent_dir = index // 4, index % 4
        return GridLevel(
            grid=grid,
            agent_pos=jnp.stack([cell % self.width, cell // self.width]).astype(jnp.int32),
            agent_dir=agent_dir.astype(jnp.int32),
        )

    def transition(
        self, key: PRNGKey, state: GridState, action: Array, params: KeyCorridorParams
    ) -> tuple[GridState, Array, Array]:
        """The engine's step; a pickup that puts a ball in the agent's hands succeeds."""
        action = jnp.asarray(action, jnp.int32)
        after, reward, terminated = super().transition(key, state, action, params)
        picked = (
            (action == Action.PICKUP)
            & (cell_types(state.carrying) != Obj.BALL)
            & (cell_types(after.carrying) == Obj.BALL)
        )
        reward = jnp.where(picked, goal_reward(after.time, params.max_steps), reward)
        return after, reward, terminated | picked
