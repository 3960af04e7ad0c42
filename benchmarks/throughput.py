"""Throughput of curriculax gridworlds beside the reference ``minigrid`` package, in one run.

Measures, for Empty-8x8 and DoorKey-8x8 with MiniGrid's 7x7 egocentric view:

* jitted random-policy rollouts (``curriculax.rollout.random_rollout``: pool refill + 256 steps of
  auto-reset) at batch sizes 1 ... 8192: steps/s and steps per CPU-second, compile time;
* the single-env gymnasium path, ``gymnasium.make(id)``, one Python ``step`` call per step, beside
  ``gymnasium.make("MiniGrid-...")`` with the same random actions; and ``gymnasium.make_vec``;
* what auto-reset costs (DoorKey-8x8, B=1024): no auto-reset at all, ours with no episode ending,
  ours with every episode ending on every step, and the reset written inside ``step`` that peers
  use (sample a level and observe it for every env on every step, then select).

Every configuration runs ``--repeats`` times, interleaved, and the median is reported.

Usage: ``python benchmarks/throughput.py [--repeats 5] [--quick]``; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from machine_info import describe_machine
from report import fmt

import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.rollout import random_rollout

ENVS = ("Empty-8x8-v0", "DoorKey-8x8-v0")
STEPS = 256


def timed(fn, *args):
    """Wall and CPU seconds of ``fn(*args)`` including device completion."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - wall, time.process_time() - cpu


class JaxRollout:
    """One batch size of one env: compiled once, then timed repeatedly."""

    def __init__(self, name: str, batch: int, **config):
        env, self.params = curriculax.make(name, **config)
        venv = AutoResetVecEnv(env, batch)
        self.steps = batch * STEPS
        self.fn = jax.jit(random_rollout(venv, STEPS))
        self.key = jax.random.key(0)
        start = time.perf_counter()
        _, self.state = jax.jit(venv.reset)(self.key, self.params)
        self.state, _ = jax.block_until_ready(self.fn(self.key, self.state, self.params))
        self.compile_s = time.perf_counter() - start

    def run(self) -> tuple[float, float]:
        self.key, sub = jax.random.split(self.key)
        (self.state, _), wall, cpu = timed(self.fn, sub, self.state, self.params)
        return self.steps / wall, self.steps / cpu


def gym_loop(make, steps: int, seed: int = 0) -> tuple[float, float]:
    env = make()
    actions = np.random.default_rng(seed).integers(0, 7, steps)
    env.reset(seed=seed)
    env.step(0)
    wall, cpu = time.perf_counter(), time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def vec_loop(name: str, batch: int, steps: int) -> tuple[float, float]:
    envs = gymnasium.make_vec(f"curriculax/{name}", num_envs=batch)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 7, (steps, batch))
    envs.step(actions[0])
    wall, cpu = time.perf_counter(), time.process_time()
    for a in actions:
        envs.step(a)
    n = steps * batch
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def median_pair(samples):
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def batch_table(repeats: int, batches) -> None:
    runners = {(n, b): JaxRollout(n, b) for n in ENVS for b in batches}
    samples = {k: [] for k in runners}
    for _ in range(repeats):
        for k, r in runners.items():
            samples[k].append(r.run())
    print("\n### Random-policy rollouts, jitted (steps/s wall / per CPU-second; compile s)\n")
    print("| env | " + " | ".join(f"B={b}" for b in batches) + " |")
    print("|---|" + "---|" * len(batches))
    for n in ENVS:
        cells = []
        for b in batches:
            wall, cpu = median_pair(samples[(n, b)])
            cells.append(f"{fmt(wall)} / {fmt(cpu)}; {runners[(n, b)].compile_s:.1f}s")
        print(f"| {n} | " + " | ".join(cells) + " |")


def gym_table(repeats: int, steps: int) -> None:
    import minigrid  # noqa: F401  (registers MiniGrid-*)
    from minigrid.wrappers import ImgObsWrapper

    rows = {}
    for name in ENVS:
        rows[(name, "minigrid `gymnasium.make` (ImgObsWrapper)")] = lambda n=name: gym_loop(
            lambda: ImgObsWrapper(gymnasium.make(f"MiniGrid-{n}")), steps
        )
        rows[(name, "curriculax `gymnasium.make`")] = lambda n=name: gym_loop(
            lambda: gymnasium.make(f"curriculax/{n}"), steps
        )
        rows[(name, "curriculax `gymnasium.make_vec`, N=64")] = lambda n=name: vec_loop(n, 64, 200)
        rows[(name, "curriculax `gymnasium.make_vec`, N=1024")] = lambda n=name: vec_loop(
            n, 1024, 50
        )
    samples = {k: [] for k in rows}
    for _ in range(repeats):
        for k, f in rows.items():
            samples[k].append(f())
    print("\n### The gymnasium path: one Python `step` call per step (steps/s wall / per CPU-s)\n")
    print("| env | implementation | steps/s | per CPU-s | vs minigrid (CPU-s) |")
    print("|---|---|---|---|---|")
    for name in ENVS:
        base = median_pair(samples[(name, "minigrid `gymnasium.make` (ImgObsWrapper)")])[1]
        for (n, impl), s in samples.items():
            if n == name:
                wall, cpu = median_pair(s)
                print(f"| {n} | {impl} | {fmt(wall)} | {fmt(cpu)} | {cpu / base:.1f}x |")


def naive_step(env):
    """The in-step reset peers use: every env draws and observes a new level on every step."""

    def step(key, state, action, params):
        step_key, reset_key = jax.random.split(key)
        obs, state, reward, terminated, truncated, info = env.step(step_key, state, action, params)
        reset_obs, reset_state = env.reset(reset_key, params)
        done = terminated | truncated
        state = jax.tree.map(lambda a, b: jnp.where(done, a, b), reset_state, state)
        return jnp.where(done, reset_obs, obs), state, reward, terminated, truncated, info

    return step


def reset_cost_table(repeats: int, batch: int = 1024) -> None:
    name = "DoorKey-8x8-v0"
    env, params = curriculax.make(name)
    space = env.action_space(params)

    def raw_rollout(step_fn):
        def rollout(key, state, obs, params):
            def body(carry, k):
                state, _ = carry
                a_key, s_key = jax.random.split(k)
                actions = space.sample(a_key, (batch,))
                obs, state, *_ = jax.vmap(step_fn, (0, 0, 0, None))(
                    jax.random.split(s_key, batch), state, actions, params
                )
                return (state, obs), None

            return jax.lax.scan(body, (state, obs), jax.random.split(key, STEPS))[0]

        return jax.jit(rollout)

    obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), batch), params)
    no_reset = raw_rollout(env.step)
    naive = raw_rollout(naive_step(env))
    for fn in (no_reset, naive):
        jax.block_until_ready(fn(jax.random.key(1), state, obs, params))
    never_ends = JaxRollout(name, batch, max_steps=2**30)
    always_ends = JaxRollout(name, batch, max_steps=1)
    cases = {
        "no auto-reset (episodes never restart)": lambda: timed(
            no_reset, jax.random.key(2), state, obs, params
        )[1:],
        "curriculax auto-reset, no episode ends": lambda: never_ends.run(),
        "curriculax auto-reset, every episode ends every step": lambda: always_ends.run(),
        "reset inside step (peers' way), select per env": lambda: timed(
            naive, jax.random.key(2), state, obs, params
        )[1:],
    }
    n = batch * STEPS
    samples = {k: [] for k in cases}
    for _ in range(repeats):
        for k, f in cases.items():
            out = f()
            samples[k].append(out if k.startswith("curriculax") else (n / out[0], n / out[1]))
    print(f"\n### What auto-reset costs ({name}, B={batch}, {STEPS}-step rollouts)\n")
    print("| rollout | steps/s | per CPU-s | CPU cost vs no auto-reset |")
    print("|---|---|---|---|")
    base = median_pair(samples["no auto-reset (episodes never restart)"])[1]
    for k, s in samples.items():
        wall, cpu = median_pair(s)
        print(f"| {k} | {fmt(wall)} | {fmt(cpu)} | {base / cpu:.2f}x |")
    refill_table(env, params, batch, repeats)


def refill_table(env, params, batch: int, repeats: int) -> None:
    """The pool refill between rollouts: skipped when no episode ended, else a new pool."""
    venv = AutoResetVecEnv(env, batch)
    _, state = jax.jit(venv.reset)(jax.random.key(0), params)
    used = state.replace(resets=state.resets.at[0].set(1))
    refill = jax.jit(venv.refill)
    for s in (state, used):
        jax.block_until_ready(refill(jax.random.key(1), s, params))
    times = {"no episode ended since the last refill": [], "some episode ended": []}
    for _ in range(repeats):
        for label, s in zip(times, (state, used), strict=True):
            times[label].append(timed(refill, jax.random.key(2), s, params)[1])
    print(f"\n### Pool refill between rollouts ({batch} levels)\n")
    print("| case | ms per refill | spread over a 256-step rollout of the batch |")
    print("|---|---|---|")
    for label, t in times.items():
        ms = statistics.median(t) * 1e3
        print(f"| {label} | {ms:.2f} | {ms * 1e6 / (batch * STEPS):.1f} ns per env-step |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer batch sizes and steps")
    parser.add_argument(
        "--sections", default="batch,gym,reset", help="comma-separated: batch, gym, reset"
    )
    args = parser.parse_args()
    batches = (1, 64, 1024) if args.quick else (1, 8, 64, 256, 1024, 8192)
    sections = set(args.sections.split(","))
    print(f"Machine: {describe_machine()}; load average {os.getloadavg()[0]:.1f} at start.")
    if "batch" in sections:
        batch_table(args.repeats, batches)
    if "gym" in sections:
        gym_table(args.repeats, 2000 if args.quick else 10000)
    if "reset" in sections:
        reset_cost_table(args.repeats)


if __name__ == "__main__":
    main()
