"""The web-form generator: a form's widgets, words, goal, instruction, pages and layout.

``generate`` draws one ``FormLevel`` for a ``Form``'s static sizes from the (clipped)
``FormParams``. Every random number comes from one uniform draw (``_Uniforms``), handed out in a
fixed order: drawing more, or in another order, changes every level a key gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.envs.webform import calendar, engine
from curriculax.envs.webform.calendar import CALENDAR_ROWS, DAYS
from curriculax.envs.webform.engine import FormLevel, Kind
from curriculax.envs.webform.layout import (
    MAX_JITTER,
    book_flight_calendar,
    book_flight_layout,
    book_flight_menu,
    calendar_geometry,
    layout,
    menu_geometry,
)
from curriculax.envs.webform.text import (
    SPACE,
    UPPER_A,
    WORD_LETTERS,
    date_chars,
    encode,
    word_chars,
    words_to_chars,
)
from curriculax.types import Array, PRNGKey

if TYPE_CHECKING:
    from curriculax.envs.webform.form import Form, FormParams

#: Widget kinds drawn by ``FormParams.kind_weights``, in its order.
DRAWN_WIDGETS = ("text", "password", "checkbox", "radio", "select", "date", "autocomplete")
#: Every widget kind: the drawn ones, then those only a fixed ``widgets`` list places (a form
#: has one datepicker at most: jQuery UI's one calendar).
WIDGETS = (*DRAWN_WIDGETS, "datepicker")
_W_TEXT, _W_PASSWORD, _W_CHECKBOX, _W_RADIO, _W_SELECT, _W_DATE, _W_AUTO, _W_PICKER = range(8)
#: The months a generated datepicker offers (book-flight's: October to December 2016) and the
#: one it opens on without a date (the last: book-flight's "today" is after its range).
PICKER_FIRST, PICKER_LAST = calendar.month_index(2016, 10), calendar.month_index(2016, 12)
#: Characters of a date (``mm/dd/yyyy``) and of a suggestion (two words).
DATE_CHARS, SUGGESTION_CHARS = 10, 2 * WORD_LETTERS + 1
#: Captions of Next and Submit (their rows' ``text``).
NEXT_CAPTION, SUBMIT_CAPTION = "next", "submit"
#: ``Form(page=...)``: MiniWoB++'s book-flight page (its geometry and airport entries).
BOOK_FLIGHT = "book-flight"
#: Characters of the longest generated airport (three city words, a suffix, state and code).
AIRPORT_CHARS = (3 * WORD_LETTERS + 2) + 2 + 2 + 3 + WORD_LETTERS + 2 + 3 + 1


def generate(key: PRNGKey, params: FormParams, form: Form) -> FormLevel:
    """Draws a form: widgets, their words and goal, the instruction, pages and layout.

    Args:
        key: the level's PRNG key.
        params: the task distribution, already clipped into ``form.checked_bounds()``.
        form: the env, for its static sizes (``max_widgets``, ``max_options``, ``max_words``,
            ``max_pages``, ``max_distractors``, ``max_chars``, ``widgets``, ``rows``, ``slots``,
            ``distinct_words``).

    Returns:
        The form as generated: its rows in page order, their boxes, start and goal, and the
        instruction slots.
    """
    p = params
    W, M, C = form.max_widgets, form.max_options, form.max_chars
    B, P, D = 1 + M, form.max_pages, form.max_distractors
    N = form.rows - form.calendar_rows
    airports = form.page == BOOK_FLIGHT
    draw = _Uniforms(
        key, W, M, form.max_words, form.distinct_words, D, form.calendar_rows > 0, airports
    )
    num_widgets = p.num_widgets if form.widgets is None else jnp.int32(len(form.widgets))
    w_idx = jnp.arange(W)
    w_valid = w_idx < num_widgets
    if form.widgets is None:
        weights = jnp.maximum(p.kind_weights, 0.0)
        weights = jnp.where(jnp.sum(weights) > 0, weights, 1.0)
        cdf = jnp.cumsum(weights) / jnp.sum(weights)
        w_kind = jnp.sum(draw(W)[:, None] >= cdf[None, :-1], axis=1)  # inverse CDF
    else:
        fixed = [WIDGETS.index(k) for k in form.widgets] + [0] * (W - len(form.widgets))
        w_kind = jnp.asarray(fixed, jnp.int32)
        draw(W)
    low = jnp.minimum(p.options_low, p.options_high)
    n_opt = _ints(draw(W), low, p.options_high + 1)
    listed = jnp.isin(w_kind, jnp.asarray([_W_CHECKBOX, _W_RADIO, _W_SELECT, _W_AUTO]))
    o_valid = listed[:, None] & (jnp.arange(M)[None, :] < n_opt[:, None]) & w_valid[:, None]
    auto = w_kind == _W_AUTO

    # Distinct words: one per stride of the vocabulary, shuffled.
    count = form.distinct_words
    stride = p.vocab_size // count
    words = 1 + jnp.arange(count) * stride + _ints(draw(count), 0, stride)
    words = words[jnp.argsort(draw(count))]
    label_word = words[:W]
    option_first = words[W : W + W * M].reshape(W, M)
    distractor_word = words[W + W * M :]
    rest = _ints(draw(W, M, form.max_words), 1, p.vocab_size + 1)
    rest = rest.at[:, :, 0].set(option_first)
    option_chars, option_len = jax.vmap(
        jax.vmap(lambda ws: words_to_chars(ws, p.words_per_value, C))
    )(rest)  # [W, M, C], [W, M]
    value_words = _ints(draw(W, form.max_words), 1, p.vocab_size + 1)
    value_words = jnp.where(p.same_value, value_words[:1], value_words)
    value_chars, value_len = jax.vmap(lambda ws: words_to_chars(ws, p.words_per_value, C))(
        value_words
    )
    # Dates, mm/dd/yyyy (2000-2029, days 1-28 so every month has them), type as text.
    dates = date_chars(_ints(draw(W), 1, 13), _ints(draw(W), 1, 29), _ints(draw(W), 2000, 2030))
    if C >= DATE_CHARS:  # else the form has no date fields (``__init__``)
        date = w_kind == _W_DATE
        dated = jnp.zeros((W, C), jnp.int32).at[:, :DATE_CHARS].set(dates)
        value_chars = jnp.where(date[:, None], dated, value_chars)
        value_len = jnp.where(date, DATE_CHARS, value_len)
    # Suggestions: two words, the first distinct (the instruction names it), the second any.
    second = _ints(draw(W, M), 1, p.vocab_size + 1)
    suggestion_chars, suggestion_len = jax.vmap(
        jax.vmap(lambda a, b: words_to_chars(jnp.stack([a, b]), 2, C))
    )(option_first, second)
    option_chars = jnp.where(auto[:, None, None], suggestion_chars, option_chars)
    option_len = jnp.where(auto[:, None], suggestion_len, option_len)
    if airports:  # book-flight: one list of airports that every box's menu draws from
        first_auto = jnp.argmax(auto)
        shared = jnp.maximum(n_opt[first_auto], 2)
        n_opt = jnp.where(auto, shared, n_opt)
        o_valid = listed[:, None] & (jnp.arange(M)[None, :] < n_opt[:, None]) & w_valid[:, None]
        pool, pool_len, city_len = _airports(draw, option_first[first_auto], p.vocab_size, C)
        option_chars = jnp.where(auto[:, None, None], pool[None], option_chars)
        option_len = jnp.where(auto[:, None], pool_len[None], option_len)
        option_first = jnp.where(auto[:, None], option_first[first_auto][None], option_first)
        by_code = draw(W) < 0.5  # the instruction names the airport by its code, else its city

    # Instructed widgets and their goal.
    order = jnp.argsort(jnp.where(w_valid, draw(W), 2.0))
    rank = jnp.zeros(W, jnp.int32).at[order].set(jnp.arange(W))
    instructed = w_valid & (rank < jnp.minimum(p.num_instructed, num_widgets))
    ticks = (draw(W, M) < 0.5) & o_valid
    pick = _ints(draw(W), 0, n_opt)
    if airports:  # the boxes' airports differ: a later box skips the first box's pick
        first_pick = pick[first_auto]
        other = (first_pick + 1 + _ints(draw(W), 0, n_opt - 1)) % jnp.maximum(n_opt, 1)
        pick = jnp.where(auto & (w_idx != first_auto), other, pick)
    goal_on = jnp.where(
        (w_kind == _W_CHECKBOX)[:, None], ticks, jnp.arange(M)[None, :] == pick[:, None]
    )
    # An autocomplete field's goal is its picked suggestion's text, typed or chosen.
    picked_chars = option_chars[w_idx, pick]  # [W, C]
    value_chars = jnp.where(auto[:, None], picked_chars, value_chars)
    value_len = jnp.where(auto, option_len[w_idx, pick], value_len)
    # (an autocomplete's goal flag marks the suggestion it accepts: the picked one)
    goal_on = goal_on & o_valid & instructed[:, None]
    if form.calendar_rows:  # a date in the calendar's range (uniforms only these forms reserve)
        picked_month = _ints(draw(W), PICKER_FIRST, PICKER_LAST + 1)
        picked_day = _ints(draw(W), 1, calendar.days_in_month(picked_month) + 1)
        picked = jax.vmap(calendar.date_text)(picked_month, picked_day)
        picked = jnp.zeros((W, C), jnp.int32).at[:, : picked.shape[1]].set(picked)
        value_chars = jnp.where((w_kind == _W_PICKER)[:, None], picked, value_chars)
        value_len = jnp.where(w_kind == _W_PICKER, DATE_CHARS, value_len)
    texty = jnp.isin(w_kind, jnp.asarray([_W_TEXT, _W_PASSWORD, _W_DATE, _W_AUTO, _W_PICKER]))
    goal_text = texty & instructed
    prefilled = instructed & (draw(W) < p.prefill)

    # Instruction slots: (label, value) per text/radio/select, per ticked checkbox.
    slot_on = jnp.where(
        (w_kind == _W_CHECKBOX)[:, None],
        goal_on,
        (jnp.arange(M)[None, :] == 0) & instructed[:, None],
    )  # [W, M]
    chosen = jnp.sum(jnp.where(goal_on, jnp.arange(M)[None, :], 0), axis=1)
    # ... an autocomplete's slot: its suggestion's first word (on book-flight's page: city or code).
    code = jnp.where(jnp.arange(C) < WORD_LETTERS, picked_chars, 0)
    code_len = jnp.full(W, WORD_LETTERS, jnp.int32)
    if airports:  # "City, ST" (what precedes " (ABC)") or the code "ABC"
        picked_len = option_len[w_idx, pick]
        at = jnp.clip(picked_len[:, None] - 4 + jnp.arange(C)[None, :], 0, C - 1)
        airport_code = jnp.where(jnp.arange(C) < 3, jnp.take_along_axis(picked_chars, at, 1), 0)
        named_len = city_len[pick]
        city = jnp.where(jnp.arange(C)[None, :] < named_len[:, None], picked_chars, 0)
        code = jnp.where(by_code[:, None], airport_code, city)
        code_len = jnp.where(by_code, 3, named_len)
    typed_chars = jnp.where(auto[:, None], code, value_chars)
    typed_len = jnp.where(auto, code_len, value_len)
    slot_chars = jnp.where(
        (w_kind == _W_CHECKBOX)[:, None, None],
        option_chars,
        jnp.where(
            texty[:, None, None],
            typed_chars[:, None, :],
            option_chars[w_idx, chosen][:, None, :],
        ),
    )
    slot_len = jnp.where(
        (w_kind == _W_CHECKBOX)[:, None],
        option_len,
        jnp.where(texty[:, None], typed_len[:, None], option_len[w_idx, chosen][:, None]),
    )
    # Named pairs first, in random order; at most K of them (``slots``).
    slot_order = jnp.argsort(jnp.where(slot_on.reshape(-1), draw(W * M), 2.0))[: form.slots]
    slot_valid = slot_on.reshape(-1)[slot_order]
    field_word = jnp.where(slot_valid, jnp.repeat(label_word, M)[slot_order], 0)
    slot_value = jnp.where(slot_valid[:, None], slot_chars.reshape(W * M, C)[slot_order], 0)
    slot_len = jnp.where(slot_valid, slot_len.reshape(-1)[slot_order], 0)

    # Pages and layout: widgets in (maybe shuffled) order, split evenly over the pages.
    shuffle = draw(1)[0] < p.layout_shuffle
    position = jnp.where(shuffle, rank, w_idx)  # rank: a random order of valid widgets
    num_pages = jnp.minimum(p.num_pages, num_widgets)
    w_page = position * num_pages // num_widgets
    jitter = jnp.where(shuffle, _ints(draw(W), 0, MAX_JITTER + 1), 0)

    # Rows: per widget a header then its options; then Next/Submit per page; distractors.
    header_kind = jnp.asarray(
        [Kind.TEXT, Kind.PASSWORD, Kind.HEADING, Kind.HEADING, Kind.SELECT, Kind.DATE,
         Kind.AUTOCOMPLETE, Kind.DATEPICKER], jnp.int32,
    )[w_kind]  # fmt: skip
    option_kind = jnp.asarray(
        [Kind.PAD, Kind.PAD, Kind.CHECKBOX, Kind.RADIO, Kind.OPTION, Kind.PAD,
         Kind.SUGGESTION, Kind.PAD], jnp.int32,
    )[w_kind]  # fmt: skip
    block_kind = jnp.concatenate(
        [
            jnp.where(w_valid, header_kind, Kind.PAD)[:, None],
            jnp.where(o_valid, option_kind[:, None], Kind.PAD),
        ],
        axis=1,
    )  # [W, B]
    label_chars, _ = jax.vmap(lambda w: words_to_chars(w[None], 1, C))(label_word)
    block_text = jnp.concatenate([label_chars[:, None], option_chars], axis=1)
    block_word = jnp.concatenate([label_word[:, None], option_first], axis=1)
    block_on_goal = jnp.concatenate([jnp.zeros((W, 1), bool), goal_on], axis=1)
    block_value = (
        jnp.zeros((W, B, C), jnp.int32).at[:, 0].set(jnp.where(goal_text[:, None], value_chars, 0))
    )
    block_len = jnp.zeros((W, B), jnp.int32).at[:, 0].set(jnp.where(goal_text, value_len, 0))
    block_order = position[:, None] * B + jnp.arange(B)[None, :]

    page_idx = jnp.arange(P)
    button_kind = jnp.where(
        page_idx < num_pages - 1,
        Kind.NEXT,
        jnp.where(page_idx == num_pages - 1, Kind.SUBMIT, Kind.PAD),
    )
    caption_next = text_to_chars(NEXT_CAPTION, C)
    caption_submit = text_to_chars(SUBMIT_CAPTION, C)
    button_text = jnp.where(
        (button_kind == Kind.NEXT)[:, None], caption_next[None], caption_submit[None]
    )
    d_idx = jnp.arange(D)
    d_valid = d_idx < p.num_distractors
    d_page = _ints(draw(D), 0, num_pages)
    d_text, _ = jax.vmap(lambda w: words_to_chars(w[None], 1, C))(distractor_word)
    d_key = draw(D)

    def flat(x):
        return x.reshape(W * B, *x.shape[2:])

    kind = jnp.concatenate(
        [flat(block_kind), button_kind, jnp.where(d_valid, Kind.DISTRACTOR, Kind.PAD)]
    ).astype(jnp.int32)
    text = jnp.concatenate([flat(block_text), button_text, d_text])
    word = jnp.concatenate([flat(block_word), jnp.zeros(P, jnp.int32), distractor_word])
    page = jnp.concatenate([jnp.repeat(w_page, B), page_idx, jnp.where(d_valid, d_page, 0)])
    page = page.astype(jnp.int32)
    sort_key = jnp.concatenate(
        [
            page[: W * B] * 100_000.0 + flat(block_order),
            page_idx * 100_000.0 + 50_000.0 + 1.0,
            page[W * B + P :] * 100_000.0 + 50_000.0 + d_key,
        ]
    )
    sort_key = jnp.where(kind == Kind.PAD, 1e9 + jnp.arange(N), sort_key)
    perm = jnp.argsort(sort_key)
    new_of_old = jnp.zeros(N, jnp.int32).at[perm].set(jnp.arange(N))
    header_old = jnp.repeat(w_idx * B, B)
    owner_old = jnp.concatenate(
        [
            jnp.where(jnp.tile(jnp.arange(B), W) > 0, header_old, -1),
            jnp.full(P + D, -1),
        ]
    )
    owned = jnp.asarray([Kind.CHECKBOX, Kind.RADIO, Kind.OPTION, Kind.SUGGESTION])
    owner_old = jnp.where(jnp.isin(kind, owned), owner_old, -1)
    owner = jnp.where(owner_old >= 0, new_of_old[jnp.maximum(owner_old, 0)], -1)[perm]
    kind, text, word, page = kind[perm], text[perm], word[perm], page[perm]
    pad = kind == Kind.PAD
    text, word = jnp.where(pad[:, None], 0, text), jnp.where(pad, 0, word)
    widget_jitter = jnp.concatenate([jnp.repeat(jitter, B), jnp.zeros(P + D, jnp.int32)])[perm]
    goal_on = jnp.concatenate([flat(block_on_goal), jnp.zeros(P + D, bool)])[perm]
    goal_value = jnp.concatenate([flat(block_value), jnp.zeros((P + D, C), jnp.int32)])[perm]
    goal_len = jnp.concatenate([flat(block_len), jnp.zeros(P + D, jnp.int32)])[perm]
    pre = jnp.concatenate([jnp.repeat(prefilled, B), jnp.zeros(P + D, bool)])[perm]
    on = goal_on & pre & (kind != Kind.SUGGESTION)  # a prefilled box holds its goal's text
    value = jnp.where(pre[:, None], goal_value, 0)
    value_len = jnp.where(pre, goal_len, 0)
    radio_heading = jnp.zeros(N, bool).at[owner].max(kind == Kind.RADIO, mode="drop")
    scored = engine.is_kind(kind, (*engine.VALUE_KINDS, Kind.CHECKBOX, Kind.SELECT)) | (
        (kind == Kind.HEADING) & radio_heading
    )
    if airports:
        box = book_flight_layout(kind, owner, jnp.sum(text > 0, axis=1))
    else:
        box = layout(kind, page, owner, widget_jitter)
    level = FormLevel(
        kind=kind,
        text=text,
        word=word,
        owner=owner,
        page=page,
        box=box,
        value=value,
        value_len=value_len,
        on=on,
        goal_value=goal_value,
        goal_len=goal_len,
        goal_on=goal_on,
        scored=scored,
        field_word=field_word,
        slot_value=slot_value,
        slot_len=slot_len,
        slot_valid=slot_valid,
        num_pages=num_pages.astype(jnp.int32),
        number=jnp.zeros(N, jnp.int32),
        calendar=jnp.zeros(len(calendar.CALENDAR_FIELDS), jnp.int32),
        menu=book_flight_menu() if airports else menu_geometry(),
    )
    return _with_calendar(level, C, airports) if form.calendar_rows else level


def _with_calendar(level: FormLevel, width: int, book_flight: bool) -> FormLevel:
    """``level`` with its datepicker's calendar rows appended (Prev, Next, title, 31 days).

    The calendar opens under its datepicker (``layout.calendar_geometry``) on the rows below;
    on ``book_flight``'s page above it (``layout.book_flight_calendar``).
    """
    picker = jnp.argmax(level.kind == Kind.DATEPICKER)
    if book_flight:
        geometry, fixed_boxes = book_flight_calendar()
    else:
        geometry, fixed_boxes = calendar_geometry(level.box[picker], PICKER_FIRST, PICKER_LAST)
    kind = jnp.asarray(
        [Kind.CAL_PREV, Kind.CAL_NEXT, Kind.CAL_TITLE] + [Kind.DAY] * DAYS, jnp.int32
    )
    text = jnp.stack(
        [text_to_chars(t, width) for t in ("prev", "next", "")]
        + [text_to_chars(str(d), width) for d in range(1, DAYS + 1)]
    )
    boxes = jnp.concatenate([fixed_boxes, jnp.zeros((DAYS, 4), jnp.int32)])

    def grow(x: jax.Array, fill: jax.Array) -> jax.Array:
        return jnp.concatenate([x, jnp.broadcast_to(fill, (CALENDAR_ROWS, *x.shape[1:]))])

    zero_text = jnp.zeros(width, jnp.int32)
    return level.replace(
        kind=grow(level.kind, 0).at[-CALENDAR_ROWS:].set(kind),
        text=grow(level.text, zero_text).at[-CALENDAR_ROWS:].set(text),
        word=grow(level.word, 0),
        owner=grow(level.owner, -1),
        page=grow(level.page, level.page[picker]),
        box=grow(level.box, jnp.zeros(4, jnp.int32)).at[-CALENDAR_ROWS:].set(boxes),
        value=grow(level.value, zero_text),
        value_len=grow(level.value_len, 0),
        on=grow(level.on, False),
        goal_value=grow(level.goal_value, zero_text),
        goal_len=grow(level.goal_len, 0),
        goal_on=grow(level.goal_on, False),
        scored=grow(level.scored, False),
        number=jnp.concatenate([level.number, jnp.arange(-2, DAYS + 1).clip(0)]),
        calendar=geometry,
    )


class _Uniforms:
    """All of a form's randomness from one uniform draw, handed out in consecutive slices.

    One RNG call compiles several times faster than a dozen ``randint`` calls with traced bounds.
    """

    def __init__(
        self,
        key: PRNGKey,
        w: int,
        o: int,
        words: int,
        distinct: int,
        d: int,
        picker: bool,
        airports: bool,
    ) -> None:
        # A datepicker's date and book-flight's airports take uniforms only their forms reserve:
        # other forms draw exactly what they did before these existed.
        total = w * (9 + 3 * o + o * words + words) + 2 * distinct + 2 * d + 1 + 2 * w * picker
        total += (AIRPORT_UNIFORMS * o + 1 + 2 * w) * airports
        self._u = jax.random.uniform(key, (total,))
        self._at = 0

    def __call__(self, *shape: int) -> Array:
        size = int(np.prod(shape))
        if self._at + size > self._u.shape[0]:
            raise AssertionError("form generator drew more uniforms than it reserved")
        out = self._u[self._at : self._at + size].reshape(shape)
        self._at += size
        return out


#: Uniforms per generated airport (``_airports``).
AIRPORT_UNIFORMS = 9
_COMMA, _DASH, _OPEN, _CLOSE = (encode(c)[0] for c in ",-()")


def _airports(
    draw: _Uniforms, first_words: Array, vocab: Array, width: int
) -> tuple[Array, Array, Array]:
    """book-flight-like airports: ``City Words, ST (ABC)`` or ``City, ST - Suffix (ABC)``.

    One to three capitalised city words (the first distinct per airport: ``first_words``), a
    two-letter state, maybe a suffix word (MiniWoB++'s ``- Van service``), and a code of three
    capitals, distinct per airport. Lengths span 15 to ``AIRPORT_CHARS`` characters (the page's:
    14-52), so instructions name cities of 9 to 29 characters or a 3-letter code.

    Args:
        draw: the form's uniforms.
        first_words: int32 [M], distinct word ids.
        vocab: the vocabulary size.
        width: characters per text (C).

    Returns:
        ``(chars int32 [M, C], length int32 [M], city length int32 [M])``; the city part is the
        text before `` (ABC)``.
    """
    m = first_words.shape[0]
    words = _ints(draw(m, 4), 1, vocab + 1).at[:, 0].set(first_words)  # 3 city words, a suffix
    letters = word_chars(words)  # [M, 4, 5]
    letters = letters.at[..., 0].add(UPPER_A - 1)  # capitalised
    city_words = _ints(draw(m), 1, 4)
    suffix = draw(m) < 0.5
    state = UPPER_A + _ints(draw(m, 2), 0, 26)
    stride = 26**3 // m
    number = (_ints(draw(1), 0, 26**3) + jnp.arange(m) * stride + _ints(draw(m), 0, stride)) % (
        26**3
    )
    code = UPPER_A + jnp.stack([number // 676, number // 26 % 26, number % 26], axis=-1)

    def piece(chars: list[int] | Array, length: Array) -> tuple[Array, Array]:
        chars = jnp.asarray(chars, jnp.int32)
        chars = jnp.broadcast_to(chars, (m, chars.shape[-1]))
        padded = jnp.zeros((m, WORD_LETTERS), jnp.int32).at[:, : chars.shape[1]].set(chars)
        return padded, jnp.broadcast_to(jnp.asarray(length, jnp.int32), (m,))

    space = [SPACE]
    pieces = [
        piece(letters[:, 0], 5),
        piece(space, city_words >= 2),
        piece(letters[:, 1], 5 * (city_words >= 2)),
        piece(space, city_words >= 3),
        piece(letters[:, 2], 5 * (city_words >= 3)),
        piece([_COMMA, SPACE], 2),
        piece(state, 2),
        piece([SPACE, _DASH, SPACE], 3 * suffix),
        piece(letters[:, 3], 5 * suffix),
        piece([SPACE, _OPEN], 2),
        piece(code, 3),
        piece([_CLOSE], 1),
    ]
    chars = jnp.stack([c for c, _ in pieces], axis=1)  # [M, P, 5]
    lengths = jnp.stack([n for _, n in pieces], axis=1)  # [M, P]
    text, length = jax.vmap(lambda c, n: _join(c, n, width))(chars, lengths)
    city_len = jnp.sum(lengths[:, :9], axis=1)
    return text, length, city_len


def _join(pieces: Array, lengths: Array, width: int) -> tuple[Array, Array]:
    """Concatenates ``lengths[p]`` characters of each of ``pieces`` [P, L] into [width]."""
    ends = jnp.cumsum(lengths)
    starts = ends - lengths
    at = jnp.arange(width)
    which = jnp.minimum(jnp.sum(at[:, None] >= ends[None, :], axis=1), pieces.shape[0] - 1)
    offset = jnp.clip(at - starts[which], 0, pieces.shape[1] - 1)
    chars = jnp.where(at < ends[-1], pieces[which, offset], 0)
    return chars, ends[-1]


def _ints(u: Array, low: Array, high: Array) -> Array:
    """Integers uniform in ``[low, high)`` from uniforms ``u`` in ``[0, 1)``."""
    span = jnp.maximum(high - low, 1)
    return (low + jnp.minimum(jnp.floor(u * span).astype(jnp.int32), span - 1)).astype(jnp.int32)


def text_to_chars(text: str, width: int) -> Array:
    """Character codes of ``text`` (``text.encode``) padded to ``width`` (a constant)."""
    codes = encode(text)[:width]
    return jnp.asarray(codes + [0] * (width - len(codes)), jnp.int32)
