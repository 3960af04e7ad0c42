"""Packing several arrays into one buffer for a single device-to-host transfer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.packing import Unpacker, pack


def test_pack_then_unpack_restores_every_leaf_exactly():
    tree = {
        "obs": jnp.arange(2 * 7 * 7 * 3, dtype=jnp.uint8).reshape(2, 7, 7, 3),
        "reward": jnp.array([0.1, -3.5e-8], jnp.float32),
        "flags": (jnp.array([True, False]), jnp.array(True)),
        "count": jnp.array([[-1, 2**31 - 1]], jnp.int32),
    }
    unpack = Unpacker(jax.eval_shape(lambda t: t, tree))
    buffer = jax.jit(pack)(tree)
    assert buffer.dtype == jnp.uint8 and buffer.shape == (unpack.nbytes,)
    out = unpack(buffer)
    for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(tree), strict=True):
        assert got.dtype == np.asarray(want).dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, np.asarray(want))
    out["obs"][0, 0, 0, 0] = 9  # the caller owns a writable copy


def test_unpack_on_device_inside_jit_restores_every_leaf():
    tree = (jax.random.key_data(jax.random.key(3)), jnp.array([True, False]), jnp.float32(2.5))
    unpack = Unpacker(jax.eval_shape(lambda t: t, tree))
    out = jax.jit(lambda t: unpack.on_device(pack(t)))(tree)
    for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(tree), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
