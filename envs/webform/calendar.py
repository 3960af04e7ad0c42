"""The datepicker's calendar (jQuery UI's, as MiniWoB++'s book-flight opens it): dates and geometry.

A month is one integer, ``year * 12 + month - 1`` (``month_index``). A level's calendar is an
int32 vector ``FormLevel.calendar`` whose entries ``CALENDAR_FIELDS`` names: the months it can
show (``first`` to ``last``, whole months: jQuery UI's ``minDate``/``maxDate`` on month bounds),
the month it opens on when its box holds no date (``start``: jQuery UI's today, clamped into the
range), and its geometry in pixels: its top-left corner and width, its height without the day
grid (``base_height``), and the grid (the first cell's corner, the pitch between cells, a cell's
size). Days sit in a grid of weeks starting on Sunday, one row per week the month touches.
"""

from __future__ import annotations

import jax.numpy as jnp

from curriculax.envs.webform.text import DIGIT_0, SLASH, date_chars
from curriculax.types import Array

#: The entries of ``FormLevel.calendar``, in order.
CALENDAR_FIELDS = (
    "first", "last", "start", "x", "y", "width", "base_height",
    "grid_x", "grid_y", "pitch_x", "pitch_y", "cell_width", "cell_height",
)  # fmt: skip
#: Index of each entry of ``FormLevel.calendar``.
CAL = {name: i for i, name in enumerate(CALENDAR_FIELDS)}
#: Day rows of a calendar (1 to 31), after its Prev, Next and title rows.
DAYS = 31
#: Rows of a calendar: Prev, Next, the title, then the days.
CALENDAR_ROWS = 3 + DAYS
#: Where an open menu of suggestions lies: ``FormLevel.menu``'s entries, in order.
MENU_FIELDS = ("max_height", "width", "border")


def month_index(year: int, month: int) -> int:
    """The month ``year``/``month`` (1-12) as one integer (host side)."""
    return year * 12 + month - 1


def _days_from_civil(year: Array, month: Array, day: Array) -> Array:
    """Days since 1970-01-01 of a proleptic Gregorian date (int32 [...], years >= 1)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + jnp.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def days_in_month(month: Array) -> Array:
    """int32 [...]: days of the month ``month`` (a ``month_index``)."""
    year, m = month // 12, month % 12 + 1
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    lengths = jnp.asarray([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], jnp.int32)
    return lengths[m - 1] + ((m == 2) & leap)


def first_weekday(month: Array) -> Array:
    """int32 [...]: weekday of the month's first day, 0 = Sunday."""
    return (_days_from_civil(month // 12, month % 12 + 1, jnp.ones_like(month)) + 4) % 7


def weeks(month: Array) -> Array:
    """int32 [...]: rows of the month's day grid (weeks it touches, Sunday first)."""
    return (first_weekday(month) + days_in_month(month) - 1) // 7 + 1


def rect(calendar: Array, month: Array) -> Array:
    """int32 [4]: ``x, y, width, height`` of the calendar open on ``month``."""
    c = calendar
    height = c[CAL["base_height"]] + c[CAL["pitch_y"]] * weeks(month)
    return jnp.stack([c[CAL["x"]], c[CAL["y"]], c[CAL["width"]], height])


def day_boxes(calendar: Array, month: Array, day: Array) -> Array:
    """int32 [..., 4]: the box of each day ``day`` (int32 [...], 1-31) of ``month``."""
    c = calendar
    cell = first_weekday(month) + day - 1
    x = c[CAL["grid_x"]] + c[CAL["pitch_x"]] * (cell % 7)
    y = c[CAL["grid_y"]] + c[CAL["pitch_y"]] * (cell // 7)
    size = [jnp.broadcast_to(c[CAL[name]], x.shape) for name in ("cell_width", "cell_height")]
    return jnp.stack([x, y, *size], axis=-1).astype(jnp.int32)


def date_text(month: Array, day: Array) -> Array:
    """int32 [10]: ``mm/dd/yyyy`` of day ``day`` of ``month``."""
    return date_chars(month % 12 + 1, day, month // 12)


def parse_date(chars: Array, length: Array) -> tuple[Array, Array, Array]:
    """``(ok, month, day)`` of a ``mm/dd/yyyy`` text (int32 [C], length []); ``ok`` bool []."""
    digit = chars[:10] - DIGIT_0
    shape = jnp.asarray([0, 1, 3, 4, 6, 7, 8, 9])
    ok = (length == 10) & jnp.all((digit[shape] >= 0) & (digit[shape] <= 9))
    ok = ok & (chars[2] == SLASH) & (chars[5] == SLASH)
    m = digit[0] * 10 + digit[1]
    d = digit[3] * 10 + digit[4]
    year = digit[6] * 1000 + digit[7] * 100 + digit[8] * 10 + digit[9]
    ok = ok & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    return ok, year * 12 + m - 1, d
