"""The machine line every benchmark prints: CPU, cores, Python, JAX backend, package versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Sequence

import jax


def version(package: str) -> str:
    """The installed version of ``package``, or "not installed"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe_machine(packages: Sequence[str] = ("gymnasium",)) -> str:
    """CPU model, logical cores, Python and JAX versions, JAX's platform, and ``packages``."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        + ", ".join(f"{p} {version(p)}" for p in packages)
    )
