"""Recipes: each registered id's recommended training settings, kept as data beside its family.

A family package (``curriculax.envs.grid``, ``.parkour``, ``.webform``) holds a ``recipes``
module with ``DEFAULT`` (a dict of ``PPOConfig`` fields for every id of the family) and ``BY_ID``
(full id -> fields, merged over ``DEFAULT``). Besides ``PPOConfig`` fields an id's entry may name
the setup around the agent (``SETUP_KEYS``): a ``curriculum`` (a teacher name), its
``curriculum_options``, and ``env_options`` (``--env-option`` values, e.g. Params fields). The
module is imported lazily, as the env modules are, so the core imports no family.
``curriculax train ENV`` starts from the recipe and any flag overrides a field; ``curriculax
recipes`` lists them.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from curriculax.registry import spec

#: Recipe keys that are not ``PPOConfig`` fields: the training setup around the agent.
SETUP_KEYS = ("curriculum", "curriculum_options", "env_options")


@dataclasses.dataclass(frozen=True)
class RecipeSetup:
    """What a recipe sets around the agent.

    Attributes:
        curriculum: a teacher name (``curriculax.curricula.TEACHERS``), or ``None``: the env's
            own level distribution.
        curriculum_options: the teacher's hyper-parameters.
        env_options: constructor options and Params fields of the env (``--env-option``).
    """

    curriculum: str | None = None
    curriculum_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    env_options: dict[str, Any] = dataclasses.field(default_factory=dict)


def _entry(env_id: str) -> dict[str, Any]:
    """The family's ``DEFAULT`` merged with the id's ``BY_ID`` entry (empty: no recipes)."""
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


def recipe(env_id: str) -> dict[str, Any]:
    """The recommended ``PPOConfig`` fields of ``env_id`` (a copy; empty: the defaults).

    Raises:
        curriculax.registry.UnknownEnvError: an unknown id.
    """
    return {k: v for k, v in _entry(env_id).items() if k not in SETUP_KEYS}


def recipe_setup(env_id: str) -> RecipeSetup:
    """The curriculum and env options ``env_id``'s recipe trains with (a copy).

    Raises:
        curriculax.registry.UnknownEnvError: an unknown id.
        ValueError: options without a curriculum.
    """
    entry = _entry(env_id)
    setup = RecipeSetup(
        curriculum=entry.get("curriculum"),
        curriculum_options=dict(entry.get("curriculum_options", {})),
        env_options=dict(entry.get("env_options", {})),
    )
    if setup.curriculum is None and setup.curriculum_options:
        raise ValueError(f"{env_id}'s recipe gives curriculum_options without a curriculum")
    return setup
