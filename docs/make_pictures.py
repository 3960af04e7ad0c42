"""Writes a picture of every registered task to docs/images/ (needs the ``render`` extra).

Usage: ``python docs/make_pictures.py [ID ...]`` (every registered id when none is named). Each
picture is the start of the level drawn by seed 0 (grids: with the agent's field of view
highlighted).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import imageio.v3 as iio
import jax
import numpy as np

import curriculax

OUT = Path(__file__).parent / "images"


def main(ids: list[str]) -> None:
    """Renders seed 0 of each id (all registered ones if ``ids`` is empty) to docs/images/.

    Args:
        ids: ids with or without the ``curriculax/`` prefix; the picture of ``curriculax/X-v0``
            is ``docs/images/X-v0.png``.
    """
    OUT.mkdir(exist_ok=True)
    for env_id in ids or curriculax.registered_ids():
        env_id = curriculax.spec(env_id).id
        env, params = curriculax.make(env_id)
        _, state = env.reset(jax.random.key(0), params)
        grid = "tile_size" in inspect.signature(env.render).parameters
        render = jax.jit(env.render, static_argnames="tile_size" if grid else ())
        frame = np.asarray(render(state, params, 16) if grid else render(state, params))
        path = OUT / f"{env_id.split('/')[1]}.png"
        iio.imwrite(path, frame)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
