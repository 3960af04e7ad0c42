"""Formatting shared by the benchmark scripts: rates, median (min–max) spreads, table output."""

from __future__ import annotations

import statistics


def fmt(rate: float) -> str:
    """A steps/s figure as ``1.23M`` or ``45.6k``."""
    return f"{rate / 1e6:.2f}M" if rate >= 1e6 else f"{rate / 1e3:.1f}k"


def spread(values: list[float]) -> str:
    """``median (min–max)`` of rates."""
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def emit(lines: list[str], out: str | None) -> None:
    """Prints a Markdown block and, with ``out``, appends it to that file."""
    print("\n" + "\n".join(lines))
    if out:
        with open(out, "a") as f:
            f.write("\n" + "\n".join(lines) + "\n")
