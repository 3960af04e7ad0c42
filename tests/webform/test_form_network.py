"""The web-form pointer network: its action mask is the env's, its heads point at rows and slots."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.ppo import PPO, PPOConfig
from curriculax.agents.ppo.form_network import FormActorCritic, form_sizes
from curriculax.agents.ppo.networks import make_network
from curriculax.envs.webform import engine
from curriculax.envs.webform.form import OBS_COLUMNS, Form
from curriculax.envs.webform.oracle import oracle_action

ENV = Form(max_widgets=4, max_options=3, max_words=2, max_pages=2, max_distractors=1)


def _visited_states(env, params, count=64, seed=0):
    """Observations and action masks of states reached by oracle and random valid actions."""
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    mask_of = jax.jit(env.action_mask)
    oracle = jax.jit(lambda s: oracle_action(s, env.rows, env.slots))
    rng = np.random.default_rng(seed)
    obs, state = reset(jax.random.key(seed), params)
    observations, masks = [], []
    for i in range(count):
        mask = np.asarray(mask_of(state, params))
        observations.append(np.asarray(obs))
        masks.append(mask)
        action = int(rng.choice(np.flatnonzero(mask)))
        if rng.random() < 0.5:
            action = int(oracle(state))
        if engine.decode_action(action, env.rows, env.slots)[0] == engine.Action.CLICK:
            kind = int(state.level.kind[action - 1])
            if kind in (engine.Kind.SUBMIT, engine.Kind.DISTRACTOR) and rng.random() < 0.8:
                action = 0  # keep most episodes going, to see filled-in forms
        obs, state, _, terminated, truncated, _ = step(jax.random.key(i), state, action, params)
        if terminated or truncated:
            obs, state = reset(jax.random.key(1000 + i), params)
    return np.stack(observations), np.stack(masks)


@pytest.fixture(scope="module")
def network_and_states():
    params = ENV.default_params().replace(
        num_widgets=jnp.int32(4), num_instructed=jnp.int32(3), num_pages=jnp.int32(2),
        num_distractors=jnp.int32(1), kind_weights=jnp.asarray([1.0, 1, 1, 1, 1, 1, 4]),
    )  # fmt: skip
    obs, masks = _visited_states(ENV, params)
    kinds = obs[:, : ENV.rows, OBS_COLUMNS.index("kind")]
    listed = obs[:, : ENV.rows, OBS_COLUMNS.index("visible")] > 0
    assert np.any(listed & (kinds == engine.Kind.SUGGESTION))  # an open autocomplete list
    net = FormActorCritic(rows=ENV.rows, slots=ENV.slots, spec=ENV.policy_description())
    variables = net.init(jax.random.key(0), None, jnp.asarray(obs[None, :1]), jnp.zeros((1, 1)))
    return net, variables, obs, masks


def test_actions_the_env_masks_get_probability_zero_and_the_others_positive(network_and_states):
    net, variables, obs, masks = network_and_states
    _, logits, value = net.apply(variables, None, jnp.asarray(obs[None]), jnp.zeros((1, len(obs))))
    probs = np.asarray(jax.nn.softmax(logits[0], axis=-1))
    assert logits.shape == (1, len(obs), ENV.action_space(ENV.default_params()).n)
    assert value.shape == (1, len(obs))
    np.testing.assert_array_equal(probs > 0, masks)


def test_click_and_type_logits_follow_their_row_when_rows_are_reordered(network_and_states):
    net, variables, obs, _ = network_and_states
    n, k = ENV.rows, ENV.slots
    order = np.random.default_rng(1).permutation(n)
    shuffled = obs.copy()
    shuffled[:, :n] = obs[:, order]
    _, logits, value = net.apply(variables, None, jnp.asarray(obs[None]), jnp.zeros((1, len(obs))))
    _, moved, moved_value = net.apply(
        variables, None, jnp.asarray(shuffled[None]), jnp.zeros((1, len(obs)))
    )
    logits, moved = np.asarray(logits[0]), np.asarray(moved[0])
    np.testing.assert_allclose(moved[:, 1 : 1 + n], logits[:, 1 + order], rtol=1e-4, atol=1e-5)
    typed = logits[:, 1 + 2 * n :].reshape(-1, n, k)
    moved_typed = moved[:, 1 + 2 * n :].reshape(-1, n, k)
    np.testing.assert_allclose(moved_typed, typed[:, order], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moved_value, value, rtol=1e-4, atol=1e-5)


def test_auto_network_of_a_form_is_the_pointer_network_and_misuse_is_rejected():
    env, params = curriculax.make("curriculax/LoginUser-v0")
    trainer = PPO(PPOConfig(num_envs=4, num_steps=4, total_timesteps=16), env, params)
    assert isinstance(trainer.network, FormActorCritic)
    assert (trainer.network.rows, trainer.network.slots) == (env.rows, env.slots)
    assert trainer.network.spec == env.policy_description()
    hash(trainer.network.spec)  # a static module attribute
    with pytest.raises(ValueError, match="feed-forward"):
        PPO(PPOConfig(num_envs=4, num_steps=4, total_timesteps=16, recurrent="gru"), env, params)
    grid, grid_params = curriculax.make("curriculax/Empty-5x5-v0")
    grid_spaces = grid.observation_space(grid_params), grid.action_space(grid_params)
    with pytest.raises(ValueError, match="policy_description"):
        make_network("form", *grid_spaces, 8, None)
    with pytest.raises(ValueError, match=r"\[N \+ K, 12 \+ 3K\]"):
        make_network("form", *grid_spaces, 8, None, description=env.policy_description())
    assert form_sizes((7 + 4, len(OBS_COLUMNS) + 12), ENV.policy_description()) == (7, 4)
