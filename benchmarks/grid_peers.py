"""Side-by-side throughput of curriculax, XLand-MiniGrid, NAVIX and MiniGrid, in one run.

Tasks: Empty-8x8, DoorKey-8x8 and the 13x13 UED maze (25 random walls), each with a 7x7
egocentric view and MiniGrid's step limit (256, 640; 250 for the maze) in every library.
Random actions with each library's own auto-reset, ``STEPS`` steps per jitted call:

* curriculax: ``AutoResetVecEnv(env, B, mode="fresh")`` and ``rollout.random_rollout`` (pool refill,
  then the steps), 7x7x3 view with occlusion (none in Empty, whose MiniGrid version sees
  through walls);
* XLand-MiniGrid (``xminigrid``): ``GymAutoResetWrapper``, ``vmap`` of ``step`` inside ``scan``,
  7x7x2 view without occlusion, 6 actions;
* NAVIX: ``navix.make(..., observation_fn=symbolic_first_person)``, reset inside ``step``
  (dm_env style: the step after an episode end is the reset), 7x7x3 view without occlusion,
  7 actions as MiniGrid;
* MiniGrid: ``gymnasium.make("MiniGrid-...")`` with ``ImgObsWrapper``, one Python ``step`` per
  step, a single env (its speed does not depend on B).

A second protocol steps each library one jitted call per step from a Python loop, as its users
step it outside a scan (``--call-batches``, default 1024 and 8192): the random actions are made
beforehand as device arrays, each call takes the carry and that step's actions and returns the
carry and what the step gives (curriculax: observations, rewards and both flags, plus the state
and key; the peers: their timestep), nothing is fetched to the host, and the loop blocks once at
the end. curriculax is shown twice: returning what the peers return, and with
``info["final_obs"]`` too (the final observations of ended episodes, which neither peer offers).

The peers carry their timestep (state and observation) through the scan and return it, as
curriculax's rollout returns its last observations, so XLA cannot skip building observations.
Neither peer nor MiniGrid ships the 13x13 random-walls maze: those cells read "n/a".

Every configuration is compiled first (AOT: trace, lower and XLA compile, reported apart), run
once to warm up, then timed in ``--repeats`` interleaved rounds (each round runs every config once,
A B C A B C); medians are reported as steps/s (wall) and steps per CPU-second of the process
(all threads). Bytes of state per env are summed over the leaves of what each library carries.

The peers are not dependencies of curriculax; install them with the ``bench`` extra, preferably
in a separate venv::

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install -e ".[bench,dev]"
    /tmp/benchvenv/bin/python benchmarks/grid_peers.py [--repeats 5] [--quick] [--calls-only]

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from machine_info import describe_machine
from report import fmt

import curriculax
from curriculax.autoreset import AutoResetVecEnv
from curriculax.rollout import random_rollout

STEPS = 256
BATCHES = (1, 64, 256, 1024, 4096, 16384)
QUICK_BATCHES = (1, 64, 1024)
OURS, XLAND, NAVIX, MINIGRID = "curriculax", "XLand-MiniGrid", "NAVIX", "MiniGrid"
JAX_LIBRARIES = (OURS, XLAND, NAVIX)
VIEWS = {
    OURS: "7×7×3, MiniGrid's occlusion (Empty sees through walls, as in MiniGrid)",
    XLAND: "7×7×2, no occlusion",
    NAVIX: "7×7×3 `symbolic_first_person`, no occlusion",
    MINIGRID: "7×7×3 (`ImgObsWrapper`), occlusion (Empty sees through walls)",
}
# Peers' goal thresholds, from the issue: at batch >= the key, curriculax / the other >= the value.
PEER_GOAL = (1024, 2.0)
MINIGRID_GOAL = (64, 50.0)


@dataclass(frozen=True)
class Task:
    """One task as each library names it; ``None`` where a library has no such env."""

    name: str
    max_steps: int
    ours: tuple[str, dict[str, Any]]
    xland: str | None
    navix: str | None
    minigrid: str | None
    note: str = ""

    def has(self, library: str) -> bool:
        names = {OURS: self.ours, XLAND: self.xland, NAVIX: self.navix, MINIGRID: self.minigrid}
        return names[library] is not None


TASKS = {
    "empty": Task(
        "Empty-8x8",
        256,
        ("curriculax/Empty-8x8-v0", {}),
        "MiniGrid-Empty-8x8",
        "Navix-Empty-8x8-v0",
        "MiniGrid-Empty-8x8-v0",
    ),
    "doorkey": Task(
        "DoorKey-8x8",
        640,
        ("curriculax/DoorKey-8x8-v0", {}),
        "MiniGrid-DoorKey-8x8",
        "Navix-DoorKey-8x8-v0",
        "MiniGrid-DoorKey-8x8-v0",
    ),
    "maze": Task(
        "Maze 13x13 (25 walls)",
        250,
        ("curriculax/Maze-v0", {"view_size": 7}),
        None,
        None,
        None,
        note=(
            "No peer ships the UED maze (13x13, walls on random cells), and none has an option "
            "that builds one: each would need a new env class written for it (XLand-MiniGrid: an "
            "`Environment` with its own `_generate_problem`; NAVIX: an `Environment` with its own "
            "`_reset`; MiniGrid: a `MiniGridEnv` with its own `_gen_grid`), so their cells are "
            "n/a. XLand-MiniGrid's `XLand-MiniGrid-R1-13x13` is a 13x13 room without inner walls, "
            "not this task."
        ),
    ),
}


# --------------------------------------------------------------------------- helpers


def machine() -> str:
    return describe_machine(("xminigrid", "navix", "minigrid", "gymnasium"))


def nbytes(tree: Any) -> int:
    """Bytes held by the array leaves of a pytree (a typed PRNG key counts as its key data)."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.eval_shape(jax.random.key_data, leaf)
        total += int(np.prod(leaf.shape)) * leaf.dtype.itemsize
    return total


def median_pair(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


# --------------------------------------------------------------------------- JAX rollouts


class JaxRollout:
    """One library, task and batch size: compiled ahead of time, then timed repeatedly.

    Args:
        reset: ``reset(key) -> carry``, the batched initial state.
        rollout: ``rollout(key, carry, *args) -> (carry, out)``, ``out`` the statistics and
            observations it returns; ``carry`` is donated.
        args: further arguments of ``rollout`` (not donated).
        batch: B, envs stepped together.
        state_bytes: ``carry -> {column: bytes}``, the state sizes to report (whole batch).
    """

    def __init__(
        self,
        reset: Callable,
        rollout: Callable,
        args: tuple,
        batch: int,
        state_bytes: Callable[[Any], dict[str, int]],
    ):
        self.batch, self.args = batch, args
        self.steps = batch * STEPS
        self.key = jax.random.key(1)
        self.carry = jax.block_until_ready(jax.jit(reset)(jax.random.key(0)))
        self.state_bytes = {k: v / batch for k, v in state_bytes(self.carry).items()}
        start = time.perf_counter()
        self.fn = jax.jit(rollout, donate_argnums=1).lower(self.key, self.carry, *args).compile()
        self.compile_s = time.perf_counter() - start
        self.run()  # warm-up

    def run(self) -> tuple[float, float]:
        self.key, sub = jax.random.split(self.key)
        wall, cpu = time.perf_counter(), time.process_time()
        self.carry, _ = jax.block_until_ready(self.fn(sub, self.carry, *self.args))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return self.steps / wall, self.steps / cpu


def ours(task: Task, batch: int) -> JaxRollout:
    env_id, config = task.ours
    env, params = curriculax.make(env_id, max_steps=task.max_steps, **config)
    venv = AutoResetVecEnv(env, batch, mode="fresh")
    rollout = random_rollout(venv, STEPS)

    def sizes(state) -> dict[str, int]:
        pool = (state.source_obs, state.source_state)
        obs = jax.eval_shape(env.reset, jax.random.key(0), params)[0]
        return {
            "env state": nbytes(state.env_state),
            "observation": batch * nbytes(obs),
            "reset pool (per-env share)": nbytes(pool),
            "carried in all": nbytes(state),
        }

    return JaxRollout(lambda key: venv.reset(key, params)[1], rollout, (params,), batch, sizes)


def scan_random(step: Callable, batch: int, num_actions: int, done: Callable) -> Callable:
    """``rollout(key, timestep) -> (timestep, out)``: STEPS of ``step`` with random actions.

    The timestep (state and observation) is the scan carry and is returned. Episodes ended are
    counted, as curriculax's rollout counts them.
    """

    def rollout(key, timestep):
        def body(carry, step_key):
            timestep, episodes = carry
            action = jax.random.randint(step_key, (batch,), 0, num_actions)
            timestep = step(timestep, action)
            return (timestep, episodes + done(timestep).sum(dtype=jnp.int32)), None

        init = (timestep, jnp.asarray(0, jnp.int32))
        (timestep, episodes), _ = jax.lax.scan(body, init, jax.random.split(key, STEPS))
        return timestep, {"episodes": episodes}

    return rollout


def timestep_sizes(timestep) -> dict[str, int]:
    return {
        "env state": nbytes(timestep.state),
        "observation": nbytes(timestep.observation),
        "carried in all": nbytes(timestep),
    }


def xland(task: Task, batch: int) -> JaxRollout:
    import xminigrid
    from xminigrid.wrappers import GymAutoResetWrapper

    env, params = xminigrid.make(task.xland, max_steps=task.max_steps)
    env = GymAutoResetWrapper(env)

    def reset(key):
        return jax.vmap(env.reset, (None, 0))(params, jax.random.split(key, batch))

    step = jax.vmap(env.step, (None, 0, 0))
    rollout = scan_random(
        lambda ts, a: step(params, ts, a), batch, env.num_actions(params), lambda ts: ts.last()
    )
    return JaxRollout(reset, rollout, (), batch, timestep_sizes)


def navix(task: Task, batch: int) -> JaxRollout:
    import navix as nx

    env = nx.make(
        task.navix,
        max_steps=task.max_steps,
        observation_fn=nx.observations.symbolic_first_person,
    )

    def reset(key):
        return jax.vmap(env.reset)(jax.random.split(key, batch))

    rollout = scan_random(
        jax.vmap(env.step), batch, env.action_space.n, lambda ts: ts.step_type > 0
    )
    return JaxRollout(reset, rollout, (), batch, timestep_sizes)


MAKERS = {OURS: ours, XLAND: xland, NAVIX: navix}


# --------------------------------------------------------------------------- one call per step

CALL_BATCHES = (1024, 8192)
OURS_FINAL = "curriculax + final obs"
CALL_LIBRARIES = (OURS, OURS_FINAL, XLAND, NAVIX)


class CallLoop:
    """``STEPS`` jitted calls of ``step(carry, actions) -> (carry, out)`` from a Python loop.

    Args:
        step: one batched step (jitted here).
        carry: what the step carries (state, key or timestep).
        batch: B, envs stepped together.
        num_actions: actions are uniform in ``[0, num_actions)``, made beforehand on device.
    """

    def __init__(self, step: Callable, carry: Any, batch: int, num_actions: int):
        self.fn = jax.jit(step)
        self.carry = carry
        self.steps = batch * STEPS
        rng = np.random.default_rng(0)
        self.actions = [
            jnp.asarray(a) for a in rng.integers(0, num_actions, (STEPS, batch), np.int32)
        ]
        self.run()  # compile and warm up

    def run(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        carry = self.carry
        for actions in self.actions:
            carry, _ = self.fn(carry, actions)
        self.carry = jax.block_until_ready(carry)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return self.steps / wall, self.steps / cpu


def ours_call(task: Task, batch: int, final_obs: bool = False) -> CallLoop:
    env_id, config = task.ours
    env, params = curriculax.make(env_id, max_steps=task.max_steps, **config)
    venv = AutoResetVecEnv(env, batch, mode="fresh")

    def step(carry, actions):
        key, state = carry
        key, sub = jax.random.split(key)
        obs, state, reward, terminated, truncated, info = venv.step(sub, state, actions, params)
        out = (obs, reward, terminated, truncated)
        return (key, state), out + ((info["final_obs"],) if final_obs else ())

    carry = jax.jit(lambda key: (key, venv.reset(key, params)[1]))(jax.random.key(0))
    return CallLoop(step, carry, batch, env.action_space(params).n)


def xland_call(task: Task, batch: int) -> CallLoop:
    import xminigrid
    from xminigrid.wrappers import GymAutoResetWrapper

    env, params = xminigrid.make(task.xland, max_steps=task.max_steps)
    env = GymAutoResetWrapper(env)
    keys = jax.random.split(jax.random.key(0), batch)
    timestep = jax.jit(jax.vmap(env.reset, (None, 0)))(params, keys)
    step = jax.vmap(env.step, (None, 0, 0))

    def call(timestep, actions):
        timestep = step(params, timestep, actions)
        return timestep, timestep

    return CallLoop(call, timestep, batch, env.num_actions(params))


def navix_call(task: Task, batch: int) -> CallLoop:
    import navix as nx

    env = nx.make(
        task.navix,
        max_steps=task.max_steps,
        observation_fn=nx.observations.symbolic_first_person,
    )
    timestep = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), batch))
    step = jax.vmap(env.step)

    def call(timestep, actions):
        timestep = step(timestep, actions)
        return timestep, timestep

    return CallLoop(call, timestep, batch, env.action_space.n)


CALL_MAKERS = {
    OURS: ours_call,
    OURS_FINAL: functools.partial(ours_call, final_obs=True),
    XLAND: xland_call,
    NAVIX: navix_call,
}


def call_table(task: Task, batches, samples) -> None:
    print(f"\n### {task.name}, one jitted call per step: steps/s wall / per CPU-second\n")
    header("library", *(f"B={b}" for b in batches))
    for lib in CALL_LIBRARIES:
        row(lib, *(speed_cell(samples.get((task.name, lib, b))) for b in batches))
    for ours_row in (OURS, OURS_FINAL):
        cells = []
        for b in batches:
            peers = [samples[(task.name, lib, b)] for lib in (XLAND, NAVIX) if task.has(lib)]
            if not peers:
                cells.append("n/a")
                continue
            found = [ratios(samples[(task.name, ours_row, b)], p) for p in peers]
            wall, cpu = min(r[0] for r in found), min(r[1] for r in found)
            cells.append(f"{wall:.1f}x / {cpu:.1f}x")
        row(f"{ours_row} / faster peer", *cells)
    min_batch, goal = PEER_GOAL
    found = [peer_call_ratio(task, b, samples) for b in batches if b >= min_batch]
    if found:
        wall, cpu = min(r[0] for r in found), min(r[1] for r in found)
        print(
            f"\nGoal: curriculax ≥ {goal:.0f}x the faster peer at B ≥ {min_batch}, one call per "
            f"step: {wall:.1f}x / {cpu:.1f}x (wall / per CPU-s), {verdict(wall, cpu, goal)}."
        )


def peer_call_ratio(task: Task, batch: int, samples) -> tuple[float, float]:
    """Ratios of curriculax (as the peers return) to the faster peer, one call per step."""
    found = [
        ratios(samples[(task.name, OURS, batch)], samples[(task.name, lib, batch)])
        for lib in (XLAND, NAVIX)
        if task.has(lib)
    ]
    return min(r[0] for r in found), min(r[1] for r in found)


# --------------------------------------------------------------------------- MiniGrid


class MiniGridLoop:
    """MiniGrid's own loop: one env, one Python ``step`` call per step, random actions."""

    def __init__(self, task: Task, steps: int):
        import minigrid  # noqa: F401  (registers MiniGrid-*)
        from minigrid.wrappers import ImgObsWrapper

        self.env = ImgObsWrapper(gymnasium.make(task.minigrid, max_steps=task.max_steps))
        self.steps = steps
        self.rng = np.random.default_rng(0)
        self.env.reset(seed=0)

    def run(self) -> tuple[float, float]:
        actions = self.rng.integers(0, self.env.action_space.n, self.steps)
        wall, cpu = time.perf_counter(), time.process_time()
        for a in actions:
            _, _, terminated, truncated, _ = self.env.step(int(a))
            if terminated or truncated:
                self.env.reset()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return self.steps / wall, self.steps / cpu


# --------------------------------------------------------------------------- tables


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def header(*cells: object) -> None:
    row(*cells)
    row(*("---" for _ in cells))


def speed_cell(samples) -> str:
    return "n/a" if samples is None else "{} / {}".format(*map(fmt, median_pair(samples)))


def ratios(ours_samples, other_samples) -> tuple[float, float]:
    """Ratios of curriculax to another library, wall and per CPU-second, of the medians."""
    (ow, oc), (pw, pc) = median_pair(ours_samples), median_pair(other_samples)
    return ow / pw, oc / pc


def peer_ratio(task: Task, batch: int, samples) -> tuple[float, float] | None:
    """Ratios of curriculax to the faster peer (picked apart for wall and CPU-s), or None."""
    found = [
        ratios(samples[(task.name, OURS, batch)], samples[(task.name, lib, batch)])
        for lib in (XLAND, NAVIX)
        if task.has(lib)
    ]
    return (min(r[0] for r in found), min(r[1] for r in found)) if found else None


def minigrid_ratio(task: Task, batch: int, samples) -> tuple[float, float] | None:
    if not task.has(MINIGRID):
        return None
    return ratios(samples[(task.name, OURS, batch)], samples[(task.name, MINIGRID, None)])


def throughput_table(task: Task, batches, samples) -> None:
    print(f"\n### {task.name}: steps/s wall / per CPU-second (max_steps {task.max_steps})\n")
    header("library", "view", *(f"B={b}" for b in batches))
    for lib in JAX_LIBRARIES:
        row(lib, VIEWS[lib], *(speed_cell(samples.get((task.name, lib, b))) for b in batches))
    minigrid = speed_cell(samples.get((task.name, MINIGRID, None)))
    row(f"{MINIGRID} (1 env, any B)", VIEWS[MINIGRID], *(minigrid for _ in batches))

    def cell(r, digits):
        return "n/a" if r is None else f"{r[0]:.{digits}f}x / {r[1]:.{digits}f}x"

    row("curriculax / faster peer", "", *(cell(peer_ratio(task, b, samples), 1) for b in batches))
    row("curriculax / MiniGrid", "", *(cell(minigrid_ratio(task, b, samples), 0) for b in batches))
    if task.note:
        print(f"\n{task.note}")


def verdict(wall: float, cpu: float, goal: float) -> str:
    return {
        (True, True): "met",
        (False, True): "met per CPU-s only",
        (True, False): "met wall only",
        (False, False): "not met",
    }[(wall >= goal, cpu >= goal)]


def speed_goal(task: Task, batches, samples, ratio, min_batch: int, goal: float) -> list[str]:
    """The smallest ratio over the batches >= min_batch, and whether it reaches ``goal``."""
    found = [ratio(task, b, samples) for b in batches if b >= min_batch]
    found = [r for r in found if r is not None]
    if not found:
        return ["n/a", "n/a"]
    wall, cpu = min(r[0] for r in found), min(r[1] for r in found)
    return [f"{wall:.1f}x / {cpu:.1f}x (wall / per CPU-s)", verdict(wall, cpu, goal)]


def size_goal(ours: float, theirs: float, unit: str, digits: int) -> list[str]:
    """A figure of curriculax's against XLand-MiniGrid's; the goal is to be no larger."""
    met = "met" if ours <= theirs else "not met"
    return [f"{ours:.{digits}f} {unit} vs {theirs:.{digits}f} {unit} ({ours / theirs:.2f}x)", met]


def goal_table(tasks, batches, samples, runners) -> None:
    print("\n### Goals\n")
    print(
        "Speed ratios: the smallest over the batch sizes a goal covers (the faster peer picked "
        "apart for wall and CPU-s). Compile time: at the batch size where curriculax's is largest "
        "relative to XLand-MiniGrid's. Bytes per env: at the largest batch, see the table below.\n"
    )
    header("task", "goal", "measured", "verdict")
    for task in tasks:
        min_batch, goal = PEER_GOAL
        cells = speed_goal(task, batches, samples, peer_ratio, min_batch, goal)
        row(task.name, f"≥ {goal:.0f}x the faster peer at B ≥ {min_batch}", *cells)
        min_batch, goal = MINIGRID_GOAL
        cells = speed_goal(task, batches, samples, minigrid_ratio, min_batch, goal)
        row(task.name, f"≥ {goal:.0f}x MiniGrid at B ≥ {min_batch}", *cells)
        if not task.has(XLAND):
            row(task.name, "compile time and bytes per env ≤ XLand-MiniGrid's", "n/a", "n/a")
            continue
        pairs = [(runners[(task.name, OURS, b)], runners[(task.name, XLAND, b)]) for b in batches]
        ours_s, theirs_s = max(
            ((o.compile_s, x.compile_s) for o, x in pairs), key=lambda p: p[0] / p[1]
        )
        row(task.name, "compile time ≤ XLand-MiniGrid's", *size_goal(ours_s, theirs_s, "s", 1))
        ours_b, theirs_b = pairs[-1][0].state_bytes, pairs[-1][1].state_bytes
        for column in ("env state", "carried in all"):
            row(
                task.name,
                f"bytes per env, {column}, ≤ XLand-MiniGrid's",
                *size_goal(ours_b[column], theirs_b[column], "B", 0),
            )


def compile_table(tasks, batches, runners) -> None:
    print("\n### Compile time of one rollout (s: trace, lower and XLA compile)\n")
    header("task", "library", *(f"B={b}" for b in batches))
    for task in tasks:
        for lib in JAX_LIBRARIES:
            keys = [(task.name, lib, b) for b in batches]
            row(
                task.name,
                lib,
                *(f"{runners[k].compile_s:.1f}" if k in runners else "n/a" for k in keys),
            )


def state_table(tasks, batch, runners) -> None:
    columns = ("env state", "observation", "reset pool (per-env share)", "carried in all")
    print(f"\n### Bytes per env (B={batch})\n")
    print(
        "curriculax: `env state` is `VecState.env_state`; the reset pool (`source_obs`, "
        "`source_state`: B levels) is shown as its per-env share; `carried in all` is the whole "
        "`VecState` (env state, pool, episode counters); observations are returned, not carried "
        "between rollouts. Peers: `env state` is the timestep's `state`; `carried in all` is the "
        "whole timestep (state, observation, reward, step type...).\n"
    )
    header("task", "library", *columns)
    for task in tasks:
        for lib in JAX_LIBRARIES:
            runner = runners.get((task.name, lib, batch))
            if runner is None:
                row(task.name, lib, *("n/a" for _ in columns))
                continue
            sizes = runner.state_bytes
            row(task.name, lib, *(f"{sizes[c]:.0f}" if c in sizes else "–" for c in columns))


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5; quick 2)")
    parser.add_argument("--quick", action="store_true", help=f"batches {QUICK_BATCHES} only")
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help="comma-separated: " + ", ".join(TASKS)
    )
    parser.add_argument(
        "--call-batches",
        default=",".join(map(str, CALL_BATCHES)),
        help="batch sizes of the one-call-per-step protocol, comma-separated ('' skips it)",
    )
    parser.add_argument(
        "--calls-only", action="store_true", help="only the one-call-per-step protocol"
    )
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    batches = QUICK_BATCHES if args.quick else BATCHES
    tasks = [TASKS[t] for t in args.tasks.split(",")]
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} at start.")
    what = f"{STEPS} calls" if args.calls_only else f"Rollouts of {STEPS} steps per env"
    print(f"{what}; {repeats} interleaved rounds; medians.")

    runners: dict[tuple[str, str, int | None], Any] = {}
    for task in [] if args.calls_only else tasks:
        for b in batches:
            for lib in JAX_LIBRARIES:
                if task.has(lib):
                    runners[(task.name, lib, b)] = MAKERS[lib](task, b)
        if task.has(MINIGRID):
            runners[(task.name, MINIGRID, None)] = MiniGridLoop(task, 2000 if args.quick else 10000)

    call_batches = [int(b) for b in args.call_batches.split(",") if b]
    call_tasks = [task for task in tasks if call_batches and task.has(XLAND)]
    call_runners = {
        (task.name, lib, b): make(task, b)
        for task in call_tasks
        for b in call_batches
        for lib, make in CALL_MAKERS.items()
    }

    samples = {k: [] for k in runners}
    call_samples = {k: [] for k in call_runners}
    for _ in range(repeats):
        for k, runner in runners.items():
            samples[k].append(runner.run())
        for k, runner in call_runners.items():
            call_samples[k].append(runner.run())

    for task in call_tasks:
        call_table(task, call_batches, call_samples)
    if not args.calls_only:
        for task in tasks:
            throughput_table(task, batches, samples)
        goal_table(tasks, batches, samples, runners)
        compile_table(tasks, batches, runners)
        state_table(tasks, batches[-1], runners)
    print(f"\nLoad average {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
