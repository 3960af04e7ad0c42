"""The batched engine against the scalar engine it replaced (``reference_physics.py``).

The two compute the same model in a different order (blocks reduced in another order,
Gauss-Jordan instead of Cholesky), so they agree to float32 roundoff per step; contacts are stiff
and walking is chaotic, so over many steps trajectories part. The test set: every body of
``bodies`` on random tracks (slopes, walls, a ceiling, water, creepers, random friction), states
visited by random actions under the reference engine. Stated tolerances:

* one step from the same state: ``|Δq| <= 1e-4`` (m, rad) and ``|Δqd| <= 1e-2 (1 + |qd|)`` on
  99.5 % of the states, and ``0.1`` and ``1`` on every one (a body squeezed between ground and a
  ceiling 0.3 m above it, stiff on both sides, amplifies the roundoff most, and how much depends
  on how XLA lays out the program: measured 99.92 % within, worst 7e-4 and 0.10 here, 2.8e-2 for
  the same states stepped as batches of 2); the same contacts and grasps on 99.5 % (a contact
  exactly at its threshold may flip; none did);
* 10-step trajectories from the same start with the same actions: median of the largest
  ``|Δq|`` <= 1e-4 and 90 % of them <= 5e-2 (walker, the most chaotic: 2.5e-5 and 3.7e-3 here,
  1.7e-5 and 1.3e-2 as batches of 2; a falling walker can part by decimetres).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference_physics as reference
from test_physics import _numpy_random_cases

from curriculax.envs.parkour import bodies, physics

DT = 1.0 / 50.0
SUBSTEPS = 4
CASES = 64
STEPS = 40
BODIES = {
    "walker": bodies.old_classic_bipedal(),
    "climber": bodies.simple_climber(),
    "fish": bodies.fish(),
    "box_hand": bodies.box(hand=True),
    "pendulum": bodies.pendulum(),
}
#: The default suite runs the walker (contacts, water, limits, motors) and the climber (hands);
#: the other bodies are in the slow tier (the suite's 15-minute budget).
CASES_BY_TIER = [
    pytest.param(name, marks=() if name in ("walker", "climber") else pytest.mark.slow)
    for name in BODIES
]


def _cases(body, seed):
    """``test_physics``'s random tracks (walls, low ceilings, water, creepers, friction), with
    the body posed 0.3-1 m above the ground, nearly upright, and random actions.
    """
    states, terrains, actions = _numpy_random_cases(body, CASES, STEPS, seed)
    rng = np.random.default_rng(seed)
    px = states.q[:, 0]
    ground = jax.vmap(physics.profile_height)(terrains.ground_x, terrains.ground_y, px)
    q = jnp.concatenate(
        [
            px[:, None],
            (ground + jnp.asarray(rng.uniform(0.3, 1.0, CASES), jnp.float32))[:, None],
            jnp.asarray(rng.uniform(-0.3, 0.3, (CASES, body.num_dofs - 2)), jnp.float32),
        ],
        axis=1,
    )
    return states.replace(q=q), terrains, actions


def _compare(body, state, terrain, actions):
    """Reference rollout; at every state, one step of each engine; and the new rollout."""

    def one(carry, action):
        ref, new = carry
        ref_next, ref_contacts = reference.step(body, ref, action, terrain, DT, SUBSTEPS)
        alt_next, alt_contacts = physics.step(body, ref, action, terrain, DT, SUBSTEPS)
        new_next, _ = physics.step(body, new, action, terrain, DT, SUBSTEPS)
        out = {
            "step_q": jnp.max(jnp.abs(alt_next.q - ref_next.q)),
            "step_qd": jnp.max(jnp.abs(alt_next.qd - ref_next.qd) / (1.0 + jnp.abs(ref_next.qd))),
            "contacts": jnp.all(alt_contacts.ground == ref_contacts.ground)
            & jnp.all(alt_contacts.ceiling == ref_contacts.ceiling)
            & jnp.all(alt_next.grasping == ref_next.grasping),
            "run_q": jnp.max(jnp.abs(new_next.q - ref_next.q)),
        }
        return (ref_next, new_next), out

    return jax.lax.scan(one, (state, state), actions)[1]


@functools.cache
def _results(name):
    body = BODIES[name]
    states, terrains, actions = _cases(body, seed=len(name))
    out = jax.jit(jax.vmap(functools.partial(_compare, body)))(states, terrains, actions)
    return jax.tree.map(np.asarray, out)


@pytest.mark.parametrize("name", CASES_BY_TIER)
def test_one_step_agrees_with_the_scalar_engine(name):
    out = _results(name)
    assert np.mean(out["step_q"] <= 1e-4) >= 0.995, np.quantile(out["step_q"], [0.5, 0.995])
    assert np.mean(out["step_qd"] <= 1e-2) >= 0.995, np.quantile(out["step_qd"], [0.5, 0.995])
    assert np.max(out["step_q"]) <= 0.1 and np.max(out["step_qd"]) <= 1.0
    assert np.mean(out["contacts"]) >= 0.995


@pytest.mark.parametrize("name", CASES_BY_TIER)
def test_short_trajectories_agree_with_the_scalar_engine(name):
    run = _results(name)["run_q"][:, :10].max(axis=1)
    assert np.median(run) <= 1e-4 and np.quantile(run, 0.9) <= 5e-2, np.quantile(run, [0.5, 0.9])


def test_a_vmapped_step_equals_single_steps():
    # custom_vmap: the batched engine on the whole batch and the engine on one body at a time.
    body = BODIES["walker"]
    states, terrains, actions = _cases(body, seed=7)
    step = functools.partial(physics.step, body, dt=DT, substeps=SUBSTEPS)
    batched, _ = jax.jit(jax.vmap(step))(states, actions[:, 0], terrains)
    single, _ = jax.jit(lambda s, a, t: jax.lax.map(lambda x: step(*x), (s, a, t)))(
        states, actions[:, 0], terrains
    )
    # Not bit for bit (XLA vectorises a batch of 1 and of 64 differently; stiff contacts
    # amplify the roundoff): within the differential test's one-step tolerance.
    assert np.max(np.abs(batched.q - single.q)) <= 1e-4
    assert np.max(np.abs(batched.qd - single.qd) / (1.0 + np.abs(single.qd))) <= 1e-2
    assert np.array_equal(batched.slip != 0, single.slip != 0)


def test_nested_vmaps_equal_one_flat_batch():
    # Seeds x envs (the trainer's layout): the inner vmap runs the engine, the outer batches it.
    body = BODIES["walker"]
    states, terrains, actions = _cases(body, seed=8)
    step = jax.vmap(functools.partial(physics.step, body, dt=DT, substeps=SUBSTEPS))
    split = functools.partial(jax.tree.map, lambda x: x.reshape(4, CASES // 4, *x.shape[1:]))
    nested, _ = jax.jit(jax.vmap(step))(split(states), split(actions[:, 0]), split(terrains))
    flat, _ = jax.jit(step)(states, actions[:, 0], terrains)
    assert np.max(np.abs(nested.q.reshape(flat.q.shape) - flat.q)) <= 1e-4
