"""Pack a pytree of arrays into one uint8 buffer, and unpack it on the host or on device.

Each argument and result of a jitted call costs dispatch time, and each result fetched to the host
a round-trip. The single-env gymnasium adapter therefore keeps its key, state and params in one
device buffer and gets its step results back as one buffer.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import Array, PyTree


def pack(tree: PyTree) -> Array:
    """All leaves of ``tree`` as raw bytes, concatenated: uint8 [total bytes]."""
    parts = []
    for leaf in jax.tree.leaves(tree):
        leaf = jnp.asarray(leaf)
        if leaf.dtype == jnp.bool_:
            leaf = leaf.astype(jnp.uint8)
        if leaf.dtype.itemsize > 1:
            leaf = jax.lax.bitcast_convert_type(leaf, jnp.uint8)
        parts.append(leaf.reshape(-1).astype(jnp.uint8))
    return jnp.concatenate(parts)


class Unpacker:
    """Rebuilds the pytree that ``pack`` packed, on the host or on device.

    ``__call__`` gives numpy arrays on the host; ``on_device`` gives JAX arrays inside a jitted
    function.

    Args:
        shapes: the ``jax.ShapeDtypeStruct`` pytree of what was packed (``jax.eval_shape``).
    """

    def __init__(self, shapes: PyTree) -> None:
        leaves, self.treedef = jax.tree.flatten(shapes)
        self.layout: list[tuple[int, int, tuple[int, ...], np.dtype]] = []
        offset = 0
        for leaf in leaves:
            dtype = np.dtype(leaf.dtype)
            stored = np.dtype(np.uint8) if dtype == np.bool_ else dtype
            size = int(np.prod(leaf.shape, dtype=np.int64)) * stored.itemsize
            self.layout.append((offset, size, tuple(leaf.shape), dtype))
            offset += size
        self.nbytes = offset

    def __call__(self, buffer: Any) -> PyTree:
        """The pytree of numpy arrays held in ``buffer`` (uint8 [nbytes], device or host)."""
        raw = np.array(buffer)  # a writable host copy: callers may modify what they get
        leaves = []
        for offset, size, shape, dtype in self.layout:
            chunk = raw[offset : offset + size]
            value = chunk.astype(bool) if dtype == np.bool_ else chunk.view(dtype)
            leaves.append(value.reshape(shape))
        return jax.tree.unflatten(self.treedef, leaves)

    def on_device(self, buffer: Array) -> PyTree:
        """The pytree held in ``buffer`` (uint8 [nbytes]), as traced JAX arrays."""
        leaves = []
        for offset, size, shape, dtype in self.layout:
            chunk = buffer[offset : offset + size]
            if dtype == np.bool_:
                value = chunk != 0
            elif dtype.itemsize == 1:
                value = jax.lax.bitcast_convert_type(chunk, dtype)
            else:
                value = jax.lax.bitcast_convert_type(chunk.reshape(-1, dtype.itemsize), dtype)
            leaves.append(value.reshape(shape))
        return jax.tree.unflatten(self.treedef, leaves)
