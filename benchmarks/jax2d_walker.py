"""Peer for the parkour benchmark: a TeachMyAgent-like bipedal walker in jax2d (Kinetix's engine).

Measured: steps/s of ``batch`` independent walkers, each a jax2d scene, stepped ``steps`` times
with uniform random motor actions in [-1, 1] inside one jitted ``lax.scan`` over
``vmap(PhysicsEngine.step)`` (actions drawn inside the scan). The scan is compiled ahead of time
(trace, lower and XLA compile: ``compile_s``), run once to warm up, then timed ``repeats`` times
from the same start states; the median is reported. Only physics is timed: no observations
(lidar), rewards or resets, which curriculax's parkour env also computes.

The scene, in metres (TeachMyAgent's / gym's BipedalWalker sizes, ``SCALE = 30`` px/m):

* ground: ``NUM_TERRAIN = 16`` static quads, 2 m wide and 1 m deep below the lowest point, flat for
  the first 8 m (the walker starts at x = 3 m), then gently rolling (±0.25 m); they fill the
  first ``num_static_fixated_polys`` slots, as jax2d requires of static polygons;
* hull: density 5, the quad (-30, 9), (6, 9), (34, -8), (-30, -8) px in place of the pentagon
  (-30, 9), (6, 9), (34, 1), (34, -8), (-30, -8) px (jax2d's SAT reads exactly 4 vertices);
* two legs hanging from hull point (0, -8 px): upper box 8 x 34 px, lower box 6.4 x 34 px,
  density 1; revolute joints with motors and limits, hips [-0.8, 1.1] rad, knees [-1.6, -0.1];
  jax2d keeps jointed bodies from colliding, so legs touch only the ground, as in the original;
* ``dt = 1/50`` (TeachMyAgent's), jax2d's default 10 solver iterations with warm starting,
  ``SimParams(clip_position=1000)`` (the default clips positions to ±15 m); two inactive circles
  and one inactive thruster, because jax2d needs non-empty arrays of both.

Fidelity caveats (this is a throughput peer, not a faithful BipedalWalker):

* quads only: the hull loses its sloped nose corner (34, 1) px, so it weighs 4.72 kg instead of
  5.42 kg, and jax2d puts a polygon's mass centre at its vertices' mean, (-5, 0.5) px, not at the
  pentagon's centroid (x = -0.6 px): the hull leans back further over the hips;
* soft contacts at dt = 1/50: jax2d resolves contacts by sequential impulses with Baumgarte
  stabilisation (0.2 / dt, 1 cm slop) and no substeps; settling from a 2 cm drop the feet sank up
  to 2.2 cm (4.4 cm when the collapsing walker hit the ground), a resting hull 1.1 cm; adjacent
  terrain quads are separate polygons, so a foot at a seam can catch an edge (Box2D's edge chains
  do not);
* motors are jax2d's, not Box2D's: each step one impulse of ``900 · power · dt · I_axial ·
  tanh(0.1 · speed error)`` towards ``action · max speed`` (4 rad/s hips, 6 rad/s knees), with
  Kinetix's ``power = 1``; that is a peak torque of ~900 · I_axial N m (~30 N m hips, ~14 N m
  knees) instead of BipedalWalker's 80 N m · |action|: linearised, the motor multiplies the speed
  error by ``1 - 900 · power · dt · 0.1 = 1 - 1.8 · power`` each step, which overshoots ever more
  (until tanh saturates) above ``power ≈ 1.1``; at action 0 the motor is off (limp joints, as
  BipedalWalker's zero torque), so a walker given zero actions collapses (here it tips backwards
  and lands on its back in ~80 steps);
* friction mixes as ``√((0.4 μ₁)² + (0.4 μ₂)²)`` in jax2d; every body gets ``μ = 1.25``, so
  leg–ground contacts have Box2D's √(2.5 · 0.2) ≈ 0.71 (the hull–ground contact too, not 0.5).

Cost: jax2d builds and solves a manifold for every pair of polygons that are not both static (90
here; 42 circle–polygon pairs and 1 circle pair for the dummies) in every solver iteration,
whether or not they touch, so a step costs the same standing, walking or lying down.

jax2d is not a dependency of curriculax; install it (its wheel forgets to declare ``chex``) with
the ``bench`` extra or ``pip install jax2d==1.0.2 chex``. Standalone::

    python benchmarks/jax2d_walker.py [--batches 1 64 1024] [--env-steps 1500] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Pixels per metre (Box2D's BipedalWalker / TeachMyAgent).
SCALE = 30.0
#: Step length, s (TeachMyAgent's 50 Hz).
DT = 1.0 / 50.0
#: Static terrain quads, in the first polygon slots.
NUM_TERRAIN = 16
#: Width of one terrain quad, m, and depth below the terrain's lowest point, m.
TERRAIN_WIDTH, TERRAIN_DEPTH = 2.0, 1.0
#: Flat terrain quads at the start, then rolling heights of this amplitude, m.
FLAT_QUADS, TERRAIN_AMPLITUDE = 4, 0.25
#: x of the hull origin at the start, m.
START_X = 3.0
#: Hull quad (the pentagon without its (34, 1) px corner), clockwise from the top left, metres.
HULL_QUAD = tuple((x / SCALE, y / SCALE) for x, y in ((-30, 9), (6, 9), (34, -8), (-30, -8)))
HULL_DENSITY, LEG_DENSITY = 5.0, 1.0
LEG_DOWN, LEG_W, LEG_H = -8 / SCALE, 8 / SCALE, 34 / SCALE
HIP_LIMITS, KNEE_LIMITS = (-0.8, 1.1), (-1.6, -0.1)
#: Motor max speeds, rad/s (BipedalWalker's SPEED_HIP, SPEED_KNEE).
HIP_SPEED, KNEE_SPEED = 4.0, 6.0
#: jax2d motor power multiplier (Kinetix's default; see the module docstring).
MOTOR_POWER = 1.0
#: Friction of every body (jax2d mixes √((0.4 μ₁)² + (0.4 μ₂)²): 0.71 for two bodies).
FRICTION = 1.25
#: Height of the hull origin above the ground at the start (straight legs), m, plus a 2 cm drop.
START_HEIGHT = -LEG_DOWN + 2 * LEG_H + 0.02

NUM_JOINTS, NUM_CIRCLES, NUM_THRUSTERS = 4, 2, 1
#: Polygon slots: terrain, hull, then per leg (left first) upper and lower.
HULL = NUM_TERRAIN
LOWER_LEGS = (NUM_TERRAIN + 2, NUM_TERRAIN + 4)
NUM_POLYGONS = NUM_TERRAIN + 5


def available() -> str | None:
    """Whether the peer can run.

    Returns:
        None when jax2d can be imported, else the reason (e.g. 'jax2d is not installed').
    """
    try:
        import jax2d.engine
        import jax2d.scene  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == "jax2d":
            return "jax2d is not installed"
        hint = " (jax2d's wheel does not declare it)" if error.name == "chex" else ""
        return f"jax2d cannot be imported: {error}{hint}"
    except Exception as error:  # an incompatible jax, say: the peer is optional
        return f"jax2d cannot be imported: {type(error).__name__}: {error}"
    return None


def terrain_heights() -> np.ndarray:
    """Ground height at the ``NUM_TERRAIN + 1`` quad edges ``x = i · TERRAIN_WIDTH``, m.

    Returns:
        float64 [NUM_TERRAIN + 1]: zero for the first ``FLAT_QUADS`` quads, then a gentle sine
        (slopes below 5°).
    """
    i = np.arange(NUM_TERRAIN + 1, dtype=np.float64)
    rolling = TERRAIN_AMPLITUDE * np.sin(0.7 * np.maximum(i - FLAT_QUADS, 0.0))
    return np.where(i <= FLAT_QUADS, 0.0, rolling)


def ground_height(x: np.ndarray) -> np.ndarray:
    """Ground height under ``x``, m (piecewise linear between the quads' edges).

    Args:
        x: positions, m.

    Returns:
        Heights, m, same shape as ``x``.
    """
    edges = TERRAIN_WIDTH * np.arange(NUM_TERRAIN + 1)
    return np.interp(x, edges, terrain_heights())


def static_params() -> Any:
    """The walker scene's ``jax2d.sim_state.StaticSimParams``.

    Returns:
        Array sizes for ``NUM_POLYGONS`` polygons (the first ``NUM_TERRAIN`` static), 4 joints,
        dummy circles and thruster, default solver settings.
    """
    from jax2d.sim_state import StaticSimParams

    return StaticSimParams(
        num_polygons=NUM_POLYGONS,
        num_circles=NUM_CIRCLES,
        num_joints=NUM_JOINTS,
        num_thrusters=NUM_THRUSTERS,
        max_polygon_vertices=4,
        num_static_fixated_polys=NUM_TERRAIN,
    )


def sim_params() -> Any:
    """The walker's ``jax2d.sim_state.SimParams``: dt = 1/50, positions clipped at ±1000 m.

    Returns:
        The dynamic simulation parameters (jax2d's defaults otherwise).
    """
    from jax2d.sim_state import SimParams

    return SimParams(dt=DT, clip_position=1000.0)


def build_scene() -> tuple[Any, Any]:
    """One walker standing (straight legs, 2 cm up) on the terrain at x = ``START_X``.

    Returns:
        ``(state, static_params)``: a ``jax2d.sim_state.SimState`` with terrain in polygon slots
        ``0..NUM_TERRAIN-1``, hull in ``HULL``, legs after it, joints ``(hip_l, knee_l, hip_r,
        knee_r)``; and the ``StaticSimParams`` it was built for.
    """
    from jax2d.engine import create_empty_sim
    from jax2d.scene import (
        add_polygon_to_scene,
        add_rectangle_to_scene,
        add_revolute_joint_to_scene,
    )

    static = static_params()
    state = create_empty_sim(static, add_floor=False, add_walls_and_ceiling=False)
    f32 = np.float32

    heights = terrain_heights()
    bottom = heights.min() - TERRAIN_DEPTH
    for i in range(NUM_TERRAIN):
        x0, x1 = i * TERRAIN_WIDTH, (i + 1) * TERRAIN_WIDTH
        quad = np.array(
            [[x0, heights[i]], [x1, heights[i + 1]], [x1, bottom], [x0, bottom]], dtype=f32
        )
        state, _ = add_polygon_to_scene(
            state, static, jnp.zeros(2), jnp.asarray(quad), 4, friction=FRICTION, fixated=True
        )

    origin = np.array([START_X, ground_height(np.array(START_X)) + START_HEIGHT], dtype=f32)
    state, _ = add_polygon_to_scene(
        state,
        static,
        jnp.asarray(origin),
        jnp.asarray(HULL_QUAD, dtype=jnp.float32),
        4,
        density=HULL_DENSITY,
        friction=FRICTION,
    )
    # add_polygon_to_scene moves a body's position to its vertices' mean: anchor from the result.
    hip = origin + np.array([0.0, LEG_DOWN], dtype=f32)
    hip_on_hull = jnp.asarray(hip) - state.polygon.position[HULL]

    for _side in range(2):
        upper_centre = hip - np.array([0.0, LEG_H / 2], dtype=f32)
        lower_centre = hip - np.array([0.0, 1.5 * LEG_H], dtype=f32)
        state, (upper, _) = add_rectangle_to_scene(
            state,
            static,
            jnp.asarray(upper_centre),
            jnp.array([LEG_W, LEG_H]),
            density=LEG_DENSITY,
            friction=FRICTION,
        )
        state, (lower, _) = add_rectangle_to_scene(
            state,
            static,
            jnp.asarray(lower_centre),
            jnp.array([0.8 * LEG_W, LEG_H]),
            density=LEG_DENSITY,
            friction=FRICTION,
        )
        top, low = jnp.array([0.0, LEG_H / 2]), jnp.array([0.0, -LEG_H / 2])
        for a, b, a_anchor, speed, (lo, hi) in (
            (HULL, upper, hip_on_hull, HIP_SPEED, HIP_LIMITS),
            (upper, lower, low, KNEE_SPEED, KNEE_LIMITS),
        ):
            state, _ = add_revolute_joint_to_scene(
                state,
                static,
                a,
                b,
                a_anchor,
                top,
                motor_on=True,
                motor_speed=speed / sim_params().base_motor_speed,
                motor_power=MOTOR_POWER,
                has_joint_limits=True,
                min_rotation=lo,
                max_rotation=hi,
            )
    return state, static


def batch_states(state: Any, batch: int) -> Any:
    """``batch`` copies of one scene, stacked on a leading axis.

    Args:
        state: a ``SimState``.
        batch: number of copies.

    Returns:
        The ``SimState`` with every leaf of shape ``(batch, *leaf.shape)``.
    """
    return jax.tree.map(lambda x: jnp.array(jnp.broadcast_to(x, (batch, *x.shape))), state)


def make_rollout(static: Any, steps: int, random_actions: bool = True) -> Callable:
    """The function to jit: ``steps`` steps of ``vmap(step)`` in one ``lax.scan``.

    Args:
        static: the scene's ``StaticSimParams``.
        steps: steps per call.
        random_actions: uniform motor actions in [-1, 1] drawn per env, motor and step
            (False: all zero, motors off).

    Returns:
        ``rollout(states, params, key) -> states`` over batched ``SimState``.
    """
    from jax2d.engine import PhysicsEngine

    engine = PhysicsEngine(static)
    step = jax.vmap(engine.step, in_axes=(0, None, 0))

    def rollout(states: Any, params: Any, key: jax.Array) -> Any:
        batch = states.polygon.position.shape[0]

        def one_step(carry: tuple[Any, jax.Array], _: None) -> tuple[tuple[Any, jax.Array], None]:
            states, key = carry
            key, sub = jax.random.split(key)
            if random_actions:
                motors = jax.random.uniform(sub, (batch, NUM_JOINTS), minval=-1.0, maxval=1.0)
            else:
                motors = jnp.zeros((batch, NUM_JOINTS))
            actions = jnp.concatenate([motors, jnp.zeros((batch, NUM_THRUSTERS))], axis=1)
            states, _ = step(states, params, actions)
            return (states, key), None

        (states, _), _ = jax.lax.scan(one_step, (states, key), None, length=steps)
        return states

    return rollout


def measure(batch: int, steps: int, repeats: int = 3) -> dict:
    """Steps/s of ``batch`` jax2d walkers stepped ``steps`` times with random actions.

    One jitted ``lax.scan`` of ``vmap(step)``, compiled ahead of time, run once to warm up, then
    timed ``repeats`` times from the same start states.

    Args:
        batch: number of walkers.
        steps: steps per jitted call.
        repeats: timed calls; the median is reported.

    Returns:
        ``{"steps_per_s": batch · steps / median seconds, "compile_s": trace + lower + compile
        seconds, "batch": batch}``.
    """
    state, static = build_scene()
    states, params = batch_states(state, batch), sim_params()
    key = jax.random.key(0)
    start = time.perf_counter()
    run = jax.jit(make_rollout(static, steps)).lower(states, params, key).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(run(states, params, key))
    seconds = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run(states, params, jax.random.key(i + 1)))
        seconds.append(time.perf_counter() - start)
    return {
        "steps_per_s": batch * steps / statistics.median(seconds),
        "compile_s": compile_s,
        "batch": batch,
    }


def world_vertices(states: Any, index: int) -> np.ndarray:
    """World coordinates of polygon ``index``'s 4 vertices in every env.

    Args:
        states: batched ``SimState``.
        index: polygon slot.

    Returns:
        float [batch, 4, 2].
    """
    position = np.asarray(states.polygon.position[:, index])
    angle = np.asarray(states.polygon.rotation[:, index])
    local = np.asarray(states.polygon.vertices[:, index])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = cos * local[..., 0] - sin * local[..., 1]
    y = sin * local[..., 0] + cos * local[..., 1]
    return position[:, None, :] + np.stack([x, y], axis=-1)


def ground_check(batch: int = 8, steps: int = 300, random_actions: bool = False) -> dict:
    """Steps the walkers and reports how they rest on the ground.

    Args:
        batch: number of walkers.
        steps: steps to run.
        random_actions: random motor actions (default: zero, motors off).

    Returns:
        Per-env arrays (m): ``hull_y`` (hull centre of mass), ``hull_clearance`` (lowest hull
        vertex above the ground under it), ``leg_clearance`` (lowest lower-leg vertex above the
        ground under it: negative is sinking), ``hull_x``, ``hull_angle`` (rad; ±π: on its back);
        and ``max_angular_speed`` (rad/s, over walker bodies at the end).
    """
    state, static = build_scene()
    run = jax.jit(make_rollout(static, steps, random_actions))
    states = run(batch_states(state, batch), sim_params(), jax.random.key(0))

    def clearance(vertices: np.ndarray) -> np.ndarray:
        return (vertices[..., 1] - ground_height(vertices[..., 0])).min(axis=-1)

    legs = np.concatenate([world_vertices(states, i) for i in LOWER_LEGS], axis=1)
    walker = np.asarray(states.polygon.angular_velocity[:, HULL:])
    return {
        "hull_x": np.asarray(states.polygon.position[:, HULL, 0]),
        "hull_y": np.asarray(states.polygon.position[:, HULL, 1]),
        "hull_angle": np.asarray(states.polygon.rotation[:, HULL]),
        "hull_clearance": clearance(world_vertices(states, HULL)),
        "leg_clearance": clearance(legs),
        "max_angular_speed": float(np.abs(walker).max()),
    }


def main() -> None:
    """Prints the ground check (with ``--check``) and steps/s for each batch size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument(
        "--env-steps",
        type=int,
        default=1500,
        help="walker steps per timed call: steps = max(1, env_steps // batch)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="300 zero-action steps first")
    args = parser.parse_args()
    reason = available()
    if reason is not None:
        raise SystemExit(reason)
    if args.check:
        for random_actions in (False, True):
            result = ground_check(random_actions=random_actions)
            print(f"ground check, 8 walkers, 300 steps, random actions: {random_actions}")
            for name, value in result.items():
                print(f"  {name}: {np.round(value, 3)}")
    print("| batch | steps/s | compile s |\n|---:|---:|---:|")
    for batch in args.batches:
        result = measure(batch, max(1, args.env_steps // batch), args.repeats)
        rate = result["steps_per_s"]
        print(f"| {batch} | {rate:,.0f} | {result['compile_s']:.1f} |")


if __name__ == "__main__":
    main()
