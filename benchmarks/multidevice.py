"""PPO training speed on 1, 2 and 4 XLA devices: what splitting the envs across devices buys.

``make_train(..., devices=...)`` splits the env axis (env states, observations, rollouts,
minibatch gradients) across devices and replicates the parameters (see docs/agents.md). On a CPU
the devices are XLA host devices (``XLA_FLAGS=--xla_force_host_platform_device_count=D``), which
XLA runs on separate threads: a way to use several cores for the parts of the program that XLA:CPU
otherwise runs on one thread (elementwise work, gathers, the env steps). On GPUs/TPUs the devices
are the accelerators.

XLA reads the device count once per process, so every (round, device count) runs in a fresh
subprocess: it builds the run, compiles it ahead of time (reported apart), then times one whole
training run (``jax.jit(train)`` on a key; all D devices used). Rounds interleave the device counts
(1 2 4 1 2 4 ...), each round with its own seed, the same in every count. Reported: median
(min–max) of env steps/s (wall) and per CPU-second of the process, and the speed-up over one
device. Learning is the same on any device count (``tests/agents/test_multidevice.py``).

    python benchmarks/multidevice.py [--env curriculax/DoorKey-8x8-v0] [--devices 1 2 4]
        [--num-envs 64 256] [--total-timesteps 524288] [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

#: The timed program, run in a subprocess per (round, device count).
CHILD = """
import json, sys, time
import jax
import curriculax
from curriculax.agents.ppo import PPOConfig, make_train

env_id, devices, num_envs, total, seed = sys.argv[1], *map(int, sys.argv[2:])
assert jax.device_count() == devices, jax.devices()
env, params = curriculax.make(env_id)
config = PPOConfig(total_timesteps=total, num_envs=num_envs)
train = make_train(config, env, params, devices=jax.devices())
start = time.perf_counter()
program = jax.jit(train).lower(jax.random.key(seed)).compile()
compile_s = time.perf_counter() - start
wall, cpu = time.perf_counter(), time.process_time()
runner, _ = jax.block_until_ready(program(jax.random.key(seed)))
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
steps = int(runner.update) * config.batch_size
print(json.dumps({"steps": steps, "wall": wall, "cpu": cpu, "compile": compile_s,
                  "sharding": str(runner.obs.sharding)}))
"""


def run_child(env_id: str, devices: int, num_envs: int, total: int, seed: int) -> dict:
    """One timed training run on ``devices`` XLA host devices, in a fresh process."""
    environ = dict(os.environ)
    environ["XLA_FLAGS"] = (
        environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    ).strip()
    environ.setdefault("JAX_PLATFORMS", "cpu")
    args = [sys.executable, "-c", CHILD, env_id, str(devices), str(num_envs), str(total), str(seed)]
    out = subprocess.run(args, capture_output=True, text=True, env=environ)
    if out.returncode:
        raise RuntimeError(f"{devices} devices, {num_envs} envs failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="curriculax/DoorKey-8x8-v0")
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--total-timesteps", type=int, default=524_288)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()
    for n in args.num_envs:
        for d in args.devices:
            if n % d:
                parser.error(f"--num-envs {n} is not divisible by {d} devices")

    # The parent imports jax only for the machine line (one device, never used for timing).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from machine_info import describe_machine
    from report import emit, fmt, spread

    load = os.getloadavg()[0]
    samples: dict[tuple[int, int], list[dict]] = {}
    for round_ in range(args.repeats):
        for n in args.num_envs:
            for d in args.devices:
                result = run_child(args.env, d, n, args.total_timesteps, round_)
                samples.setdefault((n, d), []).append(result)
                rate = result["steps"] / result["wall"]
                print(f"round {round_}: {n} envs on {d} device(s): {fmt(rate)} steps/s", flush=True)

    lines = [
        f"### PPO training on 1–{max(args.devices)} XLA devices, {args.env}",
        "",
        f"Machine: {describe_machine(('flax', 'optax'))}; XLA host devices "
        f"(`--xla_force_host_platform_device_count`); load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        f"PPO defaults (128 steps per env per update, 4 epochs x 4 minibatches, grid encoder), "
        f"{args.total_timesteps:,} env steps per run, {args.repeats} interleaved rounds, "
        "median (min–max). Compile: AOT lower + compile, not in the run time.",
        "",
        "| envs | devices | compile s | steps/s (wall) | steps per CPU-s "
        f"| vs {args.devices[0]} device(s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n in args.num_envs:
        base = statistics.median(s["steps"] / s["wall"] for s in samples[(n, args.devices[0])])
        for d in args.devices:
            runs = samples[(n, d)]
            wall = [s["steps"] / s["wall"] for s in runs]
            cpu = [s["steps"] / s["cpu"] for s in runs]
            comp = statistics.median(s["compile"] for s in runs)
            cells = (
                str(n),
                str(d),
                f"{comp:.1f}",
                spread(wall),
                spread(cpu),
                f"{statistics.median(wall) / base:.2f}x",
            )
            lines.append("| " + " | ".join(cells) + " |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
