"""Tests of the grid renderer (tile atlas, JAX frame renderer) and the pygame viewer."""

from __future__ import annotations

import ast
import inspect
import itertools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.error import DependencyNotInstalled

from curriculax.envs.grid.constants import (
    COLOR_NAMES,
    EMPTY_CELL,
    GOAL_CELL,
    LAVA_CELL,
    NUM_OBJECTS,
    WALL_CELL,
    Color,
    DoorState,
    Obj,
)
from curriculax.envs.grid.render import (
    NUM_TILES,
    TILE_KEYS,
    render_grid,
    tile_atlas,
    tile_index,
)

T = 32
AGENT_TILES = NUM_TILES - 4 + np.arange(4)  # the atlas ends with the agent facing 0..3


def _idx(cell) -> int:
    return int(tile_index(jnp.asarray(cell, jnp.uint8)))


def _tile(img: np.ndarray, x: int, y: int, t: int = T) -> np.ndarray:
    return np.asarray(img)[y * t : (y + 1) * t, x * t : (x + 1) * t]


def _small_grid() -> np.ndarray:
    """A 4x6 room: walls around, a key, a locked door, a goal and lava inside; [H, W, 3]."""
    grid = np.tile(EMPTY_CELL, (4, 6, 1))
    grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = WALL_CELL
    grid[1, 1] = (Obj.KEY, Color.YELLOW, 0)
    grid[1, 3] = (Obj.DOOR, Color.YELLOW, DoorState.LOCKED)
    grid[2, 4] = GOAL_CELL
    grid[2, 1] = LAVA_CELL
    return grid


# ------------------------------------------------------------------------------------------------
# Atlas and lookup table
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tile_size", [8, 32])
def test_atlas_shape_dtype_and_cache(tile_size):
    atlas = tile_atlas(tile_size)
    assert atlas.shape == (NUM_TILES, tile_size, tile_size, 3)
    assert atlas.dtype == np.uint8
    assert len(TILE_KEYS) == NUM_TILES
    assert tile_atlas(tile_size) is atlas  # drawn once per size
    assert not atlas.flags.writeable  # a cached atlas must not be corrupted by a caller


def test_atlas_tiles_are_pairwise_distinct():
    flat = tile_atlas(T).reshape(NUM_TILES, -1)
    same = (flat[:, None, :] == flat[None, :, :]).all(-1)
    dupes = [(TILE_KEYS[i], TILE_KEYS[j]) for i, j in zip(*np.nonzero(same), strict=True) if i < j]
    assert not dupes


def test_tile_index_of_each_tile_key_is_that_tile():
    keys = jnp.asarray(np.array(TILE_KEYS, np.uint8))
    np.testing.assert_array_equal(np.asarray(tile_index(keys)), np.arange(NUM_TILES))


def _minigrid_encodings() -> set[tuple[int, int, int]]:
    """Every cell MiniGrid's objects can encode to, built from the reference package."""
    from minigrid.core import world_object as wo

    cells = {(int(Obj.EMPTY), 0, 0), tuple(int(v) for v in wo.Lava().encode())}
    for name in COLOR_NAMES:
        for cls in (wo.Wall, wo.Floor, wo.Key, wo.Ball, wo.Goal):
            cells.add(tuple(int(v) for v in cls(name).encode()))
        cells.add(tuple(int(v) for v in wo.Box(name).encode()))
        for is_open, is_locked in ((True, False), (False, False), (False, True)):
            cells.add(tuple(int(v) for v in wo.Door(name, is_open, is_locked).encode()))
    cells |= {(int(Obj.AGENT), int(Color.RED), d) for d in range(4)}  # the agent in an obs
    return cells


def test_every_encodable_cell_has_its_own_tile():
    cells = sorted(_minigrid_encodings())
    assert len(cells) == NUM_TILES
    indices = np.asarray(tile_index(jnp.asarray(np.array(cells, np.uint8))))
    assert len(set(indices.tolist())) == len(cells), "two encodable cells share a tile"
    for cell, index in zip(cells, indices, strict=True):
        assert TILE_KEYS[index] == cell


def test_intentional_tile_equivalences():
    empty = _idx(EMPTY_CELL)
    # Unseen and undecodable cells show as empty.
    for cell in [(Obj.UNSEEN, 0, 0), (NUM_OBJECTS, 0, 0), (255, 255, 255), (Obj.WALL, 6, 0)]:
        assert _idx(cell) == empty, cell
    assert _idx((Obj.DOOR, Color.RED, 3)) == empty  # doors have three states only
    # The state of a non-door object is not drawn; lava and the agent have one colour.
    assert _idx((Obj.KEY, Color.BLUE, 2)) == _idx((Obj.KEY, Color.BLUE, 0))
    assert _idx((Obj.LAVA, Color.BLUE, 0)) == _idx(LAVA_CELL)
    assert _idx((Obj.AGENT, Color.GREEN, 2)) == _idx((Obj.AGENT, Color.RED, 2))
    # ... but colours and door states are.
    assert _idx((Obj.KEY, Color.BLUE, 0)) != _idx((Obj.KEY, Color.RED, 0))
    door = [_idx((Obj.DOOR, Color.RED, s)) for s in DoorState]
    assert len(set(door)) == 3


def test_tile_index_keeps_batch_shape():
    cells = jnp.zeros((2, 3, 5, 3), jnp.uint8)
    assert tile_index(cells).shape == (2, 3, 5)
    assert tile_index(cells).dtype == jnp.int32


def test_pictures_have_the_expected_colours():
    atlas = tile_atlas(T).astype(int)
    centre = (slice(T // 2 - 2, T // 2 + 2), slice(T // 2 - 2, T // 2 + 2))
    assert (atlas[_idx(EMPTY_CELL)][centre] == 0).all()  # black floor
    assert (atlas[_idx(EMPTY_CELL)][0, :] == 100).all()  # grid line along the top
    assert (atlas[_idx(EMPTY_CELL)][:, 0] == 100).all()  # and down the left edge
    assert (atlas[_idx(WALL_CELL)] == 100).all()  # grey wall, edge to edge
    assert (atlas[_idx(GOAL_CELL)][centre] == (0, 255, 0)).all()  # green goal
    assert (atlas[_idx((Obj.BALL, Color.BLUE, 0))][centre] == (0, 0, 255)).all()
    lava = atlas[_idx(LAVA_CELL)].reshape(-1, 3)
    assert (lava == (255, 128, 0)).all(-1).mean() > 0.6  # mostly orange
    assert (lava.sum(-1) < 60).mean() > 0.05  # with dark waves


def test_agent_points_in_its_direction():
    atlas = tile_atlas(T)
    ys, xs = np.mgrid[0:T, 0:T] + 0.5
    expected = [(1, 0), (0, 1), (-1, 0), (0, -1)]  # (x, y) unit step per direction
    tiles = [atlas[i] for i in AGENT_TILES]
    for d, tile in enumerate(tiles):
        red = (tile[..., 0].astype(int) - tile[..., 1]).clip(0) / 255.0
        assert red.sum() > 0.15 * T * T
        cx, cy = (red * xs).sum() / red.sum() - T / 2, (red * ys).sum() / red.sum() - T / 2
        # The centroid of a triangle lies towards its base: opposite to where it points.
        assert np.sign(np.round([cx, cy], 1)).tolist() == [-e for e in expected[d]], d
    for a, b in itertools.combinations(tiles, 2):
        assert not np.array_equal(a, b)


# ------------------------------------------------------------------------------------------------
# render_grid
# ------------------------------------------------------------------------------------------------


def test_render_grid_places_every_tile():
    grid = _small_grid()
    h, w = grid.shape[:2]
    img = np.asarray(render_grid(jnp.asarray(grid), jnp.array([2, 1]), 0, T))
    assert img.shape == (h * T, w * T, 3) and img.dtype == np.uint8
    atlas = tile_atlas(T)
    np.testing.assert_array_equal(_tile(img, 0, 0), atlas[_idx(WALL_CELL)])
    np.testing.assert_array_equal(_tile(img, 4, 2), atlas[_idx(GOAL_CELL)])
    for y, x in itertools.product(range(h), range(w)):
        want = atlas[AGENT_TILES[0]] if (x, y) == (2, 1) else atlas[_idx(grid[y, x])]
        np.testing.assert_array_equal(_tile(img, x, y), want, err_msg=f"cell x={x} y={y}")


@pytest.mark.parametrize("direction", range(4))
def test_agent_tile_follows_direction_and_position(direction):
    grid = jnp.asarray(_small_grid())
    pos = (3, 2)
    img = np.asarray(render_grid(grid, jnp.array(pos), direction, T))
    np.testing.assert_array_equal(_tile(img, *pos), tile_atlas(T)[AGENT_TILES[direction]])
    # Nowhere else is there an agent: the rest equals the agent-less picture.
    no_agent = np.asarray(render_grid(grid, None, None, T))
    diff = np.any(img != no_agent, axis=-1)
    ys, xs = np.nonzero(diff)
    assert set(zip((xs // T).tolist(), (ys // T).tolist(), strict=True)) == {pos}


def test_agent_is_drawn_over_the_object_it_stands_on():
    grid = jnp.asarray(_small_grid())
    img = np.asarray(render_grid(grid, jnp.array([4, 2]), 1, T))  # on the goal
    tile = _tile(img, 4, 2).reshape(-1, 3)
    assert ((tile == (0, 255, 0)).all(-1)).mean() > 0.4  # the goal shows around the agent
    assert ((tile == (255, 0, 0)).all(-1)).mean() > 0.15  # and the agent on it


def test_agent_outside_the_grid_is_not_drawn():
    grid = jnp.asarray(_small_grid())
    no_agent = np.asarray(render_grid(grid, None, None, T))
    for pos in ([-1, 0], [6, 1], [0, 4]):
        np.testing.assert_array_equal(np.asarray(render_grid(grid, jnp.array(pos), 0, T)), no_agent)


def test_highlight_lightens_exactly_the_highlighted_cells():
    grid = jnp.asarray(_small_grid())
    mask = np.zeros(grid.shape[:2], bool)
    mask[1, 1:4] = mask[2, 2] = True  # includes the agent's cell
    pos = jnp.array([2, 1])
    plain = np.asarray(render_grid(grid, pos, 3, T)).astype(int)
    lit = np.asarray(render_grid(grid, pos, 3, T, highlight=jnp.asarray(mask))).astype(int)
    pixel_mask = np.repeat(np.repeat(mask, T, 0), T, 1)
    np.testing.assert_array_equal(lit[~pixel_mask], plain[~pixel_mask])
    want = np.clip(plain + (255 - plain) * 3 // 10, 0, 255)
    np.testing.assert_array_equal(lit[pixel_mask], want[pixel_mask])
    assert (lit[pixel_mask].sum(-1) > plain[pixel_mask].sum(-1)).all()  # no white in the atlas


def test_render_grid_under_jit_and_vmap():
    base = _small_grid()
    grids = np.stack([base, base, base])
    grids[1, 2, 2] = (Obj.BALL, Color.PURPLE, 0)
    grids[2, 1, 3] = (Obj.DOOR, Color.YELLOW, DoorState.OPEN)
    pos = jnp.array([[1, 2], [3, 1], [2, 2]])
    dirs = jnp.array([0, 2, 3])
    masks = jnp.asarray(np.random.default_rng(0).random((3, 4, 6)) < 0.5)
    render = jax.jit(render_grid, static_argnames="tile_size")
    batched = jax.jit(jax.vmap(render_grid, in_axes=(0, 0, 0, None, 0)), static_argnums=3)
    out = np.asarray(batched(jnp.asarray(grids), pos, dirs, 16, masks))
    assert out.shape == (3, 4 * 16, 6 * 16, 3) and out.dtype == np.uint8
    for i in range(3):
        one = render(jnp.asarray(grids[i]), pos[i], dirs[i], tile_size=16, highlight=masks[i])
        eager = render_grid(grids[i], np.asarray(pos[i]), int(dirs[i]), 16, np.asarray(masks[i]))
        np.testing.assert_array_equal(out[i], np.asarray(one))
        np.testing.assert_array_equal(out[i], np.asarray(eager))
    assert not np.array_equal(out[0], out[1]) and not np.array_equal(out[1], out[2])


# ------------------------------------------------------------------------------------------------
# Against the reference MiniGrid renderer
# ------------------------------------------------------------------------------------------------

#: Mean absolute difference per channel, of 255, that a whole frame may have from MiniGrid's.
#: Measured at tile size 32: Empty-8x8 0.06, DoorKey-8x8 0.20, LavaGapS7 2.1 (our lava waves are
#: sine curves), KeyCorridorS3R3 1.4-2.5 (edge pixels of keys, doors and boxes differ).
MAX_MEAN_DIFF = 4.0
#: How far (per channel) the most common colour of a tile may be from MiniGrid's.
MAX_DOMINANT_DIFF = 4


def _dominant(tile: np.ndarray) -> np.ndarray:
    colours, counts = np.unique(tile.reshape(-1, 3), axis=0, return_counts=True)
    return colours[np.argmax(counts)].astype(int)


def _compare_with_minigrid(env, highlight: np.ndarray | None = None) -> float:
    """Render ``env``'s grid with both renderers; check it and return the mean pixel diff."""
    grid = env.grid.encode().transpose(1, 0, 2)  # [x, y, 3] -> [y, x, 3]
    x, y = (int(v) for v in env.agent_pos)
    ours = np.asarray(
        render_grid(
            jnp.asarray(grid),
            jnp.array([x, y]),
            int(env.agent_dir),
            T,
            None if highlight is None else jnp.asarray(highlight),
        )
    )
    ref = env.grid.render(
        T, env.agent_pos, env.agent_dir, None if highlight is None else highlight.T
    )
    assert ours.shape == ref.shape
    diff = float(np.abs(ours.astype(int) - ref.astype(int)).mean())
    for j, i in itertools.product(range(grid.shape[0]), range(grid.shape[1])):
        a, b = _dominant(_tile(ours, i, j)), _dominant(_tile(ref, i, j))
        assert np.abs(a - b).max() <= MAX_DOMINANT_DIFF, f"cell x={i} y={j} {grid[j, i]}: {a} {b}"
    return diff


@pytest.mark.parametrize(
    "env_id",
    [
        "MiniGrid-Empty-8x8-v0",
        "MiniGrid-DoorKey-8x8-v0",
        "MiniGrid-LavaGapS7-v0",
        "MiniGrid-KeyCorridorS3R3-v0",
    ],
)
def test_matches_minigrid(env_id):
    gym = pytest.importorskip("gymnasium")
    pytest.importorskip("minigrid")
    env = gym.make(env_id).unwrapped
    diffs = []
    for seed in range(3):
        env.reset(seed=seed)
        diffs.append(_compare_with_minigrid(env))
    env.close()
    print(f"{env_id}: mean |ours - minigrid| per seed = {[round(d, 3) for d in diffs]}")
    assert max(diffs) < MAX_MEAN_DIFF


def test_matches_minigrid_with_agent_on_objects_and_highlight():
    gym = pytest.importorskip("gymnasium")
    pytest.importorskip("minigrid")
    from minigrid.core.world_object import Door, Goal

    env = gym.make("MiniGrid-DoorKey-8x8-v0").unwrapped
    env.reset(seed=1)
    env.grid.set(1, 1, Goal())
    env.grid.set(2, 1, Door("blue", is_open=True))
    rng = np.random.default_rng(0)
    for pos, direction in (((1, 1), 2), ((2, 1), 1)):
        env.agent_pos, env.agent_dir = pos, direction
        highlight = rng.random((env.height, env.width)) < 0.5  # [y, x]
        diff = _compare_with_minigrid(env, highlight)
        print(f"agent on {env.grid.get(*pos).type}, highlighted: mean diff {diff:.3f}")
        assert diff < MAX_MEAN_DIFF
    env.close()


# ------------------------------------------------------------------------------------------------
# HumanViewer
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def dummy_video(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


def test_viewer_shows_frames_then_closes(dummy_video):
    pytest.importorskip("pygame")
    from curriculax.viewer import HumanViewer

    img = np.asarray(render_grid(jnp.asarray(_small_grid()), jnp.array([2, 1]), 0, 8))
    viewer = HumanViewer(caption="test_render")
    viewer.show(img)
    viewer.show(np.zeros((40, 30, 3), np.uint8))  # a new size resizes the window
    assert viewer.is_open
    viewer.close()
    viewer.close()  # idempotent
    assert not viewer.is_open
    viewer.show(img)  # ignored once closed


def test_viewer_scales_to_window_size_and_handles_quit(dummy_video):
    pygame = pytest.importorskip("pygame")
    from curriculax.viewer import HumanViewer

    with HumanViewer(caption="scaled", window_size=(64, 48)) as viewer:
        viewer.show(jnp.zeros((4, 4, 3), jnp.uint8))  # JAX arrays are accepted
        assert pygame.display.get_surface().get_size() == (64, 48)
        with pytest.raises(ValueError):
            viewer.show(np.zeros((4, 4), np.uint8))
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        viewer.show(np.zeros((4, 4, 3), np.uint8))
        assert not viewer.is_open  # the user closed the window


def test_viewer_without_pygame_names_the_extra(monkeypatch):
    from curriculax.viewer import HumanViewer

    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(DependencyNotInstalled, match=r'pip install "curriculax\[render\]"'):
        HumanViewer()


def test_viewer_module_imports_nothing_from_envs():
    import curriculax.viewer as viewer

    tree = ast.parse(inspect.getsource(viewer))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if "envs" in n.split(".")], names
    top_level = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    assert "pygame" not in top_level  # imported only when a viewer is created
