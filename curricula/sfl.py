"""SFL: sampling for learnability.

Rutherford, Beukman, Willi, Lacerda, Hawes, Foerster, NeurIPS 2024, "No Regrets: Investigating
and Improving Regret Approximations for Curriculum Discovery". Every ``eval_every`` rounds the
trainer rolls the current policy out on ``num_eval_levels`` fresh levels for ``eval_steps`` steps
each (episodes that end replay the same level) and reports each level's success rate p; the
teacher keeps the ``keep`` levels of highest learnability p (1 - p). Each training round is a
``replay_fraction`` share of levels drawn uniformly from that set, the rest fresh.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.curricula import buffer as buf
from curriculax.curricula.base import (
    Batch,
    EpisodeStats,
    Teacher,
    batch_size_of,
    check_stats,
    require_positive_int,
    require_unit,
)
from curriculax.env import Env
from curriculax.types import Array, EnvParams, PRNGKey, PyTree


@struct.dataclass
class SFLState:
    """SFL's state.

    Attributes:
        buffer: the learnable set (its scores are learnabilities).
        evaluations: int32 [], evaluations absorbed so far.
    """

    buffer: buf.LevelBuffer
    evaluations: Array


class SFL(Teacher[SFLState]):
    """Sampling For Learnability.

    Args:
        env: the env.
        params: Params of fresh levels.
        num_eval_levels: M, fresh levels evaluated each time (paper, MiniGrid: 5 x 5000).
        eval_steps: steps of policy rollout per evaluated level (paper: 2000; default 4 episodes'
            worth of the Params' ``max_steps``).
        eval_every: curriculum rounds between evaluations (refreshes of the learnable set).
        keep: size of the learnable set (paper: 1000).
        replay_fraction: share of each round drawn from the learnable set (paper: 0.5).
    """

    name = "sfl"
    signal = "learnability_mean"

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        *,
        num_eval_levels: int = 5000,
        eval_steps: int | None = None,
        eval_every: int = 100,
        keep: int = 1000,
        replay_fraction: float = 0.5,
    ) -> None:
        super().__init__(env, params)
        owner = type(self).__name__
        if eval_steps is None:
            eval_steps = 4 * int(self.params.max_steps)
        for name, value in (
            ("num_eval_levels", num_eval_levels),
            ("eval_steps", eval_steps),
            ("eval_every", eval_every),
            ("keep", keep),
        ):
            require_positive_int(owner, name, value)
        require_unit(owner, "replay_fraction", replay_fraction)
        if eval_steps < 2 * int(self.params.max_steps):
            warnings.warn(
                f"{owner}: eval_steps={eval_steps} is less than two episodes "
                f"(max_steps={int(self.params.max_steps)}); a level that times out plays one "
                "episode, its success rate is 0 or 1 and its learnability p(1 - p) is 0",
                stacklevel=2,
            )
        if keep > num_eval_levels:
            raise ValueError(
                f"{owner}.keep ({keep}) cannot exceed num_eval_levels ({num_eval_levels})"
            )
        self.num_eval_levels = num_eval_levels
        self.eval_steps = eval_steps
        self.eval_every = eval_every
        self.keep = keep
        self.replay_fraction = float(replay_fraction)

    def init(self, key: PRNGKey, num: int) -> SFLState:
        """An empty learnable set (rounds are all fresh levels until the first evaluation)."""
        del key
        require_positive_int(type(self).__name__, "num", num)
        return SFLState(
            buffer=buf.init_buffer(self.level_template(), self.keep),
            evaluations=jnp.asarray(0, jnp.int32),
        )

    def sample(self, state: SFLState, key: PRNGKey, num: int) -> tuple[SFLState, Batch]:
        """``round(replay_fraction * num)`` levels from the learnable set, the rest fresh.

        ``batch.info["slots"]`` (int32 [num]) holds the set's slots, -1 for fresh levels.
        """
        new_key, replay_key = jax.random.split(key)
        levels = self.new_levels(new_key, num)
        replays = round(self.replay_fraction * num)
        slots = jnp.full(num, -1, jnp.int32)
        buffer = state.buffer
        if replays:
            buffer, drawn = buf.sample_slots(
                buffer,
                replay_key,
                replays,
                prioritization="uniform",
                staleness_coef=0.0,
                allow_empty=True,
            )
            use = jnp.arange(num) < jnp.where(buffer.size() > 0, replays, 0)
            drawn = jnp.concatenate([drawn, jnp.zeros(num - replays, jnp.int32)])
            stored = buf.take(buffer, drawn)
            levels = jax.tree.map(
                lambda s, n: jnp.where(use.reshape((-1,) + (1,) * (n.ndim - 1)), s, n),
                stored,
                levels,
            )
            slots = jnp.where(use, drawn, -1)
        state = state.replace(buffer=buf.tick(buffer))
        return state, Batch(levels=levels, info={"slots": slots}, train=jnp.asarray(True))

    def update(self, state: SFLState, batch: Batch, stats: EpisodeStats) -> SFLState:
        """SFL learns only from its evaluations; the statistics' shape is still checked."""
        check_stats(stats, batch_size_of(batch))
        return state

    def top_levels(self, state: SFLState, k: int) -> tuple[PyTree, Array]:
        """The ``k`` stored levels of highest learnability, best first (see ``Teacher``)."""
        return buf.best(state.buffer, k)

    def eval_levels(self, state: SFLState, key: PRNGKey) -> PyTree:
        """``num_eval_levels`` fresh levels, leaves [M, ...]."""
        return self.new_levels(key, self.num_eval_levels)

    def absorb_eval(self, state: SFLState, levels: PyTree, success: Array) -> SFLState:
        """Keeps the ``keep`` evaluated levels of highest learnability p (1 - p)."""
        if tuple(jnp.shape(success)) != (self.num_eval_levels,):
            raise ValueError(
                f"success rates must have shape ({self.num_eval_levels},), "
                f"got {tuple(jnp.shape(success))}"
            )
        p = jnp.clip(success.astype(jnp.float32), 0.0, 1.0)
        fresh = buf.init_buffer(self.level_template(), self.keep)
        fresh = fresh.replace(clock=state.buffer.clock)
        fresh, _ = buf.insert(fresh, levels, p * (1.0 - p), jnp.full_like(p, -jnp.inf))
        return state.replace(buffer=fresh, evaluations=state.evaluations + 1)

    def metrics(self, state: SFLState) -> dict[str, Array]:
        """Learnable-set fill, mean and max learnability, evaluations so far."""
        b = state.buffer
        size = jnp.maximum(b.size(), 1)
        return {
            "buffer_fill": b.size() / b.capacity,
            "learnability_mean": jnp.sum(jnp.where(b.filled, b.scores, 0.0)) / size,
            "learnability_max": jnp.max(jnp.where(b.filled, b.scores, 0.0)),
            "evaluations": state.evaluations.astype(jnp.float32),
        }
