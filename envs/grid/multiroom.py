"""MultiRoom: a chain of rooms joined by closed doors, the goal in the last room (MiniGrid's).

MiniGrid grows the chain recursively: each room gets up to 8 tries to attach the next one, a room
that cannot ends the chain, and a chain shorter than asked is thrown away and the whole layout
drawn again, without limit. Here one ``lax.while_loop`` iteration is one try.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.grid.constants import EMPTY_CELL, GOAL_CELL, WALL_CELL, DoorState, Obj
from curriculax.envs.grid.engine import GridEnv, GridLevel
from curriculax.types import Array, EnvParams, PRNGKey

#: Whole layouts drawn before giving up and keeping the longest chain (MiniGrid: unbounded). Its
#: 6-room, size-10 layouts succeed 22% of the time, so 64 layouts all fail with p < 2e-7.
MAX_ATTEMPTS = 64
#: Tries to attach the next room to the last one before the chain ends (MiniGrid's 8).
TRIES_PER_ROOM = 8
MIN_ROOM_SIZE = 4
NUM_DOOR_COLORS = 6


def _below(word: Array, n: Array) -> Array:
    """A uniform int32 in [0, n) from a uint32 random word (bias below n / 2**32)."""
    return (word % jnp.maximum(n, 1).astype(jnp.uint32)).astype(jnp.int32)


def _random_cell(word: Array, allowed: Array) -> Array:
    """A uniform ``(x, y)`` among the True cells of ``allowed`` (bool [H, W]): int32 [2]."""
    ends = jnp.cumsum(allowed.reshape(-1))
    index = jnp.sum(ends <= _below(word, ends[-1]))
    return jnp.stack([index % allowed.shape[1], index // allowed.shape[1]]).astype(jnp.int32)


def _pick(i: Array, *options: Array) -> Array:
    """``options[i]`` for a traced ``i``, as selects rather than a gather."""
    return jnp.sum(jnp.where(jnp.arange(len(options)) == i, jnp.stack(options), 0))


@struct.dataclass
class MultiRoomParams(EnvParams):
    """MultiRoom's task distribution.

    Attributes:
        max_steps: int32 [], episode length (MiniGrid: ``20 * num_rooms``).
        num_rooms: int32 [], rooms in the chain, in [1, max_rooms].
        max_room_size: int32 [], largest room side including walls (MiniGrid's ``maxRoomSize``);
            sides are drawn uniformly in [4, max_room_size].
    """

    num_rooms: Array
    max_room_size: Array


class MultiRoom(GridEnv[MultiRoomParams]):
    """Traverse a chain of rooms, opening the closed (unlocked) door into each, to the goal.

    Level distribution (as MiniGrid's ``MultiRoomEnv``): a first room of sides in
    [4, max_room_size] at a uniform corner where it fits; each next room attaches through a door
    on any wall of the last one but its entry wall, not at a corner, with random sides and offset
    along that wall; it must fit the grid and pass MiniGrid's overlap test against the earlier
    rooms. Doors are closed, each of a random colour other than the previous door's. Agent at a
    random cell of the first room facing a random way, goal at another random cell of the last.
    Cells outside the rooms are empty and unreachable. Registered as
    ``curriculax/MultiRoom-{N2-S4,N4-S5,N6}-v0`` (N4-S5-v0 has 6 rooms: MiniGrid's legacy id) and
    ``MultiRoom-N4-S5-v1``.

    The first room is drawn directly from the corners and sides that fit (the distribution
    MiniGrid's retries give it). If ``MAX_ATTEMPTS`` layouts all end short, the level has the
    longest chain found, with fewer rooms and doors (never seen for the registered ids).

    Args:
        size: side of the grid (MiniGrid: 25); at least 5.
        max_rooms: static cap on ``num_rooms`` (rows of the chain arrays).
        view_size: side of the egocentric view.
        see_through_walls: skip occlusion (MiniGrid's MultiRoom does not).
    """

    def __init__(
        self,
        size: int = 25,
        max_rooms: int = 6,
        view_size: int = 7,
        see_through_walls: bool = False,
        **grid_config: Any,
    ) -> None:
        super().__init__(size, size, view_size, see_through_walls, **grid_config)
        if size < 5:
            raise ValueError(f"MultiRoom needs size >= 5 (one 4x4 room), got {size}")
        if not isinstance(max_rooms, int) or isinstance(max_rooms, bool) or max_rooms < 1:
            raise ValueError(f"max_rooms must be a positive int, got {max_rooms!r}")
        self.size = size
        self.max_rooms = max_rooms
        self.size_cap = min(10, size - 1)  # the largest max_room_size in param_bounds

    def default_params(self) -> MultiRoomParams:
        """MiniGrid's ``MultiRoom-N6``: ``max_rooms`` rooms of side up to 10, 20 steps per room."""
        return MultiRoomParams(
            max_steps=jnp.asarray(20 * self.max_rooms, jnp.int32),
            num_rooms=jnp.asarray(self.max_rooms, jnp.int32),
            max_room_size=jnp.asarray(self.size_cap, jnp.int32),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """``num_rooms`` in [1, max_rooms]; ``max_room_size`` in [4, min(10, size - 1)]."""
        return {
            "max_steps": (1, INT32_MAX),
            "num_rooms": (1, self.max_rooms),
            "max_room_size": (MIN_ROOM_SIZE, self.size_cap),
        }

    def _first_room(self, bits: Array, max_size: Array) -> Array:
        """Room int32 [4] uniform over corners in [0, size - 3] and sides that fit (bits [2])."""
        sides = jnp.arange(self.size + 1)
        out = []
        for word, limit in zip(bits, (self.size, self.size - 1), strict=True):
            tops = jnp.clip(limit - sides + 1, 0, self.size - 2)  # corners that fit, per side
            weight = jnp.where((sides >= MIN_ROOM_SIZE) & (sides <= max_size), tops, 0)
            ends = jnp.cumsum(weight)  # the (side, corner) pairs, numbered side by side
            pair = _below(word, ends[-1])
            below = ends <= pair  # the sides before the pair's
            out += [pair - jnp.sum(jnp.where(below, weight, 0)), jnp.sum(below)]
        return jnp.stack([out[0], out[2], out[1], out[3]]).astype(jnp.int32)

    def _try_next_room(
        self, bits: Array, chain: dict[str, Array], max_size: Array
    ) -> tuple[Array, Array, Array, Array]:
        """One of MiniGrid's tries to attach a room to the last one, from uint32 ``bits`` [5].

        Returns:
            ``(ok, room, door, entry wall)``: bool [], int32 [4], int32 [2], int32 [].
        """
        is_last = (jnp.arange(self.max_rooms) == chain["count"] - 1)[:, None]
        top_x, top_y, size_x, size_y = jnp.sum(jnp.where(is_last, chain["rooms"], 0), axis=0)
        r = _below(bits[0], 3)
        exit_wall = r + (r >= chain["entry"])  # any wall but the last room's entry wall
        along = 1 + _below(bits[1], jnp.where(exit_wall % 2 == 0, size_y, size_x) - 2)
        door_x = _pick(exit_wall, top_x + size_x - 1, top_x + along, top_x, top_x + along)
        door_y = _pick(exit_wall, top_y + along, top_y + size_y - 1, top_y + along, top_y)
        entry = (exit_wall + 2) % 4
        new_x = MIN_ROOM_SIZE + _below(bits[2], max_size - MIN_ROOM_SIZE + 1)
        new_y = MIN_ROOM_SIZE + _below(bits[3], max_size - MIN_ROOM_SIZE + 1)
        span = jnp.where(entry % 2 == 0, new_y, new_x)
        offset = 2 - span + _below(bits[4], span - 2)  # door not at the new room's corners
        corner_x = _pick(entry, door_x - new_x + 1, door_x + offset, door_x, door_x + offset)
        corner_y = _pick(entry, door_y + offset, door_y - new_y + 1, door_y + offset, door_y)
        fits = (corner_x >= 0) & (corner_y >= 0)
        fits &= (corner_x + new_x <= self.size) & (corner_y + new_y < self.size)
        rx, ry, rsx, rsy = chain["rooms"].T  # MiniGrid's overlap test, skipping the last room
        apart = (corner_x + new_x < rx) | (rx + rsx <= corner_x)
        apart |= (corner_y + new_y < ry) | (ry + rsy <= corner_y)
        apart |= jnp.arange(self.max_rooms) >= chain["count"] - 1
        room = jnp.stack([corner_x, corner_y, new_x, new_y]).astype(jnp.int32)
        door = jnp.stack([door_x, door_y]).astype(jnp.int32)
        return fits & jnp.all(apart), room, door, entry.astype(jnp.int32)

    def _grow_chain(self, key: PRNGKey, params: MultiRoomParams) -> tuple[Array, Array, Array]:
        """MiniGrid's layout loop: rooms int32 [R, 4], doors int32 [R, 2], room count int32 []."""
        num_rooms = jnp.clip(params.num_rooms, 1, self.max_rooms)
        max_size = jnp.maximum(params.max_room_size, MIN_ROOM_SIZE)
        first_key, key = jax.random.split(key)
        first = self._first_room(jax.random.bits(first_key, (2,)), max_size)
        index = jnp.arange(self.max_rooms)[:, None]
        one, zero, left = (jnp.asarray(v, jnp.int32) for v in (1, 0, 2))
        # The chain grown: ``rooms`` rows ``(top_x, top_y, size_x, size_y)``, ``doors[i]`` room i's
        # entry door ``(x, y)``, ``entry`` the last room's entry wall (0 right, 1 bottom, 2 left,
        # 3 top; MiniGrid enters the first room from the left); then the longest that ended short.
        rooms = jnp.where(index == 0, first, jnp.zeros((self.max_rooms, 4), jnp.int32))
        doors = jnp.zeros((self.max_rooms, 2), jnp.int32)
        init = dict(key=key, rooms=rooms, doors=doors, entry=left, count=one, tries=zero)
        init.update(attempts=zero, best_rooms=rooms, best_doors=doors, best_count=one)

        def unfinished(chain: dict[str, Array]) -> Array:
            return (chain["count"] < num_rooms) & (chain["attempts"] < MAX_ATTEMPTS)

        def one_try(chain: dict[str, Array]) -> dict[str, Array]:
            key, bits_key = jax.random.split(chain["key"])
            bits = jax.random.bits(bits_key, (8,))  # an even count compiles faster
            ok, room, door, wall = self._try_next_room(bits[:5], chain, max_size)
            new, count = index == chain["count"], chain["count"]
            placed = dict(chain, count=count + 1, tries=zero, entry=wall)
            placed.update(rooms=jnp.where(new, room, chain["rooms"]))
            placed.update(doors=jnp.where(new, door, chain["doors"]))
            ended = (~ok) & (chain["tries"] + 1 >= TRIES_PER_ROOM)  # this layout ends short
            longer = count > chain["best_count"]
            first = self._first_room(bits[5:7], max_size)
            restart = dict(chain, count=one, tries=zero, entry=left, attempts=chain["attempts"] + 1)
            restart.update(rooms=jnp.where(index == 0, first, chain["rooms"]))
            restart.update(best_rooms=jnp.where(longer, chain["rooms"], chain["best_rooms"]))
            restart.update(best_doors=jnp.where(longer, chain["doors"], chain["best_doors"]))
            restart.update(best_count=jnp.maximum(count, chain["best_count"]))
            retry = dict(chain, tries=chain["tries"] + 1)
            out = jax.tree.map(
                lambda p, e, r: jnp.where(ok, p, jnp.where(ended, e, r)), placed, restart, retry
            )
            return dict(out, key=key)

        chain = jax.lax.while_loop(unfinished, one_try, init)
        done = chain["count"] >= num_rooms
        return tuple(
            jnp.where(done, chain[name], chain[f"best_{name}"])
            for name in ("rooms", "doors", "count")
        )

    def sample_level(self, key: PRNGKey, params: MultiRoomParams) -> GridLevel:
        """The chain of rooms, its doors, the agent in the first room and the goal in the last."""
        chain_key, word_key = jax.random.split(key)
        rows = self.max_rooms
        words = jax.random.bits(word_key, (rows + 4 + rows % 2,))  # colours, agent, goal, dir
        rooms, doors, count = self._grow_chain(chain_key, params)
        index = jnp.arange(self.max_rooms)
        ys, xs = jnp.mgrid[0 : self.size, 0 : self.size]
        x0, y0, sx, sy = (v[:, None, None] for v in rooms.T)
        inside = (xs >= x0) & (xs < x0 + sx) & (ys >= y0) & (ys < y0 + sy)  # [R, H, W]
        border = inside & ((xs == x0) | (xs == x0 + sx - 1) | (ys == y0) | (ys == y0 + sy - 1))
        wall = jnp.any(border & (index < count)[:, None, None], axis=0)
        grid = jnp.where(wall[..., None], jnp.asarray(WALL_CELL), jnp.asarray(EMPTY_CELL))

        # Door i (on room i's entry wall, i >= 1): the first colour uniform, then a uniform step
        # of 1..5 around the 6 colours, i.e. uniform over the colours but the previous door's.
        steps = jnp.where(index >= 2, 1 + _below(words[:rows], NUM_DOOR_COLORS - 1), 0)
        steps = steps.at[0].set(_below(words[rows], NUM_DOOR_COLORS))  # the first door's colour
        colours = jnp.cumsum(steps) % NUM_DOOR_COLORS
        cells = jnp.stack(jnp.broadcast_arrays(Obj.DOOR, colours, DoorState.CLOSED), -1)
        has_door = (index >= 1) & (index < count)
        door_y = jnp.where(has_door, doors[:, 1], self.size)  # no door: dropped by the scatter
        grid = grid.at[door_y, doors[:, 0]].set(cells.astype(jnp.uint8), mode="drop")

        free = grid[..., 0] == Obj.EMPTY
        agent_pos = _random_cell(words[rows + 1], free & inside[0])
        free = free.at[agent_pos[1], agent_pos[0]].set(False)
        goal = _random_cell(words[rows + 2], free & inside[count - 1])
        return GridLevel(
            grid=grid.at[goal[1], goal[0]].set(jnp.asarray(GOAL_CELL)),
            agent_pos=agent_pos,
            agent_dir=_below(words[rows + 3], 4),
        )
