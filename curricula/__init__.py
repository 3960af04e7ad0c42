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
paired     PAIRED (an adversary builds levels; reward: regret)      levels (editor)
========== ======================================================= ==================

See ``curriculax.curricula.base`` for the API they share.
"""

from __future__ import annotations

import importlib
from typing import Any

from curriculax.curricula.base import Batch, EpisodeStats, Teacher
from curriculax.curricula.rounds import episode_stats
from curriculax.env import Env
from curriculax.options import check, option_types
from curriculax.types import EnvParams

__all__ = [
    "TEACHERS",
    "Batch",
    "EpisodeStats",
    "Teacher",
    "episode_stats",
    "make_teacher",
    "teacher_options",
]

#: Teacher names and the ``module:class`` that implements each.
TEACHERS: dict[str, str] = {
    "dr": "dr:DomainRandomization",
    "plr": "plr:PLR",
    "robust_plr": "plr:RobustPLR",
    "accel": "plr:ACCEL",
    "sfl": "sfl:SFL",
    "alpgmm": "alpgmm:ALPGMM",
    "adr": "adr:ADR",
    "paired": "paired:PAIRED",
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


def teacher_options(name: str) -> dict[str, Any]:
    """The options ``make_teacher(name, ...)`` takes, each with its declared type.

    The types are the annotations of the teacher's ``__init__`` (and of the classes it forwards
    ``**kwargs`` to); ``--curriculum-option KEY=VALUE`` is parsed by them
    (``curriculax.options.parse``).

    Raises:
        ValueError: an unknown name.
    """
    found = option_types(teacher_class(name))
    return {k: v for k, v in found.items() if k not in ("env", "params")}


def make_teacher(name: str, env: Env, params: EnvParams | None = None, **options: Any) -> Teacher:
    """Builds the teacher called ``name`` for ``env`` with hyper-parameters ``options``.

    Each option is held to its declared type first (``teacher_options``; a bool option takes
    only ``True``/``False``, an int option no bool, a float option a finite number), then the
    teacher checks its ranges.

    Raises:
        ValueError: an unknown name or option, a value of the wrong type or out of range, or a
            task space the teacher cannot handle (e.g. ACCEL on an env without
            ``mutate_level``).
    """
    cls = teacher_class(name)
    accepted = teacher_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"curriculum {name!r} has no options {unknown}; it takes {sorted(accepted)}"
        )
    checked = {k: check(f"{cls.__name__}.{k}", v, accepted[k]) for k, v in options.items()}
    return cls(env, params, **checked)
