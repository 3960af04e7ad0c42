"""How much of a walker policy's Gaussian lies outside the action bounds?

Plays every seed of a trained run with sampled actions on fresh tracks and prints, per joint,
the policy's std, the share of visited states whose mean lies outside [-1, 1], the median and
90th percentile of |mean|, and the share of sampled actions the env clips (the Gaussian's mass
outside the bounds). On a run with ``squash_actions`` the numbers describe the raw Gaussian
before ``tanh`` (docs/decisions.md, "The walker's Gaussian lives outside its bounds").

Run::

    .venv/bin/python benchmarks/walker_action_saturation.py RUN_DIR/checkpoint.ckpt [--tracks 32]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from curriculax.agents.ppo.losses import sample_action
from curriculax.agents.ppo.train import PPO, RunnerState
from curriculax.agents.runner import load_run


def visited(
    trainer: PPO, runner: RunnerState, seed: int, tracks: int, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Means [S, A] on the live states of sampled episodes, and the std [A], of one seed."""
    env, env_params = trainer.env, trainer.env_params
    params = jax.tree.map(lambda x: x[seed], runner.params)

    def episode(key):
        level_key, run_key = jax.random.split(key)
        level = env.sample_level(level_key, env_params)
        obs, state = env.reset_to_level(run_key, level, env_params)

        def step(carry, t):
            obs, state, net, first, alive = carry
            net, out, _ = trainer.policy(params, net, obs[None], first[None])
            action = trainer.env_action(sample_action(jax.random.fold_in(key, t), out))[0]
            obs, state, _, term, trunc, _ = env.step(
                jax.random.fold_in(run_key, t), state, action, env_params
            )
            return (obs, state, net, jnp.asarray(False), alive & ~(term | trunc)), (
                out[0][0],
                out[1][0],
                alive,
            )

        init = (obs, state, trainer.network.initial_carry(1), jnp.asarray(True), jnp.asarray(True))
        _, out = jax.lax.scan(step, init, jnp.arange(steps))
        return out

    keys = jax.random.split(jax.random.key(7), tracks)
    mean, log_std, alive = jax.device_get(jax.jit(jax.vmap(episode))(keys))
    return mean[alive], np.exp(log_std[0, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--tracks", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1200)
    args = parser.parse_args()
    _, trainer, runner, _ = load_run(args.checkpoint)
    for seed in range(int(runner.update.shape[0])):
        mean, std = visited(trainer, runner, seed, args.tracks, args.steps)
        inside = norm.cdf((1 - mean) / std) - norm.cdf((-1 - mean) / std)
        size = np.abs(mean)
        print(
            f"seed {seed}: std {np.round(std, 2)}; |mean| > 1 on "
            f"{np.round((size > 1).mean(0), 2)} of states; |mean| p50 "
            f"{np.round(np.median(size, 0), 2)} p90 {np.round(np.percentile(size, 90, 0), 2)}; "
            f"sampled actions clipped {np.round(1 - np.asarray(inside).mean(0), 2)}"
        )


if __name__ == "__main__":
    main()
