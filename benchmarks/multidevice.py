"""PPO training speed on 1, 2 and 4 XLA devices, in one process or several: what splitting buys.

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

A layout ``DxP`` runs the D devices as P processes of D/P devices each, joined by JAX's
distributed runtime on localhost (``curriculax.distributed``, what ``curriculax train
--coordinator ...`` uses; gloo collectives on CPU); its time is process 0's, its CPU time the sum
over the processes. Learning is the same as in one process (``tests/agents/test_multiprocess.py``).

    python benchmarks/multidevice.py [--env curriculax/DoorKey-8x8-v0] [--layouts 1 2 2x2]
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
env_id, devices, num_envs, total, seed, count, index = sys.argv[1], *map(int, sys.argv[2:8])
if count > 1:
    from curriculax import distributed
    distributed.initialize(sys.argv[8], count, index)
import jax
import curriculax
from curriculax.agents.ppo import PPOConfig, make_train

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


def run_child(env_id: str, layout: tuple[int, int], num_envs: int, total: int, seed: int) -> dict:
    """One timed training run on ``layout`` = (devices, processes), in fresh processes."""
    devices, count = layout
    environ = dict(os.environ)
    environ["XLA_FLAGS"] = (
        environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices // count}"
    ).strip()
    environ.setdefault("JAX_PLATFORMS", "cpu")
    address = f"127.0.0.1:{_free_port()}"
    procs = []
    for index in range(count):
        args = [sys.executable, "-c", CHILD, env_id, str(devices), str(num_envs), str(total)]
        args += [str(seed), str(count), str(index), address]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        procs.append(subprocess.Popen(args, env=environ, **pipes))
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"{_label(layout)}, {num_envs} envs failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {**results[0], "cpu": sum(r["cpu"] for r in results)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parse_layout(text: str) -> tuple[int, int]:
    """``"D"`` or ``"DxP"`` -> (devices, processes)."""
    devices, _, count = text.partition("x")
    layout = (int(devices), int(count or 1))
    if min(layout) < 1 or layout[0] % layout[1]:
        raise argparse.ArgumentTypeError(f"layout {text!r}: P must divide D, both >= 1")
    return layout


def _label(layout: tuple[int, int]) -> str:
    devices, count = layout
    return f"{devices} device(s)" + (f" in {count} processes" if count > 1 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="curriculax/DoorKey-8x8-v0")
    parser.add_argument(
        "--layouts",
        type=_parse_layout,
        nargs="+",
        default=[(1, 1), (2, 1), (4, 1)],
        help="device counts, DxP for D devices in P processes",
    )
    parser.add_argument("--num-envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--total-timesteps", type=int, default=524_288)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()
    for n in args.num_envs:
        for d, _ in args.layouts:
            if n % d:
                parser.error(f"--num-envs {n} is not divisible by {d} devices")

    # The parent imports jax only for the machine line (one device, never used for timing).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from machine_info import describe_machine
    from report import emit, fmt, spread

    load = os.getloadavg()[0]
    samples: dict[tuple, list[dict]] = {}
    for round_ in range(args.repeats):
        for n in args.num_envs:
            for layout in args.layouts:
                result = run_child(args.env, layout, n, args.total_timesteps, round_)
                samples.setdefault((n, layout), []).append(result)
                rate = fmt(result["steps"] / result["wall"])
                print(f"round {round_}: {n} envs on {_label(layout)}: {rate} steps/s", flush=True)

    lines = [
        f"### PPO training on 1–{max(d for d, _ in args.layouts)} XLA devices, {args.env}",
        "",
        f"Machine: {describe_machine(('flax', 'optax'))}; XLA host devices "
        f"(`--xla_force_host_platform_device_count`); load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        f"PPO defaults (128 steps per env per update, 4 epochs x 4 minibatches, grid encoder), "
        f"{args.total_timesteps:,} env steps per run, {args.repeats} interleaved rounds, "
        "median (min–max). Compile: AOT lower + compile, not in the run time.",
        "",
        "| envs | devices | processes | compile s | steps/s (wall) | steps per CPU-s "
        f"| vs {_label(args.layouts[0])} |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in args.num_envs:
        base = statistics.median(s["steps"] / s["wall"] for s in samples[(n, args.layouts[0])])
        for d, count in args.layouts:
            runs = samples[(n, (d, count))]
            wall = [s["steps"] / s["wall"] for s in runs]
            cpu = [s["steps"] / s["cpu"] for s in runs]
            comp = statistics.median(s["compile"] for s in runs)
            cells = (
                str(n),
                str(d),
                str(count),
                f"{comp:.1f}",
                spread(wall),
                spread(cpu),
                f"{statistics.median(wall) / base:.2f}x",
            )
            lines.append("| " + " | ".join(cells) + " |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
