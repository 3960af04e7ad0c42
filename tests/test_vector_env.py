"""``gymnasium.make_vec``: one compiled call for N envs, SAME_STEP auto-reset honoured exactly."""

from __future__ import annotations

import subprocess
import sys

import gymnasium
import jax
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import curriculax  # noqa: F401
from curriculax.gym_adapters import GymnasiumVectorEnv


def test_make_vec_uses_the_native_vector_env_and_declares_same_step():
    envs = gymnasium.make_vec("curriculax/DoorKey-8x8-v0", num_envs=5)
    assert isinstance(envs.unwrapped, GymnasiumVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (5, 7, 7, 3) and envs.observation_space.contains(obs)


@pytest.mark.parametrize("level_mode", ["fresh", "replay"])
def test_matches_gymnasium_sync_vector_env_in_same_step_mode(level_mode):
    """Empty-5x5 always starts the same level, so every reset is comparable with the reference."""
    n, kwargs = 4, {"max_steps": 9}
    ours = gymnasium.make_vec(
        "curriculax/Empty-5x5-v0", num_envs=n, level_mode=level_mode, **kwargs
    )
    ref = SyncVectorEnv(
        [lambda: gymnasium.make("curriculax/Empty-5x5-v0", **kwargs) for _ in range(n)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    np.testing.assert_array_equal(ours.reset(seed=0)[0], ref.reset(seed=0)[0])
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(60):
        actions = rng.choice([0, 1, 2, 2, 2], size=n)
        mine, theirs = ours.step(actions), ref.step(actions)
        for a, b in zip(mine[:4], theirs[:4], strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        assert mine[4].keys() == theirs[4].keys()
        if theirs[4]:
            np.testing.assert_array_equal(mine[4]["_final_obs"], theirs[4]["_final_obs"])
            for a, b in zip(mine[4]["final_obs"], theirs[4]["final_obs"], strict=True):
                np.testing.assert_array_equal(a, b)
            ended += 1
    assert ended > 5


def test_each_step_returns_the_observation_of_the_state_each_env_is_now_in():
    """Fresh DoorKey levels all differ; 4-step episodes end often, so starts and refills count.

    The adapter composes the returned observations on the host (the stepped env's, or the first
    of the episode it restarted in): they must be the observations of the envs' states.
    """
    n = 6
    envs = gymnasium.make_vec("curriculax/DoorKey-8x8-v0", num_envs=n, max_steps=4)
    adapter = envs.unwrapped
    observe = jax.jit(jax.vmap(adapter.env.observe, (0, None)))
    obs, _ = envs.reset(seed=3)
    rng = np.random.default_rng(1)
    restarts = 0
    for _ in range(30):
        obs, _, terminated, truncated, _ = envs.step(rng.integers(0, 7, n))
        np.testing.assert_array_equal(obs, observe(adapter._state.env_state, adapter.params))
        restarts += int((terminated | truncated).sum())
    assert restarts >= 30


def test_reset_options_set_params_and_levels():
    envs = gymnasium.make_vec("curriculax/DoorKey-8x8-v0", num_envs=3, level_mode="replay")
    core = envs.unwrapped.env
    params = envs.unwrapped.params
    levels = jax.vmap(core.sample_level, (0, None))(jax.random.split(jax.random.key(4), 3), params)
    obs, _ = envs.reset(
        seed=1, options={"levels": jax.device_get(levels), "params": {"max_steps": 2}}
    )
    expected = jax.vmap(core.reset_to_level, (0, 0, None))(
        jax.random.split(jax.random.key(0), 3), levels, params
    )[0]
    np.testing.assert_array_equal(obs, expected)
    envs.step(np.zeros(3, int))
    obs, _, _, truncated, info = envs.step(np.zeros(3, int))  # max_steps=2: all truncate
    assert truncated.all() and info["_final_obs"].all()
    np.testing.assert_array_equal(obs, expected)  # replay mode: the same levels start again


def test_bad_actions_and_options_raise_clear_errors():
    envs = gymnasium.make_vec("curriculax/Empty-5x5-v0", num_envs=3)
    envs.reset(seed=0)
    for bad in (
        np.array([0, 1]),
        np.array([0, 1, 7]),
        np.array([[0, 1, 2]]),
        np.array([0.5, 1, 2]),
    ):
        with pytest.raises(ValueError, match="invalid actions"):
            envs.step(bad)
    with pytest.raises(ValueError, match="unknown reset options"):
        envs.reset(options={"level": None})
    with pytest.raises(ValueError, match="must hold 3 levels"):
        core = envs.unwrapped.env
        one = core.sample_level(jax.random.key(0), envs.unwrapped.params)
        envs.reset(options={"levels": jax.tree.map(lambda x: x[None], one)})


def test_single_env_rejects_bad_actions():
    env = gymnasium.make("curriculax/Empty-5x5-v0")
    env.reset(seed=0)
    for bad in (7, -1, np.array([1, 2]), 1.5, "2"):
        with pytest.raises(ValueError, match="invalid action"):
            env.unwrapped.step(bad)


# gymnasium's AsyncVectorEnv forks its workers (Linux's default) after making one env in the
# parent, so JAX has started: each worker's env runs in a fresh process (curriculax.spawned).
# Run in a subprocess with a timeout, so that a regression fails instead of hanging the suite.
_ASYNC_SCRIPT = """
import sys
import gymnasium, numpy as np
import curriculax
env_id = sys.argv[1]
envs = gymnasium.make_vec(env_id, num_envs=2, vectorization_mode="async")
obs, _ = envs.reset(seed=0)
for i in range(2):  # worker i was seeded with seed + i: the same first observation as one env
    np.testing.assert_array_equal(obs[i], gymnasium.make(env_id).reset(seed=i)[0])
envs.action_space.seed(0)
for _ in range(3):
    obs, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert obs.shape[0] == 2 and np.isfinite(reward).all()
envs.close()
print("async ok")
"""


@pytest.mark.parametrize(
    "env_id",
    [
        "curriculax/DoorKey-5x5-v0",
        # the same spawn path for the other families: three compiles each (two workers, the
        # parent), 20-35 s of the default suite's budget
        pytest.param("curriculax/StumpTracks-v0", marks=pytest.mark.slow),
        pytest.param("curriculax/EnterText-v0", marks=pytest.mark.slow),
    ],
)
def test_async_make_vec_resets_and_steps_with_default_arguments(env_id):
    result = subprocess.run(
        [sys.executable, "-c", _ASYNC_SCRIPT, env_id],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0 and "async ok" in result.stdout, result.stderr[-3000:]


def test_native_vector_env_in_a_process_forked_after_jax_refuses_at_once(monkeypatch):
    from curriculax import gym_adapters

    monkeypatch.setattr(gym_adapters, "_FORKED_AFTER_JAX", True)
    with pytest.raises(RuntimeError, match="'spawn' or 'forkserver'"):
        gymnasium.make_vec("curriculax/Empty-5x5-v0", num_envs=2)
