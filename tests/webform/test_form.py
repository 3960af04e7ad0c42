"""Web forms: the generator, what each action does to each element, reward, oracle, HTML export."""

from __future__ import annotations

import copy
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.envs.webform import engine
from curriculax.envs.webform.engine import Action, Kind
from curriculax.envs.webform.form import Form
from curriculax.envs.webform.html import form_html
from curriculax.envs.webform.oracle import oracle_action
from curriculax.envs.webform.text import (
    FOLD,
    MAX_CHAR,
    MAX_VOCAB,
    SPACE,
    UPPER_A,
    decode,
    encode,
    word,
    word_chars,
    word_of,
)
from curriculax.replay import Replay, ReplayError, write_html

WEB_IDS = [
    i for i in curriculax.registered_ids() if curriculax.spec(i).entry_point.endswith(":Form")
]
#: The web-form ids the default suite runs the per-id checks on: the general form, the multi-page
#: one and book-flight's page (every id in the slow suite; each id compiles its own form).
DEFAULT_WEB_IDS = ("curriculax/Form-v0", "curriculax/FormSequence-v0", "curriculax/BookFlight-v0")


def _web_ids(also: tuple[str, ...] = ()) -> list:
    """``WEB_IDS`` with those outside ``DEFAULT_WEB_IDS`` and ``also`` marked ``slow``."""
    keep = (*DEFAULT_WEB_IDS, *also)
    return [pytest.param(i, marks=() if i in keep else pytest.mark.slow) for i in WEB_IDS]


ENV = Form(max_widgets=4, max_options=3, max_words=2, max_pages=2, max_distractors=1)


@functools.cache
def _programs(env):
    return jax.jit(env.reset), jax.jit(env.step)


def _start(env, params, seed=0):
    reset, _ = _programs(env)
    return reset(jax.random.key(seed), params)[1]


def _act(env, state, params, kind, row=0, slot=0):
    _, step = _programs(env)
    action = engine.encode_action(kind, row, slot, rows=env.rows, slots=env.slots)
    _, state, reward, terminated, _truncated, info = step(
        jax.random.key(0), state, jnp.int32(action), params
    )
    return state, float(reward), bool(terminated), info


def _rows(state, kind):
    return [int(i) for i in np.flatnonzero(np.asarray(state.level.kind) == kind)]


def _slot_of(state, row):
    """The instruction slot naming ``row`` (by its own word or its group's)."""
    level = state.level
    words = {int(level.word[row])}
    if int(level.owner[row]) >= 0:
        words.add(int(level.word[int(level.owner[row])]))
    for k in np.flatnonzero(np.asarray(level.slot_valid)):
        if int(level.field_word[k]) in words:
            return int(k)
    raise AssertionError(f"no slot names row {row}")


def _text(state, row):
    return decode(np.asarray(state.value)[row], int(state.value_len[row]))


def _slot_text(state, k):
    return decode(np.asarray(state.level.slot_value)[k], int(state.level.slot_len[k]))


ALL_KINDS = ENV.make_params(
    num_widgets=4, num_instructed=4, kind_weights=jnp.asarray([1.0, 0, 1, 1, 1, 1, 1]),
    words_per_value=2, max_steps=30,
)  # fmt: skip


def _level_with(kinds_needed, params=ALL_KINDS, env=ENV):
    """The first seed whose form has every kind in ``kinds_needed`` on its first page."""
    for seed in range(200):
        state = _start(env, params, seed)
        on_first = np.asarray(state.level.page) == 0
        present = set(np.asarray(state.level.kind)[on_first].tolist())
        if set(int(k) for k in kinds_needed) <= present:
            return state
    raise AssertionError(f"no level with {kinds_needed}")


def test_every_printable_character_has_a_glyph_that_round_trips():
    from curriculax.envs.webform.render import _FONT
    from curriculax.envs.webform.text import ALPHABET

    for code, char in enumerate(ALPHABET[1:], start=1):
        assert encode(char) == [code] and decode(np.asarray([code])) == char
        assert _FONT[code].any() == (char != " "), repr(char)  # only the space draws nothing
    assert {"'", "&"} <= set(ALPHABET)  # book-flight's O'Hare and Park&Ride


def test_words_have_five_letters_and_distinct_spellings():
    letters = np.asarray(word_chars(jnp.arange(1, 5001)))
    assert letters.shape == (5000, 5) and letters.min() >= 1 and letters.max() <= 26
    assert len({bytes(row.astype(np.uint8)) for row in letters}) == 5000
    assert word(1) != word(2) and len(word(123)) == 5
    ids = jnp.asarray([1, 2, 777, 123_456, MAX_VOCAB])
    np.testing.assert_array_equal(word_of(word_chars(ids)), ids)  # spelling -> id inverts


def test_instruction_rows_name_the_field_and_the_value_word():
    state = _level_with([Kind.SELECT])
    obs = np.asarray(ENV.observe(state, ALL_KINDS))
    select = _rows(state, Kind.SELECT)[0]
    k = _slot_of(state, select)
    row = obs[ENV.rows + k]
    assert row[0] == 2 and row[5] == int(state.level.word[select])
    chosen = [j for j in _rows(state, Kind.OPTION) if bool(state.level.goal_on[j])]
    goal = next(j for j in chosen if int(state.level.owner[j]) == select)
    assert row[6] == int(state.level.word[goal])  # the option's own word id


def test_generated_form_has_its_goal_in_the_instruction():
    params = ENV.make_params(num_widgets=4, num_instructed=3, words_per_value=2, num_pages=2)
    seen = set()
    for seed in range(20):
        state = _start(ENV, params, seed)
        level = jax.tree.map(np.asarray, state.level)
        kind = level.kind
        assert set(level.page[kind != Kind.PAD].tolist()) == {0, 1}
        assert (kind == Kind.NEXT).sum() == 1 and (kind == Kind.SUBMIT).sum() == 1
        pages = level.page[kind != Kind.PAD]
        assert np.all(np.diff(pages) >= 0)  # page order
        for k in np.flatnonzero(level.slot_valid):
            value = decode(level.slot_value[k], level.slot_len[k])
            headers = (*engine.TEXT_KINDS, Kind.SELECT, Kind.HEADING)
            named = [
                i
                for i in range(len(kind))
                if level.word[i] == level.field_word[k] and kind[i] in headers
            ]
            assert len(named) == 1, "each slot names exactly one widget"
            row = named[0]
            goal = decode(level.goal_value[row], level.goal_len[row])
            if kind[row] == Kind.DATE:
                month, day, year = (int(x) for x in value.split("/"))
                assert goal == value and 1 <= month <= 12 and 1 <= day <= 28 and len(value) == 10
                assert 2000 <= year < 2030
            elif kind[row] == Kind.AUTOCOMPLETE:
                # The slot is a code; the goal is the one suggestion that starts with it.
                members = np.flatnonzero(level.owner == row)
                hits = [j for j in members if decode(level.text[j]).startswith(value)]
                assert len(value) == 5 and len(hits) == 1 and decode(level.text[hits[0]]) == goal
                assert len(goal.split(" ")) == 2
            elif kind[row] in (Kind.TEXT, Kind.PASSWORD):
                assert len(value.split(" ")) == 2 and goal == value
            else:  # the option with this text is on in the goal
                assert len(value.split(" ")) == 2
                members = np.flatnonzero(level.owner == row)
                hits = [j for j in members if decode(level.text[j]) == value]
                assert len(hits) == 1 and level.goal_on[hits[0]]
        seen.update(int(x) for x in kind)
    assert {Kind.DATE, Kind.AUTOCOMPLETE, Kind.SUGGESTION} <= seen


def test_typing_appends_up_to_maxlength_and_clear_empties():
    state = _level_with([Kind.TEXT])
    row = _rows(state, Kind.TEXT)[0]
    k = _slot_of(state, row)
    value = _slot_text(state, k)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, row, k)
    assert _text(state, row) == value and int(state.focus) == row
    for _ in range(3):
        state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, row, k)
    assert _text(state, row) == (value * 4)[: ENV.max_chars]  # maxlength cuts, no separator
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLEAR, row)
    assert _text(state, row) == "" and int(state.focus) == engine.BODY
    # chromedriver leaves an empty box alone, focus included.
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, row)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLEAR, row)
    assert int(state.focus) == row


def test_space_in_a_typed_value_toggles_checkbox_checks_radio_and_presses_buttons():
    state = _level_with([Kind.CHECKBOX, Kind.RADIO])
    values = np.asarray(state.level.slot_value)
    k = next(k for k in np.flatnonzero(np.asarray(state.level.slot_valid)) if SPACE in values[k])
    k = int(k)  # a two-word value: one space
    box = _rows(state, Kind.CHECKBOX)[0]
    before = bool(state.on[box])
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, box, k)
    assert bool(state.on[box]) != before and int(state.focus) == box
    radios = _rows(state, Kind.RADIO)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, radios[0], k)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, radios[1])
    group = [r for r in radios if int(state.level.owner[r]) == int(state.level.owner[radios[1]])]
    assert [bool(state.on[r]) for r in group] == [r == radios[1] for r in group]


def test_select_type_ahead_follows_chromium():
    state = _level_with([Kind.SELECT])
    select = _rows(state, Kind.SELECT)[0]
    options = [j for j in _rows(state, Kind.OPTION) if int(state.level.owner[j]) == select]
    k = _slot_of(state, select)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, select, k)
    chosen = [j for j in options if bool(state.on[j])]
    assert len(chosen) == 1 and decode(np.asarray(state.level.text)[chosen[0]]) == _slot_text(
        state, k
    )
    # A value no option starts with changes nothing.
    other = [
        kk
        for kk in np.flatnonzero(np.asarray(state.level.slot_valid))
        if not any(
            decode(np.asarray(state.level.text)[j])[0] == _slot_text(state, kk)[0] for j in options
        )
    ]
    if other:
        again, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, select, int(other[0]))
        assert [bool(again.on[j]) for j in options] == [bool(state.on[j]) for j in options]


def _chromium_typeahead(kind, owner, text, on, select, chars, length):
    """Chromium's select type-ahead, key by key (the reference for ``engine._typeahead``).

    Blink's ``TypeAhead``: the typed buffer grows key by key; while every key so far is the
    first one (as typed), each key searches for that one character from the option after the
    selected one (cycling); otherwise the whole buffer is searched for from the selected one.
    Matching ignores case.
    """
    rows = len(kind)
    options = [r for r in range(rows) if kind[r] == Kind.OPTION and owner[r] == select]
    selected = next((r for r in options if on[r]), select)
    repeating = True
    for c in range(length):
        repeating = repeating and chars[c] == chars[0]
        prefix = chars[:1] if repeating else chars[: c + 1]
        start = selected + 1 if c == 0 or repeating else selected
        for step in range(rows):
            r = (start + step) % rows
            if r in options and [FOLD[x] for x in text[r][: len(prefix)]] == [
                FOLD[x] for x in prefix
            ]:
                selected = r
                break
    return [r == selected if r in options else bool(on[r]) for r in range(rows)]


def test_select_type_ahead_equals_a_key_by_key_walk_on_shared_prefixes():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    rows, width = 9, 4
    kind = np.array([Kind.SELECT] + [Kind.OPTION] * 6 + [Kind.SELECT, Kind.OPTION])
    owner = np.array([-1] + [0] * 6 + [-1, 7])

    @jax.jit
    def typeahead(text, on, chars, length):
        level = SimpleNamespace(kind=jnp.asarray(kind), owner=jnp.asarray(owner), text=text)
        return engine._typeahead(SimpleNamespace(level=level, on=on), 0, chars, length)

    for _ in range(300):
        # Two letters (one in both cases) and a space, so options share prefixes, keys repeat
        # (cycling) and typing often wraps around.
        letters = [1, 2, SPACE, UPPER_A]
        lengths = rng.integers(1, width + 1, rows)
        text = rng.choice(letters, (rows, width)) * (np.arange(width) < lengths[:, None])
        on = np.zeros(rows, bool)
        if rng.random() < 0.7:
            on[rng.integers(1, 7)] = True
        on[8] = rng.random() < 0.5
        chars = rng.choice(letters, width)
        length = int(rng.integers(0, width + 1))
        got = typeahead(jnp.asarray(text), jnp.asarray(on), jnp.asarray(chars), length)
        want = _chromium_typeahead(kind, owner, text, on, 0, chars, length)
        assert [bool(x) for x in got] == want, (text.tolist(), on.tolist(), chars, length)


def test_autocomplete_menus_open_on_a_search_and_close_on_a_pick_or_a_blur():
    """jQuery UI's autocomplete: a changed text searches, a pick fills the box and keeps it."""
    state = _level_with([Kind.AUTOCOMPLETE])
    box = _rows(state, Kind.AUTOCOMPLETE)[0]
    suggestions = [j for j in _rows(state, Kind.SUGGESTION) if int(state.level.owner[j]) == box]
    mask_of = jax.jit(ENV.action_mask)

    def listed(s):
        obs = np.asarray(ENV.observe(s, ALL_KINDS))
        mask = np.asarray(mask_of(s, ALL_KINDS))
        shown = [j for j in suggestions if obs[j, 2]]
        assert shown == [j for j in suggestions if mask[1 + j]]  # clickable iff listed
        return shown

    assert listed(state) == []  # menus start closed
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, box)
    assert listed(state) == [] and int(state.focus) == box  # a click searches nothing
    k = _slot_of(state, box)
    code = _slot_text(state, k)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, box, k)
    (target,) = listed(state)  # the one suggestion holding the code
    assert code in decode(np.asarray(state.level.text)[target])
    hidden = next(j for j in suggestions if j != target)
    same, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, hidden)
    assert _text(same, box) == code  # an unlisted suggestion cannot be clicked
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, target)
    full = decode(np.asarray(state.level.text)[target])
    assert _text(state, box) == full and int(state.focus) == box  # the box keeps the focus
    assert listed(state) == []  # a pick closes the menu
    assert bool(engine.scores(state)[box])
    state, *_ = _act(ENV, state, ALL_KINDS, Action.CLEAR, box)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, box, k)
    assert listed(state) == [target]
    heading = _rows(state, Kind.HEADING) + _rows(state, Kind.SUBMIT)
    blurred, *_ = _act(ENV, state, ALL_KINDS, Action.CLICK, heading[0])
    assert listed(blurred) == []  # losing the focus closes the menu
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, box, k)
    assert listed(state) == []  # the code twice is in no suggestion: nothing found, closed


def _level_with_suggestions(texts):
    """A level whose first autocomplete field's suggestions hold ``texts``."""
    state = _level_with([Kind.AUTOCOMPLETE])
    level = state.level
    box = _rows(state, Kind.AUTOCOMPLETE)[0]
    rows = [j for j in _rows(state, Kind.SUGGESTION) if int(level.owner[j]) == box]
    text = np.asarray(level.text).copy()
    width = text.shape[1]
    for j, t in zip(rows, texts, strict=False):
        codes = encode(t)
        text[j] = codes + [0] * (width - len(codes))
    return level.replace(text=jnp.asarray(text)), rows[: len(texts)]


@pytest.mark.parametrize(
    ("typed", "want"),
    [
        ("leb", [0, 1]),  # anywhere, any case: city and code
        ("NH (", [0, 1]),
        ("anon", [1]),
        ("Ha", [0]),
        ("x", []),
        ("", []),  # an empty text lists nothing
        ("Lebanon, NH (LEB)", [1]),  # an exact entry is listed too
        ("LEBX", []),
    ],
)
def test_a_search_lists_every_suggestion_holding_the_text_anywhere_in_any_case(typed, want):
    level, rows = _level_with_suggestions(["Hanover, NH (LEB)", "Lebanon, NH (LEB)"])
    assert len(rows) == 2
    width = level.text.shape[1]
    codes = encode(typed)
    found = engine.menu_matches(
        level, jnp.asarray(codes + [0] * (width - len(codes))), jnp.int32(len(codes))
    )
    got = [rows.index(j) for j in np.flatnonzero(np.asarray(found)) if j in rows]
    assert got == want
    assert np.all(~np.asarray(found)[np.asarray(level.kind) != Kind.SUGGESTION])


def _menu_model(level, before, after, kind, row):
    """jQuery UI's menus in plain Python: the listed suggestion rows after one action."""
    kinds, owner = np.asarray(level.kind), np.asarray(level.owner)
    listed = set(before["listed"])
    typed = kind == Action.TYPE and kinds[row] == Kind.AUTOCOMPLETE
    if typed and after["texts"][row] != before["texts"][row]:  # a changed text searches
        text = after["texts"][row].lower()
        listed -= {j for j in listed if owner[j] == row}
        for j in np.flatnonzero((kinds == Kind.SUGGESTION) & (owner == row)):
            if text and text in decode(np.asarray(level.text)[j]).lower():
                listed.add(int(j))
    if kind == Action.CLICK and kinds[row] == Kind.SUGGESTION and row in before["listed"]:
        listed -= {j for j in listed if owner[j] == owner[row]}
    return {j for j in listed if owner[j] == after["focus"]}


def _snapshot(state, boxes):
    return {
        "texts": {int(b): _text(state, int(b)) for b in boxes},
        "listed": set(np.flatnonzero(np.asarray(state.listed)).tolist()),
        "focus": int(state.focus),
    }


def test_menus_equal_a_plain_python_model_of_jquery_ui_over_random_actions():
    env = Form(max_widgets=3, max_options=4, max_words=2, max_pages=1, max_distractors=0,
               widgets=("autocomplete", "autocomplete", "text"))  # fmt: skip
    params = env.default_params().replace(max_steps=jnp.int32(1000))
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    mask_of = jax.jit(env.action_mask)
    rng = np.random.default_rng(0)
    opened = closed_by_blur = 0
    for seed in range(6):
        _, state = reset(jax.random.key(seed), params)
        kinds = np.asarray(state.level.kind)
        boxes = np.flatnonzero(np.isin(kinds, [int(k) for k in engine.TEXT_KINDS]))
        for _ in range(40):
            mask = np.flatnonzero(np.asarray(mask_of(state, params)))
            action = int(rng.choice(mask))
            kind, row, _ = (int(x) for x in engine.decode_action(action, env.rows, env.slots))
            before = _snapshot(state, boxes)
            _, state, *_ = step(jax.random.key(0), state, jnp.int32(action), params)
            after = _snapshot(state, boxes)
            want = _menu_model(state.level, before, after, kind, row)
            assert after["listed"] == want, (seed, engine.Action(kind).name, row)
            opened += bool(after["listed"]) and not before["listed"]
            closed_by_blur += bool(before["listed"]) and not after["listed"] and (
                after["focus"] != before["focus"])  # fmt: skip
    assert opened > 5 and closed_by_blur > 2, (opened, closed_by_blur)  # both paths were taken


def test_kept_matches_equal_a_recomputation_after_every_action():
    """``apply_action`` updates only the changed row's matches and goal check; menus stay closed
    but for the focused box's."""
    batch, steps = 32, 20
    params = ALL_KINDS.replace(prefill=jnp.float32(0.3))
    keys = jax.random.split(jax.random.key(5), batch)
    _, state = jax.jit(jax.vmap(ENV.reset, (0, None)))(keys, params)
    rows, slots = ENV.rows, ENV.slots

    @jax.jit
    def step(key, state):
        mask = jax.vmap(ENV.action_mask, (0, None))(state, params)
        pick_key, any_key, coin_key = jax.random.split(key, 3)
        valid = jax.random.categorical(pick_key, jnp.where(mask, 0.0, -jnp.inf))
        anything = jax.random.randint(any_key, (batch,), 0, mask.shape[1])
        action = jnp.where(jax.random.uniform(coin_key, (batch,)) < 0.8, valid, anything)
        state = jax.vmap(engine.apply_action, (0, 0, None, None))(state, action, rows, slots)
        fresh = jax.vmap(ENV.init_state, (0, 0, None))(keys, state.level, params)
        done = state.ended > 0  # start over, so that every trace keeps acting
        state = jax.tree.map(
            lambda a, b: jnp.where(done.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), fresh, state
        )
        level = state.level
        want = (
            jax.vmap(engine.value_matches)(level, state.value),
            state.listed & (level.owner == state.focus[:, None]),  # only the focused box's
            jax.vmap(engine.goal_text_matches)(level, state.value, state.value_len),
            jax.vmap(engine.text_matches)(level),
        )
        return state, want

    seen = np.zeros(3, int)
    for t in range(steps):
        state, (value_is, listed, text_ok, text_is) = step(jax.random.key(t), state)
        np.testing.assert_array_equal(state.value_is, value_is)
        np.testing.assert_array_equal(state.listed, listed)
        np.testing.assert_array_equal(state.text_ok, text_ok)
        np.testing.assert_array_equal(state.text_is, text_is)
        text_rows = np.isin(np.asarray(state.level.kind), [int(k) for k in engine.TEXT_KINDS])
        seen[:2] += [np.asarray(value_is).any(), np.asarray(listed).any()]
        seen[2] += (np.asarray(text_ok) & text_rows & (np.asarray(state.value_len) > 0)).any()
    assert seen.min() > 0, seen  # typed matches, open lists and finished boxes were all visited


def test_a_date_field_takes_its_date_as_typed_text():
    state = _level_with([Kind.DATE])
    row = _rows(state, Kind.DATE)[0]
    k = _slot_of(state, row)
    state, *_ = _act(ENV, state, ALL_KINDS, Action.TYPE, row, k)
    assert _text(state, row) == _slot_text(state, k) and bool(engine.scores(state)[row])
    assert _text(state, row)[2] == "/" and _text(state, row)[5] == "/"


def test_hidden_rows_and_refused_actions_change_nothing():
    params = ENV.make_params(num_widgets=4, num_instructed=4, num_pages=2, max_steps=30)
    state = _start(ENV, params, 3)
    hidden = [i for i in range(ENV.rows) if int(state.level.page[i]) == 1]
    assert hidden
    for i in hidden:
        for kind in (Action.CLICK, Action.CLEAR, Action.TYPE):
            after, *_ = _act(ENV, state, params, kind, i, 0)
            same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), after.replace(time=0), state)
            assert all(jax.tree.leaves(same)), (Kind(int(state.level.kind[i])).name, kind)


def test_submit_scores_the_form_and_the_reward_is_time_scaled():
    env, params = curriculax.make("curriculax/LoginUser-v0")
    state = _start(env, params)
    oracle = jax.jit(lambda s: oracle_action(s, env.rows, env.slots))
    _, step = _programs(env)
    for _t in range(1, 4):
        _, state, reward, terminated, _, info = step(
            jax.random.key(0), state, oracle(state), params
        )
    assert bool(terminated) and bool(info["success"])
    assert float(reward) == pytest.approx(1.0 - 3 / 10)
    # Submitting straight away: both fields wrong, -1.
    state = _start(env, params)
    submit = _rows(state, Kind.SUBMIT)[0]
    state, reward, terminated, info = _act(env, state, params, Action.CLICK, submit)
    assert terminated and reward == -1.0 and not bool(info["success"])


def test_partial_credit_distractors_and_timeout():
    env, params = curriculax.make("curriculax/ClickCheckboxes-v0")
    state = _start(env, params, 1)
    goal = np.asarray(state.level.goal_on)[_rows(state, Kind.CHECKBOX)]
    submit = _rows(state, Kind.SUBMIT)[0]
    _, reward, _, _ = _act(env, state, params, Action.CLICK, submit)
    expected = np.mean(np.where(goal, -1.0, 1.0))  # nothing ticked
    assert reward == pytest.approx(expected * (1 - 1 / 12) if expected > 0 else expected)
    form_params = ENV.make_params(num_distractors=1, max_steps=5)
    state = _start(ENV, form_params)
    distractor = _rows(state, Kind.DISTRACTOR)[0]
    _, reward, terminated, _ = _act(ENV, state, form_params, Action.CLICK, distractor)
    assert terminated and reward == -1.0
    for _ in range(5):
        state, reward, terminated, _ = _act(ENV, state, form_params, Action.NOOP)
    assert terminated and reward == -1.0 and int(state.ended) == 3


def test_shaping_is_a_potential_difference():
    params = ALL_KINDS.replace(shaping=jnp.float32(1.0), gamma=jnp.float32(1.0))
    state = _level_with([Kind.TEXT], params)
    row = _rows(state, Kind.TEXT)[0]
    scored = int(np.asarray(state.level.scored).sum())
    typed, reward, _, _ = _act(ENV, state, params, Action.TYPE, row, _slot_of(state, row))
    assert reward == pytest.approx(1.0 / scored)  # one more scored row right
    _, reward, _, _ = _act(ENV, typed, params, Action.CLEAR, row)
    assert reward == pytest.approx(-1.0 / scored)


@pytest.mark.parametrize("prefill", [0.0, 0.5, 1.0])
def test_an_undiscounted_shaped_episode_returns_the_unshaped_return(prefill):
    # The potential is progress since the start, so a form that starts partly done does not pay
    # its head start back at the end: success, read from returns, and curricula see raw returns.
    shaped = ENV.make_params(
        num_widgets=4, num_instructed=4, prefill=prefill, shaping=1.0, gamma=1.0, max_steps=12
    )
    plain = shaped.replace(shaping=jnp.float32(0.0))
    _, step = _programs(ENV)
    mask = jax.jit(ENV.action_mask)
    rng = np.random.default_rng(int(prefill * 10))
    for episode in range(6):
        state = _start(ENV, shaped, episode)
        if prefill == 1.0:
            assert float(engine.progress(state)) > 0.0  # a head start the shaping must not repay
        shaped_return = plain_return = 0.0
        done = False
        while not done:
            action = jnp.int32(rng.choice(np.flatnonzero(np.asarray(mask(state, shaped)))))
            _, _, plain_reward, *_ = step(jax.random.key(0), state, action, plain)
            _, state, reward, terminated, truncated, _ = step(
                jax.random.key(0), state, action, shaped
            )
            shaped_return += float(reward)
            plain_return += float(plain_reward)
            done = bool(terminated | truncated)
        assert shaped_return == pytest.approx(plain_return, abs=1e-5)


def test_prefill_starts_instructed_widgets_done():
    params = ENV.make_params(num_widgets=4, num_instructed=4, prefill=1.0)
    state = _start(ENV, params)
    ok = np.asarray(engine.scores(state)) | ~np.asarray(state.level.scored)
    assert ok.all()


@pytest.mark.parametrize("env_id", _web_ids())
def test_oracle_solves_every_level(env_id):
    env, params = curriculax.make(env_id)
    if env_id.endswith("/Form-v0"):
        params = env.make_params(
            num_widgets=6, num_instructed=6, num_pages=3, num_distractors=2, words_per_value=2,
            layout_shuffle=1.0, max_steps=40,
        )  # fmt: skip

    def episode(key):
        _, state = env.reset(key, params)

        def body(carry, _):
            state, done, success = carry
            action = oracle_action(state, env.rows, env.slots)
            _, new, _, terminated, truncated, info = env.step(key, state, action, params)
            state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state, new)
            return (state, done | terminated | truncated, success | (~done & info["success"])), None

        start = (state, jnp.bool_(False), jnp.bool_(False))
        (_, _, success), _ = jax.lax.scan(body, start, None, length=int(params.max_steps))
        return success

    success = jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(0), 300))
    assert bool(jnp.all(success))


def test_bad_config_and_params_are_clear_errors():
    with pytest.raises(ValueError, match="max_chars"):
        Form(max_words=6)
    with pytest.raises(ValueError, match="widgets"):
        Form(widgets=("text", "slider"))
    with pytest.raises(ValueError, match="num_widgets"):
        ENV.make_params(num_widgets=9)
    with pytest.raises(ValueError, match="vocab_size"):
        ENV.make_params(vocab_size=3)
    with pytest.raises(ValueError, match="has no params"):
        ENV.make_params(sliders=2)


def test_out_of_bound_traced_params_are_clipped():
    wild = ENV.default_params().replace(
        num_widgets=jnp.int32(99), words_per_value=jnp.int32(-3), prefill=jnp.float32(jnp.nan)
    )
    state = _start(ENV, wild)
    level = jax.tree.map(np.asarray, state.level)
    headers = np.isin(level.kind, [*engine.TEXT_KINDS, Kind.SELECT, Kind.HEADING])
    assert headers.sum() == ENV.max_widgets
    assert all(len(decode(level.slot_value[k]).split(" ")) == 1 for k in range(ENV.slots)
               if level.slot_valid[k])  # fmt: skip


def test_html_export_has_every_row_with_its_box_and_values():
    params = ALL_KINDS.replace(prefill=jnp.float32(1.0))
    state = _start(ENV, params)
    page = form_html(state.level)
    level = jax.tree.map(np.asarray, state.level)
    for i in range(ENV.rows):
        kind = Kind(int(level.kind[i]))
        if kind == Kind.PAD:
            assert f'id="e{i}"' not in page
            continue
        assert f'id="e{i}"' in page
        if kind in (Kind.TEXT, Kind.PASSWORD):
            assert f'value="{decode(level.value[i], level.value_len[i])}"' in page
            x, y, w, h = level.box[i]
            assert f"left:{x}px;top:{y}px;width:{w}px;height:{h}px;" in page
    assert page.count(" checked") + page.count(" selected") == int(level.on.sum())


def test_replay_pages_show_the_final_form_and_the_actions(tmp_path):
    env, params = curriculax.make("curriculax/LoginUser-v0")
    oracle = jax.jit(lambda s: oracle_action(s, env.rows, env.slots))
    levels, actions = [], []
    for seed in range(2):
        state = _start(env, params, seed)
        levels.append(state.level)
        taken = []
        _, step = _programs(env)
        for _ in range(3):
            taken.append(int(oracle(state)))
            _, state, *_ = step(jax.random.key(0), state, jnp.int32(taken[-1]), params)
        actions.append(taken)
    replay = Replay(
        env_id="curriculax/LoginUser-v0",
        env_kwargs={},
        params=params,
        levels=jax.tree.map(lambda *x: np.stack(x), *levels),
        keys=np.stack([np.asarray(jax.random.key_data(jax.random.key(s))) for s in range(2)]),
        actions=np.asarray(actions, np.int32),
        lengths=np.asarray([3, 3]),
    )
    pages = write_html(replay, tmp_path / "episode.html")
    assert [p.name for p in pages] == ["episode_0.html", "episode_1.html"]
    for page, level in zip(pages, levels, strict=True):
        text = page.read_text()
        kinds = np.asarray(level.kind)
        for row in np.flatnonzero((kinds == Kind.TEXT) | (kinds == Kind.PASSWORD)):
            typed = decode(np.asarray(level.goal_value)[row], int(level.goal_len[row]))
            assert f'value="{typed}"' in text  # the oracle typed it
        assert text.count("<li>") == 3 and "TYPE(row" in text and "CLICK(row" in text
    grid = dataclasses.replace(replay, env_id="curriculax/Empty-5x5-v0")
    with pytest.raises(ReplayError, match="no HTML export"):
        write_html(grid, tmp_path / "grid.html")


def test_malformed_levels_are_rejected_before_tracing():
    state = _start(ENV, ALL_KINDS)
    level = jax.device_get(state.level)
    assert ENV.coerce_level(level) is not None  # a generated level passes
    owner = np.asarray(level.owner).copy()
    owner[np.flatnonzero(owner >= 0)[0]] = -1
    cases = {
        "kind outside": level.replace(kind=np.full_like(level.kind, 99)),
        "without an owner": level.replace(owner=owner),
        "character codes": level.replace(slot_value=np.full_like(level.slot_value, MAX_CHAR + 1)),
        "value_len outside": level.replace(value_len=np.full_like(level.value_len, 99)),
        "names no field": level.replace(field_word=np.zeros_like(level.field_word)),
    }
    for message, bad in cases.items():
        with pytest.raises(ValueError, match=message):
            ENV.coerce_level(bad)
    with pytest.raises(ValueError, match="shape"):
        ENV.coerce_level(level.replace(kind=level.kind[:3]))


class _AllSlots(Form):
    """A form with the upper bound of slots (every widget a checkbox group)."""

    @property
    def slots(self) -> int:
        return self.max_widgets * self.max_options


# ClickCheckboxes-v0 names the most pairs of the single-task ids.
@pytest.mark.parametrize("env_id", [*_web_ids(also=("curriculax/ClickCheckboxes-v0",)), None])
def test_slots_count_every_pair_a_level_names(env_id):
    # Procedural: four instructed checkbox groups, the most pairs a level can name.
    checkboxes = jnp.asarray([0.0, 0, 1, 0, 0, 0, 0])
    procedural = ENV.make_params(num_widgets=4, num_instructed=4, kind_weights=checkboxes)
    env, params = curriculax.make(env_id) if env_id else (ENV, procedural)
    wide = copy.copy(env)
    wide.__class__ = _AllSlots
    keys = jax.random.split(jax.random.key(7), 32)

    def draw(e):
        levels = jax.jit(jax.vmap(lambda k: e.sample_level(k, params)))(keys)
        return jax.tree.map(np.asarray, levels)

    level, upper = draw(env), draw(wide)
    k = env.slots
    assert not upper.slot_valid[:, k:].any(), f"{env_id}: a level names more than {k} pairs"
    for field in ("slot_valid", "field_word", "slot_value", "slot_len"):
        np.testing.assert_array_equal(getattr(level, field), getattr(upper, field)[:, :k])
