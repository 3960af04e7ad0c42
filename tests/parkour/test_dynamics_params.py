"""The parkour's dynamics task Params (gravity, terrain friction, motor strength) reach the episode.

Every case runs as its own env of one ``AutoResetVecEnv`` with per-env Params (leaves [N]), the
vectorised path a curriculum uses, in one jitted rollout: each env gets its own dynamics, and
each is checked against an analytic answer (free fall, sliding on a slope, motor torque).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curriculax.autoreset import AutoResetVecEnv
from curriculax.envs.parkour import physics, terrain
from curriculax.envs.parkour.env import DT, DYNAMICS_BOUNDS, SUBSTEPS
from curriculax.envs.parkour.parkour import Parkour
from curriculax.envs.parkour.stumps import StumpTracks

PARKOUR = Parkour()
STEPS = 200  # 4 s
FALL_STEPS = 10  # free flight: the walker starts LIFT above the ground and falls < 0.4 m
LIFT = 1.5
SLOPE = math.radians(22.0)  # descending to the right; tan = 0.40
HIP = PARKOUR.physics_body.motor_link[0] + 2  # dof of the first hip
NUDGE = 0.05  # hip action: 4 N m at strength 1, far from the 4 rad/s target in one step

#: name -> (dynamics overrides, slope, lift, action [4])
CASES = {
    "fall_low": ({"gravity": 5.0}, 0.0, LIFT, [0.0] * 4),
    "fall_high": ({"gravity": 15.0}, 0.0, LIFT, [0.0] * 4),
    "fall_clipped": ({"gravity": 100.0}, 0.0, LIFT, [0.0] * 4),  # traced: clipped to 15
    "slope_slippery": ({"terrain_friction": 0.5}, SLOPE, 0.3, [0.0] * 4),
    "slope_grippy": ({"terrain_friction": 5.0}, SLOPE, 0.3, [0.0] * 4),
    "motor_weak": ({"motor_strength": 0.5}, 0.0, LIFT, [NUDGE, 0.0, 0.0, 0.0]),
    "motor_default": ({}, 0.0, LIFT, [NUDGE, 0.0, 0.0, 0.0]),
    "motor_strong": ({"motor_strength": 1.5}, 0.0, LIFT, [NUDGE, 0.0, 0.0, 0.0]),
}
NAMES = list(CASES)
TRACES = []


_SAMPLE_LEVEL = jax.jit(PARKOUR.sample_level)  # one compile, not one per generator op


def _track(slope: float):
    """A straight track through the start at ``slope``, no ceiling, dry, no creepers."""
    level = _SAMPLE_LEVEL(jax.random.key(0), PARKOUR.default_params())
    xs = terrain.SEGMENT * np.arange(terrain.NUM_KNOTS)
    ground = terrain.PAD_Y - math.tan(slope) * (xs - PARKOUR.start_x)
    return level.replace(
        ground_y=jnp.asarray(ground, jnp.float32),
        ceiling_y=jnp.asarray(ground + 50.0, jnp.float32),
        water_y=jnp.float32(-physics.FAR),
    )


def _stack(items):
    return jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *items)


def _inputs(cases):
    defaults = PARKOUR.default_params()
    params = _stack(
        [defaults.replace(**{k: jnp.float32(v) for k, v in cases[n][0].items()}) for n in NAMES]
    )
    levels = _stack([_track(cases[n][1]) for n in NAMES])
    lift = jnp.asarray([cases[n][2] for n in NAMES], jnp.float32)
    actions = jnp.asarray([cases[n][3] for n in NAMES], jnp.float32)
    return params, levels, lift, actions


def _rollout(params, levels, lift, actions):
    TRACES.append(1)
    venv = AutoResetVecEnv(PARKOUR, len(NAMES), mode="replay")
    _, state = venv.reset(jax.random.key(0), params, levels)
    body = state.env_state.body
    state = state.replace(
        env_state=state.env_state.replace(body=body.replace(q=body.q.at[:, 1].add(lift)))
    )

    def one(state, key):
        _, state, _, terminated, truncated, _ = venv.step(key, state, actions, params)
        return state, (state.env_state.body.q, state.env_state.body.qd, terminated | truncated)

    keys = jax.random.split(jax.random.key(1), STEPS)
    return jax.lax.scan(one, state, keys)[1]


ROLLOUT = jax.jit(_rollout)


def _run(cases):
    q, qd, done = jax.tree.map(np.asarray, ROLLOUT(*_inputs(cases)))
    assert not done.any()
    return {n: (q[:, i], qd[:, i]) for i, n in enumerate(NAMES)}


@pytest.fixture(scope="module")
def runs():
    return _run(CASES)


@pytest.mark.parametrize(("name", "gravity"), [("fall_low", 5.0), ("fall_high", 15.0)])
def test_gravity_sets_the_free_fall_of_each_env(runs, name, gravity):
    """Semi-implicit Euler from rest: after n substeps of h, v_y = -g h n, drop g h² n(n+1)/2."""
    q, qd = runs[name]
    k = np.arange(1, FALL_STEPS + 1)
    np.testing.assert_allclose(qd[:FALL_STEPS, 1], -gravity * DT * k, rtol=1e-4)
    n, h = SUBSTEPS * k, DT / SUBSTEPS
    drop = gravity * h * h * n * (n + 1) / 2
    np.testing.assert_allclose(q[0, 1] - q[:FALL_STEPS, 1], drop - drop[0], rtol=1e-3)


def test_traced_gravity_outside_its_bounds_is_clipped(runs):
    k = np.arange(1, FALL_STEPS + 1)
    np.testing.assert_allclose(runs["fall_clipped"][1][:FALL_STEPS, 1], -15.0 * DT * k, rtol=1e-4)


def test_terrain_friction_decides_between_sliding_and_sticking_on_a_slope(runs):
    """All contact points slide when even the grippiest mixes below tan(slope), else all hold.

    Sliding with every contact sliding, the acceleration along the slope lies between
    ``g (sin α - μ_max cos α)`` and ``g (sin α - μ_min cos α)``, μ mixed as
    ``sqrt(μ_point μ_terrain)`` over the walker's points (hull 0.1, legs 0.2).
    """
    points = np.asarray(PARKOUR.physics_body.contact_friction)
    g, sin, cos = physics.GRAVITY, math.sin(SLOPE), math.cos(SLOPE)
    late = slice(STEPS // 2, STEPS)  # after the limp walker has settled (~1.2 s)

    friction = CASES["slope_slippery"][0]["terrain_friction"]
    mu_min, mu_max = np.sqrt(points.min() * friction), np.sqrt(points.max() * friction)
    assert mu_max < math.tan(SLOPE)
    _, qd = runs["slope_slippery"]
    speed = np.hypot(qd[late, 0], qd[late, 1])
    accel = (speed[-1] - speed[0]) / (DT * (speed.size - 1))
    assert g * (sin - mu_max * cos) <= accel <= g * (sin - mu_min * cos)
    assert np.all(qd[late, 0] > 0.5)  # downhill, to the right

    friction = CASES["slope_grippy"][0]["terrain_friction"]
    assert np.sqrt(points.min() * friction) > math.tan(SLOPE)
    q, qd = runs["slope_grippy"]
    assert np.max(np.abs(qd[late, :2])) < 1e-3
    assert abs(q[-1, 0] - q[STEPS // 2, 0]) < 1e-3


def test_motor_strength_scales_the_joint_acceleration(runs):
    """From rest in free flight a saturated motor's torque, hence the hip's speed after one
    step, is proportional to the strength."""
    base = runs["motor_default"][1][0, HIP]
    assert base > 0.1
    for name, strength in (("motor_weak", 0.5), ("motor_strong", 1.5)):
        assert runs[name][1][0, HIP] / base == pytest.approx(strength, rel=1e-2)


def test_new_dynamics_values_do_not_retrace_and_change_the_episode(runs):
    """One trace per shape: other values (swapped between the envs) reuse the program.

    (Each env has its own start push along x, so only the free flight, which the push leaves
    alone, is compared.)
    """
    assert len(TRACES) == 1
    swapped = dict(CASES)
    swapped["fall_low"], swapped["fall_high"] = CASES["fall_high"], CASES["fall_low"]
    swapped["motor_weak"] = ({"motor_strength": 1.5}, *CASES["motor_weak"][1:])
    again = _run(swapped)
    assert len(TRACES) == 1
    for name, was in (("fall_low", "fall_high"), ("fall_high", "fall_low")):
        fall, want = again[name][1][:FALL_STEPS, 1], runs[was][1][:FALL_STEPS, 1]
        np.testing.assert_allclose(fall, want, rtol=1e-5)
    hip = again["motor_weak"][1][0, HIP]
    assert hip == pytest.approx(runs["motor_strong"][1][0, HIP], rel=1e-3)


@pytest.mark.parametrize("env", [PARKOUR, StumpTracks()], ids=["Parkour", "StumpTracks"])
def test_dynamics_fields_default_to_tmas_constants_and_are_bounded(env):
    params = env.default_params()
    assert float(params.gravity) == physics.GRAVITY == 10.0
    assert float(params.terrain_friction) == terrain.FRICTION == 2.5
    assert float(params.motor_strength) == 1.0
    bounds = env.param_bounds()
    for name, (low, high) in DYNAMICS_BOUNDS.items():
        assert bounds[name] == (low, high)
        assert 0.0 < low < float(getattr(params, name)) < high < math.inf
    # Terrain dimensions come first, so a teacher's default box lists them first as before.
    assert list(bounds)[-3:] == list(DYNAMICS_BOUNDS)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("gravity", 0.0, "gravity.*> 0"),
        ("gravity", -10.0, "gravity.*> 0"),
        ("gravity", float("nan"), "gravity.*finite"),
        ("motor_strength", 0.0, "motor_strength.*> 0"),
        ("terrain_friction", -0.1, "terrain_friction.*>= 0"),
        ("terrain_friction", float("inf"), "terrain_friction.*finite"),
        ("gravity", 20.0, "gravity.*bounds"),
    ],
)
def test_unphysical_dynamics_are_rejected_on_the_host(field, value, match):
    with pytest.raises(ValueError, match=match):
        PARKOUR.make_params(**{field: value})
    default = PARKOUR.default_params()
    batched = jax.tree.map(lambda x: jnp.stack([x, x]), default)
    one_bad = batched.replace(**{field: jnp.asarray([getattr(default, field), value])})
    with pytest.raises(ValueError, match=match):
        PARKOUR.validate_params(one_bad)
