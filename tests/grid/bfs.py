"""Independent shortest-path checks for generated grid levels (plain Python, not the env's code)."""

from __future__ import annotations

import collections

import numpy as np

WALL, DOOR, KEY, GOAL, LAVA, EMPTY = 2, 4, 5, 8, 9, 1


def shortest_path(kinds: np.ndarray, start, goal_kind: int = GOAL, passable=None) -> int | None:
    """Fewest 4-neighbour moves from ``start`` (x, y) to a cell of ``goal_kind``, or None.

    ``kinds`` is the object type of every cell, indexed [y, x]; by default only empty cells and
    the goal can be walked on. The grid edge blocks.
    """
    passable = passable if passable is not None else {EMPTY, GOAL}
    height, width = kinds.shape
    dist = {tuple(start): 0}
    queue = collections.deque([tuple(start)])
    while queue:
        x, y = queue.popleft()
        if kinds[y, x] == goal_kind:
            return dist[(x, y)]
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nx, ny = x + dx, y + dy
            inside = 0 <= nx < width and 0 <= ny < height
            if inside and (nx, ny) not in dist and kinds[ny, nx] in passable | {goal_kind}:
                dist[(nx, ny)] = dist[(x, y)] + 1
                queue.append((nx, ny))
    return None
