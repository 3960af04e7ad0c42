"""The ``curriculax`` command."""

from __future__ import annotations

import subprocess
import sys

import curriculax
from curriculax.cli import main


def test_list_prints_every_registered_id():
    out = subprocess.run(
        [sys.executable, "-m", "curriculax", "list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == curriculax.registered_ids()


def test_rollout_reports_steps_per_second(capsys):
    assert (
        main(["rollout", "Empty-5x5-v0", "--num-envs", "4", "--steps", "16", "--repeats", "2"]) == 0
    )
    out = capsys.readouterr().out
    assert "steps/s" in out and "4 envs x 16 steps x 2 rollouts" in out


def test_unknown_id_is_a_clear_error_with_exit_code_2(capsys):
    assert main(["rollout", "DorKey-8x8-v0"]) == 2
    err = capsys.readouterr().err
    assert "unknown environment id" in err and "curriculax/DoorKey-8x8-v0" in err
