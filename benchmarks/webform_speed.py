"""Web-form throughput beside MiniWoB++ in a real browser, in one run.

Ours: random actions with auto-reset (a fresh form for every finished episode, refilled after
each rollout), one jitted program per (task, batch), timed after an ahead-of-time compile, at
batch 1 ... 16384, each measurement in its own subprocess, rounds interleaved. MiniWoB++: the
``miniwob`` package (``pip install miniwob``) driving Debian's headless Chromium through
chromedriver (``MINIWOB_CHROME_BINARY`` / ``MINIWOB_CHROMEDRIVER``), no screenshots, random
element actions (click a random element, or focus it and type a random instruction field), resets
included; the same tasks. Reported: median (min-max) steps/s, wall and per CPU-second, and the
ratio to one MiniWoB++ browser.

    python benchmarks/webform_speed.py [--batches 1 64 1024 4096 16384] [--repeats 3]
        [--miniwob-python PATH] [--miniwob-steps 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
#: One MiniWoB++ browser without screenshots as the web-form issue measured it on this machine
#: class (steps/s); the browser installed here may be slower, so ratios are also given to this.
ISSUE_MINIWOB = 45.0
#: Our id -> the MiniWoB++ task it mirrors.
TASKS = {
    "curriculax/LoginUser-v0": "login-user",
    "curriculax/EnterText-v0": "enter-text",
    "curriculax/ClickCheckboxes-v0": "click-checkboxes",
    "curriculax/ChooseList-v0": "choose-list",
    "curriculax/EnterPassword-v0": "enter-password",
    "curriculax/ClickOption-v0": "click-option",
    "curriculax/FormSequence-v0": "form-sequence",
    "curriculax/BookFlight-v0": "book-flight",
}

OURS = """
import json, sys, time
import jax
import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.rollout import random_rollout

env_id, batch, steps, seed = sys.argv[1], *map(int, sys.argv[2:])
env, params = curriculax.make(env_id)
venv = AutoResetVecEnv(env, batch, mode="fresh")
rollout = random_rollout(venv, steps)
_, state = venv.reset(jax.random.key(seed), params)

def program(key, state):
    roll_key, fill_key = jax.random.split(key)
    state, stats = rollout(roll_key, state, params)
    return venv.refill(fill_key, state, params), stats

start = time.perf_counter()
compiled = jax.jit(program).lower(jax.random.key(0), state).compile()
compile_s = time.perf_counter() - start
state, _ = compiled(jax.random.key(1), state)  # warm
jax.block_until_ready(state)
calls = max(3, int(3e5 // (batch * steps)))  # >= 300k steps, >= 3 calls
wall, cpu = time.perf_counter(), time.process_time()
for i in range(calls):
    state, _ = compiled(jax.random.key(i + 2), state)
jax.block_until_ready(state)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
n = calls * batch * steps
print(json.dumps({"steps_s": n / wall, "steps_cpu_s": n / cpu, "compile_s": compile_s}))
"""

MINIWOB = """
import json, os, sys, time
import gymnasium, numpy as np
import miniwob
from miniwob.action import ActionTypes

gymnasium.register_envs(miniwob)
task, steps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = gymnasium.make(f"miniwob/{task}-v1")
rng = np.random.default_rng(seed)
obs, _ = env.reset(seed=seed, options={"record_screenshots": False})  # kept for later resets
done = 0
wall, cpu = time.perf_counter(), time.process_time()
for t in range(steps):
    refs = [e["ref"] for e in obs["dom_elements"] if e["ref"] > 0]
    ref = int(rng.choice(refs))
    if rng.random() < 0.5 or not obs["fields"]:
        action = env.unwrapped.create_action(ActionTypes.CLICK_ELEMENT, ref=ref)
    else:
        field = int(rng.integers(len(obs["fields"])))
        action = env.unwrapped.create_action(
            ActionTypes.FOCUS_ELEMENT_AND_TYPE_FIELD, ref=ref, field=field)
    obs, reward, terminated, truncated, _ = env.step(action)
    if terminated or truncated:
        done += 1
        obs, _ = env.reset(seed=seed + t + 1)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
env.close()
print(json.dumps({"steps_s": steps / wall, "steps_cpu_s": steps / cpu, "episodes": done}))
"""


def _run(python: str, script: str, args: list, env: dict | None = None) -> dict:
    out = subprocess.run(
        [python, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=1800,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(samples: list[dict], key: str) -> tuple[float, float, float] | None:
    values = [s[key] for s in samples if key in s]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def _fmt(triple) -> str:
    if triple is None:
        return "n/a"
    median, low, high = triple

    def short(x):
        return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}"

    return f"{short(median)} ({short(low)}-{short(high)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024, 4096, 16384])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=64, help="env steps per jitted call")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--miniwob-python", default=sys.executable)
    parser.add_argument("--miniwob-steps", type=int, default=300)
    parser.add_argument("--out", help="append the Markdown report to this file")
    parser.add_argument(
        "--samples", help="write every measurement so far to this JSON file after each one"
    )
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from machine_info import describe_machine

    browser = {
        "MINIWOB_CHROME_BINARY": "/usr/bin/chromium",
        "MINIWOB_CHROMEDRIVER": "/usr/bin/chromedriver",
    }
    ours: dict = {}
    peers: dict = {}

    def save() -> None:
        if args.samples:
            with open(args.samples, "w") as f:
                json.dump(
                    {"miniwob": peers, "ours": {f"{t} {b}": v for (t, b), v in ours.items()}}, f
                )

    for r in range(args.repeats):
        for task in args.tasks:
            print(f"round {r + 1}: MiniWoB++ {TASKS[task]}", flush=True)
            sample = _run(
                args.miniwob_python, MINIWOB, [TASKS[task], args.miniwob_steps, r], browser
            )
            peers.setdefault(task, []).append(sample)
            save()
            for batch in args.batches:
                print(f"round {r + 1}: {task} B={batch}", flush=True)
                sample = _run(sys.executable, OURS, [task, batch, args.steps, r])
                ours.setdefault((task, batch), []).append(sample)
                save()
    lines = [
        "### Web forms beside MiniWoB++ (`benchmarks/webform_speed.py`)",
        "",
        f"Machine: {describe_machine()}. Median (min-max) of {args.repeats} interleaved rounds; "
        f"ours: random actions, auto-reset, {args.steps} steps per jitted call; MiniWoB++: one "
        "headless Chromium, random element actions, no screenshots, resets included.",
        "",
        "| task | MiniWoB++ steps/s | batch | ours steps/s (wall) | per CPU-s | x MiniWoB++ "
        f"| x {ISSUE_MINIWOB:.0f} steps/s | compile s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        peer = _median(peers[task], "steps_s")
        for batch in args.batches:
            mine = _median(ours[(task, batch)], "steps_s")
            per_cpu = _median(ours[(task, batch)], "steps_cpu_s")
            compile_s = _median(ours[(task, batch)], "compile_s")
            ratio = f"{mine[0] / peer[0]:,.0f}x" if mine and peer else "n/a"
            issue_ratio = f"{mine[0] / ISSUE_MINIWOB:,.0f}x" if mine else "n/a"
            lines.append(
                f"| {task.split('/')[1]} | {_fmt(peer)} | {batch} | {_fmt(mine)} | "
                f"{_fmt(per_cpu)} | {ratio} | {issue_ratio} | {compile_s[0]:.1f} |"
                if compile_s
                else f"| {task} | {_fmt(peer)} | {batch} | error: {ours[(task, batch)][0]} |"
            )
    errors = [s["error"] for s in peers.values() for s in s if "error" in s]
    if errors:
        lines += ["", f"MiniWoB++ errors: {errors[:2]}"]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + report)


if __name__ == "__main__":
    main()
