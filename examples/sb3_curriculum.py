"""Stable-Baselines3 PPO on a curriculax maze, with an automatic curriculum choosing the levels.

The curriculum (PLR by default) lives on the host in one ``HostCurriculum`` that the N envs of
SB3's ``DummyVecEnv`` share; each env is ``gymnasium.make`` of a small maze, flattened for an
MLP policy and wrapped in ``CurriculumWrapper``. PLR's default score, positive value loss, needs
the learner's value estimates: ``value_fn`` asks the SB3 model's critic (built after the envs,
so it is looked up when first called).

SB3 takes a gradient step on every rollout, so Robust PLR and ACCEL, which want no gradient on
new levels (``info["curriculum_train"]``), behave here like PLR for the learner.

Run (needs the ``sb3`` extra: ``pip install 'curriculax[sb3]'``)::

    python examples/sb3_curriculum.py --timesteps 20000 --curriculum plr --score pvl
"""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium.wrappers import FlattenObservation
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import curriculax  # noqa: F401  (registers the curriculax/... ids)
from curriculax.curricula.dr import DomainRandomization
from curriculax.curricula.gym import CurriculumWrapper, HostCurriculum
from curriculax.curricula.plr import ACCEL, PLR, RobustPLR

ENV_ID = "curriculax/Maze-v0"
#: A 7x7 maze with 5 walls and 50 steps: small enough to learn in a few thousand steps.
ENV_KWARGS: dict[str, Any] = {"size": 7, "n_walls": 5, "max_steps": 50}


def make_teacher(name: str, env: gymnasium.Env, score: str) -> Any:
    """The teacher ``name`` on the functional env behind ``env``."""
    base = env.unwrapped
    if name == "dr":
        return DomainRandomization(base.env, base.params)
    cls = {"plr": PLR, "robust_plr": RobustPLR, "accel": ACCEL}[name]
    return cls(base.env, base.params, capacity=256, min_fill=0.1, score=score)


class CurriculumLogger(BaseCallback):
    """Prints the curriculum's metrics after every rollout."""

    def __init__(self, curriculum: HostCurriculum, verbose: int = 1) -> None:
        super().__init__(verbose)
        self.curriculum = curriculum

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        metrics = self.curriculum.metrics()
        for name, value in metrics.items():
            self.logger.record(f"curriculum/{name}", value)
        if self.verbose:
            shown = ", ".join(f"{k}={v:.3g}" for k, v in sorted(metrics.items()))
            print(f"[{self.num_timesteps} steps] curriculum: {shown}")


def train(
    total_timesteps: int = 4096,
    num_envs: int = 4,
    curriculum: str = "plr",
    score: str = "pvl",
    seed: int = 0,
    verbose: int = 1,
) -> tuple[PPO, HostCurriculum]:
    """Trains SB3 PPO on the maze under a curriculum.

    Args:
        total_timesteps: env steps in all.
        num_envs: envs in the ``DummyVecEnv``, all sharing one curriculum.
        curriculum: ``"dr"``, ``"plr"``, ``"robust_plr"`` or ``"accel"``.
        score: the level score of PLR-type teachers (``"pvl"``, ``"l1vl"``, ``"maxmc"``,
            ``"learnability"``).
        seed: seed of the curriculum, the envs and the model.
        verbose: 1 prints the curriculum's metrics after each rollout.

    Returns:
        ``(model, curriculum)``.
    """
    holder: dict[str, PPO] = {}

    def value_fn(observations: np.ndarray) -> np.ndarray:
        policy = holder["model"].policy
        with torch.no_grad():
            obs, _ = policy.obs_to_tensor(observations)
            return policy.predict_values(obs).cpu().numpy().reshape(-1)

    probe = gymnasium.make(ENV_ID, **ENV_KWARGS)
    teacher = make_teacher(curriculum, probe, score)
    probe.close()
    needs_values = curriculum != "dr" and score != "learnability"
    host = HostCurriculum(
        teacher,
        num=2 * num_envs,
        seed=seed,
        min_episodes=2 if score == "learnability" else 1,
        value_fn=value_fn if needs_values else None,
    )

    def make_env() -> gymnasium.Env:
        env = FlattenObservation(gymnasium.make(ENV_ID, **ENV_KWARGS))
        return Monitor(CurriculumWrapper(env, host))

    venv = DummyVecEnv([make_env] * num_envs)
    venv.seed(seed)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=256,
        batch_size=256,
        n_epochs=4,
        learning_rate=1e-3,
        ent_coef=0.01,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    holder["model"] = model
    model.learn(total_timesteps, callback=CurriculumLogger(host, verbose=verbose))
    venv.close()
    return model, host


def main() -> None:
    """Command line: train and print the curriculum's final metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--curriculum", choices=["dr", "plr", "robust_plr", "accel"], default="plr")
    parser.add_argument("--score", choices=["pvl", "l1vl", "maxmc", "learnability"], default="pvl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, host = train(args.timesteps, args.num_envs, args.curriculum, args.score, args.seed)
    print("final curriculum metrics:")
    for name, value in sorted(host.metrics().items()):
        print(f"  {name}: {value:.4g}")


if __name__ == "__main__":
    main()
