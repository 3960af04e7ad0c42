"""Every task dimension a teacher may move reaches the episode, for every registered id.

DESIGN.md: "a task dimension either shapes the level or travels with it as per-env Params into
the transition. A knob that changes nothing is a bug." For each id and each default
``ParamSpace`` dimension, the dimension is set to its low and to its high bound (every other
field at the id's params), and:

- the levels drawn with the same keys must differ for at least one of ``KEYS`` keys, or else
- from the same level, reset and ``STEPS`` steps of the same random actions
  (``reset_to_level`` and ``step`` under each Params) must differ somewhere: observation,
  reward, flags or state.

A knob may matter only beside another (a reward-shaping weight only once some progress is
made, which random actions on BookFlight do not make; friction only where a swimmer lies on
the ground, with the water low), so a dimension that shows nothing is tried again with the
other dimensions at their high bounds, then at their low bounds. One that shows nothing in
any of the three fails, named with its id (``test_a_knob_that_reaches_nothing_is_caught``
checks that the check fails on such a knob). Ids without any adaptable dimension
are skipped, after checking that ``ParamSpace`` and the parameter teachers refuse them with
the one-line reason. The programs are compiled once per env configuration (ids that differ only in
params share them); reset and step only for an env with a dimension the levels do not show.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from flax import struct
from id_tiers import one_per_class_by_default

import curriculax
from curriculax.curricula import make_teacher
from curriculax.curricula.param_space import ParamSpace
from curriculax.envs.grid.empty import Empty, EmptyParams
from curriculax.types import Array

IDS = curriculax.registered_ids()


#: Every env class in the default suite, every id in the slow one (each web-form id compiles
#: its own form, ~6 s each).
CHECKED_IDS = one_per_class_by_default(IDS)
#: Level keys per setting, and steps of fixed random actions from the shared level.
KEYS, STEPS = 4, 48


@functools.cache
def _compiled(env):
    """``sample_level``, ``reset_to_level`` and ``step`` of ``env``, jitted one env at a time.

    Unbatched programs compile faster than vmapped ones (the parkour's step: about half the
    time), and the few calls made here cost nothing next to a compile. Ids whose envs are equal
    (they differ only in params) share the programs.
    """
    return jax.jit(env.sample_level), jax.jit(env.reset_to_level), jax.jit(env.step)


def _same(a, b):
    """Whether two pytrees of arrays are equal leaf by leaf (NaN equal to NaN)."""
    a, b = jax.device_get((a, b))
    return all(
        np.array_equal(x, y, equal_nan=np.asarray(x).dtype.kind == "f")
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def _rollout(env, level, params, key):
    """The reset from ``level`` and ``STEPS`` steps of actions drawn from ``key``, as arrays."""
    _, reset, step = _compiled(env)
    reset_key, action_key, steps_key = jax.random.split(key, 3)
    obs, state = reset(reset_key, level, params)
    actions = env.action_space(params).sample(action_key, (STEPS,))
    trace = [obs, state]
    for step_key, action in zip(jax.random.split(steps_key, STEPS), actions, strict=True):
        obs, state, reward, terminated, truncated, _ = step(step_key, state, action, params)
        trace += [obs, state, reward, terminated, truncated]
    return trace


def _space(env, params):
    try:
        return ParamSpace(env, params)
    except ValueError as error:
        assert "no curriculum-adaptable" in str(error), error
        return None


@pytest.mark.parametrize("env_id", CHECKED_IDS)
def test_every_task_dimension_reaches_the_episode(env_id):
    env, params = curriculax.make(env_id)
    space = _space(env, params)
    if space is None:
        for name in ("adr", "alpgmm"):
            with pytest.raises(ValueError, match="no curriculum-adaptable") as refusal:
                make_teacher(name, env, params)
            assert "\n" not in str(refusal.value)
        pytest.skip(f"{env_id} has no adaptable task dimension (the teachers refuse it)")
    for name in ("adr", "alpgmm"):
        assert make_teacher(name, env, params).space.names == space.names

    # The other dimensions at the id's params, then (for what showed nothing) at their high
    # bounds, then at their low bounds.
    here = np.asarray([float(getattr(params, n)) for n in space.names], np.float32)
    dead = list(range(space.dim))
    for context in (here, space.high, space.low):
        dead = [i for i in dead if not _reaches(env, space, context, i)]
    assert not dead, (
        f"{env_id}: moving {[space.names[i] for i in dead]} from low to high changes neither "
        f"the levels ({KEYS} keys) nor reset and {STEPS} steps of fixed actions from one level, "
        f"with the other dimensions at the id's params, at their high or at their low bounds; "
        f"box: {space}"
    )


def _reaches(env, space, context, dim):
    """Whether ``dim`` at its low vs its high bound (the others at ``context``) shows."""
    low, high = (
        space.to_params(np.where(np.arange(space.dim) == dim, bound, context).astype(np.float32))
        for bound in (space.low[dim], space.high[dim])
    )
    sample, _, _ = _compiled(env)
    keys = jax.random.split(jax.random.key(0), KEYS)
    levels = [sample(key, low) for key in keys]
    if any(not _same(level, sample(key, high)) for key, level in zip(keys, levels, strict=True)):
        return True
    return any(
        not _same(_rollout(env, level, low, key), _rollout(env, level, high, key))
        for key, level in zip(keys, levels, strict=True)
    )


@struct.dataclass
class _DeadKnobParams(EmptyParams):
    dead: Array


class _DeadKnobEmpty(Empty):
    """Empty with a bounded Params field that nothing reads: the bug this file catches."""

    def default_params(self) -> _DeadKnobParams:
        return _DeadKnobParams(**vars(super().default_params()), dead=np.float32(0.5))

    def param_bounds(self) -> dict[str, tuple[float, float]]:
        return {**super().param_bounds(), "dead": (0.0, 1.0)}


def test_a_knob_that_reaches_nothing_is_caught():
    env = _DeadKnobEmpty(size=6)
    space = ParamSpace(env)
    assert space.names == ("room_size", "dead")
    here = np.asarray([6, 0.5], np.float32)
    assert _reaches(env, space, here, 0)
    for context in (here, space.high, space.low):
        assert not _reaches(env, space, context, 1)
