"""The datepicker's calendar: date arithmetic, and what each action does to it (jQuery UI's)."""

from __future__ import annotations

import calendar as pycal
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curriculax.envs.webform import calendar, engine
from curriculax.envs.webform.engine import Action, Kind
from curriculax.envs.webform.form import Form
from curriculax.envs.webform.oracle import oracle_action
from curriculax.envs.webform.text import decode, encode

ENV = Form(max_widgets=4, max_options=4, max_pages=1, max_distractors=0,
           widgets=("autocomplete", "datepicker", "radio", "text"))  # fmt: skip
PARAMS = ENV.default_params().replace(max_steps=jnp.int32(60))
DEC_2016, NOV_2016, OCT_2016 = (calendar.month_index(2016, m) for m in (12, 11, 10))


def test_date_arithmetic_agrees_with_python_s_calendar():
    months = [(y, m) for y in (1900, 1999, 2000, 2016, 2023, 2024, 2100) for m in range(1, 13)]
    index = jnp.asarray([calendar.month_index(y, m) for y, m in months])
    days, first = calendar.days_in_month(index), calendar.first_weekday(index)
    for (y, m), d, f, w in zip(months, days, first, calendar.weeks(index), strict=True):
        weekday, length = pycal.monthrange(y, m)  # Monday = 0
        assert int(d) == length and int(f) == (weekday + 1) % 7, (y, m)
        assert int(w) == len(pycal.Calendar(firstweekday=6).monthdayscalendar(y, m)), (y, m)


@pytest.mark.parametrize(
    ("text", "ok"),
    [("12/23/2016", True), ("02/29/2016", True), ("12-23-2016", False), ("12/23/201", False),
     ("13/01/2016", False), ("ab/cd/efgh", False), ("", False)],
)  # fmt: skip
def test_dates_parse_and_print_as_mm_dd_yyyy(text, ok):
    codes = encode(text)
    chars = jnp.asarray(codes + [0] * (24 - len(codes)))
    got_ok, month, day = calendar.parse_date(chars, jnp.int32(len(codes)))
    assert bool(got_ok) == ok
    if ok:
        assert decode(np.asarray(calendar.date_text(month, day))) == text


@functools.cache
def _programs():
    return jax.jit(ENV.reset), jax.jit(ENV.step), jax.jit(ENV.action_mask)


def _start(seed=0):
    return _programs()[0](jax.random.key(seed), PARAMS)[1]


def _act(state, kind, row=0, slot=0):
    action = engine.encode_action(kind, row, slot, rows=ENV.rows, slots=ENV.slots)
    return _programs()[1](jax.random.key(0), state, jnp.int32(action), PARAMS)[1]


def _row(state, kind, number=None):
    kinds, numbers = np.asarray(state.level.kind), np.asarray(state.level.number)
    hits = np.flatnonzero((kinds == kind) & ((numbers == number) if number else True))
    return int(hits[0])


def _shown_days(state):
    shown = np.asarray(engine.shown_rows(state))
    days = np.flatnonzero(shown & (np.asarray(state.level.kind) == Kind.DAY))
    return np.asarray(state.level.number)[days].tolist()


def _clickable(state, row):
    return bool(_programs()[2](state, PARAMS)[1 + row])


def test_the_calendar_opens_on_focus_steps_months_and_writes_the_picked_day():
    state = _start()
    picker = _row(state, Kind.DATEPICKER)
    assert int(state.month) == -1 and _shown_days(state) == []  # closed at the start
    assert not _clickable(state, _row(state, Kind.CAL_PREV))
    state = _act(state, Action.CLICK, picker)
    assert int(state.month) == DEC_2016 and int(state.focus) == picker  # the range's last month
    assert _shown_days(state) == list(range(1, 32))
    next_, prev = _row(state, Kind.CAL_NEXT), _row(state, Kind.CAL_PREV)
    assert not _clickable(state, next_)  # disabled at the range's end
    assert int(_act(state, Action.CLICK, next_).month) == DEC_2016
    state = _act(state, Action.CLICK, prev)
    assert int(state.month) == NOV_2016 and _shown_days(state) == list(range(1, 31))
    assert int(state.focus) == picker  # jQuery UI refocuses the box after redrawing
    state = _act(state, Action.CLICK, _row(state, Kind.CAL_TITLE))
    assert int(state.focus) == engine.BODY and int(state.month) == NOV_2016  # the title blurs
    state = _act(state, Action.CLICK, picker)  # refocused while open: nothing changes
    assert int(state.month) == NOV_2016
    state = _act(state, Action.CLICK, prev)
    assert int(state.month) == OCT_2016 and not _clickable(state, prev)
    # Oct 1 2016 is a Saturday: day 1 in the last column, day 2 in the next week's first
    boxes = np.asarray(engine.row_boxes(state))
    one, two = boxes[_row(state, Kind.DAY, 1)], boxes[_row(state, Kind.DAY, 2)]
    c = np.asarray(state.level.calendar)
    assert one[0] == c[calendar.CAL["grid_x"]] + 6 * c[calendar.CAL["pitch_x"]]
    assert two[0] == c[calendar.CAL["grid_x"]] and two[1] == one[1] + c[calendar.CAL["pitch_y"]]
    state = _act(state, Action.CLICK, _row(state, Kind.DAY, 12))
    assert decode(np.asarray(state.value[picker]), int(state.value_len[picker])) == "10/12/2016"
    assert int(state.month) == -1 and int(state.focus) == engine.BODY
    state = _act(state, Action.CLICK, picker)
    assert int(state.month) == OCT_2016  # reopens on its date's month


def test_outside_clicks_close_the_calendar_keys_and_blurs_do_not():
    state = _act(_start(), Action.CLICK, _row(_start(), Kind.DATEPICKER))
    box = _row(state, Kind.AUTOCOMPLETE)
    slot = int(np.flatnonzero(np.asarray(state.level.field_word) == int(state.level.word[box]))[0])
    typed = _act(state, Action.TYPE, box, slot)  # keys into another box: it stays open
    assert int(typed.month) == DEC_2016 and int(typed.focus) == box
    cleared = _act(typed, Action.CLEAR, box)
    assert int(cleared.month) == DEC_2016
    submit = _row(state, Kind.SUBMIT)
    assert not bool(engine.intercepted(state)[submit]) or True
    outside = _row(state, Kind.AUTOCOMPLETE)  # above the calendar: reachable
    assert _clickable(state, outside)
    assert int(_act(state, Action.CLICK, outside).month) == -1


def test_the_open_calendar_intercepts_clicks_on_the_rows_under_it():
    state = _start()
    state = _act(state, Action.CLICK, _row(state, Kind.DATEPICKER))
    covered = np.asarray(engine.intercepted(state))
    kinds = np.asarray(state.level.kind)
    assert covered.any()  # the radio group under the generated calendar
    assert not covered[np.isin(kinds, [int(k) for k in engine.CALENDAR_KINDS])].any()
    row = int(np.flatnonzero(covered)[0])
    assert not _clickable(state, row)
    after = _act(state, Action.CLICK, row)  # refused: nothing changes
    for name in ("on", "focus", "month", "value"):
        np.testing.assert_array_equal(getattr(after, name), getattr(state, name), err_msg=name)
    closed = _act(state, Action.CLICK, _row(state, Kind.DAY, 5))
    assert not np.asarray(engine.intercepted(closed)).any()  # closed: nothing covered


def test_the_title_and_days_match_the_instructed_date():
    state = _start()
    picker = _row(state, Kind.DATEPICKER)
    goal = decode(np.asarray(state.level.goal_value[picker]), int(state.level.goal_len[picker]))
    slot = int(
        np.flatnonzero(np.asarray(state.level.field_word) == int(state.level.word[picker]))[0]
    )
    obs_of = jax.jit(ENV.observe)
    state = _act(state, Action.CLICK, picker)
    text_is = 7 + 4 + 1 + ENV.slots  # the second block of flags
    month = calendar.month_index(int(goal[6:]), int(goal[:2]))
    while int(state.month) != month:
        obs = np.asarray(obs_of(state, PARAMS))
        assert obs[_row(state, Kind.CAL_TITLE), text_is + slot] == 0
        state = _act(state, Action.CLICK, _row(state, Kind.CAL_PREV))
    obs = np.asarray(obs_of(state, PARAMS))
    assert obs[_row(state, Kind.CAL_TITLE), text_is + slot] == 1
    days = np.flatnonzero(obs[: ENV.rows, text_is + slot] & (np.asarray(state.level.kind) == 18))
    assert np.asarray(state.level.number)[days].tolist() == [int(goal[3:5])]
    state = _act(state, Action.CLICK, int(days[0]))
    assert bool(engine.scores(state)[picker])


@pytest.mark.parametrize("seed", range(8))
def test_the_oracle_solves_forms_with_a_datepicker(seed):
    state = _start(seed)
    for _ in range(int(PARAMS.max_steps)):
        action = oracle_action(state, ENV.rows, ENV.slots)
        assert bool(_programs()[2](state, PARAMS)[int(action)]), "the oracle took a masked action"
        _, state, _, done, _, info = _programs()[1](jax.random.key(0), state, action, PARAMS)
        if bool(done):
            break
    assert bool(info["success"]), seed


def test_a_second_datepicker_is_refused():
    with pytest.raises(ValueError, match="one datepicker"):
        Form(max_widgets=2, widgets=("datepicker", "datepicker"))


def test_search_is_refused_while_a_box_holds_no_entry_or_a_required_field_is_empty():
    state = _start(3)
    submit = _row(state, Kind.SUBMIT)
    refused = _act(state, Action.CLICK, submit)  # everything empty: nothing happens
    assert int(refused.ended) == 0 and int(refused.focus) == submit
    # the oracle's first steps type the From code: a text that is no entry
    box = _row(state, Kind.AUTOCOMPLETE)
    slot = int(np.argmax(np.asarray(state.level.field_word) == int(state.level.word[box])))
    typed = _act(state, Action.TYPE, box, slot)
    assert bool(engine.submit_refused(typed))
    state = _solve(state, stop_before_submit=True)
    assert not bool(engine.submit_refused(state))
    assert int(_act(state, Action.CLICK, submit).ended) == 1


def test_an_autocomplete_accepts_every_entry_its_goal_flags():
    state = _start(1)
    box = _row(state, Kind.AUTOCOMPLETE)
    kinds, owner = np.asarray(state.level.kind), np.asarray(state.level.owner)
    entries = np.flatnonzero((kinds == Kind.SUGGESTION) & (owner == box))
    goal = np.asarray(state.level.goal_on).copy()
    other = int(next(j for j in entries if not goal[j]))
    width = state.value.shape[1]

    def holding(level, j):
        value = np.asarray(state.value).copy()
        length = np.asarray(state.value_len).copy()
        value[box], length[box] = np.asarray(level.text[j]), int(np.sum(level.text[j] > 0))
        assert length[box] <= width
        return state.replace(level=level, value=jnp.asarray(value), value_len=jnp.asarray(length))

    assert not bool(engine.scores(holding(state.level, other))[box])  # an entry, not the goal
    goal[other] = True  # book-flight: any airport holding the named code is right
    level = state.level.replace(goal_on=jnp.asarray(goal))
    assert bool(engine.scores(holding(level, other))[box])


def _solve(state, stop_before_submit=False):
    for _ in range(int(PARAMS.max_steps)):
        action = oracle_action(state, ENV.rows, ENV.slots)
        _, row, _ = (int(x) for x in engine.decode_action(action, ENV.rows, ENV.slots))
        if stop_before_submit and int(state.level.kind[row]) == Kind.SUBMIT:
            return state
        state = _programs()[1](jax.random.key(0), state, action, PARAMS)[1]
    return state
