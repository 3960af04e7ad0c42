"""Empty: an empty walled room with the goal in the far corner (MiniGrid's ``Empty``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import Obj
from curriculax.envs.grid.engine import GridEnv, GridLevel, place_goal, random_cell, room_grid
from curriculax.types import Array, EnvParams, PRNGKey


@struct.dataclass
class EmptyParams(EnvParams):
    """Empty's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``4 * size**2``).
        room_size: int32 [], room side including walls, at most the grid's ``size``; the
            rest of the grid is wall.
        random_start: bool [], start at a uniformly random free cell and direction instead of
            ``(1, 1)`` facing right (MiniGrid's ``Empty-Random``).
    """

    room_size: Array
    random_start: Array


class Empty(GridEnv[EmptyParams]):
    """An empty room; the agent must reach the green goal square in the bottom-right corner.

    Registered as ``curriculax/Empty-{5x5,6x6,8x8,16x16}-v0`` and
    ``curriculax/Empty-Random-{5x5,6x6}-v0``, as in MiniGrid.

    Args:
        size: side of the grid array (the largest room); at least 4.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's Empty does).
    """

    def __init__(
        self,
        size: int = 8,
        view_size: int = 7,
        see_through_walls: bool = True,
        **grid_config: Any,
    ) -> None:
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 4:
            raise ValueError(f"Empty needs size >= 4 (start and goal apart), got {size}")
        self.size = size

    def default_params(self) -> EmptyParams:
        """The MiniGrid defaults for this size."""
        return EmptyParams(
            max_steps=jnp.asarray(4 * self.size**2, jnp.int32),
            room_size=jnp.asarray(self.size, jnp.int32),
            random_start=jnp.asarray(False),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``room_size`` in [4, size]; ``max_steps`` at least 1."""
        return {"max_steps": (1, INT32_MAX), "room_size": (4, self.size), "random_start": (0, 1)}

    def sample_level(self, key: PRNGKey, params: EmptyParams) -> GridLevel:
        """The room, the goal, and the start (fixed or random)."""
        grid = place_goal(room_grid(self.height, self.width, params.room_size), params.room_size)
        pos_key, dir_key = jax.random.split(key)
        random_pos = random_cell(pos_key, grid[..., 0] == Obj.EMPTY)
        random_dir = jax.random.randint(dir_key, (), 0, 4, dtype=jnp.int32)
        return GridLevel(
            grid=grid,
            agent_pos=jnp.where(params.random_start, random_pos, jnp.array([1, 1], jnp.int32)),
            agent_dir=jnp.where(params.random_start, random_dir, 0).astype(jnp.int32),
        )
