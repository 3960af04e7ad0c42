"""Parkour throughput beside gymnasium's Box2D BipedalWalker and a jax2d walker, in one run.

Ours: the full env (``curriculax/Parkour-v0`` on a task with water and creepers, so the CPPN
track, ceiling, water and lidar surface codes all run; ``--envs`` adds others),
random actions, auto-reset from a pool that is refilled (new CPPN tracks) after every rollout,
one jitted program per (batch, device count), timed after an ahead-of-time compile. On 2 devices
the env batch is split over 2 XLA host devices (``--xla_force_host_platform_device_count=2``),
one per core. Peers: Box2D ``BipedalWalker-v3`` and ``BipedalWalkerHardcore-v3`` (gymnasium, one
env in one process, random actions; the time of its resets, a new Box2D terrain every ~100
random steps, is left out, its best case; with resets is printed too), and a jax2d walker
(``benchmarks/jax2d_walker.py``). Every measurement runs in its own subprocess, rounds
interleaved; reported: median (min–max) of steps/s wall and per CPU-second, and ratios to Box2D
BipedalWalker's median.

    python benchmarks/parkour_speed.py [--batches 1 64 1024 4096 16384] [--devices 1 2]
        [--repeats 3] [--jax2d-python PATH] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
#: Box2D BipedalWalker-v3 on this machine class as the parkour issue measured it (steps/s, one
#: process): the Box2D wheel installed here may be slower, so ratios are also given against this.
ISSUE_BOX2D = 9296.0

#: Our env: (env id, batch, devices, steps per call, seed) -> one JSON line.
OURS = """
import json, sys, time
import jax, jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.rollout import random_rollout

env_id, batch, devices, steps, seed = sys.argv[1], *map(int, sys.argv[2:])
assert jax.device_count() == devices, jax.devices()
env, params = curriculax.make(env_id)
if env_id.startswith("curriculax/Parkour"):
    params = env.make_params(theta_1=0.3, theta_2=-0.5, theta_3=0.2, water_level=0.3,
                             creeper_height=1.5, creeper_spacing=1.0)
venv = AutoResetVecEnv(env, batch, mode="fresh")
rollout = random_rollout(venv, steps)

_, state = venv.reset(jax.random.key(seed), params)
mesh = Mesh(jax.devices(), ("envs",))
split = NamedSharding(mesh, PartitionSpec("envs"))
whole = NamedSharding(mesh, PartitionSpec())
placement = jax.tree.map(
    lambda x: split if x.ndim and x.shape[0] % devices == 0 and x.size else whole, state)
state = jax.device_put(state, placement)

def program(key, state):
    roll_key, fill_key = jax.random.split(key)
    state, out = rollout(roll_key, state, params)
    state = venv.refill(fill_key, state, params)
    return jax.lax.with_sharding_constraint(state, placement), out
start = time.perf_counter()
compiled = jax.jit(program).lower(jax.random.key(0), state).compile()
compile_s = time.perf_counter() - start
state, _ = jax.block_until_ready(compiled(jax.random.key(1), state))
runs = []
for i in range(3):
    wall, cpu = time.perf_counter(), time.process_time()
    state, _ = jax.block_until_ready(compiled(jax.random.key(2 + i), state))
    runs.append((time.perf_counter() - wall, time.process_time() - cpu))
wall, cpu = sorted(runs)[1]
print(json.dumps({"steps": batch * steps, "wall": wall, "cpu": cpu, "compile": compile_s}))
"""

#: gymnasium's Box2D walker: (env id, steps, seed) -> one JSON line.
BOX2D = """
import json, sys, time
import gymnasium
env_id, steps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = gymnasium.make(env_id)
env.reset(seed=seed)
env.action_space.seed(seed)
actions = [env.action_space.sample() for _ in range(steps)]
wall, cpu, reset_wall, reset_cpu = time.perf_counter(), time.process_time(), 0.0, 0.0
for action in actions:
    _, _, terminated, truncated, _ = env.step(action)
    if terminated or truncated:
        w, c = time.perf_counter(), time.process_time()
        env.reset()
        reset_wall += time.perf_counter() - w
        reset_cpu += time.process_time() - c
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
# The peer's best case: its resets (a new Box2D terrain, ~every 100 random steps) not counted.
print(json.dumps({"steps": steps, "wall": wall - reset_wall, "cpu": cpu - reset_cpu,
                  "with_resets": steps / wall, "compile": 0.0}))
"""

#: jax2d's walker: (batch, steps) -> one JSON line (benchmarks/jax2d_walker.py).
JAX2D = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
import jax2d_walker
reason = jax2d_walker.available()
if reason:
    print(json.dumps({"missing": reason}))
    raise SystemExit
batch, steps = int(sys.argv[1]), int(sys.argv[2])
cpu = time.process_time()
result = jax2d_walker.measure(batch, steps)
print(json.dumps({"steps_per_s": result["steps_per_s"], "compile": result["compile_s"]}))
"""


def _child(code: str, args: list[str], devices: int = 1, python: str | None = None) -> dict:
    environ = dict(os.environ)
    environ["XLA_FLAGS"] = (
        environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    ).strip()
    environ.setdefault("JAX_PLATFORMS", "cpu")
    out = subprocess.run(
        [python or sys.executable, "-c", code, *args], capture_output=True, text=True, env=environ
    )
    if out.returncode:
        return {"missing": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _steps_for(batch: int) -> int:
    """Steps per timed call: ~2^17 env steps, at least 10 steps, at most 2,000."""
    return int(min(2000, max(10, 2**17 // batch)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["Parkour-v0"])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024, 4096, 16384])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--box2d-steps", type=int, default=20_000)
    parser.add_argument("--jax2d-python", help="interpreter with jax2d (default: this one)")
    parser.add_argument("--jax2d-batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()

    sys.path.insert(0, HERE)
    from machine_info import describe_machine
    from report import emit, fmt, spread

    load = os.getloadavg()[0]
    ours: dict[tuple, list[dict]] = {}
    box2d: dict[str, list[dict]] = {}
    jax2d: dict[int, list[dict]] = {}
    for round_ in range(args.repeats):
        for env_id in ("BipedalWalker-v3", "BipedalWalkerHardcore-v3"):
            result = _child(BOX2D, [env_id, str(args.box2d_steps), str(round_)])
            box2d.setdefault(env_id, []).append(result)
            print(f"round {round_}: Box2D {env_id}: {result}", flush=True)
        for batch in args.jax2d_batches:
            steps = max(2, min(800, 2**11 // batch))  # jax2d: ~1k steps/s, ~2 s per call
            result = _child(JAX2D, [str(batch), str(steps), HERE], python=args.jax2d_python)
            jax2d.setdefault(batch, []).append(result)
            print(f"round {round_}: jax2d walker, batch {batch}: {result}", flush=True)
        for env_id in args.envs:
            for batch in args.batches:
                for d in args.devices:
                    if batch % d:
                        continue
                    cmd = [f"curriculax/{env_id}", str(batch), str(d), str(_steps_for(batch))]
                    result = _child(OURS, [*cmd, str(round_)], devices=d)
                    ours.setdefault((env_id, batch, d), []).append(result)
                    rate = result["steps"] / result["wall"] if "steps" in result else 0.0
                    print(f"round {round_}: {env_id} B={batch} D={d}: {fmt(rate)}", flush=True)

    def rates(runs: list[dict]) -> tuple[list[float], list[float]]:
        ok = [r for r in runs if "steps" in r]
        return [r["steps"] / r["wall"] for r in ok], [r["steps"] / r["cpu"] for r in ok]

    walker = rates(box2d["BipedalWalker-v3"])[0]
    base = statistics.median(walker) if walker else float("nan")
    lines = [
        "### Parkour steps/s beside Box2D's BipedalWalker and a jax2d walker",
        "",
        f"Machine: {describe_machine(('gymnasium', 'box2d', 'jax2d'))}; load average "
        f"{load:.1f} at start, {os.getloadavg()[0]:.1f} at the end. {args.repeats} interleaved "
        "rounds, median (min–max); ours: random actions, auto-reset, pool refilled after each "
        "rollout, compile (AOT) apart; Parkour task θ = (0.3, -0.5, 0.2), water 0.3, creepers "
        "1.5 m every 1 m.",
        "",
        f"| what | batch | devices | compile s | steps/s (wall) | per CPU-s | vs BipedalWalker "
        f"here | vs {fmt(ISSUE_BOX2D)} |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for env_id, runs in box2d.items():
        wall, cpu = rates(runs)
        if not wall:
            lines.append(f"| Box2D {env_id} | 1 | – | – | {runs[0].get('missing')} | | | |")
            continue
        ratio = statistics.median(wall) / base
        lines.append(
            f"| Box2D {env_id} (1 process) | 1 | – | – | {spread(wall)} | {spread(cpu)} "
            f"| {ratio:.2f}x | {statistics.median(wall) / ISSUE_BOX2D:.2f}x |"
        )
    for batch, runs in jax2d.items():
        ok = [r["steps_per_s"] for r in runs if "steps_per_s" in r]
        if not ok:
            lines.append(f"| jax2d walker | {batch} | 1 | – | {runs[0].get('missing')} | | | |")
            continue
        comp = statistics.median(r["compile"] for r in runs if "compile" in r)
        lines.append(
            f"| jax2d walker | {batch} | 1 | {comp:.1f} | {spread(ok)} | – "
            f"| {statistics.median(ok) / base:.2f}x | {statistics.median(ok) / ISSUE_BOX2D:.2f}x |"
        )
    for (env_id, batch, d), runs in ours.items():
        wall, cpu = rates(runs)
        if not wall:
            lines.append(f"| {env_id} | {batch} | {d} | – | {runs[0].get('missing')} | | | |")
            continue
        comp = statistics.median(r["compile"] for r in runs if "compile" in r)
        rate = statistics.median(wall)
        lines.append(
            f"| {env_id} | {batch} | {d} | {comp:.1f} | {spread(wall)} | {spread(cpu)} "
            f"| {rate / base:.1f}x | {rate / ISSUE_BOX2D:.1f}x |"
        )
    emit(lines, args.out)


if __name__ == "__main__":
    main()
