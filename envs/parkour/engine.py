"""The parkour's physics engine, written for a batch of bodies: every array ends in the batch axis.

``physics`` holds the model (``Body``, ``Terrain``, ``PhysicsState``, the single-body API); this
module is how a step runs. It works on ``[quantity..., B]`` blocks, so that one XLA kernel does
one job for every env and every link, point or dof at once: the batch is the innermost,
contiguous axis that XLA:CPU vectorises, and the quantity axes (links, points, dofs, surfaces,
segments) are small static ones inside the kernel. ``physics.step`` reaches it through
``jax.custom_batching.custom_vmap``: one body runs as a batch of 1, and ``vmap`` moves its axis
to the end and runs the same code once for the whole batch.

A substep, block by block (``L`` links, ``n = L + 2`` dofs, ``K`` contact points):

1. Link angles, frames and rotation centres ``[L, B]``; each point set (centres of mass,
   rotation centres, and the force points: contacts, float samples and hands in one set) with
   its Jacobian ``[2, n, P, B]`` (column ``2 + j`` is ``perp(p - c_j)`` where link ``j``'s joint
   moves the point, zero elsewhere) and velocity ``J qd`` ``[2, P, B]``.
2. Mass matrix ``Σ m Jᵀ J`` ``[n, n, B]``, gravity and velocity-product forces ``[n, B]``.
3. Depth and normal of every contact point against the nearest of three profile segments, for
   ground and ceiling ``[2, K, B]`` at once; normal spring-damper and elasto-plastic friction;
   buoyancy and drag; grasp springs. Every force point's force and implicit 2 x 2 gain form one
   ``[5, P, B]`` block, summed once into ``Jᵀ F`` ``[n, B]`` and ``Σ Jᵀ D J`` ``[n, n, B]``.
4. ``M̃ [Δqd, M̃⁻¹ Sᵀ] = [h f, Sᵀ]`` by Gauss-Jordan elimination of the augmented block
   ``[n, n + 1 + C, B]``, one kernel per pivot.
5. Motors and joint limits by projected Gauss-Seidel, one kernel per joint and sweep; then
   semi-implicit Euler and the friction springs' stretch.

XLA:CPU recomputes cheap producers inside every consumer, so a block read by several later
stages is written to memory once (``keep``). Static sparsity lives in tables (which link moves
which point), not in the code.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import Array

#: Stands in for "no limit" (joint limits, ceilings, creepers; ``physics.FAR``).
FAR = 1.0e6


class PointSet(NamedTuple):
    """Static tables of ``P`` body points.

    Attributes:
        links: int [P] link each point is fixed to.
        local: float32 [2, P, 1] position in that link's frame.
        moves: float32 [L, P, 1] 1 where rotation column ``j`` (link ``j``'s joint; the root
            for ``j = 0``) moves the point.
    """

    links: np.ndarray
    local: np.ndarray
    moves: np.ndarray


def _point_set(ancestors: np.ndarray, links, local) -> PointSet:
    links = np.asarray(links, np.int32).reshape(-1)
    local = np.asarray(local, np.float32).reshape(-1, 2)
    return PointSet(links, local.T[:, :, None].copy(), ancestors[links].T[:, :, None].copy())


class Tables(NamedTuple):
    """Numpy tables derived once from a ``physics.Body`` (trace-time constants)."""

    ancestors: np.ndarray  # [L, L] 1 where rotation column j moves link i (column 0: root)
    parent: np.ndarray  # [L] parent link (root: 0)
    parent_anchor: np.ndarray  # [L, 2] (root: 0)
    child_anchor: np.ndarray  # [L, 2] (root: 0)
    mass: np.ndarray  # [L, 1]
    m_rot: np.ndarray  # [n, n, 1] rotational part of the mass matrix, constant
    regulariser: float
    free: np.ndarray  # [n, 1] 1 for free dofs, 0 for a pinned root's
    pinned: int  # 3 for a pinned root, else 0
    motor_speed: np.ndarray  # [A, 1]
    motor_torque: np.ndarray  # [A, 1]
    joints: tuple  # (dof, motor index or -1, (lower, upper) or None) per motor or limited joint
    coms: PointSet  # centres of mass, one per link
    forces: PointSet  # contacts, then float samples, then hands
    num_contacts: int
    num_floats: int
    contact_onehot: np.ndarray  # [K, L]
    contact_friction: np.ndarray  # [K, 1]
    float_links: np.ndarray  # [S]
    float_height: np.ndarray  # [S, 1]
    float_area: np.ndarray  # [S, 1]
    float_drag: np.ndarray  # [2, S, 1]
    hands: PointSet


@functools.lru_cache(maxsize=64)
def tables(body: Any) -> Tables:
    """The trace-time tables of ``body`` (a ``physics.Body``)."""
    num_links = body.num_links
    n = body.num_dofs
    parent = np.asarray(body.parent, np.int32)
    assert parent[0] == -1 and all(0 <= parent[i] < i for i in range(1, num_links)), (
        "links must be in topological order with the root first"
    )
    ancestors = np.zeros((num_links, num_links), np.float32)
    for i in range(num_links):
        j = i
        while j > 0:
            ancestors[i, j] = 1.0
            j = parent[j]
        ancestors[i, 0] = 1.0
    jw = np.concatenate([np.zeros((num_links, 2), np.float32), ancestors], axis=1)
    m_rot = (jw.T * np.asarray(body.inertia, np.float32)) @ jw
    parent_anchor = np.asarray(body.parent_anchor, np.float32).reshape(num_links, 2).copy()
    child_anchor = np.asarray(body.child_anchor, np.float32).reshape(num_links, 2).copy()
    parent_anchor[0] = child_anchor[0] = 0.0

    def sorted_links(links, what):
        links = np.asarray(links, np.int32).reshape(-1)
        assert np.all(np.diff(links) >= 0), f"{what} points must be listed link by link"
        return links

    contact_link = sorted_links(body.contact_link, "contact")
    float_link = sorted_links(body.float_link, "float")
    hand_link = sorted_links(body.hand_link, "hand")
    free = np.ones(n, np.float32)
    if body.fixed_root:
        free[:3] = 0.0
    motor_dof = tuple(int(v) + 2 for v in np.asarray(body.motor_link, np.int32).reshape(-1))
    lower = np.asarray(body.joint_lower[1:], np.float64)
    upper = np.asarray(body.joint_upper[1:], np.float64)
    joints = []
    for dof in range(3, n):
        limited = abs(lower[dof - 3]) < FAR or abs(upper[dof - 3]) < FAR
        motor = motor_dof.index(dof) if dof in motor_dof else -1
        if limited or motor >= 0:
            bounds = (
                (
                    float(np.clip(lower[dof - 3], -FAR, FAR)),
                    float(np.clip(upper[dof - 3], -FAR, FAR)),
                )
                if limited
                else None
            )
            joints.append((dof, motor, bounds))
    contact_onehot = np.zeros((len(contact_link), num_links), np.float32)
    contact_onehot[np.arange(len(contact_link)), contact_link] = 1.0
    force_links = np.concatenate([contact_link, float_link, hand_link])
    force_local = np.concatenate(
        [
            np.asarray(body.contact_local, np.float32).reshape(-1, 2),
            np.asarray(body.float_local, np.float32).reshape(-1, 2),
            np.asarray(body.hand_local, np.float32).reshape(-1, 2),
        ]
    )
    col = lambda v: np.asarray(v, np.float32).reshape(-1, 1)  # noqa: E731
    return Tables(
        ancestors=ancestors,
        parent=np.maximum(parent, 0),
        parent_anchor=parent_anchor,
        child_anchor=child_anchor,
        mass=col(body.mass),
        m_rot=m_rot.astype(np.float32)[:, :, None],
        regulariser=1e-6 * max(float(np.sum(body.mass)), 1e-3),
        free=free[:, None],
        pinned=3 if body.fixed_root else 0,
        motor_speed=col(body.motor_speed),
        motor_torque=col(body.motor_torque),
        joints=tuple(joints),
        coms=_point_set(ancestors, np.arange(num_links), body.com),
        forces=_point_set(ancestors, force_links, force_local),
        num_contacts=len(contact_link),
        num_floats=len(float_link),
        contact_onehot=contact_onehot,
        contact_friction=col(body.contact_friction),
        float_links=float_link,
        float_height=col(body.float_height),
        float_area=col(body.float_area),
        float_drag=np.asarray(body.float_drag, np.float32).reshape(-1, 2).T[:, :, None].copy(),
        hands=_point_set(ancestors, hand_link, body.hand_local),
    )


class Frames(NamedTuple):
    """Link frames of a batch of configurations.

    Attributes:
        cos: [L, B] cosine of each link's world angle.
        sin: [L, B] its sine.
        origin: [2, L, B] link frame origins.
        centre: [2, L, B] each link's rotation centre: the root's origin, else its joint.
    """

    cos: Array
    sin: Array
    origin: Array
    centre: Array


class Points(NamedTuple):
    """A point set's world positions ``[2, P, B]``, Jacobian ``[2, n, P, B]`` and velocities."""

    pos: Array
    jac: Array
    vel: Array


def keep(x: Array, one: Array) -> Array:
    """``x`` unchanged, written to memory once.

    XLA:CPU duplicates cheap producers into every consumer, but not a division; the divisor is
    a runtime one (``one`` [B]) of ``x``'s own shape, since XLA rewrites a division by a
    broadcast into a (cheap) product. ``optimization_barrier`` is ignored on CPU.
    """
    return x / (one + x * 0.0)


def total(x: Array, axis: int) -> Array:
    """Sum over a short static axis as a chain of adds (fused into its consumers).

    A ``reduce`` is a kernel of its own; over 2 surfaces that costs more than the adds.
    """
    parts = [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]
    return functools.reduce(jnp.add, parts)


def frames(tb: Tables, q: Array, one: Array | None = None) -> Frames:
    """Forward kinematics of configurations ``q`` [n, B] (each output ``keep``-ed if ``one``)."""
    anc = tb.ancestors
    num = anc.shape[0]
    angle = sum(anc[:, j, None] * q[2 + j][None] for j in range(num))  # [L, B]
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    if one is not None:
        cos, sin = keep(cos, one), keep(sin, one)
    pa, ca = tb.parent_anchor, tb.child_anchor
    cp, sp = cos[tb.parent], sin[tb.parent]
    # Link l's origin minus its parent's: (joint - parent origin) - (joint - own origin).
    step_x = (cp * pa[:, :1] - sp * pa[:, 1:]) - (cos * ca[:, :1] - sin * ca[:, 1:])
    step_y = (sp * pa[:, :1] + cp * pa[:, 1:]) - (sin * ca[:, :1] + cos * ca[:, 1:])
    origin_x = q[0][None] + sum(anc[:, j, None] * step_x[j][None] for j in range(1, num))
    origin_y = q[1][None] + sum(anc[:, j, None] * step_y[j][None] for j in range(1, num))
    centre_x = origin_x + (cos * ca[:, :1] - sin * ca[:, 1:])
    centre_y = origin_y + (sin * ca[:, :1] + cos * ca[:, 1:])
    origin = jnp.stack([origin_x, origin_y])
    if one is not None:
        origin = keep(origin, one)
        centre_x = origin[0] + (cos * ca[:, :1] - sin * ca[:, 1:])
        centre_y = origin[1] + (sin * ca[:, :1] + cos * ca[:, 1:])
        return Frames(cos, sin, origin, keep(jnp.stack([centre_x, centre_y]), one))
    return Frames(cos, sin, origin, jnp.stack([centre_x, centre_y]))


def positions(f: Frames, ps: PointSet) -> Array:
    """World positions ``[2, P, B]`` of a point set."""
    links = ps.links
    cos, sin = f.cos[links], f.sin[links]
    lx, ly = ps.local[0], ps.local[1]
    return jnp.stack(
        [f.origin[0, links] + cos * lx - sin * ly, f.origin[1, links] + sin * lx + cos * ly]
    )


def jacobian(f: Frames, ps: PointSet, pos: Array) -> Array:
    """Jacobian ``d pos / d q`` ``[2, n, P, B]`` of the points of ``ps`` at ``pos`` [2, P, B]."""
    arm_x = pos[0][None] - f.centre[0][:, None]  # [L, P, B]
    arm_y = pos[1][None] - f.centre[1][:, None]
    ones = jnp.ones_like(pos[:1, :1])  # [1, 1, B]: the root's x, y columns
    ones = jnp.broadcast_to(ones, (1, *pos.shape[1:]))
    zeros = jnp.zeros_like(ones)
    jx = jnp.concatenate([ones, zeros, -ps.moves * arm_y])
    jy = jnp.concatenate([zeros, ones, ps.moves * arm_x])
    return jnp.stack([jx, jy])


def apply(jac: Array, v: Array) -> Array:
    """``J v`` ``[2, P, B]``: velocities of points with Jacobian ``jac`` at speeds ``v`` [n, B]."""
    return sum(jac[:, a] * v[a][None, None] for a in range(jac.shape[1]))


def transpose_apply(jac: Array, force: Array) -> Array:
    """``Jᵀ F`` ``[n, B]``: generalised forces of point forces ``force`` [2, P, B]."""
    return jnp.sum(jac[0] * force[0][None] + jac[1] * force[1][None], axis=1)


def quadratic(jac: Array, dxx: Array, dxy: Array | None, dyy: Array) -> Array:
    """``Σ_p J_pᵀ D_p J_p`` ``[n, n, B]`` for symmetric 2 x 2 gains ``D_p`` (entries [P, B]).

    ``dxy`` None stands for zeros. The upper triangle is summed, row by row, and mirrored.
    """
    n = jac.shape[1]
    jx, jy = jac[0], jac[1]  # [n, P, B]
    ex, ey = dxx[None] * jx, dyy[None] * jy
    if dxy is not None:
        ex, ey = ex + dxy[None] * jy, dxy[None] * jx + ey
    # The upper triangle, row by row (the result is symmetric).
    rows = [jnp.sum(jx[a][None] * ex[a:] + jy[a][None] * ey[a:], axis=1) for a in range(n)]
    return jnp.stack([jnp.stack([rows[min(a, b)][abs(b - a)] for b in range(n)]) for a in range(n)])


def point_kinematics(f: Frames, ps: PointSet, qd: Array, pos: Array | None = None) -> Points:
    """Positions (unless given), Jacobian and velocities of a point set."""
    pos = positions(f, ps) if pos is None else pos
    jac = jacobian(f, ps, pos)
    return Points(pos, jac, apply(jac, qd))


def mass_terms(tb: Tables, f: Frames, qd: Array, gravity: Array) -> tuple[Array, Array]:
    """Mass matrix ``[n, n, B]`` (less its constant rotational part) and generalised forces.

    The forces ``[n, B]`` are gravity's (``gravity`` [B], m/s² along -y) and the
    velocity-product term ``-Σ_l m_l J_lᵀ J̇_l qd``.
    """
    coms = point_kinematics(f, tb.coms, qd)
    rotation_centres = PointSet(tb.parent, None, tb.ancestors[tb.parent].T[:, :, None])
    centres = point_kinematics(f, rotation_centres, qd, pos=f.centre)
    mass = tb.mass  # [L, 1]
    mmat = quadratic(coms.jac, mass, None, mass)
    # J̇ qd of each centre of mass: Σ_j qd_j perp(v_p - v_cj) over the columns moving it.
    moves = tb.ancestors.T[:, :, None]  # [L(columns), L(points), 1]
    rate = qd[2:][:, None]  # [L, 1, B]
    ax = jnp.sum(moves * rate * (centres.vel[1][:, None] - coms.vel[1][None]), axis=0)
    ay = jnp.sum(moves * rate * (coms.vel[0][None] - centres.vel[0][:, None]), axis=0)
    force = jnp.stack([-mass * ax, -mass * (gravity[None] + ay)])
    return mmat, transpose_apply(coms.jac, force)


def _segment(knots_x: Array, x: Array) -> Array:
    """Index [P, B] of the profile segment (knots [N, B]) holding each ``x`` [P, B], clamped.

    ``searchsorted(side="right") - 1`` written as compares, cheap for the ~32 knots of a window.
    """
    num = knots_x.shape[0]
    return jnp.clip(jnp.sum(knots_x[:, None] <= x[None], axis=0) - 1, 0, num - 2)


def profile_height(knots_x: Array, knots_y: Array, x: Array) -> Array:
    """Heights ``[P, B]`` of piecewise-linear profiles (knots [N, B]) at ``x`` [P, B]."""
    i = _segment(knots_x, x)
    x0, x1 = (jnp.take_along_axis(knots_x, i + d, axis=0) for d in (0, 1))
    y0, y1 = (jnp.take_along_axis(knots_y, i + d, axis=0) for d in (0, 1))
    t = jnp.clip((x - x0) / jnp.maximum(x1 - x0, 1e-9), 0.0, 1.0)
    return y0 + t * (y1 - y0)


def windows(knots_x: Array, knots_y: Array, x: Array) -> Array:
    """The 4 knots (3 segments) of profiles (knots [N, B]) around each ``x`` [K, B].

    Read once per step and reused by every substep (a gather per knot); a point that moves out
    of its window within a step sees the window's end segments extended.

    Returns:
        float32 [2, 4, K, B]: the knots' x (row 0) and y (row 1).
    """
    segment = _segment(knots_x, x)
    num = knots_x.shape[0]
    if num < 4:
        pad = ((0, 4 - num), (0, 0))
        knots_x, knots_y = jnp.pad(knots_x, pad, mode="edge"), jnp.pad(knots_y, pad, mode="edge")
    start = jnp.clip(segment - 1, 0, knots_x.shape[0] - 4)  # [K, B]
    index = (start[None] + np.arange(4)[:, None, None]).reshape(-1, x.shape[-1])
    shape = (4, *x.shape)
    return jnp.stack(
        [
            jnp.take_along_axis(knots_x, index, axis=0).reshape(shape),
            jnp.take_along_axis(knots_y, index, axis=0).reshape(shape),
        ]
    )


def _segment_geometry(ax, ay, dx, dy, x, y):
    """A point's relation to segments from ``(ax, ay)`` along ``(dx, dy)`` (broadcasting).

    Returns:
        ``(dist2, nx, ny)``: squared distance to the segment (to its line where the point
        projects inside it, else to its nearest end), and the outward normal: the segment's
        own where the point projects inside it (exact even for a tiny depth far from the
        origin), else from the point towards the nearest end.
    """
    rx, ry = x - ax, y - ay
    len2 = dx * dx + dy * dy
    inv_len = jax.lax.rsqrt(jnp.maximum(len2, 1e-12))
    t_raw = (rx * dx + ry * dy) * inv_len * inv_len
    t = jnp.clip(t_raw, 0.0, 1.0)
    snx, sny = -dy * inv_len, dx * inv_len  # the segment's upward normal
    line = rx * snx + ry * sny  # signed distance to the segment's line
    ex, ey = t * dx - rx, t * dy - ry  # from the point to its nearest point on the segment
    vertex_dist2 = ex * ex + ey * ey
    interior = (t_raw > 0.0) & (t_raw < 1.0) & (len2 > 1e-12)
    dist2 = jnp.where(interior, line * line, vertex_dist2)
    inv_v = jax.lax.rsqrt(jnp.maximum(vertex_dist2, 1e-12))
    use_seg = interior | (vertex_dist2 <= 1e-12)
    return dist2, jnp.where(use_seg, snx, ex * inv_v), jnp.where(use_seg, sny, ey * inv_v)


def _pick(index: Array, values: Array) -> Array:
    """``values[index]`` along the segment axis: values [2, 3, K, B], index [2, K, B] in 0..2."""
    return jnp.where(index == 0, values[:, 0], jnp.where(index == 1, values[:, 1], values[:, 2]))


def surfaces(win: Array, x: Array, y: Array, one: Array) -> Array:
    """Depth below the ground and above the ceiling, and outward normals, at points ``(x, y)``.

    A point is inside when it is below the profile at its x; its depth is its distance to the
    nearest of the window's three segments (the first of equals), and its normal that
    segment's (``_segment_geometry``). The distances to all three are computed in one pass
    and kept; the normal only for the nearest. The ceiling is a ground upside down.

    Args:
        win: [2 (ground, ceiling), 2 (x, y), 4, K, B] windows; the ceiling's heights negated.
        x: [K, B] points' x.
        y: [K, B] points' y.
        one: a runtime 1.0 [B] (see ``keep``).

    Returns:
        float32 [3, 2, K, B]: depth (0 outside), normal x and normal y, ground then ceiling.
    """
    wx, wy = win[:, 0], win[:, 1]  # [2, 4, K, B]
    py = jnp.stack([y, -y])  # [2, K, B]
    ax, ay = wx[:, :3], wy[:, :3]  # [2, 3, K, B]: the three segments
    dx, dy = wx[:, 1:] - ax, wy[:, 1:] - ay
    dist2 = keep(_segment_geometry(ax, ay, dx, dy, x[None, None], py[:, None])[0], one)
    nearest = jnp.where(dist2[:, 1] < dist2[:, 0], 1, 0)
    nearest = jnp.where(dist2[:, 2] < _pick(nearest, dist2), 2, nearest)
    _, nx, ny = _segment_geometry(*(_pick(nearest, v) for v in (ax, ay, dx, dy)), x, py)
    # The profile's height at x: the point's own segment (the end ones extended).
    own = (wx[:, 1] <= x).astype(jnp.int32) + (wx[:, 2] <= x).astype(jnp.int32)
    ox, oy, odx, ody = (_pick(own, v) for v in (ax, ay, dx, dy))
    height = oy + jnp.clip((x - ox) / jnp.maximum(odx, 1e-9), 0.0, 1.0) * ody
    depth = jnp.where(py < height, jnp.sqrt(_pick(nearest, dist2)), 0.0)
    flip = np.asarray([1.0, -1.0], np.float32)[:, None, None]
    return jnp.stack([depth, nx, ny * flip])


def gauss_jordan(aug: Array, n: int, one: Array) -> Array:
    """Solves ``A X = R`` given ``aug = [A | R]`` [n, n + r, B], ``A`` symmetric positive definite.

    Eliminates column by column without pivoting (stable for SPD matrices; the pivots are those
    of the Cholesky factorisation, clamped positive so roundoff never makes a NaN), one kernel
    per column over the whole block.

    Returns:
        ``X`` [n, r, B].
    """
    rows = np.arange(n)[:, None, None]
    for j in range(n):
        pivot_row = aug[j] / jnp.maximum(aug[j, j], 1e-12)[None]  # [n + r, B]
        eliminated = aug - aug[:, j][:, None] * pivot_row[None]
        aug = keep(jnp.where(rows == j, pivot_row[None], eliminated), one)
    return aug[:, n:]


def joint_gauss_seidel(
    tb: Tables,
    q: Array,
    v: Array,
    w: Array,
    target: Array,
    torque_max: Array,
    h: float,
    sweeps: int,
    beta: float,
    one: Array,
) -> Array:
    """Motors and joint limits as velocity-level joint impulses, by projected Gauss-Seidel.

    Each motor pushes its joint speed towards ``target`` with a torque clipped to
    ``±torque_max`` (Box2D's motor); each limit keeps the joint from crossing it within the
    substep (a speculative one-sided constraint: joints stop exactly at their limits, inelastic)
    and pushes a joint already beyond it back by ``beta`` of its excess per substep. A joint's
    impulses all act along its column ``w[:, c]`` (``M̃⁻¹ Sᵀ``), so they are found on its own
    speed and then applied to every dof in one kernel.

    Args:
        tb: the body's tables (``tb.joints``: the joints with a motor or limits).
        q: [n, B] configurations.
        v: [n, B] speeds before the joint impulses.
        w: [n, C, B] ``M̃⁻¹ Sᵀ`` of the joints.
        target: [A, B] motor target speeds.
        torque_max: [A, B] motor torque bounds.
        h: substep, s.
        sweeps: Gauss-Seidel sweeps.
        beta: fraction of a joint's excess beyond its limit undone per substep.
        one: a runtime 1.0 [B] (see ``keep``).

    Returns:
        [n, B] speeds after the joint impulses.
    """
    acc = {}  # accumulated impulse of each (kind, joint), carried across sweeps
    for _ in range(sweeps):
        for c, (dof, motor, bounds) in enumerate(tb.joints):
            speed, column = v[dof], w[:, c]
            gain = 1.0 / (h * jnp.maximum(w[dof, c], 1e-9))
            updates = []
            if motor >= 0:
                trial = acc.get(("m", c), 0.0) + (target[motor] - speed) * gain
                updates.append((("m", c), jnp.clip(trial, -torque_max[motor], torque_max[motor])))
                speed = speed + h * w[dof, c] * (updates[-1][1] - acc.get(("m", c), 0.0))
            if bounds is not None:
                lo, hi = bounds
                qj = q[dof]
                v_hi = (hi - qj) / h * jnp.where(qj <= hi, 1.0, beta)
                v_lo = (lo - qj) / h * jnp.where(qj >= lo, 1.0, beta)
                new = jnp.minimum(acc.get(("hi", c), 0.0) + (v_hi - speed) * gain, 0.0)
                updates.append((("hi", c), new))
                speed = speed + h * w[dof, c] * (new - acc.get(("hi", c), 0.0))
                new = jnp.maximum(acc.get(("lo", c), 0.0) + (v_lo - speed) * gain, 0.0)
                updates.append((("lo", c), new))
            for key, new in updates:
                v = v + h * column * (new - acc.get(key, 0.0))[None]
                acc[key] = new
            v = keep(v, one)
    return v


def _contact_forces(body, tb: Tables, geo, vel, slip, friction, h: float):
    """Contact forces and gains of the contact points against ground and ceiling.

    Normal force: spring-damper ``k_n d - c_n u_n`` (implicit; dropped when it would pull).
    Friction: Coulomb with a static regime, a tangential spring-damper anchored where the
    contact started (``slip``, its extension along the surface); when its trial force exceeds
    ``μ f_n`` the contact slides, the anchor is dragged along and the force is ``μ f_n``.

    Returns:
        ``(block, slip, active, tangent)``: the [5, K, B] force block (fx, fy and the gains
        times ``h``), the friction springs' extension and which contacts act [2, K, B], and
        the tangents ``(tx, ty)`` [2, K, B] each.
    """
    depth, nx, ny = geo[0], geo[1], geo[2]  # [2, K, B]
    kn, cn = body.contact_stiffness, body.contact_damping
    gain_spring = cn + h * kn
    tx, ty = ny, -nx
    u_n = nx * vel[0] + ny * vel[1]
    u_t = tx * vel[0] + ty * vel[1]
    active = (depth > 0.0) & (kn * depth - gain_spring * u_n > 0.0)
    g_n = jnp.where(active, gain_spring, 0.0)
    f_n = jnp.where(active, kn * depth - g_n * u_n, 0.0)
    mu = jnp.sqrt(tb.contact_friction * friction[None])  # [K, B]
    f_max = mu * jnp.maximum(kn * depth - cn * u_n, 0.0)
    slip = jnp.where(active, slip, 0.0)
    f_t_trial = -kn * slip - cn * u_t
    sliding = jnp.abs(f_t_trial) >= f_max
    direction = jnp.sign(f_t_trial)
    slip = jnp.where(sliding, -direction * f_max / kn, slip)
    g_t = jnp.where(active & ~sliding, gain_spring, 0.0)
    f_t = jnp.where(active, jnp.where(sliding, direction * f_max, -kn * slip - g_t * u_t), 0.0)
    block = jnp.stack(
        [
            total(f_n * nx + f_t * tx, axis=0),
            total(f_n * ny + f_t * ty, axis=0),
            h * total(g_n * nx * nx + g_t * tx * tx, axis=0),
            h * total(g_n * nx * ny + g_t * tx * ty, axis=0),
            h * total(g_n * ny * ny + g_t * ty * ty, axis=0),
        ]
    )
    return block, slip, active, (tx, ty)


def _water_forces(tb: Tables, f: Frames, pos, vel, terrain, params, gravity, h: float) -> Array:
    """Buoyancy and drag at the float samples: the [5, S, B] force block (gains times ``h``).

    Each sample gets buoyancy ``ρ_w g a φ`` upwards (``φ`` the submerged fraction of a strip of
    the sample's height) and drag along its link's local axes, ``ρ_w φ (c_1 + c_2 |u|) u`` per
    metre of face (implicit).
    """
    wet = jnp.clip((terrain.water_level[None] - pos[1]) / tb.float_height + 0.5, 0.0, 1.0)
    cos, sin = f.cos[tb.float_links], f.sin[tb.float_links]
    u_along = cos * vel[0] + sin * vel[1]  # along the link's local x
    u_across = -sin * vel[0] + cos * vel[1]  # along its local y
    scale = terrain.water_density[None] * wet
    g_along = (
        scale * tb.float_drag[0] * (params.drag_linear + params.drag_quadratic * jnp.abs(u_along))
    )
    g_across = (
        scale * tb.float_drag[1] * (params.drag_linear + params.drag_quadratic * jnp.abs(u_across))
    )
    f_along, f_across = -g_along * u_along, -g_across * u_across
    return jnp.stack(
        [
            cos * f_along - sin * f_across,
            sin * f_along + cos * f_across + gravity[None] * tb.float_area * scale,
            h * (g_along * cos * cos + g_across * sin * sin),
            h * (g_along - g_across) * cos * sin,
            h * (g_along * sin * sin + g_across * cos * cos),
        ]
    )


def _grasp_forces(body, state, pos, vel, h: float) -> Array:
    """A grasping hand's spring-damper to its anchor: the [5, H, B] force block."""
    gain = body.grasp_damping + h * body.grasp_stiffness
    hold = state.grasping  # [H, B]
    kg = body.grasp_stiffness
    anchor = state.grasp_anchor  # [H, 2, B]
    fx = jnp.where(hold, -kg * (pos[0] - anchor[:, 0]) - gain * vel[0], 0.0)
    fy = jnp.where(hold, -kg * (pos[1] - anchor[:, 1]) - gain * vel[1], 0.0)
    d = jnp.where(hold, h * gain, 0.0)
    return jnp.stack([fx, fy, d, jnp.zeros_like(d), d])


def substep(body, tb: Tables, state, target, torque_max, terrain, win, h, params, gravity, one):
    """One semi-implicit Euler substep of a batch; returns the state and active contacts [2, K, B].

    ``win`` are the contact points' ground and ceiling windows ([2, 2, 4, K, B], ``windows``),
    read once per step; ``gravity`` [B], m/s²; ``one`` a runtime 1.0 [B].
    """
    q, qd = state.q, state.qd
    n = body.num_dofs
    num_k, num_s = tb.num_contacts, tb.num_floats
    f = frames(tb, q, one)
    mmat, force = mass_terms(tb, f, qd, gravity)
    a_mat = mmat + tb.m_rot + tb.regulariser * np.eye(n, dtype=np.float32)[:, :, None]
    active = jnp.zeros((2, 0, *q.shape[1:]), bool)
    slip = state.slip
    fp = None
    if len(tb.forces.links):
        fp = point_kinematics(f, tb.forces, qd)
        fp = Points(keep(fp.pos, one), keep(fp.jac, one), keep(fp.vel, one))
        blocks = []
        if num_k:
            geo = keep(surfaces(win, fp.pos[0, :num_k], fp.pos[1, :num_k], one), one)
            block, slip, active, tangent = _contact_forces(
                body, tb, geo, fp.vel[:, :num_k], state.slip, terrain.friction, h
            )
            blocks.append(block)
        if num_s:
            part = slice(num_k, num_k + num_s)
            blocks.append(
                _water_forces(tb, f, fp.pos[:, part], fp.vel[:, part], terrain, params, gravity, h)
            )
        if body.num_hands:
            part = slice(num_k + num_s, None)
            blocks.append(_grasp_forces(body, state, fp.pos[:, part], fp.vel[:, part], h))
        block = keep(jnp.concatenate(blocks, axis=1), one)  # [5, P, B]
        force = force + transpose_apply(fp.jac, block[:2])
        a_mat = a_mat + quadratic(fp.jac, block[2], block[3], block[4])
    rhs = h * force
    if tb.pinned:
        eye = np.eye(n, dtype=np.float32)[:, :, None]
        pinned = np.zeros((n, n, 1), bool)
        pinned[: tb.pinned] = pinned[:, : tb.pinned] = True
        a_mat = jnp.where(pinned, eye, a_mat)
        rhs = jnp.where(np.arange(n)[:, None] < tb.pinned, 0.0, rhs)
    units = np.zeros((n, len(tb.joints), 1), np.float32)
    for c, (dof, _, _) in enumerate(tb.joints):
        units[dof, c] = 1.0
    units = jnp.broadcast_to(units, (n, len(tb.joints), *q.shape[1:]))
    aug = keep(jnp.concatenate([a_mat, rhs[:, None], units], axis=1), one)
    sol = gauss_jordan(aug, n, one)  # [n, 1 + C, B]
    v = qd + sol[:, 0]
    if tb.joints:
        v = joint_gauss_seidel(
            tb, q, v, sol[:, 1:], target, torque_max, h,
            params.joint_sweeps, params.limit_correction, one,
        )  # fmt: skip
    v = jnp.clip(v, -params.max_speed, params.max_speed) * tb.free
    if num_k:
        # Friction springs stretch with the contact's new tangential speed.
        vel = apply(fp.jac[:, :, :num_k], v)  # [2, K, B]
        tx, ty = tangent
        slip = jnp.where(active, slip + h * (tx * vel[0] + ty * vel[1]), 0.0)
    return state.replace(q=q + h * v, qd=v, slip=slip), active


def grasp_update(body, tb: Tables, state, grasp: Array, terrain):
    """Starts and ends grasps: a hand holds while ``grasp`` [H, B] > 0 once it touched a holdable.

    Holdables: the ceiling, and creepers (``terrain.creepers`` [C, 3, B]: x centre, half width,
    bottom y).
    """
    if body.num_hands == 0:
        return state
    hands = positions(frames(tb, state.q), tb.hands)  # [2, H, B]
    r = body.grasp_radius
    ceiling = profile_height(terrain.ceiling_x, terrain.ceiling_y, hands[0])
    cx, half, bottom = (terrain.creepers[:, k][None] for k in range(3))  # [1, C, B]
    on_creeper = (jnp.abs(hands[0][:, None] - cx) <= half + r) & (hands[1][:, None] >= bottom - r)
    touching = (hands[1] >= ceiling - r) | jnp.any(on_creeper, axis=1)
    want = grasp > 0.0
    start = want & ~state.grasping & touching
    anchor = jnp.where(start[:, None], jnp.swapaxes(hands, 0, 1), state.grasp_anchor)
    return state.replace(grasping=want & (state.grasping | start), grasp_anchor=anchor)


def step(body, state, action, terrain, dt, substeps, params, gravity, strength):
    """Advances a batch of one body by ``dt`` in ``substeps`` substeps (``physics.step``'s work).

    Every array ends in the batch axis ``B``: ``state`` a ``PhysicsState`` (q [n, B], slip
    [2, K, B], grasp_anchor [H, 2, B], grasping [H, B]), ``action`` [A + H, B], ``terrain`` a
    ``Terrain`` (knots [N, B], scalars [B], creepers [C, 3, B]), ``gravity`` and ``strength``
    [B].

    Returns:
        ``(state, (ground [K, B], ceiling [K, B], link_ground [L, B], link_ceiling [L, B],
        grasping [H, B]))``.
    """
    tb = tables(body)
    h = dt / substeps
    num_motors = body.num_motors
    a = jnp.clip(jnp.nan_to_num(action[:num_motors]), -1.0, 1.0)
    target = tb.motor_speed * jnp.sign(a)
    torque_max = tb.motor_torque * jnp.abs(a) * strength[None]
    state = grasp_update(body, tb, state, action[num_motors:], terrain)
    num_k = tb.num_contacts
    batch = state.q.shape[1:]
    win = jnp.zeros((2, 2, 4, 0, *batch))
    if num_k:
        x = positions(frames(tb, state.q), tb.forces)[0, :num_k]
        win = jnp.stack(
            [
                windows(terrain.ground_x, terrain.ground_y, x),
                windows(terrain.ceiling_x, -terrain.ceiling_y, x),
            ]
        )
    one = state.q[0] * 0.0 + 1.0

    def body_step(carry, _):
        state, touched = carry
        state, active = substep(
            body, tb, state, target, torque_max, terrain, win, h, params, gravity, one
        )
        return (state, touched | active), None

    touched = jnp.zeros((2, num_k, *batch), bool)
    (state, touched), _ = jax.lax.scan(body_step, (state, touched), None, length=substeps)
    onehot = tb.contact_onehot[None, :, :, None] > 0  # [1, K, L, 1]
    link_touch = jnp.any(touched[:, :, None] & onehot, axis=1)  # [2, L, B]
    return state, (touched[0], touched[1], link_touch[0], link_touch[1], state.grasping)
