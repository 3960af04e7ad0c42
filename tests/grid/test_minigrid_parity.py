"""Step-by-step parity with the reference ``minigrid`` package on imported levels.

For each task MiniGrid also has: reset a MiniGrid env with a seed, import its level, then apply
the same action sequence to both. At every step until the episode ends the observation image,
reward, terminated, truncated, agent position and direction, and the carried object must match.
"""

from __future__ import annotations

import collections

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.envs.grid.constants import DIR_TO_VEC, EMPTY_CELL, WALL_CELL, Action
from curriculax.envs.grid.engine import decode_cells
from curriculax.envs.grid.minigrid_import import from_minigrid

minigrid = pytest.importorskip("minigrid")

# (id without namespace, episodes in the default suite); MiniGrid registers the same names.
CASES = [
    ("Empty-5x5-v0", 50),
    ("Empty-Random-5x5-v0", 50),
    ("DoorKey-5x5-v0", 50),
    ("FourRooms-v0", 30),
    ("LavaGapS5-v0", 50),
    ("LavaCrossingS9N1-v0", 40),
    ("SimpleCrossingS9N2-v0", 30),
    ("MultiRoom-N2-S4-v0", 40),
    ("KeyCorridorS3R1-v0", 50),
    ("MemoryS7-v0", 50),
]
SLOW_CASES = [
    ("LavaGapS7-v0", 100),
    ("MultiRoom-N4-S5-v0", 60),
    ("Empty-8x8-v0", 200),
    ("Empty-Random-6x6-v0", 200),
    ("DoorKey-6x6-v0", 200),
    ("DoorKey-8x8-v0", 200),
    ("DoorKey-16x16-v0", 40),
    ("FourRooms-v0", 200),
    ("LavaGapS6-v0", 200),
    ("LavaCrossingS9N2-v0", 200),
    ("LavaCrossingS9N3-v0", 200),
    ("LavaCrossingS11N5-v0", 100),
    ("SimpleCrossingS9N1-v0", 200),
    ("SimpleCrossingS9N3-v0", 200),
    ("SimpleCrossingS11N5-v0", 100),
    ("MultiRoom-N6-v0", 100),
    ("KeyCorridorS3R2-v0", 200),
    ("KeyCorridorS3R3-v0", 200),
    ("KeyCorridorS4R3-v0", 100),
    ("KeyCorridorS5R3-v0", 60),
    ("KeyCorridorS6R3-v0", 40),
    ("MemoryS9-v0", 200),
    ("MemoryS11-v0", 200),
    ("MemoryS13-v0", 100),
    ("MemoryS13Random-v0", 100),
    ("MemoryS17Random-v0", 60),
]

# Biased towards acting on objects so that keys are picked up and doors opened often.
ACTION_PROBS = np.array([0.15, 0.15, 0.3, 0.12, 0.08, 0.15, 0.05])


def _run_ours(env, params, levels, actions):
    """Our rollouts of ``actions`` [E, T] from ``levels`` [E]: per-step records [E, T, ...]."""

    def episode(level, acts):
        state = env.init_state(jax.random.key(0), level, params)

        def body(state, action):
            obs, state, reward, terminated, truncated, _ = env.step(
                jax.random.key(0), state, action, params
            )
            return state, (
                obs,
                reward,
                terminated,
                truncated,
                state.agent_pos,
                state.agent_dir,
                decode_cells(state.carrying),
            )

        first = env.observe(state, params)
        return first, jax.lax.scan(body, state, acts)[1]

    return jax.device_get(jax.jit(jax.vmap(episode))(levels, jnp.asarray(actions)))


def _carried(ref) -> np.ndarray:
    return EMPTY_CELL if ref.carrying is None else np.array(ref.carrying.encode(), np.uint8)


def _reference_levels(name: str, seeds) -> tuple[list, object, list]:
    """Reset MiniGrid envs with ``seeds``: the envs, their levels stacked [E] and first images."""
    refs, levels, first_obs = [], [], []
    for seed in seeds:
        ref = gymnasium.make(f"MiniGrid-{name}").unwrapped
        obs, _ = ref.reset(seed=int(seed))
        refs.append(ref)
        levels.append(from_minigrid(ref))
        first_obs.append(obs["image"])
    return refs, jax.tree.map(lambda *xs: jnp.stack(xs), *levels), first_obs


def _pad_with_walls(levels, height: int, width: int):
    """``levels`` with their grids [E, h, w, 3] grown to [E, height, width, 3] by walls."""
    grid = levels.grid
    extra = ((0, 0), (0, height - grid.shape[1]), (0, width - grid.shape[2]))
    walls = [jnp.pad(grid[..., c], extra, constant_values=WALL_CELL[c]) for c in range(3)]
    return levels.replace(grid=jnp.stack(walls, -1))


def _compare(
    name: str, seeds, actions: np.ndarray, host: tuple[str, dict] | None = None
) -> list[tuple[float, bool]]:
    """Steps MiniGrid and ours through ``actions`` [E, T] from the levels of ``seeds`` [E].

    Every step until an episode ends must agree; returns each episode's last ``(reward,
    terminated)`` (``(0.0, False)`` if it did not end within T steps). With ``host`` (an id and
    its options) ours runs that env instead, on the levels padded with walls to its grid.
    """
    env, params = curriculax.make(host[0], **host[1]) if host else curriculax.make(name)
    refs, levels, first_obs = _reference_levels(name, seeds)
    levels = _pad_with_walls(levels, env.height, env.width)
    ours_first, (obs, reward, term, trunc, pos, direction, carrying) = _run_ours(
        env, params, levels, actions
    )
    ends = []
    for e, ref in enumerate(refs):
        np.testing.assert_array_equal(ours_first[e], first_obs[e], err_msg=f"{name} ep {e} reset")
        end = (0.0, False)
        for t in range(actions.shape[1]):
            r_obs, r_rew, r_term, r_trunc, _ = ref.step(int(actions[e, t]))
            where = f"{name} episode {e} step {t + 1} action {Action(actions[e, t]).name}"
            np.testing.assert_array_equal(obs[e, t], r_obs["image"], err_msg=where)
            assert reward[e, t] == pytest.approx(r_rew, abs=1e-6), where
            assert (bool(term[e, t]), bool(trunc[e, t])) == (r_term, r_trunc), where
            assert tuple(pos[e, t]) == tuple(ref.agent_pos), where
            assert int(direction[e, t]) == ref.agent_dir, where
            np.testing.assert_array_equal(carrying[e, t], _carried(ref), err_msg=where)
            if r_term or r_trunc:
                end = (float(r_rew), bool(r_term))
                break
        ends.append(end)
    return ends


def _check_parity(name: str, episodes: int) -> None:
    _, params = curriculax.make(name)
    rng = np.random.default_rng(0)
    actions = rng.choice(len(Action), size=(episodes, int(params.max_steps)), p=ACTION_PROBS)
    ended = sum(terminated for _, terminated in _compare(name, range(episodes), actions))
    # random actions rarely finish tasks that need a key or several doors
    hard = name.startswith(("DoorKey", "MultiRoom-N4", "MultiRoom-N6", "KeyCorridor"))
    assert ended > 0 or hard, f"{name}: no episode reached a terminal state"


@pytest.mark.parametrize(("name", "episodes"), CASES)
def test_matches_minigrid_step_by_step(name, episodes):
    _check_parity(name, episodes)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "episodes"), SLOW_CASES)
def test_matches_minigrid_step_by_step_large(name, episodes):
    _check_parity(name, episodes)


# --------------------------------------------------------------------------- scripted solutions
# Random actions rarely finish KeyCorridor and never choose between Memory's ends on purpose, so
# a planner walks known solutions on MiniGrid's levels; the recorded actions are then replayed
# on both envs step by step as above.

_TURNS = {Action.LEFT: 3, Action.RIGHT: 1}


def _front(ref) -> tuple[int, int]:
    return tuple(int(v) for v in ref.front_pos)


def _plan_step(ref, done) -> int:
    """The first action of a shortest walk (turns and moves) to a pose where ``done(pos, dir)``.

    Closed unlocked doors count as passable; the caller toggles them open on the way.
    """
    cells = ref.grid.encode()  # [W, H, 3], indexed [x, y]

    def passable(x: int, y: int) -> bool:
        kind, _, state = cells[x, y]
        return kind == 1 or (kind == 4 and state != 2)

    start = (int(ref.agent_pos[0]), int(ref.agent_pos[1]), int(ref.agent_dir))
    first = {start: None}
    queue = collections.deque([start])
    while queue:
        x, y, d = queue.popleft()
        if done((x, y), d):
            return Action.DONE if first[(x, y, d)] is None else first[(x, y, d)]
        dx, dy = DIR_TO_VEC[d]
        moves = [(Action.LEFT, (x, y, (d + 3) % 4)), (Action.RIGHT, (x, y, (d + 1) % 4))]
        if passable(x + dx, y + dy):
            moves.append((Action.FORWARD, (x + dx, y + dy, d)))
        for action, pose in moves:
            if pose not in first:
                first[pose] = first[(x, y, d)] if first[(x, y, d)] is not None else action
                queue.append(pose)
    raise AssertionError("no path")


def _walk(ref, actions: list[int], done, last: int | None = None) -> None:
    """Steps ``ref`` to a pose where ``done``, recording actions; then ``last`` if given."""
    for _ in range(4 * ref.width * ref.height):
        action = _plan_step(ref, done)
        if action == Action.DONE:
            break
        ahead = ref.grid.get(*_front(ref))
        if action == Action.FORWARD and ahead is not None and ahead.type == "door":
            action = Action.FORWARD if ahead.is_open else Action.TOGGLE
        actions.append(int(action))
        ref.step(int(action))
    else:
        raise AssertionError("the walk did not arrive")
    if last is not None:
        actions.append(int(last))
        ref.step(int(last))


def _keycorridor_solution(name: str, seed: int) -> list[int]:
    """Fetch the key, unlock the door, put the key back where it lay, pick up the ball."""
    ref = gymnasium.make(f"MiniGrid-{name}").unwrapped
    ref.reset(seed=seed)
    cells = ref.grid.encode()
    key_at = tuple(int(v) for v in np.argwhere(cells[..., 0] == 5)[0])
    lock_at = tuple(int(v) for v in np.argwhere((cells[..., 0] == 4) & (cells[..., 2] == 2))[0])
    ball_at = tuple(int(v) for v in np.argwhere(cells[..., 0] == 6)[0])
    actions: list[int] = []
    for target, last in (
        (key_at, Action.PICKUP),
        (lock_at, Action.TOGGLE),
        (key_at, Action.DROP),
        (ball_at, Action.PICKUP),
    ):
        _walk(ref, actions, lambda pos, d, t=target: _facing(pos, d) == t, last)
    return actions


def _facing(pos: tuple[int, int], d: int) -> tuple[int, int]:
    dx, dy = DIR_TO_VEC[d]
    return (pos[0] + dx, pos[1] + dy)


def _memory_solution(name: str, seed: int, success: bool) -> list[int]:
    """Walk to the matching object's end (``success``) or to the other one's."""
    ref = gymnasium.make(f"MiniGrid-{name}").unwrapped
    ref.reset(seed=seed)
    target = tuple(int(v) for v in (ref.success_pos if success else ref.failure_pos))
    actions: list[int] = []
    _walk(ref, actions, lambda pos, d: pos == target)
    return actions


def _pad(solutions: list[list[int]]) -> np.ndarray:
    """Actions [E, T], the shorter solutions padded with ``done`` (never reached: they end)."""
    horizon = max(map(len, solutions))
    return np.array([a + [Action.DONE] * (horizon - len(a)) for a in solutions], np.int64)


def _check_solutions(name: str, solutions: list[list[int]], success: bool) -> None:
    ends = _compare(name, range(len(solutions)), _pad(solutions))
    _, params = curriculax.make(name)
    for e, ((reward, terminated), actions) in enumerate(zip(ends, solutions, strict=True)):
        assert terminated, f"{name} episode {e}: the solution did not end the episode"
        expected = 1 - 0.9 * len(actions) / int(params.max_steps) if success else 0.0
        assert reward == pytest.approx(expected, abs=1e-6), f"{name} episode {e}"


SCRIPTED_KEYCORRIDOR = [("KeyCorridorS3R1-v0", 20), ("KeyCorridorS3R3-v0", 30)]
SLOW_SCRIPTED_KEYCORRIDOR = [
    ("KeyCorridorS3R2-v0", 50),
    ("KeyCorridorS4R3-v0", 50),
    ("KeyCorridorS5R3-v0", 50),
    ("KeyCorridorS6R3-v0", 50),
]
SCRIPTED_MEMORY = [("MemoryS7-v0", 20), ("MemoryS13Random-v0", 20)]
SLOW_SCRIPTED_MEMORY = [
    ("MemoryS9-v0", 50),
    ("MemoryS11-v0", 50),
    ("MemoryS13-v0", 50),
    ("MemoryS17Random-v0", 50),
]


def _check_keycorridor(name: str, episodes: int) -> None:
    _check_solutions(name, [_keycorridor_solution(name, s) for s in range(episodes)], True)


def _check_memory(name: str, episodes: int) -> None:
    for success in (True, False):
        solutions = [_memory_solution(name, s, success) for s in range(episodes)]
        _check_solutions(name, solutions, success)


@pytest.mark.parametrize(("name", "episodes"), SCRIPTED_KEYCORRIDOR)
def test_keycorridor_solutions_succeed_identically(name, episodes):
    _check_keycorridor(name, episodes)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "episodes"), SLOW_SCRIPTED_KEYCORRIDOR)
def test_keycorridor_solutions_succeed_identically_large(name, episodes):
    _check_keycorridor(name, episodes)


@pytest.mark.parametrize(("name", "episodes"), SCRIPTED_MEMORY)
def test_memory_success_and_failure_ends_match(name, episodes):
    _check_memory(name, episodes)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "episodes"), SLOW_SCRIPTED_MEMORY)
def test_memory_success_and_failure_ends_match_large(name, episodes):
    _check_memory(name, episodes)


# The traced room size and row count: a smaller MiniGrid level inside a larger grid of walls.
HOSTED = [
    ("KeyCorridorS3R2-v0", ("KeyCorridorS6R3-v0", {"room_size": 3, "num_rows": 2})),
    ("MemoryS9-v0", ("MemoryS13-v0", {"room_size": 9})),
]


@pytest.mark.parametrize(("name", "host"), HOSTED)
def test_smaller_levels_in_a_larger_grid_match_minigrid(name, host):
    _, params = curriculax.make(name)
    host = (host[0], {**host[1], "max_steps": int(params.max_steps)})
    rng = np.random.default_rng(1)
    actions = rng.choice(len(Action), size=(60, int(params.max_steps)), p=ACTION_PROBS)
    _compare(name, range(60), actions, host)
    if name.startswith("KeyCorridor"):
        solutions = [_keycorridor_solution(name, s) for s in range(10)]
    else:
        solutions = [_memory_solution(name, s, s % 2 == 0) for s in range(10)]
    ends = _compare(name, range(10), _pad(solutions), host)
    assert all(terminated for _, terminated in ends)
    assert [reward > 0 for reward, _ in ends] == [
        name.startswith("KeyCorridor") or s % 2 == 0 for s in range(10)
    ]
