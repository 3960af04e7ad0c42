"""Array renderer for grid worlds: a tile atlas drawn once in numpy, gathered in JAX.

Every cell ``(type, colour, state)`` maps through a lookup table to one tile of an atlas; a whole
frame is a gather of tiles plus the agent composited on top, so it jits, vmaps over a batch of
grids, and costs no Python per step. The pictures follow MiniGrid's look (black floor, thin grey
grid lines on each tile's top and left edges, grey walls, green goal, orange lava, red triangle for
the agent) so that frames are familiar to anyone who has seen MiniGrid, but the drawing code is our
own: each shape is a point-in-shape test evaluated on a 3x supersampled pixel grid and averaged
down, which anti-aliases the edges.

Tile equivalences, by design: ``UNSEEN`` cells, ``EMPTY`` cells and cells that no MiniGrid object
encodes to (unknown type, colour or state) all share the empty tile; the state is ignored for every
type but doors and the agent, the colour is ignored for empty cells, lava (always orange) and the
agent (always red). Every other encodable triple has a tile of its own.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from .constants import COLOR_RGB, NUM_COLORS, NUM_OBJECTS, Color, DoorState, Obj

__all__ = [
    "AGENT_RGB",
    "GRID_LINE_RGB",
    "LAVA_RGB",
    "NUM_TILES",
    "TILE_KEYS",
    "agent_alpha",
    "render_grid",
    "tile_atlas",
    "tile_index",
]

#: Subsamples per pixel along each axis when drawing the atlas.
_SUPERSAMPLE = 3
#: Width of the grid line, as a fraction of the tile (one pixel of a 32-pixel tile).
_LINE = 1.0 / 32.0
#: Colour of the grid lines.
GRID_LINE_RGB = (100, 100, 100)
#: Colour of lava.
LAVA_RGB = (255, 128, 0)
#: Colour of the agent's triangle.
AGENT_RGB = (255, 0, 0)
#: Number of agent directions; the agent's state (0..3) is its direction.
_NUM_DIRS = 4
#: Size of the state axis of the lookup table (door states 0..2, agent directions 0..3).
_LUT_STATES = max(len(DoorState), _NUM_DIRS)


# --------------------------------------------------------------------------------------------
# Point-in-shape tests. Coordinates are fractions of the tile: x to the right, y downwards.
# --------------------------------------------------------------------------------------------


def _rect(x: np.ndarray, y: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _disc(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _triangle(
    x: np.ndarray,
    y: np.ndarray,
    a: tuple[float, float],
    b: tuple[float, float],
    c: tuple[float, float],
) -> np.ndarray:
    """Points inside the triangle ``abc`` (either winding): same side of all three edges."""

    def side(p: tuple[float, float], q: tuple[float, float]) -> np.ndarray:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


class _Canvas:
    """A supersampled RGB tile that shapes are painted onto, in order."""

    def __init__(self, tile_size: int) -> None:
        n = tile_size * _SUPERSAMPLE
        centres = (np.arange(n, dtype=np.float64) + 0.5) / n
        self.tile_size = tile_size
        self.x = np.broadcast_to(centres[None, :], (n, n))
        self.y = np.broadcast_to(centres[:, None], (n, n))
        self.img = np.zeros((n, n, 3), dtype=np.float64)

    def paint(self, mask: np.ndarray, rgb: tuple[float, float, float] | np.ndarray) -> _Canvas:
        self.img[mask] = np.asarray(rgb, dtype=np.float64)
        return self

    def grid_lines(self, rgb: tuple[float, float, float] | np.ndarray = GRID_LINE_RGB) -> _Canvas:
        x, y = self.x, self.y
        return self.paint(_rect(x, y, 0, _LINE, 0, 1) | _rect(x, y, 0, 1, 0, _LINE), rgb)

    def tile(self) -> np.ndarray:
        """Average the canvas down to uint8 [tile_size, tile_size, 3]."""
        t, s = self.tile_size, _SUPERSAMPLE
        small = self.img.reshape(t, s, t, s, 3).mean(axis=(1, 3))
        return np.clip(np.rint(small), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# The pictures of each object.
# --------------------------------------------------------------------------------------------


def _draw_empty(cv: _Canvas) -> None:
    cv.grid_lines()


def _draw_wall(cv: _Canvas, rgb: np.ndarray) -> None:
    cv.paint(np.ones_like(cv.x, dtype=bool), rgb)


def _draw_floor(cv: _Canvas, rgb: np.ndarray) -> None:
    cv.grid_lines().paint(_rect(cv.x, cv.y, _LINE, 1, _LINE, 1), rgb / 2)


def _draw_goal(cv: _Canvas, rgb: np.ndarray) -> None:
    # Unlike a wall, a goal keeps its grid lines, in a darker shade of its colour: it reads as a
    # marking on the floor, and a goal never looks like a wall of the same colour.
    cv.paint(np.ones_like(cv.x, dtype=bool), rgb).grid_lines(rgb / 2)


def _draw_lava(cv: _Canvas) -> None:
    x, y = cv.x, cv.y
    cv.paint(np.ones_like(x, dtype=bool), LAVA_RGB)
    # Three dark sine waves, two periods each, across the middle of the tile.
    inside = (x >= 0.1) & (x <= 0.9)
    for centre in (0.33, 0.53, 0.73):
        wave = centre + 0.05 * np.sin(2.0 * np.pi * (x - 0.1) / 0.4)
        cv.paint(inside & (np.abs(y - wave) <= 0.035), (0, 0, 0))


def _draw_door(cv: _Canvas, rgb: np.ndarray, state: int) -> None:
    x, y = cv.x, cv.y
    if state == DoorState.OPEN:
        # Swung open against the right edge: a thin coloured leaf seen edge-on.
        cv.grid_lines()
        cv.paint(_rect(x, y, 0.87, 1.0, 0.0, 1.0), rgb)
        cv.paint(_rect(x, y, 0.91, 0.96, 0.05, 0.95), (0, 0, 0))
    elif state == DoorState.CLOSED:
        # A coloured frame, a black door with a coloured panel outline, and a round handle.
        cv.paint(np.ones_like(x, dtype=bool), rgb)
        cv.paint(_rect(x, y, 0.05, 0.95, 0.05, 0.95), (0, 0, 0))
        cv.paint(_rect(x, y, 0.10, 0.90, 0.10, 0.90), rgb)
        cv.paint(_rect(x, y, 0.14, 0.86, 0.14, 0.86), (0, 0, 0))
        cv.paint(_disc(x, y, 0.76, 0.5, 0.075), rgb)
    else:
        # Locked: a solid door, darker inside its frame, with a key slot.
        cv.paint(np.ones_like(x, dtype=bool), rgb)
        cv.paint(_rect(x, y, 0.07, 0.93, 0.07, 0.93), 0.45 * rgb)
        cv.paint(_rect(x, y, 0.54, 0.78, 0.47, 0.54), rgb)


def _draw_key(cv: _Canvas, rgb: np.ndarray) -> None:
    x, y = cv.x, cv.y
    cv.grid_lines()
    cv.paint(_rect(x, y, 0.505, 0.615, 0.33, 0.87), rgb)  # shaft
    cv.paint(_rect(x, y, 0.39, 0.505, 0.60, 0.67), rgb)  # upper tooth
    cv.paint(_rect(x, y, 0.39, 0.505, 0.80, 0.87), rgb)  # lower tooth
    cv.paint(_disc(x, y, 0.56, 0.29, 0.18), rgb)  # bow
    cv.paint(_disc(x, y, 0.56, 0.29, 0.07), (0, 0, 0))  # hole in the bow


def _draw_ball(cv: _Canvas, rgb: np.ndarray) -> None:
    cv.grid_lines().paint(_disc(cv.x, cv.y, 0.5, 0.5, 0.30), rgb)


def _draw_box(cv: _Canvas, rgb: np.ndarray) -> None:
    x, y = cv.x, cv.y
    cv.grid_lines()
    cv.paint(_rect(x, y, 0.13, 0.87, 0.13, 0.87) & ~_rect(x, y, 0.19, 0.81, 0.19, 0.81), rgb)
    cv.paint(_rect(x, y, 0.13, 0.87, 0.47, 0.53), rgb)  # lid seam


def _agent_mask(cv: _Canvas, direction: int) -> np.ndarray:
    """Supersampled mask of the agent's triangle, pointing in ``direction`` (0 = east)."""
    east = _triangle(cv.x, cv.y, (0.14, 0.20), (0.86, 0.50), (0.14, 0.80))
    # Rows grow downwards, so a clockwise turn on screen is a negative np.rot90.
    return np.ascontiguousarray(np.rot90(east, k=-direction))


# --------------------------------------------------------------------------------------------
# The atlas and its lookup table.
# --------------------------------------------------------------------------------------------


def _tile_keys() -> tuple[tuple[int, int, int], ...]:
    """List the canonical ``(type, colour, state)`` of every atlas tile, in atlas order."""
    keys = [(int(Obj.EMPTY), 0, 0)]
    for obj in (Obj.WALL, Obj.FLOOR):
        keys += [(int(obj), int(c), 0) for c in Color]
    keys += [(int(Obj.DOOR), int(c), int(s)) for c in Color for s in DoorState]
    for obj in (Obj.KEY, Obj.BALL, Obj.BOX, Obj.GOAL):
        keys += [(int(obj), int(c), 0) for c in Color]
    keys.append((int(Obj.LAVA), int(Color.RED), 0))
    keys += [(int(Obj.AGENT), int(Color.RED), d) for d in range(_NUM_DIRS)]
    return tuple(keys)


#: Canonical ``(type, colour, state)`` of each atlas tile; the agent's tiles come last.
TILE_KEYS: tuple[tuple[int, int, int], ...] = _tile_keys()
#: Number of tiles in the atlas.
NUM_TILES = len(TILE_KEYS)
_EMPTY_TILE = TILE_KEYS.index((int(Obj.EMPTY), 0, 0))


def _build_lut() -> np.ndarray:
    """Lookup table int32 [NUM_OBJECTS, NUM_COLORS, _LUT_STATES] from a cell to its tile."""
    lut = np.full((NUM_OBJECTS, NUM_COLORS, _LUT_STATES), _EMPTY_TILE, dtype=np.int32)
    for index, (obj, colour, state) in enumerate(TILE_KEYS):
        if obj == Obj.DOOR:
            lut[obj, colour, state] = index
        elif obj in (Obj.LAVA, Obj.AGENT):
            lut[obj, :, state] = index  # drawn in one colour whatever the encoding says
        elif obj != Obj.EMPTY:
            lut[obj, colour, :] = index  # the state of a non-door object is not drawn
    return lut


_LUT = _build_lut()


def _draw_tile(key: tuple[int, int, int], tile_size: int) -> np.ndarray:
    obj, colour, state = key
    rgb = COLOR_RGB[colour].astype(np.float64)
    cv = _Canvas(tile_size)
    if obj == Obj.EMPTY:
        _draw_empty(cv)
    elif obj == Obj.WALL:
        _draw_wall(cv, rgb)
    elif obj == Obj.FLOOR:
        _draw_floor(cv, rgb)
    elif obj == Obj.DOOR:
        _draw_door(cv, rgb, state)
    elif obj == Obj.KEY:
        _draw_key(cv, rgb)
    elif obj == Obj.BALL:
        _draw_ball(cv, rgb)
    elif obj == Obj.BOX:
        _draw_box(cv, rgb)
    elif obj == Obj.GOAL:
        _draw_goal(cv, rgb)
    elif obj == Obj.LAVA:
        _draw_lava(cv)
    else:
        raise ValueError(f"no picture for tile {key}")
    return cv.tile()


def _composite_np(under: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`_composite`, bit for bit."""
    a = alpha.astype(np.int32)[..., None]
    out = (under.astype(np.int32) * (255 - a) + np.array(AGENT_RGB, np.int32) * a + 127) // 255
    return out.astype(np.uint8)


@functools.cache
def agent_alpha(tile_size: int = 32) -> np.ndarray:
    """Coverage of the agent's triangle in each direction, as 0..255 per pixel.

    Args:
        tile_size: Side of a tile in pixels.

    Returns:
        Read-only uint8 array [4, tile_size, tile_size]; index 0 points east, 1 south, 2 west,
        3 north. The agent is drawn as ``AGENT_RGB`` blended over the cell with this alpha.

    """
    _check_tile_size(tile_size)
    cv = _Canvas(tile_size)
    t, s = tile_size, _SUPERSAMPLE
    alphas = np.stack(
        [_agent_mask(cv, d).reshape(t, s, t, s).mean(axis=(1, 3)) * 255.0 for d in range(_NUM_DIRS)]
    )
    out = np.rint(alphas).astype(np.uint8)
    out.setflags(write=False)
    return out


@functools.cache
def tile_atlas(tile_size: int = 32) -> np.ndarray:
    """Every tile a grid cell can show, drawn once per tile size and cached.

    Args:
        tile_size: Side of a tile in pixels.

    Returns:
        Read-only uint8 array [NUM_TILES, tile_size, tile_size, 3]. Tile ``i`` pictures the cell
        ``TILE_KEYS[i]``; the last four are the agent facing east, south, west and north over an
        empty cell. Use :func:`tile_index` to find the tile of an encoded cell.

    """
    _check_tile_size(tile_size)
    tiles = []
    for key in TILE_KEYS:
        if key[0] == Obj.AGENT:
            empty = tiles[_EMPTY_TILE]
            tiles.append(_composite_np(empty, agent_alpha(tile_size)[key[2]]))
        else:
            tiles.append(_draw_tile(key, tile_size))
    atlas = np.stack(tiles)
    atlas.setflags(write=False)
    return atlas


def _check_tile_size(tile_size: int) -> None:
    if not isinstance(tile_size, (int, np.integer)) or isinstance(tile_size, bool):
        raise TypeError(f"tile_size must be a Python int, got {type(tile_size).__name__}")
    if tile_size < 1:
        raise ValueError(f"tile_size must be positive, got {tile_size}")


# --------------------------------------------------------------------------------------------
# JAX side.
# --------------------------------------------------------------------------------------------


def tile_index(cell: jnp.ndarray) -> jnp.ndarray:
    """Atlas index of encoded cells.

    Args:
        cell: Integer array [..., 3] of ``(type, colour, state)`` triples, in MiniGrid's encoding;
            an agent cell ``(Obj.AGENT, colour, direction)`` maps to the agent's tile.

    Returns:
        int32 array [...] of indices into :func:`tile_atlas`. Triples that no object encodes to
        map to the empty tile.

    """
    cell = jnp.asarray(cell).astype(jnp.int32)
    obj, colour, state = cell[..., 0], cell[..., 1], cell[..., 2]
    valid = (
        (obj >= 0)
        & (obj < NUM_OBJECTS)
        & (colour >= 0)
        & (colour < NUM_COLORS)
        & (state >= 0)
        & (state < _LUT_STATES)
    )
    flat = (obj * NUM_COLORS + colour) * _LUT_STATES + state
    index = jnp.asarray(_LUT.reshape(-1))[jnp.where(valid, flat, 0)]
    return jnp.where(valid, index, _EMPTY_TILE).astype(jnp.int32)


def _composite(under: jnp.ndarray, alpha: jnp.ndarray) -> jnp.ndarray:
    """Blend ``AGENT_RGB`` over uint8 pixels [..., 3] with uint8 coverage [...]."""
    a = alpha.astype(jnp.int32)[..., None]
    red = jnp.asarray(AGENT_RGB, jnp.int32)
    return ((under.astype(jnp.int32) * (255 - a) + red * a + 127) // 255).astype(jnp.uint8)


def _lighten(pixels: jnp.ndarray) -> jnp.ndarray:
    """Move uint8 pixels 30% of the way to white, in integer arithmetic (MiniGrid's highlight)."""
    p = pixels.astype(jnp.int32)
    return jnp.clip(p + (255 - p) * 3 // 10, 0, 255).astype(jnp.uint8)


def render_grid(
    grid: jnp.ndarray,
    agent_pos: jnp.ndarray | None,
    agent_dir: jnp.ndarray | int | None,
    tile_size: int = 32,
    highlight: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """Render a grid and its agent to an RGB image, in pure JAX.

    Jit it with ``tile_size`` static; vmap it over a batch of grids (and agents and highlights).
    The agent is blended over whatever its cell holds, so it stays visible on a goal, an open door
    or lava, and is exactly the atlas's agent tile on an empty cell.

    Args:
        grid: uint8 [H, W, 3], ``grid[y, x] = (type, colour, state)``.
        agent_pos: int [2], the agent's ``(x, y)``; ``None`` or a position outside the grid draws
            no agent.
        agent_dir: int [], 0 = east, 1 = south, 2 = west, 3 = north (taken modulo 4).
        tile_size: Side of a tile in pixels; a static Python int.
        highlight: Optional bool [H, W]; cells where it is True are lightened the way MiniGrid
            marks the agent's field of view (``p + (255 - p) * 0.3``).

    Returns:
        uint8 [H * tile_size, W * tile_size, 3].

    """
    grid = jnp.asarray(grid)
    height, width = grid.shape[0], grid.shape[1]
    atlas = jnp.asarray(tile_atlas(tile_size))
    tiles = atlas[tile_index(grid)]  # [H, W, T, T, 3]

    if agent_pos is not None:
        pos = jnp.asarray(agent_pos, jnp.int32)
        x, y = pos[0], pos[1]
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        xc, yc = jnp.clip(x, 0, width - 1), jnp.clip(y, 0, height - 1)
        direction = jnp.mod(jnp.asarray(0 if agent_dir is None else agent_dir, jnp.int32), 4)
        alpha = jnp.asarray(agent_alpha(tile_size))[direction]
        agent_tile = _composite(tiles[yc, xc], jnp.where(inside, alpha, 0))
        tiles = tiles.at[yc, xc].set(agent_tile)

    if highlight is not None:
        mask = jnp.asarray(highlight, bool)[:, :, None, None, None]
        tiles = jnp.where(mask, _lighten(tiles), tiles)

    return tiles.transpose(0, 2, 1, 3, 4).reshape(height * tile_size, width * tile_size, 3)
