"""Typed options: PPOConfig holds every field to its declared type; command-line text is parsed by
that type (``curriculax.options``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from curriculax.agents.ppo import PPOConfig
from curriculax.options import check, parse

TYPES = PPOConfig.field_types()
FLOATS = [name for name, hint in TYPES.items() if hint is float]
BOOLS = [name for name, hint in TYPES.items() if hint is bool]
INTS = [name for name, hint in TYPES.items() if hint is int]
OPTIONAL_INTS = [name for name, hint in TYPES.items() if hint == (int | None)]
OPTIONAL_FLOATS = [name for name, hint in TYPES.items() if hint == (float | None)]
STRS = [name for name, hint in TYPES.items() if hint in (str, str | None)]


def test_every_field_has_a_checked_type():
    assert set(FLOATS + BOOLS + INTS + OPTIONAL_INTS + OPTIONAL_FLOATS + STRS) == set(TYPES)
    # the lists below are not empty by accident
    assert len(FLOATS) == 9 and len(BOOLS) == 6 and OPTIONAL_FLOATS == ["gamma_end"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan")])
@pytest.mark.parametrize("field", FLOATS)
def test_non_finite_floats_are_refused_with_the_field_named(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be finite"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("value", [True, "0.5", None])
@pytest.mark.parametrize("field", FLOATS)
def test_float_fields_take_only_numbers(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be a finite number"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("value", ["False", "true", 0, 1, None, np.float64(1.0)])
@pytest.mark.parametrize("field", BOOLS)
def test_bool_fields_take_only_bools(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be a bool"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("value", [True, 64.0, "64", None])
@pytest.mark.parametrize("field", INTS)
def test_int_fields_take_only_ints(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be an int"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("value", [True, 2.0, "2"])
@pytest.mark.parametrize("field", OPTIONAL_INTS)
def test_optional_int_fields_take_ints_or_none(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be an int or None"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("value", [True, "0.5", math.nan])
@pytest.mark.parametrize("field", OPTIONAL_FLOATS)
def test_optional_float_fields_take_finite_numbers_or_none(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be (a )?finite"):
        PPOConfig(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("network", 3), ("level_mode", None)])
def test_str_fields_take_only_strs(field, value):
    with pytest.raises(ValueError, match=rf"PPOConfig\.{field} must be a str"):
        PPOConfig(**{field: value})


def test_values_are_normalised_to_their_declared_types():
    config = PPOConfig(learning_rate=1, num_envs=np.int64(8), num_steps=8, total_timesteps=64)
    assert type(config.learning_rate) is float and type(config.num_envs) is int
    config = PPOConfig(anneal_lr=np.bool_(False), recurrent=None, pool_size=None)
    assert config.anneal_lr is False
    assert PPOConfig.from_dict(PPOConfig().to_dict()) == PPOConfig()
    replaced = dataclasses.replace(PPOConfig(), gamma=1)
    assert type(replaced.gamma) is float


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("TRUE", True), ("False", False), ("1", True), ("0", False), (" no", None)],
)
def test_bools_parse_from_what_users_write(text, value):
    if value is None:
        with pytest.raises(ValueError, match="--set x takes a bool: true or false"):
            parse(text, bool, "--set x")
    else:
        assert parse(text, bool, "--set x") is value


@pytest.mark.parametrize("text", ["yes", "on", "2", "", "truee", "None"])
def test_other_words_are_not_bools(text):
    with pytest.raises(ValueError, match="takes a bool"):
        parse(text, bool, "--set anneal_lr")


def test_numbers_none_and_json_parse_by_type():
    assert parse("64", int, "w") == 64 and parse("-3", int | None, "w") == -3
    assert parse("none", int | None, "w") is None and parse("NULL", str | None, "w") is None
    assert parse("gru", str | None, "w") == "gru" and parse('"gru"', str, "w") == "gru"
    assert parse("2.5e-4", float, "w") == 2.5e-4 and math.isnan(parse("NaN", float, "w"))
    assert parse("Infinity", float, "w") == math.inf  # parsed; the config refuses it
    assert parse("[1, 2]", list[int] | None, "w") == [1, 2]
    for text, hint, what in [
        ("1.5", int, "takes an int"),
        ("1e6", int, "takes an int"),
        ("none", int, "takes an int"),
        ("fast", float, "takes a number"),
        ("a,b", list[str] | None, "written as JSON"),
    ]:
        with pytest.raises(ValueError, match=what):
            parse(text, hint, "w")


def test_check_names_the_place_and_what_it_takes():
    with pytest.raises(ValueError, match=r"^X\.y must be an int or None, got 'a'$"):
        check("X.y", "a", int | None)
    assert check("X.y", 3, float) == 3.0 and check("X.y", [1], list[int]) == [1]
