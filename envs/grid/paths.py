"""Reachability on grids, in JAX: which cells the agent can walk to."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from curriculax.types import Array


def _grow(filled: Array, walkable: Array) -> Array:
    """One dilation of ``filled`` (bool [H, W]) into its walkable 4-neighbours."""
    padded = jnp.pad(filled, 1)
    neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    return filled | (neighbours & walkable)


def reachable(walkable: Array, start: Array) -> Array:
    """Cells reachable from ``start`` by 4-neighbour steps through walkable cells.

    Args:
        walkable: bool [H, W], cells the agent may stand on.
        start: int32 [2], ``(x, y)`` of the start (reachable even if not walkable).

    Returns:
        bool [H, W]: the flood fill from ``start``, computed by repeated dilation until it stops
        growing (at most H * W rounds).
    """
    seed = jnp.zeros(walkable.shape, bool).at[start[1], start[0]].set(True)

    def grow(filled: Array) -> Array:
        return _grow(filled, walkable)

    def not_done(carry: tuple[Array, Array]) -> Array:
        previous, filled = carry
        return jnp.any(previous != filled)

    def body(carry: tuple[Array, Array]) -> tuple[Array, Array]:
        _, filled = carry
        return filled, grow(filled)

    return jax.lax.while_loop(not_done, body, (seed, grow(seed)))[1]


def shortest_path(walkable: Array, start: Array, goal: Array) -> Array:
    """Steps of the shortest 4-neighbour path from ``start`` to ``goal``, -1 if there is none.

    Args:
        walkable: bool [H, W], cells the agent may stand on.
        start: int32 [2], ``(x, y)`` of the start.
        goal: int32 [2], ``(x, y)`` of the goal (it counts as walkable).

    Returns:
        int32 []: the number of dilation rounds of the flood fill from ``start`` until it
        covers ``goal`` (0 when they coincide), or -1 when the fill stops growing first.
    """
    walkable = walkable.at[goal[1], goal[0]].set(True)
    filled = jnp.zeros(walkable.shape, bool).at[start[1], start[0]].set(True)

    def grow(filled: Array) -> Array:
        return _grow(filled, walkable)

    def going(carry: tuple[Array, Array, Array]) -> Array:
        previous, filled, _ = carry
        return ~filled[goal[1], goal[0]] & jnp.any(previous != filled)

    def body(carry: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        _, filled, steps = carry
        return filled, grow(filled), steps + 1

    start_arrived = filled[goal[1], goal[0]]
    _, filled, steps = jax.lax.while_loop(going, body, (filled, grow(filled), jnp.int32(1)))
    steps = jnp.where(filled[goal[1], goal[0]], steps, -1)
    return jnp.where(start_arrived, 0, steps).astype(jnp.int32)
