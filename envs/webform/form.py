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

The levels are drawn by ``generator.generate`` and laid out by ``layout.layout``; this module holds
the env: its params and bounds, the episode, the observation and the action space.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX, Env
from curriculax.envs.webform import engine
from curriculax.envs.webform.calendar import CALENDAR_ROWS
from curriculax.envs.webform.engine import BODY, FormLevel, FormState, Kind
from curriculax.envs.webform.generator import (
    AIRPORT_CHARS,
    BOOK_FLIGHT,
    DATE_CHARS,
    DRAWN_WIDGETS,
    SUGGESTION_CHARS,
    WIDGETS,
    generate,
)
from curriculax.envs.webform.html import form_html
from curriculax.envs.webform.layout import PAGE_WIDTH
from curriculax.envs.webform.render import render_form
from curriculax.envs.webform.text import MAX_CHAR, MAX_VOCAB, WORD_LETTERS, word_of
from curriculax.policy_spec import ElementTableSpec
from curriculax.spaces import Box, Discrete
from curriculax.types import Array, EnvParams, PRNGKey

#: Bounds of ``FormParams.gamma`` (checked and clipped; not a task dimension, see
#: ``Form.param_bounds``).
GAMMA_BOUNDS = (0.0, 1.0)
#: The longest text a box can hold (its ``maxlength``): book-flight's airports run to 52
#: characters. A click on a box leaves the caret after its text, here and on the exported page
#: (whose script moves it there); the MiniWoB++ bridge presses End after such a click.
MAX_CHARS_LIMIT = 64
#: Typed lengths are divided by this in the policy's input (``ElementTableSpec.char_scale``).
VALUE_LEN_SCALE = 30.0
#: Widgets that are text boxes (``MAX_CHARS_LIMIT`` bounds their text).
BOX_WIDGETS = ("text", "password", "date", "autocomplete", "datepicker")
#: Widgets whose values or options are ``words_per_value`` words.
WORDED_WIDGETS = ("text", "password", "checkbox", "radio", "select")
#: The longest text of a form without text boxes.
MAX_OPTION_CHARS = 64
#: Observation columns (``Form.observe``); then three blocks of K instruction matches.
OBS_COLUMNS = (
    "row_type", "kind", "visible", "on", "focused", "word", "owner_word",
    "x", "y", "width", "height", "value_len",
)  # fmt: skip
#: ``row_type`` of an instruction row (element rows: 1, padding: 0).
SLOT_ROW_TYPE = 2
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
            group, select, date and autocomplete (``generator.DRAWN_WIDGETS``; ignored for
            widgets fixed by the static ``widgets``, which alone can place a datepicker).
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
            with it a step's reward stays within ``reward_range``). The potential is the share
            of scored rows right less that share at the start, so with ``gamma`` 1 an episode's
            shaping sums to 0 and its return is the unshaped one.
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
        page: ``None``, the generator's own stacked layout and two-word suggestions; or
            ``"book-flight"``, MiniWoB++'s book-flight page: its geometry (the boxes where the
            page has them, menus that float over the rows below, the calendar above the date
            box) and airport entries (``City, ST (ABC)``) that both menus list, named by city or
            by code (needs ``widgets=("autocomplete", "autocomplete", "datepicker")``).

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
        page: str | None = None,
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
            if widgets.count("datepicker") > 1:
                raise ValueError(
                    f"Form widgets may hold one datepicker (one calendar per page), got {widgets}"
                )
        longest = max_words * (WORD_LETTERS + 1) - 1
        dated = widgets is None or bool({"date", "autocomplete", "datepicker"} & set(widgets))
        if dated:
            longest = max(longest, DATE_CHARS, SUGGESTION_CHARS)
        if page is not None:
            pages = {BOOK_FLIGHT: ("autocomplete", "autocomplete", "datepicker")}
            if page not in pages:
                raise ValueError(f"Form page must be None or one of {sorted(pages)}, got {page!r}")
            if widgets != pages[page]:
                raise ValueError(f"Form page={page!r} needs widgets={pages[page]}, got {widgets}")
            longest = max(longest, AIRPORT_CHARS)
        # The caret rule bounds what a text box holds; a form without boxes (choices only) may
        # carry longer option texts (MiniWoB++'s choose-list countries, imported).
        boxed = widgets is None or bool(set(BOX_WIDGETS) & set(widgets))
        most = MAX_CHARS_LIMIT if boxed else MAX_OPTION_CHARS
        if not longest <= max_chars <= most:
            raise ValueError(
                f"Form max_chars must hold a value of max_words={max_words} words"
                + (", a date and a two-word suggestion" if dated else "")
                + (f", a {page} airport" if page else "")
                + f" ({longest} characters) and be at most {most}"
                + (" (a form with text boxes)" if boxed else "")
                + f", got {max_chars}"
            )
        self.max_widgets, self.max_options, self.max_words = max_widgets, max_options, max_words
        self.max_pages, self.max_distractors, self.max_chars = max_pages, max_distractors, max_chars
        self.widgets, self.page = widgets, page

    # ----------------------------------------------------------------- sizes

    @property
    def calendar_rows(self) -> int:
        """Rows of the datepicker's calendar (``calendar.CALENDAR_ROWS``), 0 without one."""
        return CALENDAR_ROWS if self.widgets is not None and "datepicker" in self.widgets else 0

    @property
    def rows(self) -> int:
        """``N``: rows of the table.

        A header and options per widget, a Next/Submit per page, the distractors, and a
        datepicker's calendar.
        """
        blocks = self.max_widgets * (1 + self.max_options)
        return blocks + self.max_pages + self.max_distractors + self.calendar_rows

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
            kind_weights=jnp.ones(len(DRAWN_WIDGETS), jnp.float32),
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

    @property
    def _worded(self) -> bool:
        """Whether some widget's value or options are words (``words_per_value`` shapes them)."""
        return self.widgets is None or bool(set(self.widgets) & set(WORDED_WIDGETS))

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
            # words per typed value and option: pinned where no widget has either (an
            # autocomplete's suggestions are two words, dates are digits)
            "words_per_value": (1, self.max_words if self._worded else 1),
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
        return generate(key, self._clipped(params), self)

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
        state = FormState(
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
            listed=jnp.zeros(level.kind.shape, bool),  # menus start closed
            text_ok=engine.goal_text_matches(level, level.value, level.value_len),
            month=jnp.int32(-1),  # and so does the calendar
            start_progress=jnp.float32(0.0),
        )
        return state.replace(start_progress=engine.progress(state))

    def transition(
        self, key: PRNGKey, state: FormState, action: Array, params: FormParams
    ) -> tuple[FormState, Array, Array]:
        """Applies the action; scores a Submit, ends on a distractor or at the step budget."""
        p = self._clipped(params)
        # The potential is progress since the start: with γ = 1 a whole episode's shaping sums
        # to 0, so returns (and the success and curriculum signals read from them) stay raw.
        before = engine.progress(state) - state.start_progress
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
        after = jnp.where(ended > 0, 0.0, engine.progress(new) - state.start_progress)
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
        text_is = state.text_is | engine.title_matches(level, state.month)
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
        flags = jnp.concatenate([field, text_is, state.value_is], axis=1)
        boxes = engine.row_boxes(state)
        elements = jnp.concatenate(
            [columns, boxes, state.value_len[:, None], flags.astype(jnp.int32)], axis=1
        )
        first_word = jnp.where(level.slot_valid, word_of(level.slot_value), 0)
        zeros = [jnp.zeros(k, jnp.int32)] * 4
        row_type = SLOT_ROW_TYPE * level.slot_valid
        slot_columns = jnp.stack(
            [row_type, *zeros, level.field_word, first_word, *zeros, level.slot_len],
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

    def policy_description(self) -> ElementTableSpec:
        """How the pointer network (``policy_network``) reads ``observe``'s table."""
        col = {name: i for i, name in enumerate(OBS_COLUMNS)}
        return ElementTableSpec(
            num_columns=len(OBS_COLUMNS),
            row_type=col["row_type"],
            kind=col["kind"],
            visible=col["visible"],
            on=col["on"],
            focused=col["focused"],
            box=col["x"],
            value_len=col["value_len"],
            slot_row_type=SLOT_ROW_TYPE,
            pixel_scale=float(PAGE_WIDTH),
            char_scale=VALUE_LEN_SCALE,
            num_kinds=len(Kind),
            clearable_kinds=tuple(int(k) for k in engine.TEXT_KINDS),
            untypeable_kinds=tuple(int(k) for k in engine.NOT_TYPEABLE),
        )

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
        return form_html(level, state)

    def render(self, state: FormState, params: FormParams) -> Array:
        """The page as the browser shows it: uint8 [height, 640, 3]."""
        return render_form(state, self.max_widgets, self.max_options, self.max_pages)
