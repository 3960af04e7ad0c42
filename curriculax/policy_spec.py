"""``ElementTableSpec``: how a policy network reads an env's element-table observations.

Some envs observe a screen as a table: one row per element the agent can act on, then one row per
instruction slot. A network built for such tables (a pointer network, whose logits point at rows
and slots) needs to know which column holds what, how to scale pixels and lengths, and which
element kinds take which actions, without importing the env's internals. The env says it with a
``policy_description()`` method that returns this spec; the agent builds its network from it.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ElementTableSpec:
    """The layout of an element-table observation, int [N + K, num_columns + 3K].

    Each of the N element rows and K instruction rows starts with ``num_columns`` scalar
    columns; element rows then hold three blocks of K flags per (row, slot): the row is the field
    slot k names, the row's text matches slot k's value, the text typed in the row is slot k's
    value. Frozen and hashable, so a network module can keep it as a static attribute.

    Attributes:
        num_columns: scalar columns before the flag blocks.
        row_type: column of the row type (0 padding, 1 an element, ``slot_row_type`` a slot).
        kind: column of the element kind, an int in ``[0, num_kinds)``.
        visible: column of the flag "shown now" (an action on a hidden row does nothing).
        on: column of the flag "checked or selected".
        focused: column of the flag "has the keyboard focus".
        box: first of four columns ``x, y, width, height`` in pixels.
        value_len: column of the length of the typed text (of the value, on slot rows).
        slot_row_type: the ``row_type`` of an instruction slot's row.
        pixel_scale: pixels are divided by this (the page width).
        char_scale: lengths are divided by this (the longest text a box holds).
        num_kinds: element kinds (the one-hot width of ``kind``).
        clearable_kinds: kinds that a clear action can empty (text boxes).
        untypeable_kinds: kinds that take no keys (typing into them is refused).
    """

    num_columns: int
    row_type: int
    kind: int
    visible: int
    on: int
    focused: int
    box: int
    value_len: int
    slot_row_type: int
    pixel_scale: float
    char_scale: float
    num_kinds: int
    clearable_kinds: tuple[int, ...]
    untypeable_kinds: tuple[int, ...]
