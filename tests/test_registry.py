"""The registry: lazy registration, clear errors, ``curriculax.make``."""

from __future__ import annotations

import subprocess
import sys

import gymnasium
import pytest

import curriculax
from curriculax.registry import UnknownEnvError

MINIGRID_NAMES = [
    "Empty-5x5-v0",
    "Empty-Random-5x5-v0",
    "Empty-6x6-v0",
    "Empty-Random-6x6-v0",
    "Empty-8x8-v0",
    "Empty-16x16-v0",
    "DoorKey-5x5-v0",
    "DoorKey-6x6-v0",
    "DoorKey-8x8-v0",
    "DoorKey-16x16-v0",
]


def test_import_registers_ids_without_importing_env_modules_or_jax():
    code = (
        "import sys, gymnasium, curriculax\n"
        "assert 'curriculax/DoorKey-8x8-v0' in gymnasium.registry\n"
        "loaded = [m for m in sys.modules if m.startswith('curriculax.envs')]\n"
        "assert not loaded, loaded\n"
        "assert 'jax' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_minigrid_names_are_registered_with_minigrid_step_limits():
    assert set(curriculax.registered_ids()) >= {f"curriculax/{n}" for n in MINIGRID_NAMES}
    for name in MINIGRID_NAMES:
        _, params = curriculax.make(name)
        size = int(name.split("-")[-2].split("x")[0])
        per_cell = 10 if name.startswith("DoorKey") else 4
        assert int(params.max_steps) == per_cell * size * size, name


def test_unknown_id_suggests_close_names():
    with pytest.raises(UnknownEnvError, match="Did you mean curriculax/DoorKey-8x8-v0"):
        curriculax.make("curriculax/DorKey-8x8-v0")
    with pytest.raises(gymnasium.error.Error):
        gymnasium.make("curriculax/DorKey-8x8-v0")


def test_make_routes_static_config_and_params():
    env, params = curriculax.make("DoorKey-16x16-v0", view_size=5, room_size=9, max_steps=33)
    assert env.view_size == 5 and env.size == 16
    assert int(params.room_size) == 9 and int(params.max_steps) == 33


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"view_size": 4}, "view_size must be odd"),
        ({"view_size": 1}, r"view_size must be odd, in \[3, 31\]"),
        ({"room_size": 17}, r"params.room_size=17 is outside its bounds \[5, 16\]"),
        ({"max_steps": 0}, "params.max_steps=0 is outside"),
        ({"colour": 3}, "has no option"),
    ],
)
def test_invalid_config_raises_before_tracing(kwargs, message):
    with pytest.raises(ValueError, match=message):
        curriculax.make("DoorKey-16x16-v0", **kwargs)
    with pytest.raises(ValueError, match=message):
        gymnasium.make("curriculax/DoorKey-16x16-v0", **kwargs)


def test_grid_too_small_for_the_layout_is_rejected():
    from curriculax.envs.grid.doorkey import DoorKey
    from curriculax.envs.grid.empty import Empty

    with pytest.raises(ValueError, match="DoorKey needs size >= 5"):
        DoorKey(size=4)
    with pytest.raises(ValueError, match="Empty needs size >= 4"):
        Empty(size=3)


def test_register_rejects_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        curriculax.register("DoorKey-8x8-v0", "curriculax.envs.grid.doorkey:DoorKey")
    with pytest.raises(ValueError, match="must look like"):
        curriculax.register("doorkey", "curriculax.envs.grid.doorkey:DoorKey")
