"""A continuous box over an env's curriculum-adaptable Params, for parameter-space teachers.

ALP-GMM and ADR (TeachMyAgent's teachers) move over a continuous box of task parameters, one
dimension per Params field: a task is a vector ``x`` [d] in env units, and ``to_params`` turns it
into Params (integer fields rounded) from which ``env.sample_level`` draws the level. Teachers
work in the unit cube [0, 1]^d (``to_unit`` / ``from_unit``), so that one step size or one
Gaussian width means the same share of every dimension.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree


class ParamSpace:
    """The box of an env's curriculum-adaptable Params fields.

    A field is adaptable when ``env.param_bounds()`` bounds it with a finite range, it is a
    scalar, it is not ``max_steps`` (the episode knob stays the trainer's) and it is not boolean.
    One dimension is one scalar field: a vector field (``Form.kind_weights`` [7], relative
    widget frequencies) or one bounded only on one side is never a dimension, and naming it in
    ``dims`` is a ``ValueError`` that says why. By default every adaptable field of non-zero
    width is a dimension, in ``param_bounds()`` order; ``dims`` picks some (a zero-width field
    may be picked: it then stays at its bound).
    Fields that are not dimensions keep their value in ``params``. ``bounds`` narrows a
    dimension's range inside the env's (TeachMyAgent's teachers take their box the same way,
    e.g. a walker's Parkour tasks kept mostly dry).

    Args:
        env: the env.
        params: the Params whose non-dimension fields every task keeps (default: the env's).
        dims: names of the fields to adapt, in order (default: every adaptable field).
        bounds: dimension name -> (low, high), a sub-range of the env's bounds (default: the
            env's bounds for every dimension).

    Attributes:
        names: tuple of the d field names.
        low: float32 [d], the fields' lower bounds (env units).
        high: float32 [d], the fields' upper bounds (env units).
        integer: bool [d], whether the field has an integer dtype (rounded by ``to_params``).

    Raises:
        ValueError: on an empty, repeated, unknown or not adaptable name in ``dims`` (the
            message says why and lists the adaptable fields), an env without any adaptable
            field, or a ``bounds`` entry that
            names no dimension, is not a finite pair with low <= high, or leaves the env's
            bounds.
    """

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        dims: Sequence[str] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        if not isinstance(env, Env):
            raise TypeError(f"a ParamSpace needs a curriculax Env, got {type(env).__name__}")
        params = env.default_params() if params is None else params
        env.validate_params(params)
        if jnp.ndim(params.max_steps) != 0:
            raise ValueError("a ParamSpace is built on one shared Params, not per-env ones")
        fields = {f.name for f in dataclasses.fields(params)}
        env_bounds = env.param_bounds()
        # Why each bounded field that is not adaptable is not (None: it is adaptable).
        refused = {
            name: _not_adaptable(name, getattr(params, name), env_bounds[name])
            for name in env_bounds
            if name in fields
        }
        adaptable = [name for name, why in refused.items() if why is None]
        env_name = type(env).__name__
        if dims is None:
            dims = [name for name in adaptable if env_bounds[name][1] > env_bounds[name][0]]
            if not dims:
                raise ValueError(
                    f"{env_name} has no curriculum-adaptable Params field (scalar, numeric, "
                    f"finitely bounded, of non-zero width, other than max_steps); its bounds "
                    f"are {env_bounds}"
                )
        else:
            if isinstance(dims, str):
                raise ValueError(f"dims must be a sequence of field names, got the str {dims!r}")
            dims = list(dims)
            if not dims:
                raise ValueError(f"dims is empty; {env_name}'s adaptable fields are {adaptable}")
            unfit = [f"{name} ({refused[name]})" for name in dims if refused.get(name)]
            if unfit:
                raise ValueError(
                    f"{env_name} cannot adapt {', '.join(unfit)}: a dimension is one scalar, "
                    f"finitely bounded field; its adaptable fields are {adaptable}"
                )
            unknown = [name for name in dims if name not in adaptable]
            if unknown:
                raise ValueError(
                    f"{env_name} cannot adapt {unknown}; its adaptable fields are {adaptable}"
                )
            if len(set(dims)) != len(dims):
                raise ValueError(f"dims {dims} names a field twice")
        box = {**env_bounds, **_check_narrowing(env_name, env_bounds, dims, bounds)}
        self.env = env
        self.params = params
        self.names: tuple[str, ...] = tuple(dims)
        self.low = np.asarray([box[n][0] for n in self.names], np.float32)
        self.high = np.asarray([box[n][1] for n in self.names], np.float32)
        self._dtypes = [jnp.asarray(getattr(params, n)).dtype for n in self.names]
        self.integer = np.asarray([jnp.issubdtype(t, jnp.integer) for t in self._dtypes], bool)
        # Integer fields take whole values inside their bounds.
        self._int_low = [float(math.ceil(box[n][0])) for n in self.names]
        self._int_high = [float(math.floor(box[n][1])) for n in self.names]
        empty = [
            n
            for n, lo, hi in zip(self.names, self._int_low, self._int_high, strict=True)
            if lo > hi
        ]
        if empty:
            raise ValueError(f"bounds leave no whole value for the integer fields {empty}")
        self._span = np.where(self.high > self.low, self.high - self.low, 1.0).astype(np.float32)

    def __repr__(self) -> str:
        box = ", ".join(
            f"{n}=[{lo:g}, {hi:g}]"
            for n, lo, hi in zip(self.names, self.low, self.high, strict=True)
        )
        return f"ParamSpace({type(self.env).__name__}: {box})"

    @property
    def dim(self) -> int:
        """d, the number of dimensions."""
        return len(self.names)

    def to_unit(self, x: Array) -> Array:
        """Env units to the unit cube: float32 [..., d] -> [..., d] (zero-width fields map to 0)."""
        u = (jnp.asarray(x, jnp.float32) - self.low) / self._span
        return jnp.clip(u, 0.0, 1.0)

    def from_unit(self, u: Array) -> Array:
        """The unit cube to env units: float32 [..., d] -> [..., d], clipped to the box."""
        x = self.low + jnp.asarray(u, jnp.float32) * self._span
        return jnp.clip(x, self.low, self.high)

    def to_params(self, x: Array) -> EnvParams:
        """The Params of one task vector; jittable.

        Args:
            x: float [d], in env units.

        Returns:
            ``params`` with each dimension's field set to its entry of ``x``, clipped to its
            bounds; integer fields are rounded (half to even) to a whole value inside the bounds.
            Every field keeps its dtype and its shape [].
        """
        x = jnp.asarray(x, jnp.float32)
        if x.shape != (self.dim,):
            raise ValueError(f"a task vector has shape ({self.dim},), got {x.shape}")
        values = {}
        for i, name in enumerate(self.names):
            v = jnp.clip(x[i], self.low[i], self.high[i])
            if self.integer[i]:
                v = jnp.clip(jnp.round(v), self._int_low[i], self._int_high[i])
            values[name] = v.astype(self._dtypes[i])
        return self.params.replace(**values)

    def levels(self, key: PRNGKey, x: Array) -> PyTree:
        """One level per task vector.

        Args:
            key: PRNG key.
            x: float [N, d], tasks in env units.

        Returns:
            The levels, leaves [N, ...]; row i drawn from ``to_params(x[i])``.
        """
        x = jnp.asarray(x, jnp.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"tasks must have shape (N, {self.dim}), got {x.shape}")
        params = jax.vmap(self.to_params)(x)
        keys = jax.random.split(key, x.shape[0])
        return jax.vmap(self.env.sample_level)(keys, params)


def _not_adaptable(name: str, value: Any, bounds: tuple[float, float]) -> str | None:
    """Why the field ``name`` (its default ``value``, its env ``bounds``) is not a dimension."""
    value = jnp.asarray(value)
    if name == "max_steps":
        return "the episode's step budget stays the trainer's"
    if value.dtype == jnp.bool_:
        return "boolean"
    if value.ndim != 0:
        return f"a vector field of shape {tuple(value.shape)}"
    low, high = (float(v) for v in bounds)
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"unbounded: [{low:g}, {high:g}]"
    return None


def _check_narrowing(
    env_name: str,
    env_bounds: dict[str, tuple[float, float]],
    dims: Sequence[str],
    narrow: Mapping[str, tuple[float, float]] | None,
) -> dict[str, tuple[float, float]]:
    """``narrow`` checked against the dimensions and the env's bounds, as float pairs."""
    if narrow is None:
        return {}
    if not isinstance(narrow, Mapping):
        raise ValueError(f"bounds must map dimension names to (low, high), got {narrow!r}")
    checked = {}
    for name, pair in narrow.items():
        if name not in dims:
            raise ValueError(f"bounds names {name!r}, which is not a dimension; dims: {list(dims)}")
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"bounds[{name!r}] must be a pair (low, high), got {pair!r}") from None
        env_low, env_high = env_bounds[name]
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ValueError(f"bounds[{name!r}] needs finite low <= high, got {pair!r}")
        if low < env_low or high > env_high:
            raise ValueError(
                f"bounds[{name!r}] = {pair!r} leaves {env_name}'s bounds "
                f"[{env_low:g}, {env_high:g}]"
            )
        checked[name] = (low, high)
    return checked


def check_reward_range(owner: str, reward_range: Any) -> tuple[float, float]:
    """``reward_range`` as floats (low, high); raises ``ValueError`` unless low < high."""
    try:
        low, high = (float(v) for v in reward_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"{owner}.reward_range must be a pair (low, high), got {reward_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{owner}.reward_range needs finite low < high, got {reward_range!r}")
    return low, high


def unit_returns(returns: Array, reward_range: tuple[float, float]) -> Array:
    """Returns [N] mapped linearly from ``reward_range`` onto [0, 1], clipped.

    This is TeachMyAgent's reward scaling (``np.interp`` onto (0, 1)).
    """
    low, high = reward_range
    return jnp.clip((jnp.asarray(returns, jnp.float32) - low) / (high - low), 0.0, 1.0)
