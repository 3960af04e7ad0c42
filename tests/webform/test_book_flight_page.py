"""BookFlight-v0's generated forms follow MiniWoB++'s book-flight page (``Form(page=...)``).

The page's own levels (imported through the bridge) are compared with generated ones in
``test_miniwob.py``'s browser tier; here the generator's side: geometry, shared menus, goals.
"""

from __future__ import annotations

import datetime
import functools
import re

import jax
import numpy as np
import pytest

import curriculax
from curriculax.envs.webform import book_flight
from curriculax.envs.webform.engine import Kind
from curriculax.envs.webform.form import Form
from curriculax.envs.webform.generator import AIRPORT_CHARS
from curriculax.envs.webform.text import decode

#: ``City Words, ST (ABC)`` or ``City, ST - Suffix (ABC)``: one to three city words.
AIRPORT = re.compile(
    r"^[A-Z][a-z]{4}( [A-Z][a-z]{4}){0,2}, [A-Z]{2}( - [A-Z][a-z]{4})? \([A-Z]{3}\)$"
)


@functools.cache
def _levels(count: int = 64) -> list:
    form, params = curriculax.make("curriculax/BookFlight-v0")
    sample = jax.jit(jax.vmap(form.sample_level, in_axes=(0, None)))
    batch = jax.tree.map(np.asarray, sample(jax.random.split(jax.random.key(3), count), params))
    return [jax.tree.map(lambda x, i=i: x[i], batch) for i in range(count)]


def _menus(level) -> dict[int, list[tuple[int, str]]]:
    """Each autocomplete row's suggestion rows: ``{box row: [(row, text), ...]}``."""
    boxes = np.flatnonzero(level.kind == Kind.AUTOCOMPLETE)
    return {
        int(b): [(int(r), decode(level.text[r])) for r in np.flatnonzero(level.owner == b)]
        for b in boxes
    }


def test_generated_forms_put_every_box_where_the_page_has_it():
    after_range = datetime.date(2017, 1, 1)
    calendar = book_flight.calendar_vector(book_flight.PAGE_BOXES["date"], today=after_range)
    for level in _levels():
        kinds = [Kind.AUTOCOMPLETE, Kind.AUTOCOMPLETE, Kind.DATEPICKER, Kind.SUBMIT]
        rows = [r for r in range(len(level.kind)) if level.kind[r] in kinds]
        assert [Kind(level.kind[r]) for r in rows] == kinds
        names = ["from", "to", "date", "search"]
        assert [tuple(level.box[r]) for r in rows] == [book_flight.PAGE_BOXES[n] for n in names]
        np.testing.assert_array_equal(level.menu, book_flight.menu_vector())
        np.testing.assert_array_equal(level.calendar, calendar)
        header = [r for r in range(len(level.kind)) if level.kind[r] == Kind.CAL_PREV]
        assert tuple(level.box[header[0]]) == book_flight.header_box(calendar, "prev")


def test_each_menu_stacks_its_items_under_its_box_taller_for_long_airports():
    heights = set()
    for level in _levels():
        for box, items in _menus(level).items():
            x, y, w, h = level.box[box]
            top = y + h + 1  # under the box and its 1-px border, as the page's menu opens
            for row, text in items:
                lines = 1 + (len(text) > 21) + (len(text) > 38)
                expected = (x + 1, top, w, book_flight.ITEM_PAD + book_flight.ITEM_LINE * lines)
                assert tuple(level.box[row]) == expected, text
                top += expected[3]
                heights.add(expected[3])
    assert heights == {17, 28}  # one and two lines (three need more than AIRPORT_CHARS)


def test_both_menus_list_the_same_airports_and_each_box_accepts_its_named_one():
    named_by = set()
    for level in _levels():
        menus = _menus(level)
        texts = [[t for _, t in items] for items in menus.values()]
        assert len(texts) == 2 and texts[0] == texts[1] and len(texts[0]) >= 2
        assert all(AIRPORT.match(t) for t in texts[0]), texts[0]
        assert len({t[-4:-1] for t in texts[0]}) == len(texts[0])  # distinct codes
        goals = []
        for box, items in menus.items():
            slot = np.flatnonzero(level.slot_valid & (level.field_word == level.word[box]))
            assert len(slot) == 1
            named = decode(level.slot_value[slot[0]], level.slot_len[slot[0]])
            holding = [row for row, text in items if named in text]  # Search's test
            assert holding == [row for row, _ in items if level.goal_on[row]], named
            goals.append(decode(level.text[holding[0]]))
            by_code = re.fullmatch(r"[A-Z]{3}", named) is not None
            assert by_code or goals[-1] == f"{named} ({goals[-1][-4:-1]})"
            named_by.add(by_code)
        assert goals[0] != goals[1]
    assert named_by == {True, False}


def test_airports_span_short_and_long_names():
    lengths = [len(t) for lv in _levels() for items in _menus(lv).values() for _, t in items]
    assert min(lengths) == 15 and max(lengths) == AIRPORT_CHARS


def test_a_page_needs_its_widgets_and_a_known_name():
    with pytest.raises(ValueError, match="page='book-flight' needs widgets"):
        Form(max_widgets=3, widgets=("text", "autocomplete", "datepicker"), page="book-flight")
    with pytest.raises(ValueError, match="Form page must be None or one of"):
        Form(page="book-flights")
    with pytest.raises(ValueError, match="a book-flight airport"):
        Form(
            max_widgets=3,
            max_options=8,
            widgets=("autocomplete", "autocomplete", "datepicker"),
            page="book-flight",
            max_chars=24,
        )
