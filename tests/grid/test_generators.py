"""Property tests over many sampled levels of every grid generator: valid and solvable."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bfs import DOOR, EMPTY, GOAL, KEY, WALL, shortest_path

import curriculax
from curriculax.envs.grid.maze import mutate_maze

LEVELS = 300
#: MultiRoom's room-count check is a rate (> 0.99): it needs more levels to be stable.
MULTIROOM_LEVELS = 1000


def _sample(env_id, count=LEVELS, seed=0, **config):
    env, params = curriculax.make(env_id, **config)
    keys = jax.random.split(jax.random.key(seed), count)
    levels = jax.jit(jax.vmap(env.sample_level, (0, None)))(keys, params)
    return env, params, jax.device_get(levels)


def _check_common(levels):
    kinds = levels.grid[..., 0]
    for i in range(len(kinds)):
        x, y = levels.agent_pos[i]
        assert kinds[i, y, x] == EMPTY, f"level {i}: agent starts on {kinds[i, y, x]}"
        assert (kinds[i] == GOAL).sum() == 1, f"level {i}: not exactly one goal"
        assert 0 <= levels.agent_dir[i] < 4


@pytest.mark.parametrize("env_id", ["Empty-8x8-v0", "Empty-Random-6x6-v0", "Empty-16x16-v0"])
def test_empty_levels_are_solvable(env_id):
    _, _, levels = _sample(env_id)
    _check_common(levels)
    for i in range(LEVELS):
        assert shortest_path(levels.grid[i, ..., 0], levels.agent_pos[i]) is not None


@pytest.mark.parametrize("env_id", ["DoorKey-5x5-v0", "DoorKey-8x8-v0", "DoorKey-16x16-v0"])
def test_doorkey_levels_have_reachable_key_and_a_path_through_the_door(env_id):
    _, _, levels = _sample(env_id)
    _check_common(levels)
    for i in range(LEVELS):
        kinds = levels.grid[i, ..., 0]
        assert (kinds == KEY).sum() == 1 and (kinds == DOOR).sum() == 1
        assert shortest_path(kinds, levels.agent_pos[i], goal_kind=KEY) is not None
        assert shortest_path(kinds, levels.agent_pos[i]) is None  # the locked door blocks
        with_door_open = shortest_path(kinds, levels.agent_pos[i], passable={EMPTY, KEY, DOOR})
        assert with_door_open is not None


@pytest.mark.parametrize(
    "env_id",
    [
        "FourRooms-v0",
        "LavaGapS5-v0",
        "LavaGapS7-v0",
        "LavaCrossingS9N3-v0",
        "SimpleCrossingS11N5-v0",
    ],
)
def test_minigrid_style_levels_are_solvable_around_lava_and_walls(env_id):
    _, _, levels = _sample(env_id)
    _check_common(levels)
    for i in range(LEVELS):
        assert shortest_path(levels.grid[i, ..., 0], levels.agent_pos[i]) is not None, i


def test_crossing_draws_the_requested_number_of_rivers():
    _, _, levels = _sample("LavaCrossingS11N5-v0", count=200)
    kinds = levels.grid[..., 0]
    inner = kinds[:, 1:-1, 1:-1] == 9  # lava
    rivers = (inner.sum(axis=1) >= 7).sum(axis=1) + (inner.sum(axis=2) >= 7).sum(axis=1)
    assert (rivers == 5).all()


@pytest.mark.parametrize("n_walls", [0, 25, 60, 100])
def test_ued_maze_levels_are_solvable_with_exactly_n_walls(n_walls):
    _, _, levels = _sample("Maze-v0", n_walls=n_walls)
    _check_common(levels)
    walls = (levels.grid[..., 0] == WALL).sum(axis=(1, 2))
    # with 100 walls a level may exhaust its tries and fall back to no walls
    assert (walls == n_walls).mean() > (0.98 if n_walls <= 60 else 0.5)
    assert set(np.unique(walls)) <= {0, n_walls}
    for i in range(LEVELS):
        assert shortest_path(levels.grid[i, ..., 0], levels.agent_pos[i]) is not None, i


def test_ued_maze_without_the_solvable_filter_is_plain_domain_randomisation():
    _, _, levels = _sample("Maze-60Walls-v0", solvable_only=False)
    unsolvable = sum(
        shortest_path(levels.grid[i, ..., 0], levels.agent_pos[i]) is None for i in range(LEVELS)
    )
    assert 0 < unsolvable < LEVELS // 2
    assert ((levels.grid[..., 0] == WALL).sum(axis=(1, 2)) == 60).all()


@pytest.mark.parametrize("maze_size", [5, 9, 15])
def test_perfect_mazes_are_spanning_trees(maze_size):
    _, _, levels = _sample("PerfectMaze-15x15-v0", maze_size=maze_size)
    _check_common(levels)
    n = (maze_size - 1) // 2
    for i in range(LEVELS):
        kinds = levels.grid[i, ..., 0]
        open_cells = kinds != WALL
        # n*n rooms joined by n*n - 1 passages, all inside the maze's outer wall: a tree
        assert open_cells.sum() == n * n + n * n - 1
        assert not open_cells[maze_size - 1 :, :].any() and not open_cells[:, maze_size - 1 :].any()
        assert shortest_path(kinds, levels.agent_pos[i]) is not None


def test_mutations_keep_maze_levels_valid():
    env, params, levels = _sample("Maze-v0", count=300)
    keys = jax.random.split(jax.random.key(1), 300)
    mutated = jax.device_get(
        jax.jit(jax.vmap(env.mutate_level, (0, 0, None)))(keys, levels, params)
    )
    _check_common(mutated)
    before = (levels.grid[..., 0] == WALL).sum(axis=(1, 2))
    after = (mutated.grid[..., 0] == WALL).sum(axis=(1, 2))
    assert (np.abs(after - before) <= 3).all() and (after != before).any()
    np.testing.assert_array_equal(mutated.agent_pos, levels.agent_pos)
    moved = (mutated.grid[..., 0] == GOAL) != (levels.grid[..., 0] == GOAL)
    assert 0.3 < moved.any(axis=(1, 2)).mean() < 0.7  # the goal moves half the time


def test_mutation_is_pure_and_key_dependent():
    _, _, levels = _sample("Maze-v0", count=1)
    level = jax.tree.map(lambda x: jnp.asarray(x[0]), levels)
    a = mutate_maze(jax.random.key(0), level, num_edits=5)
    b = mutate_maze(jax.random.key(0), level, num_edits=5)
    c = mutate_maze(jax.random.key(1), level, num_edits=5)
    np.testing.assert_array_equal(a.grid, b.grid)
    assert not np.array_equal(a.grid, c.grid)


MULTIROOM_IDS = [f"MultiRoom-{n}" for n in ("N2-S4-v0", "N4-S5-v0", "N4-S5-v1", "N6-v0")]
_MULTIROOM_SAMPLER = []


def _multiroom_sampler():
    """One compiled sampler for every MultiRoom id (same static config; params per level)."""
    if not _MULTIROOM_SAMPLER:
        env, _ = curriculax.make("MultiRoom-N6-v0")
        _MULTIROOM_SAMPLER.extend([env, jax.jit(jax.vmap(env.sample_level))])
    return _MULTIROOM_SAMPLER


def _sample_multiroom(params, count=LEVELS, seed=0):
    _, sample = _multiroom_sampler()
    batched = jax.tree.map(lambda x: jnp.broadcast_to(x, (count, *jnp.shape(x))), params)
    return jax.device_get(sample(jax.random.split(jax.random.key(seed), count), batched))


def _walk_distances(kinds, start, passable):
    """BFS steps from ``start`` (x, y) to every cell reachable through ``passable`` kinds."""
    dist = np.full(kinds.shape, -1)
    dist[start[1], start[0]] = 0
    frontier = [tuple(start)]
    while frontier:
        nxt = []
        for x, y in frontier:
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                inside = 0 <= nx < kinds.shape[1] and 0 <= ny < kinds.shape[0]
                if inside and dist[ny, nx] < 0 and kinds[ny, nx] in passable:
                    dist[ny, nx] = dist[y, x] + 1
                    nxt.append((nx, ny))
        frontier = nxt
    return dist


@pytest.mark.parametrize("env_id", MULTIROOM_IDS)
def test_multiroom_levels_are_chains_of_rooms_behind_closed_doors(env_id):
    env, params = curriculax.make(env_id)
    assert (env.size, env.max_rooms) == (_multiroom_sampler()[0].size, 6)
    levels = _sample_multiroom(params, count=MULTIROOM_LEVELS)
    _check_common(levels)
    rooms = int(params.num_rooms)
    full = 0
    for i in range(MULTIROOM_LEVELS):
        grid, start = levels.grid[i], levels.agent_pos[i]
        kinds = grid[..., 0]
        doors = np.argwhere(kinds == DOOR)  # (y, x)
        full += len(doors) == rooms - 1
        assert 1 <= len(doors) + 1 <= rooms, f"level {i}: {len(doors)} doors"
        assert (grid[kinds == DOOR][:, 2] == 1).all(), f"level {i}: a door is not closed"
        assert shortest_path(kinds, start, passable={EMPTY, DOOR}) is not None, i
        assert shortest_path(kinds, start) is None, f"level {i}: goal reachable without a door"
        # along the chain each door is further from the agent than the one before it
        dist = _walk_distances(kinds, start, {EMPTY, DOOR, GOAL})
        order = np.argsort(dist[doors[:, 0], doors[:, 1]])
        assert (dist[doors[:, 0], doors[:, 1]] > 0).all(), f"level {i}: a door is unreachable"
        colours = grid[doors[order, 0], doors[order, 1], 1]
        assert (np.diff(colours.astype(int)) != 0).all(), f"level {i}: doors {colours}"
    assert full / MULTIROOM_LEVELS > 0.99, (
        f"{env_id}: {full / MULTIROOM_LEVELS:.3f} of levels have every room"
    )


def test_multiroom_room_count_is_a_traced_param_under_vmap():
    _, params = curriculax.make("MultiRoom-N6-v0")
    rooms = jnp.tile(jnp.array([2, 4], jnp.int32), LEVELS // 2)  # same shapes: no recompile
    batch = jax.tree.map(lambda x: jnp.broadcast_to(x, (LEVELS, *jnp.shape(x))), params)
    batch = batch.replace(num_rooms=rooms, max_steps=20 * rooms)
    _, sample = _multiroom_sampler()
    levels = jax.device_get(sample(jax.random.split(jax.random.key(3), LEVELS), batch))
    _check_common(levels)
    doors = (levels.grid[..., 0] == DOOR).sum(axis=(1, 2))
    np.testing.assert_array_equal(doors, np.asarray(rooms) - 1)


BALL, LOCKED = 6, 2


def _keycorridor_checks(grid, start, direction, room_size, rows) -> None:
    """One KeyCorridor level: objects, the locked room, and every room reachable."""
    kinds = grid[..., 0]
    step = room_size - 1
    assert kinds[start[1], start[0]] == EMPTY and 0 <= direction < 4
    assert (kinds == KEY).sum() == 1 and (kinds == BALL).sum() == 1
    doors = kinds == DOOR
    locked = doors & (grid[..., 2] == LOCKED)
    assert locked.sum() == 1 and (grid[doors & ~locked][:, 2] == 1).all()  # the rest closed
    (ky, kx), (ly, lx), (by, bx) = (
        np.argwhere(m)[0] for m in (kinds == KEY, locked, kinds == BALL)
    )
    assert grid[ky, kx, 1] == grid[ly, lx, 1], "the key is not the locked door's colour"
    assert kx < step and bx > 2 * step and lx == 2 * step and by // step == ly // step
    # the agent starts in the corridor's middle room, not facing the locked door
    assert step <= start[0] <= 2 * step and start[1] // step in (rows // 2, rows // 2 + 1)
    dx, dy = [(1, 0), (0, 1), (-1, 0), (0, -1)][direction]
    assert (start[0] + dx, start[1] + dy) != (lx, ly)
    # outside the rooms in use everything is wall
    assert (kinds[rows * step + 1 :] == WALL).all() and (kinds[:, 3 * step + 1 :] == WALL).all()
    behind_lock = np.where(locked, WALL, kinds)
    assert shortest_path(behind_lock, start, goal_kind=KEY, passable={EMPTY, DOOR}) is not None
    assert shortest_path(behind_lock, start, goal_kind=BALL, passable={EMPTY, DOOR, KEY}) is None
    assert shortest_path(kinds, start, goal_kind=BALL, passable={EMPTY, DOOR, KEY}) is not None
    # connect_all: with every door open, every free cell of every room is reachable
    reach = _walk_distances(kinds, start, {EMPTY, DOOR, KEY, BALL}) >= 0
    np.testing.assert_array_equal(reach, kinds != WALL)


KEYCORRIDOR_IDS = [f"KeyCorridorS{s}-v0" for s in ("3R3", "6R3")]


@pytest.mark.parametrize("env_id", KEYCORRIDOR_IDS)
def test_keycorridor_levels_are_solvable_with_the_ball_behind_the_locked_door(env_id):
    _, params, levels = _sample(env_id)
    for i in range(LEVELS):
        _keycorridor_checks(
            levels.grid[i],
            levels.agent_pos[i],
            levels.agent_dir[i],
            int(params.room_size),
            int(params.num_rows),
        )
    # the key is drawn at every cell of every left-column room
    assert len({tuple(np.argwhere(g[..., 0] == KEY)[0]) for g in levels.grid}) == (
        (int(params.room_size) - 2) ** 2 * int(params.num_rows)
    )


def test_keycorridor_room_size_and_rows_are_traced_params_under_vmap():
    env, params = curriculax.make("KeyCorridorS6R3-v0")
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 7, LEVELS).astype(np.int32)
    rows = rng.integers(1, 4, LEVELS).astype(np.int32)
    batch = jax.tree.map(lambda x: jnp.broadcast_to(x, (LEVELS, *jnp.shape(x))), params)
    batch = batch.replace(room_size=jnp.asarray(sizes), num_rows=jnp.asarray(rows))
    keys = jax.random.split(jax.random.key(2), LEVELS)
    levels = jax.device_get(jax.jit(jax.vmap(env.sample_level))(keys, batch))
    for i in range(LEVELS):
        _keycorridor_checks(
            levels.grid[i], levels.agent_pos[i], levels.agent_dir[i], sizes[i], rows[i]
        )


@pytest.mark.parametrize(
    ("env_id", "size", "random_length"),
    [("MemoryS7-v0", 7, False), ("MemoryS13Random-v0", 13, True), ("MemoryS17Random-v0", 17, True)],
)
def test_memory_levels_have_both_ends_reachable_and_one_match(env_id, size, random_length):
    _, _, levels = _sample(env_id)
    mid = size // 2
    ends = set()
    for i in range(LEVELS):
        kinds, start = levels.grid[i, ..., 0], levels.agent_pos[i]
        assert kinds[start[1], start[0]] == EMPTY and start[1] == mid and levels.agent_dir[i] == 0
        objects = np.argwhere((kinds == KEY) | (kinds == BALL))  # (y, x), sorted by row
        assert len(objects) == 3 and (levels.grid[i][kinds >= KEY][:, 1] == 1).all()  # green
        upper, cue, lower = objects
        assert tuple(cue) == (mid - 1, 1) and upper[0] == mid - 2 and lower[0] == mid + 2
        assert upper[1] == lower[1] and kinds[tuple(upper)] != kinds[tuple(lower)]
        end = upper[1] - 1
        ends.add(end)
        assert 1 <= start[0] <= end
        matching = (mid - 1 if kinds[tuple(upper)] == kinds[tuple(cue)] else mid + 1, end + 1)
        dist = _walk_distances(kinds, start, {EMPTY})
        assert dist[matching] > 0, f"level {i}: the matching end is unreachable"
        assert dist[mid - 1, end + 1] > 0 and dist[mid + 1, end + 1] > 0
    assert ends == (set(range(4, size - 2)) if random_length else {size - 3})
