"""Crossings: rivers of lava or wall, one opening each on the way (MiniGrid's ``CrossingEnv``)."""

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
class CrossingParams(EnvParams):
    """Crossing's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``4 * size**2``).
        num_crossings: int32 [], rivers, in [0, size - 3] (MiniGrid: 1, 2, 3 at size 9; 5 at 11).
        lava: bool [], rivers of lava (LavaCrossing) rather than wall (SimpleCrossing).
    """

    num_crossings: Array
    lava: Array


class Crossing(GridEnv[CrossingParams]):
    """Reach the far corner across rivers, each with one opening on a monotone path.

    Level distribution (as MiniGrid): rivers drawn without replacement from the vertical lines
    ``x`` and horizontal lines ``y`` at even coordinates in ``[2, size - 3]``; a random monotone
    path of moves right and down from the top-left room to the bottom-right one gets one opening
    per river it crosses, at a random position along the room it leaves. Agent at ``(1, 1)``
    facing right, goal at the bottom-right corner. Registered as
    ``curriculax/LavaCrossingS9N{1,2,3}-v0``, ``LavaCrossingS11N5-v0``,
    ``SimpleCrossingS9N{1,2,3}-v0`` and ``SimpleCrossingS11N5-v0``.

    Args:
        size: side of the grid; odd, at least 5.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's Crossing does not).
    """

    def __init__(
        self,
        size: int = 9,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 5 or size % 2 == 0:
            raise ValueError(f"Crossing needs an odd size >= 5, got {size}")
        self.size = size
        self.lines = (size - 3) // 2  # candidate rivers per orientation

    def default_params(self) -> CrossingParams:
        """One lava river, ``4 * size**2`` steps."""
        return CrossingParams(
            max_steps=jnp.asarray(4 * self.size**2, jnp.int32),
            num_crossings=jnp.asarray(1, jnp.int32),
            lava=jnp.asarray(True),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``num_crossings`` in [0, 2 * ((size - 3) // 2)]."""
        return {
            "max_steps": (1, INT32_MAX),
            "num_crossings": (0, 2 * self.lines),
            "lava": (0, 1),
        }

    def sample_level(self, key: PRNGKey, params: CrossingParams) -> GridLevel:
        """Rivers, then the openings along a random monotone path."""
        size, lines = self.size, self.lines
        pick_key, order_key, open_key = jax.random.split(key, 3)
        chosen = jax.random.permutation(pick_key, 2 * lines) < params.num_crossings
        vertical, horizontal = chosen[:lines], chosen[lines:]  # rivers at x / at y
        position = 2 + 2 * jnp.arange(lines)
        ys, xs = jnp.mgrid[0:size, 0:size]
        inner = (xs >= 1) & (xs < size - 1) & (ys >= 1) & (ys < size - 1)
        river = jnp.any(vertical[:, None, None] & (xs[None] == position[:, None, None]), 0)
        river |= jnp.any(horizontal[:, None, None] & (ys[None] == position[:, None, None]), 0)
        river &= inner

        def limits(mask: Array) -> Array:
            # [lines + 2]: 0, the chosen positions in order, then size - 1 padding
            inside = jnp.sort(jnp.where(mask, position, size - 1))
            return jnp.concatenate([jnp.zeros(1, jnp.int32), inside, jnp.full(1, size - 1)])

        limit_x, limit_y = limits(vertical), limits(horizontal)
        n_right, n_down = vertical.sum(), horizontal.sum()
        slot = jnp.arange(2 * lines)
        move = jnp.where(slot < n_right, 0, jnp.where(slot < n_right + n_down, 1, 2))
        shuffle = jnp.where(move < 2, jax.random.uniform(order_key, (2 * lines,)), 2.0)
        move = move[jnp.argsort(shuffle)]  # the real moves in random order, padding last

        opening = jnp.zeros((size, size), bool)
        room_x = room_y = jnp.asarray(0)
        for t, step_key in enumerate(jax.random.split(open_key, 2 * lines)):
            across = jax.random.randint(
                step_key,
                (),
                jnp.where(move[t] == 0, limit_y[room_y], limit_x[room_x]) + 1,
                jnp.where(move[t] == 0, limit_y[room_y + 1], limit_x[room_x + 1]),
            )
            x = jnp.where(move[t] == 0, limit_x[room_x + 1], across)
            y = jnp.where(move[t] == 0, across, limit_y[room_y + 1])
            opening = opening.at[y, x].set(opening[y, x] | (move[t] < 2))
            room_x = room_x + (move[t] == 0)
            room_y = room_y + (move[t] == 1)

        obstacle = jnp.where(params.lava, jnp.asarray(LAVA_CELL), jnp.asarray(WALL_CELL))
        grid = room_grid(size, size, size)
        grid = jnp.where((river & ~opening)[..., None], obstacle, grid)
        grid = jnp.where((river & opening)[..., None], jnp.asarray(EMPTY_CELL), grid)
        return GridLevel(
            grid=place_goal(grid, size),
            agent_pos=jnp.array([1, 1], jnp.int32),
            agent_dir=jnp.asarray(0, jnp.int32),
        )
