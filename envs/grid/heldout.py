"""Held-out evaluation mazes: fixed hand-made layouts shipped as text, each a registered env.

The layouts live in ``layouts/heldout_mazes.txt`` (rooms, labyrinths, corridors, perfect mazes of
several sizes); ``curriculax/Maze-HeldOut-<Name>-v0`` plays one of them. Every reset starts the
same level, so an agent's solve rate on them measures generalisation beyond its training levels.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import jax.numpy as jnp
import numpy as np

from curriculax.envs.grid.engine import GridEnv, GridLevel
from curriculax.envs.grid.layout import parse_layout
from curriculax.types import EnvParams, PRNGKey

_SECTION = re.compile(r"^== (\S+) ==\n(.*?)(?=^==|\Z)", re.S | re.M)


@functools.lru_cache(maxsize=1)
def heldout_layouts() -> dict[str, str]:
    """Every held-out maze's text layout, by name, in file order."""
    text = resources.files("curriculax.envs.grid").joinpath("layouts/heldout_mazes.txt")
    return {name: body.strip() for name, body in _SECTION.findall(text.read_text())}


@functools.cache
def _level(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The layout's grid, agent position and direction, as numpy arrays."""
    level = parse_layout(heldout_layouts()[name])
    return tuple(np.asarray(x) for x in (level.grid, level.agent_pos, level.agent_dir))


class HeldOutMaze(GridEnv[EnvParams]):
    """One fixed held-out maze.

    ``max_steps`` defaults to 250 (the UED papers' budget) for mazes up to 13x13 and to
    ``2 * height * width`` for larger ones.

    Args:
        layout: a key of ``heldout_layouts()``.
        view_size: side of the egocentric view (5, as the UED papers).
        see_through_walls: skip occlusion.
    """

    def __init__(
        self,
        layout: str,
        view_size: int = 5,
        see_through_walls: bool = False,
        **grid_config: Any,
    ):
        layouts = heldout_layouts()
        if layout not in layouts:
            raise ValueError(f"unknown held-out maze {layout!r}; known: {sorted(layouts)}")
        height, width = _level(layout)[0].shape[:2]
        super().__init__(height, width, view_size, see_through_walls, **grid_config)
        self.layout = layout

    def default_params(self) -> EnvParams:
        """250 steps, or ``2 * height * width`` for mazes larger than 13x13."""
        cells = self.height * self.width
        return EnvParams(max_steps=jnp.asarray(250 if cells <= 169 else 2 * cells, jnp.int32))

    def sample_level(self, key: PRNGKey, params: EnvParams) -> GridLevel:
        """Always the same layout."""
        return GridLevel(*(jnp.asarray(x) for x in _level(self.layout)))
