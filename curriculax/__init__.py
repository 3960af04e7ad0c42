"""curriculax: procedurally generated, JAX-vectorized RL environments with automatic curricula.

``import curriculax`` registers every ``curriculax/<Name>-v<N>`` id with gymnasium and imports
no environment module (nor JAX): those load when an id is made.

>>> import curriculax
>>> env, params = curriculax.make("curriculax/DoorKey-8x8-v0")
"""

from __future__ import annotations

import importlib
from typing import Any

from curriculax import registrations as _registrations  # noqa: F401  (registers the ids)
from curriculax.registry import UnknownEnvError, make, register, registered_ids, spec

__version__ = "0.1.0"

_LAZY = {
    "Env": "curriculax.env",
    "EnvParams": "curriculax.types",
    "EnvState": "curriculax.types",
    "AutoResetVecEnv": "curriculax.autoreset",
    "VecState": "curriculax.autoreset",
    "checked": "curriculax.env",
}

__all__ = [
    "UnknownEnvError",
    "make",
    "register",
    "registered_ids",
    "spec",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    """Imports the JAX-backed core names on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'curriculax' has no attribute {name!r}")
