"""The ``Env`` base: every environment is pure functions of a key, a state, an action and params.

An env writes only its generator (``sample_level``), ``init_state``, ``transition``, ``observe``,
its spaces and ``render``. The base owns ``reset``, ``reset_to_level`` and ``step`` (the time
limit and the split between ``terminated`` and ``truncated``), so every env behaves the same way at
episode boundaries. Nothing here calls ``jax.jit``: the caller jits.

Three kinds of configuration are kept apart:

* static config: constructor arguments that fix array shapes; changing them recompiles;
* ``Params`` (an ``EnvParams`` subclass): a traced pytree describing a distribution of tasks;
* ``Level``: one concrete task drawn from that distribution, fixed-shape and storable.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

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
        reward_range: inclusive bounds of one step's reward (a class constant).
        success_return: an episode whose return exceeds this succeeded (the grids' convention,
            0: any reward means the goal was reached; TeachMyAgent's parkour: 230).
        policy_network: the PPO network that reads this env's observations best
            (``PPOConfig.network``); ``None`` lets ``network="auto"`` choose by the
            observation space alone.
    """

    reward_range: tuple[float, float] = (-float("inf"), float("inf"))
    success_return: float = 0.0
    policy_network: str | None = None

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
        """Draws one level from the distribution ``params`` describes."""

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

    # ----------------------------------------------------------------- what the base owns

    def reset_to_level(self, key: PRNGKey, level: LevelT, params: ParamsT) -> tuple[PyTree, StateT]:
        """Starts an episode on ``level``; returns ``(obs, state)``."""
        state = self.init_state(key, level, params)
        return self.observe(state, params), state

    def reset(self, key: PRNGKey, params: ParamsT) -> tuple[PyTree, StateT]:
        """Starts an episode on a fresh level drawn from ``params``; returns ``(obs, state)``."""
        level_key, reset_key = jax.random.split(key)
        return self.reset_to_level(reset_key, self.sample_level(level_key, params), params)

    def step(
        self, key: PRNGKey, state: StateT, action: Array, params: ParamsT
    ) -> tuple[PyTree, StateT, Array, Array, Array, dict[str, Any]]:
        """Takes one step, without auto-reset.

        ``truncated`` is set when the step count reaches ``params.max_steps``, whether or not the
        episode also terminated on that step (MiniGrid and gymnasium's ``TimeLimit`` do the same);
        a learner must not bootstrap when ``terminated`` is set.

        Returns:
            ``(obs, state, reward, terminated, truncated, info)`` with reward float32 [] and the
            two flags bool [].
        """
        state = state.replace(time=state.time + 1)
        state, reward, terminated = self.transition(key, state, action, params)
        truncated = state.time >= params.max_steps
        obs = self.observe(state, params)
        return obs, state, jnp.asarray(reward, jnp.float32), terminated, truncated, {}

    # ----------------------------------------------------------------- host-side checks

    def make_params(self, **overrides: Any) -> ParamsT:
        """``default_params()`` with fields replaced, validated on the host.

        Raises:
            ValueError: for an unknown field or a value outside ``param_bounds()``.
        """
        params = self.default_params()
        names = {f.name for f in dataclasses.fields(params)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no params {unknown}; its params are {sorted(names)}"
            )
        cast = {
            k: jnp.asarray(v, jnp.asarray(getattr(params, k)).dtype) for k, v in overrides.items()
        }
        params = params.replace(**cast)
        self.validate_params(params)
        return params

    def validate_params(self, params: ParamsT) -> None:
        """Raises ``ValueError`` if a concrete field of ``params`` is outside its bounds.

        Traced values are not checked (they cannot be read). Batched params (one row per env)
        are checked element-wise.
        """
        expected = type(self.default_params())
        if not isinstance(params, expected):
            raise TypeError(f"expected {expected.__name__}, got {type(params).__name__}")
        for name, (low, high) in self.param_bounds().items():
            value = getattr(params, name)
            if isinstance(value, jax.core.Tracer):
                continue
            value = np.asarray(value)
            if value.size and (np.any(value < low) or np.any(value > high)):
                raise ValueError(
                    f"{type(self).__name__} params.{name}={value.tolist()} is outside "
                    f"its bounds [{low}, {high}]"
                )

    def level_shape(self, params: ParamsT | None = None) -> PyTree:
        """The ``jax.ShapeDtypeStruct`` pytree of one level (computed without running anything).

        Level shapes depend only on the static config, so the answer is traced once per env
        configuration and cached (a gymnasium reset with a level asks for it every episode).
        """
        if params is None:
            return _default_level_shape(self)
        return jax.eval_shape(self.sample_level, jax.random.key(0), params)

    def coerce_level(self, level: Any) -> LevelT:
        """Checks that ``level`` has this env's level structure and shapes; casts its dtypes.

        A leading batch dimension is allowed if every leaf has the same one.

        Raises:
            ValueError: on a different structure or shape, before anything is traced.
        """
        expected = self.level_shape()
        want_def = jax.tree.structure(expected)
        got_def = jax.tree.structure(level)
        if want_def != got_def:
            raise ValueError(
                f"not a {type(self).__name__} level: expected {want_def}, got {got_def}"
            )
        batch = None
        leaves = []
        for want, got in zip(jax.tree.leaves(expected), jax.tree.leaves(level), strict=True):
            shape = tuple(np.shape(got))
            lead = shape[: len(shape) - len(want.shape)]
            if shape[len(lead) :] != want.shape or len(lead) > 1 or (batch not in (None, lead)):
                raise ValueError(
                    f"{type(self).__name__} level leaf has shape {shape}; expected {want.shape} "
                    "with at most one leading batch dimension shared by all leaves"
                )
            batch = lead
            leaves.append(jnp.asarray(got, want.dtype))
        return jax.tree.unflatten(want_def, leaves)


@functools.lru_cache(maxsize=256)
def _default_level_shape(env: Env) -> PyTree:
    """``env.level_shape()`` under the default params, cached per (hashable, equal) env."""
    return jax.eval_shape(env.sample_level, jax.random.key(0), env.default_params())
