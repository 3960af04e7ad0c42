"""Draws a form's visible page to RGB by array code: boxes, flags, captions and typed text.

Text uses a 3x5 bitmap font scaled by two (8 px per character, as many as the page's monospace
font needs), so what the agent typed can be read in a replay; capitals share the small letters'
glyphs. Password text is drawn as blocks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.envs.webform.engine import (
    CALENDAR_KINDS,
    VALUE_KINDS,
    FormState,
    Kind,
    row_boxes,
    shown_rows,
)
from curriculax.envs.webform.layout import INPUT_X, PAGE_WIDTH, page_height
from curriculax.envs.webform.text import ALPHABET, DIGIT_0, MAX_CHAR, UPPER_A
from curriculax.types import Array

_GLYPHS = (
    ".#. #.# ### #.# #.#", "##. #.# ##. #.# ##.", ".## #.. #.. #.. .##", "##. #.# #.# #.# ##.",
    "### #.. ##. #.. ###", "### #.. ##. #.. #..", ".## #.. #.# #.# .##", "#.# #.# ### #.# #.#",
    "### .#. .#. .#. ###", "..# ..# ..# #.# .#.", "#.# #.# ##. #.# #.#", "#.. #.. #.. #.. ###",
    "#.# ### ### #.# #.#", "##. #.# #.# #.# #.#", ".#. #.# #.# #.# .#.", "##. #.# ##. #.. #..",
    ".#. #.# #.# ##. .##", "##. #.# ##. #.# #.#", ".## #.. .#. ..# ##.", "### .#. .#. .#. .#.",
    "#.# #.# #.# #.# ###", "#.# #.# #.# #.# .#.", "#.# #.# ### ### #.#", "#.# #.# .#. #.# #.#",
    "#.# #.# .#. .#. .#.", "### ..# .#. #.. ###",
)  # fmt: skip
_DIGITS = (
    "### #.# #.# #.# ###",
    ".#. ##. .#. .#. ###",
    "##. ..# .#. #.. ###",
    "##. ..# .#. ..# ##.",
    "#.# #.# ### ..# ..#",
    "### #.. ##. ..# ##.",
    ".## #.. ### #.# ###",
    "### ..# .#. .#. .#.",
    "### #.# ### #.# ###",
    "### #.# ### ..# ##.",
    "..# ..# .#. #.. #..",
)  # fmt: skip (0-9, then /)
_PUNCTUATION = {
    "-": "... ... ### ... ...", "(": "..# .#. .#. .#. ..#", ")": "#.. .#. .#. .#. #..",
    ",": "... ... ... .#. #..", ".": "... ... ... ... .#.", "'": ".#. .#. ... ... ...",
    "&": ".#. #.# .#. #.# .##",
}  # fmt: skip
#: [MAX_CHAR + 2, 5, 3] bool: a glyph per character code (padding and space blank), then a
#: block for password characters.
_FONT = np.zeros((MAX_CHAR + 2, 5, 3), bool)


def _draw(code: int, glyph: str) -> None:
    _FONT[code] = [[c == "#" for c in line] for line in glyph.split()]


for _i, _g in enumerate(_GLYPHS):
    _draw(_i + 1, _g)
    _draw(UPPER_A + _i, _g)
for _i, _g in enumerate(_DIGITS):
    _draw(DIGIT_0 + _i, _g)
for _c, _g in _PUNCTUATION.items():
    _draw(ALPHABET.index(_c), _g)
_PASSWORD_CHAR = MAX_CHAR + 1
_FONT[_PASSWORD_CHAR] = True
_SCALE, _ADVANCE = 2, 8

WHITE = (255, 255, 255)
_COLORS = {
    "border": (118, 118, 118),
    "text": (20, 20, 20),
    "button": (225, 225, 225),
    "on": (25, 103, 210),
    "focus": (0, 95, 204),
}


def render_form(state: FormState, max_widgets: int, max_options: int, max_pages: int) -> Array:
    """uint8 [H, 640, 3] picture of the visible page of ``state`` (H fits the largest form)."""
    level = state.level
    height = page_height(max_widgets, max_options)
    rows, width = level.text.shape
    ys, xs = jnp.mgrid[0:height, 0:PAGE_WIDTH]
    kind = level.kind
    shown = shown_rows(state) & (kind != Kind.OPTION)
    # The text shown inside a select: its selected option's.
    option_on = (kind == Kind.OPTION) & state.on
    chosen = (
        jnp.zeros(rows, jnp.int32)
        .at[level.owner]
        .max(jnp.where(option_on, jnp.arange(rows), 0), mode="drop")
    )
    has_choice = jnp.zeros(rows, bool).at[level.owner].max(option_on, mode="drop")
    dashes = jnp.zeros(width, jnp.int32)
    select_text = jnp.where(has_choice[:, None], level.text[chosen], dashes[None, :])
    inner = jnp.where(
        (kind == Kind.PASSWORD)[:, None] & (state.value > 0), _PASSWORD_CHAR, state.value
    )
    inner = jnp.where((kind == Kind.SELECT)[:, None], select_text, inner)
    labelled = jnp.isin(kind, jnp.asarray([*VALUE_KINDS, Kind.SELECT]))
    side = jnp.isin(kind, jnp.asarray([Kind.CHECKBOX, Kind.RADIO]))
    x, y, w, h = row_boxes(state).T
    outer_x = jnp.where(labelled, x - INPUT_X + 8, jnp.where(side, x + 24, x + 4))
    outer_y = jnp.where(side, y + 3, y + 9)
    outer_y = jnp.where((kind == Kind.HEADING) | (kind == Kind.SUGGESTION), y + 5, outer_y)
    font = jnp.asarray(_FONT)

    def text_mask(chars, x0, y0):
        col, row = xs - x0, ys - y0
        index = jnp.clip(col // _ADVANCE, 0, width - 1)
        gx, gy = (col % _ADVANCE) // _SCALE, row // _SCALE
        inside = (col >= 0) & (row >= 0) & (gx < 3) & (gy < 5) & (col < width * _ADVANCE)
        return inside & font[chars[index], jnp.clip(gy, 0, 4), jnp.clip(gx, 0, 2)]

    def draw(i, image):
        in_box = (xs >= x[i]) & (xs < x[i] + w[i]) & (ys >= y[i]) & (ys < y[i] + h[i])
        edge = in_box & ~(
            (xs > x[i]) & (xs < x[i] + w[i] - 1) & (ys > y[i]) & (ys < y[i] + h[i] - 1)
        )
        button = jnp.isin(kind[i], jnp.asarray([Kind.NEXT, Kind.SUBMIT, Kind.DISTRACTOR]))
        overlay = jnp.isin(kind[i], jnp.asarray([Kind.SUGGESTION, *CALENDAR_KINDS]))
        boxed = labelled[i] | side[i] | button | overlay
        fill = jnp.where(button, jnp.asarray(_COLORS["button"]), jnp.asarray(WHITE))
        tick = side[i] & state.on[i] & (xs >= x[i] + 4) & (xs < x[i] + w[i] - 4)
        tick = tick & (ys >= y[i] + 4) & (ys < y[i] + h[i] - 4)
        border = jnp.where(
            state.focus == i, jnp.asarray(_COLORS["focus"]), jnp.asarray(_COLORS["border"])
        )
        color = jnp.where(edge[..., None], border, fill)
        color = jnp.where(tick[..., None], jnp.asarray(_COLORS["on"]), color)
        image = jnp.where((shown[i] & boxed & in_box)[..., None], color, image)
        caption_x = jnp.where(button, x[i] + 6, outer_x[i])
        caption = text_mask(level.text[i], caption_x, outer_y[i])
        typed = text_mask(inner[i], x[i] + 5, y[i] + 9) & (labelled[i])
        ink = shown[i] & (caption | typed)
        return jnp.where(ink[..., None], jnp.asarray(_COLORS["text"]), image)

    image = jnp.broadcast_to(jnp.asarray(WHITE), (height, PAGE_WIDTH, 3))
    image = jax.lax.fori_loop(0, rows, draw, image.astype(jnp.int32))
    return image.astype(jnp.uint8)
