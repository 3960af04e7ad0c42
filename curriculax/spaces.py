"""Observation and action spaces for the functional core, convertible to gymnasium spaces."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import Array, PRNGKey


@dataclass(frozen=True)
class Discrete:
    """Integers ``0 .. n - 1``.

    Attributes:
        n: number of values.
    """

    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one element: ``()``."""
        return ()

    @property
    def dtype(self) -> np.dtype:
        """int32."""
        return np.dtype(np.int32)

    def sample(self, key: PRNGKey, shape: tuple[int, ...] = ()) -> Array:
        """Draws uniform values of the given batch shape."""
        return jax.random.randint(key, shape, 0, self.n, dtype=jnp.int32)

    def contains(self, x: Array) -> Array:
        """Whether ``x`` (one element) lies in the space, as a traced bool."""
        x = jnp.asarray(x)
        return (x.shape == ()) & (x >= 0) & (x < self.n)

    def to_gymnasium(self) -> gymnasium.spaces.Discrete:
        """The equivalent gymnasium space."""
        return gymnasium.spaces.Discrete(self.n)


@dataclass(frozen=True)
class Box:
    """Arrays of a fixed shape and dtype with element-wise bounds.

    Attributes:
        low: lower bound of every element.
        high: upper bound of every element.
        shape: shape of one element.
        dtype: numpy dtype of the elements.
    """

    low: float
    high: float
    shape: tuple[int, ...]
    dtype: np.dtype

    def sample(self, key: PRNGKey, shape: tuple[int, ...] = ()) -> Array:
        """Draws uniform elements with the given leading batch shape."""
        full = shape + self.shape
        if np.issubdtype(self.dtype, np.integer):
            return jax.random.randint(key, full, self.low, self.high + 1).astype(self.dtype)
        return jax.random.uniform(key, full, minval=self.low, maxval=self.high).astype(self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether ``x`` (one element) lies in the space, as a traced bool."""
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.asarray(False)
        return jnp.all((x >= self.low) & (x <= self.high))

    def to_gymnasium(self) -> gymnasium.spaces.Box:
        """The equivalent gymnasium space."""
        return gymnasium.spaces.Box(self.low, self.high, self.shape, self.dtype)
