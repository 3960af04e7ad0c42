"""Recipes: every id's recommended PPO settings, used by ``curriculax train`` unless a flag says
otherwise."""

from __future__ import annotations

import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig
from curriculax.cli import main
from curriculax.cli.main import build_parser
from curriculax.cli.training import config_from_args
from curriculax.recipes import recipe


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
