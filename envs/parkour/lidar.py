"""Lidar: rays from a point against a terrain window's ground, ceiling, water surface and creepers.

TeachMyAgent's lidar is 10 Box2D ray casts of ``160 / 30`` m from the body's root; a ray reports
the fraction of its length at the first hit (1: nothing) and what it hit (-1 water, +1 creeper,
0 anything else). Fans: walkers look down and ahead (ray ``i`` at ``1.5 i / 10`` rad from straight
down), climbers up (``2.3 i / 10 + 1.5``), swimmers all around (``π i / 10``). The water surface is
seen from above only (from below, a ray passes through it), as a creeper is seen only from
outside; a hit exactly at the origin does not count.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from curriculax.envs.parkour.physics import SCALE, Terrain
from curriculax.types import Array

NUM_RAYS = 10
RANGE = 160.0 / SCALE
#: Surface codes.
WATER, OTHER, CREEPER = -1.0, 0.0, 1.0

#: (span, offset) of each fan: ray ``i`` at ``span * i / NUM_RAYS + offset`` from straight down.
FANS = {"down": (1.5, 0.0), "up": (2.3, 1.5), "full": (math.pi, 0.0)}


def ray_directions(fan: str) -> np.ndarray:
    """Unit directions of a fan's rays: float32 [NUM_RAYS, 2]."""
    span, offset = FANS[fan]
    angle = span * np.arange(NUM_RAYS) / NUM_RAYS + offset
    return np.stack([np.sin(angle), -np.cos(angle)], axis=1).astype(np.float32)


def _profile_hits(knots_x: Array, knots_y: Array, px, py, dx, dy) -> Array:
    """Distance along each ray [R] to its first crossing of a polyline (inf: none)."""
    ax, ay = knots_x[:-1][None], knots_y[:-1][None]  # [1, S]
    ex, ey = (knots_x[1:] - knots_x[:-1])[None], (knots_y[1:] - knots_y[:-1])[None]
    wx, wy = ax - px, ay - py
    rdx, rdy = dx[:, None], dy[:, None]  # [R, 1]
    denom = rdx * ey - rdy * ex
    safe = jnp.where(jnp.abs(denom) > 1e-9, denom, 1.0)
    t = (wx * ey - wy * ex) / safe
    s = (wx * rdy - wy * rdx) / safe
    ok = (jnp.abs(denom) > 1e-9) & (s >= 0.0) & (s <= 1.0) & (t > 0.0)
    return jnp.min(jnp.where(ok, t, jnp.inf), axis=1)


def lidar(terrain: Terrain, origin: Array, directions: np.ndarray) -> tuple[Array, Array]:
    """Casts rays of length ``RANGE`` from ``origin`` [2].

    Args:
        terrain: the window of terrain around the origin.
        origin: float32 [2], where the rays start.
        directions: float32 [R, 2] unit directions.

    Returns:
        ``(fraction, code)``: float32 [R] each; fraction of the range to the first hit (1: none)
        and the surface code of that hit (``WATER``, ``CREEPER`` or ``OTHER``).
    """
    px, py = origin[0], origin[1]
    dx, dy = jnp.asarray(directions[:, 0]), jnp.asarray(directions[:, 1])
    solid = jnp.minimum(
        _profile_hits(terrain.ground_x, terrain.ground_y, px, py, dx, dy),
        _profile_hits(terrain.ceiling_x, terrain.ceiling_y, px, py, dx, dy),
    )
    # Water surface, from above.
    down = dy < -1e-9
    t_water = (terrain.water_level - py) / jnp.where(down, dy, -1.0)
    water = jnp.where(down & (py > terrain.water_level) & (t_water > 0.0), t_water, jnp.inf)
    # Creepers: boxes [cx - w, cx + w] x [bottom, +inf), entered from outside (slab test).
    cx, half, bottom = (terrain.creepers[:, k][None] for k in range(3))  # [1, C]
    rdx, rdy = dx[:, None], dy[:, None]
    inv_x = 1.0 / jnp.where(jnp.abs(rdx) > 1e-9, rdx, 1e-9)
    tx1, tx2 = (cx - half - px) * inv_x, (cx + half - px) * inv_x
    inv_y = 1.0 / jnp.where(jnp.abs(rdy) > 1e-9, rdy, 1e-9)
    ty = (bottom - py) * inv_y  # crossing of the bottom edge
    ty_lo = jnp.where(rdy > 0.0, ty, -jnp.inf)  # going up: inside once above the bottom
    below_at = jnp.where(rdy < 0.0, ty, jnp.inf)  # going down: outside once below the bottom
    ty_hi = jnp.where(rdy > 0.0, jnp.inf, jnp.where(py >= bottom, below_at, -jnp.inf))
    enter = jnp.maximum(jnp.minimum(tx1, tx2), ty_lo)
    leave = jnp.minimum(jnp.maximum(tx1, tx2), ty_hi)
    creeper = jnp.min(jnp.where((enter <= leave) & (enter > 0.0), enter, jnp.inf), axis=1)
    first = jnp.minimum(jnp.minimum(solid, water), creeper)
    hit = first <= RANGE
    code = jnp.where(
        hit & (water < jnp.minimum(solid, creeper)),
        WATER,
        jnp.where(hit & (creeper < solid), CREEPER, OTHER),
    )
    return jnp.where(hit, first / RANGE, 1.0).astype(jnp.float32), code.astype(jnp.float32)
