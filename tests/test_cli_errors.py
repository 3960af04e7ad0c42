"""Every ``curriculax`` failure is one line, ``curriculax: error: ...``, exit code 2, raised before
any work starts, leaving no stray files and changing nothing already saved."""

from __future__ import annotations

import json
import os

import pytest

import curriculax
from curriculax.agents import checkpoints
from curriculax.agents.ppo import PPOConfig
from curriculax.agents.runner import (
    CHECKPOINT,
    RunSpec,
    _program,
    _to_disk,
    build,
    seed_keys,
)
from curriculax.cli import main
from curriculax.cli.main import build_parser
from curriculax.cli.training import (
    config_from_args,
    curriculum_options_from_args,
    env_options_from_args,
)

SPEC = RunSpec(
    "curriculax/Empty-5x5-v0",
    PPOConfig(total_timesteps=64, num_envs=4, num_steps=16, num_minibatches=1, hidden_size=8),
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder whose checkpoint holds the initial state (nothing trained: cheap)."""
    folder = tmp_path_factory.mktemp("run")
    runner = _program(build(SPEC), "init")(seed_keys(SPEC))
    header = {"spec": SPEC.to_dict(), "update": 0, "curriculax": curriculax.__version__}
    checkpoints.save(folder / CHECKPOINT, _to_disk(runner), header)
    return folder


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(root, name), folder): open(
            os.path.join(root, name), "rb"
        ).read()
        for root, _, names in os.walk(folder)
        for name in names
    }


def fails(capsys, args: list[str], *needles: str) -> str:
    """Runs ``curriculax args``; asserts exit 2 and one error line holding every needle."""
    capsys.readouterr()
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("curriculax: error: "), lines[0]
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _train(*extra: str) -> list[str]:
    return ["train", "Empty-5x5-v0", "--out", "out", "--quiet", *extra]


def _config(*extra: str) -> PPOConfig:
    return config_from_args(build_parser().parse_args(["train", "Empty-5x5-v0", *extra]))


# ----------------------------------------------------------------- --set and --config


@pytest.mark.parametrize(
    ("text", "value"),
    [("false", False), ("False", False), ("FALSE", False), ("0", False), ("True", True)],
)
def test_set_reads_booleans_as_users_write_them(text, value):
    assert _config("--set", f"anneal_lr={text}").anneal_lr is value
    assert _config("--set", f"clip_value={text}", "--set", "anneal_lr=1").clip_value is value


@pytest.mark.parametrize("text", ["yes", "no", "2", "", "f", "None"])
def test_set_refuses_a_bool_field_given_anything_else(capsys, workdir, text):
    fails(capsys, _train("--set", f"anneal_lr={text}"), "--set anneal_lr takes a bool", "1 or 0")
    assert not (workdir / "out").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "ent_coef=NaN"], "PPOConfig.ent_coef must be finite"),
        (["--set", "learning_rate=Infinity"], "PPOConfig.learning_rate must be finite"),
        (["--learning-rate=-inf"], "PPOConfig.learning_rate must be finite"),
        (["--set", "gamma=nan"], "PPOConfig.gamma must be finite"),
        (["--set", "num_envs=1.5"], "--set num_envs takes an int"),
        (["--num-envs", "many"], "--num-envs takes an int"),
        (["--set", "pool_size=big"], "--set pool_size takes an int"),
        (["--set", "learning_rat=1e-3"], "unknown PPOConfig key 'learning_rat'"),
        (["--set", "num_envs"], "--set takes KEY=VALUE"),
        (["--recurrent", "rnn"], "PPOConfig.recurrent must be one of"),
    ],
)
def test_bad_config_values_are_one_line_errors_before_any_work(capsys, workdir, args, needle):
    fails(capsys, _train(*args), needle)
    assert not (workdir / "out").exists()


def test_set_parses_numbers_none_and_strs_by_the_field_type():
    config = _config("--set", "recurrent=none", "--set", "pool_size=null", "--set", "gamma=1")
    assert config.recurrent is None and config.pool_size is None and config.gamma == 1.0
    assert _config("--recurrent", "gru", "--set", "num_minibatches=2").recurrent == "gru"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"anneal_lr": "False"}, "PPOConfig.anneal_lr must be a bool"),
        ({"ent_coef": float("nan")}, "PPOConfig.ent_coef must be finite"),
        ({"num_envs": 8.0}, "PPOConfig.num_envs must be an int"),
        ([1, 2], "must hold a JSON object"),
    ],
)
def test_config_files_are_held_to_the_field_types(capsys, workdir, content, needle):
    (workdir / "c.json").write_text(json.dumps(content))
    fails(capsys, _train("--config", "c.json"), needle)
    assert not (workdir / "out").exists()


# ----------------------------------------------------------------- env and curriculum options


def test_env_options_are_parsed_by_the_env_types():
    parsed = env_options_from_args(
        "Empty-5x5-v0", ["view_size=5", "see_through_walls=TRUE", "observation=rgb", "max_steps=9"]
    )
    assert parsed == {
        "view_size": 5,
        "see_through_walls": True,
        "observation": "rgb",
        "max_steps": 9,
    }


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        ("see_through_walls=yes", "--env-option see_through_walls takes a bool"),
        ("view_size=big", "--env-option view_size takes an int"),
        ("view_size=5.5", "--env-option view_size takes an int"),
        ("max_steps=lots", "--env-option max_steps is a Params field: it takes JSON"),
        ("colour=red", "has no option 'colour'"),
    ],
)
def test_a_bad_env_option_is_an_error_never_a_string(capsys, workdir, option, needle):
    fails(capsys, _train("--env-option", option), needle)
    assert not (workdir / "out").exists()


def test_curriculum_options_are_parsed_by_the_teacher_types():
    parsed = curriculum_options_from_args(
        "plr", ["capacity=100", "dedupe=False", "replay_prob=1", "score=maxmc"]
    )
    assert parsed == {"capacity": 100, "dedupe": False, "replay_prob": 1.0, "score": "maxmc"}
    assert curriculum_options_from_args("sfl", ["eval_steps=none"]) == {"eval_steps": None}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--curriculum-option", "dedupe=yes"], "--curriculum-option dedupe takes a bool"),
        (["--curriculum-option", "capacity=true"], "--curriculum-option capacity takes an int"),
        (["--curriculum-option", "replay_prob=nan"], "PLR.replay_prob must be finite"),
        (["--curriculum-option", "buffer=3"], "has no options ['buffer']"),
        (["--curriculum-option", "capacity=0"], "PLR.capacity must be a positive int"),
    ],
)
def test_bad_curriculum_options_fail_before_the_run_folder_is_made(capsys, workdir, args, needle):
    fails(capsys, _train("--curriculum", "plr", *args), needle)
    assert not (workdir / "out").exists()


def test_a_curriculum_option_needs_a_curriculum(capsys, workdir):
    fails(capsys, _train("--curriculum-option", "capacity=3"), "needs --curriculum")


# ----------------------------------------------------------------- files: train, eval, replay


def test_train_refuses_an_out_that_is_a_file(capsys, workdir):
    (workdir / "out").write_text("mine")
    fails(capsys, _train(), "--out out is a file")
    assert (workdir / "out").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["eval", "nowhere"], "no checkpoint at nowhere"),
        (["eval", "{run}", "--agent", "1"], "--agent must be in [0, 1), got 1"),
        (["eval", "{run}", "--levels", "0"], "argument --levels: expected an int >= 1"),
        (["replay", "nowhere"], "no checkpoint at nowhere"),
        (["replay", "nowhere.npz"], "no replay at nowhere.npz"),
        (["replay", "{run}", "--agent", "2"], "--agent must be in [0, 1), got 2"),
        (["replay", "{run}", "--fps", "0"], "argument --fps: expected an int >= 1"),
        (["replay", "{run}", "--out", "missing/x.gif"], "--out's folder missing does not exist"),
        (["rollout", "Empty-5x5-v0", "--num-envs", "0"], "--num-envs: expected an int >= 1"),
        (["train"], "the following arguments are required: env_id"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_and_missing_files_are_one_line(capsys, workdir, run, args, needle):
    fails(capsys, [a.replace("{run}", str(run)) for a in args], needle)
    assert _snapshot(workdir) == {}


@pytest.mark.parametrize("out", ["x.txt", "noext", "x.npz", "x.GIFF"])
def test_replay_checks_the_output_format_first_and_lists_the_formats(
    capsys, workdir, run, monkeypatch, out
):
    def never(*args, **kwargs):
        raise AssertionError("the run was loaded before the format was checked")

    monkeypatch.setattr("curriculax.agents.runner.load_run", never)
    fails(capsys, ["replay", str(run), "--out", out], "cannot write a replay", ".gif", ".mp4")
    assert _snapshot(workdir) == {}  # no stray .npz


def test_replay_refuses_html_for_an_env_without_pages(capsys, workdir, run):
    fails(capsys, ["replay", str(run), "--out", "x.html"], "has no HTML export")
    assert _snapshot(workdir) == {}


@pytest.mark.parametrize("existing", ["clip.gif", "clip.npz"])
def test_replay_never_overwrites_an_existing_file(capsys, workdir, run, existing):
    (workdir / existing).write_bytes(b"saved before")
    before = _snapshot(workdir)
    fails(capsys, ["replay", str(run), "--out", "clip.gif"], f"{existing} exists", "--overwrite")
    assert _snapshot(workdir) == before


def test_a_failed_command_changes_nothing_in_the_run(capsys, run):
    before = _snapshot(run)
    fails(capsys, ["replay", str(run), "--out", str(run / "x.txt")], "cannot write a replay")
    fails(capsys, ["train", "Empty-5x5-v0", "--out", str(run), "--no-resume"], "exists")
    assert _snapshot(run) == before
