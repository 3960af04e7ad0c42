"""Reachability on grids, in JAX: which cells the agent can walk to."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from curriculax.types import Array


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
        padded = jnp.pad(filled, 1)
        neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
        return filled | (neighbours & walkable)

    def not_done(carry: tuple[Array, Array]) -> Array:
        previous, filled = carry
        return jnp.any(previous != filled)

    def body(carry: tuple[Array, Array]) -> tuple[Array, Array]:
        _, filled = carry
        return filled, grow(filled)

    return jax.lax.while_loop(not_done, body, (seed, grow(seed)))[1]
