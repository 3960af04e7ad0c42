"""The ``curriculax`` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import curriculax
from curriculax.cli import main


def test_list_prints_every_registered_id():
    out = subprocess.run(
        [sys.executable, "-m", "curriculax", "list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == curriculax.registered_ids()


def test_list_miniwob_prints_the_bridges_and_what_each_mirrors(capsys):
    assert main(["list", "--miniwob"]) == 0
    lines = capsys.readouterr().out.splitlines()
    bridges = dict(
        re.fullmatch(r"(\S+)  MiniWoB\+\+'s page for (\S+) .*", x).groups() for x in lines
    )
    assert bridges == {
        f"curriculax/MiniWoB-{task}-v0": f"curriculax/{task}-v0"
        for task in (
            "EnterText",
            "EnterPassword",
            "LoginUser",
            "ClickOption",
            "ClickCheckboxes",
            "ChooseList",
            "BookFlight",
        )
    }


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


def test_train_eval_replay_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "Empty-5x5-v0", "--total-timesteps", "4096", "--num-envs", "16"]
    args += ["--num-steps", "64", "--set", "num_minibatches=2", "--out", str(out), "--quiet"]
    args += ["--chunk", "2", "--replay-episodes", "2", "--eval-levels", "5"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "4,096 steps x 1 seed(s)" in text
    assert "greedy on 5 fresh levels x 1 episode(s), per seed: success" in text
    report = json.loads((out / "eval.json").read_text())
    assert report["levels"] == 5 and report["greedy"] is True
    (seed,) = report["seeds"]
    assert 0.0 <= seed["solve_rate"] <= 1.0 and 1 <= seed["length_mean"] <= 100
    for name in (
        "metrics.csv",
        "checkpoint.ckpt",
        "learning_curve.png",
        "replay.npz",
        "replay.gif",
    ):
        assert (out / name).stat().st_size > 0, name
    assert main(["eval", str(out), "--levels", "3", "--episodes", "2"]) == 0
    assert "3 fresh levels x 2 episodes: solve rate" in capsys.readouterr().out
    assert main(["eval", str(out), "--env", "Empty-Random-5x5-v0", "--episodes", "2"]) == 0
    assert "curriculax/Empty-Random-5x5-v0: solve rate" in capsys.readouterr().out
    gif = tmp_path / "again.gif"
    assert main(["replay", str(out / "replay.npz"), "--out", str(gif)]) == 0
    assert gif.stat().st_size > 0


def test_train_rejects_bad_config_and_corrupt_checkpoint(tmp_path, capsys):
    assert main(["train", "Empty-5x5-v0", "--set", "gamma=2", "--out", str(tmp_path)]) == 2
    assert "gamma must be in [0, 1]" in capsys.readouterr().err
    (tmp_path / "checkpoint.ckpt").write_bytes(b"garbage")
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a curriculax checkpoint" in capsys.readouterr().err


def test_train_without_matplotlib_still_evaluates_and_replays(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "run"
    args = ["train", "Empty-5x5-v0", "--total-timesteps", "1024", "--num-envs", "8"]
    args += ["--num-steps", "64", "--set", "num_minibatches=2", "--out", str(out), "--quiet"]
    args += ["--replay-episodes", "1", "--eval-levels", "3"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "no learning curve" in text and "curriculax[train]" in text
    assert (out / "eval.json").exists() and (out / "replay.npz").exists()
    assert not (out / "learning_curve.png").exists()
