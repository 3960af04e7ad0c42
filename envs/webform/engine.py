"""The element-table form engine: what each action does to each kind of element, as Chromium does.

A form is a fixed-size table of ``N`` rows in page order (``FormLevel``); the episode state adds
what the user changed: typed text, checked/selected flags, the visible page and the focus. An
action names its target row, in the style of MiniWoB++'s element actions and QWeb:

* ``NOOP``;
* ``CLICK(i)``: a mouse click on row ``i`` (WebDriver's element click). Text boxes take the focus
  (the caret lands after the text: a box is wider than twice its longest text); a checkbox
  toggles; a radio button is checked and its group's others cleared; an ``<option>`` is selected
  (WebDriver selects it without opening the list); a ``<select>`` takes the focus and its list is
  closed again (Escape), choosing nothing; a heading moves the focus to the page body; Next shows
  the next page (the focus goes to the body: the focused button is hidden); Submit ends the
  episode and scores the form; a distractor button ends it with -1.
* ``CLEAR(i)``: empties a text or password box that holds text (the focus goes to the body; an
  empty box is left alone, focus included); on anything else WebDriver refuses (invalid element
  state) and nothing changes.
* ``TYPE(i, k)``: types the value of instruction slot ``k`` into row ``i`` as key presses
  (WebDriver's send keys, which focuses the row first). Text boxes append up to their
  ``maxlength``; a space in the value toggles a focused checkbox, checks a radio button and
  presses a button (letters do nothing there); a ``<select>`` runs Chromium's type-ahead (the
  first letter searches from the option after the selected one, later letters extend the prefix
  and search from the selected one, wrapping; no match changes nothing). Each ``TYPE`` starts a
  new type-ahead session (a user who pauses a second between actions). Typing into a heading or
  an option is refused (not interactable) and the focus goes to the body.

Date fields are text boxes for ``mm/dd/yyyy`` (MiniWoB++'s book-flight date field: a jQuery UI
datepicker on a text input; the calendar popup is not modelled). An autocomplete field is a text
box with a menu of suggestion rows, as jQuery UI's autocomplete (MiniWoB++'s book-flight airports)
runs it: menus start closed; a ``TYPE`` that changes the box's text searches, and the menu then
lists every suggestion containing the text anywhere, ignoring case (none: it stays closed); a
menu closes when its box loses the focus (a click or key elsewhere, ``CLEAR``); a click on the
box itself opens nothing. ``CLICK`` on a listed suggestion puts its text in the box, closes the
menu and leaves the focus in the box. Unlisted suggestions are like rows of another page.

Rows on another page than the visible one, and padding rows, cannot be interacted with: every
action on them does nothing (WebDriver: element not interactable). Slots beyond the instruction
type nothing. ``action_mask`` marks the actions that can have an effect.
"""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.envs.webform import calendar
from curriculax.envs.webform.text import FOLD
from curriculax.types import Array, EnvState


class Kind(enum.IntEnum):
    """Element kinds of a row."""

    PAD = 0
    HEADING = 1
    TEXT = 2
    PASSWORD = 3
    CHECKBOX = 4
    RADIO = 5
    SELECT = 6
    OPTION = 7
    NEXT = 8
    SUBMIT = 9
    DISTRACTOR = 10
    DATE = 11
    AUTOCOMPLETE = 12
    SUGGESTION = 13
    DATEPICKER = 14
    CAL_PREV = 15
    CAL_NEXT = 16
    CAL_TITLE = 17
    DAY = 18


#: Text boxes: typing appends, ``CLEAR`` empties, Submit compares their text with the goal.
TEXT_KINDS = (Kind.TEXT, Kind.PASSWORD, Kind.DATE, Kind.AUTOCOMPLETE)
#: Rows holding a text Submit compares with the goal: text boxes and the (readonly) datepicker.
VALUE_KINDS = (*TEXT_KINDS, Kind.DATEPICKER)
#: Rows of the datepicker's calendar.
CALENDAR_KINDS = (Kind.CAL_PREV, Kind.CAL_NEXT, Kind.CAL_TITLE, Kind.DAY)
#: Rows that take no keys and no focus: typing into them is refused.
NOT_TYPEABLE = (Kind.PAD, Kind.HEADING, Kind.OPTION, Kind.SUGGESTION, *CALENDAR_KINDS)
BUTTON_KINDS = (Kind.NEXT, Kind.SUBMIT, Kind.DISTRACTOR)
#: The body has the focus.
BODY = -1


@struct.dataclass
class FormLevel:
    """One form: ``N`` rows in page order, ``C`` characters per text, ``K`` instruction slots.

    Attributes:
        kind: int32 [N], a ``Kind`` per row.
        text: int32 [N, C], the row's visible text (field label, option or box label, heading,
            button caption) as character codes (``text.py``).
        word: int32 [N], the first word id of ``text`` (0 for buttons and padding).
        owner: int32 [N], for options the row of their ``<select>``, for checkboxes and radio
            buttons the row of their group's heading; -1 otherwise.
        page: int32 [N], the page the row is on.
        box: int32 [N, 4], ``x, y, width, height`` in pixels on the page (options: their select's).
        value: int32 [N, C], text already in a box at the start (characters).
        value_len: int32 [N].
        on: bool [N], checked (checkbox, radio) or selected (option) at the start.
        goal_value, goal_len, goal_on: the state each row must be in at Submit (untouched rows:
            their start).
        scored: bool [N], rows whose state Submit scores: text and password boxes, checkboxes,
            selects (all their options) and radio-group headings (all their buttons).
        field_word: int32 [K], the field each instruction slot names (a row's ``word``).
        slot_value: int32 [K, C], the value to enter, as characters.
        slot_len: int32 [K].
        slot_valid: bool [K].
        num_pages: int32 [].
        number: int32 [N], a ``DAY`` row's day of the month (1-31); 0 for other rows.
        calendar: int32 [13], the datepicker's calendar (``calendar.CALENDAR_FIELDS``: its
            months and geometry); zeros without a datepicker.
        menu: int32 [3], where an open autocomplete menu lies (``calendar.MENU_FIELDS``): it
            spans ``width`` from its box's bottom edge down by its listed suggestions' heights
            (their boxes'), at most ``max_height``, plus ``border`` above and below.
    """

    kind: Array
    text: Array
    word: Array
    owner: Array
    page: Array
    box: Array
    value: Array
    value_len: Array
    on: Array
    goal_value: Array
    goal_len: Array
    goal_on: Array
    scored: Array
    field_word: Array
    slot_value: Array
    slot_len: Array
    slot_valid: Array
    num_pages: Array
    number: Array
    calendar: Array
    menu: Array


@struct.dataclass
class FormState(EnvState):
    """An episode on a form.

    Attributes:
        time: int32 [], steps taken.
        level: the form.
        value: int32 [N, C], text in each box.
        value_len: int32 [N].
        on: bool [N], checked/selected flags.
        page: int32 [], the visible page.
        focus: int32 [], the focused row or ``BODY``.
        ended: int32 [], 0 while running, 1 submitted, 2 a distractor was clicked, 3 timed out.
        raw_reward: float32 [], MiniWoB++'s raw reward of the end (0 while running).
        text_is: bool [N, K], ``text_matches`` of the level (fixed for the episode; kept so
            that observing does not compare every row's text with every slot each step).
        value_is: bool [N, K], ``value_matches`` of ``value``, updated by ``apply_action`` for
            the one row whose text an action changes.
        listed: bool [N], suggestion rows in an open menu (only ever its focused box's).
        text_ok: bool [N], ``goal_text_matches`` of ``value`` (updated likewise).
        month: int32 [], the month the datepicker's calendar shows (``calendar.month_index``),
            -1 while it is closed.
        start_progress: float32 [], ``progress`` of the episode's first state: the shaping
            potential is measured from it, so that a form that starts partly done (``prefill``)
            does not pay its head start back at the end.
    """

    level: FormLevel
    value: Array
    value_len: Array
    on: Array
    page: Array
    focus: Array
    ended: Array
    raw_reward: Array
    text_is: Array
    value_is: Array
    listed: Array
    text_ok: Array
    month: Array
    start_progress: Array


class Action(enum.IntEnum):
    """Action types of the flat action index (``decode_action``)."""

    NOOP = 0
    CLICK = 1
    CLEAR = 2
    TYPE = 3


def num_actions(rows: int, slots: int) -> int:
    """Size of the flat action space: NOOP, CLICK and CLEAR per row, TYPE per row and slot."""
    return 1 + 2 * rows + rows * slots


def encode_action(kind: int, row: int = 0, slot: int = 0, *, rows: int, slots: int) -> int:
    """The flat index of an action (host side)."""
    if kind == Action.NOOP:
        return 0
    if kind == Action.CLICK:
        return 1 + row
    if kind == Action.CLEAR:
        return 1 + rows + row
    return 1 + 2 * rows + row * slots + slot


def decode_action(action: Array, rows: int, slots: int) -> tuple[Array, Array, Array]:
    """``(kind, row, slot)`` int32 [] of a flat action index.

    An index outside the action space is a no-op (index 0), as an out-of-range discrete action
    is in every family (docs/environments.md, "Bad input").
    """
    a = jnp.asarray(action, jnp.int32)
    a = jnp.where((a >= 0) & (a < num_actions(rows, slots)), a, 0)
    typed = a - 1 - 2 * rows
    kind = jnp.where(
        a == 0, Action.NOOP, jnp.where(a <= rows, Action.CLICK, jnp.where(typed < 0, 2, 3))
    )
    row = jnp.where(a <= rows, a - 1, jnp.where(typed < 0, a - 1 - rows, typed // slots))
    slot = jnp.where(typed < 0, 0, typed % slots)
    return kind.astype(jnp.int32), jnp.maximum(row, 0), slot


def text_matches(level: FormLevel) -> Array:
    """Bool [N, K]: row ``n``'s text starts with slot ``k``'s value (a valid slot).

    A suggestion matches a slot whose value it holds anywhere (book-flight's airports end with
    the code an instruction may name; Search's test, case and all). A calendar's day row matches
    a slot holding a date (``mm/dd/yyyy``) of its day; its title row, whose text is the month
    shown, is matched in ``title_matches``.
    """
    width = level.text.shape[1]
    beyond = jnp.arange(width) >= level.slot_len[:, None]  # [K, C]
    same = (level.text[:, None, :] == level.slot_value[None, :, :]) | beyond[None]
    prefix = jnp.all(same, axis=2)
    at = jnp.arange(width)[:, None] + jnp.arange(width)[None, :]  # [offset, position]
    padded = jnp.concatenate([level.text, jnp.zeros_like(level.text)], axis=1)
    windows = padded[:, at]  # [N, offset, position]
    held = (windows[:, None] == level.slot_value[None, :, None, :]) | beyond[None, :, None, :]
    held = jnp.any(jnp.all(held, axis=3), axis=2)  # [N, K]
    prefix = jnp.where((level.kind == Kind.SUGGESTION)[:, None], held, prefix)
    dated, _, day = jax.vmap(calendar.parse_date)(level.slot_value, level.slot_len)  # [K]
    is_day = (level.kind == Kind.DAY)[:, None]
    same_day = dated[None, :] & (level.number[:, None] == day[None, :])
    return level.slot_valid[None, :] & jnp.where(is_day, same_day, prefix)


def title_matches(level: FormLevel, month: Array) -> Array:
    """Bool [N, K]: the calendar's title row (showing ``month``) and the slots dated in it."""
    dated, slot_month, _ = jax.vmap(calendar.parse_date)(level.slot_value, level.slot_len)
    shown = level.slot_valid & dated & (slot_month == month) & (month >= 0)
    return (level.kind == Kind.CAL_TITLE)[:, None] & shown[None, :]


def value_matches(level: FormLevel, value: Array) -> Array:
    """Bool [..., K]: the typed text ``value`` ([..., C]) is exactly slot ``k``'s value."""
    same = jnp.all(value[..., None, :] == level.slot_value, axis=-1)
    return level.slot_valid & same


def goal_text_matches(level: FormLevel, value: Array, value_len: Array) -> Array:
    """Bool [N]: rows whose text (``value`` int32 [N, C], ``value_len`` [N]) is their goal."""
    return _same_text(value, value_len, level.goal_value, level.goal_len)


def _same_text(value: Array, value_len: Array, goal: Array, goal_len: Array) -> Array:
    """Bool [...]: texts ([..., C], lengths [...]) equal to goal texts of ``goal_len``."""
    beyond = jnp.arange(value.shape[-1]) >= goal_len[..., None]
    return (value_len == goal_len) & jnp.all((value == goal) | beyond, axis=-1)


def visible_rows(level: FormLevel, page: Array) -> Array:
    """Bool [N]: rows on the visible page (padding never is)."""
    return (level.kind != Kind.PAD) & (level.page == page)


def menu_matches(level: FormLevel, typed: Array, typed_len: Array) -> Array:
    """Bool [N]: suggestion rows a search for ``typed`` lists (jQuery UI's autocomplete filter).

    A suggestion matches when its text contains the typed text (``typed_len`` characters of
    ``typed`` [C]) anywhere, ignoring case; an empty text matches nothing.

    Args:
        level: the form.
        typed: int32 [C], the box's text.
        typed_len: int32 [], its length.
    """
    width = level.text.shape[1]
    fold = jnp.asarray(FOLD)
    # windows[n, o, p]: character o + p of row n's text (0 past its end), folded.
    at = jnp.arange(width)[:, None] + jnp.arange(width)[None, :]  # [C, C]
    padded = jnp.concatenate([level.text, jnp.zeros_like(level.text)], axis=1)
    windows = fold[padded[:, at]]  # [N, C, C]
    beyond = jnp.arange(width) >= typed_len  # [C]
    same = (windows == fold[typed][None, None, :]) | beyond[None, None, :]
    found = jnp.any(jnp.all(same, axis=2), axis=1)
    return (level.kind == Kind.SUGGESTION) & (typed_len > 0) & found


def shown_rows(state: FormState) -> Array:
    """Bool [N]: rows the user can see: the visible page, less closed menus and calendars.

    A calendar shows its Prev, Next and title rows and the days of its month while open.
    """
    level = state.level
    closed = (level.kind == Kind.SUGGESTION) & ~state.listed
    in_calendar = is_kind(level.kind, CALENDAR_KINDS)
    days = calendar.days_in_month(jnp.maximum(state.month, 0))
    hidden_day = (level.kind == Kind.DAY) & (level.number > days)
    closed = closed | (in_calendar & ((state.month < 0) | hidden_day))
    return visible_rows(level, state.page) & ~closed


def row_boxes(state: FormState) -> Array:
    """int32 [N, 4]: each row's box now: a day row's depends on the month its calendar shows."""
    level = state.level
    days = calendar.day_boxes(level.calendar, jnp.maximum(state.month, 0), level.number)
    return jnp.where((level.kind == Kind.DAY)[:, None], days, level.box)


def _inside(boxes: Array, rect: Array) -> Array:
    """Bool [N]: boxes ([N, 4]) whose centre lies inside ``rect`` (x, y, width, height)."""
    cx, cy = boxes[:, 0] + boxes[:, 2] // 2, boxes[:, 1] + boxes[:, 3] // 2
    return (cx >= rect[0]) & (cx < rect[0] + rect[2]) & (cy >= rect[1]) & (cy < rect[1] + rect[3])


def intercepted(state: FormState) -> Array:
    """Bool [N]: rows a click cannot reach: an open menu or calendar covers their centre.

    WebDriver clicks an element's centre and refuses when another element is on top (element
    click intercepted). Menus (jQuery UI's ``ui-front``) lie above the calendar; each overlay's
    own rows are on top of it.
    """
    level = state.level
    boxes = row_boxes(state)
    m = level.menu
    box = level.box[jnp.maximum(state.focus, 0)]
    items = jnp.sum(jnp.where(state.listed, level.box[:, 3], 0))  # stacked, as listed
    height = jnp.minimum(items, m[0]) + 2 * m[2]
    menu_rect = jnp.stack([box[0], box[1] + box[3], m[1], height])
    in_menu = jnp.any(state.listed) & _inside(boxes, menu_rect) & ~state.listed
    cal_rect = calendar.rect(level.calendar, jnp.maximum(state.month, 0))
    on_calendar = is_kind(level.kind, CALENDAR_KINDS) | state.listed
    in_calendar = (state.month >= 0) & _inside(boxes, cal_rect) & ~on_calendar
    return (in_menu | in_calendar) & visible_rows(level, state.page)


def is_kind(kind: Array, kinds: tuple[Kind, ...]) -> Array:
    """Bool [...]: which entries of ``kind`` (int32 [...]) are one of ``kinds``."""
    return jnp.isin(kind, jnp.asarray([int(k) for k in kinds]))


def refused_clicks(state: FormState) -> Array:
    """Bool [N]: rows a click does not reach.

    Rows ``intercepted`` by an overlay, and a calendar's Prev or Next at the end of its range
    (jQuery UI disables them with ``pointer-events: none``, so WebDriver's click lands on the
    calendar's header instead and is refused).
    """
    level = state.level
    c = level.calendar
    disabled = ((level.kind == Kind.CAL_PREV) & (state.month <= c[calendar.CAL["first"]])) | (
        (level.kind == Kind.CAL_NEXT) & (state.month >= c[calendar.CAL["last"]])
    )
    return intercepted(state) | disabled


def action_mask(state: FormState, rows: int, slots: int) -> Array:
    """Bool [A]: actions that can change something (NOOP is always allowed)."""
    level = state.level
    vis = shown_rows(state) & (state.ended == 0)
    kind = level.kind
    click = vis & (kind != Kind.PAD) & ~refused_clicks(state)
    clear = vis & is_kind(kind, TEXT_KINDS)
    typeable = vis & ~is_kind(kind, NOT_TYPEABLE)
    typed = typeable[:, None] & level.slot_valid[None, :]
    return jnp.concatenate([jnp.ones(1, bool), click, clear, typed.reshape(-1)])


def _entries(level: FormLevel, value: Array, value_len: Array) -> tuple[Array, Array]:
    """Autocomplete boxes holding one of their entries, and one the goal accepts.

    An entry is one of the box's suggestion rows' texts, whole; the goal accepts the entries
    whose ``goal_on`` is set (book-flight's Search takes any airport containing the named city or
    code). A per-suggestion comparison and a one-hot [N, N] reduction (no scatter).

    Returns:
        ``(entry, accepted)``, bool [N] each (meaningful for autocomplete rows).
    """
    box = jnp.maximum(level.owner, 0)
    suggestion = level.kind == Kind.SUGGESTION
    text_len = jnp.sum(level.text > 0, axis=1)
    same = suggestion & _same_text(value[box], value_len[box], level.text, text_len)
    members = level.owner[None, :] == jnp.arange(level.kind.shape[0])[:, None]  # [box, row]
    entry = jnp.any(members & same[None, :], axis=1)
    accepted = jnp.any(members & (same & level.goal_on)[None, :], axis=1)
    return entry, accepted


def submit_refused(state: FormState) -> Array:
    """Bool []: Submit does nothing (book-flight's Search outlines the fields in red).

    While an autocomplete box holds a text that is not one of its entries, or an instructed
    autocomplete box or datepicker (one with a goal) is empty.
    """
    level = state.level
    entry, _ = _entries(level, state.value, state.value_len)
    shown = visible_rows(level, state.page)
    bad = (level.kind == Kind.AUTOCOMPLETE) & (state.value_len > 0) & ~entry
    required = is_kind(level.kind, (Kind.AUTOCOMPLETE, Kind.DATEPICKER)) & (level.goal_len > 0)
    return jnp.any(shown & (bad | (required & (state.value_len == 0))))


def scores(state: FormState) -> Array:
    """Bool [N]: rows whose state matches the goal (meaningful where ``level.scored``).

    An autocomplete box is right when it holds an entry the goal accepts or, uninstructed, is
    empty; other boxes when their text is their goal.
    """
    level = state.level
    wrong = (state.on != level.goal_on) & (level.owner >= 0)
    rows = level.kind.shape[0]
    # Row m's group has a wrong member: a one-hot [N, N] reduction (a scatter is slow under vmap).
    members = level.owner[None, :] == jnp.arange(rows)[:, None]
    group_wrong = jnp.any(members & wrong[None, :], axis=1)
    ok_group = ~group_wrong
    kind = level.kind
    _, accepted = _entries(level, state.value, state.value_len)
    instructed = jnp.any(members & level.goal_on[None, :], axis=1)
    auto_ok = jnp.where(instructed, accepted, state.value_len == 0)
    return jnp.where(
        kind == Kind.AUTOCOMPLETE,
        auto_ok,
        jnp.where(
            is_kind(kind, VALUE_KINDS),
            state.text_ok,
            jnp.where(kind == Kind.CHECKBOX, ~wrong, ok_group),
        ),
    )


def raw_reward(state: FormState, partial: Array) -> Array:
    """MiniWoB++'s raw reward of a submitted form.

    +1 if every scored row is right, else -1; with ``partial`` (bool []) the mean of +-1 over the
    scored rows (MiniWoB++'s click-checkboxes).
    """
    level = state.level
    ok = scores(state)
    signed = jnp.where(ok, 1.0, -1.0)
    count = jnp.maximum(jnp.sum(level.scored), 1)
    mean = jnp.sum(jnp.where(level.scored, signed, 0.0)) / count
    whole = jnp.where(jnp.all(ok | ~level.scored), 1.0, -1.0)
    return jnp.where(partial, mean, whole).astype(jnp.float32)


def progress(state: FormState) -> Array:
    """float32 []: fraction of scored rows that are right (the shaping potential)."""
    level = state.level
    ok = scores(state) & level.scored
    return (jnp.sum(ok) / jnp.maximum(jnp.sum(level.scored), 1)).astype(jnp.float32)


def _typeahead(state: FormState, select: Array, chars: Array, length: Array) -> Array:
    """Chromium's ``<select>`` type-ahead: the ``on`` flags after typing ``chars`` into it.

    Key by key, Chromium searches (wrapping) for an option whose text starts with the prefix
    typed so far, ignoring case: from the option after the selected one for the first key, from
    the selected one for later keys; a prefix nothing matches changes nothing. While the keys
    typed so far are one character repeated (compared as typed: ``aa`` is, ``Aa`` is not),
    each repeat instead moves on to the next option starting with that character (cycling).
    Measured in Chromium (``tests/webform/test_browser.py``). Prefix matches are nested (an
    option matching ``c + 1`` keys matches ``c``), so the walk has a closed form computed here
    without a loop: the cycle's ``run``-th pick ``s``, then the first option from ``s``
    (inclusive) that matches the longest prefix anything matches, if longer than the run
    (prefix lengths from each option's first mismatch, not a cumulative sum, which XLA:CPU runs
    slowly).
    """
    level = state.level
    rows, width = level.text.shape
    fold = jnp.asarray(FOLD)
    is_option = (level.kind == Kind.OPTION) & (level.owner == select)
    current = jnp.argmax(is_option & state.on)
    # The placeholder stands at the select's own row: searches start from it when nothing is on.
    selected = jnp.where(jnp.any(is_option & state.on), current, select)
    idx, pos = jnp.arange(rows), jnp.arange(width)
    # Keys of the typed value each option's text starts with, ignoring case (0 for other rows).
    mismatch = fold[level.text] != fold[chars][None, :]
    common = jnp.where(jnp.any(mismatch, axis=1), jnp.argmax(mismatch, axis=1), width)
    common = jnp.where(is_option, jnp.minimum(common, length), 0)
    longest = jnp.max(common)  # 0: not even the first key matches
    # The leading run of one repeated key (at least 1 when anything is typed).
    breaks = (chars != chars[0]) | (pos >= length)
    run = jnp.where(jnp.any(breaks), jnp.argmax(breaks), width)
    # The cycle: the run-th option starting with the first key, counting from selected + 1.
    first_key = common >= 1
    offset = jnp.where(first_key, (idx - selected - 1) % rows, rows)
    rank = jnp.sum(offset[None, :] < offset[:, None], axis=1)
    count = jnp.maximum(jnp.sum(first_key), 1)
    cycled = jnp.argmax(first_key & (rank == (run - 1) % count))
    later = jnp.argmin(jnp.where(common == longest, (idx - cycled) % rows, rows))
    final = jnp.where(longest > run, later, cycled)
    final = jnp.where(longest > 0, final, selected)
    return jnp.where(is_option, idx == final, state.on)


def apply_action(state: FormState, action: Array, rows: int, slots: int) -> FormState:
    """The state after one action (the episode's end is decided by the caller from ``ended``).

    Every action type's effect is computed and merged with ``where`` over the rows: under
    ``vmap`` that is cheaper than a ``lax.switch`` (which computes every branch anyway) and than
    ``.at[i].set`` (a scatter). Reads of the target row are gathers (``x[i]``), which are cheap.

    Args:
        state: a running episode.
        action: int32 [], a flat action index (``decode_action``).
        rows: ``N``, rows of the level.
        slots: ``K``, instruction slots of the level.
    """
    level = state.level
    act, i, k = decode_action(action, rows, slots)
    width = level.value.shape[1]
    idx, pos = jnp.arange(rows), jnp.arange(width)
    at = idx == i  # bool [N], the target row
    kind, owner = level.kind[i], level.owner[i]
    live = shown_rows(state)[i]  # rows not shown take no action
    slot_ok = level.slot_valid[k]
    chars = level.slot_value[k]
    length = jnp.where(slot_ok, level.slot_len[k], 0)
    click = live & (act == Action.CLICK) & ~refused_clicks(state)[i]
    clear = live & (act == Action.CLEAR)
    typed = live & (act == Action.TYPE) & slot_ok  # a slot beyond the instruction types nothing
    spaces = jnp.sum((chars == 27) & (pos < length))
    pressed = typed & (spaces > 0)  # a space presses a button or checks a radio
    same_group = (level.owner == owner) & (level.owner >= 0)
    text_box = is_kind(kind, TEXT_KINDS)

    # Text, of one row at most: TYPE appends up to maxlength (the row width C); CLEAR empties a
    # box holding text (chromedriver leaves an empty one alone); CLICK on a suggestion puts its
    # text in its box, on a calendar's day that day's date in the datepicker.
    start = state.value_len[i]
    shift = pos[:, None] - start == pos[None, :]  # [C, C]: position p takes character p - start
    shifted = jnp.sum(jnp.where(shift, chars[None, :], 0), axis=1).astype(chars.dtype)
    appended = jnp.where((pos >= start) & (pos < start + length), shifted, state.value[i])
    write = typed & text_box
    emptied = clear & text_box & (start > 0)
    pick = click & (kind == Kind.SUGGESTION)
    suggestion = level.text[i]
    picker = jnp.argmax(level.kind == Kind.DATEPICKER)  # the datepicker (one per form at most)
    dated = click & (kind == Kind.DAY)
    date = calendar.date_text(state.month, level.number[i])
    date_len = date.shape[0]
    date = jnp.zeros(width, jnp.int32).at[:date_len].set(date[:width])
    new_text = jnp.where(pick, suggestion, jnp.where(dated, date, jnp.where(emptied, 0, appended)))
    new_len = jnp.where(
        pick,
        jnp.sum(suggestion > 0),
        jnp.where(dated, date_len, jnp.where(emptied, 0, jnp.minimum(start + length, width))),
    )
    box = jnp.where(pick, owner, jnp.where(dated, picker, i))  # the row whose text changes
    changes = write | emptied | pick | dated
    changed = changes & (idx == box)
    value = jnp.where(changed[:, None], new_text[None], state.value)
    value_len = jnp.where(changed, new_len, state.value_len)
    value_is = jnp.where(changed[:, None], value_matches(level, new_text)[None], state.value_is)
    # A menu: a TYPE that changed an autocomplete box's text searches (its own suggestions);
    # a pick closes it; below, a box losing the focus closes it.
    searched = write & (kind == Kind.AUTOCOMPLETE) & (new_len != start)
    found = menu_matches(level, new_text, new_len)
    listed = jnp.where(searched & (level.owner == i), found, state.listed)
    listed = listed & ~(pick & (level.owner == owner))
    goal_ok = _same_text(new_text, new_len, level.goal_value[box], level.goal_len[box])
    text_ok = jnp.where(changed, goal_ok, state.text_ok)

    # Flags: a checkbox toggles on a click or per space typed; a radio button or an option is
    # chosen in its group; a select runs the type-ahead.
    toggle = (kind == Kind.CHECKBOX) & (click | (typed & (spaces % 2 == 1)))
    on = jnp.where(at & toggle, ~state.on, state.on)
    choose = (click & is_kind(kind, (Kind.RADIO, Kind.OPTION))) | (pressed & (kind == Kind.RADIO))
    on = jnp.where(choose & same_group, at, on)
    on = jnp.where(typed & (kind == Kind.SELECT), _typeahead(state, i, chars, length), on)

    # Focus: a click focuses its row (an option: its select; a suggestion: its box, where
    # jQuery UI's menu keeps it; Prev or Next: the datepicker, which jQuery UI refocuses after
    # redrawing); a heading, Next, the calendar's title or a day leaves it on the body; CLEAR
    # blurs the box it empties; TYPE focuses the row unless refused (not typeable) or a space
    # pressed Next (hidden with its page).
    press = click | pressed
    click_focus = jnp.where(
        is_kind(kind, (Kind.HEADING, Kind.NEXT, Kind.CAL_TITLE, Kind.DAY)),
        BODY,
        jnp.where(is_kind(kind, (Kind.OPTION, Kind.SUGGESTION)), owner, i),
    )
    click_focus = jnp.where(is_kind(kind, (Kind.CAL_PREV, Kind.CAL_NEXT)), picker, click_focus)
    type_focus = jnp.where(is_kind(kind, NOT_TYPEABLE) | (pressed & (kind == Kind.NEXT)), BODY, i)
    focus = jnp.where(click, click_focus, jnp.where(typed, type_focus, state.focus))
    focus = jnp.where(emptied, BODY, focus)
    listed = listed & (level.owner == focus)  # a box losing the focus closes its menu
    month = _calendar_month(state, click, kind, i, picker, focus, value[picker], value_len[picker])
    page = jnp.where(press & (kind == Kind.NEXT), state.page + 1, state.page)
    ended = jnp.where(
        press & (kind == Kind.SUBMIT) & ~submit_refused(state),
        1,
        jnp.where(press & (kind == Kind.DISTRACTOR), 2, state.ended),
    )
    return state.replace(
        value=value,
        value_len=value_len,
        on=on,
        focus=focus,
        page=page,
        ended=ended,
        value_is=value_is,
        listed=listed,
        text_ok=text_ok,
        month=month,
    )


def _calendar_month(
    state: FormState,
    click: Array,
    kind: Array,
    i: Array,
    picker: Array,
    focus: Array,
    text: Array,
    text_len: Array,
) -> Array:
    """The month the calendar shows after an action (-1: closed), as jQuery UI's datepicker.

    Prev and Next step through the range; a day or a click outside the calendar and its box
    closes it (keys and blurs do not); the datepicker gaining the focus opens a closed
    calendar on the month of the box's date, or on ``start`` (both clamped into the range).
    """
    level = state.level
    c = level.calendar
    first, last = c[calendar.CAL["first"]], c[calendar.CAL["last"]]
    month = state.month
    month = jnp.where(click & (kind == Kind.CAL_PREV), jnp.maximum(month - 1, first), month)
    month = jnp.where(click & (kind == Kind.CAL_NEXT), jnp.minimum(month + 1, last), month)
    outside = click & ~is_kind(kind, CALENDAR_KINDS) & (i != picker)
    month = jnp.where((click & (kind == Kind.DAY)) | outside, -1, month)
    has_picker = jnp.any(level.kind == Kind.DATEPICKER)
    gained = has_picker & (focus == picker) & (state.focus != picker) & (month < 0)
    ok, dated, _ = calendar.parse_date(text, text_len)
    opened = jnp.clip(jnp.where(ok, dated, c[calendar.CAL["start"]]), first, last)
    return jnp.where(gained, opened, month).astype(jnp.int32)
