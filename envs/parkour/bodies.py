"""Embodiments for the parkour physics: TeachMyAgent's bodies and small test bodies.

A body is a list of ``LinkSpec`` (a polygon with a density, hung from its parent by a revolute
joint with optional limits and motor, with contact points, float samples and hands), turned by
``build_body`` into the engine's static ``physics.Body``: masses, centres of mass and inertias come
from the polygons (Box2D's formulas), and the soft-constraint constants from the total mass. A
swimmer is links with float samples and motors; a climber adds ``hands``; neither needs engine
changes.

Sizes follow TeachMyAgent: pixels divided by ``SCALE = 30`` px/m, Box2D densities (kg/m²).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from curriculax.envs.parkour.physics import FAR, SCALE, Body, Vec

#: Box2D's default fixture friction, TeachMyAgent's legs' friction.
DEFAULT_FRICTION = 0.2


@dataclasses.dataclass(frozen=True)
class LinkSpec:
    """One link of a body, in its own frame (metres).

    Attributes:
        name: the link's name.
        polygon: vertices, counter-clockwise or clockwise.
        density: kg/m² (0: massless, only valid for a pinned root).
        parent: index of the parent link in the list (-1: this is the root, listed first).
        parent_anchor: the joint in the parent's frame.
        child_anchor: the joint in this link's frame.
        limits: ``(lower, upper)`` joint angle, rad, or None.
        motor: ``(max torque N m, max speed rad/s)``, or None.
        contacts: contact points (default: the polygon's vertices; ``()``: none).
        friction: friction coefficient of its contact points.
        hands: grasping points.
        floats: float samples as ``(point, area, strip height, (face x, face y))``; default one
            sample at the centroid standing for the whole polygon; ``()``: none.
    """

    name: str
    polygon: tuple[Vec, ...]
    density: float
    parent: int = -1
    parent_anchor: Vec = (0.0, 0.0)
    child_anchor: Vec = (0.0, 0.0)
    limits: tuple[float, float] | None = None
    motor: tuple[float, float] | None = None
    contacts: tuple[Vec, ...] | None = None
    friction: float = DEFAULT_FRICTION
    hands: tuple[Vec, ...] = ()
    floats: tuple | None = None


def polygon_properties(polygon, density: float) -> tuple[float, np.ndarray, float, float]:
    """Mass, centroid, inertia about the centroid and area of a simple polygon.

    Args:
        polygon: [V, 2] vertices (either winding).
        density: kg/m².

    Returns:
        ``(mass, centroid [2], inertia, area)``.
    """
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = 0.5 * np.sum(cross)
    if abs(area) < 1e-12:
        return 0.0, p.mean(axis=0), 0.0, 0.0
    cx = np.sum((x + x1) * cross) / (6.0 * area)
    cy = np.sum((y + y1) * cross) / (6.0 * area)
    second = np.sum(cross * (x * x + x * x1 + x1 * x1 + y * y + y * y1 + y1 * y1)) / 12.0
    mass = density * abs(area)
    inertia = density * abs(second) - mass * (cx * cx + cy * cy)
    return float(mass), np.asarray([cx, cy]), float(max(inertia, 0.0)), float(abs(area))


def box_polygon(width: float, height: float, centre: Vec = (0.0, 0.0)) -> tuple[Vec, ...]:
    """Counter-clockwise corners of an axis-aligned box."""
    w, h = width / 2, height / 2
    cx, cy = centre
    return ((cx - w, cy - h), (cx + w, cy - h), (cx + w, cy + h), (cx - w, cy + h))


def _pair(v) -> Vec:
    return (float(v[0]), float(v[1]))


def build_body(
    name: str,
    links: list[LinkSpec],
    fixed_root: bool = False,
    contact_stiffness: float | None = None,
    contact_damping: float | None = None,
    grasp_stiffness: float | None = None,
    grasp_damping: float | None = None,
    grasp_radius: float = 0.05,
) -> Body:
    """Turns link specs into the engine's static ``Body``.

    Defaults scale with the body: contact stiffness ``2500 M`` N/m and damping ``50 M`` N s/m per
    point (``M`` the total mass: a body resting on two points sinks ``g / 5000`` = 2 mm); grasp
    springs ``5000 M`` N/m (2 mm of stretch holding the whole body) with ``100 M`` N s/m.

    Args:
        name: the body's name.
        links: the links, root first, parents before children.
        fixed_root: pin the root link where ``q[:3]`` puts it.
        contact_stiffness: override, N/m.
        contact_damping: override, N s/m.
        grasp_stiffness: override, N/m.
        grasp_damping: override, N s/m.
        grasp_radius: reach of a hand, m.

    Returns:
        The body.
    """
    assert links and links[0].parent == -1, "the root comes first"
    props = [polygon_properties(link.polygon, link.density) for link in links]
    total = max(sum(p[0] for p in props), 1e-3)
    contact_link, contact_local, contact_friction = [], [], []
    float_link, float_local, float_area, float_height, float_drag = [], [], [], [], []
    hand_link, hand_local = [], []
    motor_link, motor_torque, motor_speed = [], [], []
    for i, (link, (_, centroid, _, area)) in enumerate(zip(links, props, strict=True)):
        assert link.parent < i and (i == 0) == (link.parent == -1), f"bad parent of {link.name}"
        contacts = link.polygon if link.contacts is None else link.contacts
        for point in contacts:
            contact_link.append(i)
            contact_local.append(_pair(point))
            contact_friction.append(float(link.friction))
        floats = link.floats
        if floats is None:
            poly = np.asarray(link.polygon, np.float64).reshape(-1, 2)
            extent = poly.max(axis=0) - poly.min(axis=0)
            floats = ((centroid, area, extent[1], (extent[1], extent[0])),) if area > 0 else ()
        for point, a, height, faces in floats:
            float_link.append(i)
            float_local.append(_pair(point))
            float_area.append(float(a))
            float_height.append(float(max(height, 1e-3)))
            float_drag.append(_pair(faces))
        for point in link.hands:
            hand_link.append(i)
            hand_local.append(_pair(point))
        if link.motor is not None:
            assert i > 0, "the root has no joint to drive"
            motor_link.append(i)
            motor_torque.append(float(link.motor[0]))
            motor_speed.append(float(link.motor[1]))
    return Body(
        name=name,
        parent=tuple(link.parent for link in links),
        mass=tuple(p[0] for p in props),
        inertia=tuple(p[2] for p in props),
        com=tuple(_pair(p[1]) for p in props),
        parent_anchor=tuple(_pair(link.parent_anchor) for link in links),
        child_anchor=tuple(_pair(link.child_anchor) for link in links),
        joint_lower=tuple(float(link.limits[0]) if link.limits else -FAR for link in links),
        joint_upper=tuple(float(link.limits[1]) if link.limits else FAR for link in links),
        motor_link=tuple(motor_link),
        motor_torque=tuple(motor_torque),
        motor_speed=tuple(motor_speed),
        contact_link=tuple(contact_link),
        contact_local=tuple(contact_local),
        contact_friction=tuple(contact_friction),
        float_link=tuple(float_link),
        float_local=tuple(float_local),
        float_area=tuple(float_area),
        float_height=tuple(float_height),
        float_drag=tuple(float_drag),
        hand_link=tuple(hand_link),
        hand_local=tuple(hand_local),
        shapes=tuple(tuple(_pair(v) for v in link.polygon) for link in links),
        fixed_root=fixed_root,
        contact_stiffness=float(contact_stiffness or 2500.0 * total),
        contact_damping=float(contact_damping or 50.0 * total),
        grasp_stiffness=float(grasp_stiffness or 5000.0 * total),
        grasp_damping=float(grasp_damping or 100.0 * total),
        grasp_radius=float(grasp_radius),
    )


def _px(points) -> tuple[Vec, ...]:
    return tuple((x / SCALE, y / SCALE) for x, y in points)


def old_classic_bipedal() -> Body:
    """TeachMyAgent's benchmark walker (``old_classic_bipedal``, = gym's BipedalWalker).

    Hull pentagon (-30, 9), (6, 9), (34, 1), (34, -8), (-30, -8) px, density 5, friction 0.1;
    legs hang from (0, -8 px) of the hull: upper 8 x 34 px, lower 6.4 x 34 px, density 1, friction
    0.2; hips limited to [-0.8, 1.1] rad, knees to [-1.6, -0.1]; motors 80 N m at 4 rad/s (hips)
    and 6 rad/s (knees). Links: hull, then per leg (left first, TeachMyAgent's order) upper and
    lower; actions ``(hip_l, knee_l, hip_r, knee_r)``. Contact points: the hull's vertices and
    the lower legs' corners (an upper leg's low corners sit at the knee, on the lower leg's).
    """
    leg_down, leg_w, leg_h = -8 / SCALE, 8 / SCALE, 34 / SCALE
    hull = LinkSpec(
        name="hull",
        polygon=_px([(-30, 9), (6, 9), (34, 1), (34, -8), (-30, -8)]),
        density=5.0,
        friction=0.1,
    )
    links = [hull]
    for side in ("left", "right"):
        upper = LinkSpec(
            name=f"upper_{side}",
            polygon=box_polygon(leg_w, leg_h),
            density=1.0,
            parent=0,
            parent_anchor=(0.0, leg_down),
            child_anchor=(0.0, leg_h / 2),
            limits=(-0.8, 1.1),
            motor=(80.0, 4.0),
            contacts=(),
        )
        lower = LinkSpec(
            name=f"lower_{side}",
            polygon=box_polygon(0.8 * leg_w, leg_h),
            density=1.0,
            parent=len(links),
            parent_anchor=(0.0, -leg_h / 2),
            child_anchor=(0.0, leg_h / 2),
            limits=(-1.6, -0.1),
            motor=(80.0, 6.0),
        )
        links += [upper, lower]
    return build_body("old_classic_bipedal", links)


#: Height of the walker's hull origin above flat ground when standing with straight legs
#: (joint angles 0; knees then rest against their -0.1 limit once stepped).
WALKER_STAND_HEIGHT = 8 / SCALE + 2 * 34 / SCALE


def box(
    width: float = 1.0,
    height: float = 0.5,
    density: float = 1.0,
    friction: float = 1.0,
    hand: bool = False,
) -> Body:
    """One free rigid box, its frame at its centre; ``hand``: a hand at the middle of its top."""
    link = LinkSpec(
        name="box",
        polygon=box_polygon(width, height),
        density=density,
        friction=friction,
        hands=((0.0, height / 2),) if hand else (),
    )
    return build_body("box" + ("_hand" if hand else ""), [link])


def pendulum(length: float = 1.0, width: float = 0.1, density: float = 1.0) -> Body:
    """A rod of ``length`` hinged at its top end to a pinned, massless root at ``q[:2]``.

    Its joint angle is the swing angle (0: hanging straight down); no contact points.
    """
    pivot = LinkSpec(name="pivot", polygon=box_polygon(0.0, 0.0), density=0.0, contacts=())
    rod = LinkSpec(
        name="rod",
        polygon=box_polygon(width, length),
        density=density,
        parent=0,
        child_anchor=(0.0, length / 2),
        contacts=(),
    )
    return build_body("pendulum", [pivot, rod], fixed_root=True)


def simple_climber() -> Body:
    """A test climber: a box torso with two two-link arms ending in grasping hands.

    Arms hang from the torso's top corners; shoulders ``[-π, π]``, elbows ``[-2.5, 2.5]`` rad,
    motors 30 N m at 5 rad/s. Actions ``(shoulder_l, elbow_l, shoulder_r, elbow_r, grasp_l,
    grasp_r)``. Not a TeachMyAgent body: it exercises hands and grasping.
    """
    torso_w, torso_h, arm = 0.6, 0.8, 0.5
    links = [LinkSpec(name="torso", polygon=box_polygon(torso_w, torso_h), density=2.0)]
    for sign, side in ((-1, "left"), (1, "right")):
        shoulder = (sign * torso_w / 2, torso_h / 2)
        upper = LinkSpec(
            name=f"arm_{side}",
            polygon=box_polygon(0.1, arm),
            density=1.0,
            parent=0,
            parent_anchor=shoulder,
            child_anchor=(0.0, -arm / 2),
            limits=(-math.pi, math.pi),
            motor=(30.0, 5.0),
            contacts=(),
        )
        fore = LinkSpec(
            name=f"forearm_{side}",
            polygon=box_polygon(0.08, arm),
            density=1.0,
            parent=len(links),
            parent_anchor=(0.0, arm / 2),
            child_anchor=(0.0, -arm / 2),
            limits=(-2.5, 2.5),
            motor=(30.0, 5.0),
            contacts=((0.0, arm / 2),),
            hands=((0.0, arm / 2),),
        )
        links += [upper, fore]
    return build_body("simple_climber", links)


def fish(density: float = 1.0) -> Body:
    """TeachMyAgent's swimmer (``fish``): a head, a three-part tail and a fin under the head.

    Head hexagon (-20, ±12), (6, ±12), (15, ±4) px; tail parts 16 px (tapering 12 -> 9 -> 4 px
    half-heights) and 8 px long, joined behind one another (limits [-0.1π, 0.2π], ±0.15π,
    ±0.3π); a 2 x 20 px fin hung 5 px below the head's centre (TMA's limits [-0.3π, 0.2π]
    around its rest tilt of -0.2π, i.e. [-0.5π, 0] from hanging straight down; our joints have
    no reference angle, so the fin starts straight down). Every motor: 80 N m at 6 rad/s;
    density that of water (1), so it is weightless when submerged. Actions ``(tail_1, tail_2,
    tail_3, fin)``. Contact points: the head's corners, each tail part's
    lower corners and the fin's tip (so every motor reports a contact flag, TMA's 38-D
    observation).
    """
    motor = (80.0, 6.0)
    head = LinkSpec(
        name="head",
        polygon=_px([(-20, 12), (6, 12), (15, 4), (15, -4), (6, -12), (-20, -12)]),
        density=density,
        friction=0.1,
    )
    p1 = LinkSpec(
        name="tail_1",
        polygon=_px([(-8, 9), (8, 12), (8, -12), (-8, -9)]),
        density=density,
        parent=0,
        parent_anchor=(-17.5 / SCALE, 0.0),
        child_anchor=(8 / SCALE, 0.0),
        limits=(-0.1 * math.pi, 0.2 * math.pi),
        motor=motor,
        contacts=_px([(-8, -9), (8, -12)]),
    )
    p2 = LinkSpec(
        name="tail_2",
        polygon=_px([(-8, 4), (8, 9), (8, -9), (-8, -4)]),
        density=density,
        parent=1,
        parent_anchor=(-8 / SCALE, 0.0),
        child_anchor=(8 / SCALE, 0.0),
        limits=(-0.15 * math.pi, 0.15 * math.pi),
        motor=motor,
        contacts=_px([(-8, -4), (8, -9)]),
    )
    p3 = LinkSpec(
        name="tail_3",
        polygon=_px([(-4, 2), (4, 4), (4, -4), (-4, -2)]),
        density=density,
        parent=2,
        parent_anchor=(-8 / SCALE, 0.0),
        child_anchor=(4 / SCALE, 0.0),
        limits=(-0.3 * math.pi, 0.3 * math.pi),
        motor=motor,
        contacts=_px([(-4, 2), (-4, -2)]),
    )
    fin = LinkSpec(
        name="fin",
        polygon=_px([(-1, -10), (1, -10), (1, 10), (-1, 10)]),
        density=density,
        parent=0,
        parent_anchor=(0.0, -5 / SCALE),
        child_anchor=(0.0, 10 / SCALE),
        limits=(-0.5 * math.pi, 0.0),
        motor=motor,
        contacts=((0.0, -10 / SCALE),),
    )
    return build_body("fish", [head, p1, p2, p3, fin])
