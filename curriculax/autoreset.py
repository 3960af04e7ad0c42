"""Batched auto-reset: N copies of an env stepped together, reset on episode end by a cheap copy.

Under ``vmap`` a ``lax.cond`` becomes a select that runs both branches, so a reset written inside
``step`` (sample a level, build the state, observe it) is paid by every env on every step. Here the
expensive part is done ahead of time: a *reset source* holds ready-made ``(obs, state)`` episode
starts, and a finished env copies one of them. Two named modes decide what the source holds:

* ``"replay"``: entry ``i`` is env ``i``'s own level; a finished env starts the same level again
  (what level-replay curricula such as PLR and ACCEL train on);
* ``"fresh"``: a pool of ``pool_size`` levels drawn from the env's ``Params``; a finished env starts
  a random entry of the pool (domain randomisation). ``refill`` draws a new pool between rollouts,
  and skips the work when no env has reset since the last refill.

``refill(..., levels=...)`` is the hook through which a curriculum injects its own levels.
The final observation of an episode stays in ``info["final_obs"]`` for bootstrapping.
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

ResetMode = Literal["replay", "fresh"]
RESET_MODES: tuple[str, ...] = ("replay", "fresh")


@struct.dataclass
class VecState:
    """State of an ``AutoResetVecEnv``.

    Attributes:
        env_state: the env states, leaves [N, ...].
        source_obs: observations of the episode starts, leaves [P, ...].
        source_state: states of the episode starts, leaves [P, ...].
        slot: int32 [N], the source entry each env's current episode started from.
        resets: int32 [N], episodes each env has started since the source was last filled.
        episode_return: float32 [N], return of each env's current episode so far.
        episode_length: int32 [N], length of each env's current episode so far.
    """

    env_state: PyTree
    source_obs: PyTree
    source_state: PyTree
    slot: Array
    resets: Array
    episode_return: Array
    episode_length: Array


def _select(mask: Array, on_true: PyTree, on_false: PyTree) -> PyTree:
    """Per-env ``where`` over two pytrees whose leaves lead with the env axis."""

    def pick(a: Array, b: Array) -> Array:
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_true, on_false)


def _take(tree: PyTree, index: Array) -> PyTree:
    return jax.tree.map(lambda x: x[index], tree)


class AutoResetVecEnv:
    """``num_envs`` copies of ``env`` with same-step auto-reset from a reset source.

    Args:
        env: the env to batch.
        num_envs: N, the number of envs stepped together.
        mode: ``"replay"`` (reset to the env's own level) or ``"fresh"`` (reset to a pool level).
        pool_size: P, levels in the fresh pool; defaults to ``num_envs``. With params given per
            env (leaves [N, ...]) it must be a multiple of N, and env ``i`` only draws pool
            entries made from its own params.

    Params may be shared (one ``Params``) or per env (every leaf with a leading axis of size N).
    """

    def __init__(
        self, env: Env, num_envs: int, mode: ResetMode = "fresh", pool_size: int | None = None
    ) -> None:
        if mode not in RESET_MODES:
            raise ValueError(f"auto-reset mode must be one of {RESET_MODES}, got {mode!r}")
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        if mode == "replay" and pool_size not in (None, num_envs):
            raise ValueError("pool_size applies to mode='fresh' only")
        pool_size = num_envs if pool_size is None else pool_size
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive int, got {pool_size!r}")
        self.env = env
        self.num_envs = num_envs
        self.mode: ResetMode = mode
        self.pool_size = pool_size

    @property
    def source_size(self) -> int:
        """P: entries in the reset source."""
        return self.num_envs if self.mode == "replay" else self.pool_size

    # ----------------------------------------------------------------- params handling

    def _params_batched(self, params: EnvParams) -> bool:
        """Whether params are given per env (static: read from shapes at trace time)."""
        rank = jnp.ndim(params.max_steps)
        if rank == 0:
            return False
        if rank != 1 or params.max_steps.shape[0] != self.num_envs:
            raise ValueError(
                f"per-env params need a leading axis of size num_envs={self.num_envs}; "
                f"got max_steps of shape {jnp.shape(params.max_steps)}"
            )
        if self.mode == "fresh" and self.pool_size % self.num_envs:
            raise ValueError(
                f"per-env params need pool_size ({self.pool_size}) to be a multiple of "
                f"num_envs ({self.num_envs})"
            )
        return True

    def _params_for(self, params: EnvParams, count: int) -> tuple[EnvParams, int | None]:
        """Params for ``count`` vmapped calls and their vmap axis (entry s uses row s % N)."""
        if not self._params_batched(params):
            return params, None
        reps = count // self.num_envs
        return jax.tree.map(lambda x: jnp.tile(x, (reps,) + (1,) * (x.ndim - 1)), params), 0

    def _starts(
        self, key: PRNGKey, params: EnvParams, count: int, levels: PyTree | None
    ) -> tuple[PyTree, PyTree]:
        """``count`` episode starts ``(obs, state)``, from ``levels`` or drawn from params."""
        p, axis = self._params_for(params, count)
        level_key, reset_key = jax.random.split(key)
        if levels is None:
            levels = jax.vmap(self.env.sample_level, (0, axis))(
                jax.random.split(level_key, count), p
            )
        elif jax.tree.leaves(levels)[0].shape[0] != count:
            raise ValueError(f"expected {count} levels, got {jax.tree.leaves(levels)[0].shape[0]}")
        return jax.vmap(self.env.reset_to_level, (0, 0, axis))(
            jax.random.split(reset_key, count), levels, p
        )

    def _draw_slots(self, key: PRNGKey, batched: bool) -> Array:
        """Source entries for every env: its own in replay mode, a random pool entry in fresh."""
        n = self.num_envs
        if self.mode == "replay":
            return jnp.arange(n, dtype=jnp.int32)
        if batched:
            draws = jax.random.randint(key, (n,), 0, self.pool_size // n, dtype=jnp.int32)
            return jnp.arange(n, dtype=jnp.int32) + n * draws
        return jax.random.randint(key, (n,), 0, self.pool_size, dtype=jnp.int32)

    # ----------------------------------------------------------------- the API

    def reset(
        self, key: PRNGKey, params: EnvParams, levels: PyTree | None = None
    ) -> tuple[PyTree, VecState]:
        """Starts every env on a new episode.

        Args:
            key: PRNG key.
            params: shared or per-env params.
            levels: optional levels to fill the source with (leaves [P, ...]); drawn from
                ``params`` when omitted.

        Returns:
            ``(obs, state)`` with observation leaves [N, ...].
        """
        source_key, slot_key = jax.random.split(key)
        batched = self._params_batched(params)
        source_obs, source_state = self._starts(source_key, params, self.source_size, levels)
        slot = self._draw_slots(slot_key, batched)
        n = self.num_envs
        state = VecState(
            env_state=_take(source_state, slot),
            source_obs=source_obs,
            source_state=source_state,
            slot=slot,
            resets=jnp.zeros(n, jnp.int32),
            episode_return=jnp.zeros(n, jnp.float32),
            episode_length=jnp.zeros(n, jnp.int32),
        )
        return _take(source_obs, slot), state

    def refill(
        self, key: PRNGKey, state: VecState, params: EnvParams, levels: PyTree | None = None
    ) -> VecState:
        """Fills the reset source anew, between rollouts; running episodes are not touched.

        With ``levels`` (leaves [P, ...]) the source becomes exactly those levels: a
        curriculum's tasks. Without, in ``"fresh"`` mode a new pool is drawn from ``params`` only
        if some env has reset since the last fill (so a rollout in which no episode ended pays
        nothing); in ``"replay"`` mode every env gets a new level to replay from its next episode.
        """
        if levels is not None or self.mode == "replay":
            obs, starts = self._starts(key, params, self.source_size, levels)
        else:
            used = jnp.any(state.resets > 0)
            obs, starts = jax.lax.cond(
                used,
                lambda: self._starts(key, params, self.source_size, None),
                lambda: (state.source_obs, state.source_state),
            )
        return state.replace(
            source_obs=obs, source_state=starts, resets=jnp.zeros_like(state.resets)
        )

    def start_obs(self, state: VecState) -> PyTree:
        """The first observation of the episode each env is in: leaves [N, ...]."""
        return _take(state.source_obs, state.slot)

    def step(
        self, key: PRNGKey, state: VecState, action: Array, params: EnvParams
    ) -> tuple[PyTree, VecState, Array, Array, Array, dict[str, Any]]:
        """Steps every env; an env whose episode ended starts a new one in the same step.

        Returns:
            ``(obs, state, reward, terminated, truncated, info)``, all leading with N. ``obs`` is
            the first observation of the new episode where one began. ``info`` holds, valid where
            ``terminated | truncated``: ``final_obs`` (the last observation of the ended episode),
            ``episode_return``, ``episode_length`` and ``level_slot`` (its source entry).
        """
        step_key, slot_key = jax.random.split(key)
        batched = self._params_batched(params)
        obs, env_state, reward, terminated, truncated, _ = jax.vmap(
            self.env.step, (0, 0, 0, 0 if batched else None)
        )(jax.random.split(step_key, self.num_envs), state.env_state, action, params)
        done = terminated | truncated
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        slot = self._draw_slots(slot_key, batched)
        if self.mode == "replay":
            start_obs, start_state = state.source_obs, state.source_state
        else:
            start_obs, start_state = _take((state.source_obs, state.source_state), slot)
        info = {
            "final_obs": obs,
            "episode_return": episode_return,
            "episode_length": episode_length,
            "level_slot": state.slot,
        }
        state = VecState(
            env_state=_select(done, start_state, env_state),
            source_obs=state.source_obs,
            source_state=state.source_state,
            slot=jnp.where(done, slot, state.slot),
            resets=state.resets + done,
            episode_return=jnp.where(done, 0.0, episode_return),
            episode_length=jnp.where(done, 0, episode_length),
        )
        return _select(done, start_obs, obs), state, reward, terminated, truncated, info
