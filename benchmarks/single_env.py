"""Single-env ``gymnasium.make`` steps/s: curriculax beside the ``minigrid`` package, one process.

For Empty-8x8 and DoorKey-8x8 (7x7 egocentric views, MiniGrid's step limits of 256 and 640;
occlusion in DoorKey, none in Empty, whose MiniGrid version sees through walls), one Python
``step`` call per step with uniformly random actions (the same pre-drawn Python ints for every
implementation), ``reset()`` whenever an episode ends (resets are counted in the time):

* MiniGrid: ``ImgObsWrapper(gymnasium.make("MiniGrid-..."))`` (observations: the 7x7x3 image);
* curriculax: ``gymnasium.make("curriculax/...")``, whose grid steps run in the engine's numba
  twin (``curriculax.envs.grid.fast_step``), levels from the JAX generators (a jitted reset per
  episode);
* curriculax on the jitted JAX step (the host stepper switched off), the path every other family
  takes, for reference.

Every implementation runs ``--repeats`` rounds, interleaved (A B C A B C), each ``--seconds``
long; medians of steps/s (wall) and steps per CPU-second of the process (all threads) are
reported with their ratio to MiniGrid, and the machine is named.

Usage: ``python benchmarks/single_env.py [--repeats 5] [--seconds 2]``; prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import gymnasium
import numpy as np
from machine_info import describe_machine
from report import fmt

import curriculax  # noqa: F401  (registers curriculax/*)

TASKS = ("Empty-8x8-v0", "DoorKey-8x8-v0")
MINIGRID, OURS, OURS_JAX = "MiniGrid", "curriculax (numba step)", "curriculax (jitted JAX step)"


def make_minigrid(task: str) -> gymnasium.Env:
    import minigrid  # noqa: F401  (registers MiniGrid-*)
    from minigrid.wrappers import ImgObsWrapper

    return ImgObsWrapper(gymnasium.make(f"MiniGrid-{task}"))


def make_ours(task: str, host_step: bool = True) -> gymnasium.Env:
    env = gymnasium.make(f"curriculax/{task}")
    if not host_step:
        env.unwrapped._host = None  # the jitted step, as before the numba twin
    assert (env.unwrapped._host is not None) == host_step
    return env


class Runner:
    """One env stepped with pre-drawn random actions, timed in rounds."""

    def __init__(self, make: Callable[[], gymnasium.Env], seed: int = 0) -> None:
        self.env = make()
        self.actions = np.random.default_rng(seed).integers(0, 7, 1 << 20).tolist()
        self.cursor = 0
        self.env.reset(seed=seed)
        self.run(0.3)  # warm up: compiles, numba's cache, first resets

    def run(self, seconds: float) -> tuple[float, float]:
        """Steps for about ``seconds``; returns (steps/s wall, steps per CPU-second)."""
        env, actions, n = self.env, self.actions, len(self.actions)
        steps, chunk = 0, 1000
        wall, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall < seconds:
            for _ in range(chunk):
                _, _, terminated, truncated, _ = env.step(actions[self.cursor])
                self.cursor = (self.cursor + 1) % n
                if terminated or truncated:
                    env.reset()
            steps += chunk
        return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    args = parser.parse_args()

    print(f"Machine: {describe_machine(('gymnasium', 'minigrid', 'numba'))}")
    print(f"Load average at start: {os.getloadavg()[0]:.1f}\n")
    runners = {}
    for task in TASKS:
        runners[(task, MINIGRID)] = Runner(lambda t=task: make_minigrid(t))
        runners[(task, OURS)] = Runner(lambda t=task: make_ours(t))
        runners[(task, OURS_JAX)] = Runner(lambda t=task: make_ours(t, host_step=False))
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {k: [] for k in runners}
    for _ in range(args.repeats):
        for key, runner in runners.items():
            samples[key].append(runner.run(args.seconds))

    print(
        f"Random actions, one `step` call per step, resets included; medians of "
        f"{args.repeats} interleaved rounds of {args.seconds:g} s.\n"
    )
    print("| env | implementation | steps/s | per CPU-s | vs MiniGrid (wall) | (CPU-s) |")
    print("|---|---|---|---|---|---|")
    for task in TASKS:
        base_wall, base_cpu = (
            statistics.median(x[i] for x in samples[(task, MINIGRID)]) for i in (0, 1)
        )
        for (name, impl), rows in samples.items():
            if name != task:
                continue
            wall, cpu = (statistics.median(x[i] for x in rows) for i in (0, 1))
            print(
                f"| {task} | {impl} | {fmt(wall)} | {fmt(cpu)} | "
                f"{wall / base_wall:.1f}x | {cpu / base_cpu:.1f}x |"
            )


if __name__ == "__main__":
    main()
