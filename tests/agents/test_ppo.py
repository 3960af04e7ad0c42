"""PPO end to end: it learns a trivial task, vmaps over seeds, rejects bad configs early."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.agents.evaluation import evaluate, evaluate_seeds, fresh_levels, record
from curriculax.agents.ppo import PPOConfig, make_train
from curriculax.replay import Replay, ReplayError, simulate

#: Empty-5x5's best return: 5 steps of 100 -> 1 - 0.9 * 5 / 100.
EMPTY5_OPTIMAL = 0.955


@pytest.fixture(scope="module")
def empty5():
    """Two seeds of PPO on Empty-5x5 trained in one vmapped program."""
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    config = PPOConfig(total_timesteps=100_000, num_envs=32, num_steps=64, learning_rate=1e-3)
    train = make_train(config, env, params)
    runner, metrics = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    return train, runner, jax.device_get(metrics)


def test_ppo_learns_empty_5x5_in_every_seed(empty5):
    _, _, metrics = empty5
    final = metrics["return_mean"][:, -5:].mean(axis=1)
    assert metrics["return_mean"].shape == (2, 48)
    assert np.all(final > 0.94), final  # within 1.6% of optimal
    assert np.all(metrics["return_mean"][:, 0] < 0.8)  # and it did not start there
    assert np.all(metrics["env_steps"][:, -1] == 48 * 32 * 64)


def test_greedy_policy_solves_every_evaluation_level(empty5):
    train, runner, _ = empty5
    params = jax.tree.map(lambda x: x[0], runner.params)
    levels = fresh_levels(train.env, train.env_params, jax.random.key(1), 4)
    result = evaluate(train, params, levels, jax.random.key(2), num_episodes=3, greedy=True)
    summary = result.summary()
    assert result.returns.shape == (4, 3)
    assert summary["solve_rate"] == 1.0
    np.testing.assert_allclose(result.returns, EMPTY5_OPTIMAL, atol=1e-6)
    assert np.all(np.asarray(result.lengths) == 5)


def test_evaluate_seeds_scores_each_seed_on_the_same_fresh_levels(empty5):
    train, runner, _ = empty5
    # one trained seed and one untrained, so that a mixed-up seed axis shows
    untrained = train.init_params(jax.random.key(9))
    stacked = jax.tree.map(lambda a, b: jnp.stack([a[0], b]), runner.params, untrained)
    key = jax.random.key(4)
    per_seed = evaluate_seeds(train, stacked, key, num_levels=6, num_episodes=2, greedy=False)
    level_key, run_key = jax.random.split(key)
    levels = fresh_levels(train.env, train.env_params, level_key, 6)
    for i, report in enumerate(per_seed):
        params = jax.tree.map(lambda x, i=i: x[i], stacked)
        summary = evaluate(train, params, levels, run_key, num_episodes=2).summary()
        assert report["solve_rate"] == pytest.approx(summary["solve_rate"])
        assert report["return_mean"] == pytest.approx(summary["return_mean"], abs=1e-6)
    assert per_seed[0]["return_mean"] > 0.9 > per_seed[1]["return_mean"]
    with pytest.raises(ValueError, match="num_levels must be a positive int"):
        evaluate_seeds(train, stacked, key, num_levels=0)


def test_recorded_replay_resimulates_the_same_episodes(empty5, tmp_path):
    train, runner, _ = empty5
    params = jax.tree.map(lambda x: x[1], runner.params)
    replay = record(train, params, "curriculax/Empty-5x5-v0", {}, jax.random.key(3), 3)
    path = tmp_path / "episodes.npz"
    replay.save(path)
    loaded = Replay.load(path)
    for episode in range(3):
        out = simulate(loaded, episode)
        length = int(loaded.lengths[episode])
        assert out["frames"].shape[0] == length + 1
        assert out["terminated"][-1] or out["truncated"][-1]
        assert not np.any(out["terminated"][:-1] | out["truncated"][:-1])
        # the re-simulated episode ends exactly where the recorded one did, and succeeds
        assert out["rewards"].sum() > 0.9


def test_corrupt_replay_files_raise_replay_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ReplayError, match="not a readable replay"):
        Replay.load(bad)
    with pytest.raises(ReplayError, match="no replay"):
        Replay.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ReplayError, match="header"):
        Replay.load(tmp_path / "other.npz")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_envs", 0, "num_envs must be a positive int"),
        ("gamma", 1.5, "gamma must be in"),
        ("learning_rate", -1.0, "learning_rate must be > 0"),
        ("reward_scale", 0.0, "reward_scale must be > 0"),
        ("network", "resnet", "network must be one of"),
        ("recurrent", "rnn", "recurrent must be one of"),
        ("num_minibatches", 3, "divisible by num_minibatches"),
        ("total_timesteps", 10, "less than one batch"),
    ],
)
def test_invalid_config_values_are_rejected_with_the_field_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        PPOConfig(**{field: value})


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown PPOConfig keys"):
        PPOConfig.from_dict({"learning_rat": 1e-3})


def test_network_that_cannot_read_the_observations_is_rejected_before_tracing():
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    with pytest.raises(ValueError, match="network='set' reads element tables"):
        make_train(PPOConfig(network="set"), env, params)
    env, params = curriculax.make("curriculax/Empty-5x5-v0", observation="rgb")
    with pytest.raises(ValueError, match="network='grid' reads MiniGrid cell codes"):
        make_train(PPOConfig(network="grid", hidden_size=8), env, params)


def test_init_log_std_sets_the_gaussian_std_and_is_refused_for_discrete_actions():
    from curriculax.agents.ppo.networks import make_network

    env, params = curriculax.make("curriculax/StumpTracks-v0")
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    network = make_network("auto", obs_space, action_space, 8, None, init_log_std=-0.5)
    obs = jnp.zeros((1, 1, *obs_space.shape), jnp.float32)
    variables = network.init(jax.random.key(0), None, obs, jnp.zeros((1, 1), bool))
    _, (_, log_std), _ = network.apply(variables, None, obs, jnp.zeros((1, 1), bool))
    np.testing.assert_allclose(np.asarray(log_std), -0.5)
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    with pytest.raises(ValueError, match="init_log_std sets a Gaussian policy's initial std"):
        make_train(PPOConfig(init_log_std=-1.0), env, params)
    env, params = curriculax.make("curriculax/LoginUser-v0")
    with pytest.raises(ValueError, match="init_log_std sets a Gaussian policy's initial std"):
        make_train(PPOConfig(init_log_std=-1.0), env, params)


@pytest.mark.parametrize("core", ["gru", pytest.param("lstm", marks=pytest.mark.slow)])
def test_recurrent_policy_trains_and_resets_its_memory_at_episode_starts(core):
    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    config = PPOConfig(
        total_timesteps=2 * 8 * 16, num_envs=8, num_steps=16, num_minibatches=2, recurrent=core
    )
    train = make_train(config, env, params)
    runner, metrics = jax.jit(train)(jax.random.key(0))
    assert all(np.isfinite(np.asarray(v)).all() for v in metrics.values())
    # A reset at step 2 makes steps 2.. equal to a fresh sequence started there.
    obs = jax.vmap(train.env.observation_space(params).sample)(
        jax.random.split(jax.random.key(1), 4)
    )
    obs = obs[:, None]  # [T=4, B=1, ...]
    reset = jnp.array([[True], [False], [True], [False]])
    carry = train.network.initial_carry(1)
    _, logits, values = train.network.apply(runner.params, carry, obs, reset)
    _, fresh_logits, fresh_values = train.network.apply(runner.params, carry, obs[2:], reset[2:])
    np.testing.assert_allclose(logits[2:], fresh_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values[2:], fresh_values, rtol=1e-5, atol=1e-6)
    _, no_reset_logits, _ = train.network.apply(
        runner.params, carry, obs, jnp.array([[True], [False], [False], [False]])
    )
    assert not np.allclose(no_reset_logits[2:], fresh_logits)


@pytest.mark.parametrize("num_steps", [8, 6])
def test_feed_forward_minibatches_use_every_transition_once(num_steps):
    """Stratified (T % M == 0): each minibatch holds T/M steps of every env, in that env's
    column; otherwise a global shuffle. Either way an epoch is a permutation of the batch."""
    from curriculax.agents.ppo.train import Transition

    env, params = curriculax.make("curriculax/Empty-5x5-v0")
    t, n, m = num_steps, 4, 4
    ppo = make_train(PPOConfig(num_envs=n, num_steps=t, num_minibatches=m), env, params)
    ids = jnp.arange(t * n, dtype=jnp.float32).reshape(t, n)  # transition id = step * n + env
    zeros = jnp.zeros((t, n))
    batch = Transition(*([ids] + [zeros] * (len(Transition.__dataclass_fields__) - 1)))
    _, mbs, adv, _ = ppo._minibatches(jax.random.key(0), None, batch, ids, ids)
    got = np.asarray(mbs.obs)
    assert got.shape[0] == m
    assert sorted(got.ravel().tolist()) == list(range(t * n))
    np.testing.assert_array_equal(np.asarray(adv), got)  # fields shuffled together
    assert mbs.reward is None and mbs.episode_return is None  # unused fields not shuffled
    if t % m == 0:
        assert got.shape == (m, t // m, n)
        np.testing.assert_array_equal(got % n, np.broadcast_to(np.arange(n), got.shape))
        assert not np.array_equal(got.reshape(t, n), np.asarray(ids))  # really shuffled
    else:
        assert got.shape == (m, 1, t * n // m)
