"""Recommended PPO settings for the web-form ids: plain data that ``curriculax train`` reads.

A recipe is a dict of ``PPOConfig`` fields; fields it leaves out keep ``PPOConfig``'s defaults.
``curriculax recipes`` lists them and any flag given to ``curriculax train`` overrides them.
"""

from __future__ import annotations

from typing import Any

#: PPOConfig's defaults (64 envs x 128 steps) for 1M steps: LoginUser on 5 of 5 seeds (greedy
#: 1.00 on 256 fresh forms); the 300k-step shape docs once gave (128 x 16, lr 5e-4, gamma 0.95)
#: solved 1 of 3 seeds.
DEFAULT: dict[str, Any] = {"total_timesteps": 1_000_000}

#: Per-id recipes, by full id.
BY_ID: dict[str, dict[str, Any]] = {}
