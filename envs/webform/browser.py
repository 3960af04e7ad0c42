"""Replay form actions in headless Chromium through WebDriver, and read back what the page holds.

The browser check (``tests/webform/test_browser.py``) exports a level with ``html.form_html``,
runs the same actions here and in the mock, and compares after every step. Actions map to
WebDriver as the engine's docstring says: ``CLICK`` is an element click (a ``<select>`` is clicked,
then Escape closes its list), ``CLEAR`` is ``clear()``, ``TYPE`` is ``send_keys(value)``; a
WebDriver error (not interactable, invalid state, no such element) leaves the page as it was. The
same ``<select>`` is never typed into twice within 1.1 s, so each ``TYPE`` starts a fresh
type-ahead session (the mock's human-paced user).

Needs the ``web`` extra (selenium) and Debian's ``chromium`` and ``chromium-driver`` packages;
no browser is downloaded.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curriculax.envs.webform.engine import (
    CALENDAR_KINDS,
    VALUE_KINDS,
    Action,
    Kind,
    row_boxes,
    shown_rows,
)
from curriculax.envs.webform.html import form_html
from curriculax.envs.webform.text import decode

CHROMIUM = os.environ.get("CURRICULAX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CURRICULAX_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Chromium's type-ahead forgets the typed prefix after 1 s without a key.
TYPEAHEAD_PAUSE = 1.1
# Flags for a closed network: no first-run, sync or background fetches.
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=800,900",
)
# Read synchronously: WebDriver returns after the action's event handlers have run.
_READ = """
const out = {values: {}, on: {}, boxes: {}, listed: {}};
  for (const el of document.querySelectorAll("[id^=e]")) {
    if (el.tagName === "OPTION") { out.on[el.id] = el.selected; continue; }
    if (el.dataset.box) {
      const page = el.closest(".page");
      out.listed[el.id] = page.style.display !== "none" && el.style.visibility === "visible";
    }
    if (el.closest("#cal")) {
      out.listed[el.id] = window.cal.month >= 0 && el.style.display !== "none";
    }
    if (el.type === "checkbox" || el.type === "radio") out.on[el.id] = el.checked;
    else if (el.tagName === "INPUT") out.values[el.id] = el.value;
    const r = el.getBoundingClientRect();
    if (r.width > 0) out.boxes[el.id] = [r.left, r.top, r.width, r.height];
  }
  const a = document.activeElement;
  out.focus = a && a.id ? a.id : "body";
  out.episode = window.episode;
  out.month = window.cal.month;
return out;
"""


def browser_available() -> str | None:
    """``None`` if Chromium, chromedriver and selenium are installed, else what is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install 'curriculax[web]')")
    return ", ".join(missing) or None


@dataclass
class PageState:
    """What the browser's page holds, in the mock's terms.

    Attributes:
        values: text of each text/password box, by row.
        on: checked/selected flag of each checkbox, radio button and option, by row.
        page: the visible page.
        ended: 0 running, 1 submitted, 2 a distractor was clicked.
        focus: the focused row, or -1 for the body.
        formdata: the submitted ``(name, value)`` pairs (after a submit).
        boxes: ``[x, y, w, h]`` of each rendered element, by row.
        listed: whether each autocomplete suggestion and calendar row is shown, by row.
        month: the month the datepicker's calendar shows (``calendar.month_index``), -1 closed.
    """

    values: dict[int, str]
    on: dict[int, bool]
    page: int
    ended: int
    focus: int
    formdata: list[tuple[str, str]] | None
    boxes: dict[int, list[float]] = field(default_factory=dict)
    listed: dict[int, bool] = field(default_factory=dict)
    month: int = -1


class Chromium:
    """One headless Chromium driven by WebDriver; a context manager.

    Attributes:
        errors: count of WebDriver refusals by exception name (coverage of the error paths).
    """

    def __init__(self, driver: Any = None) -> None:
        self._own = driver is None
        if driver is not None:  # a page someone else drives (MiniWoB++'s: ``miniwob.py``)
            self.driver = driver
            self.errors: dict[str, int] = {}
            self._typed_at: dict[int, float] = {}
            return
        missing = browser_available()
        if missing:
            raise RuntimeError(f"the browser check needs {missing}")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        options.page_load_strategy = "eager"
        for flag in _FLAGS:
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_script_timeout(10)
        self.errors: dict[str, int] = {}
        self._typed_at: dict[int, float] = {}

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._own:
            self.driver.quit()

    def element(self, row: int) -> Any:
        """The page's element of ``row`` (the exported page names it ``e<row>``)."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, f"e{row}")

    def load(self, level: Any) -> PageState:
        """Opens the exported page of ``level``; returns its state."""
        page = form_html(level)
        self.driver.get("data:text/html;base64," + base64.b64encode(page.encode()).decode())
        self._typed_at.clear()
        return self.read()

    def act(self, kind: int, row: int, slot: int, level: Any) -> bool:
        """Performs one decoded action (``engine.decode_action``) on the loaded page.

        Returns:
            ``False`` when WebDriver refused it (not interactable, click intercepted, ...).
        """
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.keys import Keys

        if kind == Action.NOOP:
            return True
        row_kind = int(np.asarray(level.kind)[row])
        if kind == Action.TYPE and not bool(np.asarray(level.slot_valid)[slot]):
            return True  # a slot beyond the instruction types nothing
        try:
            element = self.element(row)
            if kind == Action.CLICK:
                element.click()
                if row_kind == Kind.SELECT:
                    element.send_keys(Keys.ESCAPE)
            elif kind == Action.CLEAR:
                element.clear()
            else:
                text = decode(np.asarray(level.slot_value)[slot], int(level.slot_len[slot]))
                if row_kind == Kind.SELECT:
                    wait = self._typed_at.get(row, -1e9) + TYPEAHEAD_PAUSE - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                element.send_keys(text)
                if row_kind == Kind.SELECT:
                    self._typed_at[row] = time.monotonic()
        except WebDriverException as error:
            name = type(error).__name__
            self.errors[name] = self.errors.get(name, 0) + 1
            return False
        return True

    def read(self) -> PageState:
        """The page's values, flags, page, end, focus, submitted form data and boxes."""
        out = self.driver.execute_script(_READ)
        episode = out["episode"]

        def row(key: str) -> int:
            return int(key[1:])

        focus = out["focus"]
        return PageState(
            values={row(k): v for k, v in out["values"].items()},
            on={row(k): bool(v) for k, v in out["on"].items()},
            page=int(episode["page"]),
            ended=int(episode["ended"]),
            focus=row(focus) if focus.startswith("e") else -1,
            formdata=(
                [tuple(p) for p in episode["formdata"]] if episode["formdata"] is not None else None
            ),
            boxes={row(k): v for k, v in out["boxes"].items()},
            listed={row(k): bool(v) for k, v in out["listed"].items()},
            month=int(out["month"]),
        )


def mock_page_state(state: Any) -> PageState:
    """The mock's ``FormState`` (one episode) in the terms of ``PageState``."""
    level = state.level
    kind = np.asarray(level.kind)
    value, length, on = np.asarray(state.value), np.asarray(state.value_len), np.asarray(state.on)
    values = {
        int(i): decode(value[i], int(length[i])) for i in np.flatnonzero(np.isin(kind, VALUE_KINDS))
    }
    flags = {
        int(i): bool(on[i])
        for i in np.flatnonzero(np.isin(kind, [Kind.CHECKBOX, Kind.RADIO, Kind.OPTION]))
    }
    shown = np.asarray(shown_rows(state))
    overlays = np.isin(kind, [Kind.SUGGESTION, *CALENDAR_KINDS])
    listed = {int(i): bool(shown[i]) for i in np.flatnonzero(overlays)}
    calendar = np.flatnonzero(np.isin(kind, CALENDAR_KINDS) & shown)
    boxes = np.asarray(row_boxes(state))
    ended = int(state.ended)
    return PageState(
        values, flags, int(state.page), ended if ended < 3 else 0, int(state.focus), None,
        boxes={int(i): boxes[i].tolist() for i in calendar}, listed=listed,
        month=int(state.month),
    )  # fmt: skip


def formdata_reward(level: Any, formdata: list[tuple[str, str]], partial: bool) -> float:
    """MiniWoB++'s raw reward computed from the browser's submitted ``FormData`` alone."""
    lv = {k: np.asarray(v) for k, v in vars(level).items()}
    data: dict[str, list[str]] = {}
    for name, value in formdata:
        data.setdefault(name, []).append(value)
    kind, owner, goal_on = lv["kind"], lv["owner"], lv["goal_on"]
    results = []
    for i in np.flatnonzero(lv["scored"]):
        k = Kind(int(kind[i]))
        if k == Kind.AUTOCOMPLETE:  # an entry the goal accepts, or empty if uninstructed
            accepted = [decode(lv["text"][j]) for j in np.flatnonzero((owner == i) & goal_on)]
            got = data.get(f"e{i}", [""])
            results.append(got[0] in accepted if accepted else got == [""])
        elif k in VALUE_KINDS:
            want = decode(lv["goal_value"][i], int(lv["goal_len"][i]))
            results.append(data.get(f"e{i}") == [want])
        elif k == Kind.CHECKBOX:
            results.append((f"e{i}" in data) == bool(goal_on[i]))
        else:
            members = np.flatnonzero((owner == i) & goal_on)
            want = [f"e{members[0]}"] if len(members) else None
            name = f"e{i}" if k == Kind.SELECT else f"g{i}"
            got = data.get(name)
            results.append(got == want if want else got in (None, [""]))
    if partial:
        return float(np.mean([1.0 if r else -1.0 for r in results])) if results else 0.0
    return 1.0 if all(results) else -1.0
