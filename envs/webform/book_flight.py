"""MiniWoB++'s book-flight, its form part: the importer's rows and the page's widgets read back.

The page (``book-flight-nodelay``: MiniWoB++'s book-flight without jQuery UI's 300-ms search
delay and calendar animation) has From and To boxes (jQuery UI autocompletes over 732
``City, ST (CODE)`` airports), a readonly date box (a jQuery UI datepicker, October to December
2016) and Search. The instruction names each airport by its city or its code and a date; Search
does nothing while a box holds no airport or the date is empty, and otherwise lists flights:
real ones when both boxes *contain* the named city or code and the date is the named one, made-up
ones else (which can never score). The form part ends there: the bridge ends MiniWoB++'s episode
at a Search that lists flights, +1 for real ones, -1 for made-up ones (``search_outcome``).

How the page becomes a ``BookFlight-v0`` level (rows in the generator's order): From, its menu's
suggestion rows, To, its suggestion rows, the datepicker, Search; padding; the calendar's rows
last. Each box's suggestions are every airport holding the named from or to city or code, in
the page's order (its menu, for any text the instruction's values type, lists a subset of them);
the goal accepts those that contain the box's named part, case-sensitive, as Search does. A page
whose list exceeds the form's ``max_options`` cannot be imported (``LevelTooLarge``: about 2 % of
episodes at 8). Geometry: the DOM's boxes, and jQuery UI's menu and calendar as measured on the
page (menus of 17-px items under their box, 80 px at most plus a 1-px border; the calendar
107 px above the date box, days on a 17 x 13.5 px grid stored as 17 x 13: up to 2 px off in
its last weeks, which only the observation's day boxes show).
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from curriculax.envs.webform.calendar import CALENDAR_FIELDS, DAYS, MENU_FIELDS, month_index
from curriculax.envs.webform.engine import Kind

#: The MiniWoB++ page the bridge drives for ``curriculax/BookFlight-v0``.
TASK = "book-flight-nodelay"
#: Its instruction fields the form has slots for (``criterion``, cheapest or shortest, belongs to
#: the flight list, after the form part).
SLOT_FIELDS = ("from", "to", "date")
#: The page's boxes by field, and Search.
BOX_IDS = {"from": "flight-from", "to": "flight-to", "date": "datepicker"}
SEARCH_ID = "search"
#: The calendar's months: October to December 2016 (the page's minDate and maxDate).
FIRST, LAST = month_index(2016, 10), month_index(2016, 12)
#: The page's From, To and date boxes and Search (x, y, width, height in pixels, measured in
#: Chromium; the same on every episode: tests/webform/test_miniwob.py checks an imported one).
PAGE_BOXES = {
    "from": (4, 82, 126, 21), "to": (4, 107, 126, 21), "date": (12, 162, 106, 16),
    "search": (4, 185, 126, 19),
}  # fmt: skip
#: A menu item's height is ``ITEM_PAD + ITEM_LINE * lines``: the page wraps a long airport in its
#: 126-px menu (measured: one line for 14-24 characters, two for 19-39, three for 32-52).
ITEM_PAD, ITEM_LINE = 6, 11
#: jQuery UI's menu on the page (``calendar.MENU_FIELDS``).
MENU = {"max_height": 80, "width": 128, "border": 1}
#: The calendar's geometry, relative to the date box's top-left corner (measured in Chromium).
CALENDAR = {
    "x": 0, "y": -107, "width": 124, "base_height": 39, "grid_x": 3, "grid_y": -70,
    "pitch_x": 17, "pitch_y": 13, "cell_width": 15, "cell_height": 12,
}  # fmt: skip
#: Prev, Next and title boxes, relative to the calendar's corner.
HEADER = {"prev": (5, 5, 13, 13), "next": (106, 5, 13, 13), "title": (20, 4, 84, 15)}


class LevelTooLarge(ValueError):
    """The page's menus hold more airports than the form has suggestion rows."""


def start_month(today: datetime.date | None = None) -> int:
    """The month the calendar opens on without a date: today's, clamped into the range."""
    today = today or datetime.date.today()
    return int(np.clip(month_index(today.year, today.month), FIRST, LAST))


def calendar_vector(date_box: tuple[int, int, int, int], today: datetime.date | None = None):
    """``FormLevel.calendar`` (int32 [13]) for the date box at ``date_box`` (x, y, w, h)."""
    x, y = date_box[0] + CALENDAR["x"], date_box[1] + CALENDAR["y"]
    values = dict(CALENDAR, first=FIRST, last=LAST, start=start_month(today), x=x, y=y)
    values["grid_x"], values["grid_y"] = x + CALENDAR["grid_x"], date_box[1] + CALENDAR["grid_y"]
    return np.asarray([values[f] for f in CALENDAR_FIELDS], np.int32)


def menu_vector() -> np.ndarray:
    """``FormLevel.menu`` (int32 [4]) of the page's jQuery UI menus."""
    return np.asarray([MENU[f] for f in MENU_FIELDS], np.int32)


def suggestions(entries: list[str], parts: list[str]) -> list[str]:
    """Airports a menu can list for texts typed from ``parts``: those holding one, any case."""
    lowered = [p.lower() for p in parts if p]
    return [e for e in entries if any(p in e.lower() for p in lowered)]


def header_box(calendar: np.ndarray, name: str) -> tuple[int, int, int, int]:
    """The box of the calendar's ``prev``, ``next`` or ``title`` row."""
    dx, dy, w, h = HEADER[name]
    x, y = (int(calendar[CALENDAR_FIELDS.index(k)]) for k in ("x", "y"))
    return (x + dx, y + dy, w, h)


def calendar_rows() -> list[tuple[Kind, str, int, str]]:
    """``(kind, text, day number, selector)`` of the calendar's rows, in the generator's order."""
    rows = [(Kind.CAL_PREV, "prev", 0, "cal|prev"), (Kind.CAL_NEXT, "next", 0, "cal|next"),
            (Kind.CAL_TITLE, "", 0, "cal|title")]  # fmt: skip
    return rows + [(Kind.DAY, str(d), d, f"cal|day|{d}") for d in range(1, DAYS + 1)]


def is_dynamic(selector: str) -> bool:
    """Whether ``selector`` names a menu item or a calendar row (``FIND``), not a CSS selector."""
    return selector.startswith(("menu|", "cal|"))


#: Finds a dynamic row's element by its selector ``menu|<box id>|<airport>`` (a listed menu
#: item) or ``cal|prev``, ``cal|next``, ``cal|title``, ``cal|day|<d>`` (the open calendar's);
#: null while it is not shown.
FIND = """
const [kind, a, b] = arguments[0].split("|");
if (kind === "menu") {
  const ul = $("#" + a).autocomplete("widget")[0];
  if (ul.style.display === "none") return null;
  return [...ul.querySelectorAll("li")].find((li) => li.textContent === b) || null;
}
const cal = document.getElementById("ui-datepicker-div");
if (!$.datepicker._datepickerShowing || !cal || cal.style.display === "none") return null;
if (a === "day") {
  const days = cal.querySelectorAll("td[data-handler=selectDay] a");
  return [...days].find((x) => x.textContent === b) || null;
}
const classes = {prev: ".ui-datepicker-prev", next: ".ui-datepicker-next",
                 title: ".ui-datepicker-title"};
return cal.querySelector(classes[a]);
"""

#: Reads the menus' listed airports (by box id), the calendar's month index (-1: closed), whether
#: Search listed flights, and the first flight's arrival city.
READ = """
const out = {menus: {}, month: -1, results: false, arrive: null};
for (const id of arguments[0]) {
  const ul = $("#" + id).autocomplete("widget")[0];
  out.menus[id] = ul.style.display === "none" ? [] :
    [...ul.querySelectorAll("li")].map((li) => li.textContent);
}
const cal = document.getElementById("ui-datepicker-div");
if ($.datepicker._datepickerShowing && cal && cal.style.display !== "none") {
  const names = ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"];
  const [name, year] = cal.querySelector(".ui-datepicker-title").textContent.split(/\\s+/);
  out.month = Number(year) * 12 + names.indexOf(name);
}
out.results = !document.getElementById("results").classList.contains("hide");
const arrive = document.querySelector("#results .arrive-city");
out.arrive = arrive ? arrive.textContent : null;
return out;
"""

#: Heights of the menu items of the given airports, as the page's menu renders them (in pixels;
#: a long name wraps), measured in the From box's menu shown hidden, then put back.
MEASURE = """
const ul = $("#flight-from").autocomplete("widget")[0];
const saved = [ul.style.display, ul.style.visibility, ul.innerHTML];
ul.style.visibility = "hidden";
ul.style.display = "block";
ul.innerHTML = "";
for (const text of arguments[0]) {
  const li = document.createElement("li"), div = document.createElement("div");
  li.className = "ui-menu-item";
  div.className = "ui-menu-item-wrapper";
  div.textContent = text;
  li.appendChild(div);
  ul.appendChild(li);
}
const heights = [...ul.children].map((li) => li.getBoundingClientRect().height);
[ul.style.display, ul.style.visibility, ul.innerHTML] = saved;
return heights;
"""

#: Closes any menu and the calendar left open by the page's previous episode.
TIDY = """
$("#flight-from, #flight-to").autocomplete("close");
if ($.datepicker._datepickerShowing) $.datepicker._hideDatepicker();
"""


def search_outcome(fields: dict[str, str], page: dict[str, Any]) -> float | None:
    """+1 if Search listed the real flights, -1 if made-up ones, ``None`` if none are listed.

    The real flights arrive at the instruction's ``to`` exactly as named (the page generates them
    with it); made-up ones at the whole airport in the To box, which always differs (it ends in
    ``(CODE)``).
    """
    if not page["results"]:
        return None
    return 1.0 if page["arrive"] == fields["to"] else -1.0
