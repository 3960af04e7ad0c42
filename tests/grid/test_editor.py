"""PAIRED's maze editor: the adversary's MDP builds valid UED-maze levels, solvable or flagged."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.envs.grid.constants import Obj
from curriculax.envs.grid.editor import UNPLACED, MazeEditor

SIZE = 13


def _index(x: int, y: int) -> int:
    return y * SIZE + x


def _bfs_distance(walls: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> int:
    """Plain breadth-first search over free cells: steps to the goal, -1 if unreachable.

    The reference for the editor's ``solvable`` and ``path_length``.
    """
    seen, queue = {start: 0}, collections.deque([start])
    while queue:
        x, y = queue.popleft()
        if (x, y) == goal:
            return seen[(x, y)]
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            inside = 0 <= nx < walls.shape[1] and 0 <= ny < walls.shape[0]
            if inside and not walls[ny, nx] and (nx, ny) not in seen:
                seen[(nx, ny)] = seen[(x, y)] + 1
                queue.append((nx, ny))
    return -1


def test_the_agent_then_the_goal_then_walls_and_occupied_cells_take_no_wall():
    editor = MazeEditor(SIZE, num_walls=4)
    step = jax.jit(editor.step)
    obs, state = editor.reset()
    assert obs.shape == (SIZE, SIZE, 4) and not obs[..., :3].any()
    actions = [_index(1, 1), _index(5, 5), _index(1, 1), _index(2, 1), _index(2, 1), _index(5, 5)]
    dones = []
    for action in actions:
        obs, state, done = step(state, action)
        dones.append(bool(done))
    assert dones == [False, False, False, False, False, True]  # 2 + 4 actions
    assert state.agent.tolist() == [1, 1] and state.goal.tolist() == [5, 5]
    # walls on the agent, on a wall and on the goal change nothing: one wall in four tries
    assert np.argwhere(np.asarray(state.walls)).tolist() == [[1, 2]]
    assert obs[1, 1, 1] == 1 and obs[5, 5, 2] == 1 and obs[1, 2, 0] == 1
    np.testing.assert_allclose(obs[..., 3], 1.0)  # progress: the budget is spent
    after, _, done = step(state, _index(7, 7))  # a step after the end changes nothing
    assert bool(done) and np.array_equal(after, obs)


def test_the_goal_cannot_land_on_the_agent():
    editor = MazeEditor(SIZE, num_walls=0)
    _, state = editor.reset()
    _, state, _ = editor.step(state, _index(3, 4))
    mask = np.asarray(editor.action_mask(state))
    assert not mask[_index(3, 4)] and mask.sum() == SIZE * SIZE - 1
    _, forced, _ = editor.step(state, _index(3, 4))  # unmasked anyway: the next cell
    assert forced.goal.tolist() == [4, 4]


def test_random_edits_build_valid_levels_and_flag_the_unsolvable_ones():
    env, params = curriculax.make("curriculax/Maze-v0")
    editor = env.editor(num_walls=60)
    batch = 256

    def build(key):
        _, state = editor.reset()

        def one(state, key):
            mask = editor.action_mask(state)
            action = jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf))
            return editor.step(state, action)[1], None

        pick_key, dir_key = jax.random.split(key)
        state, _ = jax.lax.scan(one, state, jax.random.split(pick_key, editor.num_steps))
        level, solvable = editor.level(state, dir_key)
        return state, level, solvable, editor.statistics(level)

    keys = jax.random.split(jax.random.key(0), batch)
    states, levels, solvable, stats = jax.device_get(jax.jit(jax.vmap(build))(keys))
    kinds = levels.grid[..., 0]
    for i in range(batch):
        ax, ay = levels.agent_pos[i]
        gx, gy = states.goal[i]
        assert (ax, ay) != (gx, gy) and UNPLACED not in (ax, ay, gx, gy)
        assert kinds[i, ay, ax] == Obj.EMPTY and kinds[i, gy, gx] == Obj.GOAL
        assert (kinds[i] == Obj.GOAL).sum() == 1
        walls = kinds[i] == Obj.WALL
        assert 0 < walls.sum() <= 60
        distance = _bfs_distance(walls, (ax, ay), (gx, gy))
        assert bool(solvable[i]) == (distance >= 0)
        assert stats["path_length"][i] == distance and stats["walls"][i] == walls.sum()
    assert 0 < solvable.sum() < batch  # both kinds occur at 60 walls: the flag is a real check
    # the levels play in the maze itself
    level = jax.tree.map(lambda x: x[0], levels)
    _, state = jax.jit(env.reset_to_level)(jax.random.key(1), level, params)
    assert np.asarray(state.agent_pos).tolist() == np.asarray(level.agent_pos).tolist()


@pytest.mark.parametrize(
    ("size", "num_walls", "message"),
    [(13, 168, r"num_walls must be in \[0, 167\]"), (13, -1, "num_walls"), (1, 0, "size"),
     (13, 2.0, "must be an int"), (13, True, "must be an int")],
)  # fmt: skip
def test_bad_editor_options_are_refused(size, num_walls, message):
    with pytest.raises(ValueError, match=message):
        MazeEditor(size, num_walls)


def test_envs_without_an_editor_say_which_have_one():
    env, _ = curriculax.make("curriculax/DoorKey-5x5-v0")
    with pytest.raises(NotImplementedError, match="curriculax/Maze-v0"):
        env.editor()
