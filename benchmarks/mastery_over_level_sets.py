"""A run's greedy success per seed on several fresh sets of levels: how much is the set's luck?

``curriculax train`` closes with each seed's greedy success on one set of 256 fresh levels. A
seed whose true rate is p scores p ± sqrt(p (1 - p) / 256) on such a set (±0.019 at p = 0.9), so
a bar of 0.9 on one set cannot tell 0.88 from 0.92. This scores every seed of a saved run on
``--sets`` further sets (level keys 0, 1, ...; the training command's own set is drawn from
another key), on the registered env with its own options and Params unless ``--as-trained``:
a run trained with a training-only option (e.g. the parkour's ``fall_penalty``) is then scored
on the task as registered.

Run::

    .venv/bin/python benchmarks/mastery_over_level_sets.py RUN_DIR [--sets 2] [--levels 256]
        [--as-trained]
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import curriculax
from curriculax.agents.evaluation import evaluate, fresh_levels
from curriculax.agents.runner import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder (or its checkpoint.ckpt)")
    parser.add_argument("--sets", type=int, default=2, help="level sets, keys 0 .. sets-1")
    parser.add_argument("--levels", type=int, default=256, help="levels per set")
    parser.add_argument(
        "--as-trained", action="store_true", help="the run's env options, not the registered env"
    )
    args = parser.parse_args()
    if args.sets < 1 or args.levels < 1:
        parser.error("--sets and --levels must be >= 1")

    spec, trainer, runner, _ = load_run(args.run)
    if args.as_trained:
        env, params = trainer.env, trainer.env_params
    else:
        env, params = curriculax.make(spec.env_id)
    print(
        f"{spec.env_id}: {spec.num_seeds} seeds, greedy, {args.levels} levels per set, "
        f"env {'as trained ' + str(spec.env_kwargs) if args.as_trained else 'as registered'}"
    )
    score = jax.jit(
        jax.vmap(
            lambda p, lv, k: evaluate(trainer, p, lv, k, env=env, env_params=params, greedy=True),
            in_axes=(0, None, None),
        )
    )
    rates = []
    for index in range(args.sets):
        level_key, run_key = jax.random.split(jax.random.key(index))
        levels = fresh_levels(env, params, level_key, args.levels)
        result = score(runner.params, levels, run_key)
        rate = np.asarray(result.solved, np.float64).mean(axis=(1, 2))
        returns = np.asarray(result.returns, np.float64).mean(axis=(1, 2))
        rates.append(rate)
        print(
            f"set {index}: success per seed {' '.join(f'{r:.3f}' for r in rate)}; "
            f"return {' '.join(f'{r:.1f}' for r in returns)}"
        )
    mean = np.mean(rates, axis=0)
    print(f"mean over the {args.sets} sets: {' '.join(f'{r:.3f}' for r in mean)}")


if __name__ == "__main__":
    main()
