"""Recommended PPO settings for the parkour ids: plain data that ``curriculax train`` reads.

A recipe is a dict of ``PPOConfig`` fields; fields it leaves out keep ``PPOConfig``'s defaults.
``curriculax recipes`` lists them and any flag given to ``curriculax train`` overrides them.
"""

from __future__ import annotations

from typing import Any

#: A Brax-style continuous-control shape for the walker: 128 envs x 64 steps, 8 minibatches of
#: 1024, 4 epochs, no entropy bonus, rewards x 0.1 (a fall's -100 otherwise swamps the value
#: targets), 6M steps. Every seed walks flat Stump Tracks, but greedy returns sit around the
#: mastery bar of 230: 1 of 3 seeds masters >= 90 % of the tracks (docs/agents.md's table; the
#: slow test tests/agents/test_recipes_learn_slow.py fails on it until a recipe does better).
DEFAULT: dict[str, Any] = {
    "total_timesteps": 6_000_000,
    "num_envs": 128,
    "num_steps": 64,
    "num_minibatches": 8,
    "learning_rate": 3e-4,
    "ent_coef": 0.0,
    "reward_scale": 0.1,
}

#: Per-id recipes, by full id.
BY_ID: dict[str, dict[str, Any]] = {}
