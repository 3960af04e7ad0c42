"""The host curriculum behind gymnasium: same levels as a jitted loop, shared by several envs."""

from __future__ import annotations

import importlib.util
import pathlib
from collections import defaultdict

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.advantages import episode_advantages, gae
from curriculax.curricula.base import EpisodeStats
from curriculax.curricula.dr import DomainRandomization
from curriculax.curricula.gym import (
    CurriculumWrapper,
    HostCurriculum,
    make_curriculum_env,
)
from curriculax.curricula.plr import ACCEL, PLR
from curriculax.curricula.sfl import SFL

ENV_ID = "curriculax/Maze-v0"
# a 5x5 maze with two walls and 20 steps: a forward-biased random walk succeeds about 1 in 4
# (unsolvable layouts allowed: the generator then compiles in half the time)
ENV_KW = {"size": 5, "n_walls": 2, "max_steps": 20, "solvable_only": False}
ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_env() -> gymnasium.Env:
    return gymnasium.make(ENV_ID, **ENV_KW)


def functional(env: gymnasium.Env):
    return env.unwrapped.env, env.unwrapped.params


@pytest.fixture(scope="module")
def maze():
    return functional(make_env())


@pytest.fixture(scope="module")
def dr(maze):
    return DomainRandomization(*maze)


@pytest.fixture(scope="module")
def plr(maze):
    env, params = maze
    return PLR(
        env,
        params,
        capacity=6,
        min_fill=0.3,
        replay_prob=0.5,
        score="learnability",
        staleness_coef=0.3,
    )


class LevelSpy(gymnasium.Wrapper):
    """Records the level every reset passes to the curriculax env."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.levels: list = []

    def reset(self, *, seed=None, options=None):
        self.levels.append(jax.tree.map(np.copy, options["level"]))
        return self.env.reset(seed=seed, options=options)


def biased_action(rng: np.random.Generator) -> int:
    return int(rng.choice(3, p=[0.2, 0.2, 0.6]))


def drive(envs, curriculum, rounds, seed=0):
    """Steps ``envs`` in turn (auto-reset on episode end) until ``rounds`` rounds are complete.

    Returns the reset infos, the end-of-episode infos and the host's statistics of every round.
    """
    rng = np.random.default_rng(seed)
    resets, ends, stats = [], [], []
    for i, env in enumerate(envs):
        resets.append((env, env.reset(seed=100 + i)[1]))
    while curriculum.round < rounds:
        for env in envs:
            _, _, terminated, truncated, info = env.step(biased_action(rng))
            if terminated or truncated:
                ends.append(info)
                if curriculum.round > len(stats):
                    stats.append(curriculum.last_stats)
                resets.append((env, env.reset()[1]))
    return resets, ends, stats


def stats_from_infos(ends, rounds, num) -> list[EpisodeStats]:
    """Each round's EpisodeStats rebuilt from the wrappers' end-of-episode infos."""
    returns = defaultdict(list)
    for info in ends:
        if info["curriculum_counted"]:
            key = (info["curriculum_round"], info["curriculum_level_index"])
            returns[key].append(info["curriculum_episode_return"])
    out = []
    for r in range(rounds):
        per_level = [np.asarray(returns[(r, i)], np.float64) for i in range(num)]
        field = {
            "episodes": [len(x) for x in per_level],
            "return_mean": [x.mean() for x in per_level],
            "return_max": [x.max() for x in per_level],
            "success_rate": [np.mean(x > 0) for x in per_level],
        }
        zeros = np.zeros(num, np.float32)
        out.append(
            EpisodeStats(
                **{k: np.asarray(v, np.float32) for k, v in field.items()},
                positive_value_loss=zeros,
                l1_value_loss=zeros,
                value_mean=zeros,
            )
        )
    return out


def scan_reference(teacher, seed, num, stats):
    """The documented key convention as one jitted lax.scan over sample/update."""
    stacked = jax.tree.map(lambda *x: jnp.stack(x), *stats)

    def run(seed, stacked):
        key = jax.random.key(seed)
        key, init_key = jax.random.split(key)
        state = teacher.init(init_key, num)

        def body(carry, round_stats):
            state, key = carry
            key, sub = jax.random.split(key)
            state, batch = teacher.sample(state, sub, num)
            state = teacher.update(state, batch, round_stats)
            return (state, key), batch.levels

        (state, key), levels = jax.lax.scan(body, (state, key), stacked)
        key, sub = jax.random.split(key)
        state, next_batch = teacher.sample(state, sub, num)  # the host samples the next round
        return levels, next_batch.levels, teacher.metrics(state)

    return jax.device_get(jax.jit(run)(seed, stacked))


def assert_same_level(a, b) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("name", ["dr", "plr"])
def test_wrapper_hands_out_the_levels_of_a_jitted_loop(name, dr, plr):
    if name == "dr":
        teacher, num, min_episodes, envs_n, rounds = dr, 2, 1, 1, 10
    else:
        teacher, num, min_episodes, envs_n, rounds = plr, 2, 2, 2, 10
    seed = 7
    curriculum = HostCurriculum(teacher, num=num, seed=seed, min_episodes=min_episodes)
    spies = [LevelSpy(make_env()) for _ in range(envs_n)]
    envs = [CurriculumWrapper(spy, curriculum) for spy in spies]
    resets, ends, host_stats = drive(envs, curriculum, rounds)
    assert len(host_stats) == rounds

    stats = stats_from_infos(ends, rounds, num)
    for ours, host in zip(stats, host_stats, strict=True):
        for field in EpisodeStats.field_names():
            np.testing.assert_allclose(getattr(ours, field), getattr(host, field), rtol=1e-6)
        assert np.all(ours.episodes >= min_episodes)

    levels, next_levels, metrics = scan_reference(teacher, seed, num, stats)
    handed = {id(spy): iter(spy.levels) for spy in spies}
    seen = set()
    for wrapper, info in resets:
        level = next(handed[id(wrapper.env)])
        r, i = info["curriculum_round"], info["curriculum_level_index"]
        expected = next_levels if r == rounds else jax.tree.map(lambda x, r=r: x[r], levels)
        assert_same_level(level, jax.tree.map(lambda x, i=i: x[i], expected))
        seen.add((r, i))
    assert {(r, i) for r in range(rounds) for i in range(num)} <= seen

    host = curriculum.metrics()
    for key, value in metrics.items():
        assert host[key] == pytest.approx(float(value)), key
    assert host["rounds_completed"] == rounds
    if name == "plr":
        assert host["replay_share"] > 0  # some rounds replayed buffer levels
        assert max(float(np.max(s.success_rate * (1 - s.success_rate))) for s in stats) > 0
        assert host["episodes_dropped"] > 0  # a second env's episode outlived its round
    assert curriculum._sample._cache_size() == 1
    assert curriculum._update._cache_size() == 1


def test_numpy_learner_on_shared_curriculum(plr):
    """A non-JAX learner (numpy linear policy and value) drives three envs sharing a curriculum."""
    obs_dim = 5 * 5 * 3
    rng = np.random.default_rng(1)
    policy_w = np.zeros((obs_dim + 1, 3))
    value_w = np.zeros(obs_dim + 1)

    def features(obs):
        obs = np.asarray(obs, np.float64).reshape(len(obs), -1) / 10.0
        return np.concatenate([obs, np.ones((len(obs), 1))], axis=1)

    value_calls = []

    def value_fn(observations):
        value_calls.append(len(observations))
        return features(observations) @ value_w

    # a teacher scoring by value loss compiles as long again; the learnability one shares the
    # compiled functions of the other tests, and the value statistics are computed all the same
    curriculum = HostCurriculum(plr, num=2, seed=3, value_fn=value_fn)
    envs = [CurriculumWrapper(make_env(), curriculum) for _ in range(3)]
    obs = [e.reset(seed=i)[0] for i, e in enumerate(envs)]
    trajectories = [[] for _ in envs]
    updates = []
    while curriculum.round < 4:
        for k, e in enumerate(envs):  # DummyVecEnv's loop: step each env, auto-reset
            logits = features(obs[k][None]) @ policy_w
            p = np.exp(logits[0] - logits[0].max())
            p /= p.sum()
            action = int(rng.choice(3, p=p))
            next_obs, reward, terminated, truncated, info = e.step(action)
            trajectories[k].append((obs[k], action, reward))
            obs[k] = next_obs
            if terminated or truncated:
                x = features(np.stack([t[0] for t in trajectories[k]]))
                rewards = np.asarray([t[2] for t in trajectories[k]])
                returns = np.cumsum(rewards[::-1])[::-1]
                advantage = returns - x @ value_w
                value_w += 0.05 * x.T @ advantage / len(x)
                for row, (_, a, _), adv in zip(x, trajectories[k], advantage, strict=True):
                    logits = row @ policy_w
                    p = np.exp(logits - logits.max())
                    grad_log_p = np.eye(3)[a] - p / p.sum()  # d log pi(a) / d logits
                    policy_w += 0.1 * adv * np.outer(row, grad_log_p)
                trajectories[k] = []
                updates.append(info["curriculum_counted"])
                obs[k] = e.reset()[0]
    metrics = curriculum.metrics()
    assert metrics["rounds_completed"] == 4
    assert metrics["buffer_fill"] > 0
    assert metrics["episodes_recorded"] == sum(updates) >= 4 * 2
    assert value_calls and np.any(curriculum.last_stats.positive_value_loss > 0)
    assert np.any(value_w != 0) and np.any(policy_w != 0)
    stored = jax.device_get(curriculum.state.buffer)
    assert stored.filled.sum() == round(metrics["buffer_fill"] * 6)
    assert np.all(np.isfinite(stored.scores[stored.filled]))


def _reference_gae(rewards, values, bootstrap, gamma, lam):
    following = np.asarray(values[1:], np.float64).copy()
    if not bootstrap:
        following[-1] = 0.0
    deltas = np.asarray(rewards) + gamma * following - np.asarray(values[:-1])
    out, running = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = deltas[t] + gamma * lam * running
        out[t] = running
    return out


def test_episode_advantages_are_the_trainers_gae_on_any_length():
    rng = np.random.default_rng(0)
    for steps in (1, 5, 8, 9, 33):  # padded to 1, 8, 8, 16, 64: padding never leaks in
        rewards, values = rng.normal(size=steps), rng.normal(size=steps + 1)
        for truncated in (False, True):
            ours = episode_advantages(
                rewards, values, bootstrap=truncated, gamma=0.9, gae_lambda=0.8
            )
            expected = _reference_gae(rewards, values, truncated, 0.9, 0.8)
            np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
    flags = np.zeros(6, bool)
    flags[-1] = True
    rewards, values = rng.normal(size=6), rng.normal(size=7)
    theirs, _ = gae(  # the trainer's [T, N] form of the same terminated episode
        jnp.asarray(rewards, jnp.float32)[:, None],
        jnp.asarray(values[:-1], jnp.float32)[:, None],
        jnp.asarray(values[1:], jnp.float32)[:, None],
        jnp.asarray(flags)[:, None],
        jnp.zeros((6, 1), bool),
        0.9,
        0.8,
    )
    np.testing.assert_allclose(
        episode_advantages(rewards, values, bootstrap=False, gamma=0.9, gae_lambda=0.8),
        np.asarray(theirs)[:, 0],
        rtol=1e-6,
    )
    # by hand: one step, terminated: A = r - V(s); truncated: A = r + gamma V(s') - V(s)
    one = episode_advantages([1.0], [0.5, 2.0], bootstrap=False, gamma=0.9, gae_lambda=0.8)
    assert one[0] == pytest.approx(0.5)
    one = episode_advantages([1.0], [0.5, 2.0], bootstrap=True, gamma=0.9, gae_lambda=0.8)
    assert one[0] == pytest.approx(1.0 + 0.9 * 2.0 - 0.5)


def test_errors(maze, dr):
    env, params = maze
    curriculum = HostCurriculum(dr, num=2)
    wrapped = CurriculumWrapper(make_env(), curriculum)
    level = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), env.level_shape(params))
    with pytest.raises(ValueError, match="chooses the level"):
        wrapped.reset(options={"level": level})
    with pytest.raises(TypeError, match="single curriculax env"):
        CurriculumWrapper(gymnasium.make("CartPole-v1"), curriculum)
    with pytest.raises(TypeError, match="single curriculax env"):
        CurriculumWrapper(object(), curriculum)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="HostCurriculum"):
        CurriculumWrapper(make_env(), dr)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hands out levels of"):
        CurriculumWrapper(gymnasium.make(ENV_ID), curriculum)  # a 13x13 maze
    for teacher in (PLR(env, params, capacity=4), ACCEL(env, params, capacity=4, score="maxmc")):
        with pytest.raises(ValueError, match=r"value_fn.*learnability"):
            HostCurriculum(teacher, num=2)
    with pytest.raises(ValueError, match="success_fn"):
        HostCurriculum(SFL(env, params, num_eval_levels=4, keep=2), num=2)
    with pytest.raises(ValueError, match="num"):
        HostCurriculum(dr, num=0)
    with pytest.raises(ValueError, match="unknown curriculum"):
        make_curriculum_env(ENV_ID, "pared", **ENV_KW)
    with pytest.raises(ValueError, match="2 students"):  # PAIRED needs the jitted trainer
        make_curriculum_env(ENV_ID, "paired", teacher_kwargs={"num_walls": 10}, **ENV_KW)
    with pytest.raises(TypeError, match="one process"):
        import pickle

        pickle.dumps(curriculum)
    # a user's other options still pass through, and the level info comes back
    obs, info = wrapped.reset(seed=3, options={"params": {"max_steps": 7}})
    assert wrapped.unwrapped.params.max_steps == 7
    assert info["curriculum_round"] == 0 and info["curriculum_level_index"] in (0, 1)
    assert wrapped.observation_space.contains(obs)


def feed(curriculum, episodes, rng):
    """Plays ``episodes`` made-up episodes through the curriculum's API; returns the levels."""
    out = []
    for _ in range(episodes):
        ticket = curriculum.next_level()
        out.append((ticket.round, ticket.index, ticket.level))
        ret = float(rng.uniform(0.2, 1.0)) if rng.random() < 0.4 else 0.0
        curriculum.record_episode(ticket, ret, ret > 0)
    return out


def test_state_dict_round_trip(plr):
    from flax import serialization

    a = HostCurriculum(plr, num=2, seed=11, min_episodes=2)
    feed(a, 21, np.random.default_rng(0))  # five rounds, and a round in progress
    assert a.round == 5 and a.episode_stats().episodes.sum() == 1
    assert a.metrics()["round_coverage"] == 0  # one episode of the two the level needs
    data = serialization.msgpack_serialize(a.state_dict())
    b = HostCurriculum(plr, num=2, seed=999, min_episodes=2)
    b.load_state_dict(serialization.msgpack_restore(data))
    after_a = feed(a, 40, np.random.default_rng(1))
    after_b = feed(b, 40, np.random.default_rng(1))
    for (ra, ia, la), (rb, ib, lb) in zip(after_a, after_b, strict=True):
        assert (ra, ia) == (rb, ib)
        assert_same_level(la, lb)
    assert a.metrics() == pytest.approx(b.metrics())
    assert b._sample._cache_size() == 1 and b._update._cache_size() == 1
    c = HostCurriculum(plr, num=2, seed=0, min_episodes=2)
    c.from_bytes(a.to_bytes())
    assert_same_level(c.next_level().level, a.next_level().level)
    with pytest.raises(ValueError, match="num=3"):
        HostCurriculum(plr, num=3).load_state_dict(a.state_dict())


def test_stale_and_abandoned_episodes_do_not_count(dr):
    curriculum = HostCurriculum(dr, num=2)
    first, second = curriculum.next_level(), curriculum.next_level()
    assert {first.index, second.index} == {0, 1}
    late = curriculum.next_level()  # the round has handed out both levels: a replay
    curriculum.release(first)  # abandoned
    assert curriculum.record_episode(second, 1.0, True)
    assert curriculum.next_level().index == first.index  # the level still lacking an episode
    assert curriculum.record_episode(late, 0.0, False)
    assert curriculum.round == 1
    assert not curriculum.record_episode(second, 1.0, True)  # its round is over
    assert curriculum.metrics()["episodes_dropped"] == 2


def test_sfl_evaluates_through_success_fn():
    env, params = curriculax.make("curriculax/Empty-Random-5x5-v0")  # a generator quick to compile
    teacher = SFL(env, params, num_eval_levels=6, keep=3, eval_every=2, replay_fraction=0.5)
    calls = []

    def success_fn(levels):
        calls.append(jax.tree.leaves(levels)[0].shape[0])
        return np.linspace(0.0, 1.0, 6)

    curriculum = HostCurriculum(teacher, num=2, seed=0, success_fn=success_fn)
    assert not calls  # nothing is evaluated before the first level is asked for
    feed(curriculum, 10, np.random.default_rng(0))
    assert calls == [6, 6, 6]  # before rounds 0, 2 and 4
    metrics = curriculum.metrics()
    assert metrics["evaluations"] == 3
    assert metrics["learnability_max"] == pytest.approx(0.6 * 0.4)


def test_make_curriculum_env(dr):
    first = make_curriculum_env(
        ENV_ID,
        "plr",
        num=2,
        teacher_kwargs={"score": "l1vl"},
        value_fn=lambda obs: np.zeros(len(obs)),
        **ENV_KW,
    )
    assert isinstance(first.curriculum.teacher, PLR) and first.curriculum.teacher.score == "l1vl"
    assert first.curriculum.teacher.env == first.unwrapped.env
    second = make_curriculum_env(ENV_ID, first.curriculum, **ENV_KW)
    assert second.curriculum is first.curriculum
    third = make_curriculum_env(ENV_ID, dr, num=2, **ENV_KW)
    fourth = make_curriculum_env(ENV_ID, third.curriculum, **ENV_KW)
    _, a = third.reset(seed=0)
    _, b = fourth.reset(seed=0)
    assert {a["curriculum_level_index"], b["curriculum_level_index"]} == {0, 1}


def load_example():
    path = ROOT / "examples" / "sb3_curriculum.py"
    spec = importlib.util.spec_from_file_location("sb3_curriculum", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_sb3_ppo_trains_through_the_wrapper():
    pytest.importorskip("stable_baselines3")
    example = load_example()
    model, curriculum = example.train(total_timesteps=2048, num_envs=4, seed=0, verbose=0)
    metrics = curriculum.metrics()
    assert model.num_timesteps >= 2048
    assert metrics["rounds_completed"] >= 3
    assert metrics["buffer_fill"] > 0
    assert metrics["episodes_recorded"] >= 3 * curriculum.num


def test_a_parameter_teachers_params_reach_the_host_env():
    first = make_curriculum_env("curriculax/Form-v0", "alpgmm", num=4, seed=1)
    space = first.curriculum.teacher.space
    others = [
        CurriculumWrapper(gymnasium.make("curriculax/Form-v0"), first.curriculum) for _ in range(3)
    ]
    seen = []
    for env in [first, *others]:  # four envs take the round's four levels
        env.reset()
        ticket = env._ticket
        assert ticket.params is not None
        for name in space.names:
            np.testing.assert_array_equal(
                np.asarray(getattr(env.unwrapped.params, name)), getattr(ticket.params, name)
            )
        assert int(env.unwrapped.params.max_steps) == int(env.curriculum.teacher.params.max_steps)
        seen.append(tuple(float(getattr(ticket.params, n)) for n in space.names))
    assert len(set(seen)) == 4  # ALP-GMM's first tasks are uniform in the box
    with pytest.raises(ValueError, match="hands out each level's Params"):
        first.reset(options={"params": {}})
    for env in [first, *others]:
        env.close()
