"""The parkour's physics: planar articulated bodies against terrain height profiles, in pure JAX.

Units are metres, seconds, kilograms, radians (Box2D's metres: TeachMyAgent's pixel sizes are
divided by ``SCALE = 30`` px/m); gravity points along -y.

Model
    A body is a tree of rigid links joined by revolute joints (``Body``). Its state is in
    generalised coordinates ``q = (x, y, theta)`` of the root link's frame, then one relative
    angle per other link (``theta_child = theta_parent + q_joint``, Box2D's joint angle with a zero
    reference angle), and their rates ``qd``; ``n = L + 2`` for ``L`` links. Every substep:

    1. Forward kinematics and velocities of every link, link by link, then of every point set
       the step needs (centres of mass, contact points, float samples, hands) with their
       Jacobian columns (a point on link ``l``: identity for x, y; ``perp(p - c_j)`` for each
       rotation centre ``c_j`` on the path from the root to ``l``, an exact zero otherwise).
    2. Mass matrix ``M = Σ_l m_l J_lᵀ J_l + Jwᵀ diag(I) Jw`` (the rotational part is a
       constant) and bias forces: gravity and the velocity-product term ``-Σ_l m_l J_lᵀ J̇_l qd``,
       with ``J̇ qd = Σ_j qd_j perp(v_p - v_cj)`` from the point and rotation-centre velocities.
    3. Force elements at points, each with an explicit force ``F`` and an implicit gain ``D``
       (2 x 2 per point): the force at the end of the substep is ``F - D J (qd' - qd)``. Springs
       (stiffness ``k``, damping ``c``) use ``D = (c + h k) n nᵀ`` (backward Euler: they only
       remove energy); dampers their gain. Then ``(M + h Σ Jᵀ D J) Δqd = h (f + Σ Jᵀ F)``, by
       Gauss-Jordan elimination (the matrix is symmetric positive definite: no pivoting).
    4. Joint impulses, by a few projected Gauss-Seidel sweeps with the same elimination
       (``M̃⁻¹ Sᵀ`` for the joint columns comes from the same multi-right-hand-side solve).
       Motors follow TeachMyAgent's (Box2D's) model: target joint speed ``max_speed * sign(a)``,
       torque at most ``max_torque * |a|`` (times ``step``'s ``motor_strength``), i.e. the
       torque that reaches the target within the substep, clipped. Joint limits are
       speculative one-sided velocity constraints: a joint may move at most up to its limit
       within the substep (an inelastic stop, exactly at the limit, whatever the motor torque),
       and a joint already beyond it is pulled back by ``limit_correction`` of the excess per
       substep.
    5. Semi-implicit (symplectic) Euler: ``qd' = qd + Δqd``, ``q' = q + h qd'``.

Force elements
    * Contacts: a fixed set of points per link (``Body.contact_*``) against the ground (below
      ``ground(x)``) and the ceiling (above ``ceiling(x)``), both piecewise-linear profiles
      (``Terrain``). A point is inside when it is below the ground profile at its x; its depth
      and normal come from the nearest of the three profile segments around it (found once per
      step), so vertical walls (repeated knots, e.g. stumps) push sideways. Normal force:
      spring-damper ``k_n d - c_n u_n``, implicit, dropped when it would pull. Friction:
      Coulomb with a real static regime (elasto-plastic): a tangential spring-damper anchored
      where the contact started (state ``PhysicsState.slip``, the spring's extension along the
      surface); when its trial force exceeds ``μ f_n`` the contact slides, the anchor is dragged
      along and the force is exactly ``μ f_n`` against the trial force.
      ``μ = sqrt(μ_point μ_terrain)`` (Box2D's mixing).
    * Water (below ``Terrain.water_level``): each float sample (a part of a link's area) gets
      buoyancy ``ρ_w g a φ`` upwards, ``φ`` the submerged fraction of a horizontal strip of the
      sample's height, and drag along the link's local axes, ``ρ_w φ (c_1 + c_2 |u|) u`` per metre
      of face (implicit; anisotropic, so flapping fins can swim).
    * Grasping: a hand whose grasp input is > 0 and that touches the ceiling or a creeper
      (checked once per env step, at its start) is held by a stiff implicit spring-damper to the
      point where it grasped, until its grasp input goes <= 0.

Guards: every division is by a clamped quantity; the mass matrix gets a tiny diagonal term; speeds
are clipped to ``PhysicsParams.max_speed`` (m/s and rad/s, default 100, far above anything a
walker reaches) so no state can overflow. With 4 substeps at dt = 1/50 (200 Hz) a dropped walker
rests with sub-centimetre penetration; 1-2 substeps let contacts sink far deeper.

Implementation (``engine``): the step is written for a batch, on ``[quantity..., B]`` blocks
with the batch last, so that one XLA kernel does one job for every env and every link, point or
dof; ``step`` reaches it through ``jax.custom_batching.custom_vmap`` (a single body runs as a
batch of 1; ``vmap`` runs the engine once on the whole batch). The contact points' terrain
windows (the 4 knots around each) are read once per step: pass the physics a window of the
profile around the body (``searchsorted`` costs O(knots) per point; 32 knots cost as 8).

All functions are pure, take one body (vmap for batches) and never call ``jax.jit``: callers jit,
with the ``Body`` as a static argument (it is a hashable ``NamedTuple`` of tuples).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.envs.parkour import engine
from curriculax.types import Array

#: Box2D units used by TeachMyAgent: pixels per metre.
SCALE = 30.0
#: Gravity of TeachMyAgent's Box2D world, m/s².
GRAVITY = 10.0
#: Stands in for "no limit" (joint limits, ceilings, creepers) without infinities in the maths.
FAR = engine.FAR

Vec = tuple[float, float]


class Body(NamedTuple):
    """Static description of an articulated body (hashable: use it as static config).

    Link 0 is the root; every other link hangs from ``parent[l] < l`` by a revolute joint. Sizes:
    ``L`` links, ``A`` motors, ``K`` contact points, ``S`` float samples, ``H`` hands. Build
    bodies with ``bodies.build_body`` rather than by hand.

    Attributes:
        name: the embodiment's name.
        parent: [L] parent link of each link, -1 for the root.
        mass: [L] kg.
        inertia: [L] kg m², about the link's centre of mass.
        com: [L, 2] centre of mass in the link frame, m.
        parent_anchor: [L, 2] the joint's position in the parent's frame (root: unused).
        child_anchor: [L, 2] the joint's position in the link's own frame (root: unused).
        joint_lower: [L] lower joint limit, rad (-FAR: none; root: unused).
        joint_upper: [L] upper joint limit, rad (FAR: none; root: unused).
        motor_link: [A] link whose joint each action drives, in action order.
        motor_torque: [A] maximum motor torque, N m.
        motor_speed: [A] motor target speed, rad/s.
        contact_link: [K] link of each contact point.
        contact_local: [K, 2] contact points in their link frames.
        contact_friction: [K] friction coefficient of each point (mixed with the terrain's).
        float_link: [S] link of each float sample.
        float_local: [S, 2] float sample positions in their link frames.
        float_area: [S] area each sample stands for, m².
        float_height: [S] height of the strip used for its submerged fraction, m.
        float_drag: [S, 2] face length exposed to motion along the link's local x and y, m.
        hand_link: [H] link of each hand.
        hand_local: [H, 2] hand points in their link frames.
        shapes: [L] polygon (tuple of vertices, link frame) of each link, for drawing.
        fixed_root: whether the root link is pinned where ``q[:3]`` puts it (pendulums, tests).
        contact_stiffness: normal and tangential contact stiffness per point, N/m.
        contact_damping: normal and tangential contact damping per point, N s/m.
        grasp_stiffness: stiffness of a grasping hand's anchor spring, N/m.
        grasp_damping: damping of a grasping hand's anchor spring, N s/m.
        grasp_radius: how close to the ceiling or a creeper a hand must be to grasp, m.
    """

    name: str
    parent: tuple[int, ...]
    mass: tuple[float, ...]
    inertia: tuple[float, ...]
    com: tuple[Vec, ...]
    parent_anchor: tuple[Vec, ...]
    child_anchor: tuple[Vec, ...]
    joint_lower: tuple[float, ...]
    joint_upper: tuple[float, ...]
    motor_link: tuple[int, ...]
    motor_torque: tuple[float, ...]
    motor_speed: tuple[float, ...]
    contact_link: tuple[int, ...]
    contact_local: tuple[Vec, ...]
    contact_friction: tuple[float, ...]
    float_link: tuple[int, ...]
    float_local: tuple[Vec, ...]
    float_area: tuple[float, ...]
    float_height: tuple[float, ...]
    float_drag: tuple[Vec, ...]
    hand_link: tuple[int, ...]
    hand_local: tuple[Vec, ...]
    shapes: tuple[tuple[Vec, ...], ...]
    fixed_root: bool
    contact_stiffness: float
    contact_damping: float
    grasp_stiffness: float
    grasp_damping: float
    grasp_radius: float

    @property
    def num_links(self) -> int:
        """``L``."""
        return len(self.parent)

    @property
    def num_dofs(self) -> int:
        """``n = L + 2``: root x, y, angle and one angle per joint."""
        return len(self.parent) + 2

    @property
    def num_motors(self) -> int:
        """``A``."""
        return len(self.motor_link)

    @property
    def num_hands(self) -> int:
        """``H``."""
        return len(self.hand_link)

    @property
    def num_contacts(self) -> int:
        """``K``."""
        return len(self.contact_link)

    @property
    def action_size(self) -> int:
        """One value per motor, then one grasp value per hand."""
        return len(self.motor_link) + len(self.hand_link)


class PhysicsParams(NamedTuple):
    """Static world constants (hashable).

    Gravity, the terrain's friction and the motors' strength are not here: they may be traced
    (a task parameter, per env under ``vmap``), so ``step`` takes gravity and a motor torque
    scale as arguments and the friction comes with the ``Terrain``.

    Attributes:
        drag_linear: linear water drag per metre of face, per unit water density, (N s/m)/m.
        drag_quadratic: quadratic water drag per metre of face, per unit water density.
        max_speed: clip on every generalised speed (m/s and rad/s): a guard, not a model.
        joint_sweeps: Gauss-Seidel sweeps over the motors and joint limits per substep.
        limit_correction: fraction of a joint's excess beyond its limit undone per substep.
    """

    drag_linear: float = 0.5
    drag_quadratic: float = 1.0
    max_speed: float = 100.0
    joint_sweeps: int = 2
    limit_correction: float = 0.2


#: The default world constants.
DEFAULT_PARAMS = PhysicsParams()


@struct.dataclass
class Terrain:
    """Ground, ceiling, water and creepers of one task; arrays, so they can differ under vmap.

    Profiles are piecewise linear with non-decreasing knots; a repeated knot makes a vertical
    wall. Beyond the first and last knots the height stays constant.

    Attributes:
        ground_x: float32 [N] knots of the ground profile, m.
        ground_y: float32 [N] ground heights at the knots, m.
        ceiling_x: float32 [Nc] knots of the ceiling profile, m.
        ceiling_y: float32 [Nc] ceiling heights at the knots, m (FAR: no ceiling).
        water_level: float32 [] water surface height, m (-FAR: no water).
        water_density: float32 [] kg/m² (2D density, like Box2D's).
        friction: float32 [] terrain friction coefficient (Box2D-mixed with each point's).
        creepers: float32 [C, 3] graspable vertical strips ``(x centre, half width, bottom y)``
            reaching up to the ceiling; unused rows have bottom y = FAR.
    """

    ground_x: Array
    ground_y: Array
    ceiling_x: Array
    ceiling_y: Array
    water_level: Array
    water_density: Array
    friction: Array
    creepers: Array


def make_terrain(
    ground_x,
    ground_y,
    ceiling_x=None,
    ceiling_y=None,
    water_level: float = -FAR,
    water_density: float = 1.0,
    friction: float = 2.5,
    creepers=None,
) -> Terrain:
    """A ``Terrain`` from array-likes; no ceiling, water or creepers unless given.

    Args:
        ground_x: [N] non-decreasing knots.
        ground_y: [N] heights.
        ceiling_x: [Nc] knots (default: two knots far apart, no ceiling).
        ceiling_y: [Nc] heights.
        water_level: water surface height.
        water_density: water density.
        friction: terrain friction (TeachMyAgent's ground: 2.5).
        creepers: [C, 3] ``(x centre, half width, bottom y)`` (default: one unused row).

    Returns:
        The terrain, float32 arrays.
    """
    if ceiling_x is None:
        ceiling_x, ceiling_y = [-FAR, FAR], [FAR, FAR]
    if creepers is None:
        creepers = [[0.0, 0.0, FAR]]
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    return Terrain(
        ground_x=f32(ground_x),
        ground_y=f32(ground_y),
        ceiling_x=f32(ceiling_x),
        ceiling_y=f32(ceiling_y),
        water_level=f32(water_level),
        water_density=f32(water_density),
        friction=f32(friction),
        creepers=f32(creepers).reshape(-1, 3),
    )


@struct.dataclass
class PhysicsState:
    """The dynamic state of one body.

    Attributes:
        q: float32 [n] generalised coordinates ``(x, y, theta, joint angles...)``.
        qd: float32 [n] their rates.
        slip: float32 [2, K] extension of each contact's tangential (friction) spring along the
            surface, against the ground (row 0) and the ceiling (row 1); 0 when not in contact.
        grasp_anchor: float32 [H, 2] where each hand grasped (world frame).
        grasping: bool [H] whether each hand holds on.
    """

    q: Array
    qd: Array
    slip: Array
    grasp_anchor: Array
    grasping: Array


@struct.dataclass
class Contacts:
    """What touched what during a step (any of its substeps).

    Attributes:
        ground: bool [K] contact points that touched the ground.
        ceiling: bool [K] contact points that touched the ceiling.
        link_ground: bool [L] links with a contact point on the ground.
        link_ceiling: bool [L] links with a contact point on the ceiling.
        grasping: bool [H] hands holding on at the end of the step.
    """

    ground: Array
    ceiling: Array
    link_ground: Array
    link_ceiling: Array
    grasping: Array


def _one(x: Array) -> Array:
    """A single body's array with a batch axis of 1 at the end (``engine``'s layout)."""
    return jnp.asarray(x)[..., None]


def _frames(body: Body, q: Array) -> engine.Frames:
    return engine.frames(engine.tables(body), _one(q))


def link_poses(body: Body, q: Array) -> tuple[Array, Array]:
    """Forward kinematics.

    Args:
        body: the body.
        q: float32 [n] generalised coordinates.

    Returns:
        ``(origins, angles)``: float32 [L, 2] link frame origins and [L] link angles (world).
    """
    f = _frames(body, q)
    angles = jnp.asarray(engine.tables(body).ancestors) @ q[2:]
    return f.origin[..., 0].T, angles


def _positions(body: Body, q: Array, points: engine.PointSet) -> Array:
    if points.links.size == 0:
        return jnp.zeros((0, 2), jnp.asarray(q).dtype)
    return engine.positions(_frames(body, q), points)[..., 0].T


def contact_points(body: Body, q: Array) -> Array:
    """World positions of the contact points: float32 [K, 2]."""
    return _positions(body, q, engine.tables(body).forces)[: body.num_contacts]


def hand_points(body: Body, q: Array) -> Array:
    """World positions of the hands: float32 [H, 2]."""
    return _positions(body, q, engine.tables(body).hands)


def centres_of_mass(body: Body, q: Array) -> Array:
    """World positions of the links' centres of mass: float32 [L, 2]."""
    return _positions(body, q, engine.tables(body).coms)


def mass_matrix(body: Body, q: Array) -> Array:
    """The mass matrix ``M(q)``: float32 [n, n]."""
    tb = engine.tables(body)
    zero = jnp.zeros((body.num_dofs, 1), jnp.float32)
    mmat, _ = engine.mass_terms(tb, _frames(body, q), zero, jnp.zeros(1))
    return mmat[..., 0] + jnp.asarray(tb.m_rot[..., 0])


def energy(body: Body, state: PhysicsState, gravity: float = GRAVITY) -> Array:
    """Kinetic plus gravitational potential energy, J: float32 [].

    Stored contact and grasp spring energy is not included (it is small and only ever comes
    from the mechanical energy counted here).
    """
    kinetic = 0.5 * state.qd @ mass_matrix(body, state.q) @ state.qd
    coms = centres_of_mass(body, state.q)
    return kinetic + gravity * jnp.sum(jnp.asarray(body.mass, jnp.float32) * coms[:, 1])


def profile_height(knots_x: Array, knots_y: Array, x: Array) -> Array:
    """Height of a piecewise-linear profile at ``x`` [...] (constant beyond the ends)."""
    i = _segment_index(knots_x, x)
    x0, x1 = knots_x[i], knots_x[i + 1]
    t = jnp.clip((x - x0) / jnp.maximum(x1 - x0, 1e-9), 0.0, 1.0)
    return knots_y[i] + t * (knots_y[i + 1] - knots_y[i])


def _segment_index(knots_x: Array, x: Array) -> Array:
    """Index of the segment ``[x_i, x_{i+1}]`` holding ``x`` [...], clamped to the profile."""
    num = knots_x.shape[0]
    i = jnp.searchsorted(knots_x, x, side="right", method="compare_all") - 1
    return jnp.clip(i, 0, num - 2)


def penetration(body: Body, q: Array, terrain: Terrain) -> Array:
    """Depth of every contact point inside the ground (row 0) and the ceiling (row 1): [2, K]."""
    p = _one(contact_points(body, q).T)  # [2, K, 1]
    t = jax.tree.map(_one, terrain)
    win = jnp.stack(
        [
            engine.windows(t.ground_x, t.ground_y, p[0]),
            engine.windows(t.ceiling_x, -t.ceiling_y, p[0]),
        ]
    )
    return engine.surfaces(win, p[0], p[1], jnp.ones(1))[0, ..., 0]


def init_state(
    body: Body,
    position: Vec = (0.0, 0.0),
    angle: float = 0.0,
    joint_angles=None,
    velocity=None,
) -> PhysicsState:
    """A body at rest (or moving at ``velocity`` [n]) with its root frame at ``position``.

    Args:
        body: the body.
        position: root frame origin, m.
        angle: root angle, rad.
        joint_angles: [L-1] joint angles (default 0).
        velocity: [n] generalised speeds (default 0).

    Returns:
        The state, nothing in contact, no hand grasping.
    """
    n = body.num_dofs
    if joint_angles is None:
        joint_angles = jnp.zeros(n - 3)
    q = jnp.concatenate(
        [jnp.asarray([position[0], position[1], angle], jnp.float32), jnp.asarray(joint_angles)]
    ).astype(jnp.float32)
    qd = jnp.zeros(n, jnp.float32) if velocity is None else jnp.asarray(velocity, jnp.float32)
    return PhysicsState(
        q=q,
        qd=qd,
        slip=jnp.zeros((2, body.num_contacts), jnp.float32),
        grasp_anchor=jnp.zeros((body.num_hands, 2), jnp.float32),
        grasping=jnp.zeros(body.num_hands, bool),
    )


@functools.lru_cache(maxsize=64)
def _stepper(body: Body, dt: float, substeps: int, params: PhysicsParams):
    """``engine.step`` for one body, batched by ``custom_vmap``.

    A vmapped call runs the engine once on the whole batch (its axis moved last); an unbatched
    one runs it as a batch of 1.
    """

    def run(state, action, terrain, gravity, strength):
        return engine.step(body, state, action, terrain, dt, substeps, params, gravity, strength)

    @jax.custom_batching.custom_vmap
    def one(state, action, terrain, gravity, strength):
        out = run(*jax.tree.map(_one, (state, action, terrain, gravity, strength)))
        return jax.tree.map(lambda x: x[..., 0], out)

    @one.def_vmap
    def _batched(axis_size, in_batched, *args):
        def last(x, batched):
            if batched:
                return jnp.moveaxis(x, 0, -1)
            return jnp.broadcast_to(x[..., None], (*x.shape, axis_size))

        out = run(*jax.tree.map(last, args, tuple(in_batched)))
        out = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0), out)
        return out, jax.tree.map(lambda _: True, out)

    return one


def step(
    body: Body,
    state: PhysicsState,
    action: Array,
    terrain: Terrain,
    dt: float = 1.0 / 50.0,
    substeps: int = 4,
    params: PhysicsParams = DEFAULT_PARAMS,
    gravity: float | Array = GRAVITY,
    motor_strength: float | Array = 1.0,
) -> tuple[PhysicsState, Contacts]:
    """Advances one body by ``dt`` in ``substeps`` equal substeps.

    Vmap it for a batch: the engine then runs once on the whole batch (``engine``).

    Args:
        body: the body (static).
        state: its state.
        action: float32 [A + H]: one value in [-1, 1] per motor (clipped), then one grasp value
            per hand (> 0: grasp).
        terrain: the terrain.
        dt: step length, s (TeachMyAgent: 1/50).
        substeps: substeps per step (>= 4 keeps contacts stiff at dt = 1/50).
        params: static world constants.
        gravity: m/s², > 0, along -y (TeachMyAgent: 10); a float or a traced float32 [] (it
            weighs every link and sets the buoyancy, ``ρ_w g a φ``).
        motor_strength: scale of every motor's maximum torque, > 0 (1: the body's
            ``motor_torque``); a float or a traced float32 []. Target speeds are unchanged.

    Returns:
        ``(state, contacts)``.
    """
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    state = state.replace(q=f32(state.q), qd=f32(state.qd), slip=f32(state.slip))
    terrain = jax.tree.map(f32, terrain)
    run = _stepper(body, float(dt), int(substeps), params)
    state, (ground, ceiling, link_ground, link_ceiling, grasping) = run(
        state, f32(action), terrain, f32(gravity), f32(motor_strength)
    )
    contacts = Contacts(
        ground=ground,
        ceiling=ceiling,
        link_ground=link_ground,
        link_ceiling=link_ceiling,
        grasping=grasping,
    )
    return state, contacts
