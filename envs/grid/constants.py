"""MiniGrid's object, colour, state and action encodings, shared by the grid engine and renderer.

A grid cell is stored as three uint8 numbers ``(type, colour, state)``: exactly the triple that
MiniGrid's ``Grid.encode`` writes into an observation, so an egocentric observation is a gather of
stored cells and needs no translation.
"""

from __future__ import annotations

import enum

import numpy as np


class Obj(enum.IntEnum):
    """Object types (MiniGrid's ``OBJECT_TO_IDX``)."""

    UNSEEN = 0
    EMPTY = 1
    WALL = 2
    FLOOR = 3
    DOOR = 4
    KEY = 5
    BALL = 6
    BOX = 7
    GOAL = 8
    LAVA = 9
    AGENT = 10


class Color(enum.IntEnum):
    """Colours (MiniGrid's ``COLOR_TO_IDX``)."""

    RED = 0
    GREEN = 1
    BLUE = 2
    PURPLE = 3
    YELLOW = 4
    GREY = 5


class DoorState(enum.IntEnum):
    """Door states (MiniGrid's ``STATE_TO_IDX``)."""

    OPEN = 0
    CLOSED = 1
    LOCKED = 2


class Action(enum.IntEnum):
    """The seven MiniGrid actions."""

    LEFT = 0
    RIGHT = 1
    FORWARD = 2
    PICKUP = 3
    DROP = 4
    TOGGLE = 5
    DONE = 6


NUM_OBJECTS = len(Obj)
NUM_COLORS = len(Color)
NUM_STATES = len(DoorState)
NUM_ACTIONS = len(Action)

#: RGB of each colour, indexed by ``Color`` (MiniGrid's palette).
COLOR_RGB = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [112, 39, 195], [255, 255, 0], [100, 100, 100]],
    dtype=np.uint8,
)

#: Unit step of each direction (x, y): 0 = right (east), 1 = down, 2 = left, 3 = up.
DIR_TO_VEC = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.int32)

#: Encoded cells used by generators.
EMPTY_CELL = np.array([Obj.EMPTY, 0, 0], dtype=np.uint8)
WALL_CELL = np.array([Obj.WALL, Color.GREY, 0], dtype=np.uint8)
GOAL_CELL = np.array([Obj.GOAL, Color.GREEN, 0], dtype=np.uint8)
LAVA_CELL = np.array([Obj.LAVA, Color.RED, 0], dtype=np.uint8)

#: Colour names in ``Color`` order, for text layouts and the MiniGrid importer.
COLOR_NAMES = tuple(c.name.lower() for c in Color)
OBJECT_NAMES = tuple(o.name.lower() for o in Obj)
