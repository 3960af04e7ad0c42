"""Every registered id, with its env class named as a string (nothing is imported here)."""

from __future__ import annotations

from curriculax.registry import register

_GRID = "curriculax.envs.grid"

# MiniGrid's sizes and names: ``MiniGrid-X-v0`` is ``curriculax/X-v0``.
for _size in (5, 6, 8, 16):
    register(f"Empty-{_size}x{_size}-v0", f"{_GRID}.empty:Empty", size=_size)
for _size in (5, 6):
    register(
        f"Empty-Random-{_size}x{_size}-v0", f"{_GRID}.empty:Empty", size=_size, random_start=True
    )
for _size in (5, 6, 8, 16):
    register(f"DoorKey-{_size}x{_size}-v0", f"{_GRID}.doorkey:DoorKey", size=_size)
