"""Base pytrees shared by every environment: episode state and task-distribution parameters."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

PRNGKey = jax.Array
Array = jax.Array
#: Any pytree of arrays: an env's ``Level``, an observation, an ``info`` dict.
PyTree = Any


@struct.dataclass
class EnvState:
    """Fields every env state has; each env subclasses it with its own.

    Attributes:
        time: int32 [], steps taken in the episode, counting the step being taken.
    """

    time: Array


@struct.dataclass
class EnvParams:
    """Fields every env's ``Params`` has; each env subclasses it with its task knobs.

    ``Params`` describe a distribution of tasks and are traced: one compiled program serves every
    value, and under ``vmap`` each env may have its own.

    Attributes:
        max_steps: int32 [], episode length after which ``truncated`` is set.
    """

    max_steps: Array
