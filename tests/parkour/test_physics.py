"""Physical checks of the parkour engine, each against an analytic answer.

Every body's scenarios run as one vmapped, jitted rollout built once per module (compiles are
the main cost): a box with a hand (free fall, resting, slopes, water, grasping), the walker
(dropped, full motor torque both ways, free flight) and a pendulum.
"""

from __future__ import annotations

import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curriculax.envs.parkour import bodies, physics

DT = 1.0 / 50.0
SUBSTEPS = 4
G = physics.GRAVITY
H = DT / SUBSTEPS


def _rollout(body, state, terrain, actions):
    """Steps one body through ``actions`` [T, A + H]; returns per-step diagnostics."""

    def one(state, action):
        state, contacts = physics.step(body, state, action, terrain, DT, SUBSTEPS)
        depth = physics.penetration(body, state.q, terrain)
        out = {
            "q": state.q,
            "qd": state.qd,
            "energy": physics.energy(body, state),
            "depth": jnp.max(depth, initial=0.0),
            "grasping": state.grasping,
            "hands": physics.hand_points(body, state.q),
            "ground": contacts.link_ground,
        }
        return state, out

    return jax.lax.scan(one, state, actions)


@functools.cache
def _runner(body):
    return jax.jit(jax.vmap(functools.partial(_rollout, body)))


def _stack(items):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *items)


def _terrain(
    ground=((-200.0, 0.0), (200.0, 0.0)), ceiling=None, water=-physics.FAR, rho=1.0, friction=2.5
):
    (x0, y0), (x1, y1) = ground
    cx, cy = ([-200.0, 200.0], [physics.FAR] * 2) if ceiling is None else ceiling
    return physics.make_terrain([x0, x1], [y0, y1], cx, cy, water, rho, friction)


def _run(body, cases, steps):
    """Runs named cases ``{name: (state, terrain, actions [T, A+H])}`` as one batch."""
    names = list(cases)
    states = _stack([cases[k][0] for k in names])
    terrains = _stack([cases[k][1] for k in names])
    actions = jnp.stack([jnp.broadcast_to(cases[k][2], (steps, body.action_size)) for k in names])
    _, out = _runner(body)(states, terrains, actions)
    out = jax.tree.map(np.asarray, out)
    return {k: jax.tree.map(lambda x, i=i: x[i], out) for i, k in enumerate(names)}


# --------------------------------------------------------------------------------------------
# Box scenarios: one body (1 m x 0.5 m, density 1, friction 1, a hand on top), one compile.

BOX_W, BOX_H = 1.0, 0.5
BOX = bodies.box(BOX_W, BOX_H, density=1.0, friction=1.0, hand=True)
BOX_STEPS = 500  # 10 s
MU = 0.5  # point friction 1 x terrain friction 0.25, Box2D-mixed: sqrt(1 * 0.25)
SLOPE_BELOW = math.radians(20.0)
SLOPE_ABOVE = math.radians(35.0)
CEILING_Y = 2.0


def _slope_case(alpha):
    """A box resting on a slope descending to the right at ``alpha``, friction MU."""
    t = math.tan(alpha)
    terrain = _terrain(ground=((-300.0, 300.0 * t), (300.0, -300.0 * t)), friction=MU**2)
    normal = np.asarray([math.sin(alpha), math.cos(alpha)])
    centre = normal * BOX_H / 2
    return physics.init_state(BOX, tuple(centre), -alpha), terrain, jnp.zeros(1)


@pytest.fixture(scope="module")
def box_runs():
    far_ground = ((-200.0, -1000.0), (200.0, -1000.0))
    grasp_on, grasp_off = jnp.ones(1), jnp.zeros(1)
    release = jnp.concatenate([jnp.ones((250, 1)), jnp.zeros((250, 1))])
    hang = physics.init_state(BOX, (0.0, CEILING_Y - BOX_H / 2))
    ceiling = ([-200.0, 200.0], [CEILING_Y, CEILING_Y])
    cases = {
        "free_fall": (physics.init_state(BOX, (0.0, 0.0)), _terrain(far_ground), grasp_off),
        "rest": (physics.init_state(BOX, (0.0, BOX_H / 2 + 0.3)), _terrain(), grasp_off),
        "slope_below": _slope_case(SLOPE_BELOW),
        "slope_above": _slope_case(SLOPE_ABOVE),
        "float": (
            physics.init_state(BOX, (0.0, 1.0)),
            _terrain(((-200.0, -3.0), (200.0, -3.0)), water=0.0, rho=2.0),
            grasp_off,
        ),
        "sink": (
            physics.init_state(BOX, (0.0, 1.0)),
            _terrain(((-200.0, -3.0), (200.0, -3.0)), water=0.0, rho=0.5),
            grasp_off,
        ),
        "grasp": (hang, _terrain(far_ground, ceiling), grasp_on),
        "no_grasp": (hang, _terrain(far_ground, ceiling), grasp_off),
        "release": (hang, _terrain(far_ground, ceiling), release),
        "grasp_far": (
            physics.init_state(BOX, (0.0, CEILING_Y - BOX_H / 2 - 0.3)),
            _terrain(far_ground, ceiling),
            grasp_on,
        ),
    }
    start = time.perf_counter()
    runs = _run(BOX, cases, BOX_STEPS)
    print(f"box rollouts (compile + run): {time.perf_counter() - start:.1f} s")
    return runs


def test_free_fall(box_runs):
    run = box_runs["free_fall"]
    t = DT * np.arange(1, BOX_STEPS + 1)
    y = run["q"][:, 1]
    exact = -0.5 * G * t**2
    # Semi-implicit Euler lags the exact parabola by g h t / 2 (first order in h).
    assert np.all(np.abs(y - exact) <= 0.5 * G * H * t + 1e-3 * (1 + np.abs(exact)))
    np.testing.assert_allclose(run["qd"][:, 1], -G * t, rtol=1e-4)
    np.testing.assert_allclose(run["q"][:, [0, 2]], 0.0, atol=1e-6)


def test_box_rests_on_flat_ground(box_runs):
    run = box_runs["rest"]
    settled = slice(250, None)  # after 5 s
    assert np.all(run["depth"][settled] < 0.01)
    assert np.all(run["depth"][settled] > 0.0)  # resting on the ground, not hovering
    np.testing.assert_allclose(run["q"][settled, 1], BOX_H / 2, atol=0.01)
    assert np.max(np.abs(run["qd"][settled])) < 1e-2
    assert np.max(run["depth"]) < 0.05  # the 0.3 m drop never sinks far


def _along_slope(run, alpha):
    """Displacement of the box along the slope (downhill positive), m, per step."""
    x, y = run["q"][:, 0], run["q"][:, 1]
    return x * math.cos(alpha) - y * math.sin(alpha)


def test_static_friction_holds_below_friction_angle(box_runs):
    assert math.atan(MU) > SLOPE_BELOW
    s = _along_slope(box_runs["slope_below"], SLOPE_BELOW)
    assert np.max(np.abs(s - s[0])) < 0.01  # creeps less than 1 cm in 10 s
    assert np.max(np.abs(box_runs["slope_below"]["q"][:, 2] + SLOPE_BELOW)) < 0.01


def test_box_slides_above_friction_angle(box_runs):
    alpha = SLOPE_ABOVE
    assert alpha > math.atan(MU)
    s = _along_slope(box_runs["slope_above"], alpha)
    t = DT * np.arange(1, BOX_STEPS + 1)
    accel = G * (math.sin(alpha) - MU * math.cos(alpha))
    for seconds in (2.0, 10.0):
        i = round(seconds / DT) - 1
        np.testing.assert_allclose(s[i], 0.5 * accel * t[i] ** 2, rtol=0.03)


def test_buoyancy_floats_a_lighter_body(box_runs):
    run = box_runs["float"]
    # Density 1 in water of density 2: half the box is under the surface (y = 0).
    draft = BOX_H * 1.0 / 2.0
    expected = 0.0 - draft + BOX_H / 2
    np.testing.assert_allclose(run["q"][-50:, 1], expected, atol=0.02)
    assert np.max(np.abs(run["qd"][-50:, 1])) < 0.05


def test_buoyancy_sinks_a_denser_body(box_runs):
    run = box_runs["sink"]
    # Density 1 in water of density 0.5: it sinks to the bottom (y = -3) and rests there.
    np.testing.assert_allclose(run["q"][-50:, 1], -3.0 + BOX_H / 2, atol=0.01)
    assert np.all(run["q"][:, 1] <= 1.0 + 1e-3)


def test_grasp_holds_a_hanging_body(box_runs):
    run = box_runs["grasp"]
    assert run["grasping"].all()
    hand = run["hands"][:, 0]
    assert np.max(np.abs(hand - np.asarray([0.0, CEILING_Y]))) < 0.01
    np.testing.assert_allclose(run["q"][:, 1], CEILING_Y - BOX_H / 2, atol=0.01)


def test_no_grasp_falls(box_runs):
    assert not box_runs["no_grasp"]["grasping"].any()
    fall = box_runs["no_grasp"]["q"][:, 1]
    np.testing.assert_allclose(fall[49], CEILING_Y - BOX_H / 2 - 0.5 * G, atol=0.05)  # after 1 s
    # A hand 30 cm below the ceiling cannot grasp it.
    assert not box_runs["grasp_far"]["grasping"].any()
    assert box_runs["grasp_far"]["q"][-1, 1] < -100


def test_release_lets_go(box_runs):
    run = box_runs["release"]
    assert run["grasping"][:250].all() and not run["grasping"][250:].any()
    y = run["q"][:, 1]
    np.testing.assert_allclose(y[249], CEILING_Y - BOX_H / 2, atol=0.01)
    np.testing.assert_allclose(y[299], y[249] - 0.5 * G * 1.0, atol=0.1)  # 1 s of free fall


# --------------------------------------------------------------------------------------------
# Pendulum.


def test_pendulum_small_angle_period():
    length, width, density = 1.0, 0.1, 1.0
    body = bodies.pendulum(length, width, density)
    m = width * length * density
    inertia_pivot = m * (length**2 + width**2) / 12 + m * (length / 2) ** 2
    period = 2 * math.pi * math.sqrt(inertia_pivot / (m * G * length / 2))
    steps = 500
    state = physics.init_state(body, (0.0, 10.0), joint_angles=jnp.asarray([0.05]))
    run = _run(body, {"swing": (state, _terrain(), jnp.zeros(0))}, steps)["swing"]
    theta = run["q"][:, 3]
    t = DT * np.arange(1, steps + 1)
    up = np.nonzero((theta[:-1] < 0) & (theta[1:] >= 0))[0]
    crossings = t[up] + DT * (-theta[up]) / (theta[up + 1] - theta[up])
    assert len(crossings) >= 4
    measured = np.mean(np.diff(crossings))
    assert abs(measured / period - 1) < 0.02, (measured, period)
    # Amplitude kept (no numerical damping or growth beyond 2 %).
    assert abs(np.max(np.abs(theta[-100:])) / 0.05 - 1) < 0.02


# --------------------------------------------------------------------------------------------
# The walker: dropped, full torque both ways, free flight with spinning legs.

WALKER = bodies.old_classic_bipedal()
WALKER_STEPS = 300


KNOTS = 32  # every walker terrain: one compiled program for every walker check
RANDOM_CASES = 252  # random steps over random terrains, in the same batch (256 in all)


def _flat(height=0.0):
    """A flat ground of KNOTS knots, no ceiling, four unused creeper rows."""
    x = np.linspace(-200.0, 200.0, KNOTS)
    far = np.full(KNOTS, physics.FAR)
    creepers = np.tile([0.0, 0.0, physics.FAR], (4, 1))
    return physics.make_terrain(x, np.full(KNOTS, height), x, far, creepers=creepers)


@pytest.fixture(scope="module")
def walker_runs():
    ground = _flat()
    nowhere = _flat(-1000.0)
    stand = bodies.WALKER_STAND_HEIGHT
    zero = jnp.zeros(4)
    bent = jnp.asarray([0.0, -0.1, 0.0, -0.1])  # knees at their upper limit
    spin = jnp.asarray([0.0, 0.0, 0.0, 5.0, -3.0, 2.0, 4.0], jnp.float32)
    cases = {
        "drop": (physics.init_state(WALKER, (0.0, stand + 0.5), joint_angles=bent), ground, zero),
        "push": (
            physics.init_state(WALKER, (0.0, stand + 0.01), joint_angles=bent),
            ground,
            jnp.ones(4),
        ),
        "pull": (
            physics.init_state(WALKER, (0.0, stand + 0.01), joint_angles=bent),
            ground,
            -jnp.ones(4),
        ),
        "flight": (
            physics.init_state(
                WALKER, (0.0, 0.0), joint_angles=[0.1, -0.8, -0.3, -0.5], velocity=spin
            ),
            nowhere,
            zero,
        ),
    }
    names = list(cases)
    states = _stack([cases[k][0] for k in names])
    terrains = _stack([cases[k][1] for k in names])
    actions = jnp.stack([jnp.broadcast_to(cases[k][2], (WALKER_STEPS, 4)) for k in names])
    r_states, r_terrains, r_actions = _numpy_random_cases(WALKER, RANDOM_CASES, WALKER_STEPS)
    cat = functools.partial(jax.tree.map, lambda a, b: jnp.concatenate([a, b]))
    start = time.perf_counter()
    _, out = _runner(WALKER)(
        cat(states, r_states), cat(terrains, r_terrains), cat(actions, r_actions)
    )
    out = jax.tree.map(np.asarray, out)
    print(f"walker rollouts (compile + run): {time.perf_counter() - start:.1f} s")
    runs = {k: jax.tree.map(lambda x, i=i: x[i], out) for i, k in enumerate(names)}
    runs["random"] = jax.tree.map(lambda x: x[len(names) :], out)
    return runs


def test_walker_body_matches_teachmyagent():
    # Pentagon area by shoelace, in px²: 64 x 17 box minus the corner triangle (28 x 8 / 2).
    area_px = 64 * 17 - 0.5 * 28 * 8
    hull_mass = 5.0 * area_px / 30**2
    np.testing.assert_allclose(WALKER.mass[0], hull_mass, rtol=1e-6)
    np.testing.assert_allclose(WALKER.mass[1], 8 * 34 / 900, rtol=1e-6)
    np.testing.assert_allclose(WALKER.mass[2], 6.4 * 34 / 900, rtol=1e-6)
    assert WALKER.motor_torque == (80.0,) * 4
    assert WALKER.motor_speed == (4.0, 6.0, 4.0, 6.0)
    assert WALKER.joint_lower[1:] == (-0.8, -1.6, -0.8, -1.6)
    assert WALKER.joint_upper[1:] == (1.1, -0.1, 1.1, -0.1)
    assert WALKER.action_size == 4


def test_walker_rests_on_flat_ground(walker_runs):
    run = walker_runs["drop"]
    assert np.all(run["depth"][-50:] < 0.01)
    assert np.all(run["depth"][-50:] > 0.0)
    assert np.max(np.abs(run["qd"][-50:, :2])) < 0.05
    assert np.max(run["depth"]) < 0.05


def test_energy_never_grows_without_motors(walker_runs):
    for name in ("drop", "flight"):
        energy = walker_runs[name]["energy"]
        e0 = float(energy[0])
        scale = abs(e0) + 1.0
        running_max = np.maximum.accumulate(energy)
        growth = np.max(energy[1:] - running_max[:-1])
        assert growth <= 1e-3 * scale, (name, growth)
        assert np.max(energy) <= e0 + 1e-3 * scale, name
    # The drop ends at rest: contacts removed the fall's energy.
    drop = walker_runs["drop"]["energy"]
    assert drop[-1] < drop[0] - 0.5 * 7.0 * G * 0.3


def test_joint_limits_hold_under_full_torque(walker_runs):
    lower = np.asarray(WALKER.joint_lower[1:])
    upper = np.asarray(WALKER.joint_upper[1:])
    slop = 2 * math.pi / 180  # Box2D's angular slop; reached only in hard falls on the ground
    for name, bound in (("push", upper), ("pull", lower)):
        joints = walker_runs[name]["q"][:, 3:]
        assert np.all(joints >= lower - slop), name
        assert np.all(joints <= upper + slop), name
        # Full torque holds every joint at the limit it pushes against.
        np.testing.assert_allclose(
            joints[-50:], np.broadcast_to(bound, (50, 4)), atol=0.005, err_msg=name
        )


def test_motors_reach_their_target_speed(walker_runs):
    # Full reverse torque: hips at -4 rad/s and knees at -6 rad/s (TeachMyAgent's motor speeds)
    # while they swing freely, before the knees reach their limit.
    speeds = walker_runs["pull"]["qd"][2:8, 3:]
    np.testing.assert_allclose(
        speeds, np.broadcast_to([-4.0, -6.0, -4.0, -6.0], speeds.shape), atol=0.05
    )


# --------------------------------------------------------------------------------------------
# Random steps over random terrains: never a NaN.


def _random_terrain(key, knots=32):
    """Random ground with slopes, walls and stumps, a ceiling above it, water and creepers."""
    k = jax.random.split(key, 8)
    dx = jax.random.uniform(k[0], (knots - 1,), minval=0.0, maxval=1.0)
    dx = jnp.where(jax.random.uniform(k[1], (knots - 1,)) < 0.2, 0.0, dx)  # vertical walls
    x = jnp.concatenate([jnp.zeros(1), jnp.cumsum(dx)]) - 5.0
    y = jnp.cumsum(jax.random.normal(k[2], (knots,)) * 0.4)
    y = y - y[5]
    gap = jax.random.uniform(k[3], (knots,), minval=0.3, maxval=4.0)
    water = jax.random.uniform(k[4], (), minval=-3.0, maxval=3.0)
    creepers = jnp.stack(
        [
            jax.random.uniform(k[5], (4,), minval=-5.0, maxval=20.0),
            jnp.full((4,), 0.125),
            jax.random.uniform(k[6], (4,), minval=-1.0, maxval=3.0),
        ],
        axis=-1,
    )
    friction = jax.random.uniform(k[7], (), minval=0.1, maxval=3.0)
    return physics.Terrain(x, y, x, y + gap, water, jnp.asarray(1.0), friction, creepers)


def _numpy_random_cases(body, batch, steps, seed=1):
    """``_random_case`` drawn with numpy (no compile), batched: states, terrains, actions."""
    rng = np.random.default_rng(seed)
    dx = rng.uniform(0.0, 1.0, (batch, KNOTS - 1))
    dx[rng.uniform(size=dx.shape) < 0.2] = 0.0  # vertical walls
    x = np.concatenate([np.zeros((batch, 1)), np.cumsum(dx, axis=1)], axis=1) - 5.0
    y = np.cumsum(rng.normal(0.0, 0.4, (batch, KNOTS)), axis=1)
    y -= y[:, 5:6]
    gap = rng.uniform(0.3, 4.0, (batch, KNOTS))
    creepers = np.stack(
        [
            rng.uniform(-5.0, 20.0, (batch, 4)),
            np.full((batch, 4), 0.125),
            rng.uniform(-1.0, 3.0, (batch, 4)),
        ],
        axis=-1,
    )
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    terrains = physics.Terrain(
        f32(x),
        f32(y),
        f32(x),
        f32(y + gap),
        f32(rng.uniform(-3.0, 3.0, batch)),
        f32(np.ones(batch)),
        f32(rng.uniform(0.1, 3.0, batch)),
        f32(creepers),
    )
    px = rng.uniform(0.0, 10.0, batch)
    ground = np.array([np.interp(px[i], x[i], y[i]) for i in range(batch)])
    q = np.concatenate(
        [
            px[:, None],
            (ground + rng.uniform(-0.3, 2.0, batch))[:, None],
            rng.uniform(-3.0, 3.0, (batch, 1)),
            rng.uniform(-2.0, 2.0, (batch, body.num_dofs - 3)),
        ],
        axis=1,
    )
    rest = physics.init_state(body)
    states = jax.tree.map(lambda a: jnp.broadcast_to(a, (batch, *a.shape)), rest)
    states = states.replace(q=f32(q))
    actions = f32(rng.uniform(-1.5, 1.5, (batch, steps, body.action_size)))
    return states, terrains, actions


def _random_case(body, key, steps):
    """A random pose (possibly inside the terrain), random terrain and random actions."""
    k_terrain, k_pose, k_act = jax.random.split(key, 3)
    terrain = _random_terrain(k_terrain)
    kp = jax.random.split(k_pose, 4)
    n = body.num_dofs
    x = jax.random.uniform(kp[0], (), minval=0.0, maxval=10.0)
    y = physics.profile_height(terrain.ground_x, terrain.ground_y, x)
    y = y + jax.random.uniform(kp[1], (), minval=-0.3, maxval=2.0)
    angle = jax.random.uniform(kp[2], (), minval=-3.0, maxval=3.0)
    joints = jax.random.uniform(kp[3], (n - 3,), minval=-2.0, maxval=2.0)
    state = physics.init_state(body, (x, y), angle, joints)
    actions = jax.random.uniform(k_act, (steps, body.action_size), minval=-1.5, maxval=1.5)
    return state, terrain, actions


def _random_rollout(body, key, steps):
    state, terrain, actions = _random_case(body, key, steps)

    def one(carry, action):
        state, finite = carry
        state, _ = physics.step(body, state, action, terrain, DT, SUBSTEPS)
        ok = jnp.all(jnp.isfinite(state.q)) & jnp.all(jnp.isfinite(state.qd))
        return (state, finite & ok), None

    (state, finite), _ = jax.lax.scan(one, (state, jnp.asarray(True)), actions)
    return finite, state


@functools.cache
def _random_runner(body, steps):
    return jax.jit(jax.vmap(functools.partial(_random_rollout, body, steps=steps)))


def test_random_steps_never_nan(walker_runs):
    # 252 walkers x 300 random steps over random terrains (slopes, walls, low ceilings, water,
    # starts inside the ground), in the same compiled batch as the checks above.
    run = walker_runs["random"]
    for key in ("q", "qd", "energy", "depth"):
        assert np.all(np.isfinite(run[key])), key
    assert np.all(np.abs(run["qd"]) <= 100.0)


@pytest.mark.slow
@pytest.mark.parametrize("body", [WALKER, bodies.simple_climber()], ids=lambda b: b.name)
def test_a_million_random_steps_never_nan(body):
    batch, steps = 1024, 1000
    finite, state = _random_runner(body, steps)(jax.random.split(jax.random.key(2), batch))
    assert bool(np.all(finite))
    assert np.all(np.abs(np.asarray(state.qd)) <= 100.0)
