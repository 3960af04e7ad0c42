"""MiniWoB++'s own task pages as curriculax forms: an importer and a bridge env.

``from_miniwob`` turns a reset MiniWoB++ episode (the ``miniwob`` package's utterance fields and
DOM, read from its page in Chromium) into the ``FormLevel`` of the curriculax id that mirrors the
task, so the same episode can be stepped in the mock and on the real page. ``MiniWoBBridge`` is
that real page as a gymnasium env with exactly the observation and action spaces of the mirrored
id (``curriculax/MiniWoB-<Task>-v0``): the slow reference, one browser per env, not a training
env.

How a page becomes a level (rows in the order the mock's generator puts them):

* a text or password box is a ``TEXT``/``PASSWORD`` row whose text is its ``<label>``;
* a radio or checkbox group is a ``HEADING`` row (the group: MiniWoB++'s ``#boxes`` area, which
  has no caption) followed by one row per button, whose text is its label;
* a ``<select>`` is a ``SELECT`` row followed by one ``OPTION`` row per option (options are not in
  MiniWoB++'s DOM list; their texts are read from the page); its first option starts selected,
  as on the page;
* the submit button is the ``SUBMIT`` row.

A row's ``word`` (what an instruction slot's field names) is ``string_word`` of its label, or of
MiniWoB++'s field key (``target``) for an element the page leaves without a caption; the
instruction slots are MiniWoB++'s fields, one per box that takes a value (enter-password's one
password names both boxes; click-checkboxes' ``target i`` fields name the group; its
``button`` field is dropped: the mock has no slot for a button).

Actions reach the page as WebDriver actions on MiniWoB++'s elements, exactly as the browser check
plays the mock's own pages (``browser.Chromium``): MiniWoB++'s element actions cannot clear a box,
and its typing starts with a JavaScript click that toggles a checkbox. One addition: a click on a
text box is followed by End, because the mock's click leaves the caret after the text and a click
at the centre of MiniWoB++'s narrow boxes can land inside it (``MiniWoBPage.act``). Reward and
success are MiniWoB++'s (``raw_reward`` in ``info``; ``reward`` is its time-scaled reward). The
mock's step budget (``max_steps``) ends a bridge episode the way MiniWoB++'s 10 s timer would (raw
reward -1), so both stop at the same step; MiniWoB++'s own timer still runs. MiniWoB++ reuses its
page between episodes, so an episode would start with the previous one's focus (its first starts
on the body); the bridge blurs it at every reset, so every episode starts as the first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium
import numpy as np

from curriculax.envs.webform import book_flight
from curriculax.envs.webform.browser import CHROMEDRIVER, CHROMIUM, Chromium
from curriculax.envs.webform.calendar import CALENDAR_FIELDS, MENU_FIELDS
from curriculax.envs.webform.engine import BODY, TEXT_KINDS, Action, FormLevel, Kind
from curriculax.envs.webform.text import MAX_VOCAB, encode

#: The curriculax ids whose task MiniWoB++ has, and that task's name there.
MIRRORED = {
    "curriculax/EnterText-v0": "enter-text",
    "curriculax/EnterPassword-v0": "enter-password",
    "curriculax/LoginUser-v0": "login-user",
    "curriculax/ClickOption-v0": "click-option",
    "curriculax/ClickCheckboxes-v0": "click-checkboxes",
    "curriculax/ChooseList-v0": "choose-list",
    "curriculax/BookFlight-v0": book_flight.TASK,
}
#: Static options of the mirrored form for the import: choose-list's countries run to 33
#: characters, book-flight's airports to 52 (text widths: spaces and actions are unchanged).
FORM_OPTIONS = {
    "curriculax/ChooseList-v0": {"max_chars": 40},
    "curriculax/BookFlight-v0": {"max_chars": 64},
}
#: The bridge ids (gymnasium, ``curriculax/registrations.py``): ``curriculax/MiniWoB-<Task>-v0``
#: for each mirrored ``curriculax/<Task>-v0``.
BRIDGE_IDS = {env_id.replace("curriculax/", "curriculax/MiniWoB-"): env_id for env_id in MIRRORED}
# The field key MiniWoB++ gives a task's one value; it names the element the page leaves
# without a caption.
_TARGET = "target"


#: A book-flight page whose menus exceed the form is redrawn: seed ``s`` tries
#: ``s + REDRAW_SEED_STEP * k`` next, at most ``MAX_REDRAWS`` times.
REDRAW_SEED_STEP, MAX_REDRAWS = 1_000_003, 20


class MiniWoBUnavailable(ImportError):
    """The bridge cannot run here (no ``miniwob`` package, Chromium or chromedriver)."""


def miniwob_available() -> str | None:
    """``None`` if the bridge can run here, else what is missing and how to get it."""
    missing = []
    try:
        import miniwob  # noqa: F401
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the miniwob package (pip install 'curriculax[miniwob]')")
    tools = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if tools:
        missing.append(f"{' and '.join(tools)} (apt-get install chromium chromium-driver)")
    return "; ".join(missing) or None


def string_word(text: str) -> int:
    """The word id of a label or field key: a hash of its lower-cased text in ``[1, MAX_VOCAB]``.

    Lower-cased, so MiniWoB++'s field ``username`` names the box labelled ``Username``.
    """
    return zlib.crc32(text.strip().lower().encode()) % MAX_VOCAB + 1


@dataclass
class _Row:
    kind: Kind
    text: str = ""
    word: int = 0
    owner: int = -1
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    on: bool = False
    goal: str = ""
    goal_on: bool = False
    selector: str = ""  # the element's CSS selector on the page ("": none), or a dynamic one
    option: int = -1  # an option's index in its select
    number: int = 0  # a calendar day row's day


@dataclass
class Imported:
    """A MiniWoB++ episode as a level, and where each row is on the page.

    Attributes:
        level: the ``FormLevel`` (numpy arrays) for the mirrored id's sizes.
        selectors: each row's element as a CSS selector (by MiniWoB++'s ``data-wob_ref``; an
            option: its select's; "" for padding).
        options: each option row's index in its select (-1 for other rows).
        fields: MiniWoB++'s instruction fields.
    """

    level: FormLevel
    selectors: list[str]
    options: np.ndarray
    fields: list[tuple[str, str]] = field(default_factory=list)


def _box(element: dict[str, Any]) -> tuple[int, int, int, int]:
    return tuple(
        round(float(np.asarray(element[k]).reshape(-1)[0]))
        for k in ("left", "top", "width", "height")
    )


def _ref(element: dict[str, Any]) -> str:
    return f'[data-wob_ref="{int(element["ref"])}"]'


def _caption(elements: list[dict[str, Any]], parent: int) -> str:
    """The text of the text pseudo-elements (``t``) under element ``parent``, joined."""
    return " ".join(str(e["text"]) for e in elements if e["parent"] == parent and e["tag"] == "t")


def _rows(
    task: str,
    fields: list[tuple[str, str]],
    elements: list[dict[str, Any]],
    options: list[str],
    query_box: tuple[int, int, int, int],
) -> tuple[list[_Row], list[tuple[int, str]]]:
    """The rows of one page and its instruction slots ``[(field word, value)]``.

    A radio or checkbox group's ``HEADING`` row is the page's instruction (``#query``): like a
    heading, text that a click only blurs (the ``#boxes`` area holding the group would pass a
    click at its centre on to a label).
    """
    labels = {int(e["parent"]): str(e["text"]) for e in elements if e["tag"] == "label"}
    rows: list[_Row] = []
    slots: list[tuple[int, str]] = []
    values = dict(fields)
    if task in ("enter-text", "login-user", "enter-password"):
        for e in elements:
            if e["tag"] not in ("input_text", "input_password"):
                continue
            label = labels.get(int(e["parent"]), "")
            key = label.lower() if label.lower() in values else _TARGET
            word = string_word(label or _TARGET)
            kind = Kind.TEXT if e["tag"] == "input_text" else Kind.PASSWORD
            rows.append(_Row(kind, label, word, box=_box(e), goal=values[key], selector=_ref(e)))
            slots.append((word, values[key]))
    elif task in ("click-option", "click-checkboxes"):
        tag = "input_radio" if task == "click-option" else "input_checkbox"
        targets = [v for k, v in fields if k.startswith(_TARGET)]
        word = string_word(_TARGET)
        rows.append(_Row(Kind.HEADING, "", word, box=query_box, selector="#query"))
        for e in elements:
            if e["tag"] == tag:
                text = _caption(elements, int(e["parent"]))
                kind = Kind.RADIO if task == "click-option" else Kind.CHECKBOX
                rows.append(_Row(kind, text, string_word(text), 0, _box(e), goal_on=text in targets,
                                 selector=_ref(e)))  # fmt: skip
        slots += [(word, t) for t in targets]
    elif task == "choose-list":
        select = next(e for e in elements if e["tag"] == "select")
        word = string_word(_TARGET)
        box = _box(select)
        rows.append(_Row(Kind.SELECT, "", word, box=box, selector=_ref(select)))
        target = values[_TARGET]
        for j, text in enumerate(options):
            rows.append(_Row(Kind.OPTION, text, string_word(text), 0, box, on=j == 0,
                             goal_on=text == target, selector=_ref(select), option=j))  # fmt: skip
        # Duplicated options (MiniWoB++'s country list has "Congo" twice): the page checks the
        # text, so the first one with the target's text is the goal; the mock scores flags.
        goals = [i for i, r in enumerate(rows) if r.goal_on]
        for i in goals[1:]:
            rows[i].goal_on = False
        slots.append((word, target))
    else:
        raise ValueError(f"no importer for MiniWoB++ task {task!r}")
    submit = [e for e in elements if e["tag"] == "button"]
    if len(submit) != 1:
        raise ValueError(f"{task}: expected one button, found {len(submit)}")
    rows.append(_Row(Kind.SUBMIT, str(submit[0]["text"]), 0, box=_box(submit[0]),
                     selector=_ref(submit[0])))  # fmt: skip
    return rows, slots


def _chars(text: str, width: int, what: str) -> np.ndarray:
    codes = encode(text)
    if len(codes) > width:
        raise ValueError(f"{what} {text!r} is longer than the form's {width} characters")
    return np.asarray(codes + [0] * (width - len(codes)), np.int32)


def _scored(rows: list[_Row]) -> np.ndarray:
    """Bool [N]: rows Submit scores, marked as the generator marks them.

    Boxes, checkboxes, selects, and the heading of a radio group (a radio's owner).
    """
    radio_groups = {r.owner for r in rows if r.kind == Kind.RADIO}
    kinds = (Kind.TEXT, Kind.PASSWORD, Kind.CHECKBOX, Kind.SELECT, Kind.AUTOCOMPLETE,
             Kind.DATEPICKER)  # fmt: skip
    return np.asarray(
        [
            r.kind in kinds or (r.kind == Kind.HEADING and i in radio_groups)
            for i, r in enumerate(rows)
        ],
        bool,
    )


def build_level(
    rows: list[_Row],
    slots: list[tuple[int, str]],
    n: int,
    k: int,
    c: int,
    tail: list[_Row] = (),
    calendar: np.ndarray | None = None,
    menu: np.ndarray | None = None,
):
    """A ``FormLevel`` (numpy) of ``n`` rows, ``k`` slots, ``c`` characters from imported rows.

    ``tail`` rows (a calendar's) come last, after the padding; ``calendar`` and ``menu`` are the
    level's vectors (zeros: none).
    """
    tail = list(tail)
    if len(rows) + len(tail) > n or len(slots) > k:
        raise ValueError(f"the page has {len(rows) + len(tail)} rows and {len(slots)} values; "
                         f"the form holds {n} and {k}")  # fmt: skip
    pad = [_Row(Kind.PAD)] * (n - len(rows) - len(tail))
    rows = rows + pad + tail
    level = FormLevel(
        kind=np.asarray([r.kind for r in rows], np.int32),
        text=np.stack([_chars(r.text, c, "the text") for r in rows]),
        word=np.asarray([r.word for r in rows], np.int32),
        owner=np.asarray([r.owner for r in rows], np.int32),
        page=np.zeros(n, np.int32),
        box=np.asarray([r.box for r in rows], np.int32),
        value=np.zeros((n, c), np.int32),
        value_len=np.zeros(n, np.int32),
        on=np.asarray([r.on for r in rows], bool),
        goal_value=np.stack([_chars(r.goal, c, "the value") for r in rows]),
        goal_len=np.asarray([len(r.goal) for r in rows], np.int32),
        goal_on=np.asarray([r.goal_on for r in rows], bool),
        scored=_scored(rows),
        field_word=np.asarray([w for w, _ in slots] + [0] * (k - len(slots)), np.int32),
        slot_value=np.stack(
            [_chars(v, c, "the value") for _, v in slots]
            + [np.zeros(c, np.int32)] * (k - len(slots))
        ),
        slot_len=np.asarray([len(v) for _, v in slots] + [0] * (k - len(slots)), np.int32),
        slot_valid=np.arange(k) < len(slots),
        num_pages=np.int32(1),
        number=np.asarray([r.number for r in rows], np.int32),
        calendar=np.zeros(len(CALENDAR_FIELDS), np.int32) if calendar is None else calendar,
        menu=np.zeros(len(MENU_FIELDS), np.int32) if menu is None else menu,
    )
    selectors = [r.selector for r in rows]
    options = np.asarray([r.option for r in rows], np.int32)
    return level, selectors, options


def _book_flight_rows(
    fields: list[tuple[str, str]],
    elements: list[dict[str, Any]],
    entries: list[str],
    form: Any,
    driver: Any,
) -> tuple[list[_Row], list[tuple[int, str]], list[_Row], np.ndarray]:
    """book-flight's rows, slots, calendar rows and calendar vector (``book_flight``'s layout).

    Raises:
        book_flight.LevelTooLarge: more airports hold the named parts than a menu has rows.
    """
    values = dict(fields)
    boxes = {str(e["id"]): _box(e) for e in elements if e.get("id")}
    listed = book_flight.suggestions(entries, [values["from"], values["to"]])
    if len(listed) > form.max_options:
        raise book_flight.LevelTooLarge(
            f"{len(listed)} airports hold {values['from']!r} or {values['to']!r}; the form's "
            f"menus hold {form.max_options}"
        )
    heights = [round(h) for h in driver.execute_script(book_flight.MEASURE, listed)]
    rows: list[_Row] = []
    for name in ("from", "to"):
        ident = book_flight.BOX_IDS[name]
        x, y, w, h = boxes[ident]
        owner = len(rows)
        rows.append(_Row(Kind.AUTOCOMPLETE, "", string_word(name), box=(x, y, w, h),
                         goal=values[name], selector=f"#{ident}"))  # fmt: skip
        for j, entry in enumerate(listed):  # as the menu stacks them (long ones wrap)
            box = (x + 1, y + h + 1 + sum(heights[:j]), w, heights[j])
            rows.append(_Row(Kind.SUGGESTION, entry, string_word(entry), owner, box,
                             goal_on=values[name] in entry,
                             selector=f"menu|{ident}|{entry}"))  # fmt: skip
    date_id = book_flight.BOX_IDS["date"]
    rows.append(_Row(Kind.DATEPICKER, "", string_word("date"), box=boxes[date_id],
                     goal=values["date"], selector=f"#{date_id}"))  # fmt: skip
    rows.append(_Row(Kind.SUBMIT, "Search", 0, box=boxes[book_flight.SEARCH_ID],
                     selector=f"#{book_flight.SEARCH_ID}"))  # fmt: skip
    slots = [(string_word(name), values[name]) for name in book_flight.SLOT_FIELDS]
    calendar = book_flight.calendar_vector(boxes[date_id])
    tail = []
    for kind, text, day, selector in book_flight.calendar_rows():
        name = {Kind.CAL_PREV: "prev", Kind.CAL_NEXT: "next", Kind.CAL_TITLE: "title"}.get(kind)
        box = book_flight.header_box(calendar, name) if name else (0, 0, 0, 0)
        tail.append(_Row(kind, text, box=box, selector=selector, number=day))
    return rows, slots, tail, calendar


_OPTIONS = "return Array.from(document.querySelector('select').options, o => o.textContent);"
_QUERY_BOX = (
    "const r = document.getElementById('query').getBoundingClientRect();"
    "return [r.left, r.top, r.width, r.height];"
)


def from_miniwob(env: Any, obs: dict[str, Any], form: Any) -> Imported:
    """The level of a reset MiniWoB++ episode, for the curriculax form that mirrors its task.

    Args:
        env: the ``miniwob`` env (or a wrapper) the episode runs in, reset.
        obs: the observation its ``reset`` returned (``fields``, ``dom_elements``).
        form: the mirrored ``Form`` (its sizes: rows, slots, characters).

    Raises:
        ValueError: a task no curriculax id mirrors, or a page that does not fit the form.
    """
    miniwob_env = getattr(env, "unwrapped", env)
    task = miniwob_env.subdomain
    if task not in MIRRORED.values():
        raise ValueError(f"no curriculax id mirrors MiniWoB++'s {task!r}; mirrored: "
                         f"{sorted(MIRRORED.values())}")  # fmt: skip
    elements = list(obs["dom_elements"])
    driver = miniwob_env.instance.driver
    fields = [(str(a), str(b)) for a, b in obs["fields"]]
    if task == book_flight.TASK:
        entries = driver.execute_script("return DOMESTIC_FLIGHTS;")
        rows, slots, tail, calendar = _book_flight_rows(fields, elements, entries, form, driver)
        level, selectors, opts = build_level(
            rows, slots, form.rows, form.slots, form.max_chars, tail, calendar,
            book_flight.menu_vector(),
        )  # fmt: skip
        return Imported(level, selectors, opts, fields)
    options = driver.execute_script(_OPTIONS) if task == "choose-list" else []
    query_box = tuple(round(x) for x in driver.execute_script(_QUERY_BOX))
    rows, slots = _rows(task, fields, elements, options, query_box)
    level, selectors, opts = build_level(rows, slots, form.rows, form.slots, form.max_chars)
    return Imported(level, selectors, opts, fields)


# Reads each row's element (by CSS selector; an option by its index in its select): text, flags,
# the focus and MiniWoB++'s episode end.
_READ = """
const rows = arguments[0];
const out = {values: {}, on: {}, focus: -1};
const a = document.activeElement;
for (const [row, selector, option] of rows) {
  const el = document.querySelector(selector);
  if (!el) continue;
  if (el === a && option < 0) out.focus = row;
  if (option >= 0) { out.on[row] = el.selectedIndex === option; continue; }
  if (el.type === "checkbox" || el.type === "radio") out.on[row] = el.checked;
  else if (el.tagName === "INPUT") out.values[row] = el.value;
}
out.done = WOB_DONE_GLOBAL;
out.raw = WOB_RAW_REWARD_GLOBAL;
out.reward = WOB_REWARD_GLOBAL;
out.reason = WOB_REWARD_REASON;
return out;
"""


_INTO_VIEW = "arguments[0].scrollIntoView({block: 'nearest'});"
_CARET_TO_END = "const e = arguments[0]; e.setSelectionRange(e.value.length, e.value.length);"
# Lets the page's zero-delay timers run (jQuery UI's search, the calendar's placement): two
# turns of the event loop.
_SETTLE = "const done = arguments[0]; setTimeout(() => setTimeout(done, 0), 0);"


class MiniWoBPage(Chromium):
    """MiniWoB++'s page, played as the browser check plays the mock's (``Chromium.act``).

    Args:
        driver: the ``miniwob`` env's WebDriver.
        selectors: a CSS selector per row (empty for padding).
        options: each option row's index in its select (-1 for other rows).
    """

    def __init__(self, driver: Any, selectors: list[str], options: np.ndarray) -> None:
        super().__init__(driver)
        self.selectors, self.options = selectors, options

    def element(self, row: int) -> Any:
        """The element of ``row`` (an option: its select's ``options[j]``)."""
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By

        selector = self.selectors[row]
        if not selector:
            raise NoSuchElementException(f"row {row} is padding")
        if book_flight.is_dynamic(selector):  # a menu item or a calendar row, while shown
            element = self.driver.execute_script(book_flight.FIND, selector)
            if element is None:
                raise NoSuchElementException(f"row {row} ({selector}) is not shown")
            return element
        element = self.driver.find_element(By.CSS_SELECTOR, selector)
        if self.options[row] >= 0:
            element = self.driver.execute_script(
                "return arguments[0].options[arguments[1]];", element, int(self.options[row])
            )
        return element

    def act(self, kind: int, row: int, slot: int, level: Any) -> bool:
        """``Chromium.act``; a click that reached a text box then moves its caret to the end.

        The mock's click leaves the caret after the box's text; MiniWoB++'s 128-px boxes put a
        centre click inside a longer text, so the bridge moves the caret to the end as the mock's
        action means (found by the 100-episode sweep: typing after such a click inserted
        mid-text), by script: an End key would be a keydown, on which jQuery UI's autocomplete
        searches again (it re-searches an unchanged text whose menu is closed). Not after a
        click WebDriver refused (intercepted by a menu or the calendar). On book-flight the
        page's own timers (jQuery UI's search, the calendar's placement) then run before the
        page is read.
        """
        from selenium.common.exceptions import WebDriverException

        if kind == Action.CLICK and self.selectors[row].startswith("menu|"):
            self._hover_menu_item(row)
        landed = super().act(kind, row, slot, level)
        if landed and kind == Action.CLICK and int(np.asarray(level.kind)[row]) in TEXT_KINDS:
            with contextlib.suppress(WebDriverException):
                self.driver.execute_script(_CARET_TO_END, self.element(row))
        if any(book_flight.is_dynamic(s) for s in self.selectors):
            self._park_pointer()
            self.driver.execute_async_script(_SETTLE)
        return landed

    def _hover_menu_item(self, row: int) -> None:
        """Scrolls a menu item into view and rests the pointer on it before it is clicked.

        jQuery UI highlights the item under the pointer, which can shift the menu's layout by a
        pixel or scroll it; a click aimed at the item's old centre then lands on its neighbour
        and selects that (found by the parity sweep). Hovered first, the item is clicked where
        it then is.
        """
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.action_chains import ActionChains

        with contextlib.suppress(WebDriverException):
            item = self.element(row)
            self.driver.execute_script(_INTO_VIEW, item)
            ActionChains(self.driver).move_to_element(item).perform()
            self.driver.execute_async_script(_SETTLE)

    def _park_pointer(self) -> None:
        """Moves the mouse to the page's top-left corner (over the instruction).

        jQuery UI's autocomplete ignores the first mouse focus of a menu that opened under a
        resting pointer and replays it on the next mouse move: a menu opening where the last
        click left the pointer would then select the item under that old spot instead of the
        one clicked (found by the parity sweep). A pointer parked off the form never rests on a
        menu.
        """
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(1, 1)
        actions.perform()

    def read_page(self) -> dict[str, Any]:
        """Values, flags and focus by row, and MiniWoB++'s ``done`` and rewards.

        On book-flight also ``listed`` (suggestion rows in an open menu), ``month`` (the month
        the calendar shows, -1 closed) and ``book_flight`` (its raw ``READ``).
        """
        rows = [
            [i, s, int(self.options[i])]
            for i, s in enumerate(self.selectors)
            if s and not book_flight.is_dynamic(s)
        ]
        out = self.driver.execute_script(_READ, rows)
        out["values"] = {int(k): v for k, v in out["values"].items()}
        out["on"] = {int(k): bool(v) for k, v in out["on"].items()}
        out["listed"], out["month"] = [], -1
        menus = {s.split("|")[1] for s in self.selectors if s.startswith("menu|")}
        if menus or any(s.startswith("cal|") for s in self.selectors):
            page = self.driver.execute_script(book_flight.READ, sorted(menus))
            shown = {(box, text) for box, texts in page["menus"].items() for text in texts}
            out["listed"] = [
                i
                for i, s in enumerate(self.selectors)
                if s.startswith("menu|") and tuple(s.split("|", 2)[1:]) in shown
            ]
            out["month"], out["book_flight"] = int(page["month"]), page
        return out


def _page_env(task: str) -> Any:
    """MiniWoB++'s env for ``task``, without screenshots, on Debian's Chromium."""
    missing = miniwob_available()
    if missing:
        raise MiniWoBUnavailable(f"the MiniWoB++ bridge needs {missing}")
    os.environ.setdefault("MINIWOB_CHROME_BINARY", CHROMIUM)
    os.environ.setdefault("MINIWOB_CHROMEDRIVER", CHROMEDRIVER)
    from miniwob.environment import MiniWoBEnvironment

    env = MiniWoBEnvironment(subdomain=task)
    env.instance.record_screenshots = False
    return env


class MiniWoBBridge(gymnasium.Env):
    """MiniWoB++'s own page for a mirrored task, with the mirrored id's spaces (gymnasium API).

    Registered as ``curriculax/MiniWoB-<Task>-v0``. Each ``reset`` starts a MiniWoB++ episode
    (``seed`` seeds the page's generator) and imports it (``from_miniwob``); each ``step``
    plays the mock's action on the page (``MiniWoBPage``) and observes the page through the
    mock's ``observe``, so a policy trained on ``curriculax/<Task>-v0`` runs here unchanged.

    Args:
        env_id: the mirrored id, e.g. ``curriculax/LoginUser-v0``.

    Attributes:
        imported: the episode's ``Imported`` level (after ``reset``).
        state: the episode's ``FormState`` as read from the page (after ``reset``).

    Raises:
        ValueError: an id the bridge does not mirror.
        MiniWoBUnavailable: no ``miniwob`` package, Chromium or chromedriver.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, env_id: str) -> None:
        import curriculax

        if env_id not in MIRRORED:
            raise ValueError(f"the MiniWoB++ bridge mirrors {sorted(MIRRORED)}; got {env_id!r}")
        self.env_id, self.task = env_id, MIRRORED[env_id]
        self.form, self.params = curriculax.make(env_id, **FORM_OPTIONS.get(env_id, {}))
        self.observation_space = self.form.observation_space(self.params).to_gymnasium()
        self.action_space = self.form.action_space(self.params).to_gymnasium()
        self.max_steps = int(self.params.max_steps)
        self._programs()
        self._env = _page_env(self.task)
        self.imported: Imported | None = None
        self.state: Any = None
        self._page: MiniWoBPage | None = None
        self._steps = 0

    def _programs(self) -> None:
        import jax

        from curriculax.envs.webform import engine

        form, params = self.form, self.params

        def start(level):
            return form.init_state(jax.random.key(0), level, params)

        def observe(state, value, value_len, on, focus, ended, raw, listed, month):
            level = state.level
            state = state.replace(
                value=value,
                value_len=value_len,
                on=on,
                focus=focus,
                ended=ended,
                raw_reward=raw,
                value_is=engine.value_matches(level, value),
                listed=listed,
                text_ok=engine.goal_text_matches(level, value, value_len),
                month=month,
            )
            return state, form.observe(state, params)

        self._start, self._observe = jax.jit(start), jax.jit(observe)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts a MiniWoB++ episode; returns the mock's observation of it."""
        super().reset(seed=seed)
        redrawn = 0
        while True:
            page_seed = None if seed is None else seed + REDRAW_SEED_STEP * redrawn
            obs, _ = self._env.reset(seed=page_seed)
            try:
                self.imported = from_miniwob(self._env, obs, self.form)
                break
            except book_flight.LevelTooLarge:
                redrawn += 1
                if redrawn > MAX_REDRAWS:
                    raise
        driver = self._env.instance.driver
        # MiniWoB++ reuses the page: a later episode starts with the previous one's focus (its
        # first starts on the body), menus and calendar; close and blur them so every episode
        # starts alike.
        if self.task == book_flight.TASK:
            driver.execute_script(book_flight.TIDY)
        driver.execute_script("document.activeElement.blur();")
        level = self.imported.level
        self._page = MiniWoBPage(
            self._env.instance.driver, self.imported.selectors, self.imported.options
        )
        self.state = self._start(level)
        self._steps = 0
        observation, _ = self._read(0, 0.0)
        info = {"utterance": obs["utterance"], "fields": self.imported.fields, "redrawn": redrawn}
        return observation, info

    def _read(self, ended: int, raw: float) -> tuple[np.ndarray, dict[str, Any]]:
        """The page's state as a ``FormState`` (kept in ``state``), and its observation."""
        out = self._page.read_page()
        lv = self.imported.level
        n, c = lv.value.shape
        value, value_len = np.zeros((n, c), np.int32), np.zeros(n, np.int32)
        for row, text in out["values"].items():
            codes = encode(text)[:c]
            value[row, : len(codes)], value_len[row] = codes, len(codes)
        on = np.asarray(lv.on).copy()
        for row, flag in out["on"].items():
            on[row] = flag
        focus = int(out["focus"]) if out["focus"] >= 0 else BODY
        listed = np.zeros(n, bool)
        listed[out["listed"]] = True
        self.state, observation = self._observe(
            self.state, value, value_len, on, np.int32(focus), np.int32(ended), np.float32(raw),
            listed, np.int32(out["month"]),
        )  # fmt: skip
        return np.asarray(observation), out

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Plays the mock's action on the page; MiniWoB++'s reward at the end."""
        from curriculax.envs.webform.engine import decode_action

        if self._page is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(np.int64(action)):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        kind, row, slot = (
            int(x) for x in decode_action(int(action), self.form.rows, self.form.slots)
        )
        self._page.act(kind, row, slot, self.imported.level)
        self._steps += 1
        if self.task == book_flight.TASK:  # the form part ends at a Search that lists flights
            outcome = book_flight.search_outcome(
                dict(self.imported.fields), self._page.read_page()["book_flight"]
            )
            if outcome is not None:
                self._page.driver.execute_script(
                    "if (!WOB_DONE_GLOBAL) core.endEpisode(arguments[0], arguments[0] > 0, "
                    "'search');",
                    outcome,
                )
        meta = self._page.driver.execute_script(
            "return [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_GLOBAL, WOB_REWARD_REASON];"
        )
        done, raw, reward, reason = bool(meta[0]), float(meta[1]), float(meta[2]), meta[3]
        pressed = (
            row < len(self.imported.selectors) and int(self.imported.level.kind[row]) == Kind.SUBMIT
        )
        ended = (1 if pressed and reason != "timed out" else 3) if done else 0
        if not done and self._steps >= self.max_steps:
            # The mock's step budget: end as MiniWoB++'s timer does.
            self._page.driver.execute_script("core.endEpisode(-1, false, 'step budget');")
            done, raw, reward, ended = True, -1.0, -1.0, 3
        observation, _ = self._read(ended, raw if done else 0.0)
        info = {"raw_reward": raw if done else 0.0, "success": done and ended == 1 and raw > 0}
        return observation, reward if done else 0.0, done, False, info

    def close(self) -> None:
        """Closes the browser."""
        self._env.close()
