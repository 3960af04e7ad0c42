"""ALP-GMM and ADR train through the host loop on every family, checkpoints included."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.agents.runner import RunSpec, load_run, run_training
from curriculax.curricula import make_teacher

# (id, max_steps for speed, num_steps): each round is one 2-update round of a short episode.
FAMILIES = {
    "curriculax/Maze-v0": (32, 16),
    "curriculax/Parkour-v0": (32, 16),
    "curriculax/LoginUser-v0": (10, 8),
    "curriculax/Form-v0": (20, 10),
}
#: In the default suite: ALP-GMM on the family that compiles fastest (the rest `slow`; ADR's
#: rounds run in the default suite in the friction test below).
FAST = {("curriculax/Maze-v0", "alpgmm")}
CASES = [
    pytest.param(env_id, name, marks=() if (env_id, name) in FAST else pytest.mark.slow)
    for env_id in FAMILIES
    for name in ("alpgmm", "adr")
]


def _spec(env_id: str, name: str) -> RunSpec:
    max_steps, num_steps = FAMILIES[env_id]
    config = PPOConfig(
        total_timesteps=4 * num_steps * 4, num_envs=4, num_steps=num_steps, num_minibatches=2
    )
    return RunSpec(
        env_id,
        config,
        env_kwargs={"max_steps": max_steps},
        chunk_updates=1,
        curriculum=name,
    )


def _raw(x):
    return jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x


def _equal(a, b) -> bool:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return all(np.array_equal(np.asarray(_raw(x)), np.asarray(_raw(y))) for x, y in pairs)


@pytest.mark.parametrize(("env_id", "name"), CASES)
def test_parameter_teacher_runs_and_resumes_exactly(env_id, name, tmp_path):
    spec = _spec(env_id, name)
    whole, _ = run_training(spec, tmp_path / "whole", quiet=True, pictures=False)
    run_training(
        spec, tmp_path / "cut", quiet=True, stop_after_updates=1, pictures=False
    )  # mid-round
    _, _, saved, _ = load_run(tmp_path / "cut")
    assert int(saved.update[0]) == 1
    resumed, trainer = run_training(spec, tmp_path / "cut", quiet=True, pictures=False)
    assert _equal(whole.params, resumed.params)
    assert _equal(whole.curriculum, resumed.curriculum)
    # the teacher handed out per-env Params, and they are what the episodes ran under
    params = resumed.curriculum.batch.params
    assert params is not None
    for dim in trainer.teacher.space.names:
        values = np.asarray(getattr(params, dim))
        assert values.shape == (1, spec.config.num_envs)
        low, high = trainer.teacher.space.low, trainer.teacher.space.high
        i = trainer.teacher.space.names.index(dim)
        assert np.all((values >= low[i] - 1e-6) & (values <= high[i] + 1e-6))


def test_an_adr_round_over_friction_changes_the_episodes_it_trains_on():
    env, params = curriculax.make("curriculax/StumpTracks-v0", max_steps=32)
    low, high = env.param_bounds()["terrain_friction"]
    config = PPOConfig(total_timesteps=4 * 16 * 2, num_envs=4, num_steps=16, num_minibatches=2)
    teacher = make_teacher(
        "adr", env, params, dims=["terrain_friction"], initial=[low], boundary_prob=0.0
    )
    train = make_train(config, env, params, teacher=teacher)
    one_round = jax.jit(lambda r: train.run(r, 1, 0)[0])  # one program for both frictions
    start = jax.jit(train.init)(jax.random.key(0))

    def shrunk_to(unit: float):
        """``start`` with ADR's box shrunk to one point (unit cube) before the first round."""
        box = jnp.full_like(start.curriculum.teacher.bounds, unit)
        teacher_state = start.curriculum.teacher.replace(bounds=box)
        return start.replace(curriculum=start.curriculum.replace(teacher=teacher_state))

    slippery, grippy = one_round(shrunk_to(0.0)), one_round(shrunk_to(1.0))
    for runner, friction in ((slippery, low), (grippy, high)):
        np.testing.assert_allclose(runner.curriculum.batch.params.terrain_friction, friction)
    # same key, same tracks and same policy: only the friction the envs ran under differs
    assert _equal(slippery.curriculum.batch.levels, grippy.curriculum.batch.levels)
    assert not np.allclose(
        np.asarray(slippery.vec_state.env_state.body.q),
        np.asarray(grippy.vec_state.env_state.body.q),
    )
