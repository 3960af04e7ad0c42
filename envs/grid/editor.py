"""The maze editor: the MDP in which PAIRED's adversary builds a level, one cell per step.

PAIRED (Dennis et al. 2020) trains an adversary policy whose episode is the construction of a
maze: its first action places the agent, its second the goal, and each of the next
``num_walls`` actions a wall; a wall on an occupied cell (the agent, the goal or a wall) changes
nothing, so the adversary chooses how many walls it uses, up to the budget. The finished level is
the UED maze's (``Maze``): the grid's edge acts as wall, every cell may be chosen.

Functional like the envs: ``reset() -> (obs, state)``, ``step(state, action) -> (obs, state,
done)``, ``level(state, key)``; one editor serves a whole batch under ``jax.vmap``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.envs.grid.constants import Obj
from curriculax.envs.grid.engine import GridLevel
from curriculax.envs.grid.maze import goal_cell, is_solvable, walkable_cells, walls_and_goal
from curriculax.envs.grid.paths import shortest_path
from curriculax.spaces import Box, Discrete
from curriculax.types import Array, PRNGKey

#: Where the agent and the goal are before they are placed.
UNPLACED = -1


@struct.dataclass
class EditorState:
    """A maze under construction.

    Attributes:
        walls: bool [size, size], wall cells, indexed ``[y, x]``.
        agent: int32 [2], the agent's cell ``(x, y)``, ``UNPLACED`` until the first action.
        goal: int32 [2], the goal's cell, ``UNPLACED`` until the second action.
        time: int32 [], actions taken.
    """

    walls: Array
    agent: Array
    goal: Array
    time: Array


class MazeEditor:
    """PAIRED's adversary MDP for the UED maze.

    Observation: float32 [size, size, 4], planes of walls, the agent, the goal and the episode's
    progress (every cell ``time / num_steps``), so that a feed-forward policy knows which piece
    it places. Action: a cell index ``y * size + x`` in ``[0, size**2)``; ``action_mask`` rules
    out the agent's cell for the goal (every other action is allowed; a goal chosen there anyway
    goes to the next cell).

    Args:
        size: the maze's side (13 for ``curriculax/Maze-v0``).
        num_walls: the wall budget (PAIRED's maze: 50), in ``[0, size**2 - 2]``.

    Raises:
        ValueError: on a size below 2 or a budget outside its range.
    """

    def __init__(self, size: int, num_walls: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise ValueError(f"MazeEditor.size must be an int >= 2, got {size!r}")
        top = size * size - 2
        if isinstance(num_walls, bool) or not isinstance(num_walls, int):
            raise ValueError(f"MazeEditor.num_walls must be an int, got {num_walls!r}")
        if not 0 <= num_walls <= top:
            raise ValueError(f"MazeEditor.num_walls must be in [0, {top}], got {num_walls}")
        self.size = size
        self.num_walls = num_walls

    def __repr__(self) -> str:
        return f"MazeEditor(size={self.size}, num_walls={self.num_walls})"

    @property
    def num_steps(self) -> int:
        """Actions per level: the agent, the goal, then the wall budget."""
        return self.num_walls + 2

    def observation_space(self) -> Box:
        """float32 [size, size, 4] in [0, 1]."""
        return Box(0.0, 1.0, (self.size, self.size, 4), np.float32)

    def action_space(self) -> Discrete:
        """One cell per action: ``size**2`` choices."""
        return Discrete(self.size * self.size)

    def reset(self) -> tuple[Array, EditorState]:
        """An empty grid, nothing placed."""
        state = EditorState(
            walls=jnp.zeros((self.size, self.size), bool),
            agent=jnp.full(2, UNPLACED, jnp.int32),
            goal=jnp.full(2, UNPLACED, jnp.int32),
            time=jnp.asarray(0, jnp.int32),
        )
        return self.observe(state), state

    def step(self, state: EditorState, action: Array) -> tuple[Array, EditorState, Array]:
        """Places the piece of this step on cell ``action``.

        Args:
            state: the maze so far.
            action: int32 [], a cell index; clipped into range.

        Returns:
            ``(obs, state, done)``; ``done`` (bool []) once the budget is spent. Steps after
            that change nothing.
        """
        index = jnp.clip(jnp.asarray(action, jnp.int32), 0, self.size * self.size - 1)
        cell = jnp.stack([index % self.size, index // self.size]).astype(jnp.int32)
        running = state.time < self.num_steps
        on_agent = jnp.all(cell == state.agent)
        on_goal = jnp.all(cell == state.goal)
        # a goal chosen on the agent (an action the mask rules out) goes to the next cell
        beside = (index + 1) % (self.size * self.size)
        beside = jnp.stack([beside % self.size, beside // self.size]).astype(jnp.int32)
        place_agent = running & (state.time == 0)
        place_goal = running & (state.time == 1)
        place_wall = running & (state.time >= 2) & ~on_agent & ~on_goal
        state = state.replace(
            agent=jnp.where(place_agent, cell, state.agent),
            goal=jnp.where(place_goal, jnp.where(on_agent, beside, cell), state.goal),
            walls=state.walls.at[cell[1], cell[0]].set(state.walls[cell[1], cell[0]] | place_wall),
            time=state.time + running.astype(jnp.int32),
        )
        return self.observe(state), state, state.time >= self.num_steps

    def action_mask(self, state: EditorState) -> Array:
        """Bool [size**2]: the goal may not go on the agent; every other choice is allowed."""
        cells = jnp.arange(self.size * self.size)
        agent_index = state.agent[1] * self.size + state.agent[0]
        return ~((state.time == 1) & (cells == agent_index))

    def observe(self, state: EditorState) -> Array:
        """float32 [size, size, 4]: walls, agent, goal, progress."""
        rows = jnp.arange(self.size)[:, None]
        cols = jnp.arange(self.size)[None, :]
        agent = (rows == state.agent[1]) & (cols == state.agent[0])
        goal = (rows == state.goal[1]) & (cols == state.goal[0])
        progress = jnp.full((self.size, self.size), state.time / self.num_steps)
        planes = [state.walls, agent, goal, progress]
        return jnp.stack([p.astype(jnp.float32) for p in planes], axis=-1)

    def level(self, state: EditorState, key: PRNGKey) -> tuple[GridLevel, Array]:
        """The maze built so far, with a random start direction, and whether it is solvable.

        Returns:
            ``(level, solvable)``: the UED maze's level (a piece not yet placed sits on cell
            ``(0, 0)``; a finished edit places both) and bool [], whether the goal can be
            reached from the start.
        """
        agent = jnp.maximum(state.agent, 0)
        goal = jnp.maximum(state.goal, 0)
        level = GridLevel(
            grid=walls_and_goal(state.walls, goal),
            agent_pos=agent,
            agent_dir=jax.random.randint(key, (), 0, 4, dtype=jnp.int32),
        )
        return level, is_solvable(level)

    def statistics(self, level: GridLevel) -> dict[str, Array]:
        """What a built maze is like: float32 scalars.

        Returns:
            ``walls`` (their count) and ``path_length`` (steps of the shortest path from the
            agent to the goal, -1 when there is none).
        """
        path = shortest_path(walkable_cells(level), level.agent_pos, goal_cell(level))
        return {
            "walls": jnp.sum(level.grid[..., 0] == Obj.WALL).astype(jnp.float32),
            "path_length": path.astype(jnp.float32),
        }
