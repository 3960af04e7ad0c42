"""Which registered ids a per-id check runs on in the default suite, and which only in ``slow``."""

from __future__ import annotations

import pytest

import curriculax


def first_id_per_class(ids: list[str]) -> list[str]:
    """One id per env class, the shortest (``Parkour-v0`` rather than ``Parkour-Climber-v0``)."""
    seen, firsts = set(), []
    for env_id in sorted(ids, key=lambda i: (len(i), i)):
        entry = curriculax.spec(env_id).entry_point
        if entry not in seen:
            seen.add(entry)
            firsts.append(env_id)
    return firsts


def one_per_class_by_default(ids: list[str]) -> list:
    """``ids`` as pytest params: each class's first id in the default suite, the rest ``slow``."""
    firsts = first_id_per_class(ids)
    return [pytest.param(i, marks=() if i in firsts else pytest.mark.slow) for i in ids]
