"""Automatic curricula (teachers) as pure functions over a pytree state.

``make_teacher(name, env, params, **options)`` builds one by name:

========== ======================================================= ==================
name       method                                                  task space
========== ======================================================= ==================
dr         domain randomisation (fresh levels from fixed Params)   levels
plr        Prioritized Level Replay                                levels
robust_plr Robust PLR (gradients on replayed levels only)          levels
accel      ACCEL (Robust PLR + edits of replayed levels)           levels (mutable)
sfl        Sampling For Learnability                               levels
alpgmm     ALP-GMM (absolute learning progress, Gaussian mixture)  continuous Params
adr        Automatic Domain Randomisation                          continuous Params
========== ======================================================= ==================

See ``curriculax.curricula.base`` for the API they share.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from curriculax.curricula.base import Batch, EpisodeStats, Teacher
from curriculax.curricula.rounds import episode_stats
from curriculax.env import Env
from curriculax.types import EnvParams

__all__ = ["TEACHERS", "Batch", "EpisodeStats", "Teacher", "episode_stats", "make_teacher"]

#: Teacher names and the ``module:class`` that implements each.
TEACHERS: dict[str, str] = {
    "dr": "dr:DomainRandomization",
    "plr": "plr:PLR",
    "robust_plr": "plr:RobustPLR",
    "accel": "plr:ACCEL",
    "sfl": "sfl:SFL",
    "alpgmm": "alpgmm:ALPGMM",
    "adr": "adr:ADR",
}


def teacher_class(name: str) -> type[Teacher]:
    """The class of the teacher called ``name``.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in TEACHERS:
        raise ValueError(f"unknown curriculum {name!r}; choose one of {sorted(TEACHERS)}")
    module, cls = TEACHERS[name].split(":")
    return getattr(importlib.import_module(f"curriculax.curricula.{module}"), cls)


def make_teacher(name: str, env: Env, params: EnvParams | None = None, **options: Any) -> Teacher:
    """Builds the teacher called ``name`` for ``env`` with hyper-parameters ``options``.

    Raises:
        ValueError: an unknown name or option, a bad value, or a task space the teacher cannot
            handle (e.g. ACCEL on an env without ``mutate_level``).
    """
    cls = teacher_class(name)
    accepted = _options_of(cls)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(
            f"curriculum {name!r} has no options {unknown}; it takes {sorted(accepted)}"
        )
    return cls(env, params, **options)


def _options_of(cls: type) -> set[str]:
    """Keyword options of ``cls`` and of the classes it forwards ``**kwargs`` to."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {
            p.name
            for p in parameters
            if p.kind is p.KEYWORD_ONLY
            or (p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "env", "params"))
        }
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return names
