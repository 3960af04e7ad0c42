"""Measures our Parkour CPPN's task space and draws sampled tracks (docs/environments.md).

Usage: ``python docs/parkour_terrains.py``. Prints difficulty statistics of the tracks over
θ ~ U[-1, 1]^3 at the default terrain scale (``terrain.TERRAIN_SCALE``): height range, steepest
segment, lowest ceiling clearance, share of tracks whose ceiling comes lower than a standing
walker's top somewhere (it must crouch or is blocked), and the same along each θ axis; and
writes ``docs/images/parkour-terrains.png``: 12 whole tracks, ground green, ceiling brown.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import jax
import jax.numpy as jnp
import numpy as np

from curriculax.envs.parkour import terrain

OUT = Path(__file__).parent / "images" / "parkour-terrains.png"
#: A standing old_classic_bipedal's top: hull origin 2.53 m + 0.3 m of hull.
WALKER_HEIGHT = 2.83


def stats(theta: np.ndarray) -> dict[str, np.ndarray]:
    """Per-track difficulty of tracks with CPPN inputs ``theta`` [n, 3] (dry, no creepers)."""
    n = theta.shape[0]
    make = jax.jit(jax.vmap(terrain.parkour_track))
    tracks = make(
        jax.random.split(jax.random.key(0), n),
        jnp.asarray(theta),
        *(jnp.zeros(n),) * 2,
        jnp.ones(n),
    )
    ground = np.asarray(tracks.ground_y)[:, terrain.PAD_SEGMENTS :]
    ceiling = np.asarray(tracks.ceiling_y)[:, terrain.PAD_SEGMENTS :]
    gap = ceiling - ground
    return {
        "height range (m)": np.ptp(ground, axis=1),
        "steepest slope": np.abs(np.diff(ground, axis=1)).max(axis=1) / terrain.SEGMENT,
        "lowest clearance (m)": gap.min(axis=1),
        "low ceiling": (gap < WALKER_HEIGHT).any(axis=1).astype(float),
    }


def picture(theta: np.ndarray, width: int = 660, height: int = 90) -> np.ndarray:
    """Whole tracks stacked vertically: uint8 [len(theta) * height, width, 3]."""
    rows = []
    xs = np.linspace(0.0, terrain.SEGMENT * (terrain.NUM_KNOTS - 1), width)
    knots = terrain.SEGMENT * np.arange(terrain.NUM_KNOTS)
    for th in theta:
        track = terrain.parkour_track(jax.random.key(0), jnp.asarray(th), 0.0, 0.0, 1.0)
        ground = np.interp(xs, knots, np.asarray(track.ground_y))
        ceiling = np.interp(xs, knots, np.asarray(track.ceiling_y))
        ys = np.linspace(terrain.PAD_Y + 16.0, terrain.PAD_Y - 12.0, height)[:, None]
        row = np.full((height, width, 3), (230, 230, 255), np.uint8)
        row[np.broadcast_to(ys >= ceiling, row.shape[:2])] = (90, 80, 70)
        row[np.broadcast_to(ys <= ground, row.shape[:2])] = (102, 153, 77)
        row[-2:] = 255
        rows.append(row)
    return np.concatenate(rows)


def main() -> None:
    """Prints the statistics tables and writes the picture."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1.0, 1.0, (2000, 3))
    table = stats(theta)
    print("| over θ ~ U[-1,1]^3 (2000 tracks) | p5 | p25 | median | p75 | p95 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, values in table.items():
        if name == "low ceiling":
            print(f"| share with a ceiling below {WALKER_HEIGHT} m | {values.mean():.2f} |||||")
            continue
        q = np.percentile(values, [5, 25, 50, 75, 95])
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in q) + " |")
    print()
    print("| θ axis (others U[-1,1]) | median steepest slope | median range (m) | low ceiling |")
    print("| --- | --- | --- | --- |")
    for axis in range(3):
        for value in (-1.0, 0.0, 1.0):
            th = rng.uniform(-1.0, 1.0, (400, 3))
            th[:, axis] = value
            s = stats(th)
            print(
                f"| θ{axis + 1} = {value:+.0f} | {np.median(s['steepest slope']):.2f} | "
                f"{np.median(s['height range (m)']):.2f} | {s['low ceiling'].mean():.2f} |"
            )
    OUT.parent.mkdir(exist_ok=True)
    iio.imwrite(OUT, picture(rng.uniform(-1.0, 1.0, (12, 3))))
    print(OUT)


if __name__ == "__main__":
    main()
