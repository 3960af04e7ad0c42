"""The gymnasium face: one env (numpy in and out) and a natively batched vector env.

``gymnasium.make("curriculax/...")`` builds ``GymnasiumEnv``; ``gymnasium.make_vec(id, num_envs=N)``
builds ``GymnasiumVectorEnv``, which steps all N envs in one compiled call with same-step
auto-reset (``metadata["autoreset_mode"]`` is ``AutoresetMode.SAME_STEP``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from curriculax import registry
from curriculax.autoreset import AutoResetVecEnv, ResetMode
from curriculax.packing import Unpacker, pack
from curriculax.types import PRNGKey

RENDER_FPS = 10
#: Host-stepped steps after which ``GymnasiumEnv`` takes its key's pending splits (an int32).
_MAX_PENDING_SPLITS = 1 << 30

#: Whether this process was forked from one whose JAX backend had started (see ``spawned``).
_FORKED_AFTER_JAX = False


def _note_fork() -> None:
    """In a forked child: remember whether the parent's JAX backend was running."""
    global _FORKED_AFTER_JAX
    from jax._src import xla_bridge  # read without the lock a parent's thread may have held

    _FORKED_AFTER_JAX = _FORKED_AFTER_JAX or bool(getattr(xla_bridge, "_backends", True))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_note_fork)


def key_from_seed(seed: int) -> PRNGKey:
    """A JAX key from any non-negative Python int seed (all 64 bits count)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    key = jax.random.key(seed & 0xFFFFFFFF)
    return jax.random.fold_in(key, (seed >> 32) & 0xFFFFFFFF) if seed >> 32 else key


def _resolve_params(env: Any, params: Any, value: Any) -> Any:
    """Params from ``options["params"]``: a Params object or a dict of field overrides."""
    if value is None:
        return params
    if isinstance(value, dict) and not all(isinstance(name, str) for name in value):
        raise TypeError(f"options['params'] takes field names (str) as keys, got {list(value)}")
    new = env.make_params(**{**_as_dict(params), **value}) if isinstance(value, dict) else value
    env.validate_params(new)
    return new


def _reset_options(options: Any, known: tuple[str, ...]) -> dict[str, Any]:
    """``reset``'s ``options`` as a dict, refusing anything else and keys not in ``known``."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"reset options must be a dict with keys {list(known)}, got {options!r}")
    unknown = sorted(set(options) - set(known), key=repr)
    if unknown:
        raise ValueError(
            f"unknown reset options {unknown}; expected {' and/or '.join(map(repr, known))}"
        )
    return dict(options)


def _as_dict(params: Any) -> dict[str, Any]:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}


def _zero_action(space: Any, batch: tuple[int, ...] = ()) -> jax.Array:
    """An all-zero action of ``space`` (a curriculax space) with a leading ``batch`` shape."""
    return jnp.zeros(batch + tuple(space.shape), space.dtype)


class _SingleEnvProgram:
    """The compiled functions behind ``GymnasiumEnv``, shared by equal envs (``compiled``).

    The episode's key, state and params travel between calls as one uint8 device buffer (the
    *carry*) and a step's ``(obs, reward, terminated, truncated)`` come back as another, so a
    step is one jitted call with two arguments and one transfer to the host.
    """

    def __init__(self, env: Any) -> None:
        params = env.default_params()

        def carry_of(key, params):
            _, state = env.reset(key, params)
            return jax.random.key_data(key), state, params

        def outputs_of(key, params):
            _, state = env.reset(key, params)
            action = _zero_action(env.action_space(params))
            obs, _, reward, terminated, truncated, _ = env.step(key, state, action, params)
            return obs, reward, terminated, truncated

        self.carry = Unpacker(jax.eval_shape(carry_of, jax.random.key(0), params))
        self.outputs = Unpacker(jax.eval_shape(outputs_of, jax.random.key(0), params))
        unpack_carry = self.carry.on_device

        def start(key, state, params):
            return pack((jax.random.key_data(key), state, params))

        def reset(key, params):
            key, sub = jax.random.split(key)
            obs, state = env.reset(sub, params)
            return start(key, state, params), obs

        def reset_to_level(key, level, params):
            key, sub = jax.random.split(key)
            obs, state = env.reset_to_level(sub, level, params)
            return start(key, state, params), obs

        def step(carry, action):
            key_data, state, params = unpack_carry(carry)
            key, sub = jax.random.split(jax.random.wrap_key_data(key_data))
            obs, state, reward, terminated, truncated, _ = env.step(sub, state, action, params)
            return start(key, state, params), pack((obs, reward, terminated, truncated))

        def render(carry):
            _, state, params = unpack_carry(carry)
            return env.render(state, params)

        # For an env stepped on the host (``GymnasiumEnv``'s host-stepper hook): the key is
        # split once per step, as ``step`` splits it, but only when it is next needed.
        def advance(key, steps):
            return jax.lax.fori_loop(0, steps, lambda _, k: jax.random.split(k)[0], key)

        def reset_after(key_data, steps, params):
            return reset(advance(jax.random.wrap_key_data(key_data), steps), params)

        def reset_to_level_after(key_data, steps, level, params):
            key = advance(jax.random.wrap_key_data(key_data), steps)
            return reset_to_level(key, level, params)

        def resume(carry, steps, state):
            key_data, _, params = unpack_carry(carry)
            key = advance(jax.random.wrap_key_data(key_data), steps)
            return start(key, state, params)

        self.reset = jax.jit(reset)
        self.reset_to_level = jax.jit(reset_to_level)
        self.step = jax.jit(step)
        self.render = jax.jit(render)
        self.reset_after = jax.jit(reset_after)
        self.reset_to_level_after = jax.jit(reset_to_level_after)
        self.resume = jax.jit(resume)

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def compiled(env: Any) -> _SingleEnvProgram:
        """The program of ``env``, built once per distinct env."""
        return _SingleEnvProgram(env)


class _Viewer:
    """Shared rendering for both adapters (``rgb_array`` frames, ``human`` window)."""

    render_mode: str | None
    _viewer: Any = None

    def _show(self, frame: np.ndarray) -> None:
        if self._viewer is None:
            from curriculax.viewer import HumanViewer

            self._viewer = HumanViewer(caption=self._caption)
        self._viewer.show(frame)

    def close(self) -> None:
        """Closes the window, if one is open."""
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None


class GymnasiumEnv(_Viewer, gymnasium.Env):
    """One curriculax env behind gymnasium's ``Env`` API.

    Observations are numpy arrays, rewards Python floats, flags Python bools. The task can be set
    at reset: ``reset(options={"params": Params | dict, "level": Level})``; the params persist
    for later resets, a level applies to that reset only.

    A reset is one jitted call. A step is one jitted call too, unless the env offers a host
    stepper: a method ``host_stepper()`` returning ``None`` or an object with
    ``load(state, params) -> bool`` (takes over an episode from its state after the reset, numpy
    leaves; False: it cannot, the jitted step runs the episode), ``step(action: int) -> (obs,
    reward, terminated, truncated)`` and ``state()`` (the state now, as the env's ``step`` would
    hold it). The grids offer one, a numba twin of their engine (``curriculax.envs.grid.
    fast_step``), since one jitted call costs more than a whole grid step. Results, seeding
    (the key advances as the jitted step advances it), rendering and pickling are the same on
    both paths.

    Args:
        env_id: registered id.
        render_mode: ``None``, ``"rgb_array"`` or ``"human"``.
        **config: static config and param overrides (see ``curriculax.make``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array"],
        "render_fps": RENDER_FPS,
    }

    def __new__(cls, *args: Any, **kwargs: Any) -> GymnasiumEnv:
        """A ``SpawnedGymnasiumEnv`` in a process forked after JAX started, else ``cls``'s.

        JAX would deadlock there (gymnasium's ``AsyncVectorEnv`` forks on Linux): the env runs
        in a fresh process instead (``curriculax.spawned``).
        """
        if cls is GymnasiumEnv and _FORKED_AFTER_JAX and (args or kwargs):
            from curriculax.spawned import SpawnedGymnasiumEnv

            return super().__new__(SpawnedGymnasiumEnv)
        return super().__new__(cls)

    def __init__(self, env_id: str, render_mode: str | None = None, **config: Any) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self._init_args = {"env_id": env_id, "render_mode": render_mode, **config}
        self.env, self.params = registry.make(env_id, **config)
        self.render_mode = render_mode
        self._caption = env_id
        self.observation_space = self.env.observation_space(self.params).to_gymnasium()
        self.action_space = self.env.action_space(self.params).to_gymnasium()
        self._program = _SingleEnvProgram.compiled(self.env)
        self._carry: Any = None  # uint8 device buffer: key, state and params
        self._viewer = None
        hook = getattr(self.env, "host_stepper", None)
        self._host: Any = None if hook is None else hook()
        # While the host stepper runs the episode: the carry holds its start, the host the
        # state now, and ``_host_steps`` counts the steps the carry's key has yet to take.
        self._hosted = False
        self._host_key: Any = None  # the carry's key data, on the host
        self._host_steps = 0
        space = self.action_space
        self._actions = (
            range(int(space.start), int(space.start + space.n))
            if isinstance(space, gymnasium.spaces.Discrete)
            else range(0)
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts an episode; ``seed`` fixes this and every later episode's randomness."""
        super().reset(seed=seed)
        options = _reset_options(options, ("params", "level"))
        # A refused reset leaves the env as it was: the params are kept only once it started.
        params = _resolve_params(self.env, self.params, options.get("params"))
        # A typed key, or the raw key data (numpy) of the previous episodes' key to continue,
        # with the splits it has yet to take (the steps of a host-stepped episode).
        steps = 0
        if seed is not None:
            key = key_from_seed(seed)
        elif self._hosted:
            key, steps = self._host_key, self._host_steps
        elif self._carry is not None:
            key = self._program.carry(self._carry)[0]
        else:
            key = key_from_seed(int(self.np_random.integers(2**63)))
        level = None
        if options.get("level") is not None:
            level = self.env.coerce_level(options["level"])
            if jax.tree.leaves(level)[0].ndim != jax.tree.leaves(self.env.level_shape())[0].ndim:
                raise ValueError("options['level'] must be one level, without a batch dimension")
        program = self._program
        if self._host is None:
            if isinstance(key, np.ndarray):
                key = jax.random.wrap_key_data(jnp.asarray(key))
            if level is not None:
                self._carry, obs = program.reset_to_level(key, level, params)
            else:
                self._carry, obs = program.reset(key, params)
        else:
            if not isinstance(key, np.ndarray):
                key = np.asarray(jax.random.key_data(key))
            steps = np.int32(steps)
            if level is not None:
                self._carry, obs = program.reset_to_level_after(key, steps, level, params)
            else:
                self._carry, obs = program.reset_after(key, steps, params)
            self._host_load()
        self.params = params
        if self.render_mode == "human":
            self.render()
        return np.asarray(obs), {}

    def _host_load(self) -> None:
        """Hands the episode that the carry starts to the host stepper, if it takes it."""
        key_data, state, params = self._program.carry(self._carry)
        self._hosted = bool(self._host.load(state, params))
        self._host_key, self._host_steps = key_data, 0

    def _current_carry(self) -> Any:
        """The carry as the jitted step would hold it now (a host-stepped episode's state)."""
        if not self._hosted:
            return self._carry
        steps = np.int32(self._host_steps)
        return self._program.resume(self._carry, steps, self._host.state())

    def _sync_carry(self) -> None:
        """Brings the carry up to the host-stepped episode's state (its key's splits taken)."""
        self._carry = self._current_carry()
        self._host_key, self._host_steps = self._program.carry(self._carry)[0], 0

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step; ``action`` must be an element of ``action_space``."""
        if self._hosted:
            # A Python int inside the space needs no more checks (the common case, made cheap).
            if type(action) is not int or action not in self._actions:
                if not self.action_space.contains(action):
                    raise ValueError(f"invalid action {action!r}: not in {self.action_space}")
                action = int(action)
            obs, reward, terminated, truncated = self._host.step(action)
            self._host_steps += 1
            if self._host_steps >= _MAX_PENDING_SPLITS:  # keep the count inside int32
                self._sync_carry()
            if self.render_mode == "human":
                self.render()
            return obs, reward, terminated, truncated, {}
        if self._carry is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}: not in {self.action_space}")
        action = np.asarray(action, self.action_space.dtype)
        self._carry, out = self._program.step(self._carry, action)
        obs, reward, terminated, truncated = self._program.outputs(out)
        if self.render_mode == "human":
            self.render()
        return obs, float(reward), bool(terminated), bool(truncated), {}

    def render(self) -> np.ndarray | None:
        """The current frame (``rgb_array``), or shows it in a window (``human``)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass one to make()")
            return None
        if self._carry is None:
            raise RuntimeError("call reset() before render()")
        frame = np.asarray(self._program.render(self._current_carry()))
        if self.render_mode == "human":
            self._show(frame)
            return None
        return frame

    def __getstate__(self) -> dict[str, Any]:
        return {
            "init_args": self._init_args,
            "params": jax.device_get(self.params),
            "carry": None if self._carry is None else np.asarray(self._current_carry()),
            "np_random": self._np_random,
        }

    def __setstate__(self, saved: dict[str, Any]) -> None:
        self.__init__(**saved["init_args"])
        self.params = jax.tree.map(jnp.asarray, saved["params"])
        self._carry = None if saved["carry"] is None else jnp.asarray(saved["carry"])
        self._np_random = saved["np_random"]
        if self._host is not None and self._carry is not None:
            self._host_load()


class GymnasiumVectorEnv(_Viewer, gymnasium.vector.VectorEnv):
    """N curriculax envs stepped in one compiled call, with same-step auto-reset.

    On an episode's end the env starts a new one in the same ``step`` call; the last observation
    is in ``info["final_obs"]`` (an object array, ``None`` where no episode ended, with the mask
    ``info["_final_obs"]``), exactly as gymnasium's ``SyncVectorEnv`` in ``SAME_STEP`` mode.
    ``level_mode`` says what a finished env resets to: ``"fresh"`` (a level drawn from the params,
    out of a pool regenerated as it is used) or ``"replay"`` (the level it just played).

    Args:
        env_id: registered id.
        num_envs: N.
        level_mode: ``"fresh"`` or ``"replay"``.
        pool_size: levels in the fresh pool (default N).
        render_mode: ``None`` or ``"rgb_array"`` (frames of every env, stacked).
        **config: static config and param overrides (see ``curriculax.make``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": ["rgb_array", "human"],
        "render_fps": RENDER_FPS,
    }

    def __init__(
        self,
        env_id: str,
        num_envs: int = 1,
        level_mode: ResetMode = "fresh",
        pool_size: int | None = None,
        render_mode: str | None = None,
        **config: Any,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if _FORKED_AFTER_JAX:
            raise RuntimeError(
                f"{env_id}: this process was forked after JAX started, so JAX would deadlock "
                "here; make the vector env in the parent, or start this process with a 'spawn' "
                "or 'forkserver' multiprocessing context"
            )
        self.env, self.params = registry.make(env_id, **config)
        self.vec = AutoResetVecEnv(self.env, num_envs, mode=level_mode, pool_size=pool_size)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self._caption = env_id
        self.single_observation_space = self.env.observation_space(self.params).to_gymnasium()
        self.single_action_space = self.env.action_space(self.params).to_gymnasium()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._fns = self._compile()
        single = self.single_action_space
        self._discrete_bounds = (
            (int(single.start), int(single.start + single.n))
            if isinstance(single, gymnasium.spaces.Discrete)
            else None
        )
        self._key: PRNGKey | None = None
        self._state: Any = None
        self._resets_since_fill = 0
        self._viewer = None

    def _compile(self) -> dict[str, Any]:
        vec = self.vec

        def reset(key, params, levels):
            key, sub = jax.random.split(key)
            obs, state = vec.reset(sub, params, levels)
            return key, obs, state

        # The outputs come back as separate arrays, not packed into one buffer as the single
        # env's are: they are few and large, and a CPU host reads each without a copy. The
        # program returns each env's observation after its step (the final one where an episode
        # ended) and the first observation of the episode it is now in; the host composes the
        # two. Returning the composed observation as well made XLA:CPU materialise the grid
        # views in a fusion ~2.5x slower than the whole step (docs/benchmarks.md).
        def step(key, state, action, params):
            key, sub = jax.random.split(key)
            _, state, reward, terminated, truncated, info = vec.step(sub, state, action, params)
            starts = vec.start_obs(state)
            return key, state, (info["final_obs"], starts, reward, terminated, truncated)

        def refill(key, state, params):
            key, sub = jax.random.split(key)
            return key, vec.refill(sub, state, params)

        render = jax.vmap(self.env.render, (0, None))
        return {
            "reset": jax.jit(reset),
            "step": jax.jit(step),
            "refill": jax.jit(refill),
            "render": jax.jit(lambda state, params: render(state.env_state, params)),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts every env on a new episode.

        ``options`` may hold ``"params"`` (a Params object, shared or with leaves [N, ...], or a
        dict of field overrides) and ``"levels"`` (a Level pytree with leaves [P, ...]: the reset
        source, i.e. each env's level in replay mode, the pool in fresh mode).
        """
        if isinstance(seed, (list, tuple)):
            raise TypeError("seed must be one int for the whole batch (one key drives every env)")
        super().reset(seed=seed)
        options = _reset_options(options, ("params", "levels"))
        # A refused reset leaves the env as it was: the params are kept only once it started.
        params = _resolve_params(self.env, self.params, options.get("params"))
        levels = options.get("levels")
        if levels is not None:
            levels = self.env.coerce_level(levels)
            count = jax.tree.leaves(levels)[0].shape[0] if jax.tree.leaves(levels)[0].ndim else 0
            if count != self.vec.source_size:
                raise ValueError(
                    f"options['levels'] must hold {self.vec.source_size} levels "
                    f"(leading axis), got {count or 'an unbatched level'}"
                )
        if seed is not None or self._key is None:
            key = key_from_seed(seed if seed is not None else int(self.np_random.integers(2**63)))
        else:
            key = self._key
        self._key, obs, self._state = self._fns["reset"](key, params, levels)
        self.params = params
        self._resets_since_fill = 0
        return np.asarray(obs), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Steps all envs with ``actions`` (shape [N]); see the class docstring for ``info``."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        self._key, self._state, (stepped, starts, reward, terminated, truncated) = self._fns[
            "step"
        ](self._key, self._state, actions, self.params)
        # Host views of the device buffers (no copy on CPU); what is returned is copied.
        terminated, truncated = np.asarray(terminated), np.asarray(truncated)
        done = terminated | truncated
        obs = np.array(stepped)  # writable, as gymnasium's own vector envs return
        info: dict[str, Any] = {}
        if done.any():
            ended = np.flatnonzero(done)
            finals = np.full(self.num_envs, None, dtype=object)
            for i in ended:
                finals[i] = obs[i].copy()
            obs[ended] = np.asarray(starts)[ended]
            info = {
                "final_obs": finals,
                "_final_obs": done,
                "final_info": {},
                "_final_info": done.copy(),
            }
            self._resets_since_fill += len(ended)
            if self.vec.mode == "fresh" and self._resets_since_fill >= self.vec.pool_size:
                self._key, self._state = self._fns["refill"](self._key, self._state, self.params)
                self._resets_since_fill = 0
        return obs, np.asarray(reward, np.float64), terminated.copy(), truncated.copy(), info

    def _check_actions(self, actions: Any) -> np.ndarray:
        """``actions`` as an array of ``action_space``'s dtype; ValueError if not in the space."""
        actions = np.asarray(actions)
        space = self.action_space
        if self._discrete_bounds is not None:  # integers in [start, start + n): two reductions
            low, high = self._discrete_bounds
            valid = (
                actions.shape == space.shape
                and actions.dtype.kind in "iu"
                and actions.size > 0
                and low <= actions.min()
                and actions.max() < high
            )
        else:  # integers are cast first, as before: a Box takes [0, 1] as well as [0.0, 1.0]
            cast = actions.astype(space.dtype) if actions.dtype.kind in "iu" else actions
            valid = actions.shape == space.shape and space.contains(cast)
        if not valid:
            raise ValueError(
                f"invalid actions: expected {space.shape} elements of "
                f"{self.single_action_space}, got {actions!r}"
            )
        return actions.astype(space.dtype, copy=False)

    def render(self) -> np.ndarray | None:
        """Frames of every env, uint8 [N, height, width, 3] (``human``: shows the first env)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass one to make_vec()")
            return None
        if self._state is None:
            raise RuntimeError("call reset() before render()")
        frames = np.asarray(self._fns["render"](self._state, self.params))
        if self.render_mode == "human":
            self._show(frames[0])
            return None
        return frames
