"""TeachMyAgent's headline comparison on our Parkour: Random vs ALP-GMM teachers, walker.

TMA (ICML 2021, its repository's results) trains a SAC walker for 20M steps on Parkour with each
teacher and reports the share of its 100-task test set mastered (return > 230): Random 27.3 %
(±10.7), ALP-GMM 42.7 % (±11.2), 16 seeds each, every run a single-env Box2D job sized for a 72-hour
limit on 2 CPU cores. Here: PPO (the package's, every seed vmapped in one jitted program; a
curriculum round restarts all envs on the teacher's tasks and must cover a whole 2,000-step episode,
which the trainer checks: 16 envs x 2,048 steps by default, one update per round, the usual PPO
shape for BipedalWalker, i.e. 16 tasks per round and ~10k tasks per 20M steps, TMA's order), our
Parkour (our CPPN, so the task space is ours, see docs/environments.md), the ``walking`` test set
shipped with the package, TMA's task space for walkers (θ, water level; creepers off as in TMA's
walking runs; water over its whole [0, 1], as TMA's teachers search their whole water range, though
the test set's walking tasks stay at or below 0.15: deep water is part of the box a teacher must
learn to avoid or use) and ALP-GMM's TMA settings (fit every 150 tasks, 5 % random tasks, returns
mapped from TMA's Parkour range [-150, 360]). "Random" is the same teacher with every task uniform
in the box. The terrain scale is the env's default, calibrated with this script's Random teacher
(docs/benchmarks.md).

One deliberate difference: the student trains with the hull's touching the terrain as a fall
(``Parkour(hull_critical=True)``, Stump Tracks' and gymnasium's rule). Under TMA's Parkour rule
PPO settles on a slow gait that never falls and never finishes (docs/benchmarks.md); the test is
TMA's (hull contact allowed), and the stricter share is reported beside it.

    python benchmarks/parkour_teachers.py [--steps 20000000] [--seeds 3] [--num-envs 16]
        [--num-steps 2048] [--minibatches 32] [--water-max 1] [--terrain-scale 1.4]
        [--tma-falls] [--out FILE]

Reported per teacher: % of the test set mastered by the greedy policy at the end (mean ± std over
seeds, and each seed) on TMA's Parkour and on the training env, the training return at the end
(per seed: a 0 % share is read with it), the training wall time on this machine, and TMA's
figures beside them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

import curriculax
from curriculax.agents.evaluation import evaluate
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.curricula import make_teacher
from curriculax.envs.parkour import test_sets
from curriculax.envs.parkour.terrain import TERRAIN_SCALE
from curriculax.recipes import recipe

#: TMA's Parkour walker results (% mastered after 20M steps, mean ± std over 16 seeds).
TMA = {"random": "27.3 ± 10.7", "alpgmm": "42.7 ± 11.2"}
#: TMA's Parkour return range, for ALP-GMM's learning progress.
REWARD_RANGE = (-150.0, 360.0)
DIMS = ("theta_1", "theta_2", "theta_3", "water_level")


def teacher(name: str, env, params, water_max: float):
    """TMA's Random (uniform tasks) or ALP-GMM over the walking dimensions."""
    ratio = 1.0 if name == "random" else 0.05
    return make_teacher(
        "alpgmm",
        env,
        params,
        dims=list(DIMS),
        bounds={"water_level": (0.0, water_max)},
        random_task_ratio=ratio,
        reward_range=REWARD_RANGE,
    )


def mastered(train, net_params, env, seed: int) -> float:
    """Share of the walking test set whose greedy episode on ``env`` returns more than 230."""
    tasks = test_sets.as_params(env, "walking")
    keys = jax.random.split(jax.random.key(seed), test_sets.SIZE)
    levels = jax.jit(jax.vmap(env.sample_level))(keys, tasks)
    result = evaluate(train, net_params, levels, jax.random.key(seed), env=env, greedy=True)
    return float(np.asarray(result.solved).mean())


def final_return(metrics: dict, seed: int, updates: int = 10) -> float:
    """Mean training return of seed ``seed`` over its last ``updates`` updates that ended episodes.

    A run whose test share is 0 is read with this: a student that never learned to walk, or one
    that walks only on the tasks its teacher picked.
    """
    returns = np.asarray(metrics["return_mean"][seed])
    ended = np.nonzero(np.asarray(metrics["episodes"][seed]) > 0)[0][-updates:]
    return float(returns[ended].mean()) if ended.size else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--teachers", nargs="+", default=["random", "alpgmm"])
    parser.add_argument("--num-envs", type=int, default=16, help="tasks per round")
    parser.add_argument(
        "--num-steps", type=int, default=2048, help="steps per update (a round covers >= 2,000)"
    )
    parser.add_argument("--minibatches", type=int, default=32)
    parser.add_argument(
        "--water-max", type=float, default=1.0, help="top of the teachers' water range"
    )
    parser.add_argument(
        "--terrain-scale",
        type=float,
        default=TERRAIN_SCALE,
        help="Parkour(terrain_scale=...), > 0; default the env's",
    )
    parser.add_argument(
        "--tma-falls",
        action="store_true",
        help="train under TMA's Parkour rule too (hull contact is not a fall)",
    )
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from machine_info import describe_machine
    from report import emit

    scale = args.terrain_scale
    test_env, _ = curriculax.make("curriculax/Parkour-v0", terrain_scale=scale)
    env, params = curriculax.make(
        "curriculax/Parkour-v0", hull_critical=not args.tma_falls, terrain_scale=scale
    )
    hyper = {
        **recipe("curriculax/Parkour-v0"),
        "num_envs": args.num_envs,
        "num_steps": args.num_steps,
        "num_minibatches": args.minibatches,
    }
    config = PPOConfig(**{**hyper, "total_timesteps": args.steps})
    rows = []
    for name in args.teachers:
        train = make_train(config, env, params, teacher=teacher(name, env, params, args.water_max))
        start = time.perf_counter()
        runners, metrics = jax.block_until_ready(
            jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), args.seeds))
        )
        wall = time.perf_counter() - start
        seeds = [jax.tree.map(lambda x, i=i: x[i], runners.params) for i in range(args.seeds)]
        shares = [100 * mastered(train, p, test_env, i) for i, p in enumerate(seeds)]
        strict = [100 * mastered(train, p, env, i) for i, p in enumerate(seeds)]
        returns = [final_return(metrics, i) for i in range(args.seeds)]
        rows.append((name, shares, strict, returns, wall))
        print(
            f"{name}: mastered {shares} % (training env: {strict} %), training return {returns}, "
            f"{wall:.0f} s",
            flush=True,
        )
    lines = [
        "### Parkour walker: Random vs ALP-GMM (TeachMyAgent's headline comparison)",
        "",
        f"Machine: {describe_machine(('flax', 'optax'))}. PPO {config.num_envs} envs x "
        f"{config.num_steps} steps, {args.steps:,} env steps per seed, {args.seeds} seeds "
        f"vmapped; trained with hull contact {'allowed (TMA)' if args.tma_falls else 'a fall'}, "
        f"water in [0, {args.water_max:g}], terrain scale {scale:g}; greedy policy on the "
        "shipped `walking` set (100 tasks, one episode each) of TMA's Parkour, and of the "
        "training env.",
        "",
        "| teacher | % mastered (mean ± std) | per seed | training env: % mastered, per seed "
        "| training return at the end, per seed | wall (all seeds) | TMA, SAC, 20M, 16 seeds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, shares, strict, returns, wall in rows:
        lines.append(
            f"| {name} | {np.mean(shares):.1f} ± {np.std(shares):.1f} | "
            f"{', '.join(f'{s:.0f}' for s in shares)} | {np.mean(strict):.1f}: "
            f"{', '.join(f'{s:.0f}' for s in strict)} | {', '.join(f'{r:.0f}' for r in returns)} "
            f"| {wall / 60:.0f} min | {TMA[name]} |"
        )
    emit(lines, args.out)


if __name__ == "__main__":
    main()
