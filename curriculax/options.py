"""Typed options: values held to their declared types, and command-line text read by them.

``PPOConfig``'s fields, a teacher's hyper-parameters and an env's constructor options declare
their types in annotations. ``check`` holds a Python value to such a type where the value is
built (so the Python API and the command line get the same errors), and ``parse`` reads the text
a user typed (``--set anneal_lr=false``) as that type:

==================== ======================================= =================================
declared type        ``check`` accepts                       ``parse`` reads
==================== ======================================= =================================
``bool``             ``True``/``False`` (and numpy bools)     true/false in any case, 1/0
``int``              ints (not bools), numpy ints             an integer literal
``float``            finite ints and floats (not bools)       a number (nan/inf then refused)
``str``              str                                      the text as typed
``None`` (in a union) ``None``                                none/null in any case
``Literal[...]``     one of the listed values                 the text as typed
undeclared (``Any``) anything                                 JSON if it parses, else the text
anything else        anything (its owner checks it)           JSON (``[1, 2]``, ``{"a": 1}``)
==================== ======================================= =================================

A value that does not fit raises ``ValueError`` naming where it was given and what that place
accepts. Only the type is checked here; ranges (``gamma`` in [0, 1], a positive capacity) stay
with the owner, after this check.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import types
import typing
from typing import Any

import numpy as np

_NONE_WORDS = ("none", "null")
_TRUE_WORDS = ("true", "1")
_FALSE_WORDS = ("false", "0")
_INT = re.compile(r"[+-]?\d+")


def option_types(cls: type) -> dict[str, Any]:
    """The keyword options ``cls(...)`` takes and their declared types (``Any`` if undeclared).

    Follows ``**kwargs`` forwarded to base classes, as ``curriculax.registry.constructor_options``
    does; a subclass's declaration wins over its base's. ``self`` and ``*args`` are left out.
    """
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        for p in parameters:
            if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.name not in found:
                found[p.name] = _resolve(p.annotation, init)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return found


def _resolve(annotation: Any, owner: Any) -> Any:
    """An annotation (a string under ``from __future__ import annotations``) as a type."""
    if annotation is inspect.Parameter.empty:
        return Any
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(owner, "__globals__", {}), {})
    except Exception:  # a name imported only for type checkers: leave it to the owner
        return Any


def _alternatives(hint: Any) -> tuple[Any, ...] | None:
    """The members of a union (``int | None``, ``Optional[int]``), or ``None``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return None


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not _is_bool(value)


def _is_finite(value: Any) -> bool:
    """Whether a number is finite as a float (an int too large for a float is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def describe(hint: Any) -> str:
    """What a value of ``hint`` is, in words ("a bool (True or False)", "an int or None")."""
    members = _alternatives(hint)
    if members is not None:
        return " or ".join(describe(m) for m in members)
    if hint is type(None) or hint is None:
        return "None"
    if hint is bool:
        return "a bool (True or False)"
    if hint is int:
        return "an int"
    if hint is float:
        return "a finite number"
    if hint is str:
        return "a str"
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    if typing.get_origin(hint) is not None:
        return str(hint).replace("collections.abc.", "").replace("typing.", "")
    return getattr(hint, "__name__", str(hint))


def _fits(value: Any, hint: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits ``hint`` (not a union), and the value normalised to it."""
    if hint is Any or hint is object:
        return True, value
    if hint is type(None) or hint is None:
        return value is None, value
    if hint is bool:
        return (True, bool(value)) if _is_bool(value) else (False, value)
    if hint is int:
        return (True, int(value)) if _is_int(value) else (False, value)
    if hint is float:
        if _is_number(value) and _is_finite(value):
            return True, float(value)
        return False, value
    if hint is str:
        return isinstance(value, str), value
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint), value
    return True, value  # containers, arrays, classes: the owner checks them


def check(where: str, value: Any, hint: Any) -> Any:
    """``value`` checked against ``hint`` and normalised (a float field's int becomes a float).

    Args:
        where: what the value is, for the message (``"PPOConfig.gamma"``).
        value: the value given.
        hint: the declared type.

    Raises:
        ValueError: naming ``where``, what it accepts and the value given; a NaN or infinite
            number given for a float is called out as not finite.
    """
    members = _alternatives(hint) or (hint,)
    for member in members:
        ok, normalised = _fits(value, member)
        if ok:
            return normalised
    if float in members and _is_number(value) and not _is_finite(value):
        raise ValueError(f"{where} must be finite, got {value!r}")
    raise ValueError(f"{where} must be {describe(hint)}, got {value!r}")


def parse(text: str, hint: Any, where: str) -> Any:
    """The command-line ``text`` read as a value of ``hint`` (see the module's table).

    The value is not range-checked (nor, for floats, finiteness-checked): its owner does that,
    so ``nan`` parses and is then refused by the config that receives it, naming the field.

    Raises:
        ValueError: ``text`` is not a value of ``hint``; the message starts with ``where`` and
            says what it takes.
    """
    members = list(_alternatives(hint) or (hint,))
    word = text.strip().lower()
    if type(None) in members:
        if word in _NONE_WORDS:
            return None
        members.remove(type(None))
    if len(members) == 1:
        member = members[0]
        if member is bool:
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
            raise ValueError(
                f"{where} takes a bool: true or false (any case), or 1 or 0; got {text!r}"
            )
        if member is int:
            if _INT.fullmatch(text.strip()):
                try:
                    return int(text)
                except ValueError as err:  # more digits than Python converts
                    raise ValueError(f"{where} takes an int: {err}") from None
            raise ValueError(f"{where} takes an int, got {text!r}")
        if member is float:
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"{where} takes a number, got {text!r}") from None
        if member is str or typing.get_origin(member) is typing.Literal:
            if text.startswith('"'):
                try:
                    decoded = json.loads(text)
                except json.JSONDecodeError:
                    return text
                if isinstance(decoded, str):
                    return decoded
            return text
        if member is Any or member is object:
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text  # nothing declared: the text itself
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(
            f"{where} takes {describe(hint)} written as JSON (e.g. 3, 0.5, [1, 2] or "
            f'{{"a": [0, 1]}}), got {text!r}'
        ) from None
