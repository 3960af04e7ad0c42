"""Import a live ``minigrid`` environment into a ``GridLevel``, for evaluation and parity tests."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from curriculax.envs.grid.engine import GridLevel


def from_minigrid(env: Any) -> GridLevel:
    """The level a (reset) ``minigrid`` env is in: its grid, objects, agent position and direction.

    Args:
        env: a ``minigrid.minigrid_env.MiniGridEnv`` or a gymnasium wrapper around one.

    Returns:
        A ``GridLevel`` whose grid is ``[height, width, 3]``.

    Raises:
        ValueError: if the agent carries something (a level starts empty-handed) or the env has
            not been reset.
    """
    env = getattr(env, "unwrapped", env)
    if getattr(env, "grid", None) is None or env.agent_pos is None:
        raise ValueError("reset the minigrid env before importing it")
    if env.carrying is not None:
        raise ValueError("cannot import a minigrid state in which the agent carries an object")
    grid = np.transpose(env.grid.encode(), (1, 0, 2)).astype(np.uint8)
    return GridLevel(
        grid=jnp.asarray(grid),
        agent_pos=jnp.asarray(np.asarray(env.agent_pos), jnp.int32),
        agent_dir=jnp.asarray(int(env.agent_dir), jnp.int32),
    )
