"""The scalar physics engine that ``engine`` replaced (2026-12-07), frozen as the reference of
``test_engine_differential.py``: every stage written on per-env scalars and vmapped, one XLA
kernel per materialised value. The model's types (``Body``, ``Terrain``, ``PhysicsState``, ...)
are ``physics``'s; only the step is kept here. Do not edit it to follow the engine.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.envs.parkour.physics import (
    DEFAULT_PARAMS,
    FAR,
    GRAVITY,
    Body,
    Contacts,
    PhysicsParams,
    PhysicsState,
    Terrain,
    _segment_index,
    profile_height,
)
from curriculax.types import Array


class _Static(NamedTuple):
    """Numpy tables derived once from a ``Body`` (trace-time constants)."""

    ancestors: np.ndarray  # [L, L] 1 where rotation column j moves link i (column 0: the root)
    parent: np.ndarray  # [L] parent link (root: 0)
    parent_anchor: np.ndarray  # [L, 2] (root: 0)
    child_anchor: np.ndarray  # [L, 2] (root: 0)
    mass: np.ndarray  # [L]
    m_rot: np.ndarray  # [n, n] rotational part of the mass matrix, constant
    lower: np.ndarray  # [L-1]
    upper: np.ndarray  # [L-1]
    motor_dof: np.ndarray  # [A]
    limited: np.ndarray  # [L-1] bool: the joint has limits
    pgs_dof: np.ndarray  # [C] dofs of the joints with a motor or limits, in order
    contact_onehot: np.ndarray  # [K, L]
    free: np.ndarray  # [n] 1 for free dofs, 0 for a pinned root's
    regulariser: float
    com: np.ndarray  # [L, 2]
    contact_link: np.ndarray  # [K], non-decreasing
    contact_local: np.ndarray  # [K, 2]
    contact_friction: np.ndarray  # [K]
    float_link: np.ndarray  # [S], non-decreasing
    float_local: np.ndarray  # [S, 2]
    float_groups: tuple  # ((link, count), ...) of the float samples
    float_height: np.ndarray  # [S]
    float_area: np.ndarray  # [S]
    float_drag: np.ndarray  # [S, 2]
    hand_link: np.ndarray  # [H], non-decreasing
    hand_local: np.ndarray  # [H, 2]


@functools.lru_cache(maxsize=64)
def _static(body: Body) -> _Static:
    """Trace-time tables of ``body``."""
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
    inertia = np.asarray(body.inertia, np.float32)
    m_rot = (jw.T * inertia) @ jw
    parent_anchor = np.asarray(body.parent_anchor, np.float32).reshape(num_links, 2).copy()
    child_anchor = np.asarray(body.child_anchor, np.float32).reshape(num_links, 2).copy()
    parent_anchor[0] = child_anchor[0] = 0.0
    parent0 = np.maximum(parent, 0)

    free = np.ones(n, np.float32)
    if body.fixed_root:
        free[:3] = 0.0
    total_mass = float(np.sum(body.mass))
    motor_dof = np.asarray(body.motor_link, np.int32).reshape(-1) + 2

    def sorted_links(links, what):
        links = np.asarray(links, np.int32).reshape(-1)
        assert np.all(np.diff(links) >= 0), f"{what} points must be listed link by link"
        return links

    float_link = sorted_links(body.float_link, "float")
    limited = (np.abs(np.asarray(body.joint_lower[1:], np.float64)) < FAR) | (
        np.abs(np.asarray(body.joint_upper[1:], np.float64)) < FAR
    )
    contact_onehot = np.zeros((body.num_contacts, num_links), np.float32)
    contact_onehot[np.arange(body.num_contacts), np.asarray(body.contact_link, np.int32)] = 1.0
    return _Static(
        ancestors=ancestors,
        parent=parent0,
        parent_anchor=parent_anchor,
        child_anchor=child_anchor,
        mass=np.asarray(body.mass, np.float32),
        m_rot=m_rot.astype(np.float32),
        lower=np.clip(np.asarray(body.joint_lower[1:], np.float32), -FAR, FAR),
        upper=np.clip(np.asarray(body.joint_upper[1:], np.float32), -FAR, FAR),
        motor_dof=motor_dof,
        limited=limited,
        pgs_dof=np.asarray(
            [d for d in range(3, n) if limited[d - 3] or d in set(motor_dof.tolist())], np.int32
        ),
        contact_onehot=contact_onehot,
        free=free,
        regulariser=1e-6 * max(total_mass, 1e-3),
        com=np.asarray(body.com, np.float32).reshape(-1, 2),
        contact_link=sorted_links(body.contact_link, "contact"),
        contact_local=np.asarray(body.contact_local, np.float32).reshape(-1, 2),
        contact_friction=np.asarray(body.contact_friction, np.float32),
        float_link=float_link,
        float_local=np.asarray(body.float_local, np.float32).reshape(-1, 2),
        float_groups=tuple((int(v), int(np.sum(float_link == v))) for v in np.unique(float_link)),
        float_height=np.asarray(body.float_height, np.float32),
        float_area=np.asarray(body.float_area, np.float32),
        float_drag=np.asarray(body.float_drag, np.float32).reshape(-1, 2),
        hand_link=sorted_links(body.hand_link, "hand"),
        hand_local=np.asarray(body.hand_local, np.float32).reshape(-1, 2),
    )


_ONE = "one"  # a Jacobian entry known to be exactly 1 (root x, y columns)


def _materialise(values: list, one: Array) -> list:
    """Returns ``values`` unchanged, computed once into memory.

    XLA:CPU fuses cheap elementwise producers into every consumer, recomputing them: a value
    read by many later stages (kinematics, Jacobians, factor entries, joint speeds) would be
    recomputed inside each. A division by a runtime one is an "expensive" operation that XLA will
    not duplicate, so its result is written out once and read back (``optimization_barrier``,
    the documented way, is ignored on CPU). Entries that are None, ``_ONE`` or Python floats pass
    through. (Packing the values into one array first measured no faster and compiled 2x
    slower.)
    """
    return [v if v is None or v is _ONE or isinstance(v, float) else v / one for v in values]


def _mul(a, b):
    """Product of two Jacobian-like entries: None is an exact zero, ``_ONE`` an exact one."""
    if a is None or b is None:
        return None
    if a is _ONE:
        return b
    if b is _ONE:
        return a
    return a * b


def _add(*terms):
    """Sum of entries, skipping exact zeros (None if all are)."""
    out = None
    for t in terms:
        if t is None:
            continue
        t = 1.0 if t is _ONE else t
        out = t if out is None else out + t
    return out


def _total(x, size: int):
    """Sum over a point set's axis of an entry (None stays None; ``_ONE`` sums to ``size``)."""
    if x is None:
        return None
    if x is _ONE:
        return float(size)
    return jnp.sum(x, axis=-1)


class _Kin(NamedTuple):
    """Per-link scalars of one configuration (lists of length L)."""

    cos: list
    sin: list
    ox: list  # link frame origin
    oy: list
    cx: list  # rotation centre of the link's own column (root origin, or its joint)
    cy: list
    w: list  # angular velocity
    vox: list  # origin velocity
    voy: list
    vcx: list  # rotation centre velocity
    vcy: list


def _kinematics(st: _Static, q: Array, qd: Array, one: Array | None = None) -> _Kin:
    """Forward kinematics and velocities, link by link as scalars.

    Scalars, not small arrays: under ``vmap`` every operation is then one elementwise loop over
    the whole batch, which XLA:CPU vectorises and fuses; small trailing axes (2, n) are not.
    """
    num_links = len(st.parent)
    k = _Kin(*([None] * num_links for _ in range(11)))
    angle = [None] * num_links
    angle[0] = q[2]
    k.cos[0], k.sin[0] = jnp.cos(q[2]), jnp.sin(q[2])
    k.ox[0] = k.cx[0] = q[0]
    k.oy[0] = k.cy[0] = q[1]
    k.w[0] = qd[2]
    k.vox[0] = k.vcx[0] = qd[0]
    k.voy[0] = k.vcy[0] = qd[1]
    for link in range(1, num_links):
        par = int(st.parent[link])
        pax, pay = (float(v) for v in st.parent_anchor[link])
        cax, cay = (float(v) for v in st.child_anchor[link])
        angle[link] = angle[par] + q[2 + link]
        k.cos[link], k.sin[link] = jnp.cos(angle[link]), jnp.sin(angle[link])
        rx = k.cos[par] * pax - k.sin[par] * pay  # joint - parent origin
        ry = k.sin[par] * pax + k.cos[par] * pay
        k.cx[link], k.cy[link] = k.ox[par] + rx, k.oy[par] + ry
        k.vcx[link] = k.vox[par] - k.w[par] * ry
        k.vcy[link] = k.voy[par] + k.w[par] * rx
        k.w[link] = k.w[par] + qd[2 + link]
        sx = k.cos[link] * cax - k.sin[link] * cay  # joint - own origin
        sy = k.sin[link] * cax + k.cos[link] * cay
        k.ox[link], k.oy[link] = k.cx[link] - sx, k.cy[link] - sy
        k.vox[link] = k.vcx[link] + k.w[link] * sy
        k.voy[link] = k.vcy[link] - k.w[link] * sx
    if one is None:
        return k
    flat = _materialise([v for field in k for v in field], one)
    return _Kin(*(flat[i * num_links : (i + 1) * num_links] for i in range(len(k))))


class _Points(NamedTuple):
    """A set of body points (sorted by link): positions, velocities, Jacobian columns.

    ``x, y, vx, vy`` are [K] arrays; ``jx[a], jy[a]`` the Jacobian column of dof ``a`` as [K]
    arrays, None (exact zero) or ``_ONE``.
    """

    x: Array
    y: Array
    vx: Array
    vy: Array
    jx: list
    jy: list
    size: int


def _point_set(
    st: _Static, k: _Kin, links: np.ndarray, local: np.ndarray, one: Array | None = None
) -> _Points:
    """Positions, velocities and Jacobians of points ``local`` [K, 2] on ``links`` [K]."""
    num_links = len(st.parent)
    xs, ys, vxs, vys = [], [], [], []
    for link in sorted(set(links.tolist())):
        sel = links == link
        lx, ly = local[sel, 0], local[sel, 1]
        px = k.ox[link] + k.cos[link] * lx - k.sin[link] * ly
        py = k.oy[link] + k.sin[link] * lx + k.cos[link] * ly
        xs.append(px)
        ys.append(py)
        vxs.append(k.vox[link] - k.w[link] * (py - k.oy[link]))
        vys.append(k.voy[link] + k.w[link] * (px - k.ox[link]))
    cat = functools.partial(jnp.concatenate, axis=-1)
    x, y, vx, vy = cat(xs), cat(ys), cat(vxs), cat(vys)
    jx, jy = [_ONE, None], [None, _ONE]
    for j in range(num_links):
        mask = st.ancestors[links, j]
        if not mask.any():
            jx.append(None)
            jy.append(None)
        elif mask.all():
            jx.append(k.cy[j] - y)
            jy.append(x - k.cx[j])
        else:
            jx.append(mask * (k.cy[j] - y))
            jy.append(mask * (x - k.cx[j]))
    if one is not None:
        x, y, vx, vy, *cols = _materialise([x, y, vx, vy, *jx, *jy], one)
        jx, jy = cols[: len(jx)], cols[len(jx) :]
    return _Points(x, y, vx, vy, jx, jy, len(links))


def _generalised(points: _Points, fx, fy) -> list:
    """Generalised forces ``Jᵀ F`` of point forces ``fx, fy`` [K]: list of n entries."""
    return [
        _total(_add(_mul(jx, fx), _mul(jy, fy)), points.size)
        for jx, jy in zip(points.jx, points.jy, strict=True)
    ]


def _quadratic(points: _Points, dxx, dxy, dyy) -> list:
    """``Σ_k J_kᵀ D_k J_k`` for symmetric 2x2 ``D_k`` (entries [K] or None): n x n nested list."""
    n = len(points.jx)
    ex = [_add(_mul(dxx, jx), _mul(dxy, jy)) for jx, jy in zip(points.jx, points.jy, strict=True)]
    ey = [_add(_mul(dxy, jx), _mul(dyy, jy)) for jx, jy in zip(points.jx, points.jy, strict=True)]
    out = [[None] * n for _ in range(n)]
    for a in range(n):
        for b in range(a, n):
            term = _add(_mul(points.jx[a], ex[b]), _mul(points.jy[a], ey[b]))
            out[a][b] = out[b][a] = _total(term, points.size)
    return out


def _mass_terms(
    st: _Static, k: _Kin, qd: Array, gravity: float | Array, one: Array | None = None
) -> tuple[list, list]:
    """Mass matrix (nested list) and generalised gravity and velocity-product forces."""
    num_links = len(st.parent)
    coms = _point_set(st, k, np.arange(num_links), st.com, one)
    mass = st.mass
    mmat = _quadratic(coms, mass, None, mass)
    # J̇ qd of each centre of mass: Σ_j qd_j perp(v_p - v_cj) over the columns moving it.
    ax, ay = None, None
    for j in range(num_links):
        if coms.jx[2 + j] is None:
            continue
        mask = st.ancestors[:, j]
        rate = qd[2 + j]
        ax = _add(ax, mask * rate * (k.vcy[j] - coms.vy))
        ay = _add(ay, mask * rate * (coms.vx - k.vcx[j]))
    fx = -mass * ax
    fy = -mass * (gravity + ay)
    return mmat, _generalised(coms, fx, fy)


def link_poses(body: Body, q: Array) -> tuple[Array, Array]:
    """Forward kinematics.

    Args:
        body: the body.
        q: float32 [n] generalised coordinates.

    Returns:
        ``(origins, angles)``: float32 [L, 2] link frame origins and [L] link angles (world).
    """
    st = _static(body)
    k = _kinematics(st, q, jnp.zeros_like(q))
    origins = jnp.stack([jnp.stack(k.ox), jnp.stack(k.oy)], axis=-1)
    angles = jnp.asarray(st.ancestors) @ q[2:]
    return origins, angles


def _positions(body: Body, q: Array, links, local) -> Array:
    st = _static(body)
    links = np.asarray(links, np.int32).reshape(-1)
    if links.size == 0:
        return jnp.zeros((0, 2), q.dtype)
    local = np.asarray(local, np.float32).reshape(-1, 2)
    points = _point_set(st, _kinematics(st, q, jnp.zeros_like(q)), links, local)
    return jnp.stack([points.x, points.y], axis=-1)


def contact_points(body: Body, q: Array) -> Array:
    """World positions of the contact points: float32 [K, 2]."""
    return _positions(body, q, body.contact_link, body.contact_local)


def hand_points(body: Body, q: Array) -> Array:
    """World positions of the hands: float32 [H, 2]."""
    return _positions(body, q, body.hand_link, body.hand_local)


def centres_of_mass(body: Body, q: Array) -> Array:
    """World positions of the links' centres of mass: float32 [L, 2]."""
    return _positions(body, q, np.arange(body.num_links), body.com)


def _matrix(entries: list) -> Array:
    """A nested list of entries (None: 0) as an array."""
    return jnp.stack(
        [jnp.stack([jnp.asarray(0.0 if e is None else e) for e in row]) for row in entries]
    )


def mass_matrix(body: Body, q: Array) -> Array:
    """The mass matrix ``M(q)``: float32 [n, n]."""
    st = _static(body)
    zero = jnp.zeros_like(q)
    mmat, _ = _mass_terms(st, _kinematics(st, q, zero), zero, 0.0)
    return _matrix(mmat) + jnp.asarray(st.m_rot)


def energy(body: Body, state: PhysicsState, gravity: float = GRAVITY) -> Array:
    """Kinetic plus gravitational potential energy, J: float32 [].

    Stored contact and grasp spring energy is not included (it is small and only ever comes
    from the mechanical energy counted here).
    """
    st = _static(body)
    kinetic = 0.5 * state.qd @ mass_matrix(body, state.q) @ state.qd
    coms = centres_of_mass(body, state.q)
    return kinetic + gravity * jnp.sum(jnp.asarray(st.mass) * coms[:, 1])


def _window(knots_x: Array, knots_y: Array, x: Array) -> Array:
    """The 4 knots (3 segments) of a profile around each ``x`` [K]: [K, 4, 2].

    One small gather per point; the step reads the windows once, at its start, and every
    substep reuses them (gathers are the dearest operation of a substep on CPU). A point that
    moves out of its window within a step (more than a segment in 1/50 s) sees the window's end
    segments extended.
    """
    num = knots_x.shape[0]
    knots = jnp.stack([knots_x, knots_y], axis=-1)
    if num < 4:
        knots = jnp.concatenate([knots, jnp.broadcast_to(knots[-1:], (4 - num, 2))])
    start = jnp.clip(_segment_index(knots_x, x) - 1, 0, knots.shape[0] - 4)
    return jax.vmap(lambda s: jax.lax.dynamic_slice(knots, (s, 0), (4, 2)))(start)


def _surface(window: Array, x: Array, y: Array) -> tuple[Array, Array, Array]:
    """Depth below a profile and outward normal at points ``(x, y)`` [K], given their windows.

    The point is inside when it is below the profile at its x; its depth is its distance to the
    nearest of the window's three segments. The normal is that segment's own normal where the
    point projects inside the segment (exact even for a tiny depth far from the origin, which a
    normalised difference of nearby float32 points is not), and points from the point to the
    nearest vertex otherwise.

    Returns:
        ``(depth, nx, ny)``: float32 [K] each (depth 0 outside; the normal is a unit vector).
    """
    # The point's own segment in the window: 0, 1 or 2 (the end ones extended).
    local = (window[:, 1, 0] <= x).astype(jnp.int32) + (window[:, 2, 0] <= x).astype(jnp.int32)
    best = None
    height = jnp.zeros_like(x)
    for c in range(3):
        ax, ay = window[:, c, 0], window[:, c, 1]
        dx, dy = window[:, c + 1, 0] - ax, window[:, c + 1, 1] - ay
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
        nx = jnp.where(use_seg, snx, ex * inv_v)
        ny = jnp.where(use_seg, sny, ey * inv_v)
        if best is None:
            best = (dist2, nx, ny)
        else:
            closer = dist2 < best[0]
            cand = (dist2, nx, ny)
            best = tuple(jnp.where(closer, a, b) for a, b in zip(cand, best, strict=True))
        frac = jnp.clip(rx / jnp.maximum(dx, 1e-9), 0.0, 1.0)
        height = jnp.where(local == c, ay + frac * dy, height)
    inside = y < height
    return jnp.where(inside, jnp.sqrt(best[0]), 0.0), best[1], best[2]


def _windows(terrain: Terrain, x: Array) -> tuple[Array, Array]:
    """Ground and (upside-down) ceiling windows around points at ``x`` [K]."""
    return (
        _window(terrain.ground_x, terrain.ground_y, x),
        _window(terrain.ceiling_x, -terrain.ceiling_y, x),
    )


def _both_surfaces(windows, x: Array, y: Array) -> tuple[Array, Array, Array]:
    """Ground (row 0) and ceiling (row 1) depth and normals at points ``(x, y)``: [2, K] each."""
    dg, nxg, nyg = _surface(windows[0], x, y)
    dc, nxc, nyc = _surface(windows[1], x, -y)
    return jnp.stack([dg, dc]), jnp.stack([nxg, nxc]), jnp.stack([nyg, -nyc])


def penetration(body: Body, q: Array, terrain: Terrain) -> Array:
    """Depth of every contact point inside the ground (row 0) and the ceiling (row 1): [2, K]."""
    p = contact_points(body, q)
    return _both_surfaces(_windows(terrain, p[:, 0]), p[:, 0], p[:, 1])[0]


def _grasp_update(body: Body, state: PhysicsState, grasp: Array, terrain: Terrain) -> PhysicsState:
    """Starts and ends grasps: a hand holds while ``grasp > 0`` once it touched a holdable."""
    if body.num_hands == 0:
        return state
    hands = hand_points(body, state.q)
    r = body.grasp_radius
    ceiling = profile_height(terrain.ceiling_x, terrain.ceiling_y, hands[:, 0])
    cx, half, bottom = (terrain.creepers[:, k] for k in range(3))
    on_creeper = (jnp.abs(hands[:, 0:1] - cx[None]) <= half[None] + r) & (
        hands[:, 1:2] >= bottom[None] - r
    )
    touching = (hands[:, 1] >= ceiling - r) | jnp.any(on_creeper, axis=1)
    want = grasp > 0.0
    start = want & ~state.grasping & touching
    anchor = jnp.where(start[:, None], hands, state.grasp_anchor)
    return state.replace(grasping=want & (state.grasping | start), grasp_anchor=anchor)


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
    st = _static(body)
    h = dt / substeps
    num_motors = body.num_motors
    action = jnp.asarray(action, jnp.float32)
    a = jnp.clip(jnp.nan_to_num(action[:num_motors]), -1.0, 1.0)
    target = jnp.asarray(body.motor_speed, jnp.float32) * jnp.sign(a)
    torque_max = jnp.asarray(body.motor_torque, jnp.float32) * jnp.abs(a) * motor_strength
    state = _grasp_update(body, state, action[num_motors:], terrain)
    windows = _windows(terrain, contact_points(body, state.q)[:, 0])

    def substep(carry, _):
        state, touched = carry
        new_state, active = _substep(
            body, st, state, target, torque_max, terrain, windows, h, params, gravity
        )
        return (new_state, touched | active), None

    touched = jnp.zeros((2, body.num_contacts), bool)
    (state, touched), _ = jax.lax.scan(substep, (state, touched), None, length=substeps)
    onehot = jnp.asarray(st.contact_onehot)
    link_touch = (touched.astype(jnp.float32) @ onehot) > 0
    contacts = Contacts(
        ground=touched[0],
        ceiling=touched[1],
        link_ground=link_touch[0],
        link_ceiling=link_touch[1],
        grasping=state.grasping,
    )
    return state, contacts


def _substep(
    body: Body,
    st: _Static,
    state: PhysicsState,
    target: Array,
    torque_max: Array,
    terrain: Terrain,
    windows: tuple[Array, Array],
    h: float,
    params: PhysicsParams,
    g: float | Array,
) -> tuple[PhysicsState, Array]:
    """One semi-implicit Euler substep; returns the state and which contacts were active [2, K].

    ``windows`` are the contact points' ground and ceiling windows (``_windows``), read once per
    step; ``g`` is the gravity, m/s².
    """
    q, qd = state.q, state.qd
    n = body.num_dofs
    one = q[0] * 0.0 + 1.0  # a runtime one, see _materialise
    k = _kinematics(st, q, qd, one)
    mmat, force = _mass_terms(st, k, qd, g, one)
    blocks = [mmat]  # implicit gains h Σ Jᵀ D J, added below
    forces = [force]

    # Contacts against ground (row 0) and ceiling (row 1).
    active = jnp.zeros((2, 0), bool)
    slip = state.slip
    if body.num_contacts:
        pts = _point_set(st, k, st.contact_link, st.contact_local, one)
        kn, cn = body.contact_stiffness, body.contact_damping
        gain_spring = cn + h * kn
        depth, nx, ny = _both_surfaces(windows, pts.x, pts.y)  # [2, K]
        tx, ty = ny, -nx
        u_n = nx * pts.vx + ny * pts.vy
        u_t = tx * pts.vx + ty * pts.vy
        active = (depth > 0.0) & (kn * depth - gain_spring * u_n > 0.0)
        g_n = jnp.where(active, gain_spring, 0.0)
        f_n = jnp.where(active, kn * depth - g_n * u_n, 0.0)
        mu = jnp.sqrt(st.contact_friction * terrain.friction)
        f_max = mu * jnp.maximum(kn * depth - cn * u_n, 0.0)
        slip = jnp.where(active, state.slip, 0.0)
        f_t_trial = -kn * slip - cn * u_t
        sliding = jnp.abs(f_t_trial) >= f_max
        direction = jnp.sign(f_t_trial)
        slip = jnp.where(sliding, -direction * f_max / kn, slip)
        g_t = jnp.where(active & ~sliding, gain_spring, 0.0)
        f_t = jnp.where(active, jnp.where(sliding, direction * f_max, -kn * slip - g_t * u_t), 0.0)
        fx = jnp.sum(f_n * nx + f_t * tx, axis=0)
        fy = jnp.sum(f_n * ny + f_t * ty, axis=0)
        dxx = jnp.sum(g_n * nx * nx + g_t * tx * tx, axis=0)
        dxy = jnp.sum(g_n * nx * ny + g_t * tx * ty, axis=0)
        dyy = jnp.sum(g_n * ny * ny + g_t * ty * ty, axis=0)
        fx, fy, dxx, dxy, dyy = _materialise([fx, fy, dxx, dxy, dyy], one)
        forces.append(_generalised(pts, fx, fy))
        blocks.append(_quadratic(pts, h * dxx, h * dxy, h * dyy))

    # Water: buoyancy and drag at the float samples, along their links' axes.
    if len(body.float_link):
        pts = _point_set(st, k, st.float_link, st.float_local, one)
        rho = terrain.water_density
        wet = jnp.clip((terrain.water_level - pts.y) / st.float_height + 0.5, 0.0, 1.0)
        cos = jnp.concatenate([k.cos[link] * np.ones(c) for link, c in st.float_groups])
        sin = jnp.concatenate([k.sin[link] * np.ones(c) for link, c in st.float_groups])
        u_along = cos * pts.vx + sin * pts.vy  # along the link's local x
        u_across = -sin * pts.vx + cos * pts.vy  # along its local y
        scale = rho * wet
        g_along = (
            scale
            * st.float_drag[:, 0]
            * (params.drag_linear + params.drag_quadratic * jnp.abs(u_along))
        )
        g_across = (
            scale
            * st.float_drag[:, 1]
            * (params.drag_linear + params.drag_quadratic * jnp.abs(u_across))
        )
        f_along, f_across = -g_along * u_along, -g_across * u_across
        fx = cos * f_along - sin * f_across
        fy = sin * f_along + cos * f_across + g * st.float_area * scale
        forces.append(_generalised(pts, fx, fy))
        dxx = h * (g_along * cos * cos + g_across * sin * sin)
        dxy = h * (g_along - g_across) * cos * sin
        dyy = h * (g_along * sin * sin + g_across * cos * cos)
        blocks.append(_quadratic(pts, dxx, dxy, dyy))

    # Grasping hands: a spring-damper to the anchor.
    if body.num_hands:
        pts = _point_set(st, k, st.hand_link, st.hand_local, one)
        gain = body.grasp_damping + h * body.grasp_stiffness
        hold = state.grasping
        kg = body.grasp_stiffness
        fx = jnp.where(hold, -kg * (pts.x - state.grasp_anchor[:, 0]) - gain * pts.vx, 0.0)
        fy = jnp.where(hold, -kg * (pts.y - state.grasp_anchor[:, 1]) - gain * pts.vy, 0.0)
        d = jnp.where(hold, h * gain, 0.0)
        forces.append(_generalised(pts, fx, fy))
        blocks.append(_quadratic(pts, d, None, d))

    # M̃ = M + h Σ Jᵀ D J (+ pinned root, regulariser); right-hand sides: h f, then the unit
    # columns of the joints with a motor or limits (M̃⁻¹ Sᵀ: their inverse inertias).
    pinned = 3 if body.fixed_root else 0
    cols = [int(c) for c in st.pgs_dof]
    a_mat = [[None] * n for _ in range(n)]
    rhs = []
    for i in range(n):
        for j in range(i + 1):
            if i < pinned or j < pinned:
                a_mat[i][j] = 1.0 if i == j else 0.0
                continue
            entry = _add(*(block[i][j] for block in blocks), float(st.m_rot[i, j]) or None)
            a_mat[i][j] = (0.0 if entry is None else entry) + (st.regulariser if i == j else 0.0)
        f_i = None if i < pinned else _add(*(f[i] for f in forces))
        row = [jnp.zeros(()) if f_i is None else h * f_i]
        rhs.append(row + [1.0 if i == c else 0.0 for c in cols])
    flat = _materialise([e for i in range(n) for e in a_mat[i][: i + 1]], one)
    a_mat = [flat[i * (i + 1) // 2 : (i + 1) * (i + 2) // 2] for i in range(n)]
    rhs = [_materialise(row, one) for row in rhs]
    sol = _solve_spd(a_mat, rhs, one)
    v = [qd[i] + sol[i][0] for i in range(n)]
    if cols:
        w = [[sol[i][1 + c] for c in range(len(cols))] for i in range(n)]
        v = _joint_gauss_seidel(st, q, v, w, target, torque_max, h, params, one)
    v = jnp.clip(jnp.stack(v), -params.max_speed, params.max_speed) * st.free
    q_new = q + h * v

    # Friction springs stretch with the contact's new tangential speed.
    if body.num_contacts:
        pts = _point_set(st, k, st.contact_link, st.contact_local)
        vx = _add(*(_mul(jx, v[i]) for i, jx in enumerate(pts.jx)))
        vy = _add(*(_mul(jy, v[i]) for i, jy in enumerate(pts.jy)))
        slip = jnp.where(active, slip + h * (tx * vx + ty * vy), 0.0)
    return state.replace(q=q_new, qd=v, slip=slip), active


def _solve_spd(a: list, b: list, one: Array) -> list:
    """Solves ``a x = b`` for symmetric positive definite ``a`` (lower triangle, scalars).

    One Cholesky factorisation and two triangular solves, unrolled into scalar operations that
    XLA vectorises across a vmapped batch (a batched LAPACK call would factor one small matrix at
    a time). Pivots are clamped positive, so roundoff can never turn into a NaN.

    Args:
        a: n x n nested list; entries ``a[i][j]`` with ``j <= i`` are read.
        b: n rows of r right-hand-side entries.
        one: a runtime 1.0 (see ``_materialise``).

    Returns:
        x as n rows of r entries.
    """
    n = len(a)
    low = [[None] * n for _ in range(n)]
    inv_diag = [None] * n
    for j in range(n):
        pivot = a[j][j] - sum((low[j][m] ** 2 for m in range(j)), start=0.0)
        inv_diag[j] = jax.lax.rsqrt(jnp.maximum(pivot, 1e-12))
        for i in range(j + 1, n):
            dot = sum((low[i][m] * low[j][m] for m in range(j)), start=0.0)
            low[i][j] = (a[i][j] - dot) * inv_diag[j]
        column = _materialise([inv_diag[j], *(low[i][j] for i in range(j + 1, n))], one)
        inv_diag[j] = column[0]
        for i in range(j + 1, n):
            low[i][j] = column[i - j]
    r = len(b[0])
    y = [[None] * r for _ in range(n)]
    for c in range(r):
        for i in range(n):
            rest = sum((low[i][m] * y[m][c] for m in range(i)), start=0.0)
            y[i][c] = (b[i][c] - rest) * inv_diag[i]
            y[i] = _materialise(y[i], one) if c == r - 1 else y[i]
    x = [[None] * r for _ in range(n)]
    for c in range(r):
        for i in reversed(range(n)):
            rest = sum((low[m][i] * x[m][c] for m in range(i + 1, n)), start=0.0)
            x[i][c] = (y[i][c] - rest) * inv_diag[i]
            x[i] = _materialise(x[i], one) if c == r - 1 else x[i]
    return x


def _joint_gauss_seidel(
    st: _Static,
    q: Array,
    v: list,
    w: list,
    target: Array,
    torque_max: Array,
    h: float,
    params: PhysicsParams,
    one: Array,
) -> list:
    """Motors and joint limits as velocity-level joint impulses, by projected Gauss-Seidel.

    Each motor pushes its joint speed towards ``target`` with a torque clipped to
    ``±torque_max`` (Box2D's motor); each limit keeps the joint from crossing it within the
    substep (a speculative one-sided constraint, so joints stop exactly at their limits and the
    impact is inelastic) and pushes a joint already beyond it back by ``limit_correction`` of
    its excess per substep. ``w[i][c]`` is ``M̃⁻¹ Sᵀ`` for the joint columns.

    Returns:
        The generalised speeds after the joint impulses: n scalars.
    """
    cols = [int(c) for c in st.pgs_dof]
    n = len(v)
    motor_of = {int(dof): m for m, dof in enumerate(st.motor_dof)}
    beta = params.limit_correction
    bounds = {}
    for c, dof in enumerate(cols):
        j = dof - 3
        if st.limited[j]:
            qj = q[dof]
            hi, lo = float(st.upper[j]), float(st.lower[j])
            v_hi = (hi - qj) / h * jnp.where(qj <= hi, 1.0, beta)
            v_lo = (lo - qj) / h * jnp.where(qj >= lo, 1.0, beta)
            bounds[c] = (v_lo, v_hi)
    gains = [1.0 / (h * jnp.maximum(w[dof][c], 1e-9)) for c, dof in enumerate(cols)]
    acc = {}

    def push(v, c, key, new):
        old = acc.get(key, 0.0)
        acc[key] = new
        return _materialise([v[i] + h * w[i][c] * (new - old) for i in range(n)], one)

    for _ in range(params.joint_sweeps):
        for c, dof in enumerate(cols):
            if dof in motor_of:
                m = motor_of[dof]
                old = acc.get(("m", c), 0.0)
                new = jnp.clip(old + (target[m] - v[dof]) * gains[c], -torque_max[m], torque_max[m])
                v = push(v, c, ("m", c), new)
            if c in bounds:
                v_lo, v_hi = bounds[c]
                new = jnp.minimum(acc.get(("hi", c), 0.0) + (v_hi - v[dof]) * gains[c], 0.0)
                v = push(v, c, ("hi", c), new)
                new = jnp.maximum(acc.get(("lo", c), 0.0) + (v_lo - v[dof]) * gains[c], 0.0)
                v = push(v, c, ("lo", c), new)
    return v
