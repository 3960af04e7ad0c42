"""Memory: see an object in the start room, walk the hallway, choose its match (MiniGrid's)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import WALL_CELL, Action, Color, Obj
from curriculax.envs.grid.engine import (
    GridEnv,
    GridLevel,
    GridState,
    cell_types,
    goal_reward,
    room_grid,
)
from curriculax.types import Array, EnvParams, PRNGKey

#: Smallest room side: the start room, one hallway cell and the split (MiniGrid's smallest id).
MIN_SIZE = 7


def _object(is_ball: Array) -> Array:
    """A green ball or key cell: uint8 [3]."""
    return jnp.stack([jnp.where(is_ball, Obj.BALL, Obj.KEY), Color.GREEN, 0]).astype(jnp.uint8)


@struct.dataclass
class MemoryParams(EnvParams):
    """Memory's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``5 * size**2``).
        room_size: int32 [], room side including walls, in [7, size]; an even value acts as
            ``room_size - 1`` (MiniGrid's rooms have odd sides). The rest of the grid is wall.
        random_length: bool [], the hallway ends at a uniform column in ``[4, room_size - 3]``
            instead of ``room_size - 3`` (MiniGrid's flag of the same name).
    """

    room_size: Array
    random_length: Array


class Memory(GridEnv[MemoryParams]):
    """Remember the object in the start room; at the hallway's split, walk to its match.

    Level distribution (as MiniGrid's ``MemoryEnv``), with ``c = room_size // 2``: a 3x3 start
    room (columns 1 to 3, rows ``c - 1`` to ``c + 1``) holding a green key or ball (uniform) at
    ``(1, c - 1)``, a one-cell hallway along row ``c`` up to column ``hallway_end``, and a
    vertical hallway at column ``hallway_end + 1`` with a green ball and a green key (in uniform
    order) at rows ``c - 2`` and ``c + 2``. Agent at a uniform column of ``[1, hallway_end]`` of
    row ``c``, facing right. The other cells of the room are empty and unreachable.

    Pickup acts as toggle (so the objects stay put). Stepping next to the object matching the
    start room's (at ``(hallway_end + 1, c - 1)`` or ``(hallway_end + 1, c + 1)``) ends the
    episode with reward ``1 - 0.9 * t / max_steps``, next to the other one with reward 0. Both
    positions are read from the level's grid, so the state holds nothing beyond the engine's.
    Registered as ``curriculax/MemoryS{17,13}Random-v0`` and ``MemoryS{13,11,9,7}-v0``, as
    MiniGrid.

    Args:
        size: side of the grid array (the largest room); odd, at least 7.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's Memory does not).
    """

    def __init__(
        self,
        size: int = 13,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ) -> None:
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < MIN_SIZE or size % 2 == 0:
            raise ValueError(f"Memory needs an odd size >= {MIN_SIZE}, got {size}")
        self.size = size

    def default_params(self) -> MemoryParams:
        """MiniGrid's defaults for this size: a fixed hallway, ``5 * size**2`` steps."""
        return MemoryParams(
            max_steps=jnp.asarray(5 * self.size**2, jnp.int32),
            room_size=jnp.asarray(self.size, jnp.int32),
            random_length=jnp.asarray(False),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``room_size`` in [7, size]."""
        return {
            "max_steps": (1, INT32_MAX),
            "room_size": (MIN_SIZE, self.size),
            "random_length": (0, 1),
        }

    def sample_level(self, key: PRNGKey, params: MemoryParams) -> GridLevel:
        """The start room, the hallways, the three objects and the agent, as MiniGrid's."""
        size = jnp.clip(params.room_size, MIN_SIZE, self.size)
        size = size - 1 + size % 2
        mid = size // 2
        length_key, agent_key, cue_key = jax.random.split(key, 3)
        end = jnp.where(
            params.random_length, jax.random.randint(length_key, (), 4, size - 2), size - 3
        )
        ys, xs = jnp.mgrid[0 : self.height, 0 : self.width]
        beside = (ys == mid - 1) | (ys == mid + 1)
        wall = ((ys == mid - 2) | (ys == mid + 2)) & (xs >= 1) & (xs <= 4)  # start room
        wall |= (xs == 4) & beside
        wall |= (xs >= 5) & (xs < end) & beside  # hallway
        wall |= ((xs == end) & (ys != mid)) | (xs == end + 2)  # split
        grid = room_grid(self.height, self.width, size)
        grid = jnp.where(wall[..., None], jnp.asarray(WALL_CELL), grid)
        cue_is_ball, upper_is_ball = jax.random.bernoulli(cue_key, 0.5, (2,))
        grid = grid.at[mid - 1, 1].set(_object(cue_is_ball))
        grid = grid.at[mid - 2, end + 1].set(_object(upper_is_ball))
        grid = grid.at[mid + 2, end + 1].set(_object(~upper_is_ball))
        agent_x = jax.random.randint(agent_key, (), 1, end + 1)
        return GridLevel(
            grid=grid,
            agent_pos=jnp.stack([agent_x, mid]).astype(jnp.int32),
            agent_dir=jnp.asarray(0, jnp.int32),
        )

    def transition(
        self, key: PRNGKey, state: GridState, action: Array, params: MemoryParams
    ) -> tuple[GridState, Array, Array]:
        """The engine's step with pickup as toggle, then MiniGrid's success and failure checks.

        The start room's object is the one key or ball of column 1, at row ``c - 1``; the agent
        has reached an end when it stands at row ``c - 1`` below a key or ball, or at row
        ``c + 1`` above one (only the split's cells qualify).
        """
        action = jnp.asarray(action, jnp.int32)
        action = jnp.where(action == Action.PICKUP, Action.TOGGLE, action)
        state, reward, terminated = super().transition(key, state, action, params)
        kinds = cell_types(state.grid)

        def is_object(kind: Array) -> Array:
            return (kind == Obj.KEY) | (kind == Obj.BALL)

        column = kinds[:, 1]
        cue_row = jnp.argmax(is_object(column))
        x, y = state.agent_pos[0], state.agent_pos[1]
        above = kinds[jnp.maximum(y - 1, 0), x]
        below = kinds[jnp.minimum(y + 1, self.height - 1), x]
        at_upper = (y == cue_row) & is_object(above)
        at_lower = (y == cue_row + 2) & is_object(below)
        reached = at_upper | at_lower
        success = reached & (jnp.where(at_upper, above, below) == column[cue_row])
        reward = jnp.where(
            success, goal_reward(state.time, params.max_steps), jnp.where(reached, 0.0, reward)
        )
        return state, reward, terminated | reached
