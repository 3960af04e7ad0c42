"""Policies trained only in the mock, scored on MiniWoB++'s own pages: the transfer table.

For each task: ``curriculax train curriculax/<Task>-v0 --seeds S`` with the task's recipe and no
other flag (the user's path; its closing report gives each seed's greedy success on 256 fresh
generated forms), then every seed's greedy policy on MiniWoB++ seeds ``0..E-1`` through the
bridge ``curriculax/MiniWoB-<Task>-v0`` (as ``curriculax eval RUN --env ... --greedy --agent i``
does), beside the same imported episodes in the mock, action for action. Prints one markdown
row per task and the machine; ``--json`` also writes the numbers.

Needs the ``miniwob`` extra, Chromium and chromedriver. Cost on the 2-core dev machine: ~5-10
min of training per task (5 seeds, 300k steps) and ~1 min per seed for 100 page episodes.

    python benchmarks/web_transfer.py [--tasks EnterText LoginUser ...] [--seeds 5]
        [--episodes 100] [--runs DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import jax
from machine_info import describe_machine

from curriculax.agents.page_evaluation import evaluate_pages
from curriculax.agents.runner import load_run
from curriculax.envs.webform.miniwob import BRIDGE_IDS

#: The mirrored tasks, from the bridges' own table (``curriculax/<Task>-v0`` -> ``<Task>``).
TASKS = tuple(env_id.split("/")[1].removesuffix("-v0") for env_id in BRIDGE_IDS.values())


def train(task: str, seeds: int, folder: Path) -> tuple[list[float], float]:
    """Trains ``task`` with its recipe; each seed's greedy success on fresh forms, wall seconds."""
    start = time.perf_counter()
    command = [
        sys.executable, "-m", "curriculax", "train", f"curriculax/{task}-v0",
        "--seeds", str(seeds), "--out", str(folder), "--quiet", "--replay-episodes", "0",
    ]  # fmt: skip
    subprocess.run(command, check=True)
    report = json.loads((folder / "eval.json").read_text())
    return [float(s["solve_rate"]) for s in report["seeds"]], time.perf_counter() - start


def on_pages(task: str, folder: Path, episodes: int) -> list[dict]:
    """Every seed's greedy policy on MiniWoB++ seeds ``0..episodes-1`` and the same mock ones."""
    _, trainer, runner, _ = load_run(folder)
    seeds = int(runner.update.shape[0])
    results = []
    for agent in range(seeds):
        params = jax.tree.map(lambda x, i=agent: x[i], runner.params)
        results.append(
            evaluate_pages(trainer, params, f"curriculax/MiniWoB-{task}-v0", episodes=episodes)
        )
    return results


def main() -> int:
    """Trains and scores each task; prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--runs", type=Path, default=Path("runs/web_transfer"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    print(describe_machine(("gymnasium", "miniwob", "selenium")))
    print(
        "| task | seeds | steps | train s | mock, fresh forms, per seed | MiniWoB++ pages, per "
        f"seed ({args.episodes} episodes each) | mock, the same episodes | episodes that differ |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for task in args.tasks:
        folder = args.runs / task
        if (folder / "eval.json").exists():  # a finished run is scored again, not retrained
            report = json.loads((folder / "eval.json").read_text())
            fresh = [float(s["solve_rate"]) for s in report["seeds"]]
            seconds = float("nan")
        else:
            fresh, seconds = train(task, args.seeds, folder)
        pages = on_pages(task, folder, args.episodes)
        steps = json.loads((folder / "run.json").read_text())["config"]["total_timesteps"]
        row = {
            "task": task,
            "seeds": len(fresh),
            "steps": steps,
            "train_s": seconds,
            "fresh": fresh,
            "pages": [p["page_success"] for p in pages],
            "mock": [p["mock_success"] for p in pages],
            "differ": sum(p["disagreements"] for p in pages),
        }
        rows.append(row)
        print(
            f"| {task} | {row['seeds']} | {steps:,} | "
            + ("reused" if seconds != seconds else f"{seconds:.0f}")  # NaN: an earlier run's
            + " | "
            + ", ".join(f"{s:.2f}" for s in fresh)
            + " | **"
            + ", ".join(f"{s:.3f}" for s in row["pages"])
            + "** | "
            + ", ".join(f"{s:.3f}" for s in row["mock"])
            + f" | {row['differ']} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": describe_machine(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
