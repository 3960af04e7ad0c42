"""A six-field web form that PPO learns only with a curriculum (QWeb's setting, our engine).

QWeb (Gur et al., ICLR 2019) trains on forms whose instructed fields are partly filled in at the
start, and fills in fewer as the agent improves ("warm start"), and on forms with few fields
first. Here the target task is ``Form`` with six widgets of every kind, all six instructed, none
pre-filled, one page: success needs all six right before Submit, which random actions never
reach. One run per curriculum and seed, same PPO, same env steps:

* ``none``: every training form is a target form (domain randomisation on the target Params);
* ``adr``: ADR (``curriculax.curricula.adr``) over ``num_widgets`` in [1, 6] (starting at 1) and
  ``prefill`` in [0, 1] (starting at 1, every field done): a boundary moves out when pinned
  episodes mostly succeed, back when they mostly fail;
* ``alpgmm`` (not in the default run: the budget here): ALP-GMM over the same box (learning
  progress sampling, 20 % random tasks).

Each run is then scored by its greedy policy on ``--eval-levels`` fresh target forms: success
rate (MiniWoB++'s rule: the submitted form scores > 0) and mean return.

Cost: the pointer network on this 43-token form trains at ~600-700 env steps/s on the 2-core dev
machine (compile ~1 min), so the default (400k steps, 2 seeds, two curricula) takes ~40 min.

    python benchmarks/webform_curriculum.py [--steps 400000] [--seeds 2]
        [--teachers none adr alpgmm] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.agents.evaluation import evaluate
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.curricula import make_teacher
from curriculax.envs.webform.form import Form

#: The benchmark's form: six widgets of up to three options, one page, no distractors.
ENV = Form(max_widgets=6, max_options=3, max_words=1, max_pages=1, max_distractors=0, max_chars=11)
DIMS = ["num_widgets", "prefill"]
#: Episode returns (raw reward scaled by the step clock) lie in [-1, 1].
RETURN_RANGE = (-1.0, 1.0)


def target_params():
    """Six widgets, all instructed, nothing pre-filled; 30 steps (the oracle needs at most 19)."""
    return ENV.default_params().replace(
        num_widgets=jnp.int32(6), num_instructed=jnp.int32(6), prefill=jnp.float32(0.0),
        max_steps=jnp.int32(30),
    )  # fmt: skip


def teacher(name: str, params):
    """``None`` (train on the target) or a Params-space teacher starting from easy forms."""
    if name == "none":
        return None
    if name == "adr":
        # Widen a boundary when pinned episodes mostly succeed (mean return >= 0.4, mapped
        # 0.7), narrow it when they mostly fail (<= -0.6, mapped 0.2).
        return make_teacher(
            "adr", ENV, params, dims=DIMS, initial=[1, 1.0], reward_range=RETURN_RANGE,
            high_threshold=0.7, low_threshold=0.2,
        )  # fmt: skip
    return make_teacher(
        "alpgmm", ENV, params, dims=DIMS, reward_range=RETURN_RANGE, random_task_ratio=0.2
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--teachers", nargs="+", default=["none", "adr"])
    parser.add_argument("--eval-levels", type=int, default=512)
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from machine_info import describe_machine
    from report import emit

    params = target_params()
    config = PPOConfig(
        total_timesteps=args.steps, num_envs=128, num_steps=32, num_minibatches=4,
        learning_rate=5e-4, gamma=0.95,
    )  # fmt: skip
    keys = jax.random.split(jax.random.key(123), args.eval_levels)
    targets = jax.jit(jax.vmap(ENV.sample_level, (0, None)))(keys, params)
    rows = []
    for name in args.teachers:
        train = make_train(config, ENV, params, teacher=teacher(name, params))
        start = time.perf_counter()
        runners, metrics = jax.block_until_ready(
            jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), args.seeds))
        )
        wall = time.perf_counter() - start
        results = []
        for i in range(args.seeds):
            net = jax.tree.map(lambda x, i=i: x[i], runners.params)
            summary = evaluate(train, net, targets, jax.random.key(i), greedy=True).summary()
            results.append((float(summary["solve_rate"]), float(summary["return_mean"])))
        train_success = np.asarray(metrics["success_rate"])[:, -10:].mean(axis=1)
        rows.append((name, results, train_success, wall))
        print(f"{name}: target success/return {results}, training success {train_success}, "
              f"{wall:.0f} s", flush=True)  # fmt: skip
    lines = [
        "### Six-field web form: curriculum vs none",
        "",
        f"Machine: {describe_machine(('flax', 'optax'))}. `Form(max_widgets=6, max_options=3, "
        "max_words=1, max_pages=1, max_distractors=0, max_chars=11)`, target: 6 widgets (every "
        "kind), 6 instructed, no prefill, 30 steps. "
        f"PPO (pointer network) {config.num_envs} envs x {config.num_steps} "
        f"steps, {args.steps:,} env steps per seed, {args.seeds} seeds vmapped; greedy policy on "
        f"{args.eval_levels} fresh target forms.",
        "",
        "| curriculum | target success (mean) | per seed | target return per seed "
        "| training success, last 10 updates | wall (all seeds) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, results, train_success, wall in rows:
        success = [r[0] for r in results]
        lines.append(
            f"| {name} | {np.mean(success):.3f} | {', '.join(f'{s:.3f}' for s in success)} | "
            f"{', '.join(f'{r[1]:.2f}' for r in results)} | "
            f"{', '.join(f'{s:.2f}' for s in train_success)} | {wall / 60:.1f} min |"
        )
    emit(lines, args.out)


if __name__ == "__main__":
    main()
