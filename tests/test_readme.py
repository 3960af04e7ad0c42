"""The README's main job, read from README.md itself: its flags work (default suite) and its
figure holds on 5 of 5 seeds (slow)."""

from __future__ import annotations

import csv
import math
import pathlib
import re
import shlex

import pytest

from curriculax.cli import main

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def main_job() -> list[str]:
    """The arguments of the quickstart's ``curriculax train ...`` (the first bash block)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    line = next(b for b in blocks if "curriculax train" in b)
    command = line.split("&&")[-1].strip()
    argv = shlex.split(command)
    assert argv[:2] == ["curriculax", "train"], command
    return argv[1:]


def last_update_by_seed(folder: pathlib.Path) -> dict[int, dict[str, float]]:
    with (folder / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["update"]) for r in rows)
    return {
        int(r["seed"]): {k: float(v) for k, v in r.items()}
        for r in rows
        if int(r["update"]) == last
    }


def test_the_main_job_runs_as_written_for_two_rounds(tmp_path, capsys):
    argv = main_job()
    assert "--curriculum" in argv
    # the README's own flags, then a short run into a temporary folder (later flags win)
    out = tmp_path / "quickstart"
    argv += ["--total-timesteps", str(2 * 2 * 32 * 128), "--out", str(out)]
    argv += ["--replay-episodes", "1", "--quiet"]
    assert main(argv) == 0
    for name in ("metrics.csv", "checkpoint.ckpt", "learning_curve.png", "replay.gif"):
        assert (out / name).stat().st_size > 0, name
    (row,) = last_update_by_seed(out).values()
    assert "curriculum/replay_share" in row
    with (out / "metrics.csv").open() as f:  # every logged metric is a finite number
        assert all(math.isfinite(float(v)) for r in csv.DictReader(f) for v in r.values())


@pytest.mark.slow  # ~2 min on 2 cores: the whole main job, 5 seeds in one vmapped program
def test_the_main_job_reaches_its_figure_on_five_of_five_seeds(tmp_path):
    out = tmp_path / "quickstart"
    argv = [*main_job(), "--seeds", "5", "--out", str(out), "--quiet", "--replay-episodes", "0"]
    assert main(argv) == 0
    final = last_update_by_seed(out)
    assert len(final) == 5
    for seed, row in final.items():
        assert row["return_mean"] >= 0.9, (seed, row["return_mean"])
        assert row["curriculum/replay_share"] > 0, seed  # PLR replays: it is not DR
