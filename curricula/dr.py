"""Domain randomisation: every round, fresh levels drawn from fixed Params."""

from __future__ import annotations

import jax.numpy as jnp

from curriculax.curricula.base import Batch, EpisodeStats, Teacher, batch_size_of, check_stats
from curriculax.types import Array, PRNGKey


class DomainRandomization(Teacher[Array]):
    """DR: levels i.i.d. from the env's Params (Tobin et al. 2017; the UED papers' baseline).

    The state only counts rounds. No hyper-parameters besides the Params themselves.
    """

    name = "dr"

    def init(self, key: PRNGKey, num: int) -> Array:
        """Rounds so far: int32 []."""
        del key, num
        return jnp.asarray(0, jnp.int32)

    def sample(self, state: Array, key: PRNGKey, num: int) -> tuple[Array, Batch]:
        """``num`` fresh levels; the learner always trains on them."""
        batch = Batch(levels=self.new_levels(key, num), info=None, train=jnp.asarray(True))
        return state + 1, batch

    def update(self, state: Array, batch: Batch, stats: EpisodeStats) -> Array:
        """Nothing to learn: DR ignores the statistics (their shape is still checked)."""
        check_stats(stats, batch_size_of(batch))
        return state

    def metrics(self, state: Array) -> dict[str, Array]:
        """``rounds``."""
        return {"rounds": state.astype(jnp.float32)}
