"""Pack a pytree of arrays into one uint8 buffer on device and unpack it on the host.

The gymnasium adapters return several small arrays per step; fetching them one by one costs a
device round-trip each. Packing them inside the jitted step makes it one transfer.
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
    """Rebuilds, as numpy arrays, the pytree that ``pack`` packed.

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
