"""How a teacher scores a level from the learner's statistics on it.

Scores are separate from the level buffer so PLR, ACCEL and SFL share one buffer:

* ``pvl``: positive value loss, mean over the rollout of max(GAE advantage, 0)
  (Jiang et al. 2021, "Replay-Guided Adversarial Environment Design");
* ``l1vl``: mean absolute GAE advantage (Jiang et al. 2021, "Prioritized Level Replay");
* ``maxmc``: mean over the rollout of (best return ever seen on the level - V(s))
  (Jiang et al. 2021, as in minimax/JaxUED); 0 until an episode on the level has ended;
* ``learnability``: p (1 - p) with p the success rate (Rutherford et al. 2024, SFL); 0 where no
  episode ended.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from curriculax.curricula.base import EpisodeStats
from curriculax.types import Array

#: The score names a level-replay teacher accepts.
SCORES = ("pvl", "l1vl", "maxmc", "learnability")


def best_return(stats: EpisodeStats, previous: Array) -> Array:
    """The best return seen on each level so far: float32 [N] (-inf where none)."""
    return jnp.maximum(previous, stats.return_max)


def positive_value_loss(stats: EpisodeStats, best: Array) -> Array:
    """PVL of each level: float32 [N]."""
    del best
    return stats.positive_value_loss


def l1_value_loss(stats: EpisodeStats, best: Array) -> Array:
    """L1 value loss of each level: float32 [N]."""
    del best
    return stats.l1_value_loss


def max_mc(stats: EpisodeStats, best: Array) -> Array:
    """MaxMC regret of each level given its best return ``best`` so far: float32 [N]."""
    return jnp.where(jnp.isfinite(best), best - stats.value_mean, 0.0)


def learnability(stats: EpisodeStats, best: Array) -> Array:
    """Learnability p (1 - p) of each level's success rate p: float32 [N]."""
    del best
    p = stats.success_rate
    return jnp.where(stats.episodes > 0, p * (1.0 - p), 0.0)


def score_function(name: str) -> Callable[[EpisodeStats, Array], Array]:
    """The score function called ``name`` (one of ``SCORES``).

    Raises:
        ValueError: an unknown name.
    """
    table = {
        "pvl": positive_value_loss,
        "l1vl": l1_value_loss,
        "maxmc": max_mc,
        "learnability": learnability,
    }
    if name not in table:
        raise ValueError(f"unknown score {name!r}; choose one of {SCORES}")
    return table[name]
