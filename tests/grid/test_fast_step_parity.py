"""The numba twin of the grid engine (``fast_step``) against the JAX engine, step for step.

``gymnasium.make`` of a grid id steps the twin on numpy state; the JAX engine is the reference.
Episodes run in both side by side: the engine as one vmapped jitted ``step`` per step for a
batch of episodes, the twin as one ``HostGridStepper`` per episode. Actions come from a policy
that seeks objects (picks up what is ahead, toggles doors and boxes, drops what it holds, walks
into lava and goals) mixed with uniform random actions; half the episodes get a short step limit,
so time-outs happen. After every step the observation, reward, both flags and the whole state
(grid, agent position and direction, carried object, step count) must be equal. Episodes go on
after they end (neither side resets), and what follows an end is compared (and counted) too.

* Every registered grid id, on its own generator's levels, must also show the interactions its
  levels offer (keys picked up and doors unlocked in DoorKey, both ends of Memory, ...).
* Random levels holding every object (boxes, balls, floors, doors in every state, keys of every
  colour, lava, goals; with and without a border wall, so the agent meets the grid's edge) are
  played under each transition rule (the engine's, KeyCorridor's, Memory's) and every
  observation option (image with and without occlusion, views of 3 to 11 cells, full, rgb).
* The gymnasium env on the twin is compared with the same env on the JAX step, across episodes
  (the key carried between them), reset options, rendering and pickling.
"""

from __future__ import annotations

import collections
import functools
import pickle
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax import gym_adapters, registry
from curriculax.envs.grid import fast_step
from curriculax.envs.grid.constants import NUM_COLORS, Action, Color, DoorState, Obj
from curriculax.envs.grid.empty import Empty
from curriculax.envs.grid.engine import EMPTY_CODE, TYPE_STRIDE, GridLevel
from curriculax.envs.grid.keycorridor import KeyCorridor
from curriculax.envs.grid.memory import Memory

GRID_IDS = [
    i
    for i in curriculax.registered_ids()
    if curriculax.spec(i).entry_point.startswith("curriculax.envs.grid")
]
EPISODES = 12
STEPS = 128
#: What each family's episodes must show (matched by the longest prefix of the id's name).
EXPECTED = {
    "DoorKey": {"pickup key", "drop", "timeout"},
    "Empty": {"goal", "timeout"},
    "FourRooms": {"timeout"},
    "KeyCorridor": {"open", "close", "timeout"},
    "LavaCrossing": {"lava", "timeout"},
    "LavaGap": {"lava", "timeout"},
    "Maze": {"timeout"},
    "Memory": {"memory success", "memory failure", "timeout"},
    "MultiRoom": {"open", "close", "timeout"},
    "PerfectMaze": {"timeout"},
    "SimpleCrossing": {"timeout"},
}
#: And what some small ids must show beyond their family's.
EXTRA = {
    "DoorKey-5x5-v0": {"unlock", "open", "close", "goal"},
    "DoorKey-8x8-v0": {"unlock"},
    "KeyCorridorS3R1-v0": {"pickup key", "unlock", "drop"},
    "LavaGapS5-v0": {"goal"},
    "MultiRoom-N2-S4-v0": {"goal"},
    "Maze-v0": {"goal"},
}
#: What the random levels with every object must show under each transition rule.
_DOORS = {"open", "close", "timeout", "beyond the edge", "box opened", "goal", "lava"}
_CARRY = {"pickup key", "pickup box", "drop", "unlock", "wrong key"}
RULE_EVENTS = {
    "engine": _DOORS | _CARRY | {"pickup ball"},
    "ball": _DOORS | _CARRY | {"ball success"},
    "memory": _DOORS | {"memory success", "memory failure"},  # pickup toggles: nothing held
}


def _expected(env_id: str) -> set[str]:
    name = env_id.split("/")[1]
    family = _family(env_id)
    assert family is not None, f"no expected events for {env_id}: add its family to EXPECTED"
    return EXPECTED[family] | EXTRA.get(name, set())


def _kind(code) -> int:
    return int(code) // TYPE_STRIDE


def _ahead(state) -> tuple[int, int, int]:
    """``(x, y, object type)`` of the cell the agent faces (a wall beyond the edge)."""
    height, width = state.grid.shape
    dx, dy = ((1, 0), (0, 1), (-1, 0), (0, -1))[int(state.agent_dir)]
    x, y = int(state.agent_pos[0]) + dx, int(state.agent_pos[1]) + dy
    inside = 0 <= x < width and 0 <= y < height
    return x, y, _kind(state.grid[y, x]) if inside else -1


def _policy(rng: np.random.Generator, state) -> int:
    """Mostly object-seeking: act on what is ahead, else walk; sometimes a uniform action."""
    if rng.random() < 0.3:
        return int(rng.integers(len(Action)))
    _, _, ahead = _ahead(state)
    holding = int(state.carrying) != EMPTY_CODE
    turn = int(rng.choice([Action.LEFT, Action.RIGHT]))
    if ahead in (Obj.KEY, Obj.BALL, Obj.BOX):
        if holding:
            return int(Action.TOGGLE) if ahead == Obj.BOX and rng.random() < 0.5 else turn
        return int(Action.PICKUP)
    if ahead == Obj.DOOR:
        return int(Action.TOGGLE if rng.random() < 0.6 else Action.FORWARD)
    if ahead == Obj.EMPTY and holding and rng.random() < 0.15:
        return int(Action.DROP)
    if ahead in (Obj.WALL, -1):
        return turn if rng.random() < 0.9 else int(Action.FORWARD)
    return int(Action.FORWARD) if rng.random() < 0.8 else turn


def _events(before, after, action: int, reward: float, terminated: bool, truncated: bool):
    """Names of what one step did (for the coverage checks)."""
    out = set()
    held_before, held_after = int(before.carrying), int(after.carrying)
    x, y, ahead = _ahead(before)
    if ahead == -1 and action in (Action.FORWARD, Action.PICKUP, Action.TOGGLE, Action.DROP):
        out.add("beyond the edge")
    if held_before == EMPTY_CODE and held_after != EMPTY_CODE:
        out.add(f"pickup {Obj(_kind(held_after)).name.lower()}")
    if held_before != EMPTY_CODE and held_after == EMPTY_CODE:
        out.add("drop")
    if ahead == Obj.DOOR and action == Action.TOGGLE:
        old, new = int(before.grid[y, x]) % 3, int(after.grid[y, x]) % 3
        if old == DoorState.LOCKED:
            key_colour = held_before // 3 % NUM_COLORS
            door_colour = int(before.grid[y, x]) // 3 % NUM_COLORS
            if new == DoorState.OPEN:
                out.add("unlock")
            elif _kind(held_before) == Obj.KEY and key_colour != door_colour:
                out.add("wrong key")
        else:
            out.add("open" if new == DoorState.OPEN else "close")
    if ahead == Obj.BOX and int(after.grid[y, x]) == EMPTY_CODE and held_after == held_before:
        out.add("box opened")  # by a toggle (Memory's pickup toggles)
    if terminated:
        here = _kind(after.grid[int(after.agent_pos[1]), int(after.agent_pos[0])])
        moved = action == Action.FORWARD and not np.array_equal(before.agent_pos, after.agent_pos)
        if moved and here == Obj.LAVA:
            out.add("lava")
        elif moved and here == Obj.GOAL:
            out.add("goal")
        elif action == Action.PICKUP and _kind(held_after) == Obj.BALL:
            out.add("ball success")
        else:
            out.add("memory success" if reward > 0 else "memory failure")
    if truncated:
        out.add("timeout")
    return out


@functools.cache
def _programs(env):
    """Jitted ``reset`` and ``reset_to_level`` (shared by ids of equal envs), vmapped ``step``."""
    return jax.jit(env.reset), jax.jit(env.reset_to_level), _step(env)


def _step(env):
    """The vmapped, jitted ``step``, shared by the envs of a class with the same engine config.

    A grid env's step reads only these (``GridEnv``'s config; KeyCorridor's and Memory's rules
    read nothing more), so the held-out mazes, say, need one program per size, not per layout.
    """
    key = (type(env), *(getattr(env, name) for name in _ENGINE_CONFIG))
    if key not in _STEPS:
        _STEPS[key] = jax.jit(jax.vmap(env.step))
    return _STEPS[key]


_ENGINE_CONFIG = ("height", "width", "view_size", "see_through_walls", "observation", "tile_size")
_STEPS: dict[tuple, Any] = {}


def _host_rows(steppers, results):
    """The twin's step results and states, stacked over episodes."""
    obs, reward, terminated, truncated = (np.array(column) for column in zip(*results, strict=True))
    states = [s.state() for s in steppers]
    fields = {
        name: np.stack([getattr(s, name) for s in states])
        for name in ("time", "grid", "agent_pos", "agent_dir", "carrying")
    }
    return (obs, reward, terminated, truncated), fields, states


def _first_difference(engine, host, names) -> str | None:
    """``None`` if every pair is equal (values and dtypes), else where the first one differs."""
    for name, want, got in zip(names, engine, host, strict=True):
        want = np.asarray(want)
        if want.dtype != got.dtype or not np.array_equal(want, got):
            rows = [i for i in range(len(want)) if not np.array_equal(want[i], got[i])]
            return f"{name} differs in episode {rows[0] if rows else '(dtype)'}"
    return None


def _play(env, params, seed: int, episodes: int, steps: int, levels=None) -> collections.Counter:
    """Runs ``episodes`` in the engine and the twin side by side; returns the events seen.

    Raises:
        AssertionError: at the first step where the two differ in anything.
    """
    rng = np.random.default_rng(seed)
    max_steps = np.full(episodes, int(params.max_steps), np.int32)
    max_steps[: episodes // 2] = rng.integers(1, steps // 6, episodes // 2)  # time-outs
    rows = [jax.device_get(params).replace(max_steps=np.int32(m)) for m in max_steps]
    keys = jax.random.split(jax.random.key(seed), episodes)
    reset, reset_to_level, step = _programs(env)
    starts = [  # one episode per call: unbatched resets compile faster than vmapped ones
        reset(keys[i], rows[i]) if levels is None else reset_to_level(keys[i], levels[i], rows[i])
        for i in range(episodes)
    ]
    obs = np.stack([o for o, _ in starts])
    states = jax.tree.map(lambda *leaves: jnp.stack(leaves), *(s for _, s in starts))
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), *rows)
    steppers = [fast_step.make_host_stepper(env) for _ in range(episodes)]
    for stepper, (_, state), row in zip(steppers, starts, rows, strict=True):
        assert stepper.load(jax.device_get(state), row)
    assert np.array_equal(np.stack([s.observe() for s in steppers]), obs), "reset observation"
    befores = [s.state() for s in steppers]
    events = collections.Counter()
    names = ("observation", "reward", "terminated", "truncated")
    fields = ("time", "grid", "agent_pos", "agent_dir", "carrying")
    for t in range(steps):
        actions = np.array([_policy(rng, state) for state in befores], np.int32)
        obs, states, reward, terminated, truncated, _ = step(keys, states, actions, batch)
        engine = (obs, np.asarray(reward, np.float64), terminated, truncated)
        results = [stepper.step(int(a)) for stepper, a in zip(steppers, actions, strict=True)]
        host, host_fields, afters = _host_rows(steppers, results)
        engine_state = jax.device_get(states)
        difference = _first_difference(engine, host, names) or _first_difference(
            [getattr(engine_state, f) for f in fields], [host_fields[f] for f in fields], fields
        )
        assert difference is None, f"step {t + 1}: {difference} (actions {actions.tolist()})"
        for i, (_, reward, terminated, truncated) in enumerate(results):
            timeout = truncated and int(afters[i].time) == max_steps[i]
            events.update(
                _events(befores[i], afters[i], int(actions[i]), reward, terminated, timeout)
            )
        befores = afters
    return events


def _family(env_id: str) -> str | None:
    name = env_id.split("/")[1]
    return max((p for p in EXPECTED if name.startswith(p)), key=len, default=None)


def _default_suite_ids(ids: list[str]) -> set[str]:
    """The ids with extra expectations, and the shortest id of every other family."""
    chosen = {i for i in ids if i.split("/")[1] in EXTRA}
    for env_id in sorted(ids, key=lambda i: (len(i), i)):
        if _family(env_id) not in {_family(c) for c in chosen}:
            chosen.add(env_id)
    return chosen


#: Every grid id in the slow suite; per family in the default one (~1-3 s each).
TWIN_IDS = [
    pytest.param(i, marks=() if i in _default_suite_ids(GRID_IDS) else pytest.mark.slow)
    for i in GRID_IDS
]


@pytest.mark.parametrize("env_id", TWIN_IDS)
def test_twin_matches_engine_on_every_grid_id(env_id):
    env, params = registry.make(env_id)
    assert fast_step.make_host_stepper(env) is not None, f"{env_id} has no host stepper"
    events = _play(env, params, sum(map(ord, env_id)), EPISODES, STEPS)
    missing = _expected(env_id) - set(events)
    assert not missing, f"{env_id}: no {sorted(missing)} in {EPISODES} episodes: {dict(events)}"


# --------------------------------------------------------------------------------------------
# Random levels with every object
# --------------------------------------------------------------------------------------------


def _random_levels(
    rng: np.random.Generator, count: int, height: int, width: int, weights=(3, 1, 4, 4, 2, 2, 1, 1)
) -> list[GridLevel]:
    """Levels of random cells of every kind; every other level has no border wall.

    ``weights``: of walls, floors, doors, keys, balls, boxes, goals and lava among the objects.
    """
    kinds = [Obj.WALL, Obj.FLOOR, Obj.DOOR, Obj.KEY, Obj.BALL, Obj.BOX, Obj.GOAL, Obj.LAVA]
    weights = np.asarray(weights, float)
    shape = (count, height, width)
    grid = np.zeros((*shape, 3), np.uint8)
    chosen = rng.choice(kinds, size=shape, p=weights / weights.sum())
    grid[..., 0] = np.where(rng.random(shape) < 0.35, chosen, Obj.EMPTY)
    grid[..., 1] = rng.integers(0, 3, shape)  # few colours: keys often fit doors
    grid[..., 2] = np.where(grid[..., 0] == Obj.DOOR, rng.integers(0, 3, shape), 0)
    grid[grid[..., 0] == Obj.EMPTY, 1] = 0
    grid[grid[..., 0] == Obj.WALL, 1] = Color.GREY
    grid[::2, [0, -1], :] = grid[::2, :, [0, -1]] = (Obj.WALL, Color.GREY, 0)
    levels = []
    for cells, direction in zip(grid, rng.integers(0, 4, count), strict=True):
        y, x = rng.choice(np.argwhere(cells[..., 0] == Obj.EMPTY))
        levels.append(GridLevel(cells, np.array([x, y], np.int32), np.int32(direction)))
    return levels


def _env_with_rule(rule: str, **config):
    config.setdefault("see_through_walls", False)
    if rule == "engine":
        return Empty(size=9, **config)
    if rule == "ball":
        return KeyCorridor(max_room_size=5, max_rows=2, **config)  # a 9x13 grid
    return Memory(size=9, **config)


@pytest.mark.parametrize("rule", ["engine", "ball", "memory"])
def test_twin_matches_engine_on_levels_with_every_object(rule):
    env = _env_with_rule(rule)
    params = env.default_params()
    rng = np.random.default_rng(len(rule))
    weights = (2, 1, 3, 6, 6, 2, 1, 1) if rule == "memory" else (3, 1, 4, 4, 2, 2, 1, 1)
    levels = _random_levels(rng, 32, env.height, env.width, weights)
    events = _play(env, params, 7, 32, 120, levels)
    missing = RULE_EVENTS[rule] - set(events)
    assert not missing, f"{rule}: no {sorted(missing)}: {dict(events)}"


OBSERVATION_CONFIGS = [
    {"view_size": 3},
    {"view_size": 5, "see_through_walls": True},
    {"view_size": 11},  # beyond the engine's tabulated visibility: its bit-parallel sweep
    {"observation": "full"},
    {"observation": "rgb", "tile_size": 3},
]


@pytest.mark.parametrize("config", OBSERVATION_CONFIGS, ids=lambda c: str(c)[1:-1])
def test_twin_matches_engine_on_every_observation_option(config):
    env = _env_with_rule("engine", **config)
    levels = _random_levels(np.random.default_rng(3), 12, env.height, env.width)
    _play(env, env.default_params(), 11, 12, 60, levels)


# --------------------------------------------------------------------------------------------
# The gymnasium env on the twin and on the JAX step
# --------------------------------------------------------------------------------------------


def _gym_pair(env_id: str, **config):
    fast, slow = gymnasium.make(env_id, **config), gymnasium.make(env_id, **config)
    assert fast.unwrapped._host is not None
    slow.unwrapped._host = None  # the JAX step, as for the other families
    return fast, slow


def _same(a, b, what: str) -> None:
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), what
    else:
        assert type(a) is type(b) and a == b, what


def _run_both(fast, slow, rng, steps: int) -> None:
    """Steps both envs with the object-seeking policy; resets both when an episode ends."""
    for t in range(steps):
        action = _policy(rng, fast.unwrapped._host.state())
        action = action if t % 3 else np.int64(action)  # numpy ints are actions too
        out_fast, out_slow = fast.step(action), slow.step(action)
        for what, a, b in zip(
            ("obs", "reward", "terminated", "truncated", "info"), out_fast, out_slow, strict=True
        ):
            _same(a, b, f"step {t}: {what}")
        if out_fast[2] or out_fast[3]:
            _same(fast.reset()[0], slow.reset()[0], f"step {t}: reset obs")


def test_gymnasium_env_on_the_twin_matches_the_jax_step(monkeypatch):
    monkeypatch.setattr(gym_adapters, "_MAX_PENDING_SPLITS", 23)  # the key's splits taken midway
    rng = np.random.default_rng(0)
    # Random starts: each episode's start shows the key carried over from the previous ones.
    fast, slow = _gym_pair("curriculax/Empty-Random-5x5-v0", render_mode="rgb_array")
    _same(fast.reset(seed=5)[0], slow.reset(seed=5)[0], "seeded reset")
    _run_both(fast, slow, rng, 300)
    level = _random_levels(rng, 1, 5, 5)[0]
    options = {"level": level, "params": {"max_steps": 40}}
    _same(fast.reset(options=options)[0], slow.reset(options=options)[0], "reset to a level")
    _run_both(fast, slow, rng, 15)
    _same(fast.render(), slow.render(), "rendered frame")
    fast, slow = pickle.loads(pickle.dumps(fast)), pickle.loads(pickle.dumps(slow))
    _run_both(fast, slow, rng, 100)  # the params persist: episodes of 40 steps
    for bad in (7, -1, 2.0, "2", np.int64(9), np.array([1])):
        with pytest.raises(ValueError):
            fast.step(bad)
        with pytest.raises(ValueError):
            slow.step(bad)
    _run_both(fast, slow, rng, 10)
