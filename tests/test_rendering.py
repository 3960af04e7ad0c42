"""Rendering through the gymnasium adapters: frames, the pygame window, the missing extra."""

from __future__ import annotations

import sys

import gymnasium
import numpy as np
import pytest

import curriculax  # noqa: F401


def test_rgb_array_frame_shows_the_grid_and_changes_when_the_agent_moves():
    env = gymnasium.make("curriculax/DoorKey-5x5-v0", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (5 * 32, 5 * 32, 3) and first.dtype == np.uint8
    env.step(1)  # turn: the agent's triangle and highlighted view change
    assert not np.array_equal(first, env.render())


def test_vector_env_renders_every_env():
    envs = gymnasium.make_vec("curriculax/Empty-6x6-v0", num_envs=3, render_mode="rgb_array")
    envs.reset(seed=0)
    assert envs.render().shape == (3, 6 * 32, 6 * 32, 3)


def test_human_mode_opens_a_window_on_reset_and_step():
    pytest.importorskip("pygame")
    env = gymnasium.make("curriculax/Empty-5x5-v0", render_mode="human")
    env.reset(seed=0)
    env.step(2)
    viewer = env.unwrapped._viewer
    assert viewer is not None and viewer.is_open
    env.close()
    assert env.unwrapped._viewer is None


def test_human_mode_without_pygame_names_the_render_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygame", None)
    env = gymnasium.make("curriculax/Empty-5x5-v0", render_mode="human")
    with pytest.raises(gymnasium.error.DependencyNotInstalled, match=r"curriculax\[render\]"):
        env.reset(seed=0)


def test_unknown_render_mode_is_rejected():
    with (
        pytest.warns(UserWarning, match="not in the possible render_modes"),
        pytest.raises(ValueError, match="render_mode must be one of"),
    ):
        gymnasium.make("curriculax/Empty-5x5-v0", render_mode="ansi")
