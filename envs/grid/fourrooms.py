"""FourRooms: four rooms joined by one gap in each inner wall (MiniGrid's ``FourRooms``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import EMPTY_CELL, GOAL_CELL, WALL_CELL, Obj
from curriculax.envs.grid.engine import GridEnv, GridLevel, random_cell
from curriculax.types import EnvParams, PRNGKey


@struct.dataclass
class FourRoomsParams(EnvParams):
    """FourRooms' task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: 100).
    """


class FourRooms(GridEnv[FourRoomsParams]):
    """Reach a randomly placed goal in one of four rooms; the agent starts anywhere.

    Level distribution (as MiniGrid): outer wall, a vertical and a horizontal inner wall through
    the middle, each of the four half-walls with one gap at a random position; the agent (random
    direction) and then the goal at random free cells. Registered as
    ``curriculax/FourRooms-v0`` (19x19, 100 steps).

    Args:
        size: side of the grid (MiniGrid: 19); at least 7.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's FourRooms does not).
    """

    def __init__(
        self,
        size: int = 19,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 7:
            raise ValueError(f"FourRooms needs size >= 7, got {size}")
        self.size = size

    def default_params(self) -> FourRoomsParams:
        """MiniGrid's 100 steps."""
        return FourRoomsParams(max_steps=jnp.asarray(100, jnp.int32))

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``max_steps`` at least 1."""
        return {"max_steps": (1, INT32_MAX)}

    def sample_level(self, key: PRNGKey, params: FourRoomsParams) -> GridLevel:
        """Walls with four random gaps, then the agent, then the goal."""
        size, half = self.size, self.size // 2
        gap_keys = jax.random.split(key, 7)
        ys, xs = jnp.mgrid[0:size, 0:size]
        walls = (xs == 0) | (ys == 0) | (xs == size - 1) | (ys == size - 1)
        walls |= (xs == half) & (ys < 2 * half)
        walls |= (ys == half) & (xs < 2 * half)
        for i, (room, vertical) in enumerate([(0, True), (1, True), (0, False), (1, False)]):
            # a gap strictly inside the half-wall of room `room` (MiniGrid's rand_int(lo+1, hi))
            offset = jax.random.randint(gap_keys[i], (), room * half + 1, room * half + half)
            gap = jnp.array([half, offset]) if vertical else jnp.array([offset, half])
            walls = walls.at[gap[1], gap[0]].set(False)
        grid = jnp.where(walls[..., None], jnp.asarray(WALL_CELL), jnp.asarray(EMPTY_CELL))
        free = grid[..., 0] == Obj.EMPTY
        agent = random_cell(gap_keys[4], free)
        goal = random_cell(gap_keys[5], free.at[agent[1], agent[0]].set(False))
        return GridLevel(
            grid=grid.at[goal[1], goal[0]].set(jnp.asarray(GOAL_CELL)),
            agent_pos=agent,
            agent_dir=jax.random.randint(gap_keys[6], (), 0, 4, dtype=jnp.int32),
        )
