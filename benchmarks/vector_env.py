"""``gymnasium.make_vec`` steps/s beside the functional core stepped the same way, one process.

For one id of each family (DoorKey-8x8, Empty-8x8, Parkour, LoginUser) at 1024 and 8192 envs,
uniformly random actions (drawn beforehand with the action space's own ``sample``, the same for
both paths), one Python call per step:

* core: ``jax.jit`` of ``AutoResetVecEnv.step`` (a key split, then the step), returning all it
  returns (observations, state, rewards, both flags and ``info`` with the final observations),
  actions given as device arrays, nothing fetched to the host, one block at the end;
* make_vec: ``gymnasium.make_vec(id, num_envs=N)``: numpy actions in, numpy observations, rewards,
  flags and ``info["final_obs"]`` out (same-step auto-reset), its fresh-level pool refilled as
  episodes use it (the core loop replays its first pool: refills are make_vec's own work).

Both are warmed up for ``--steps`` steps first (compiles, and the pool refill's compile), then run
``--repeats`` interleaved rounds of ``--steps`` steps; medians of steps/s (wall) and steps per
CPU-second (all threads) are reported with the ratio make_vec / core, and the machine is named.

Usage: ``python benchmarks/vector_env.py [--repeats 5] [--steps 100] [--batches 1024,8192]``;
prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium
import jax
import jax.numpy as jnp
from machine_info import describe_machine
from report import fmt

import curriculax
from curriculax.autoreset import AutoResetVecEnv

IDS = ("DoorKey-8x8-v0", "Empty-8x8-v0", "Parkour-v0", "LoginUser-v0")
GOAL = 0.5


def random_actions(env_id: str, batch: int, steps: int) -> list:
    """``steps`` batches of actions from the vector action space's ``sample`` (seeded)."""
    space = gymnasium.make_vec(f"curriculax/{env_id}", num_envs=batch).action_space
    space.seed(0)
    return [space.sample() for _ in range(steps)]


class Core:
    """``AutoResetVecEnv.step`` jitted, called once per step, device arrays kept."""

    def __init__(self, env_id: str, batch: int, actions: list):
        env, self.params = curriculax.make(f"curriculax/{env_id}")
        vec = AutoResetVecEnv(env, batch)

        def step(key, state, action, params):
            key, sub = jax.random.split(key)
            return key, *vec.step(sub, state, action, params)

        self.step = jax.jit(step)
        self.key = jax.random.key(0)
        self.state = jax.jit(vec.reset)(self.key, self.params)[1]
        self.actions = [jnp.asarray(a) for a in actions]
        self.run()  # compile and warm up

    def run(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        key, state = self.key, self.state
        for action in self.actions:
            key, _, state, *_ = self.step(key, state, action, self.params)
        self.key, self.state = jax.block_until_ready((key, state))
        return _rates(len(self.actions) * len(self.actions[0]), wall, cpu)


class MakeVec:
    """``gymnasium.make_vec``, one ``step`` call per step."""

    def __init__(self, env_id: str, batch: int, actions: list):
        self.env = gymnasium.make_vec(f"curriculax/{env_id}", num_envs=batch)
        self.env.reset(seed=0)
        self.actions = actions
        self.run()  # compile and warm up, the pool refill's compile included

    def run(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for action in self.actions:
            self.env.step(action)
        return _rates(len(self.actions) * len(self.actions[0]), wall, cpu)


def _rates(steps: int, wall_start: float, cpu_start: float) -> tuple[float, float]:
    """Steps per second of wall time and of process CPU time since the two start readings."""
    return steps / (time.perf_counter() - wall_start), steps / (time.process_time() - cpu_start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--batches", default="1024,8192")
    parser.add_argument("--ids", default=",".join(IDS))
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    ids = args.ids.split(",")
    print(f"Machine: {describe_machine()}; load average {os.getloadavg()[0]:.1f} at start.")
    print(f"{args.repeats} interleaved rounds of {args.steps} steps; medians.\n")

    runners = {}
    for env_id in ids:
        for batch in batches:
            actions = random_actions(env_id, batch, args.steps)
            runners[(env_id, batch, "core")] = Core(env_id, batch, actions)
            runners[(env_id, batch, "make_vec")] = MakeVec(env_id, batch, actions)
    samples = {k: [] for k in runners}
    for _ in range(args.repeats):
        for k, runner in runners.items():
            samples[k].append(runner.run())

    def median(key, i):
        return statistics.median(s[i] for s in samples[key])

    print("| id | envs | core (wall / CPU-s) | make_vec (wall / CPU-s) | make_vec / core | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for env_id in ids:
        for batch in batches:
            core, vec = (env_id, batch, "core"), (env_id, batch, "make_vec")
            ratio = median(vec, 0) / median(core, 0), median(vec, 1) / median(core, 1)
            met = "met" if min(ratio) >= GOAL else "not met"
            print(
                f"| {env_id} | {batch} | {fmt(median(core, 0))} / {fmt(median(core, 1))} | "
                f"{fmt(median(vec, 0))} / {fmt(median(vec, 1))} | "
                f"{ratio[0]:.2f}x / {ratio[1]:.2f}x | ≥ {GOAL}x: {met} |"
            )
    print(f"\nLoad average {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
