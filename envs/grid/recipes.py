"""Recommended PPO settings for the grid ids: plain data that ``curriculax train`` reads.

A recipe is a dict of ``PPOConfig`` fields; fields it leaves out keep ``PPOConfig``'s defaults
(CleanRL's discrete-action PPO, 64 envs x 128 steps). ``curriculax recipes`` lists them and any
flag given to ``curriculax train`` overrides them.
"""

from __future__ import annotations

from typing import Any

#: Every grid id's recipe unless ``BY_ID`` names it.
DEFAULT: dict[str, Any] = {"total_timesteps": 1_000_000}

#: Per-id recipes, by full id.
BY_ID: dict[str, dict[str, Any]] = {
    # rl-starter-files' sample-efficient MiniGrid shape (minibatches of 512, 4 epochs, lr 1e-3
    # annealed) with 64 envs (8192 transitions, ~13 episodes per update) and a tripled entropy
    # bonus: the reward is sparse, a uniform policy solves only ~3 % of the episodes. Entropy 0.02
    # left 1 of 5 seeds at return 0 (2026-12-06); 0.03: greedy 0.94-0.99 on 256 fresh levels on
    # 5 of 5 seeds (docs/agents.md; tests/agents/test_recipes_learn_slow.py).
    "curriculax/DoorKey-8x8-v0": {
        "total_timesteps": 5_000_000,
        "num_envs": 64,
        "num_steps": 128,
        "num_minibatches": 16,
        "learning_rate": 1e-3,
        "ent_coef": 0.03,
    },
    # The UED maze (13x13, 25 walls, 5x5 view): the DoorKey shape with the default entropy and a
    # GRU. A feed-forward policy solves 96 % of fresh mazes with sampled actions but only 81-88 %
    # greedily (with no memory a deterministic policy circles where its view repeats); the GRU at
    # 10M steps: greedy 0.96, 0.94, 0.97, 0.90, 0.95 on 256 fresh mazes (docs/agents.md).
    "curriculax/Maze-v0": {
        "total_timesteps": 10_000_000,
        "num_envs": 64,
        "num_steps": 128,
        "num_minibatches": 16,
        "learning_rate": 1e-3,
        "recurrent": "gru",
    },
}
