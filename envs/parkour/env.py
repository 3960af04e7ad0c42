"""The parkour envs: a body from ``bodies`` on a track from ``terrain``, TeachMyAgent's interface.

``ParkourEnvBase`` owns what Parkour and Stump Tracks share: the physics step, TeachMyAgent's
(TMA's) reward, termination, observation and the dead/under-water counters. A subclass writes its
``Params``, its track generator (``sample_level``) and its terrain window.

Interface (TMA's, for a body with ``A`` motors and ``H`` hands)
    Actions: float32 [A + H] in [-1, 1]: motor ``i`` turns at ``max_speed * sign(a_i)`` with
    torque up to ``max_torque * |a_i|``; a hand grasps while its value is > 0.
    Observation: hull angle (wrapped to [-π, π)), ``2 ω / 50``, ``0.3 v_x 20 / 50``,
    ``0.3 v_y (40/3) / 50`` (gym's BipedalWalker scaling of the root's velocity); Parkour adds
    under-water and dead flags; then per motor its joint angle and speed / max speed, and for a
    motor whose link has contact points, whether that link touched the terrain this step; then per
    hand whether it holds on; then 10 lidar fractions, and in Parkour their 10 surface codes (-1
    water, +1 creeper). Every entry is clipped to the observation space's finite bound.
    Reward: ``Δ(130 x / 30 - 5 |hull angle|)`` (climbers and swimmers drop the angle term) minus
    ``torque_penalty * 80 * Σ clip(|a|, 0, 1)``; -100 and ``terminated`` on a critical contact or
    when the root goes behind ``x = 0``; ``terminated`` without penalty past the finish line.
    A walker or climber that stays ``DROWN_STEPS`` consecutive steps with its root under water,
    or a swimmer out of water, is dead: its actions are zeroed until the episode ends (TMA's
    rule; the episode goes on).
    ``state.episode_return > SUCCESS_RETURN`` is TMA's "mastered" criterion.

Dynamics task parameters (``ParkourDynamicsParams``, shared by both envs' Params): gravity, the
terrain's friction and the motors' strength are traced Params fields, so a curriculum (OpenAI's
ADR randomises dynamics) can move them and each env of a batch can have its own. Their defaults
are TMA's constants, so the default task is unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Generic

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.env import Env, ParamsT
from curriculax.envs.parkour import bodies, lidar, physics
from curriculax.envs.parkour.physics import GRAVITY, SCALE, Body, PhysicsState, Terrain
from curriculax.envs.parkour.terrain import FRICTION, PAD_END
from curriculax.spaces import Box
from curriculax.types import Array, EnvParams, EnvState, PRNGKey, PyTree

#: TMA's episode cap.
MAX_STEPS = 2000
#: Physics step, s, and substeps.
DT = 1.0 / 50.0
SUBSTEPS = 4
#: TMA's success criterion on the episode return.
SUCCESS_RETURN = 230.0
#: Reward on a fall or critical contact.
FALL_REWARD = -100.0
#: Consecutive steps under water after which a walker or climber is dead.
DROWN_STEPS = 600
#: TMA's initial push on the hull: a force of U(-5, 5) N for one step.
INITIAL_PUSH = 5.0
#: gym's observation scales: viewport 600 x 400 px at 30 px/m, 50 frames/s.
_VX_SCALE = 0.3 * (600.0 / SCALE) / 50.0
_VY_SCALE = 0.3 * (400.0 / SCALE) / 50.0
_W_SCALE = 2.0 / 50.0

#: Bounds of the dynamics task parameters, the defaults (TMA's) inside them. Gravity and motor
#: strength span 0.5x-1.5x of the default, OpenAI's ADR's kind of range for physical constants.
#: The terrain's friction coefficient mixes with each contact point's as ``sqrt(mu_point
#: mu_terrain)`` (Box2D's rule), so [0.5, 5] around TMA's 2.5 makes the effective friction
#: 0.45x-1.41x its default: for the walker's legs (0.2) mu from 0.32 (slides on slopes steeper
#: than 18 deg) to 1.0 (holds to 45 deg).
GRAVITY_BOUNDS = (0.5 * GRAVITY, 1.5 * GRAVITY)
TERRAIN_FRICTION_BOUNDS = (0.5, 5.0)
MOTOR_STRENGTH_BOUNDS = (0.5, 1.5)
DYNAMICS_BOUNDS: dict[str, tuple[float, float]] = {
    "gravity": GRAVITY_BOUNDS,
    "terrain_friction": TERRAIN_FRICTION_BOUNDS,
    "motor_strength": MOTOR_STRENGTH_BOUNDS,
}


@struct.dataclass
class ParkourDynamicsParams(EnvParams):
    """The dynamics task parameters that every parkour env's Params has (traced, per env).

    Attributes:
        max_steps: int32 [], episode cap (TMA: 2000).
        gravity: float32 [], m/s², along -y (TMA: 10); weighs every link and sets buoyancy.
        terrain_friction: float32 [], friction coefficient of the terrain, ground and ceiling
            (TMA: 2.5), mixed with each contact point's as ``sqrt(mu_point mu_terrain)``.
        motor_strength: float32 [], scale of every motor's maximum torque (1: the body's, e.g.
            the walker's 80 N m); target speeds are unchanged.
    """

    gravity: Array
    terrain_friction: Array
    motor_strength: Array


def default_dynamics() -> dict[str, Array]:
    """The dynamics fields' defaults, TMA's constants: ``gravity``, ``terrain_friction``, ..."""
    return {
        "gravity": jnp.float32(GRAVITY),
        "terrain_friction": jnp.float32(FRICTION),
        "motor_strength": jnp.float32(1.0),
    }


@dataclasses.dataclass(frozen=True)
class Embodiment:
    """A body the parkour can use.

    Attributes:
        build: makes the physics ``Body``.
        kind: ``"walker"``, ``"climber"`` or ``"swimmer"``.
        torque_penalty: TMA's per-action torque cost factor.
        critical_links: links whose touching the terrain is a critical contact (the fall).
        lidar: the lidar fan (``lidar.FANS``).
    """

    build: Callable[[], Body]
    kind: str
    torque_penalty: float
    critical_links: tuple[int, ...]
    lidar: str


EMBODIMENTS: dict[str, Embodiment] = {
    "old_classic_bipedal": Embodiment(
        build=bodies.old_classic_bipedal,
        kind="walker",
        torque_penalty=0.00035,
        critical_links=(0,),
        lidar="down",
    ),
    # Our two-armed climber (not TMA's chimpanzee): it starts hanging from the ceiling by both
    # hands; its torso touching the ground is the fall; TMA's climbers' torque cost (/5).
    "climber": Embodiment(
        build=bodies.simple_climber,
        kind="climber",
        torque_penalty=0.00035 / 5,
        critical_links=(0,),
        lidar="up",
    ),
    # TMA's fish: as dense as water, no fall, dies after 600 steps out of water; sees all round.
    "fish": Embodiment(
        build=bodies.fish,
        kind="swimmer",
        torque_penalty=0.00035,
        critical_links=(),
        lidar="full",
    ),
}


def embodiment(name: str) -> Embodiment:
    """The embodiment called ``name``; a clear error for an unknown one."""
    if name not in EMBODIMENTS:
        raise ValueError(f"unknown parkour body {name!r}; known bodies: {sorted(EMBODIMENTS)}")
    return EMBODIMENTS[name]


@struct.dataclass
class ParkourState(EnvState):
    """One episode.

    Attributes:
        time: int32 [], steps taken.
        body: the body's physics state.
        track: the level (the subclass's track type).
        link_contact: bool [L], links that touched the terrain in the last step.
        shaping: float32 [], the shaping potential after the last step.
        episode_return: float32 [], return so far.
        steps_under_water: int32 [], consecutive steps with the root in the wrong medium: under
            water for walkers and climbers, out of it for swimmers (the name is the walkers').
        dead: bool [], drowned (actions are ignored).
    """

    body: PhysicsState
    track: PyTree
    link_contact: Array
    shaping: Array
    episode_return: Array
    steps_under_water: Array
    dead: Array


def positive_number(name: str, value: Any) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless a finite number > 0 (no bool)."""
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0.0 < value < float("inf")
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class ParkourEnvBase(Env[Any, ParkourState, ParamsT], Generic[ParamsT]):
    """Shared dynamics, reward and observation of the parkour envs.

    Args:
        body: name of the embodiment (``EMBODIMENTS``).
        hull_critical: whether the root link touching the terrain ends the episode (TMA: yes in
            Stump Tracks, no in Parkour for walkers).
        water_flags: whether observations carry the under-water and dead flags and the lidar's
            surface codes (TMA's Parkour: yes; Stump Tracks: no).
        fall_penalty: a fall's reward is ``-fall_penalty`` (TMA: 100), a finite number > 0. A
            training option: a larger one prices a fall higher against speed; the success bar
            (``success_return``) stays TMA's, so it only gets harder to reach.
    """

    #: Where the root starts along the track, m (middle of the start pad).
    start_x = PAD_END / 2
    success_return = SUCCESS_RETURN

    def __init__(
        self, body: str, hull_critical: bool, water_flags: bool, fall_penalty: float = -FALL_REWARD
    ) -> None:
        self.fall_penalty = positive_number("fall_penalty", fall_penalty)
        # A fall's reward, and the most one step can earn: every speed is clipped to
        # ``PhysicsParams.max_speed``, so x and the hull angle move at most ``max_speed * DT``.
        self.reward_range = (
            -self.fall_penalty,
            (130.0 / SCALE + 5.0) * physics.DEFAULT_PARAMS.max_speed * DT,
        )
        self.body_name = body
        self.hull_critical = bool(hull_critical)
        self.water_flags = bool(water_flags)
        spec = embodiment(body)
        self._spec = spec
        self._body = spec.build()
        self._directions = tuple(map(tuple, lidar.ray_directions(spec.lidar).tolist()))
        critical = set(spec.critical_links) if hull_critical or spec.kind != "walker" else set()
        self._critical = tuple(i in critical for i in range(self._body.num_links))
        links_with_contacts = set(self._body.contact_link)
        self._motor_contact = tuple(link in links_with_contacts for link in self._body.motor_link)
        # Start pose: every joint at 0, or at its nearest limit; the lowest contact point on the
        # ground.
        lower, upper = self._body.joint_lower[1:], self._body.joint_upper[1:]
        self._start_joints = tuple(
            float(np.clip(0.0, lo, hi)) for lo, hi in zip(lower, upper, strict=True)
        )
        q = np.asarray((0.0, 0.0, 0.0, *self._start_joints), np.float32)
        with jax.ensure_compile_time_eval():
            points = np.asarray(physics.contact_points(self._body, jnp.asarray(q)))
        self._start_height = float(-points[:, 1].min())
        if spec.kind == "climber":  # hanging: the hands' height above the root, at rest
            with jax.ensure_compile_time_eval():
                hands = np.asarray(physics.hand_points(self._body, jnp.asarray(q)))
            self._hang_height = float(hands[:, 1].max())
        # Every observation entry is bounded: speeds are clipped to max_speed, joints held by
        # their limits, lidar values in [-1, 1], the hull angle wrapped to [-pi, pi).
        top = physics.DEFAULT_PARAMS.max_speed
        limits = [abs(v) for v in self._body.joint_lower[1:] + self._body.joint_upper[1:]]
        self._obs_bound = float(
            max(
                math.pi,
                _VX_SCALE * top,
                _W_SCALE * top,
                top / min(self._body.motor_speed),
                max(limits) + 1.0,
            )
        )

    # ----------------------------------------------------------------- what subclasses set

    #: ``window(track, x [])`` -> the physics ``Terrain`` around x that the physics and the lidar
    #: see (``terrain.parkour_window``, ``terrain.stump_window``).
    window: Callable[[Any, Array], Terrain]
    #: ``profile(track, xs [W])`` -> ``(ground [W], ceiling [W], water_y [], creeper_bottom [W])``,
    #: the whole track for pictures (``FAR``: no ceiling or creeper; water ``-FAR``: none).
    profile: Callable[[Any, Array], tuple[Array, Array, Array, Array]]
    #: Root x past which the episode ends, m.
    finish_x: float

    # ----------------------------------------------------------------- shared

    @property
    def physics_body(self) -> Body:
        """The physics ``Body`` (static)."""
        return self._body

    def _start(self, key: PRNGKey, track: Any) -> PhysicsState:
        """The body on the start pad, given TMA's random push along x.

        Walkers stand on the ground; climbers hang from the ceiling by every hand (grasping).
        """
        body = self._body
        push = jax.random.uniform(key, (), minval=-INITIAL_PUSH, maxval=INITIAL_PUSH)
        velocity = jnp.zeros(body.num_dofs, jnp.float32).at[0].set(push * DT / sum(body.mass))
        joints = jnp.asarray(self._start_joints, jnp.float32)
        state = physics.init_state(body, (self.start_x, 0.0), 0.0, joints, velocity)
        terrain = self.window(track, jnp.float32(self.start_x))
        x = jnp.float32(self.start_x)
        if self._spec.kind == "climber":
            ceiling = physics.profile_height(terrain.ceiling_x, terrain.ceiling_y, x)
            state = state.replace(q=state.q.at[1].set(ceiling - self._hang_height))
            return state.replace(
                grasping=jnp.ones(body.num_hands, bool),
                grasp_anchor=physics.hand_points(body, state.q),
            )
        floor = physics.profile_height(terrain.ground_x, terrain.ground_y, x)
        lift = 1.0 if self._spec.kind == "swimmer" else 0.0  # TMA starts its fish 1 m up
        return state.replace(q=state.q.at[1].set(floor + self._start_height + lift))

    def init_state(self, key: PRNGKey, level: Any, params: ParamsT) -> ParkourState:
        """The body standing at the middle of the start pad (TMA's start), given a small push."""
        body_state = self._start(key, level)
        return ParkourState(
            time=jnp.int32(0),
            body=body_state,
            track=level,
            link_contact=jnp.zeros(self._body.num_links, bool),
            shaping=self._shaping(body_state),
            episode_return=jnp.float32(0.0),
            steps_under_water=jnp.int32(0),
            dead=jnp.asarray(False),
        )

    def _shaping(self, body_state: PhysicsState) -> Array:
        shaping = 130.0 * body_state.q[0] / SCALE
        if self._spec.kind == "walker":
            shaping = shaping - 5.0 * jnp.abs(body_state.q[2])
        return shaping

    def validate_params(self, params: ParamsT) -> None:
        """The base class's bounds check, after a physical one of the dynamics fields.

        Concrete values (one per env when batched) must be finite, gravity and motor strength
        > 0 and the terrain friction >= 0; traced values are not checked.

        Raises:
            ValueError: naming the field, the value and the physical requirement.
        """
        expected = type(self.default_params())
        if isinstance(params, expected):
            for name, positive in (
                ("gravity", True),
                ("motor_strength", True),
                ("terrain_friction", False),
            ):
                value = getattr(params, name)
                if isinstance(value, jax.core.Tracer):
                    continue
                value = np.asarray(value, np.float64)
                bad = ~np.isfinite(value) | ((value <= 0.0) if positive else (value < 0.0))
                if np.any(bad):
                    need = "> 0" if positive else ">= 0"
                    raise ValueError(
                        f"{type(self).__name__} params.{name}={value.tolist()}: it must be a "
                        f"finite number {need}; its bounds are {list(DYNAMICS_BOUNDS[name])}"
                    )
        super().validate_params(params)

    def transition(
        self, key: PRNGKey, state: ParkourState, action: Array, params: ParamsT
    ) -> tuple[ParkourState, Array, Array]:
        """One physics step of ``DT`` (``SUBSTEPS`` substeps), then TMA's reward and ending.

        The physics reads the dynamics fields of ``params``, clipped to ``DYNAMICS_BOUNDS``
        (as the generators clip the terrain fields): gravity, the terrain's friction (in the
        window's ``Terrain``) and the motor strength.
        """
        action = jnp.clip(jnp.nan_to_num(jnp.asarray(action, jnp.float32)), -1.0, 1.0)
        action = jnp.where(state.dead, 0.0, action)
        terrain = self.window(state.track, state.body.q[0])
        gravity, friction, strength = (
            jnp.clip(jnp.asarray(getattr(params, name), jnp.float32), *DYNAMICS_BOUNDS[name])
            for name in ("gravity", "terrain_friction", "motor_strength")
        )
        body_state, contacts = physics.step(
            self._body,
            state.body,
            action,
            terrain.replace(friction=friction),
            DT,
            SUBSTEPS,
            gravity=gravity,
            motor_strength=strength,
        )
        touched = contacts.link_ground | contacts.link_ceiling
        x = body_state.q[0]
        shaping = self._shaping(body_state)
        cost = self._spec.torque_penalty * 80.0 * jnp.sum(jnp.abs(action))
        reward = shaping - state.shaping - cost
        fell = jnp.any(touched & jnp.asarray(self._critical)) | (x < 0.0)
        reward = jnp.where(fell, -self.fall_penalty, reward)
        terminated = fell | (x > self.finish_x)
        # Walkers and climbers drown under water; swimmers suffocate out of it.
        wrong_medium = body_state.q[1] <= terrain.water_level
        if self._spec.kind == "swimmer":
            wrong_medium = ~wrong_medium
        steps_wrong = jnp.where(wrong_medium & ~state.dead, state.steps_under_water + 1, 0)
        steps_wrong = jnp.where(state.dead, state.steps_under_water, steps_wrong)
        dead = state.dead | (steps_wrong > DROWN_STEPS)
        new_state = state.replace(
            body=body_state,
            link_contact=touched,
            shaping=shaping,
            episode_return=state.episode_return + reward,
            steps_under_water=steps_wrong.astype(jnp.int32),
            dead=dead,
        )
        return new_state, reward, terminated

    def observe(self, state: ParkourState, params: ParamsT) -> Array:
        """TMA's observation (see the module docstring): float32 [obs_size]."""
        body = self._body
        q, qd = state.body.q, state.body.qd
        angle = jnp.mod(q[2] + jnp.pi, 2.0 * jnp.pi) - jnp.pi
        parts = [angle, _W_SCALE * qd[2], _VX_SCALE * qd[0], _VY_SCALE * qd[1]]
        terrain = self.window(state.track, q[0])
        if self.water_flags:
            parts += [
                (q[1] <= terrain.water_level).astype(jnp.float32),
                state.dead.astype(jnp.float32),
            ]
        for i, link in enumerate(body.motor_link):
            dof = link + 2
            parts += [q[dof], qd[dof] / body.motor_speed[i]]
            if self._motor_contact[i]:
                parts.append(state.link_contact[link].astype(jnp.float32))
        head = [jnp.stack(parts).astype(jnp.float32)]
        if body.num_hands:
            head.append(state.body.grasping.astype(jnp.float32))
        fraction, code = lidar.lidar(terrain, q[:2], np.asarray(self._directions, np.float32))
        head.append(fraction)
        if self.water_flags:
            head.append(code)
        return jnp.clip(jnp.concatenate(head), -self._obs_bound, self._obs_bound)

    def obs_size(self) -> int:
        """Length of an observation."""
        body = self._body
        size = 4 + (2 if self.water_flags else 0)
        size += 2 * body.num_motors + sum(self._motor_contact) + body.num_hands
        return size + lidar.NUM_RAYS * (2 if self.water_flags else 1)

    def observation_space(self, params: ParamsT) -> Box:
        """float32 [obs_size] within ``±bound`` (TMA's is unbounded; ours is finite, see init)."""
        return Box(-self._obs_bound, self._obs_bound, (self.obs_size(),), np.dtype(np.float32))

    def action_space(self, params: ParamsT) -> Box:
        """float32 [motors + hands] in [-1, 1]."""
        return Box(-1.0, 1.0, (self._body.action_size,), np.dtype(np.float32))

    def render(self, state: ParkourState, params: ParamsT) -> Array:
        """The body on its track, the camera following it: uint8 [400, 600, 3]."""
        from curriculax.envs.parkour.render import render_scene

        return render_scene(self, state)
