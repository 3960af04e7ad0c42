"""PPO on the UED maze under six curricula (DR, PLR, Robust PLR, ACCEL, SFL, PAIRED), one budget.

What runs: for every method, ``--seeds`` PPO agents on ``curriculax/Maze-v0`` (13x13, 25 random
walls, solvable levels only, 5x5 egocentric view, 250 steps per episode), vmapped in one jitted
program (``jax.jit(jax.vmap(...))`` of ``PPO.run`` over chunks of updates, so the script prints
progress and records per-update curves). Each update is one curriculum round of ``--num-envs`` x
``--num-steps`` env steps, whether or not it ends with gradient steps (Robust PLR and ACCEL learn
only from replay rounds), so every method gets the same number of training env steps. SFL's
policy evaluations on fresh levels are extra env steps, reported in their own column (and charged
against SFL's training budget with ``--charge-sfl-eval``). PAIRED trains a second student (the
antagonist) on the same levels: its env steps are extra too, in the same column.

Then, per seed: solve rate (positive return; ``--eval-episodes`` sampled-action episodes each) on
every held-out maze ``curriculax/Maze-HeldOut-*-v0`` (the same keys ``evaluate_envs`` derives; the
seeds run as one vmapped program per maze, compiled once for all methods; ``--check-eval``
compares seed 0 with ``evaluate_envs`` itself: identical in the pilot), and SFL's robustness
protocol on ``--worst-case-levels`` fresh Maze-v0 levels (``worst_case``: mean solve rate, CVaR
10 % and 1 %, levels ranked and scored with independent episodes).

``--merge`` adds the methods run now to the results already in the report's JSON (which must come
from the same budget and settings: the shared evaluation keys make the rows comparable), so one
method can join the table without re-running the others; the report's hand-written "Verdict"
section is kept.

Outputs: a Markdown report (``--out``, default ``docs/curricula_benchmark.md``: machine, budget,
command, hyper-parameters, results, timings), raw per-seed results and curves as JSON next to it,
and a learning-curve figure (``--plot``, default ``docs/images/curricula_maze.png``: return and
success rate per update against training env steps, mean over seeds with a min-max band).

PPO defaults (JaxUED's maze settings where they fit a small CPU budget):

* γ 0.995, λ 0.98, clip 0.2, 5 epochs, entropy 1e-3, value coefficient 0.5, gradient norm 0.5,
  learning rate linearly annealed, 32 envs x 256 steps (JaxUED's batch; the rollout is longer
  than the 250-step episode limit, so every env finishes at least one episode each round and every
  level gets a score).
* Feed-forward network (curriculax's grid encoder + 2 x 64 tanh torsos) instead of JaxUED's
  conv + LSTM-256, for speed on CPU (an LSTM adds a sequential recurrence to every rollout step
  and to the backward pass of every minibatch; not timed in the pilot). ``--recurrent lstm``
  is available.
* 4 minibatches and learning rate 3e-4 instead of 1 minibatch at 1e-4: the budget here is ~1/60 of
  the papers' 246 M steps, and 1 minibatch would give only 2 400 gradient steps in 480 rounds. In
  the pilot (3 seeds, 0.4 M steps) DR's training success rose from 0.15 to 0.6 with these
  settings (JaxUED's were not tried).

Curriculum defaults and why:

* PLR / Robust PLR: capacity 2000 (papers 4000: fewer levels are seen in a small run), replay
  probability 0.5 (DCD's Robust PLR maze setting; PLR uses the same), ``min_fill`` 0.5 (minimax):
  replay starts after ~32 new-level rounds, a few % of the run. Temperature 0.3, staleness 0.3,
  rank prioritisation, positive value loss (DCD's maze runs; JaxUED uses MaxMC: ``--score``).
* ACCEL: as Robust PLR but replay probability 0.8 (JaxUED/ACCEL) and ``num_edits`` 1: one
  curriculax ``mutate_level`` flips 3 cells and moves the goal with probability 1/2, about what
  JaxUED's 5 edits do (each a no-op, a wall flip or a goal move); starts from 25-wall levels
  (JaxUED), not from empty rooms (the ACCEL paper).
* SFL: 256 fresh levels per evaluation, 500 steps each (two full episodes on a level the agent
  fails, so p is 0, 1/2 or 1 there, more on levels it solves quickly), keep the 64 most learnable,
  half of each round from that set (paper: 0.5); ``eval_every`` derived so evaluation costs
  ``--sfl-eval-cost`` (15 %) of the training steps. The paper evaluates 25 000 levels x 2000
  steps and keeps 1000; scaled down to the budget.

Budget (default ``--steps`` 4 M per agent, 480 updates): measured on the 2-core AMD EPYC dev
machine with 3 seeds vmapped, training runs at ~27-30 k env steps/s (all seeds together) for every
method (under ``vmap`` Robust PLR and ACCEL compute the skipped gradient steps too, so they cost
the same per round as DR); compiling one method's training chunk takes 38-51 s; the held-out
programs compile once (~75 s for the 12 mazes); ``worst_case`` at 1000 levels x 5 episodes takes
~26 s per seed (compile included). Predicted: ~36 min of training + ~12 min of compilation and
evaluation, ~48 min in all, for the first five methods (measured 2026-11-30). On 2026-12-07 DR
trained at ~52 k steps/s (225 s) and PAIRED, two students, at ~49 k (481 s): add ~9 min for it.

Run::

    .venv/bin/python benchmarks/curricula_maze.py [--steps N] [--seeds 3] [--methods dr,plr,...]
    .venv/bin/python benchmarks/curricula_maze.py --quick   # all methods, 2 seeds, ~100k steps
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from machine_info import describe_machine

import curriculax
from curriculax.agents.evaluation import evaluate, evaluate_envs, worst_case
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.agents.ppo.train import PPO
from curriculax.curricula import make_teacher

ENV_ID = "curriculax/Maze-v0"
HELDOUT_PREFIX = "curriculax/Maze-HeldOut-"
METHODS = ("dr", "plr", "robust_plr", "accel", "sfl", "paired")
LABELS = {
    "dr": "DR",
    "plr": "PLR",
    "robust_plr": "Robust PLR",
    "accel": "ACCEL",
    "sfl": "SFL",
    "paired": "PAIRED",
}
#: Arguments that may differ between a report's runs and a ``--merge`` into it.
MERGE_FREE = ("methods", "merge", "out", "plot", "load_start", "check_eval", "quick")
#: The hand-written section of the report that a regeneration keeps.
VERDICT = "### Verdict at this budget"
CURVES = ("return_mean", "success_rate")

#: Defaults of the full benchmark and of ``--quick`` (explicit options override either).
PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "methods": ",".join(METHODS),
        "steps": 4_000_000,
        "seeds": 3,
        "chunks": 20,
        "eval_episodes": 10,
        "worst_case_levels": 1000,
        "worst_case_episodes": 5,
        "capacity": 2000,
        "min_fill": 0.5,
        "sfl_eval_levels": 256,
        "sfl_eval_steps": 500,
        "sfl_keep": 64,
        "sfl_eval_every": None,
        "out": "docs/curricula_benchmark.md",
        "plot": "docs/images/curricula_maze.png",
    },
    "quick": {
        "methods": ",".join(METHODS),
        "steps": 100_000,
        "seeds": 2,
        "chunks": 3,
        "eval_episodes": 2,
        "worst_case_levels": 64,
        "worst_case_episodes": 2,
        "capacity": 64,
        "min_fill": 0.5,
        "sfl_eval_levels": 64,
        "sfl_eval_steps": 500,
        "sfl_keep": 16,
        "sfl_eval_every": 6,
        "out": "/tmp/curricula_quick.md",
        "plot": "/tmp/curricula_quick.png",
    },
}

#: Published numbers on the same kind of task, for orientation only (different held-out sets,
#: budgets of 20 k-30 k updates and LSTM policies): see the report.
REFERENCE = """\
Published numbers for orientation (not comparable: other held-out layouts, 250 M steps or
20 k updates, LSTM policies, 10 seeds; from the DCD and SFL result files):

* DCD, MiniGrid 25-block mazes, 250 M steps, mean solve rate over 7 held-out mazes: Robust PLR
  0.68, PLR 0.59, DR 0.43.
* ACCEL paper, mazes of up to 60 blocks, 20 k updates, 12 held-out mazes: ACCEL 0.88, Robust PLR
  0.71, DR 0.62.
* SFL, 13x13 60-wall mazes, 10 000 sampled solvable levels (mean % / CVaR 10 % / CVaR 1 %):
  SFL 99.5 / 95.3 / 65.4, DR 99.3 / 93.4 / 56.2, PLR-MaxMC 98.0 / 81.3 / 25.3,
  Robust PLR 94.8 / 52.6 / 6.5, Robust ACCEL 95.7 / 59.8 / 8.9.
"""


# --------------------------------------------------------------------------- configuration


def heldout_ids() -> list[str]:
    """Every registered held-out maze id, sorted."""
    ids = curriculax.registry.registered_ids()
    return sorted(i for i in ids if i.startswith(HELDOUT_PREFIX))


def short_name(env_id: str) -> str:
    """``curriculax/Maze-HeldOut-Comb-v0`` -> ``Comb``."""
    return env_id.removeprefix(HELDOUT_PREFIX).rsplit("-v", 1)[0]


def ppo_config(args: argparse.Namespace, updates: int) -> PPOConfig:
    """The PPO configuration every method shares, for ``updates`` updates."""
    return PPOConfig(
        total_timesteps=updates * args.num_envs * args.num_steps,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        update_epochs=args.epochs,
        num_minibatches=args.minibatches,
        learning_rate=args.lr,
        anneal_lr=not args.constant_lr,
        gamma=args.gamma,
        gae_lambda=args.gae_lambda,
        clip_eps=args.clip_eps,
        ent_coef=args.ent_coef,
        vf_coef=0.5,
        max_grad_norm=0.5,
        network="grid",
        hidden_size=args.hidden,
        recurrent=None if args.recurrent == "none" else args.recurrent,
    )


def sfl_eval_every(args: argparse.Namespace) -> int:
    """Updates between SFL evaluations: explicit, or so that they cost ``--sfl-eval-cost``."""
    if args.sfl_eval_every:
        return args.sfl_eval_every
    per_eval = args.sfl_eval_levels * args.sfl_eval_steps
    per_update = args.num_envs * args.num_steps
    return max(1, math.ceil(per_eval / (args.sfl_eval_cost * per_update)))


def teacher_options(method: str, args: argparse.Namespace) -> dict[str, Any]:
    """The options ``make_teacher`` gets for ``method`` (after ``--teacher-option`` overrides)."""
    replay = {
        "capacity": args.capacity,
        "min_fill": args.min_fill,
        "temperature": args.temperature,
        "staleness_coef": args.staleness,
        "score": args.score,
        "prioritization": "rank",
    }
    options: dict[str, Any] = {
        "dr": {},
        "plr": {**replay, "replay_prob": args.plr_replay_prob},
        "robust_plr": {**replay, "replay_prob": args.plr_replay_prob},
        "accel": {**replay, "replay_prob": args.accel_replay_prob, "num_edits": args.num_edits},
        "sfl": {
            "num_eval_levels": args.sfl_eval_levels,
            "eval_steps": args.sfl_eval_steps,
            "eval_every": sfl_eval_every(args),
            "keep": args.sfl_keep,
            "replay_fraction": args.sfl_replay_fraction,
        },
        "paired": {},  # the adversary's defaults (curricula.paired.ADVERSARY_PPO, 50 walls)
    }[method]
    for item in args.teacher_option:
        target, _, value = item.partition("=")
        name, _, key = target.partition(".")
        if not key or not value:
            raise SystemExit(f"--teacher-option wants METHOD.KEY=VALUE, got {item!r}")
        if name == method:
            try:
                options[key] = json.loads(value)
            except json.JSONDecodeError:
                options[key] = value
    return options


def sfl_eval_steps_per_agent(options: dict[str, Any], updates: int) -> int:
    """Env steps of SFL's evaluations in ``updates`` updates (one at update 0, then every k)."""
    evaluations = -(-updates // options["eval_every"])
    return evaluations * options["num_eval_levels"] * options["eval_steps"]


def plan_updates(args: argparse.Namespace, method: str, options: dict[str, Any]) -> tuple[int, int]:
    """``(updates, chunk)``: the run's updates, a whole number of equal chunks.

    Every method gets the same number of updates (rounded down to whole chunks), except SFL
    with ``--charge-sfl-eval``, whose evaluations then come out of its budget.
    """
    batch = args.num_envs * args.num_steps
    updates = args.steps // batch
    if updates < 1:
        raise SystemExit(f"--steps must be at least num_envs * num_steps = {batch}")
    chunk = max(1, updates // args.chunks)
    updates = updates // chunk * chunk
    if method == "sfl" and args.charge_sfl_eval:
        budget = updates * batch
        while updates > chunk and (
            updates * batch + sfl_eval_steps_per_agent(options, updates) > budget
        ):
            updates -= chunk
    return updates, chunk


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class Training:
    """One method's training: final parameters [S, ...], curves and timings."""

    trainer: PPO
    params: Any
    metrics: dict[str, np.ndarray]
    updates: int
    compile_s: float
    compile_cpu_s: float
    train_s: float
    train_cpu_s: float


def train_method(
    method: str, args: argparse.Namespace, options: dict[str, Any], updates: int, chunk: int
) -> Training:
    """Trains ``args.seeds`` agents with ``method``'s teacher, in chunks, printing progress."""
    env, params = curriculax.make(ENV_ID)
    teacher = make_teacher(method, env, params, **options)
    trainer = make_train(ppo_config(args, updates), env, params, teacher=teacher)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)

    wall, cpu = time.perf_counter(), time.process_time()
    runner = jax.jit(jax.vmap(trainer.init))(keys)
    # the update index is shared by the seeds (in_axes None), so SFL's "evaluate every k
    # updates" stays a real branch under vmap instead of a select computed every update
    run = jax.vmap(lambda r, start: trainer.run(r, chunk, start), in_axes=(0, None))
    step = jax.jit(run, donate_argnums=0).lower(runner, np.int32(0)).compile()
    compile_s, compile_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    label = LABELS[method]
    print(f"[{label}] compiled in {compile_s:.1f} s ({compile_cpu_s:.1f} CPU-s)", flush=True)

    batch = args.num_envs * args.num_steps
    chunks: list[dict[str, np.ndarray]] = []
    train_s = train_cpu_s = 0.0
    for done in range(chunk, updates + 1, chunk):
        wall, cpu = time.perf_counter(), time.process_time()
        runner, metrics = step(runner, np.int32(done - chunk))
        metrics = jax.tree.map(np.asarray, jax.block_until_ready(metrics))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        train_s, train_cpu_s = train_s + wall, train_cpu_s + cpu
        chunks.append(metrics)
        print(
            f"[{label}] update {done}/{updates}  env steps {done * batch / 1e6:.2f}M/agent  "
            f"return {metrics['return_mean'].mean():.3f}  "
            f"success {metrics['success_rate'].mean():.2f} (chunk means)  "
            f"{chunk * batch * args.seeds / wall:,.0f} steps/s (all seeds)",
            flush=True,
        )
    merged = {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}
    return Training(
        trainer, runner.params, merged, updates, compile_s, compile_cpu_s, train_s, train_cpu_s
    )


# --------------------------------------------------------------------------- evaluation


class HeldOut:
    """Held-out maze evaluation of all seeds at once, the keys ``evaluate_envs`` uses.

    ``evaluate_envs(trainer, params, ids, key)`` splits ``key`` over the ids, then each id's key
    into a level key and a run key; this does the same for every seed's key, with one program
    per maze vmapped over the seeds and compiled once (every method shares the network).

    Args:
        trainer: any PPO run with the benchmark's network.
        env_ids: the held-out ids, in the order their keys are split.
        num_episodes: episodes per maze and seed.
        greedy: most likely actions instead of samples.
    """

    def __init__(self, trainer: PPO, env_ids: list[str], num_episodes: int, greedy: bool):
        self.env_ids = env_ids
        self.fns: list[Callable] = []
        self.compile_s = 0.0
        for env_id in env_ids:
            env, params = curriculax.make(env_id)

            def one(net_params: Any, key: jax.Array, env=env, params=params) -> tuple:
                level_key, run_key = jax.random.split(key)
                levels = jax.vmap(env.sample_level, (0, None))(
                    jax.random.split(level_key, 1), params
                )
                result = evaluate(
                    trainer,
                    net_params,
                    levels,
                    run_key,
                    env=env,
                    env_params=params,
                    num_episodes=num_episodes,
                    greedy=greedy,
                )
                return result.returns[0], result.solved[0]

            self.fns.append(jax.jit(jax.vmap(one)))

    def __call__(self, params: Any, keys: jax.Array) -> dict[str, dict[str, np.ndarray]]:
        """Per id: ``return`` and ``solve_rate`` [S] (means over the episodes)."""
        env_keys = jax.vmap(lambda k: jax.random.split(k, len(self.env_ids)))(keys)
        results = {}
        for i, (env_id, fn) in enumerate(zip(self.env_ids, self.fns, strict=True)):
            returns, solved = jax.block_until_ready(fn(params, env_keys[:, i]))
            results[env_id] = {
                "return": np.asarray(returns).mean(axis=1),
                "solve_rate": np.asarray(solved).mean(axis=1),
            }
        return results


def take_seed(tree: Any, seed: int) -> Any:
    """One seed's slice of a pytree batched over seeds."""
    return jax.tree.map(lambda x: x[seed], tree)


def check_heldout(
    trainer: PPO, params: Any, key: jax.Array, heldout: dict, args: argparse.Namespace
) -> float:
    """Largest solve-rate difference between ``HeldOut`` and ``evaluate_envs`` on seed 0."""
    reference = evaluate_envs(
        trainer,
        take_seed(params, 0),
        heldout_ids(),
        key,
        num_episodes=args.eval_episodes,
        greedy=args.greedy,
    )
    return max(
        abs(float(reference[i]["solve_rate"]) - float(heldout[i]["solve_rate"][0]))
        for i in reference
    )


# --------------------------------------------------------------------------- report


def mean_std(values: Any) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    values = np.asarray(values, dtype=np.float64)
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def pm(values: Any, digits: int = 2) -> str:
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along the last axis (shorter windows at the start)."""
    if window <= 1:
        return x
    cumsum = np.cumsum(np.pad(x, [(0, 0)] * (x.ndim - 1) + [(1, 0)]), axis=-1)
    idx = np.arange(1, x.shape[-1] + 1)
    lo = np.maximum(idx - window, 0)
    return (cumsum[..., idx] - cumsum[..., lo]) / (idx - lo)


def plot_curves(results: dict[str, dict], path: Path, batch: int) -> str:
    """Return and success rate per update vs training env steps; the smoothing used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    updates = max(len(r["curves"]["return_mean"][0]) for r in results.values())
    window = max(1, updates // 40)
    for method, result in results.items():
        curves = result["curves"]
        steps = (np.arange(len(curves["return_mean"][0])) + 1) * batch
        for ax, name in zip(axes, CURVES, strict=True):
            y = smooth(np.asarray(curves[name], dtype=np.float64), window)
            (line,) = ax.plot(steps, y.mean(axis=0), label=LABELS[method])
            ax.fill_between(steps, y.min(axis=0), y.max(axis=0), color=line.get_color(), alpha=0.2)
    for ax, name in zip(axes, CURVES, strict=True):
        ax.set_xlabel("training env steps per agent")
        ax.set_ylabel(name.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0].legend()
    seeds = len(next(iter(results.values()))["curves"]["return_mean"])
    fig.suptitle(
        f"PPO on {ENV_ID}: training-round episodes (each method's own level distribution), "
        f"mean over {seeds} seeds, band min-max, moving average of {window} updates",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"moving average over {window} updates"


def extra_steps(result: dict) -> int:
    """Env steps per agent beyond training: SFL's evaluations, PAIRED's antagonist."""
    return result["sfl_eval_env_steps"] + result.get("antagonist_env_steps", 0)


def kept_verdict(out: Path) -> str:
    """The ``VERDICT`` section of the report at ``out`` (up to the next heading), or ""."""
    if not out.exists():
        return ""
    text = out.read_text()
    if VERDICT not in text:
        return ""
    section = text[text.index(VERDICT) :]
    end = section.find("\n#", len(VERDICT))
    return (section if end < 0 else section[:end]).strip()


def previous_results(args: argparse.Namespace, out: Path) -> tuple[dict, list[str], float]:
    """The results already in ``out``'s JSON (``.json`` or ``.json.gz``) for ``--merge``.

    Returns:
        ``(results by method, their commands, their script time in s)``.

    Raises:
        SystemExit: no JSON, or one made with other settings (named).
    """
    for path in (out.with_suffix(".json"), out.with_suffix(".json.gz")):
        if path.exists():
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as f:
                raw = json.load(f)
            break
    else:
        raise SystemExit(f"--merge: no {out.with_suffix('.json')}[.gz] to merge into")
    now = {k: v for k, v in vars(args).items() if k not in MERGE_FREE}
    then = {k: v for k, v in raw["args"].items() if k not in MERGE_FREE}
    differ = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if differ:
        detail = ", ".join(f"{k}: {then.get(k)!r} there, {now.get(k)!r} now" for k in differ)
        raise SystemExit(f"--merge: {path} was made with other settings ({detail})")
    commands = raw.get("commands", [raw["command"]])
    return raw["results"], commands, float(raw["total_s"])


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def report(
    args: argparse.Namespace,
    results: dict[str, dict],
    machine: str,
    commands: list[str],
    smoothing: str,
    plot_path: Path,
    out: Path,
    total_s: float,
    verdict: str = "",
) -> str:
    """The Markdown report; ``verdict`` is the hand-written section kept from the last one."""
    batch = args.num_envs * args.num_steps
    fill_rounds = math.ceil(args.capacity * args.min_fill / args.num_envs)
    sfl = results.get("sfl")
    sfl_cost = sfl["sfl_eval_env_steps"] / sfl["train_env_steps"] if sfl else args.sfl_eval_cost
    any_result = next(iter(results.values()))
    config = any_result["ppo"]
    ids = list(any_result["heldout"]) if any_result.get("heldout") else []
    lines = [
        f"# Curricula on the UED maze: {', '.join(LABELS[m] for m in results)}",
        "",
        f"Generated by `benchmarks/curricula_maze.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
        "Command: "
        + " then ".join(f"`{c}`" for c in commands)
        + (
            " (`--merge`: each method's row is from the command that ran it)"
            if len(commands) > 1
            else ""
        ),
        "",
        f"Machine: {machine}; devices {[str(d) for d in jax.devices()]}; "
        f"load average {args.load_start:.1f} at start, {os.getloadavg()[0]:.1f} at the end; "
        f"whole script {total_s / 60:.1f} min.",
        "",
        "## Setup",
        "",
        f"* Task: `{ENV_ID}`: 13x13, 25 random walls, solvable levels only (the env's default; "
        "the papers' DR does not filter), 5x5 egocentric view, 250 steps per episode. A success "
        "is an episode with positive return (the goal reached).",
        f"* Budget: {any_result['updates_planned']:,} updates x {args.num_envs} envs x "
        f"{args.num_steps} steps = {any_result['updates_planned'] * batch:,} training env "
        f"steps per agent (every curriculum round counts, trained on or not), {args.seeds} "
        f"seeds per method vmapped in one jitted program, {args.chunks} chunks. SFL's "
        "evaluation rollouts and PAIRED's antagonist (a second student trained on the same "
        "levels) are extra env steps, in their own column"
        + (" and charged against its training budget." if args.charge_sfl_eval else ".")
        + " Seeds: `jax.random.split(key(seed), S)`; evaluation keys are shared by all methods.",
        "* PPO (all methods): "
        + ", ".join(f"{k} {v}" for k, v in config.items() if k != "total_timesteps")
        + ".",
        "* Network: feed-forward (curriculax's grid encoder: per-channel embeddings + dense, then "
        f"2 x {args.hidden} tanh actor and critic torsos)"
        + (f" with a {args.recurrent.upper()} core" if args.recurrent != "none" else "")
        + ". JaxUED uses a conv encoder + LSTM-256.",
        f"* Evaluation: {len(ids)} held-out mazes x {args.eval_episodes} "
        f"{'greedy' if args.greedy else 'sampled-action'} episodes per seed; worst case: "
        f"{args.worst_case_levels} fresh Maze-v0 levels x {args.worst_case_episodes} episodes, "
        "ranked and scored with independent episodes (SFL's protocol), CVaR = mean solve rate of "
        "the hardest 10 % / 1 % of levels.",
        "",
        "Teacher options:",
        "",
    ]
    for method, result in results.items():
        opts = ", ".join(f"{k}={v}" for k, v in result["teacher_options"].items()) or "none"
        lines.append(f"* {LABELS[method]} (`{method}`): {opts}")
    lines += [
        "",
        "Hyper-parameters that differ from the papers, and why:",
        "",
        f"* Budget {any_result['updates_planned'] * batch / 1e6:.1f} M steps per agent instead "
        "of ~246 M (30 k updates): what a 2-core CPU allows for 6 methods x "
        f"{args.seeds} seeds in under an hour.",
        f"* Learning rate {args.lr} with {args.minibatches} minibatches (JaxUED: 1e-4, 1 "
        "minibatch): more, larger gradient steps so that learning shows within the small budget.",
        "* Feed-forward policy instead of LSTM-256, for speed on CPU; it cannot remember where "
        "it has been, which matters in the larger held-out mazes.",
        f"* Level buffer {args.capacity} (papers 4000): fewer new levels are seen in a short run; "
        f"min_fill {args.min_fill} lets replay start after ~{fill_rounds} new-level rounds.",
        f"* ACCEL: num_edits {args.num_edits} curriculax edits (3 wall flips + goal move w.p. "
        "1/2 each) ≈ JaxUED's 5 minimax edits; starts from 25-wall levels as JaxUED (the ACCEL "
        "paper starts from empty rooms).",
        f"* SFL: {args.sfl_eval_levels} levels x {args.sfl_eval_steps} steps per evaluation, keep "
        f"{args.sfl_keep} (paper: 25 000 x 2000, keep 1000), every {sfl_eval_every(args)} "
        f"updates: evaluation adds {sfl_cost:.0%} to SFL's training env steps.",
        "* PAIRED: the adversary (an MLP on the editor's [13, 13, 4] planes; PAIRED uses a conv "
        "net) builds each level with 50 wall choices and learns once per round with PPO at lr "
        "1e-4, 5 epochs, 1 minibatch (`curricula.paired.ADVERSARY_PPO`); both students use the "
        "PPO settings above.",
        "",
        "## Results",
        "",
        f"Mean ± standard deviation over {args.seeds} seeds (each seed's score is its mean over "
        "episodes). Held-out mean: mean over the mazes of the solve rate; per-maze columns: mean "
        "over seeds. Env steps are per agent; wall and CPU time are for all seeds of the method "
        "together (compile excluded, see the timing table).",
        "",
    ]
    header = ["method", "held-out mean"]
    header += [short_name(i) for i in ids]
    header += ["worst-case mean", "CVaR 10%", "CVaR 1%", "train env steps"]
    header += ["extra env steps (SFL eval, PAIRED antagonist)"]
    header += ["train wall s", "train CPU s"]
    rows = []
    for method, r in results.items():
        row = [LABELS[method]]
        if r.get("heldout"):
            per_seed = np.mean([r["heldout"][i]["solve_rate"] for i in ids], axis=0)
            row.append(pm(per_seed))
            row += [f"{np.mean(r['heldout'][i]['solve_rate']):.2f}" for i in ids]
            wc = r["worst_case"]
            row += [pm([w[k] for w in wc]) for k in ("mean", "cvar_10", "cvar_1")]
        else:
            row += ["–"] * (1 + len(ids) + 3)
        row += [f"{r['train_env_steps']:,}", f"{extra_steps(r):,}"]
        row += [f"{r['train_s']:.0f}", f"{r['train_cpu_s']:.0f}"]
        rows.append(row)
    lines += table(header, rows)

    lines += ["", "### Timing", ""]
    header = [
        "method",
        "compile s",
        "train s",
        "train env steps/s (all seeds)",
        "incl. extra steps/s",
        "eval s (held-out + worst case)",
        "CPU s (compile + train + eval)",
    ]
    rows = []
    for method, r in results.items():
        steps = r["train_env_steps"] * args.seeds
        extra = extra_steps(r) * args.seeds
        rows.append(
            [
                LABELS[method],
                f"{r['compile_s']:.1f}",
                f"{r['train_s']:.0f}",
                f"{steps / r['train_s']:,.0f}",
                f"{(steps + extra) / r['train_s']:,.0f}",
                f"{r['eval_s']:.0f}",
                f"{r['compile_cpu_s'] + r['train_cpu_s'] + r['eval_cpu_s']:.0f}",
            ]
        )
    lines += table(header, rows)
    lines += [
        "",
        "Held-out programs are compiled once for all methods (first method's eval time includes "
        "that); `worst_case` compiles once per seed and method.",
        "",
        *([verdict, ""] if verdict else []),
        "### Curriculum at the end of training (mean over seeds)",
        "",
    ]
    rows = []
    for method, r in results.items():
        final = {k[len("curriculum/") :]: v for k, v in r["final_curriculum"].items()}
        trained = np.mean(r["curves"]["curriculum/trained"])
        cells = ", ".join(f"{k} {v:.3g}" for k, v in final.items() if k != "trained")
        rows.append([LABELS[method], f"{trained:.2f}", cells])
    lines += table(["method", "share of rounds trained on", "final teacher metrics"], rows)
    lines += [
        "",
        f"![learning curves]({os.path.relpath(plot_path, out.parent)})",
        "",
        f"Curves: return and success rate of the episodes that ended in each update's training "
        f"round, against training env steps ({smoothing}). They are on each method's own level "
        "distribution (replayed, mutated or learnable levels), so they show how hard the "
        "curriculum's levels are, not how good the agents are: compare methods on the held-out "
        "and worst-case columns. They weight every ended episode equally, so levels solved in a "
        "few steps (many episodes per round) count more than levels that time out.",
        "",
        REFERENCE,
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except ``None`` ones (those come from the profile, named in the help)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=_HelpFormatter
    )
    full = PROFILES["full"]
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (all methods)")
    parser.add_argument("--methods", help=f"comma-separated (default {full['methods']})")
    parser.add_argument("--steps", type=int, help=f"training env steps per agent ({full['steps']})")
    parser.add_argument("--seeds", type=int, help=f"agents per method, vmapped ({full['seeds']})")
    parser.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    parser.add_argument("--chunks", type=int, help=f"progress chunks ({full['chunks']})")
    parser.add_argument("--num-envs", type=int, default=32, help="envs per agent (JaxUED)")
    parser.add_argument("--num-steps", type=int, default=256, help="rollout length (>= 250)")
    parser.add_argument("--epochs", type=int, default=5, help="PPO epochs (JaxUED)")
    parser.add_argument("--minibatches", type=int, default=4, help="per epoch (JaxUED: 1)")
    parser.add_argument("--lr", type=float, default=3e-4, help="Adam step (JaxUED: 1e-4)")
    parser.add_argument("--constant-lr", action="store_true", help="no linear annealing")
    parser.add_argument("--gamma", type=float, default=0.995, help="discount")
    parser.add_argument("--gae-lambda", type=float, default=0.98, help="GAE λ")
    parser.add_argument("--clip-eps", type=float, default=0.2, help="PPO clip")
    parser.add_argument("--ent-coef", type=float, default=1e-3, help="entropy bonus")
    parser.add_argument("--hidden", type=int, default=64, help="network width")
    parser.add_argument("--recurrent", choices=("none", "gru", "lstm"), default="none", help="core")
    group = parser.add_argument_group("teachers")
    group.add_argument("--capacity", type=int, help=f"PLR-family buffer ({full['capacity']})")
    group.add_argument("--min-fill", type=float, help=f"before replay ({full['min_fill']})")
    group.add_argument("--temperature", type=float, default=0.3, help="rank temperature")
    group.add_argument("--staleness", type=float, default=0.3, help="staleness share")
    group.add_argument(
        "--score", default="pvl", choices=("pvl", "maxmc", "l1vl"), help="PLR-family score"
    )
    group.add_argument("--plr-replay-prob", type=float, default=0.5, help="PLR, Robust PLR")
    group.add_argument("--accel-replay-prob", type=float, default=0.8, help="ACCEL")
    group.add_argument("--num-edits", type=int, default=1, help="ACCEL mutate_level calls")
    group.add_argument(
        "--sfl-eval-levels", type=int, help=f"levels per SFL evaluation ({full['sfl_eval_levels']})"
    )
    group.add_argument(
        "--sfl-eval-steps", type=int, help=f"steps per evaluated level ({full['sfl_eval_steps']})"
    )
    group.add_argument("--sfl-keep", type=int, help=f"learnable set ({full['sfl_keep']})")
    group.add_argument("--sfl-replay-fraction", type=float, default=0.5, help="share from the set")
    group.add_argument("--sfl-eval-every", type=int, help="default: from --sfl-eval-cost")
    group.add_argument("--sfl-eval-cost", type=float, default=0.15, help="eval/train steps")
    group.add_argument(
        "--charge-sfl-eval",
        action="store_true",
        help="count SFL's evaluation steps in its budget (fewer training updates)",
    )
    group.add_argument(
        "--teacher-option",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="any make_teacher option (JSON value), e.g. accel.num_edits=5",
    )
    group = parser.add_argument_group("evaluation and output")
    group.add_argument(
        "--eval-episodes", type=int, help=f"per held-out maze ({full['eval_episodes']})"
    )
    group.add_argument(
        "--worst-case-levels", type=int, help=f"fresh levels ({full['worst_case_levels']})"
    )
    group.add_argument(
        "--worst-case-episodes",
        type=int,
        help=f"episodes per level ({full['worst_case_episodes']})",
    )
    group.add_argument("--greedy", action="store_true", help="greedy evaluation actions")
    group.add_argument("--skip-eval", action="store_true", help="train only (speed pilots)")
    group.add_argument(
        "--check-eval",
        action="store_true",
        help="compare the vmapped held-out evaluation with evaluate_envs on seed 0",
    )
    group.add_argument("--out", help=f"Markdown report ({full['out']}); JSON next to it")
    group.add_argument(
        "--merge",
        action="store_true",
        help="add these methods to the results in --out's JSON (same settings required)",
    )
    group.add_argument("--plot", help=f"learning-curve PNG ({full['plot']})")
    args = parser.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    for key, value in profile.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {METHODS}")
    if args.num_steps < 250:
        print("warning: --num-steps < 250: some rounds end without a finished episode")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.load_start = os.getloadavg()[0]
    start = time.perf_counter()
    command = shlex.join([".venv/bin/python", "benchmarks/curricula_maze.py", *sys.argv[1:]])
    machine = describe_machine(("flax", "optax", "numpy"))
    print(f"Machine: {machine}; devices {jax.devices()}", flush=True)
    out, plot_path = Path(args.out), Path(args.plot)
    ids = heldout_ids()
    eval_key = jax.random.key(args.seed + 10_000)
    heldout_keys = jax.random.split(jax.random.fold_in(eval_key, 0), args.seeds)
    worst_keys = jax.random.split(jax.random.fold_in(eval_key, 1), args.seeds)
    heldout_eval: HeldOut | None = None
    batch = args.num_envs * args.num_steps

    results: dict[str, dict] = {}
    commands, earlier_s = [command], 0.0
    if args.merge:
        earlier, before, earlier_s = previous_results(args, out)
        print(f"merging into {sorted(earlier)} ({out})", flush=True)
        commands = [*before, command]
    for method in args.methods:
        options = teacher_options(method, args)
        updates, chunk = plan_updates(args, method, options)
        planned, _ = plan_updates(args, "dr", {})
        sfl_steps = sfl_eval_steps_per_agent(options, updates) if method == "sfl" else 0
        print(
            f"[{LABELS[method]}] {updates} updates ({updates * batch:,} env steps per agent"
            + (f", + {sfl_steps:,} SFL eval steps" if sfl_steps else "")
            + f"), {args.seeds} seeds, teacher options {options}",
            flush=True,
        )
        trained = train_method(method, args, options, updates, chunk)
        if method == "sfl":
            counted = trained.metrics["curriculum/evaluations"][:, -1]
            expected = -(-updates // options["eval_every"])
            if not np.all(counted == expected):
                print(f"warning: SFL evaluated {counted} times, expected {expected}")
        result: dict[str, Any] = {
            "method": method,
            "label": LABELS[method],
            "teacher_options": options,
            "ppo": trained.trainer.config.to_dict(),
            "updates": updates,
            "updates_planned": planned,
            "train_env_steps": updates * batch,
            "sfl_eval_env_steps": sfl_steps,
            "antagonist_env_steps": updates * batch if method == "paired" else 0,
            "compile_s": trained.compile_s,
            "compile_cpu_s": trained.compile_cpu_s,
            "train_s": trained.train_s,
            "train_cpu_s": trained.train_cpu_s,
            "train_steps_per_s": updates * batch * args.seeds / trained.train_s,
            "curves": {k: v.tolist() for k, v in trained.metrics.items()},
            "final_curriculum": {
                k: float(np.mean(v[:, -1])) for k, v in trained.metrics.items() if "/" in k
            },
            "eval_s": 0.0,
            "eval_cpu_s": 0.0,
        }
        if not args.skip_eval:
            wall, cpu = time.perf_counter(), time.process_time()
            if heldout_eval is None:
                heldout_eval = HeldOut(trained.trainer, ids, args.eval_episodes, args.greedy)
            heldout = heldout_eval(trained.params, heldout_keys)
            held_s = time.perf_counter() - wall
            if args.check_eval and not results:
                diff = check_heldout(
                    trained.trainer, trained.params, heldout_keys[0], heldout, args
                )
                print(f"[check] vmapped held-out vs evaluate_envs (seed 0): max |diff| {diff:.3f}")
                result["heldout_check_max_diff"] = diff
            worst = [
                worst_case(
                    trained.trainer,
                    take_seed(trained.params, s),
                    worst_keys[s],
                    num_levels=args.worst_case_levels,
                    num_episodes=args.worst_case_episodes,
                    greedy=args.greedy,
                )
                for s in range(args.seeds)
            ]
            result["eval_s"] = time.perf_counter() - wall
            result["eval_cpu_s"] = time.process_time() - cpu
            result["heldout"] = {
                i: {k: v.tolist() for k, v in r.items()} for i, r in heldout.items()
            }
            result["worst_case"] = worst
            mean_solve = np.mean([heldout[i]["solve_rate"] for i in ids], axis=0)
            print(
                f"[{LABELS[method]}] held-out solve rate {pm(mean_solve)} ({held_s:.1f} s); "
                f"worst case mean {pm([w['mean'] for w in worst])}, "
                f"CVaR10 {pm([w['cvar_10'] for w in worst])}, "
                f"CVaR1 {pm([w['cvar_1'] for w in worst])} (eval {result['eval_s']:.1f} s)",
                flush=True,
            )
        results[method] = result

    if args.merge:
        merged = {**earlier, **results}
        results = {m: merged[m] for m in METHODS if m in merged}
    smoothing = plot_curves(results, plot_path, batch)
    total_s = time.perf_counter() - start + earlier_s
    text = report(
        args, results, machine, commands, smoothing, plot_path, out, total_s, kept_verdict(out),
    )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = {
        "command": command,
        "commands": commands,
        "machine": machine,
        "devices": [str(d) for d in jax.devices()],
        "args": {k: v for k, v in vars(args).items()},
        "heldout_ids": ids,
        "total_s": total_s,
        "results": results,
    }
    saved = out.with_suffix(".json.gz")
    with gzip.open(saved, "wt") as f:
        json.dump(raw, f, indent=1, default=_json_default)
    print(text)
    print(f"wrote {out}, {saved} and {plot_path} in {total_s / 60:.1f} min")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
