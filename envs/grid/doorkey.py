"""DoorKey: fetch the key, unlock the door in the dividing wall, reach the goal (MiniGrid's)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import WALL_CELL, Color, DoorState, Obj
from curriculax.envs.grid.engine import GridEnv, GridLevel, place_goal, random_cell, room_grid
from curriculax.types import Array, EnvParams, PRNGKey


@struct.dataclass
class DoorKeyParams(EnvParams):
    """DoorKey's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``10 * size**2``).
        room_size: int32 [], room side including walls, at most the grid's ``size``; the
            rest of the grid is wall.
    """

    room_size: Array


class DoorKey(GridEnv[DoorKeyParams]):
    """A room split by a wall with a locked yellow door; the yellow key lies on the agent's side.

    Level distribution (as MiniGrid): the wall at a random column in ``[2, size - 3]``, the door at
    a random row in ``[1, size - 3]``, the agent (random direction) and the key at random free
    cells left of the wall, the goal in the bottom-right corner. Registered as
    ``curriculax/DoorKey-{5x5,6x6,8x8,16x16}-v0``.

    Args:
        size: side of the grid array (the largest room); at least 5.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's DoorKey does not).
    """

    def __init__(
        self,
        size: int = 8,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ) -> None:
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 5:
            raise ValueError(f"DoorKey needs size >= 5 (room, wall and door), got {size}")
        self.size = size

    def default_params(self) -> DoorKeyParams:
        """The MiniGrid defaults for this size."""
        return DoorKeyParams(
            max_steps=jnp.asarray(10 * self.size**2, jnp.int32),
            room_size=jnp.asarray(self.size, jnp.int32),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``room_size`` in [5, size]; ``max_steps`` at least 1."""
        return {"max_steps": (1, INT32_MAX), "room_size": (5, self.size)}

    def sample_level(self, key: PRNGKey, params: DoorKeyParams) -> GridLevel:
        """Wall, door, key, agent and goal placed as MiniGrid places them."""
        size = params.room_size
        split_key, door_key, agent_key, dir_key, obj_key = jax.random.split(key, 5)
        grid = place_goal(room_grid(self.height, self.width, size), size)
        split = jax.random.randint(split_key, (), 2, size - 2)
        ys, xs = jnp.mgrid[0 : self.height, 0 : self.width]
        grid = jnp.where(((xs == split) & (ys < size))[..., None], jnp.asarray(WALL_CELL), grid)
        door_row = jax.random.randint(door_key, (), 1, size - 2)
        door = jnp.array([Obj.DOOR, Color.YELLOW, DoorState.LOCKED], jnp.uint8)
        grid = grid.at[door_row, split].set(door)
        left_free = (grid[..., 0] == Obj.EMPTY) & (xs < split)
        agent_pos = random_cell(agent_key, left_free)
        left_free = left_free.at[agent_pos[1], agent_pos[0]].set(False)
        key_pos = random_cell(obj_key, left_free)
        grid = grid.at[key_pos[1], key_pos[0]].set(jnp.array([Obj.KEY, Color.YELLOW, 0], jnp.uint8))
        return GridLevel(
            grid=grid,
            agent_pos=agent_pos,
            agent_dir=jax.random.randint(dir_key, (), 0, 4, dtype=jnp.int32),
        )
