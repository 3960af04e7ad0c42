"""Parkour: TeachMyAgent's CPPN terrain with a ceiling, water and creepers (see ``terrain``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax.numpy as jnp
from flax import struct

from curriculax.env import INT32_MAX
from curriculax.envs.parkour.env import (
    DYNAMICS_BOUNDS,
    FALL_REWARD,
    MAX_STEPS,
    ParkourDynamicsParams,
    ParkourEnvBase,
    default_dynamics,
    positive_number,
)
from curriculax.envs.parkour.terrain import (
    CREEPER_WIDTH,
    NUM_KNOTS,
    SEGMENT,
    TERRAIN_SCALE,
    ParkourTrack,
    parkour_profile,
    parkour_track,
    parkour_window,
)
from curriculax.types import Array, PRNGKey

#: Bounds of the task space (TMA's Parkour dims; θ bounds measured for our CPPN).
THETA_BOUNDS = (-1.0, 1.0)
WATER_BOUNDS = (0.0, 1.0)
CREEPER_HEIGHT_BOUNDS = (0.0, 4.0)
CREEPER_SPACING_BOUNDS = (0.0, 5.0)
#: TMA's Parkour ends the episode 5 segments before the end of the track.
FINISH_X = (NUM_KNOTS - 1 - 5) * SEGMENT


@struct.dataclass
class ParkourParams(ParkourDynamicsParams):
    """One Parkour task (TMA's 6-D task space, and dynamics); the level adds the creepers' lengths.

    Attributes:
        max_steps: int32 [], episode cap (TMA: 2000).
        gravity, terrain_friction, motor_strength: the dynamics (``ParkourDynamicsParams``).
        theta_1: float32 [], first CPPN input.
        theta_2: float32 [], second CPPN input.
        theta_3: float32 [], third CPPN input.
        water_level: float32 [], 0 (dry) .. 1 (all under water), see ``terrain``.
        creeper_height: float32 [], mean creeper length, m (0: no creepers).
        creeper_spacing: float32 [], gap between creepers, m (clipped to >= 0.01).
    """

    theta_1: Array
    theta_2: Array
    theta_3: Array
    water_level: Array
    creeper_height: Array
    creeper_spacing: Array


class Parkour(ParkourEnvBase[ParkourParams]):
    """TeachMyAgent's Parkour: a body crosses ~100 m of CPPN terrain under a ceiling.

    Registered as ``curriculax/Parkour-v0`` (the walker). Parameters outside their bounds are
    rejected by ``make_params`` and clipped by the generator (the dynamics: by the step) when
    traced.

    Args:
        body: the embodiment (``EMBODIMENTS``); default TMA's benchmark walker.
        hull_critical: for walkers, whether the hull touching the terrain is a fall (-100, end
            of the episode) as in Stump Tracks and gymnasium's BipedalWalker. TMA's Parkour says
            no (the default); PPO then settles on a slow gait that never falls and never
            finishes a track (docs/benchmarks.md), so training runs may want yes. Climbers' and
            swimmers' falls are their own and unchanged.
        terrain_scale: multiplies the CPPN's relief (ground and ceiling gap), > 0; default
            ``terrain.TERRAIN_SCALE`` = 1.4, calibrated on PPO (docs/environments.md). Larger
            gives steeper slopes and lower clearances for every θ (TMA's ``terrain_cppn_scale``
            plays the same part).
        fall_penalty: a fall's reward is minus this (TMA: 100; see ``ParkourEnvBase``).
    """

    def __init__(
        self,
        body: str = "old_classic_bipedal",
        hull_critical: bool = False,
        terrain_scale: float = TERRAIN_SCALE,
        fall_penalty: float = -FALL_REWARD,
    ) -> None:
        if not isinstance(hull_critical, bool):
            raise TypeError(f"hull_critical must be a bool, got {hull_critical!r}")
        self.terrain_scale = positive_number("terrain_scale", terrain_scale)
        super().__init__(
            body, hull_critical=hull_critical, water_flags=True, fall_penalty=fall_penalty
        )

    def default_params(self) -> ParkourParams:
        """A dry track with θ = 0 and no creepers; TMA's dynamics."""
        f32 = jnp.float32
        return ParkourParams(
            max_steps=jnp.int32(MAX_STEPS),
            **default_dynamics(),
            theta_1=f32(0.0),
            theta_2=f32(0.0),
            theta_3=f32(0.0),
            water_level=f32(0.0),
            creeper_height=f32(0.0),
            creeper_spacing=f32(1.0),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """θ in [-1, 1]^3, water level in [0, 1], creepers TMA's [0, 4] m x [0, 5] m; dynamics.

        The dynamics bounds (``env.DYNAMICS_BOUNDS``, after the terrain's): gravity [5, 15]
        m/s², terrain friction [0.5, 5], motor strength [0.5, 1.5].
        """
        return {
            "max_steps": (1, INT32_MAX),
            "theta_1": THETA_BOUNDS,
            "theta_2": THETA_BOUNDS,
            "theta_3": THETA_BOUNDS,
            "water_level": WATER_BOUNDS,
            "creeper_height": CREEPER_HEIGHT_BOUNDS,
            "creeper_spacing": CREEPER_SPACING_BOUNDS,
            **DYNAMICS_BOUNDS,
        }

    def level_checks(self, level: ParkourTrack, xp: ModuleType) -> list[tuple[str, Any]]:
        """Finite values (the base's) and a creeper pitch of at least a creeper's width."""
        return [
            *super().level_checks(level, xp),
            (
                f".creeper_pitch >= the creeper width {CREEPER_WIDTH}",
                level.creeper_pitch >= CREEPER_WIDTH,
            ),
        ]

    def sample_level(self, key: PRNGKey, params: ParkourParams) -> ParkourTrack:
        """The track of the task ``params`` (creeper lengths drawn from ``key``)."""
        theta = jnp.stack([params.theta_1, params.theta_2, params.theta_3])
        theta = jnp.clip(theta, *THETA_BOUNDS)
        return parkour_track(
            key,
            theta,
            params.water_level,
            jnp.clip(params.creeper_height, *CREEPER_HEIGHT_BOUNDS),
            jnp.clip(params.creeper_spacing, *CREEPER_SPACING_BOUNDS),
            self.terrain_scale,
        )

    window = staticmethod(parkour_window)
    profile = staticmethod(parkour_profile)
    finish_x = FINISH_X
