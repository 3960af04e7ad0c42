"""TeachMyAgent's evaluation task sets, regenerated for our task spaces and shipped as JSON.

TMA evaluates a student every 500k steps on a fixed set of 100 tasks per embodiment and counts
the tasks it masters (return > 230). Its sets are vectors in its own task space (its CPPN's
θ, its water scale), which do not carry over to ours, so ours are drawn afresh, once, with the
same intent, and frozen in ``test_sets/*.json`` (``generate`` redraws them bit for bit):

* ``walking``: θ ~ U[-1, 1]^3, water ~ U[0, 0.15] (floods some dips of the ground, as TMA's
  walking tasks do), no creepers;
* ``climbing``: θ ~ U[-1, 1]^3, water ~ U[0, 0.15], creepers of length U[0, 4] m every
  U[0, 5] m;
* ``swimming``: θ ~ U[-1, 1]^3, water 1 (everything under water), no creepers;
* ``stump_tracks``: TMA's 10 x 10 grid over stump height [0, 3] x spacing [0, 6].
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jax.numpy as jnp
import numpy as np

#: Task-set names: the Parkour ones, then Stump Tracks'.
PARKOUR_SETS = ("walking", "climbing", "swimming")
NAMES = (*PARKOUR_SETS, "stump_tracks")
SIZE = 100
SEED = 2021


def generate(name: str) -> dict[str, list[float]]:
    """Draws the task set ``name``: a dict of Params field -> [SIZE] values."""
    if name not in NAMES:
        raise ValueError(f"unknown task set {name!r}; known sets: {NAMES}")
    if name == "stump_tracks":
        height, spacing = np.meshgrid(np.linspace(0, 3, 10), np.linspace(0, 6, 10), indexing="ij")
        return {
            "stump_height": height.ravel().tolist(),
            "obstacle_spacing": spacing.ravel().tolist(),
        }
    rng = np.random.default_rng([SEED, NAMES.index(name)])
    theta = rng.uniform(-1.0, 1.0, (SIZE, 3))
    tasks = {f"theta_{i + 1}": theta[:, i] for i in range(3)}
    zeros = np.zeros(SIZE)
    if name == "swimming":
        tasks["water_level"] = np.ones(SIZE)
    else:
        tasks["water_level"] = rng.uniform(0.0, 0.15, SIZE)
    if name == "climbing":
        tasks["creeper_height"] = rng.uniform(0.0, 4.0, SIZE)
        tasks["creeper_spacing"] = rng.uniform(0.0, 5.0, SIZE)
    else:
        tasks["creeper_height"], tasks["creeper_spacing"] = zeros, zeros + 1.0
    return {k: np.round(v, 6).tolist() for k, v in tasks.items()}


def load(name: str) -> dict[str, list[float]]:
    """The shipped task set ``name`` (field -> [SIZE] values)."""
    if name not in NAMES:
        raise ValueError(f"unknown task set {name!r}; known sets: {NAMES}")
    text = resources.files("curriculax.envs.parkour").joinpath(f"test_sets/{name}.json")
    return json.loads(text.read_text())


def as_params(env: Any, name: str) -> Any:
    """The task set ``name`` as ``env``'s Params with leaves [SIZE] (other fields: defaults).

    Raises:
        ValueError: an unknown set, or a set for another env (its fields are not ``env``'s).
    """
    tasks = load(name)
    defaults = env.default_params()
    fields = set(defaults.__dataclass_fields__)
    if not set(tasks) <= fields:
        raise ValueError(
            f"task set {name!r} sets {sorted(set(tasks) - fields)}, which "
            f"{type(env).__name__} does not have"
        )
    count = len(next(iter(tasks.values())))
    batched = {
        field: jnp.broadcast_to(jnp.asarray(getattr(defaults, field)), (count,)) for field in fields
    }
    for field, values in tasks.items():
        batched[field] = jnp.asarray(values, jnp.asarray(getattr(defaults, field)).dtype)
    params = type(defaults)(**batched)
    env.validate_params(params)
    return params
