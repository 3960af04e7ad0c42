"""The ``Env`` base: every environment is pure functions of a key, a state, an action and params.

An env writes only its generator (``sample_level``), ``init_state``, ``transition``, ``observe``,
its spaces and ``render``. The base owns ``reset``, ``reset_to_level`` and ``step`` (the time
limit and the split between ``terminated`` and ``truncated``), so every env behaves the same way at
episode boundaries. Nothing here calls ``jax.jit``: the caller jits.

Three kinds of configuration are kept apart:

* static config: constructor arguments that fix array shapes; changing them recompiles;
* ``Params`` (an ``EnvParams`` subclass): a traced pytree describing a distribution of tasks;
* ``Level``: one concrete task drawn from that distribution, fixed-shape and storable.

What the base checks (docs/environments.md, "Bad input"): at trace time, the class, shapes and
dtype kinds of the params, the level and the action given to ``reset``, ``reset_to_level`` and
``step`` (static, so the compiled program is unchanged); on the host, concrete values (params
against ``param_bounds()``, levels against ``level_checks``). Traced values are not checked:
params outside their bounds are clipped into them where a level is drawn (every
``sample_level`` is wrapped to do so), an action outside a ``Discrete`` space is a no-op (each
family's rule, tested per family), and ``checked(env)`` turns all of these into
``checkify`` errors.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import functools
from types import ModuleType
from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from curriculax.spaces import Box, Discrete
from curriculax.types import Array, EnvParams, EnvState, PRNGKey, PyTree

LevelT = TypeVar("LevelT")
StateT = TypeVar("StateT", bound=EnvState)
ParamsT = TypeVar("ParamsT", bound=EnvParams)

#: Largest int32, the open upper bound of integer parameters.
INT32_MAX = int(np.iinfo(np.int32).max)


class Env(abc.ABC, Generic[LevelT, StateT, ParamsT]):
    """Base class of every curriculax environment.

    Subclasses validate their static config in ``__init__`` (so bad config fails before tracing)
    and implement the abstract methods below. All methods are pure and jittable.

    Attributes:
        reward_range: inclusive bounds of one step's reward (a class constant, or set per
            instance where a constructor option moves it).
        success_return: an episode whose return exceeds this succeeded (the grids' convention,
            0: any reward means the goal was reached; TeachMyAgent's parkour: 230).
        policy_network: the PPO network that reads this env's observations best
            (``PPOConfig.network``); ``None`` lets ``network="auto"`` choose by the
            observation space alone.
    """

    reward_range: tuple[float, float] = (-float("inf"), float("inf"))
    success_return: float = 0.0
    policy_network: str | None = None
    #: Whether value checks are traced into the program (``checked``); static.
    checks: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wraps a subclass's own ``sample_level`` to clip traced params into their bounds."""
        super().__init_subclass__(**kwargs)
        if "sample_level" in vars(cls) and not getattr(
            vars(cls)["sample_level"], "__isabstractmethod__", False
        ):
            cls.sample_level = _clipping_params(vars(cls)["sample_level"])

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))

    # ----------------------------------------------------------------- what each env writes

    @abc.abstractmethod
    def default_params(self) -> ParamsT:
        """The default task distribution and episode knobs."""

    def succeeded(self, episode_return: Array) -> Array:
        """Whether episodes with these returns succeeded (the one place that decides it).

        Args:
            episode_return: float, any shape: undiscounted episode returns.

        Returns:
            bool, same shape: ``episode_return > success_return``.
        """
        return jnp.asarray(episode_return) > self.success_return

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """Inclusive bounds of each curriculum-adaptable parameter, by field name."""
        return {"max_steps": (1, INT32_MAX)}

    @abc.abstractmethod
    def sample_level(self, key: PRNGKey, params: ParamsT) -> LevelT:
        """Draws one level from the distribution ``params`` describes.

        The base wraps every subclass's ``sample_level`` so that it sees ``clip_params(params)``:
        traced fields outside ``param_bounds()`` are clipped into them (a NaN to the low bound).
        """

    @abc.abstractmethod
    def init_state(self, key: PRNGKey, level: LevelT, params: ParamsT) -> StateT:
        """The state at the start of an episode on ``level`` (with ``time`` 0)."""

    @abc.abstractmethod
    def transition(
        self, key: PRNGKey, state: StateT, action: Array, params: ParamsT
    ) -> tuple[StateT, Array, Array]:
        """Applies ``action``; ``state.time`` already counts this step.

        Returns:
            The next state, the float32 [] reward and the bool [] terminated flag.
        """

    @abc.abstractmethod
    def observe(self, state: StateT, params: ParamsT) -> PyTree:
        """The observation of ``state``."""

    @abc.abstractmethod
    def observation_space(self, params: ParamsT) -> Box | Discrete:
        """The space of one observation."""

    @abc.abstractmethod
    def action_space(self, params: ParamsT) -> Box | Discrete:
        """The space of one action."""

    def mutate_level(self, key: PRNGKey, level: LevelT, params: ParamsT) -> LevelT:
        """An edited copy of ``level`` that stays valid (ACCEL's mutations)."""
        raise NotImplementedError(f"{type(self).__name__} does not support mutate_level")

    def render(self, state: StateT, params: ParamsT) -> Array:
        """An RGB picture of ``state``: uint8 [height, width, 3]."""
        raise NotImplementedError(f"{type(self).__name__} does not render")

    def editor(self, **options: Any) -> Any:
        """The MDP in which a PAIRED adversary builds this env's levels, one piece per step."""
        raise NotImplementedError(
            f"{type(self).__name__} declares no level editor (PAIRED's adversary builds levels "
            "of the mazes: curriculax/Maze-v0, curriculax/Maze-60Walls-v0 and "
            "curriculax/PerfectMaze-{15x15,21x21,31x31}-v0)"
        )

    # ----------------------------------------------------------------- what the base owns

    def reset_to_level(self, key: PRNGKey, level: LevelT, params: ParamsT) -> tuple[PyTree, StateT]:
        """Starts an episode on ``level``; returns ``(obs, state)``.

        Raises:
            TypeError, ValueError: params or a level of another env, or of the wrong shapes or
                dtypes (at trace time); concrete params outside their bounds or a concrete level
                that breaks ``level_checks`` (on the host, before anything runs).
        """
        self._check_params(params, "reset_to_level")
        self._check_level(level)
        state = self.init_state(key, level, params)
        return self.observe(state, params), state

    def reset(self, key: PRNGKey, params: ParamsT) -> tuple[PyTree, StateT]:
        """Starts an episode on a fresh level drawn from ``params``; returns ``(obs, state)``.

        Raises:
            TypeError, ValueError: as ``reset_to_level``, for the params.
        """
        self._check_params(params, "reset")
        level_key, reset_key = jax.random.split(key)
        return self.reset_to_level(reset_key, self.sample_level(level_key, params), params)

    def step(
        self, key: PRNGKey, state: StateT, action: Array, params: ParamsT
    ) -> tuple[PyTree, StateT, Array, Array, Array, dict[str, Any]]:
        """Takes one step, without auto-reset.

        ``truncated`` is set when the step count reaches ``params.max_steps``, whether or not the
        episode also terminated on that step (MiniGrid and gymnasium's ``TimeLimit`` do the same);
        a learner must not bootstrap when ``terminated`` is set.

        ``action`` must have the action space's shape and dtype kind (an int scalar for a
        ``Discrete`` space), checked at trace time; its value is not checked (see the module).

        Returns:
            ``(obs, state, reward, terminated, truncated, info)`` with reward float32 [] and the
            two flags bool [].

        Raises:
            TypeError, ValueError: an action or params of the wrong class, shape or dtype kind
                (at trace time), concrete params outside their bounds.
        """
        self._check_params(params, "step")
        self._check_action(action, params)
        state = state.replace(time=state.time + 1)
        state, reward, terminated = self.transition(key, state, action, params)
        truncated = state.time >= params.max_steps
        obs = self.observe(state, params)
        return obs, state, jnp.asarray(reward, jnp.float32), terminated, truncated, {}

    # ----------------------------------------------------------------- host-side checks

    def make_params(self, **overrides: Any) -> ParamsT:
        """``default_params()`` with fields replaced, validated on the host.

        Each value must be of its field's kind (an int field takes ints, not ``5.5`` or
        ``True``; a float field finite numbers; a bool field bools), of its field's shape (or
        with one leading per-env axis), and inside ``param_bounds()``.

        Raises:
            ValueError: for an unknown field, a value of the wrong kind or shape, or outside its
                bounds; the message names the field.
        """
        params = self.default_params()
        names = {f.name for f in dataclasses.fields(params)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no params {unknown}; its params are {sorted(names)}"
            )
        cast = {
            name: _param_value(f"{type(self).__name__} params.{name}", value, getattr(params, name))
            for name, value in overrides.items()
        }
        params = params.replace(**cast)
        self.validate_params(params)
        return params

    def checked_bounds(self) -> dict[str, tuple[float, float]]:
        """Bounds every Params value must keep: ``param_bounds()``, and any an env adds.

        ``validate_params`` checks them on the host, ``clip_params`` clips traced values into
        them and a ``checked`` env checks traced values against them.
        """
        return self.param_bounds()

    def validate_params(self, params: ParamsT) -> None:
        """Raises ``ValueError`` if a concrete field of ``params`` is outside its bounds.

        Traced values are not checked (they cannot be read). Batched params (one row per env)
        are checked element-wise; NaN is outside every bound.
        """
        expected = type(self.default_params())
        if not isinstance(params, expected):
            raise TypeError(f"expected {expected.__name__}, got {type(params).__name__}")
        for name, (low, high) in self.checked_bounds().items():
            value = getattr(params, name)
            if isinstance(value, jax.core.Tracer):
                continue
            value = np.asarray(value)
            if value.size and not np.all((value >= low) & (value <= high)):
                raise ValueError(
                    f"{type(self).__name__} params.{name}={value.tolist()} is outside "
                    f"its bounds [{low}, {high}]"
                )

    def clip_params(self, params: ParamsT) -> ParamsT:
        """``params`` with every bounded field clipped into ``checked_bounds()`` (NaN: low).

        Jittable; what every ``sample_level`` sees (see ``Env.__init_subclass__``).
        """
        out = {}
        for name, (low, high) in self.checked_bounds().items():
            value = jnp.asarray(getattr(params, name))
            if jnp.issubdtype(value.dtype, jnp.floating):
                value = jnp.where(jnp.isnan(value), jnp.asarray(low, value.dtype), value)
            out[name] = jnp.clip(value, low, high).astype(value.dtype)
        return params.replace(**out)

    def level_shape(self, params: ParamsT | None = None) -> PyTree:
        """The ``jax.ShapeDtypeStruct`` pytree of one level (computed without running anything).

        Level shapes depend only on the static config, so the answer is traced once per env
        configuration and cached (a gymnasium reset with a level asks for it every episode).
        """
        if params is None:
            return _default_level_shape(self)
        return jax.eval_shape(self.sample_level, jax.random.key(0), params)

    def level_checks(self, level: LevelT, xp: ModuleType) -> list[tuple[str, Any]]:
        """The value invariants of a level: ``(what must hold, bool array true where it does)``.

        Written with array operators and ``xp`` (``numpy`` on the host, ``jax.numpy`` in a
        ``checked`` env), and elementwise, so that a leading batch axis is allowed. The base
        requires finite floats; families add their own (the agent on the grid, ...).
        """
        checks = []
        for path, leaf in jax.tree_util.tree_flatten_with_path(level)[0]:
            if jnp.issubdtype(leaf.dtype, jnp.floating):
                checks.append((f"{jax.tree_util.keystr(path)} finite", xp.isfinite(leaf)))
        return checks

    def check_level(self, level: LevelT) -> None:
        """Raises ``ValueError`` naming every ``level_checks`` invariant a concrete level breaks.

        ``level`` holds concrete arrays, with or without a leading batch axis.
        """
        level = jax.tree.map(np.asarray, level)
        failed = [what for what, ok in self.level_checks(level, np) if not np.all(ok)]
        if failed:
            raise ValueError(f"malformed {type(self).__name__} level: " + "; ".join(failed))

    def coerce_level(self, level: Any) -> LevelT:
        """Checks a concrete level's structure, shapes, dtype kinds and values; casts its dtypes.

        A leading batch dimension is allowed if every leaf has the same one. Casts are lossless:
        an int leaf takes ints that fit its dtype, a float leaf numbers, a bool leaf bools.

        Raises:
            ValueError: on a different structure, shape or dtype kind, or a value that breaks
                ``level_checks`` (``check_level``), before anything is traced.
        """
        name = type(self).__name__
        expected = self.level_shape()
        want_def = jax.tree.structure(expected)
        try:
            got_def = jax.tree.structure(level)
        except (TypeError, ValueError) as err:  # e.g. a dict whose keys do not sort
            raise ValueError(f"not a {name} level: {err}") from None
        if want_def != got_def:
            raise ValueError(f"not a {name} level: expected {want_def}, got {got_def}")
        batch = None
        leaves = []
        paths = jax.tree_util.tree_flatten_with_path(expected)[0]
        for (path, want), got in zip(paths, jax.tree.leaves(level), strict=True):
            where = f"{name} level leaf {jax.tree_util.keystr(path)}"
            got = np.asarray(got)
            shape = got.shape
            lead = shape[: len(shape) - len(want.shape)]
            if shape[len(lead) :] != want.shape or len(lead) > 1 or (batch not in (None, lead)):
                raise ValueError(
                    f"{where} has shape {shape}; expected {want.shape} "
                    "with at most one leading batch dimension shared by all leaves"
                )
            batch = lead
            if not _kind_fits(got.dtype, want.dtype):
                raise ValueError(f"{where} has dtype {got.dtype}; expected {want.dtype}")
            cast = got.astype(want.dtype)
            if want.dtype.kind in "iub" and not np.array_equal(cast, got):
                raise ValueError(f"{where} has values that do not fit its dtype {want.dtype}")
            leaves.append(cast)
        level = jax.tree.unflatten(want_def, leaves)
        self.check_level(level)
        return jax.tree.map(jnp.asarray, level)

    # ----------------------------------------------------------------- trace-time checks

    def _check_params(self, params: Any, where: str) -> None:
        """Class, shapes and dtype kinds of ``params`` (static); concrete values on the host."""
        name = type(self).__name__
        cls, fields = _params_spec(self)
        if not isinstance(params, cls):
            raise TypeError(
                f"{name}.{where}: params must be {cls.__qualname__} (this env's "
                f"default_params() or make_params()), got {type(params).__qualname__}"
            )
        concrete = False
        for field, (shape, dtype) in fields.items():
            value = getattr(params, field)
            got_shape, got_dtype = tuple(np.shape(value)), _dtype_of(value)
            if got_shape != shape:
                hint = (
                    " (per-env params go through jax.vmap or AutoResetVecEnv)"
                    if got_shape[1:] == shape
                    else ""
                )
                raise ValueError(
                    f"{name}.{where}: params.{field} has shape {got_shape}, expected {shape}{hint}"
                )
            if not _kind_fits(got_dtype, dtype):
                raise TypeError(
                    f"{name}.{where}: params.{field} has dtype {got_dtype}, expected {dtype}"
                )
            concrete = concrete or not isinstance(value, jax.core.Tracer)
        if concrete:
            self.validate_params(params)
        if self.checks:
            for field, (low, high) in self.checked_bounds().items():
                value = jnp.asarray(getattr(params, field))
                checkify.check(
                    jnp.all((value >= low) & (value <= high)),
                    f"{name}.{where}: params.{field}={{}} is outside its bounds [{low}, {high}]",
                    value,
                )

    def _check_level(self, level: Any) -> None:
        """Structure, shapes and dtype kinds of one level (static); concrete values on the host."""
        name = type(self).__name__
        expected = self.level_shape()
        want_def, got_def = jax.tree.structure(expected), jax.tree.structure(level)
        if want_def != got_def:
            raise TypeError(
                f"{name}.reset_to_level: not a {name} level: expected {want_def}, got {got_def}"
            )
        paths = jax.tree_util.tree_flatten_with_path(expected)[0]
        leaves = jax.tree.leaves(level)
        for (path, want), got in zip(paths, leaves, strict=True):
            where = f"{name}.reset_to_level: level{jax.tree_util.keystr(path)}"
            if tuple(np.shape(got)) != want.shape:
                raise ValueError(
                    f"{where} has shape {tuple(np.shape(got))}, expected {want.shape} "
                    "(batches of levels go through jax.vmap or AutoResetVecEnv)"
                )
            if not _kind_fits(_dtype_of(got), want.dtype):
                raise TypeError(f"{where} has dtype {_dtype_of(got)}, expected {want.dtype}")
        if not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            self.check_level(level)
        if self.checks:
            for what, ok in self.level_checks(level, jnp):
                checkify.check(jnp.all(ok), f"malformed {name} level: {what}")

    def _check_action(self, action: Any, params: ParamsT) -> None:
        """Shape and dtype kind of one action against the action space (static)."""
        name = type(self).__name__
        space = self.action_space(params)
        shape, dtype = tuple(np.shape(action)), _dtype_of(action)
        if isinstance(space, Discrete):
            if shape != ():
                raise ValueError(
                    f"{name}.step: an action of Discrete({space.n}) is one int scalar, got shape "
                    f"{shape} (batches of actions go through jax.vmap or AutoResetVecEnv)"
                )
            if dtype.kind not in "iu":
                raise TypeError(
                    f"{name}.step: an action of Discrete({space.n}) is an int, got dtype {dtype}"
                )
        else:
            if shape != tuple(space.shape):
                raise ValueError(
                    f"{name}.step: an action has shape {tuple(space.shape)} (Box [{space.low}, "
                    f"{space.high}]), got shape {shape}"
                )
            if not _kind_fits(dtype, np.dtype(space.dtype)):
                raise TypeError(
                    f"{name}.step: an action has dtype {np.dtype(space.dtype)}, got {dtype}"
                )
        if self.checks:
            checkify.check(
                space.contains(action), f"{name}.step: action {{}} is outside {space}", action
            )


EnvT = TypeVar("EnvT", bound=Env)


def checked(env: EnvT) -> EnvT:
    """A copy of ``env`` whose ``reset``, ``reset_to_level`` and ``step`` check values.

    The checks are ``jax.experimental.checkify`` checks, traced into the program: actions
    inside the action space, params inside ``checked_bounds()``, levels that keep
    ``level_checks``. Run the env's functions under ``checkify.checkify`` and throw::

        env = curriculax.checked(env)
        step = jax.jit(checkify.checkify(jax.vmap(env.step, (0, 0, 0, None))))
        error, out = step(keys, states, actions, params)
        error.throw()  # checkify.JaxRuntimeError (a ValueError) naming the first failed check

    Traced without ``checkify.checkify``, a checked env's functions raise at trace time (JAX:
    "a checkify.check which was not functionalized"). The unchecked env's programs carry no
    checks at all; a checked env compiles its own.
    """
    out = copy.copy(env)
    out.checks = True
    return out


def _clipping_params(sample_level: Any) -> Any:
    """``sample_level`` that draws from ``self.clip_params(params)``."""

    @functools.wraps(sample_level)
    def wrapped(self: Env, key: PRNGKey, params: Any, *args: Any, **kwargs: Any) -> Any:
        return sample_level(self, key, self.clip_params(params), *args, **kwargs)

    return wrapped


def _dtype_of(value: Any) -> np.dtype:
    """The dtype of an array, a tracer or a Python scalar (``int`` -> int64 etc.)."""
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(value).dtype


def _kind_fits(got: np.dtype, want: np.dtype) -> bool:
    """Whether values of dtype ``got`` may stand for ``want``'s.

    Bools for bools, ints for ints, ints and floats for floats; other kinds are their owner's.
    """
    if want.kind == "b":
        return got.kind == "b"
    if want.kind in "iu":
        return got.kind in "iu"
    if want.kind == "f":
        return got.kind in "iuf"
    return True


_KIND_WORDS = {"b": "a bool (True or False)", "i": "an int", "u": "an int", "f": "a finite number"}


def _param_value(where: str, value: Any, default: Any) -> Any:
    """``value`` for the Params field whose default is ``default``, checked and cast.

    Raises:
        ValueError: naming ``where``, for a value of the wrong kind or shape, or an int that
            does not fit the field's dtype, or a non-finite float.
    """
    want = np.dtype(_dtype_of(default))
    shape = tuple(np.shape(default))
    if isinstance(value, jax.core.Tracer):
        return jnp.asarray(value, want)
    words = _KIND_WORDS.get(want.kind, str(want))
    if shape:
        words = f"an array of shape {shape} of {words.split(' (')[0].removeprefix('a ')}s"
    try:
        array = np.asarray(value)
    except Exception:
        raise ValueError(f"{where} must be {words}, got {value!r}") from None
    if not _kind_fits(array.dtype, want):
        raise ValueError(f"{where} must be {words}, got {value!r}")
    if array.shape != shape and array.shape[1:] != shape:
        raise ValueError(
            f"{where} must be {words} (or one per env: shape (N, ...)), got shape {array.shape}"
        )
    if want.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{where} must be finite, got {value!r}")
    with np.errstate(over="ignore"):
        cast = array.astype(want)
    if want.kind == "f" and not np.all(np.isfinite(cast)):  # beyond float32's range
        raise ValueError(f"{where}={value!r} does not fit {want}")
    if want.kind in "iu" and not np.array_equal(cast, array):
        raise ValueError(f"{where}={value!r} does not fit {want}")
    return jnp.asarray(cast)


@functools.lru_cache(maxsize=256)
def _default_level_shape(env: Env) -> PyTree:
    """``env.level_shape()`` under the default params, cached per (hashable, equal) env."""
    return jax.eval_shape(env.sample_level, jax.random.key(0), env.default_params())


@functools.lru_cache(maxsize=256)
def _params_spec(env: Env) -> tuple[type, dict[str, tuple[tuple[int, ...], np.dtype]]]:
    """The Params class of ``env`` and each field's shape and dtype, cached per env."""
    params = env.default_params()
    fields = {
        f.name: (tuple(np.shape(getattr(params, f.name))), _dtype_of(getattr(params, f.name)))
        for f in dataclasses.fields(params)
    }
    return type(params), fields
