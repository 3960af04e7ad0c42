"""Pictures of a parkour episode, drawn per pixel by array code (jittable, vmappable).

The camera follows the body's root like TeachMyAgent's (the root a fifth of the way in from the
left), 30 px per metre. Layers, back to front: sky, ceiling rock, creepers, the body's polygons,
water (translucent), ground. Colours follow TMA's palette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np

from curriculax.envs.parkour import physics
from curriculax.types import Array

if TYPE_CHECKING:
    from curriculax.envs.parkour.env import ParkourEnvBase, ParkourState

WIDTH, HEIGHT = 600, 400
PIXELS_PER_METRE = physics.SCALE

SKY = (230, 230, 255)
GROUND = (102, 153, 77)
GRASS = (77, 255, 77)
CEILING = (90, 80, 70)
WATER = (77, 128, 230)
CREEPER = (77, 179, 26)
#: Link colours: the root, then the rest alternating (TMA's purple hull, lighter/darker legs).
ROOT_COLOR = (127, 51, 229)
LINK_COLORS = ((178, 101, 152), (153, 76, 127))
OUTLINE = (77, 77, 127)


def _polygon_mask(px: Array, py: Array, vertices: Array) -> tuple[Array, Array]:
    """Pixels inside a convex polygon [V, 2], and those within a pixel of its edges."""
    ax, ay = vertices[:, 0][:, None, None], vertices[:, 1][:, None, None]
    rolled = jnp.roll(vertices, -1, axis=0)
    ex, ey = rolled[:, 0][:, None, None] - ax, rolled[:, 1][:, None, None] - ay
    length = jnp.sqrt(jnp.maximum(ex * ex + ey * ey, 1e-12))
    signed = (ex * (py[None] - ay) - ey * (px[None] - ax)) / length  # [V, H, W]
    orientation = jnp.sign(jnp.sum(ex * jnp.roll(ey, -1, 0) - ey * jnp.roll(ex, -1, 0)))
    signed = signed * jnp.where(orientation == 0, 1.0, orientation)
    inside = jnp.all(signed >= 0.0, axis=0)
    edge = inside & (jnp.min(signed, axis=0) < 1.5 / PIXELS_PER_METRE)
    return inside, edge


def render_scene(env: ParkourEnvBase, state: ParkourState) -> Array:
    """The scene around the body: uint8 [HEIGHT, WIDTH, 3]."""
    body = env.physics_body
    root = state.body.q[:2]
    left = root[0] - WIDTH / PIXELS_PER_METRE / 5
    bottom = root[1] - HEIGHT / PIXELS_PER_METRE / 2
    xs = left + (jnp.arange(WIDTH) + 0.5) / PIXELS_PER_METRE
    ys = bottom + (HEIGHT - 1 - jnp.arange(HEIGHT) + 0.5) / PIXELS_PER_METRE
    px, py = (
        jnp.broadcast_to(xs[None], (HEIGHT, WIDTH)),
        jnp.broadcast_to(ys[:, None], (HEIGHT, WIDTH)),
    )
    ground, ceiling, water_y, creeper = env.profile(state.track, xs)

    image = jnp.broadcast_to(jnp.asarray(SKY, jnp.float32), (HEIGHT, WIDTH, 3))

    def paint(mask, colour, alpha=1.0):
        nonlocal image
        colour = jnp.asarray(colour, jnp.float32)
        blended = (1.0 - alpha) * image + alpha * colour
        image = jnp.where(mask[..., None], blended, image)

    paint(py >= ceiling[None], CEILING)
    paint((py >= creeper[None]) & (py < ceiling[None]), CREEPER)
    origins, angles = physics.link_poses(body, state.body.q)
    for link, shape in enumerate(body.shapes):
        if len(shape) < 3:
            continue
        local = np.asarray(shape, np.float32)
        c, s = jnp.cos(angles[link]), jnp.sin(angles[link])
        world = origins[link] + jnp.stack(
            [c * local[:, 0] - s * local[:, 1], s * local[:, 0] + c * local[:, 1]], axis=1
        )
        inside, edge = _polygon_mask(px, py, world)
        paint(inside, ROOT_COLOR if link == 0 else LINK_COLORS[link % 2])
        paint(edge, OUTLINE)
    paint((py <= water_y) & (py < ceiling[None]), WATER, 0.5)
    paint(py < ground[None], GROUND)
    paint((py < ground[None]) & (py >= ground[None] - 2.0 / PIXELS_PER_METRE), GRASS)
    return jnp.clip(image, 0, 255).astype(jnp.uint8)
