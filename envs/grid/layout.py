"""Readable text layouts of grid levels, for hand-made levels and golden tests.

One character per cell, rows top to bottom, spaces between cells optional::

    # # # # #
    # > K # #
    # . . D #
    # . . G #
    # # # # #

``#`` wall, ``.`` empty, ``G`` goal, ``L`` lava, ``F`` floor; ``K`` key, ``D`` locked door,
``d`` closed door, ``o`` open door, ``B`` ball, ``X`` box, each yellow unless followed by a colour
letter (``r g b p y e`` for red, green, blue, purple, yellow, grey), e.g. ``Kb`` is a blue key;
the agent (on an empty cell) is ``>`` ``v`` ``<`` ``^`` for facing right, down, left and up.
"""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np

from curriculax.envs.grid.constants import Color, DoorState, Obj
from curriculax.envs.grid.engine import GridLevel

_PLAIN = {
    "#": (Obj.WALL, Color.GREY, 0),
    ".": (Obj.EMPTY, 0, 0),
    "G": (Obj.GOAL, Color.GREEN, 0),
    "L": (Obj.LAVA, Color.RED, 0),
}
_COLOURED = {
    "F": (Obj.FLOOR, 0),
    "K": (Obj.KEY, 0),
    "D": (Obj.DOOR, DoorState.LOCKED),
    "d": (Obj.DOOR, DoorState.CLOSED),
    "o": (Obj.DOOR, DoorState.OPEN),
    "B": (Obj.BALL, 0),
    "X": (Obj.BOX, 0),
}
_COLOUR_LETTERS = dict(zip("rgbpye", Color, strict=True))
_AGENT = {">": 0, "v": 1, "<": 2, "^": 3}
_TOKEN = re.compile(r"([#.GL><v^])|([FKDdoBX])([rgbpye]?)")


def parse_layout(text: str) -> GridLevel:
    """The ``GridLevel`` a text layout describes.

    Raises:
        ValueError: on an unknown character, ragged rows, or not exactly one agent.
    """
    rows = [line.replace(" ", "") for line in text.strip().splitlines()]
    cells, agents = [], []
    for y, row in enumerate(rows):
        parsed, pos = [], 0
        while pos < len(row):
            match = _TOKEN.match(row, pos)
            if not match:
                raise ValueError(f"unknown layout character {row[pos]!r} in row {y}: {row!r}")
            plain, coloured, colour = match.groups()
            if plain in _AGENT:
                agents.append((len(parsed), y, _AGENT[plain]))
                parsed.append(_PLAIN["."])
            elif plain:
                parsed.append(_PLAIN[plain])
            else:
                kind, state = _COLOURED[coloured]
                parsed.append((kind, _COLOUR_LETTERS.get(colour or "y"), state))
            pos = match.end()
        cells.append(parsed)
    if len({len(r) for r in cells}) != 1:
        raise ValueError("layout rows must all have the same number of cells")
    if len(agents) != 1:
        raise ValueError(f"layout needs exactly one agent (> v < ^), found {len(agents)}")
    x, y, direction = agents[0]
    return GridLevel(
        grid=jnp.asarray(np.array(cells, np.uint8)),
        agent_pos=jnp.array([x, y], jnp.int32),
        agent_dir=jnp.asarray(direction, jnp.int32),
    )
