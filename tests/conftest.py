"""Test-wide settings: CPU JAX, fast XLA compiles, a headless display for pygame."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The suite is compile-bound: most tests compile a program and run it briefly. XLA's backend at
# optimisation level 0 compiles about a third faster (measured on the PPO, generator and physics
# tests: 482 s -> 338 s) and runs the programs slower, which these tests do not notice. Set
# XLA_FLAGS yourself to test with XLA's defaults.
os.environ.setdefault(
    "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
