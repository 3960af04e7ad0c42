"""Recommended PPO settings for the web-form ids: plain data that ``curriculax train`` reads.

A recipe is a dict of ``PPOConfig`` fields; fields it leaves out keep ``PPOConfig``'s defaults.
``curriculax recipes`` lists them and any flag given to ``curriculax train`` overrides them.
"""

from __future__ import annotations

from typing import Any

#: Short episodes (step budgets of 10-20): 128 envs x 16 steps, lr 5e-4, 300k steps, undiscounted.
#: Every form that is not done right ends at -1 (a wrong submit or the step budget), so with
#: gamma < 1 a policy that never submits postpones a sure -1 and beats one that submits too
#: early: at gamma 0.95 this shape solved LoginUser on 3 of 5 seeds (the others stopped
#: submitting within ~20k steps), at 0.99 on 4 of 5, undiscounted on 5 of 5 (success is already
#: urgent: its reward shrinks with the steps taken). Advantages are not standardised: rewards
#: are already in [-1, 1], and once a seed solves its forms every episode returns the same, so
#: the advantages are the critic's ~1e-4 noise, which per-minibatch standardisation blows up to
#: unit scale; Adam then takes full steps on it until the deterministic policy flips (EnterText:
#: 2 of 5 seeds fell from success 1.0 to 0.0 in one update, one for good).
#: docs/decisions.md, "Robust PPO".
DEFAULT: dict[str, Any] = {
    "total_timesteps": 300_000,
    "num_envs": 128,
    "num_steps": 16,
    "learning_rate": 5e-4,
    "gamma": 1.0,
    "normalize_advantages": False,
}

#: Per-id recipes, by full id (merged over ``DEFAULT``; ``curriculax.recipes.SETUP_KEYS`` name a
#: curriculum and env options).
BY_ID: dict[str, dict[str, Any]] = {
    # book-flight's form: type, pick, type, pick, open, page back, day, Search. Random actions
    # never finish it, so the agent trains on forms whose fields start done with probability
    # `prefill`, chosen by ALP-GMM (prefill 1: only Search is left), with potential shaping
    # (each field right pays 1/3, undoing it costs as much; γ 1: returns stay the raw ones).
    # Without shaping 1 seed in 3 never learned to type (docs/agents.md, docs/decisions.md).
    "curriculax/BookFlight-v0": {
        "total_timesteps": 500_000,
        "ent_coef": 0.03,
        "curriculum": "alpgmm",
        "curriculum_options": {"dims": ["prefill"], "reward_range": [-1.0, 1.0]},
        "env_options": {"shaping": 1.0, "gamma": 1.0},
    },
}
