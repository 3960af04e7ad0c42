"""Recommended PPO settings for the parkour ids: plain data that ``curriculax train`` reads.

A recipe is a dict of ``PPOConfig`` fields; fields it leaves out keep ``PPOConfig``'s defaults.
``curriculax recipes`` lists them and any flag given to ``curriculax train`` overrides them.
"""

from __future__ import annotations

from typing import Any

#: A Brax-style continuous-control shape for the walker: 128 envs x 64 steps, 8 minibatches of
#: 1024, 4 epochs, no entropy bonus, rewards x 0.1 (a fall's -100 otherwise swamps the value
#: targets), 6M steps. Every seed walks flat Stump Tracks with it, but greedy returns sit around
#: the mastery bar of 230 (1 of 3 seeds masters >= 90 % of the tracks: docs/agents.md's table);
#: StumpTracks-v0's own recipe below adds what made every seed master it.
DEFAULT: dict[str, Any] = {
    "total_timesteps": 6_000_000,
    "num_envs": 128,
    "num_steps": 64,
    "num_minibatches": 8,
    "learning_rate": 3e-4,
    "ent_coef": 0.0,
    "reward_scale": 0.1,
}

#: Per-id recipes, by full id (merged over ``DEFAULT``).
BY_ID: dict[str, dict[str, Any]] = {
    # Flat Stump Tracks: observation normalisation, γ 0.995, tanh-squashed actions (the run the
    # slow test measured; squashing itself changed little: docs/decisions.md), 40M steps. Every
    # seed walks (no run with a clipped critic at γ <= 0.995 has left a seed behind), but falls
    # keep some seeds under 90 % mastered: 3 of 5 in the slow test (0.90, 0.93, 0.88, 0.96,
    # 0.89; docs/agents.md): not yet robust (issue 22).
    "curriculax/StumpTracks-v0": {
        "total_timesteps": 40_000_000,
        "gamma": 0.995,
        "normalize_observations": True,
        "squash_actions": True,
    },
}
