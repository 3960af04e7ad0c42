"""Teacher options are held to the types their ``__init__`` declares (``make_teacher`` and the
constructors), so the Python API refuses what ``--curriculum-option`` refuses."""

from __future__ import annotations

import math

import pytest

import curriculax
from curriculax.curricula import TEACHERS, make_teacher, teacher_options
from curriculax.curricula.alpgmm import ALPGMM
from curriculax.curricula.plr import PLR

#: Every teacher's option of each scalar type, by (teacher, option).
FLOAT_OPTIONS = [(n, k) for n in TEACHERS for k, t in teacher_options(n).items() if t is float]
BOOL_OPTIONS = [(n, k) for n in TEACHERS for k, t in teacher_options(n).items() if t is bool]
INT_OPTIONS = [(n, k) for n in TEACHERS for k, t in teacher_options(n).items() if t is int]


@pytest.fixture(scope="module")
def maze():
    return curriculax.make("curriculax/Maze-v0")


def test_the_declared_types_are_found_through_forwarded_kwargs():
    assert teacher_options("plr")["dedupe"] is bool
    assert teacher_options("robust_plr")["capacity"] is int  # RobustPLR(**kwargs) -> PLR
    assert teacher_options("accel")["replay_prob"] is float
    assert teacher_options("sfl")["eval_steps"] == int | None
    assert "env" not in teacher_options("plr") and "params" not in teacher_options("plr")
    assert len(FLOAT_OPTIONS) >= 15 and len(BOOL_OPTIONS) >= 6 and len(INT_OPTIONS) >= 12


@pytest.mark.parametrize("value", [math.nan, math.inf])
@pytest.mark.parametrize(("name", "option"), FLOAT_OPTIONS)
def test_a_non_finite_float_option_is_refused_with_its_name(maze, name, option, value):
    env, params = maze
    with pytest.raises(ValueError, match=rf"\.{option} must be finite"):
        make_teacher(name, env, params, **{option: value})


@pytest.mark.parametrize(("name", "option"), BOOL_OPTIONS)
def test_a_bool_option_takes_only_a_bool(maze, name, option):
    env, params = maze
    for value in ("yes", "False", 1, None):
        with pytest.raises(ValueError, match=rf"\.{option} must be a bool"):
            make_teacher(name, env, params, **{option: value})


@pytest.mark.parametrize(("name", "option"), INT_OPTIONS)
def test_an_int_option_takes_no_bool_or_float(maze, name, option):
    env, params = maze
    for value in (True, 2.0, "2"):
        with pytest.raises(ValueError, match=rf"\.{option} must be an int"):
            make_teacher(name, env, params, **{option: value})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"capacity": True}, r"PLR\.capacity must be an int, got True"),
        ({"replay_prob": math.nan}, r"PLR\.replay_prob must be finite, got nan"),
        ({"dedupe": "yes"}, r"PLR\.dedupe must be a bool \(True or False\), got 'yes'"),
        ({"temperature": math.inf}, r"PLR\.temperature must be finite"),
        ({"score": 3}, r"PLR\.score must be a str"),
    ],
)
def test_make_teacher_names_the_option_and_its_type(maze, options, match):
    env, params = maze
    with pytest.raises(ValueError, match=match):
        make_teacher("plr", env, params, **options)


def test_the_constructors_refuse_the_gaps_their_range_checks_left(maze):
    env, params = maze
    for options in ({"dedupe": "yes"}, {"robust": 1}, {"temperature": math.inf}):
        with pytest.raises(ValueError, match="PLR"):
            PLR(env, params, **options)
    with pytest.raises(ValueError, match=r"ALPGMM\.reg_covar must be finite"):
        ALPGMM(env, params, reg_covar=math.inf)
    empty = curriculax.make("curriculax/Empty-8x8-v0")[0]
    with pytest.raises(ValueError, match=r"ADR\.initial \[nan\] is outside the box"):
        make_teacher("adr", empty, initial=[math.nan])
