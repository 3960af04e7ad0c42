"""Mazes for curriculum research: the UED random-walls maze and perfect mazes.

``Maze`` is the environment of the UED papers (PAIRED, PLR, ACCEL, SFL; JaxUED and minimax): a
13x13 grid whose edge acts as wall, with the agent, the goal and ``n_walls`` walls at random cells.
``PerfectMaze`` carves a maze with exactly one path between any two cells (randomised depth-first
search) of a size the params choose. Both support ACCEL's ``mutate_level``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import DIR_TO_VEC, EMPTY_CELL, GOAL_CELL, WALL_CELL, Obj
from curriculax.envs.grid.engine import GridEnv, GridLevel, random_cell
from curriculax.envs.grid.paths import reachable
from curriculax.types import Array, EnvParams, PRNGKey

#: Tries of rejection sampling before a ``solvable_only`` maze falls back to having no walls.
MAX_TRIES = 64


def _cells(flags: Array) -> Array:
    """uint8 [H, W, 3] grid from a bool [H, W] wall map."""
    return jnp.where(flags[..., None], jnp.asarray(WALL_CELL), jnp.asarray(EMPTY_CELL))


def walls_and_goal(walls: Array, goal: Array) -> Array:
    """uint8 [H, W, 3] grid: walls from a bool [H, W] map, the goal at ``goal`` ``(x, y)``."""
    return _cells(walls).at[goal[1], goal[0]].set(jnp.asarray(GOAL_CELL))


def walkable_cells(level: GridLevel) -> Array:
    """Bool [H, W]: the cells a maze's agent may stand on (empty, floor, the goal)."""
    kind = level.grid[..., 0]
    return (kind == Obj.EMPTY) | (kind == Obj.GOAL) | (kind == Obj.FLOOR)


def goal_cell(level: GridLevel) -> Array:
    """Int32 [2]: ``(x, y)`` of the maze's goal (``(0, 0)`` if it has none)."""
    kind = level.grid[..., 0]
    return jnp.argwhere(kind == Obj.GOAL, size=1, fill_value=0)[0, ::-1].astype(jnp.int32)


def is_solvable(level: GridLevel) -> Array:
    """Whether the goal can be reached from the agent's start (bool [])."""
    kind = level.grid[..., 0]
    return jnp.any(reachable(walkable_cells(level), level.agent_pos) & (kind == Obj.GOAL))


@struct.dataclass
class MazeParams(EnvParams):
    """The UED maze distribution.

    Attributes:
        max_steps: int32 [], episode length (250 in the UED papers).
        n_walls: int32 [], number of walls, in [0, size**2 - 2] (25 and 60 in the papers).
        solvable_only: bool [], redraw layouts in which the goal cannot be reached (up to
            ``MAX_TRIES`` times, then the walls are dropped). The papers' domain randomisation
            does not; the default keeps every level solvable.
    """

    n_walls: Array
    solvable_only: Array


class Maze(GridEnv[MazeParams]):
    """The UED maze: reach the goal among randomly placed walls.

    Level distribution: ``n_walls`` distinct wall cells, then the goal and the agent (random
    direction) on distinct free cells, uniformly. Registered as ``curriculax/Maze-v0`` (13x13,
    25 walls) and ``curriculax/Maze-60Walls-v0`` (60 walls).

    Args:
        size: side of the square grid (13 in the papers); its edge acts as wall.
        view_size: side of the egocentric view (5 in the papers).
        see_through_walls: skip occlusion.
    """

    def __init__(
        self,
        size: int = 13,
        view_size: int = 5,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        self.size = size

    def default_params(self) -> MazeParams:
        """25 walls, 250 steps, solvable levels only."""
        return MazeParams(
            max_steps=jnp.asarray(250, jnp.int32),
            n_walls=jnp.asarray(25, jnp.int32),
            solvable_only=jnp.asarray(True),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``n_walls`` in [0, size**2 - 2]."""
        return {
            "max_steps": (1, INT32_MAX),
            "n_walls": (0, self.size**2 - 2),
            "solvable_only": (0, 1),
        }

    def _draw(self, key: PRNGKey, n_walls: Array) -> GridLevel:
        order_key, goal_key, agent_key, dir_key = jax.random.split(key, 4)
        rank = jax.random.permutation(order_key, self.size * self.size)
        walls = (rank < n_walls).reshape(self.size, self.size)
        goal = random_cell(goal_key, ~walls)
        free = (~walls).at[goal[1], goal[0]].set(False)
        return GridLevel(
            grid=walls_and_goal(walls, goal),
            agent_pos=random_cell(agent_key, free),
            agent_dir=jax.random.randint(dir_key, (), 0, 4, dtype=jnp.int32),
        )

    def sample_level(self, key: PRNGKey, params: MazeParams) -> GridLevel:
        """A random layout; redrawn until solvable when ``params.solvable_only``."""

        def retry(carry):
            tries, key, _ = carry
            key, sub = jax.random.split(key)
            return tries + 1, key, self._draw(sub, params.n_walls)

        def unsolved(carry):
            tries, _, level = carry
            return params.solvable_only & (tries < MAX_TRIES) & ~is_solvable(level)

        key, sub = jax.random.split(key)
        _, key, level = jax.lax.while_loop(
            unsolved, retry, (jnp.asarray(1), key, self._draw(sub, params.n_walls))
        )
        give_up = params.solvable_only & ~is_solvable(level)
        return jax.lax.cond(give_up, lambda: self._draw(key, 0), lambda: level)

    def mutate_level(self, key: PRNGKey, level: GridLevel, params: MazeParams) -> GridLevel:
        """ACCEL's edit (see ``mutate_maze``)."""
        return mutate_maze(key, level)

    def editor(self, num_walls: int = 50) -> Any:
        """PAIRED's adversary MDP for this maze (``editor.MazeEditor``; PAIRED's budget: 50)."""
        from curriculax.envs.grid.editor import MazeEditor

        return MazeEditor(self.size, num_walls)


def mutate_maze(key: PRNGKey, level: GridLevel, num_edits: int = 3) -> GridLevel:
    """ACCEL's maze mutation: flip a few cells between wall and empty, maybe move the goal.

    ``num_edits`` random cells are flipped, and with probability 1/2 the goal moves to a random
    free cell. Cells under the agent and the goal are never turned into walls, so the level stays
    valid (it may become unsolvable, as in ACCEL: the curriculum's scores sort that out).
    """
    kind = level.grid[..., 0]
    height, width = kind.shape
    edit_keys = jax.random.split(key, num_edits + 2)
    walls = kind == Obj.WALL
    goal = goal_cell(level)
    protected = jnp.zeros_like(walls).at[level.agent_pos[1], level.agent_pos[0]].set(True)
    protected = protected.at[goal[1], goal[0]].set(True)
    for edit_key in edit_keys[:num_edits]:
        cell = jax.random.randint(edit_key, (2,), 0, jnp.array([width, height]))
        flip = ~protected[cell[1], cell[0]]
        walls = walls.at[cell[1], cell[0]].set(walls[cell[1], cell[0]] ^ flip)
    move = jax.random.bernoulli(edit_keys[-2])
    free = ~walls.at[level.agent_pos[1], level.agent_pos[0]].set(True)
    new_goal = jnp.where(move, random_cell(edit_keys[-1], free), goal)
    return level.replace(grid=walls_and_goal(walls, new_goal))


@struct.dataclass
class PerfectMazeParams(EnvParams):
    """Perfect-maze distribution.

    Attributes:
        max_steps: int32 [], episode length.
        maze_size: int32 [], side of the maze including its outer wall; odd, in [5, size].
    """

    maze_size: Array


class PerfectMaze(GridEnv[PerfectMazeParams]):
    """A perfect maze (one path between any two cells) carved by randomised depth-first search.

    Corridors run through the odd coordinates inside an outer wall of side ``maze_size``; the
    agent (random direction) and the goal stand on two distinct random corridor cells. Registered
    as ``curriculax/PerfectMaze-{15x15,21x21,31x31}-v0``.

    Args:
        size: side of the grid array; odd, at least 5.
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion.
    """

    def __init__(
        self,
        size: int = 15,
        view_size: int = 5,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 5 or size % 2 == 0:
            raise ValueError(f"PerfectMaze needs an odd size >= 5, got {size}")
        self.size = size

    def default_params(self) -> PerfectMazeParams:
        """The full grid as maze, ``2 * size**2`` steps."""
        return PerfectMazeParams(
            max_steps=jnp.asarray(2 * self.size**2, jnp.int32),
            maze_size=jnp.asarray(self.size, jnp.int32),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``maze_size`` in [5, size] (and odd: even values are rounded down)."""
        return {"max_steps": (1, INT32_MAX), "maze_size": (5, self.size)}

    def sample_level(self, key: PRNGKey, params: PerfectMazeParams) -> GridLevel:
        """Carve the maze, then place the goal and the agent."""
        cells = (self.size - 1) // 2  # cells per side in the largest maze
        n = (params.maze_size - 1) // 2  # cells per side in this maze
        start_key, walk_key, goal_key, agent_key, dir_key = jax.random.split(key, 5)
        start = jax.random.randint(start_key, (2,), 0, n)
        moves = jnp.asarray(DIR_TO_VEC)
        walls = (
            jnp.ones((self.size, self.size), bool).at[2 * start[1] + 1, 2 * start[0] + 1].set(False)
        )
        visited = jnp.zeros((cells, cells), bool).at[start[1], start[0]].set(True)
        stack = jnp.zeros((cells * cells, 2), jnp.int32).at[0].set(start)

        def step(i, carry):
            walls, visited, stack, depth = carry
            here = stack[jnp.maximum(depth - 1, 0)]
            nxt = here + moves
            inside = jnp.all((nxt >= 0) & (nxt < n), axis=1)
            clipped = jnp.clip(nxt, 0, cells - 1)
            open_ = inside & ~visited[clipped[:, 1], clipped[:, 0]] & (depth > 0)
            choice = jax.random.categorical(
                jax.random.fold_in(walk_key, i), jnp.where(open_, 0.0, -jnp.inf)
            )
            go = jnp.any(open_)
            target = clipped[choice]
            between = here + target + 1  # the wall cell between two neighbouring cells
            carved = walls.at[between[1], between[0]].set(False)
            carved = carved.at[2 * target[1] + 1, 2 * target[0] + 1].set(False)
            walls = jnp.where(go, carved, walls)
            visited = jnp.where(go, visited.at[target[1], target[0]].set(True), visited)
            stack = jnp.where(go, stack.at[depth].set(target), stack)
            depth = jnp.where(go, depth + 1, jnp.maximum(depth - 1, 0))
            return walls, visited, stack, depth

        walls, *_ = jax.lax.fori_loop(
            0, 2 * cells * cells, step, (walls, visited, stack, jnp.asarray(1))
        )
        ys, xs = np.mgrid[0 : self.size, 0 : self.size]
        corridor_cell = jnp.asarray((xs % 2 == 1) & (ys % 2 == 1))
        in_maze = (jnp.asarray(xs) < 2 * n + 1) & (jnp.asarray(ys) < 2 * n + 1)
        spots = corridor_cell & in_maze
        goal = random_cell(goal_key, spots)
        spots = spots.at[goal[1], goal[0]].set(False)
        return GridLevel(
            grid=walls_and_goal(walls, goal),
            agent_pos=random_cell(agent_key, spots),
            agent_dir=jax.random.randint(dir_key, (), 0, 4, dtype=jnp.int32),
        )

    def mutate_level(self, key: PRNGKey, level: GridLevel, params: PerfectMazeParams) -> GridLevel:
        """ACCEL's edit (see ``mutate_maze``); the maze may stop being perfect."""
        return mutate_maze(key, level)

    def editor(self, num_walls: int = 50) -> Any:
        """PAIRED's adversary MDP on this grid (``editor.MazeEditor``, budget ``num_walls``).

        The adversary places the agent, the goal and free-standing walls, as on the UED maze:
        its levels play here but are not perfect mazes (as ACCEL's edits need not be).
        """
        from curriculax.envs.grid.editor import MazeEditor

        return MazeEditor(self.size, num_walls)
