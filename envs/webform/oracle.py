"""A scripted policy that solves every form: the test that each task can be solved as generated.

It reads the level's goal (privileged, like MiniWoB++'s scripted solvers read the instruction),
fixes the first wrong widget on the visible page, then moves on with Next and ends with Submit.
"""

from __future__ import annotations

import jax.numpy as jnp

from curriculax.envs.webform import calendar, engine
from curriculax.envs.webform.engine import FormState, Kind
from curriculax.types import Array


def oracle_action(state: FormState, rows: int, slots: int) -> Array:
    """int32 []: the flat action that brings ``state`` one step closer to a successful submit.

    Text boxes holding anything but their goal are cleared, then typed into from the slot naming
    them (an autocomplete field: its code typed, then an entry its goal accepts clicked); a
    datepicker is clicked open, its calendar stepped to the goal's month and the goal's day
    clicked; a wrong checkbox is clicked; a select or radio group gets its goal option clicked.
    """
    level = state.level
    kind = level.kind
    visible = engine.visible_rows(level, state.page)
    wrong = level.scored & visible & ~engine.scores(state)
    i = jnp.argmax(wrong)
    text_box = engine.is_kind(kind[i], engine.TEXT_KINDS)
    slot = jnp.argmax(level.slot_valid & (level.field_word == level.word[i]))
    suggestion = (level.owner == i) & (kind == Kind.SUGGESTION) & level.goal_on
    open_now = suggestion & engine.shown_rows(state)
    fix_text = jnp.where(
        jnp.any(open_now),
        1 + jnp.argmax(open_now),  # CLICK(the goal suggestion)
        jnp.where(
            state.value_len[i] > 0,
            1 + rows + i,  # CLEAR(i)
            1 + 2 * rows + i * slots + slot,  # TYPE(i, slot)
        ),
    )
    goal_member = jnp.argmax((level.owner == i) & level.goal_on)
    fix = jnp.where(text_box, fix_text, jnp.where(kind[i] == Kind.CHECKBOX, 1 + i, 1 + goal_member))
    fix = jnp.where(kind[i] == Kind.DATEPICKER, _fix_date(state, i), fix)
    onward = visible & jnp.isin(kind, jnp.asarray([Kind.NEXT, Kind.SUBMIT]))
    move_on = 1 + jnp.argmax(onward)
    return jnp.where(jnp.any(wrong), fix, move_on).astype(jnp.int32)


def _fix_date(state: FormState, picker: Array) -> Array:
    """int32 []: the next click towards the goal date of datepicker row ``picker``."""
    level = state.level
    _, month, day = calendar.parse_date(level.goal_value[picker], level.goal_len[picker])
    step = jnp.where(
        month < state.month, Kind.CAL_PREV, jnp.where(month > state.month, Kind.CAL_NEXT, Kind.DAY)
    )
    target = (level.kind == step) & ((step != Kind.DAY) | (level.number == day))
    return jnp.where(state.month < 0, 1 + picker, 1 + jnp.argmax(target))
