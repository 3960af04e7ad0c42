"""Property-based fuzzing of bad input (issue 23, point 6).

Hypothesis drives the gymnasium face, the functional core and the command line's config parsing
with values of the wrong type, shape, range and finiteness. Each input either works as
documented (docs/environments.md, "Bad input") or raises one clear error: ``ValueError`` or
``TypeError`` raised by curriculax (or gymnasium's seeding error), never from inside JAX; the
CLI answers one ``curriculax: error:`` line and exit code 2. Whatever is accepted runs without a
non-finite observation or reward and keeps its observations inside the observation space.

Budget: one env per family, made and compiled once per module and shared by every example
(examples draw values, not shapes, so after the first examples nothing compiles). Examples are
derandomized so CI sees the same ones each run; ``CURRICULAX_FUZZ_EXAMPLES=N`` runs N random
examples per property instead.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import traceback
import typing
from unittest import mock

import gymnasium
import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import curriculax
from curriculax.agents.ppo import PPOConfig
from curriculax.cli import main
from curriculax.cli.main import UsageError, build_parser
from curriculax.cli.training import CONFIG_FLAGS, config_from_args
from curriculax.options import option_types
from curriculax.registry import spec

IDS = {
    "grid": "curriculax/DoorKey-5x5-v0",
    "parkour": "curriculax/Parkour-v0",
    "form": "curriculax/EnterText-v0",
}
FAMILIES = st.sampled_from(sorted(IDS))
#: The exceptions a clear refusal may raise (gymnasium's ``Error``: its seeding refuses seeds).
CLEAR = (ValueError, TypeError)
GYM_CLEAR = (*CLEAR, gymnasium.error.Error)
#: Where a refusal must not come from: the inside of JAX or numpy (no message of ours).
FOREIGN = tuple(os.path.dirname(m.__file__) + os.sep for m in (jax, np))

_RANDOM = int(os.environ.get("CURRICULAX_FUZZ_EXAMPLES", "0"))

# gymnasium's Box.contains warns as it casts what it is given: the point of these inputs.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array"),
    pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning"),
]


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=_RANDOM or examples,
        derandomize=not _RANDOM,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def _unfiltered_tracebacks():
    """JAX hides its own frames from tracebacks; show them, so a JAX-internal raise is seen."""
    before = jax.config.jax_traceback_filtering
    jax.config.update("jax_traceback_filtering", "off")
    yield
    jax.config.update("jax_traceback_filtering", before)


#: Python's own words for a value of the wrong type reaching code that did not check it.
GENERIC = (
    "is not iterable",
    "is not subscriptable",
    "truth value of an array",
    "dictionary update sequence",
    "not supported between instances",
    "unhashable type",
    "keywords must be strings",
    "could not convert",
    "invalid literal",
)


def assert_clear(error: BaseException, allowed: tuple[type, ...] = CLEAR) -> None:
    """``error`` is one of ``allowed``, raised by curriculax (or gymnasium) in its own words."""
    assert isinstance(error, allowed), f"unclear error {type(error).__name__}: {error}"
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
    assert not any(words in message for words in GENERIC), f"unchecked input: {message}"
    origin = traceback.extract_tb(error.__traceback__)[-1].filename
    assert not origin.startswith(FOREIGN) and "jaxlib" not in origin, (
        f"{type(error).__name__} raised inside {origin}: {error}"
    )


def attempt(fn: typing.Callable, *args: typing.Any, allowed=CLEAR, **kwargs: typing.Any):
    """``(fn(...), None)``, or ``(None, error)`` for a clear refusal (anything else fails)."""
    try:
        out = fn(*args, **kwargs)
    except Exception as error:
        assert_clear(error, allowed)
        event(f"{fn.__name__}: {type(error).__name__}")
        return None, error
    event(f"{fn.__name__}: accepted")
    return out, None


# ----------------------------------------------------------------- shared envs and programs


@functools.cache
def gym_env(family: str) -> gymnasium.Env:
    """The family's gymnasium env (its programs compile on first use and are then shared)."""
    return gymnasium.make(IDS[family])


@functools.cache
def core(family: str) -> tuple[typing.Any, typing.Any]:
    return curriculax.make(IDS[family])


@functools.cache
def sample_level(family: str) -> typing.Any:
    env, params = core(family)
    return jax.device_get(jax.jit(env.sample_level)(jax.random.key(0), params))


def fresh(family: str) -> gymnasium.Env:
    """The shared env back at its defaults, so examples do not depend on each other."""
    env = gym_env(family)
    env.reset(seed=0, options={"params": core(family)[1]})
    return env


def assert_sane(env: gymnasium.Env, obs: typing.Any, reward: float = 0.0) -> None:
    assert np.all(np.isfinite(obs)), f"non-finite observation {obs}"
    assert env.observation_space.contains(obs), f"observation outside {env.observation_space}"
    assert math.isfinite(reward), f"non-finite reward {reward}"


def run_a_few_steps(env: gymnasium.Env, steps: int = 3) -> None:
    """Steps an accepted env with in-range actions; everything it returns stays finite."""
    space = env.action_space
    for i in range(steps):
        action = (
            np.full(space.shape, (-1.0) ** i * 0.5, space.dtype) if space.shape else i % space.n
        )
        obs, reward, terminated, truncated, _ = env.step(action)
        assert_sane(env, obs, reward)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        if terminated or truncated:
            break


# ----------------------------------------------------------------- strategies

BIG_INTS = st.sampled_from([2**31, -(2**31) - 1, 2**63, 2**64, 10**30, 10**400, -(10**400)])
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    BIG_INTS,
    FLOATS,
    st.complex_numbers(max_magnitude=10),
    st.text(max_size=6),
    st.builds(np.float32, st.floats(width=32)),
    st.builds(np.int8, st.integers(-128, 127)),
    st.builds(np.uint64, st.integers(0, 2**64 - 1)),
    st.builds(np.bool_, st.booleans()),
)
ARRAYS = hnp.arrays(
    st.sampled_from([np.int32, np.int64, np.uint8, np.float32, np.float64, np.bool_]),
    hnp.array_shapes(min_dims=1, max_dims=2, max_side=8),
)
#: Anything a user might pass where a number, an array or an option belongs.
JUNK = st.one_of(
    SCALARS,
    ARRAYS,
    st.lists(st.one_of(st.integers(-3, 9), FLOATS), max_size=8),
    st.dictionaries(st.text(max_size=3) | st.integers(), st.integers(), max_size=2),
    st.just(object()),
)


def in_bounds(family: str, name: str) -> st.SearchStrategy:
    """Values of a Params field inside its bounds (``make_params`` accepts the finite ones)."""
    env, params = core(family)
    default = np.asarray(getattr(params, name))
    low, high = env.checked_bounds().get(name, (-np.inf, np.inf))
    if default.dtype.kind == "b":
        element = st.booleans()
    elif default.dtype.kind in "iu":
        element = st.integers(int(max(low, -(2**31))), int(min(high, 2**31 - 1)))
    else:
        element = st.floats(low, high)  # an infinite bound: infinity too
    if default.shape:
        return st.lists(element, min_size=default.size, max_size=default.size)
    return element


@st.composite
def param_overrides(draw, family: str) -> dict[str, typing.Any]:
    """Params overrides: each field inside its bounds or junk; sometimes an unknown name."""
    fields = sorted(type(core(family)[1]).__dataclass_fields__)
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    out = {n: draw(in_bounds(family, n) if draw(st.integers(0, 2)) else JUNK) for n in chosen}
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
    return out


@st.composite
def params_objects(draw, family: str) -> typing.Any:
    """The family's Params with one field replaced by any values of its dtype and shape."""
    params = core(family)[1]
    name = draw(st.sampled_from(sorted(type(params).__dataclass_fields__)))
    default = np.asarray(getattr(params, name))
    return params.replace(**{name: draw(hnp.arrays(default.dtype, default.shape))})


@st.composite
def levels(draw, family: str) -> typing.Any:
    """The family's level with one leaf changed: a value, a fill, a shape, a dtype, or junk."""
    level = sample_level(family)
    paths, treedef = jax.tree_util.tree_flatten_with_path(level)
    leaves = [np.array(leaf) for _, leaf in paths]
    i = draw(st.integers(0, len(leaves) - 1))
    leaf = leaves[i]
    if leaf.dtype.kind == "b":
        value = st.booleans()
    elif leaf.dtype.kind in "iu":
        value = st.integers(-3, 300)
    else:
        value = st.floats(-1e3, 1e3) | FLOATS
    how = draw(st.sampled_from(["value", "fill", "shape", "dtype", "junk"]))
    if how in ("value", "fill"):
        changed = leaf.astype(np.float64 if leaf.dtype.kind == "f" else np.int64)
        if how == "fill":
            changed[...] = draw(value)
        elif leaf.size:
            changed.reshape(-1)[draw(st.integers(0, leaf.size - 1))] = draw(value)
        leaves[i] = changed
    elif how == "shape":
        leaves[i] = draw(st.sampled_from([leaf[None], leaf.reshape(-1)[:-1], np.stack([leaf] * 2)]))
    elif how == "dtype":
        leaves[i] = leaf.astype(draw(st.sampled_from([np.float64, np.bool_, np.int64, np.str_])))
    else:
        leaves[i] = draw(JUNK)
    return jax.tree.unflatten(treedef, leaves)


@st.composite
def actions(draw, family: str) -> typing.Any:
    """Actions in range, out of range, of the wrong type, dtype or shape, or not finite."""
    space = gym_env(family).action_space
    if isinstance(space, gymnasium.spaces.Discrete):
        near = st.integers(-3, int(space.n) + 3)
        typed = st.one_of(
            near,
            near.map(np.int32),
            near.map(np.int64),
            near.map(lambda a: np.asarray(a, np.int64)),
            near.map(float),
            near.map(lambda a: [a]),
            near.map(str),
        )
    else:
        element = st.floats(-1.5, 1.5, width=32) | st.floats(width=32)
        shape = space.shape
        typed = st.one_of(
            hnp.arrays(np.float32, shape, elements=st.floats(-1, 1, width=32)),
            hnp.arrays(np.float32, shape, elements=element),
            hnp.arrays(np.float64, shape, elements=element),
            hnp.arrays(np.float32, hnp.array_shapes(max_dims=2, max_side=8), elements=element),
            st.lists(element, min_size=shape[0], max_size=shape[0]),
        )
    return draw(typed if draw(st.integers(0, 2)) else JUNK)


# ----------------------------------------------------------------- the gymnasium face


@fuzz(examples=100)
@given(family=FAMILIES, data=st.data())
def test_gymnasium_step_accepts_the_action_space_and_refuses_the_rest(family, data):
    env = fresh(family)
    for action in data.draw(st.lists(actions(family), min_size=1, max_size=4)):
        try:
            inside = bool(env.action_space.contains(action))
        except Exception:  # gymnasium's own check cannot read it: not inside
            inside = False
        out, error = attempt(env.step, action)
        if error is not None:
            assert not inside, f"refused {action!r}, inside {env.action_space}: {error}"
            continue
        assert inside, f"accepted {action!r}, outside {env.action_space}"
        obs, reward, terminated, truncated, _ = out
        assert_sane(env, obs, reward)
        if terminated or truncated:
            env.reset()


@fuzz(examples=150)
@given(family=FAMILIES, data=st.data())
def test_gymnasium_reset_refuses_bad_seeds_and_options_and_stays_usable(family, data):
    env = fresh(family)
    valid_seed = st.none() | st.integers(0, 2**70)
    seed = data.draw(SCALARS if data.draw(st.integers(0, 3)) == 0 else valid_seed, label="seed")
    kinds = {
        "none": st.none(),
        "params": st.fixed_dictionaries({"params": param_overrides(family)}),
        "params object": st.fixed_dictionaries({"params": params_objects(family)}),
        "level": st.fixed_dictionaries({"level": levels(family)}),
        "both": st.fixed_dictionaries({"params": param_overrides(family), "level": levels(family)}),
        "junk values": st.fixed_dictionaries({"params": JUNK, "level": JUNK}),
        "junk keys": st.dictionaries(st.text(max_size=6) | st.integers(), JUNK, max_size=2),
        "junk": JUNK,
    }
    options = data.draw(kinds[data.draw(st.sampled_from(list(kinds)))], label="options")
    out, error = attempt(env.reset, seed=seed, options=options, allowed=GYM_CLEAR)
    if error is None:
        assert_sane(env, out[0])
        run_a_few_steps(env)
    else:  # refused: nothing changed, the next plain reset works
        obs, _ = env.reset(seed=0)
        assert_sane(env, obs)
        run_a_few_steps(env, steps=1)


# ----------------------------------------------------------------- the functional core


@fuzz(examples=200)
@given(family=FAMILIES, data=st.data())
def test_make_and_make_params_check_every_option(family, data):
    env_id = IDS[family]
    static = sorted(option_types(spec(env_id).load()))
    config = data.draw(param_overrides(family), label="params")
    if data.draw(st.booleans(), label="with static options"):
        name = data.draw(st.sampled_from(static))
        config[name] = data.draw(JUNK | st.integers(-2, 40) | st.sampled_from(["rgb", "full"]))
    made, error = attempt(curriculax.make, env_id, **config)
    if not set(config) & set(static):  # params only: make_params must agree with make
        params, error_too = attempt(core(family)[0].make_params, **config)
        assert (error is None) == (error_too is None), (error, error_too)
    if error is not None:
        return
    env, params = made
    env.validate_params(params)
    default = core(family)[1]
    for name in type(params).__dataclass_fields__:
        value, want = np.asarray(getattr(params, name)), np.asarray(getattr(default, name))
        assert value.dtype == want.dtype, name
        assert np.all(np.isfinite(value)), f"{name}={value}"
    same_shapes = all(
        np.shape(getattr(params, n)) == np.shape(getattr(default, n))
        for n in type(params).__dataclass_fields__
    )
    if env == core(family)[0] and same_shapes:  # no new program: run it through the shared one
        gym = fresh(family)
        obs, _ = gym.reset(seed=0, options={"params": params})
        assert_sane(gym, obs)
        run_a_few_steps(gym)


# ----------------------------------------------------------------- the CLI's config parsing

FIELDS = PPOConfig.field_types()
WORDS = st.sampled_from(
    [
        *("true", "FALSE", "True", "1", "0", "yes", "on", "none", "Null", "", " ", "-0"),
        *("nan", "NaN", "-inf", "Infinity", "1e400", "-1e-400", "0x10", "1_000", "٣", "9" * 5000),
        *("gru", "lstm", "auto", "mlp", "fresh", "replay", '"gru"', "[1]", "{}", "3.5", "-3"),
    ]
)
TEXTS = st.one_of(
    WORDS,
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
    st.text(max_size=10),
)


def config_type_holds(config: PPOConfig) -> None:
    for name, hint in FIELDS.items():
        value = getattr(config, name)
        members = typing.get_args(hint) or (hint,)
        assert type(value) in members, f"{name}={value!r} is not {hint}"
        if isinstance(value, float):
            assert math.isfinite(value), f"{name}={value!r}"


@fuzz(examples=300)
@given(field=st.sampled_from(sorted(FIELDS)), text=TEXTS, flag=st.booleans())
def test_cli_config_text_is_one_line_error_or_a_typed_config(field, text, flag, tmp_path_factory):
    out = tmp_path_factory.getbasetemp() / "fuzz-cli-run"
    option = [f"--{field.replace('_', '-')}={text}"] if flag and field in CONFIG_FLAGS else []
    argv = ["train", IDS["grid"], "--out", str(out), *(option or ["--set", f"{field}={text}"])]
    try:
        config = config_from_args(build_parser().parse_args(argv))
    except Exception as error:  # judged below, then the command must agree
        assert_clear(error, (*CLEAR, UsageError))
    else:
        config_type_holds(config)
        return
    stderr = io.StringIO()
    with (
        contextlib.redirect_stderr(stderr),
        mock.patch("curriculax.agents.runner.run_training", side_effect=AssertionError("trained")),
    ):
        code = main(argv)
    lines = stderr.getvalue().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("curriculax: error: "), lines
    assert field in lines[0] or field.replace("_", "-") in lines[0], lines[0]
    assert not out.exists()


def typed(hint: typing.Any) -> st.SearchStrategy:
    """Values of a PPOConfig field's declared type, mostly in range."""
    members = typing.get_args(hint) or (hint,)
    return st.one_of(
        [
            {
                bool: st.booleans(),
                int: st.integers(1, 64) | st.sampled_from([256, 10**6, 10**30]),
                float: st.floats(0, 1) | st.floats(0),
                str: st.sampled_from(["auto", "mlp", "gru", "lstm", "fresh", "replay"]),
                type(None): st.none(),
            }[member]
            for member in members
        ]
    )


@st.composite
def config_dicts(draw) -> dict[typing.Any, typing.Any]:
    """PPOConfig fields with values of their type or junk; sometimes an unknown key."""
    chosen = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4, unique=True))
    out = {name: draw(typed(FIELDS[name]) if draw(st.integers(0, 2)) else JUNK) for name in chosen}
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.text(max_size=4) | st.integers())] = draw(JUNK)
    return out


@fuzz(examples=300)
@given(values=config_dicts())
def test_ppo_config_from_dict_is_typed_or_refused(values):
    config, error = attempt(PPOConfig.from_dict, values)
    if error is None:
        config_type_holds(config)
