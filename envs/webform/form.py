"""``Form``: procedurally generated web forms, and the MiniWoB++ tasks as fixed settings of it.

A form has up to ``max_widgets`` widgets (text box, password box, checkbox group, radio group,
``<select>``, date field, autocomplete field), split over pages joined by Next buttons; the last
page has Submit; distractor buttons end the episode with -1. The instruction lists ``(field,
value)`` pairs over a word vocabulary, QWeb-style, in random order: a text box's label and the
text to type; a group's or select's label and the option to choose (one pair per checkbox to
tick). The goal is generated
first: Submit succeeds when every instructed widget holds its value and every other one is
untouched. A date's value is a ``mm/dd/yyyy`` date; an autocomplete field's instruction gives the
first word of one of its suggestions (MiniWoB++ book-flight's airport code) and its goal is that
suggestion's whole text, which only clicking the suggestion puts in the box.

Observation: int32 [N + K, F], one row per element, then one per instruction slot (see
``Form.observe``). Action: ``Discrete(1 + 2N + NK)`` (``engine.decode_action``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import INT32_MAX, Env
from curriculax.envs.webform import engine
from curriculax.envs.webform.engine import BODY, FormLevel, FormState, Kind
from curriculax.envs.webform.text import (
    MAX_CHAR,
    MAX_VOCAB,
    WORD_LETTERS,
    date_chars,
    encode,
    word_of,
    words_to_chars,
)
from curriculax.spaces import Box, Discrete
from curriculax.types import Array, EnvParams, PRNGKey

#: Bounds of ``FormParams.gamma`` (checked and clipped; not a task dimension, see
#: ``Form.param_bounds``).
GAMMA_BOUNDS = (0.0, 1.0)
#: Widget kinds, in the order of ``FormParams.kind_weights``.
WIDGETS = ("text", "password", "checkbox", "radio", "select", "date", "autocomplete")
_W_TEXT, _W_PASSWORD, _W_CHECKBOX, _W_RADIO, _W_SELECT, _W_DATE, _W_AUTO = range(7)
#: Characters of a date (``mm/dd/yyyy``) and of a suggestion (two words).
DATE_CHARS, SUGGESTION_CHARS = 10, 2 * WORD_LETTERS + 1
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
#: The longest text a box can hold is kept under half its width (13 px monospace): a click at
#: the box's centre then always puts the caret after the text, in Chromium as here.
MAX_CHARS_LIMIT = 30
#: Widgets that are text boxes (``MAX_CHARS_LIMIT`` bounds their text).
BOX_WIDGETS = ("text", "password", "date", "autocomplete")
#: The longest text of a form without text boxes.
MAX_OPTION_CHARS = 64
#: Captions of Next and Submit (their rows' ``text``).
NEXT_CAPTION, SUBMIT_CAPTION = "next", "submit"
#: Observation columns (``Form.observe``); then three blocks of K instruction matches.
OBS_COLUMNS = (
    "row_type", "kind", "visible", "on", "focused", "word", "owner_word",
    "x", "y", "width", "height", "value_len",
)  # fmt: skip
#: The observation's upper bound: word ids (at most ``MAX_VOCAB``) and pixels.
OBS_HIGH = max(MAX_VOCAB, 10_000)


@struct.dataclass
class FormParams(EnvParams):
    """The task distribution of ``Form`` (every field traced; a curriculum moves them).

    Attributes:
        max_steps: int32 [], step budget; reaching it ends the episode with -1 (MiniWoB++'s
            timer, counted in steps).
        num_widgets: int32 [], widgets on the form, in ``[1, max_widgets]`` (with fixed
            ``widgets``: their number, the only valid value).
        num_instructed: int32 [], widgets the instruction names (at most ``num_widgets``).
        kind_weights: float32 [7], relative frequency of text, password, checkbox group, radio
            group, select, date and autocomplete (ignored for widgets fixed by the static
            ``widgets``).
        options_low, options_high: int32 [], options per group or select (suggestions per
            autocomplete field), uniform in between.
        vocab_size: int32 [], words labels and values are drawn from.
        words_per_value: int32 [], words in each value and option.
        num_pages: int32 [], pages (at most ``num_widgets``).
        num_distractors: int32 [], distractor buttons.
        layout_shuffle: float32 [], probability that the widgets are shuffled and shifted by up
            to 16 px (MiniWoB++'s multi-layouts and enter-text offsets).
        prefill: float32 [], probability that an instructed widget starts already done (QWeb's
            warm start).
        same_value: bool [], every text and password box gets the first one's value
            (enter-password).
        partial: bool [], raw reward is the mean of +-1 per scored element (click-checkboxes).
        shaping: float32 [], weight of the potential-based shaping term in [0, 1] (0: none;
            with it a step's reward stays within ``reward_range``).
        gamma: float32 [], discount of the shaping term: the learner's discount, for shaping
            that leaves the best policy unchanged (Ng et al. 1999); not a task dimension, so
            not in ``param_bounds()`` and never moved by a teacher.
    """

    num_widgets: Array
    num_instructed: Array
    kind_weights: Array
    options_low: Array
    options_high: Array
    vocab_size: Array
    words_per_value: Array
    num_pages: Array
    num_distractors: Array
    layout_shuffle: Array
    prefill: Array
    same_value: Array
    partial: Array
    shaping: Array
    gamma: Array


class Form(Env[FormLevel, FormState, FormParams]):
    """A procedurally generated web form (see the module docstring).

    Registered as ``curriculax/Form-v0`` and, with fixed widgets, as the MiniWoB++ tasks
    ``EnterText-v0``, ``EnterPassword-v0``, ``LoginUser-v0``, ``ClickOption-v0``,
    ``ClickCheckboxes-v0``, ``ChooseList-v0`` and ``FormSequence-v0``.

    Args:
        max_widgets: most widgets on a form.
        max_options: most options per group or select.
        max_words: most words per value.
        max_pages: most pages.
        max_distractors: most distractor buttons.
        max_chars: characters a text box holds (its ``maxlength``), at least a value's length.
        widgets: fixed widget kinds (names from ``WIDGETS``) in page order, or ``None`` to draw
            them from ``kind_weights``.

    Raises:
        ValueError: for limits that cannot hold a form or its text.
    """

    reward_range = (-2.0, 2.0)
    policy_network = "form"

    def __init__(
        self,
        max_widgets: int = 6,
        max_options: int = 4,
        max_words: int = 2,
        max_pages: int = 3,
        max_distractors: int = 2,
        max_chars: int = 24,
        widgets: tuple[str, ...] | None = None,
    ) -> None:
        for name, value, low in (
            ("max_widgets", max_widgets, 1),
            ("max_options", max_options, 2),
            ("max_words", max_words, 1),
            ("max_pages", max_pages, 1),
            ("max_distractors", max_distractors, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"Form {name} must be an int >= {low}, got {value!r}")
        distinct = max_widgets * (1 + max_options) + max_distractors
        if distinct > MAX_VOCAB:
            raise ValueError(
                f"Form needs max_widgets * (1 + max_options) + max_distractors = {distinct} "
                f"distinct words; the vocabulary holds {MAX_VOCAB}"
            )
        if widgets is not None and not isinstance(widgets, (tuple, list)):
            raise ValueError(
                f"Form widgets must be a tuple of names from {WIDGETS} or None, got {widgets!r}"
            )
        if widgets is not None:
            widgets = tuple(widgets)
            unknown = [w for w in widgets if not isinstance(w, str) or w not in WIDGETS]
            if unknown or not 1 <= len(widgets) <= max_widgets:
                raise ValueError(
                    f"Form widgets must be 1..{max_widgets} names from {WIDGETS}, got {widgets}"
                )
        longest = max_words * (WORD_LETTERS + 1) - 1
        dated = widgets is None or bool({"date", "autocomplete"} & set(widgets))
        if dated:
            longest = max(longest, DATE_CHARS, SUGGESTION_CHARS)
        # The caret rule bounds what a text box holds; a form without boxes (choices only) may
        # carry longer option texts (MiniWoB++'s choose-list countries, imported).
        boxed = widgets is None or bool(set(BOX_WIDGETS) & set(widgets))
        most = MAX_CHARS_LIMIT if boxed else MAX_OPTION_CHARS
        if not longest <= max_chars <= most:
            raise ValueError(
                f"Form max_chars must hold a value of max_words={max_words} words"
                + (", a date and a two-word suggestion" if dated else "")
                + f" ({longest} characters) and be at most {most}"
                + (" (a form with text boxes)" if boxed else "")
                + f", got {max_chars}"
            )
        self.max_widgets, self.max_options, self.max_words = max_widgets, max_options, max_words
        self.max_pages, self.max_distractors, self.max_chars = max_pages, max_distractors, max_chars
        self.widgets = widgets

    # ----------------------------------------------------------------- sizes

    @property
    def rows(self) -> int:
        """``N``: a header and options per widget, a Next/Submit per page, the distractors."""
        return self.max_widgets * (1 + self.max_options) + self.max_pages + self.max_distractors

    @property
    def slots(self) -> int:
        """``K``: instruction slots: one per widget, one per box of a checkbox group.

        With fixed ``widgets`` only their checkbox groups take ``max_options`` slots (BookFlight's
        four fields need 4, not 16: smaller observations, action spaces and steps); a
        procedural form's widgets may all be checkbox groups.
        """
        kinds = self.widgets or ("checkbox",) * self.max_widgets
        return sum(self.max_options if kind == "checkbox" else 1 for kind in kinds)

    @property
    def distinct_words(self) -> int:
        """Distinct words a form needs: labels, first words of options, distractor captions."""
        return self.max_widgets * (1 + self.max_options) + self.max_distractors

    # ----------------------------------------------------------------- params

    def default_params(self) -> FormParams:
        """Three of up to six widgets, two instructed, one page, one word per value."""
        w = self.max_widgets
        return FormParams(
            max_steps=jnp.int32(20),
            num_widgets=jnp.int32(min(3, w) if self.widgets is None else len(self.widgets)),
            num_instructed=jnp.int32(min(2, w) if self.widgets is None else len(self.widgets)),
            kind_weights=jnp.ones(len(WIDGETS), jnp.float32),
            options_low=jnp.int32(2),
            options_high=jnp.int32(self.max_options),
            vocab_size=jnp.int32(max(1000, self.distinct_words)),
            words_per_value=jnp.int32(1),
            num_pages=jnp.int32(1),
            num_distractors=jnp.int32(0),
            layout_shuffle=jnp.float32(0.0),
            prefill=jnp.float32(0.0),
            same_value=jnp.bool_(False),
            partial=jnp.bool_(False),
            shaping=jnp.float32(0.0),
            gamma=jnp.float32(0.99),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """Bounds of the curriculum-adaptable fields; out-of-bounds traced values are clipped.

        With fixed ``widgets`` their number is fixed too: ``num_widgets`` is pinned to it, and
        ``num_instructed`` and ``num_pages`` stop there (more would change nothing).
        ``gamma`` is bounded too (``GAMMA_BOUNDS``) but is not listed: it is the shaping
        potential's discount, the learner's to match, not a task dimension.
        """
        fixed = None if self.widgets is None else len(self.widgets)
        widgets = self.max_widgets if fixed is None else fixed
        return {
            "max_steps": (1, INT32_MAX),
            "num_widgets": (1 if fixed is None else fixed, widgets),
            "num_instructed": (0, widgets),
            "kind_weights": (0.0, float("inf")),
            "options_low": (2, self.max_options),
            "options_high": (2, self.max_options),
            "vocab_size": (self.distinct_words, MAX_VOCAB),
            "words_per_value": (1, self.max_words),
            "num_pages": (1, min(self.max_pages, widgets)),
            "num_distractors": (0, self.max_distractors),
            "layout_shuffle": (0.0, 1.0),
            "prefill": (0.0, 1.0),
            "shaping": (0.0, 1.0),
        }

    def checked_bounds(self) -> dict[str, tuple[float, float]]:
        """``param_bounds()`` and ``gamma`` inside ``GAMMA_BOUNDS`` (checked and clipped)."""
        return {**self.param_bounds(), "gamma": GAMMA_BOUNDS}

    def _clipped(self, params: FormParams) -> FormParams:
        out = {}
        for name, (low, high) in self.checked_bounds().items():
            value = getattr(params, name)
            out[name] = jnp.clip(jnp.nan_to_num(value, nan=low), low, high).astype(value.dtype)
        return params.replace(**out)

    # ----------------------------------------------------------------- generator

    def sample_level(self, key: PRNGKey, params: FormParams) -> FormLevel:
        """Draws a form: widgets, their words and goal, the instruction, pages and layout."""
        p = self._clipped(params)
        W, M, C = self.max_widgets, self.max_options, self.max_chars
        B, P, D, N = 1 + M, self.max_pages, self.max_distractors, self.rows
        draw = _Uniforms(key, W, M, self.max_words, self.distinct_words, D)
        num_widgets = p.num_widgets if self.widgets is None else jnp.int32(len(self.widgets))
        w_idx = jnp.arange(W)
        w_valid = w_idx < num_widgets
        if self.widgets is None:
            weights = jnp.maximum(p.kind_weights, 0.0)
            weights = jnp.where(jnp.sum(weights) > 0, weights, 1.0)
            cdf = jnp.cumsum(weights) / jnp.sum(weights)
            w_kind = jnp.sum(draw(W)[:, None] >= cdf[None, :-1], axis=1)  # inverse CDF
        else:
            fixed = [WIDGETS.index(k) for k in self.widgets] + [0] * (W - len(self.widgets))
            w_kind = jnp.asarray(fixed, jnp.int32)
            draw(W)
        low = jnp.minimum(p.options_low, p.options_high)
        n_opt = _ints(draw(W), low, p.options_high + 1)
        listed = jnp.isin(w_kind, jnp.asarray([_W_CHECKBOX, _W_RADIO, _W_SELECT, _W_AUTO]))
        o_valid = listed[:, None] & (jnp.arange(M)[None, :] < n_opt[:, None]) & w_valid[:, None]
        auto = w_kind == _W_AUTO

        # Distinct words: one per stride of the vocabulary, shuffled.
        count = self.distinct_words
        stride = p.vocab_size // count
        words = 1 + jnp.arange(count) * stride + _ints(draw(count), 0, stride)
        words = words[jnp.argsort(draw(count))]
        label_word = words[:W]
        option_first = words[W : W + W * M].reshape(W, M)
        distractor_word = words[W + W * M :]
        rest = _ints(draw(W, M, self.max_words), 1, p.vocab_size + 1)
        rest = rest.at[:, :, 0].set(option_first)
        option_chars, option_len = jax.vmap(
            jax.vmap(lambda ws: words_to_chars(ws, p.words_per_value, C))
        )(rest)  # [W, M, C], [W, M]
        value_words = _ints(draw(W, self.max_words), 1, p.vocab_size + 1)
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

        # Instructed widgets and their goal.
        order = jnp.argsort(jnp.where(w_valid, draw(W), 2.0))
        rank = jnp.zeros(W, jnp.int32).at[order].set(jnp.arange(W))
        instructed = w_valid & (rank < jnp.minimum(p.num_instructed, num_widgets))
        ticks = (draw(W, M) < 0.5) & o_valid
        pick = _ints(draw(W), 0, n_opt)
        goal_on = jnp.where(
            (w_kind == _W_CHECKBOX)[:, None], ticks, jnp.arange(M)[None, :] == pick[:, None]
        )
        # An autocomplete field's goal is its picked suggestion's text, typed or chosen.
        picked_chars = option_chars[w_idx, pick]  # [W, C]
        value_chars = jnp.where(auto[:, None], picked_chars, value_chars)
        value_len = jnp.where(auto, option_len[w_idx, pick], value_len)
        goal_on = goal_on & o_valid & instructed[:, None] & ~auto[:, None]
        texty = jnp.isin(w_kind, jnp.asarray([_W_TEXT, _W_PASSWORD, _W_DATE, _W_AUTO]))
        goal_text = texty & instructed
        prefilled = instructed & (draw(W) < p.prefill)

        # Instruction slots: (label, value) per text/radio/select, per ticked checkbox.
        slot_on = jnp.where(
            (w_kind == _W_CHECKBOX)[:, None],
            goal_on,
            (jnp.arange(M)[None, :] == 0) & instructed[:, None],
        )  # [W, M]
        chosen = jnp.sum(jnp.where(goal_on, jnp.arange(M)[None, :], 0), axis=1)
        # ... an autocomplete's slot: the first word of its suggestion (the "airport code").
        code = jnp.where(jnp.arange(C) < WORD_LETTERS, picked_chars, 0)
        typed_chars = jnp.where(auto[:, None], code, value_chars)
        typed_len = jnp.where(auto, WORD_LETTERS, value_len)
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
        slot_order = jnp.argsort(jnp.where(slot_on.reshape(-1), draw(W * M), 2.0))[: self.slots]
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
             Kind.AUTOCOMPLETE], jnp.int32,
        )[w_kind]  # fmt: skip
        option_kind = jnp.asarray(
            [Kind.PAD, Kind.PAD, Kind.CHECKBOX, Kind.RADIO, Kind.OPTION, Kind.PAD,
             Kind.SUGGESTION], jnp.int32,
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
            jnp.zeros((W, B, C), jnp.int32)
            .at[:, 0]
            .set(jnp.where(goal_text[:, None], value_chars, 0))
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
        page = jnp.concatenate(
            [jnp.repeat(w_page, B), page_idx, jnp.where(d_valid, d_page, 0)]
        ).astype(jnp.int32)
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
        on = goal_on & pre
        value = jnp.where(pre[:, None], goal_value, 0)
        value_len = jnp.where(pre, goal_len, 0)
        radio_heading = jnp.zeros(N, bool).at[owner].max(kind == Kind.RADIO, mode="drop")
        scored = engine.is_kind(kind, (*engine.TEXT_KINDS, Kind.CHECKBOX, Kind.SELECT)) | (
            (kind == Kind.HEADING) & radio_heading
        )
        box = _layout(kind, page, owner, widget_jitter)
        return FormLevel(
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
        )

    def level_checks(self, level: FormLevel, xp: ModuleType) -> list[tuple[str, Any]]:
        """The form's invariants, added to the base's (``Env.level_checks``).

        Kinds inside ``Kind``, owners that are a heading or select row, characters inside the
        alphabet, lengths within ``max_chars``, word ids inside the vocabulary and boxes inside
        the observation's bounds, rows on the form's pages, instruction slots that name a field.
        """
        kind, owner = level.kind, level.owner
        member = xp.isin(
            kind, xp.asarray([Kind.CHECKBOX, Kind.RADIO, Kind.OPTION, Kind.SUGGESTION])
        )
        owner = xp.where(member, owner, 0)
        has_owner = ~member | ((owner >= 0) & (owner < self.rows))
        owner_kind = xp.take_along_axis(kind, xp.clip(owner, 0, self.rows - 1), axis=-1)
        grouped = xp.isin(kind, xp.asarray([Kind.CHECKBOX, Kind.RADIO]))
        want = xp.select(
            [grouped, kind == Kind.OPTION],
            [xp.full_like(kind, Kind.HEADING), xp.full_like(kind, Kind.SELECT)],
            xp.full_like(kind, Kind.AUTOCOMPLETE),
        )
        checks = [
            (f"kind outside 0..{max(Kind)}", (kind >= 0) & (kind <= max(Kind))),
            ("a checkbox, radio button, option or suggestion without an owner row", has_owner),
            (
                "an owner of the wrong kind (groups: a heading, options: a select, "
                "suggestions: an autocomplete field)",
                ~member | ~has_owner | (owner_kind == want),
            ),
        ]
        for name in ("text", "value", "goal_value", "slot_value"):
            chars = getattr(level, name)
            checks.append(
                (
                    f"{name} has character codes outside 0..{MAX_CHAR}",
                    (chars >= 0) & (chars <= MAX_CHAR),
                )
            )
        for name in ("value_len", "goal_len", "slot_len"):
            length = getattr(level, name)
            checks.append(
                (
                    f"{name} outside 0..{self.max_chars} (max_chars)",
                    (length >= 0) & (length <= self.max_chars),
                )
            )
        for name in ("word", "field_word"):  # observed as they are
            word = getattr(level, name)
            checks.append(
                (f"{name} outside 0..{MAX_VOCAB}", (word >= 0) & (word <= MAX_VOCAB)),
            )
        checks.append(
            (f"box outside 0..{OBS_HIGH} pixels", (level.box >= 0) & (level.box <= OBS_HIGH))
        )
        pages = level.num_pages
        checks += [
            (f"num_pages outside 1..{self.max_pages}", (pages >= 1) & (pages <= self.max_pages)),
            (
                "a row on a page the form does not have",
                (kind == Kind.PAD) | ((level.page >= 0) & (level.page < pages[..., None])),
            ),
            ("an instruction slot that names no field", ~level.slot_valid | (level.field_word > 0)),
        ]
        return super().level_checks(level, xp) + checks

    # ----------------------------------------------------------------- episode

    def init_state(self, key: PRNGKey, level: FormLevel, params: FormParams) -> FormState:
        """The form as generated, on its first page, with the focus on the body."""
        return FormState(
            time=jnp.int32(0),
            level=level,
            value=level.value,
            value_len=level.value_len,
            on=level.on,
            page=jnp.int32(0),
            focus=jnp.int32(BODY),
            ended=jnp.int32(0),
            raw_reward=jnp.float32(0.0),
            text_is=engine.text_matches(level),
            value_is=engine.value_matches(level, level.value),
            listed=engine.suggestions_open(level, level.value, level.value_len),
            text_ok=engine.goal_text_matches(level, level.value, level.value_len),
        )

    def transition(
        self, key: PRNGKey, state: FormState, action: Array, params: FormParams
    ) -> tuple[FormState, Array, Array]:
        """Applies the action; scores a Submit, ends on a distractor or at the step budget."""
        p = self._clipped(params)
        before = engine.progress(state)
        new = engine.apply_action(state, action, self.rows, self.slots)
        timeout = (new.ended == 0) & (new.time >= p.max_steps)
        ended = jnp.where(timeout, 3, new.ended)
        raw = jnp.where(
            ended == 1,
            engine.raw_reward(new, p.partial),
            jnp.where(ended >= 2, -1.0, 0.0),
        ).astype(jnp.float32)
        scale = 1.0 - new.time.astype(jnp.float32) / p.max_steps.astype(jnp.float32)
        reward = jnp.where(raw > 0, raw * jnp.maximum(scale, 0.0), raw)
        after = jnp.where(ended > 0, 0.0, engine.progress(new))
        reward = reward + p.shaping * (p.gamma * after - before)
        new = new.replace(ended=ended, raw_reward=raw)
        return new, reward, ended > 0

    def step(
        self, key: PRNGKey, state: FormState, action: Array, params: FormParams
    ) -> tuple[Array, FormState, Array, Array, Array, dict[str, Array]]:
        """The base's step, with ``info["raw_reward"]`` and ``info["success"]`` at the end."""
        obs, new, reward, terminated, truncated, info = super().step(key, state, action, params)
        info = {"raw_reward": new.raw_reward, "success": (new.ended == 1) & (new.raw_reward > 0)}
        return obs, new, reward, terminated, truncated, info

    # ----------------------------------------------------------------- what the agent sees

    def observe(self, state: FormState, params: FormParams) -> Array:
        """int32 [N + K, 12 + 3K]: element rows, then instruction rows.

        Element rows: ``OBS_COLUMNS`` (row_type 1; x, y, width, height in pixels), then three
        blocks of K flags: the row (or its group, select or autocomplete field) is the field
        slot k names; the row's text starts with slot k's value (options; a suggestion starts
        with its slot's code); the text typed in the row is slot k's value. ``visible``: the row
        is on the visible page and, for a suggestion, its list is open.
        Instruction rows: row_type 2, ``word`` the field's word, ``owner_word`` the value's first
        word, ``value_len`` its length, then slot k's one-hot in the first block.
        """
        level = state.level
        n, k = self.rows, self.slots
        visible = engine.shown_rows(state)
        owner_word = jnp.where(level.owner >= 0, level.word[jnp.maximum(level.owner, 0)], 0)
        valid = level.slot_valid[None, :]
        field = valid & (
            (level.word[:, None] == level.field_word[None, :])
            | (owner_word[:, None] == level.field_word[None, :])
        )
        field = field & (level.field_word[None, :] > 0)
        columns = jnp.stack(
            [
                (level.kind != Kind.PAD).astype(jnp.int32),
                level.kind,
                visible,
                state.on,
                jnp.arange(n) == state.focus,
                level.word,
                owner_word,
            ],
            axis=1,
        ).astype(jnp.int32)
        flags = jnp.concatenate([field, state.text_is, state.value_is], axis=1)
        elements = jnp.concatenate(
            [columns, level.box, state.value_len[:, None], flags.astype(jnp.int32)], axis=1
        )
        first_word = jnp.where(level.slot_valid, word_of(level.slot_value), 0)
        zeros = [jnp.zeros(k, jnp.int32)] * 4
        slot_columns = jnp.stack(
            [2 * level.slot_valid, *zeros, level.field_word, first_word, *zeros, level.slot_len],
            axis=1,
        ).astype(jnp.int32)
        one_hot = jnp.eye(k, dtype=jnp.int32) * level.slot_valid[:, None]
        slots = jnp.concatenate([slot_columns, one_hot, jnp.zeros((k, 2 * k), jnp.int32)], axis=1)
        return jnp.concatenate([elements, slots])

    def observation_space(self, params: FormParams) -> Box:
        """int32 [N + K, 12 + 3K]; ids up to the vocabulary size, pixels up to the page size."""
        shape = (self.rows + self.slots, len(OBS_COLUMNS) + 3 * self.slots)
        return Box(-1, OBS_HIGH, shape, jnp.int32)

    def action_space(self, params: FormParams) -> Discrete:
        """``Discrete(1 + 2N + NK)``: NOOP, CLICK(i), CLEAR(i), TYPE(i, k)."""
        return Discrete(engine.num_actions(self.rows, self.slots))

    def action_mask(self, state: FormState, params: FormParams) -> Array:
        """Bool [A]: the actions that can change something now."""
        return engine.action_mask(state, self.rows, self.slots)

    def describe_action(self, action: int) -> str:
        """A flat action index in words, e.g. ``TYPE(row 3, slot 1)`` (host side)."""
        kind, row, slot = (int(x) for x in engine.decode_action(action, self.rows, self.slots))
        name = engine.Action(kind).name
        if kind == engine.Action.NOOP:
            return name
        if kind == engine.Action.TYPE:
            return f"{name}(row {row}, slot {slot})"
        return f"{name}(row {row})"

    def to_html(self, level: FormLevel, state: FormState | None = None) -> str:
        """The form as a standalone HTML page (``html.form_html``), at ``state`` if given."""
        from curriculax.envs.webform.html import form_html

        return form_html(level, state)

    def render(self, state: FormState, params: FormParams) -> Array:
        """The page as the browser shows it: uint8 [height, 640, 3]."""
        from curriculax.envs.webform.render import render_form

        return render_form(state, self.max_widgets, self.max_options, self.max_pages)


class _Uniforms:
    """All of a form's randomness from one uniform draw, handed out in consecutive slices.

    One RNG call compiles several times faster than a dozen ``randint`` calls with traced bounds.
    """

    def __init__(self, key: PRNGKey, w: int, o: int, words: int, distinct: int, d: int) -> None:
        total = w * (9 + 3 * o + o * words + words) + 2 * distinct + 2 * d + 1
        self._u = jax.random.uniform(key, (total,))
        self._at = 0

    def __call__(self, *shape: int) -> Array:
        size = int(np.prod(shape))
        if self._at + size > self._u.shape[0]:
            raise AssertionError("form generator drew more uniforms than it reserved")
        out = self._u[self._at : self._at + size].reshape(shape)
        self._at += size
        return out


def _ints(u: Array, low: Array, high: Array) -> Array:
    """Integers uniform in ``[low, high)`` from uniforms ``u`` in ``[0, 1)``."""
    span = jnp.maximum(high - low, 1)
    return (low + jnp.minimum(jnp.floor(u * span).astype(jnp.int32), span - 1)).astype(jnp.int32)


def text_to_chars(text: str, width: int) -> Array:
    """Character codes of ``text`` (``text.encode``) padded to ``width`` (a constant)."""
    codes = encode(text)[:width]
    return jnp.asarray(codes + [0] * (width - len(codes)), jnp.int32)


def page_height(max_widgets: int, max_options: int) -> int:
    """Pixel height of a page that fits the tallest form (every widget a group)."""
    group = ROW_HEIGHT[Kind.TEXT] + max_options * CHOICE_HEIGHT  # an autocomplete's is tallest
    return TOP + max_widgets * group + 2 * BUTTON_HEIGHT


def _layout(kind: Array, page: Array, owner: Array, jitter: Array) -> Array:
    """int32 [N, 4] boxes: widgets stacked down each page, buttons in a bar below them."""
    n = kind.shape[0]
    boxes = engine.is_kind(kind, engine.TEXT_KINDS)
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
