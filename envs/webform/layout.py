"""Page geometry of the web forms: where each row's box lies, in pixels.

The generator (``generator.py``) places every row with ``layout`` (book-flight's forms with
``book_flight_layout``, where MiniWoB++'s page has them); the HTML export (``html.py``)
and the array renderer (``render.py``) draw the page with the same numbers, so the table's boxes,
the exported page and the rendered image agree.
"""

from __future__ import annotations

import datetime

import jax.numpy as jnp

from curriculax.envs.webform import book_flight, calendar, engine
from curriculax.envs.webform.engine import Kind
from curriculax.types import Array

# Page geometry, pixels (the exported HTML uses the same numbers).
PAGE_WIDTH = 640
INPUT_X = 136
INPUT_WIDTH = 480
MAX_JITTER = 16
ROW_HEIGHT = {Kind.TEXT: 36, Kind.PASSWORD: 36, Kind.SELECT: 36, Kind.HEADING: 28}
SELECT_WIDTH, SUGGESTION_WIDTH = 200, 240
CHOICE_HEIGHT = 24
BUTTON_WIDTH, BUTTON_HEIGHT, BUTTON_GAP = 100, 28, 12
TOP = 16
#: A generated calendar: 7 columns of ``CELL_PITCH`` px under a 30-px header, opening under
#: its datepicker (MiniWoB++'s book-flight opens it above: the importer reads its geometry).
CELL_PITCH, CELL_SIZE, CAL_HEADER = (28, 22), (24, 18), 30
CAL_WIDTH = 7 * CELL_PITCH[0] + 8


def page_height(max_widgets: int, max_options: int) -> int:
    """Pixel height of a page that fits the tallest form (every widget a group)."""
    group = ROW_HEIGHT[Kind.TEXT] + max_options * CHOICE_HEIGHT  # an autocomplete's is tallest
    return TOP + max_widgets * group + 2 * BUTTON_HEIGHT


def layout(kind: Array, page: Array, owner: Array, jitter: Array) -> Array:
    """Boxes of a form's rows: widgets stacked down each page, buttons in a bar below them.

    Args:
        kind: int32 [N], a ``Kind`` per row, in page order.
        page: int32 [N], the page each row is on.
        owner: int32 [N], an option's ``<select>`` row (an option gets its select's box).
        jitter: int32 [N], the row's shift to the right, in pixels (0 to ``MAX_JITTER``).

    Returns:
        int32 [N, 4]: ``x, y, width, height`` per row; zeros for padding rows.
    """
    n = kind.shape[0]
    boxes = engine.is_kind(kind, engine.VALUE_KINDS)
    height = jnp.select(
        [
            boxes | (kind == Kind.SELECT),
            kind == Kind.HEADING,
            jnp.isin(kind, jnp.asarray([Kind.CHECKBOX, Kind.RADIO, Kind.SUGGESTION])),
        ],
        [ROW_HEIGHT[Kind.TEXT], ROW_HEIGHT[Kind.HEADING], CHOICE_HEIGHT],
        0,
    )
    button = jnp.isin(kind, jnp.asarray([Kind.NEXT, Kind.SUBMIT, Kind.DISTRACTOR]))
    idx = jnp.arange(n)
    same_page = page[:, None] == page[None, :]
    before = idx[None, :] < idx[:, None]
    y = TOP + jnp.sum(jnp.where(same_page & before, height[None, :], 0), axis=1)
    page_end = TOP + jnp.sum(jnp.where(same_page, height[None, :], 0), axis=1)
    buttons_before = jnp.sum(same_page & before & button[None, :], axis=1)
    x = INPUT_X + jitter
    box_x = jnp.select(
        [button, kind == Kind.HEADING],
        [16 + buttons_before * (BUTTON_WIDTH + BUTTON_GAP), 8 + jitter],
        x,
    )
    box_y = jnp.where(button, page_end + 8, y + jnp.where(height >= 36, 4, 2))
    width = jnp.select(
        [
            boxes,
            kind == Kind.SELECT,
            kind == Kind.HEADING,
            jnp.isin(kind, jnp.asarray([Kind.CHECKBOX, Kind.RADIO])),
            button,
            kind == Kind.SUGGESTION,
        ],
        [INPUT_WIDTH, SELECT_WIDTH, 300, 16, BUTTON_WIDTH, SUGGESTION_WIDTH],
        0,
    )
    box_h = jnp.select(
        [height >= 36, kind == Kind.HEADING, width == 16, button, kind == Kind.SUGGESTION],
        [28, 20, 16, BUTTON_HEIGHT, CHOICE_HEIGHT - 4],
        0,
    )
    box = jnp.stack([box_x, box_y, width, box_h], axis=1).astype(jnp.int32)
    box = jnp.where((kind == Kind.OPTION)[:, None], box[jnp.maximum(owner, 0)], box)
    return jnp.where((kind == Kind.PAD)[:, None], 0, box)


def menu_geometry() -> Array:
    """int32 [4]: ``FormLevel.menu`` of a generated form (``calendar.MENU_FIELDS``).

    Its suggestions are laid out under their box (``layout``); the menu covers just them, so it
    hides no other row.
    """
    return jnp.asarray([10_000, SUGGESTION_WIDTH, 0], jnp.int32)


def calendar_geometry(box: Array, first: int, last: int) -> tuple[Array, Array]:
    """A generated datepicker's calendar, opening under the datepicker's ``box``.

    Args:
        box: int32 [4], the datepicker's box.
        first: the first month it offers (``calendar.month_index``).
        last: the last one, which it opens on.

    Returns:
        ``(FormLevel.calendar int32 [13], boxes of its Prev, Next and title rows int32 [3, 4])``.
    """
    x, y = box[0], box[1] + box[3] + 2
    values = {
        "first": first, "last": last, "start": last, "x": x, "y": y, "width": CAL_WIDTH,
        "base_height": CAL_HEADER + 4, "grid_x": x + 4, "grid_y": y + CAL_HEADER,
        "pitch_x": CELL_PITCH[0], "pitch_y": CELL_PITCH[1],
        "cell_width": CELL_SIZE[0], "cell_height": CELL_SIZE[1],
    }  # fmt: skip
    geometry = jnp.stack([jnp.asarray(values[f], jnp.int32) for f in calendar.CALENDAR_FIELDS])
    w, h = CELL_SIZE
    header = [(x + 4, y + 4, w, h), (x + CAL_WIDTH - 4 - w, y + 4, w, h),
              (x + 8 + w, y + 4, CAL_WIDTH - 16 - 2 * w, h)]  # fmt: skip
    boxes = jnp.asarray([[jnp.asarray(v, jnp.int32) for v in b] for b in header], jnp.int32)
    return geometry, boxes


#: Characters of a menu item that fit one line of book-flight's menu, and two (``item_lines``).
ONE_LINE_CHARS, TWO_LINE_CHARS = 21, 38


def book_flight_layout(kind: Array, owner: Array, text_len: Array) -> Array:
    """Boxes of a book-flight form's rows where MiniWoB++'s page puts them.

    The first autocomplete is the page's From box, the second its To box, then the date box and
    Search (``book_flight.PAGE_BOXES``); each box's suggestions stack in its menu, which opens
    under the box and floats over the rows below (``book_flight_menu``), one item per suggestion,
    taller for a long text (the page wraps it).

    Args:
        kind: int32 [N], a ``Kind`` per row, in page order.
        owner: int32 [N], a suggestion's autocomplete row.
        text_len: int32 [N], characters of each row's text.

    Returns:
        int32 [N, 4]: ``x, y, width, height`` per row; zeros for other rows.
    """
    auto = kind == Kind.AUTOCOMPLETE
    nth_auto = jnp.cumsum(auto) - 1
    page = {name: jnp.asarray(box, jnp.int32) for name, box in book_flight.PAGE_BOXES.items()}
    box = jnp.zeros((kind.shape[0], 4), jnp.int32)
    box = jnp.where((auto & (nth_auto == 0))[:, None], page["from"], box)
    box = jnp.where((auto & (nth_auto > 0))[:, None], page["to"], box)
    box = jnp.where((kind == Kind.DATEPICKER)[:, None], page["date"], box)
    box = jnp.where((kind == Kind.SUBMIT)[:, None], page["search"], box)
    suggestion = kind == Kind.SUGGESTION
    lines = 1 + (text_len > ONE_LINE_CHARS) + (text_len > TWO_LINE_CHARS)
    height = jnp.where(suggestion, book_flight.ITEM_PAD + book_flight.ITEM_LINE * lines, 0)
    idx = jnp.arange(kind.shape[0])
    above = (owner[None, :] == owner[:, None]) & (idx[None, :] < idx[:, None])  # [row, other]
    stacked = jnp.sum(jnp.where(above, height[None, :], 0), axis=1)
    head = box[jnp.maximum(owner, 0)]
    item = jnp.stack([head[:, 0] + 1, head[:, 1] + head[:, 3] + 1 + stacked, head[:, 2], height], 1)
    return jnp.where(suggestion[:, None], item, box).astype(jnp.int32)


def book_flight_menu() -> Array:
    """int32 [4]: ``FormLevel.menu`` of book-flight's jQuery UI menus (80 px tall at most)."""
    return jnp.asarray(book_flight.menu_vector(), jnp.int32)


def book_flight_calendar() -> tuple[Array, Array]:
    """book-flight's calendar, 107 px above its date box, opening on its last month.

    Returns:
        ``(FormLevel.calendar int32 [13], boxes of its Prev, Next and title rows int32 [3, 4])``.
    """
    after_range = datetime.date(book_flight.LAST // 12 + 1, 1, 1)  # the page's "today" is later
    geometry = book_flight.calendar_vector(book_flight.PAGE_BOXES["date"], today=after_range)
    header = [book_flight.header_box(geometry, name) for name in ("prev", "next", "title")]
    return jnp.asarray(geometry, jnp.int32), jnp.asarray(header, jnp.int32)
