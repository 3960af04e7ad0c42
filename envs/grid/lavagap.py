"""LavaGap: cross a vertical strip of lava (or wall) through its one gap (MiniGrid's)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import EMPTY_CELL, LAVA_CELL, WALL_CELL
from curriculax.envs.grid.engine import GridEnv, GridLevel, place_goal, room_grid
from curriculax.types import Array, EnvParams, PRNGKey


@struct.dataclass
class LavaGapParams(EnvParams):
    """LavaGap's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``4 * size**2``).
        room_size: int32 [], room side including walls, in [5, size].
        lava: bool [], the strip is lava (deadly) rather than wall.
    """

    room_size: Array
    lava: Array


class LavaGap(GridEnv[LavaGapParams]):
    """Reach the goal in the far corner through the one gap of a vertical obstacle strip.

    Level distribution (as MiniGrid): agent at ``(1, 1)`` facing right, goal at the bottom-right
    corner, the strip at a random column in ``[2, room_size - 3]`` spanning the room's height, its
    gap at a random row in ``[1, room_size - 2]``. Registered as ``curriculax/LavaGapS{5,6,7}-v0``.

    Args:
        size: side of the grid array; at least 5.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's LavaGap does not).
    """

    def __init__(
        self,
        size: int = 7,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 5:
            raise ValueError(f"LavaGap needs size >= 5, got {size}")
        self.size = size

    def default_params(self) -> LavaGapParams:
        """MiniGrid's defaults: lava, ``4 * size**2`` steps."""
        return LavaGapParams(
            max_steps=jnp.asarray(4 * self.size**2, jnp.int32),
            room_size=jnp.asarray(self.size, jnp.int32),
            lava=jnp.asarray(True),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``room_size`` in [5, size]."""
        return {"max_steps": (1, INT32_MAX), "room_size": (5, self.size), "lava": (0, 1)}

    def sample_level(self, key: PRNGKey, params: LavaGapParams) -> GridLevel:
        """The room, the goal, the strip and its gap."""
        size = params.room_size
        column_key, row_key = jax.random.split(key)
        column = jax.random.randint(column_key, (), 2, size - 2)
        row = jax.random.randint(row_key, (), 1, size - 1)
        ys, xs = jnp.mgrid[0 : self.height, 0 : self.width]
        strip = (xs == column) & (ys >= 1) & (ys < size - 1) & (ys != row)
        obstacle = jnp.where(params.lava, jnp.asarray(LAVA_CELL), jnp.asarray(WALL_CELL))
        grid = room_grid(self.height, self.width, size)
        grid = jnp.where(strip[..., None], obstacle, grid)
        grid = grid.at[row, column].set(jnp.asarray(EMPTY_CELL))
        return GridLevel(
            grid=place_goal(grid, size),
            agent_pos=jnp.array([1, 1], jnp.int32),
            agent_dir=jnp.asarray(0, jnp.int32),
        )
