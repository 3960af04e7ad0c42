"""Where a parkour step's time goes: the env at one batch with one engine stage stubbed out.

Each variant replaces one stage of ``envs/parkour/engine.py`` by a stand-in of the same shape
that does (almost) no work, so its physics is wrong and only its time means something: the gain
over the full engine bounds what making that stage free could buy (XLA may also drop work that
only fed the stage, so read it as an upper bound). The program is the benchmark's: random
actions on ``curriculax/Parkour-v0`` with water and creepers, auto-reset from a fresh pool, one
jitted rollout, timed after an ahead-of-time compile. Every variant runs in its own process,
rounds interleaved; the table gives the median steps/s (wall) and the share of a step's time
the stage accounts for, ``1 - full / stubbed``.

    python benchmarks/parkour_stage_costs.py [--batch 1024] [--repeats 3] [--steps 128]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

#: Stage stand-ins: the name of an ``engine`` function and a replacement of the same shapes.
STUBS = {
    "full engine": "",
    "contact geometry (surfaces)": (
        "engine.surfaces = lambda win, x, y, one: jnp.zeros((3, 2) + x.shape) + y * 0.0"
    ),
    "implicit gains Σ Jᵀ D J (quadratic)": (
        "engine.quadratic = lambda jac, dxx, dxy, dyy: "
        "jnp.zeros((jac.shape[1], jac.shape[1]) + jac.shape[3:]) + dxx[0] * 0.0"
    ),
    "linear solve (gauss_jordan)": "engine.gauss_jordan = lambda aug, n, one: aug[:, n:] * 1e-3",
    "motors and limits (joint_gauss_seidel)": (
        "engine.joint_gauss_seidel = lambda tb, q, v, *rest: v"
    ),
    "terrain windows, once per step (windows)": (
        "engine.windows = lambda kx, ky, x: jnp.zeros((2, 4) + x.shape) + x * 0.0 "
        "+ jnp.arange(4.0)[None, :, None, None]"
    ),
}

CHILD = """
import json, sys, time
import jax, jax.numpy as jnp
import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.envs.parkour import engine
from curriculax.rollout import random_rollout

batch, steps, seed = map(int, sys.argv[1:4])
exec(sys.argv[4])
env, params = curriculax.make("curriculax/Parkour-v0")
params = env.make_params(theta_1=0.3, theta_2=-0.5, theta_3=0.2, water_level=0.3,
                         creeper_height=1.5, creeper_spacing=1.0)
venv = AutoResetVecEnv(env, batch, mode="fresh")
rollout = random_rollout(venv, steps)
_, state = venv.reset(jax.random.key(seed), params)
run = jax.jit(lambda k, s: rollout(k, s, params)).lower(jax.random.key(0), state).compile()
jax.block_until_ready(run(jax.random.key(1), state))
best = float("inf")
for r in range(3):
    start = time.perf_counter()
    jax.block_until_ready(run(jax.random.key(2 + r), state))
    best = min(best, time.perf_counter() - start)
print(json.dumps({"rate": batch * steps / best}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=128)
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from machine_info import describe_machine
    from report import fmt

    rates: dict[str, list[float]] = {name: [] for name in STUBS}
    for round_ in range(args.repeats):
        for name, stub in STUBS.items():
            cmd = [sys.executable, "-c", CHILD, str(args.batch), str(args.steps), str(round_), stub]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rates[name].append(json.loads(out.strip().splitlines()[-1])["rate"])
            print(f"round {round_}: {name}: {fmt(rates[name][-1])}", flush=True)
    full = statistics.median(rates["full engine"])
    print(
        f"\nMachine: {describe_machine()}; Parkour-v0, batch {args.batch}, one XLA device, "
        f"{args.repeats} interleaved rounds, median steps/s (wall).\n"
    )
    print("| stage stubbed out | steps/s | share of a step's time |")
    print("| --- | --- | --- |")
    for name, runs in rates.items():
        rate = statistics.median(runs)
        share = "–" if name == "full engine" else f"{1.0 - full / rate:.0%}"
        print(f"| {name} | {fmt(rate)} ({fmt(min(runs))}–{fmt(max(runs))}) | {share} |")


if __name__ == "__main__":
    main()
