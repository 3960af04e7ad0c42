"""Recipes: each registered id's recommended PPO settings, kept as data beside its family.

A family package (``curriculax.envs.grid``, ``.parkour``, ``.webform``) holds a ``recipes``
module with ``DEFAULT`` (a dict of ``PPOConfig`` fields for every id of the family) and ``BY_ID``
(full id -> fields, merged over ``DEFAULT``). The module is imported lazily, as the env modules
are, so the core imports no family. ``curriculax train ENV`` starts from ``recipe(ENV)`` and any
flag overrides a field; ``curriculax recipes`` lists them.
"""

from __future__ import annotations

import importlib
from typing import Any

from curriculax.registry import spec


def recipe(env_id: str) -> dict[str, Any]:
    """The recommended ``PPOConfig`` fields of ``env_id`` (a copy; empty: the defaults).

    Raises:
        curriculax.registry.UnknownEnvError: an unknown id.
    """
    env_spec = spec(env_id)
    module = env_spec.entry_point.partition(":")[0]
    family = module.rpartition(".")[0]
    try:
        recipes = importlib.import_module(f"{family}.recipes")
    except ModuleNotFoundError as err:
        if err.name != f"{family}.recipes":
            raise
        return {}
    return {**recipes.DEFAULT, **recipes.BY_ID.get(env_spec.id, {})}
