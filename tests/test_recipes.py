"""Recipes: every id's recommended PPO settings, used by ``curriculax train`` unless a flag says
otherwise."""

from __future__ import annotations

import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig
from curriculax.cli import main
from curriculax.cli.main import build_parser
from curriculax.cli.training import config_from_args, setup_from_args
from curriculax.recipes import recipe, recipe_setup


@pytest.mark.parametrize("env_id", curriculax.registered_ids())
def test_every_recipe_is_a_valid_config(env_id):
    PPOConfig.from_dict(recipe(env_id))


def test_train_starts_from_the_recipe_and_any_flag_overrides_it():
    parse = build_parser().parse_args
    walker = recipe("curriculax/StumpTracks-v0")
    assert walker["reward_scale"] != PPOConfig().reward_scale  # a recipe that differs
    config = config_from_args(parse(["train", "StumpTracks-v0"]))
    assert config == PPOConfig.from_dict(walker)
    config = config_from_args(
        parse(["train", "StumpTracks-v0", "--num-envs", "16", "--set", "reward_scale=1.0"])
    )
    assert config == PPOConfig.from_dict({**walker, "num_envs": 16, "reward_scale": 1.0})


def test_recipes_command_lists_every_id(capsys):
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == curriculax.registered_ids()
    assert main(["recipes", "DoorKey-8x8-v0"]) == 0
    assert "ent_coef=0.03" in capsys.readouterr().out


@pytest.mark.parametrize("env_id", curriculax.registered_ids())
def test_every_recipe_setup_names_a_teacher_and_options_that_exist(env_id):
    from curriculax.curricula import TEACHERS, teacher_options
    from curriculax.options import option_types

    setup = recipe_setup(env_id)
    if setup.curriculum is not None:
        assert setup.curriculum in TEACHERS
        assert set(setup.curriculum_options) <= set(teacher_options(setup.curriculum))
    env, params = curriculax.make(env_id, **setup.env_options)  # unknown options fail here
    for key, value in setup.env_options.items():
        if key not in option_types(type(env)):
            assert float(getattr(params, key)) == value


@pytest.fixture
def web_recipe_with_a_curriculum(monkeypatch):
    """LoginUser's recipe trains with ADR over ``prefill`` and ``shaping`` 0.5 (for the test)."""
    from curriculax.envs.webform import recipes as web

    entry = {
        "curriculum": "adr",
        "curriculum_options": {"dims": ["prefill"], "initial": [1.0]},
        "env_options": {"shaping": 0.5},
    }
    monkeypatch.setitem(web.BY_ID, "curriculax/LoginUser-v0", entry)


def _setup(*extra: str):
    return setup_from_args(build_parser().parse_args(["train", "LoginUser-v0", *extra]))


def test_train_takes_the_recipes_curriculum_and_env_options(web_recipe_with_a_curriculum):
    assert "curriculum" not in recipe("curriculax/LoginUser-v0")  # not a PPOConfig field
    assert _setup() == ({"shaping": 0.5}, "adr", {"dims": ["prefill"], "initial": [1.0]})


def test_flags_override_the_recipes_setup_key_by_key(web_recipe_with_a_curriculum):
    env, name, options = _setup(
        "--env-option", "shaping=1.0", "--env-option", "prefill=0.5",
        "--curriculum-option", "step_size=0.2",
    )  # fmt: skip
    assert env == {"shaping": 1.0, "prefill": 0.5}
    assert (name, options) == ("adr", {"dims": ["prefill"], "initial": [1.0], "step_size": 0.2})
    # the same teacher named again keeps the recipe's options
    assert _setup("--curriculum", "adr")[1:] == ("adr", {"dims": ["prefill"], "initial": [1.0]})


def test_another_or_no_curriculum_drops_the_recipes_options(web_recipe_with_a_curriculum):
    assert _setup("--curriculum", "plr")[1:] == ("plr", {})
    assert _setup("--curriculum", "none")[1:] == (None, {})
    with pytest.raises(ValueError, match="needs --curriculum"):
        _setup("--curriculum", "none", "--curriculum-option", "step_size=0.2")


def test_recipes_command_lists_the_curriculum_and_env_options(web_recipe_with_a_curriculum, capsys):
    assert main(["recipes", "LoginUser-v0"]) == 0
    line = capsys.readouterr().out
    assert "; curriculum adr, dims=['prefill'], initial=[1.0]; env options shaping=0.5" in line
