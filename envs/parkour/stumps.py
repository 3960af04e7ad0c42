"""Stump Tracks: TeachMyAgent's walker test bed, stumps of a mean height at a fixed spacing."""

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
)
from curriculax.envs.parkour.terrain import (
    SEGMENT,
    STUMP_WIDTH,
    TRACK_SEGMENTS,
    StumpTrack,
    stump_profile,
    stump_track,
    stump_window,
)
from curriculax.types import Array, PRNGKey

#: TMA's task space: mean stump height in segments, spacing in m.
STUMP_HEIGHT_BOUNDS = (0.0, 3.0)
SPACING_BOUNDS = (0.0, 6.0)
#: TMA's Stump Tracks end 10 segments before the end of the track.
FINISH_X = (TRACK_SEGMENTS - 10) * SEGMENT


@struct.dataclass
class StumpTracksParams(ParkourDynamicsParams):
    """One Stump Tracks task.

    Attributes:
        max_steps: int32 [], episode cap (TMA: 2000).
        gravity, terrain_friction, motor_strength: the dynamics (``ParkourDynamicsParams``).
        stump_height: float32 [], mean stump height in segments of 14/30 m (std 0.1).
        obstacle_spacing: float32 [], ground between stumps, m (clipped to >= 0.01).
        roughness: float32 [], TMA's ground roughness (0: flat); bounded by ``max_roughness``.
    """

    stump_height: Array
    obstacle_spacing: Array
    roughness: Array


class StumpTracks(ParkourEnvBase[StumpTracksParams]):
    """TeachMyAgent's Stump Tracks: the walker crosses 84 m of stumps; a hull contact ends it.

    Registered as ``curriculax/StumpTracks-v0``. The task space is TMA's 2-D one (stump height,
    spacing); ``max_roughness > 0`` adds the optional roughness dimension.

    Args:
        body: the embodiment (``EMBODIMENTS``).
        max_roughness: upper bound of ``roughness`` (0: the dimension is fixed at 0).
        fall_penalty: a fall's reward is minus this (TMA: 100; see ``ParkourEnvBase``).
    """

    def __init__(
        self,
        body: str = "old_classic_bipedal",
        max_roughness: float = 0.0,
        fall_penalty: float = -FALL_REWARD,
    ) -> None:
        super().__init__(body, hull_critical=True, water_flags=False, fall_penalty=fall_penalty)
        if self._spec.kind != "walker":
            raise ValueError(
                f"Stump Tracks has neither ceiling nor water: it needs a walker, not the "
                f"{self._spec.kind} {body!r}"
            )
        if not max_roughness >= 0.0:
            raise ValueError(f"max_roughness must be >= 0, got {max_roughness}")
        self.max_roughness = float(max_roughness)

    def default_params(self) -> StumpTracksParams:
        """TMA's easiest corner: the lowest stumps, 6 m apart, flat ground; TMA's dynamics."""
        return StumpTracksParams(
            max_steps=jnp.int32(MAX_STEPS),
            **default_dynamics(),
            stump_height=jnp.float32(0.0),
            obstacle_spacing=jnp.float32(6.0),
            roughness=jnp.float32(0.0),
        )

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        """Height [0, 3] segments, spacing [0, 6] m (TMA's), roughness [0, max_roughness].

        Then the dynamics (``env.DYNAMICS_BOUNDS``): gravity [5, 15] m/s², terrain friction
        [0.5, 5], motor strength [0.5, 1.5].
        """
        return {
            "max_steps": (1, INT32_MAX),
            "stump_height": STUMP_HEIGHT_BOUNDS,
            "obstacle_spacing": SPACING_BOUNDS,
            "roughness": (0.0, self.max_roughness),
            **DYNAMICS_BOUNDS,
        }

    def level_checks(self, level: StumpTrack, xp: ModuleType) -> list[tuple[str, Any]]:
        """Finite values (the base's), a pitch of at least a stump's width, heights >= 0."""
        return [
            *super().level_checks(level, xp),
            (f".pitch >= the stump width {STUMP_WIDTH}", level.pitch >= STUMP_WIDTH),
            (".height >= 0", level.height >= 0.0),
        ]

    def sample_level(self, key: PRNGKey, params: StumpTracksParams) -> StumpTrack:
        """Stump heights (and the ground's roughness) drawn from ``key``."""
        return stump_track(
            key,
            jnp.clip(params.stump_height, *STUMP_HEIGHT_BOUNDS),
            jnp.clip(params.obstacle_spacing, *SPACING_BOUNDS),
            jnp.clip(params.roughness, 0.0, self.max_roughness),
        )

    window = staticmethod(stump_window)
    profile = staticmethod(stump_profile)
    finish_x = FINISH_X
