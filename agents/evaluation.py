"""Evaluate a trained policy on a list of levels: return and solve rate per level, vmapped.

Every (level, episode) pair runs in parallel for the env's ``max_steps`` steps with no auto-reset;
an episode counts once, until its first end. "Solved" means a return above the env's
``success_return`` (grids: positive, the UED papers' convention that the goal was reached;
the parkour: TeachMyAgent's 230).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from curriculax.agents.ppo.losses import greedy_action, sample_action
from curriculax.agents.ppo.train import PPO
from curriculax.env import Env
from curriculax.replay import Replay, episode_keys
from curriculax.spaces import Box
from curriculax.types import Array, EnvParams, PRNGKey, PyTree


@struct.dataclass
class EvalResult:
    """Per-episode outcomes, each [L, E] (levels x episodes).

    Attributes:
        returns: float32, undiscounted return of the first episode.
        lengths: int32, its length.
        solved: bool, whether the return exceeded the env's ``success_return``.
    """

    returns: Array
    lengths: Array
    solved: Array

    def summary(self) -> dict[str, np.ndarray]:
        """Per-level mean return and solve rate [L], and their means over levels."""
        returns = np.asarray(self.returns).mean(axis=1)
        solved = np.asarray(self.solved).mean(axis=1)
        return {
            "return_per_level": returns,
            "solve_rate_per_level": solved,
            "return_mean": np.float64(returns.mean()),
            "solve_rate": np.float64(solved.mean()),
        }


def evaluate(
    trainer: PPO,
    net_params: PyTree,
    levels: PyTree,
    key: PRNGKey,
    *,
    env: Env | None = None,
    env_params: EnvParams | None = None,
    num_episodes: int = 1,
    greedy: bool = False,
) -> EvalResult:
    """Runs ``num_episodes`` episodes of the policy on each level.

    Args:
        trainer: the PPO run whose network ``net_params`` belong to.
        net_params: network parameters (one agent's: no seed axis).
        levels: levels of ``env``, leaves [L, ...].
        key: PRNG key.
        env: the env the levels belong to (e.g. a held-out maze of another size); defaults to
            the trainer's. Its observations must have the trainer's shape.
        env_params: its Params (defaults to ``env.default_params()``); ``max_steps`` must be
            concrete, it sets the scan length.
        num_episodes: E, episodes per level.
        greedy: take the most likely action instead of sampling.

    Returns:
        ``EvalResult`` with arrays [L, E]. Jit-compatible apart from ``max_steps``.

    Raises:
        ValueError: observation shapes differ from the trainer's.
    """
    env, env_params = _env_for(trainer, env, env_params)
    num_levels = jax.tree.leaves(levels)[0].shape[0]
    keys = jax.random.split(key, (num_levels, num_episodes))
    returns, lengths, _ = _run_episodes(trainer, net_params, env, env_params, levels, keys, greedy)
    return EvalResult(returns=returns, lengths=lengths, solved=returns > env.success_return)


def _env_for(trainer: PPO, env: Env | None, env_params: EnvParams | None) -> tuple[Env, EnvParams]:
    """The env to run and its Params, checked against the trainer's observations."""
    env = trainer.env if env is None else env
    if env_params is None:
        env_params = trainer.env_params if env is trainer.env else env.default_params()
    space = env.observation_space(env_params)
    if isinstance(space, Box) and tuple(space.shape) != tuple(trainer.obs_space.shape):
        raise ValueError(
            f"the policy reads observations of shape {tuple(trainer.obs_space.shape)}; this env "
            f"gives {tuple(space.shape)} (match view_size and observation options)"
        )
    return env, env_params


def _run_episodes(
    trainer: PPO,
    net_params: PyTree,
    env: Env,
    env_params: EnvParams,
    levels: PyTree,
    keys: PRNGKey,
    greedy: bool,
) -> tuple[Array, Array, Array]:
    """One episode per key on each level: keys [L, E] -> returns, lengths [L, E], actions.

    The env's keys are ``replay.episode_keys`` of each episode key, so a ``Replay`` of the
    actions re-simulates the episodes exactly.
    """
    horizon = int(np.max(np.asarray(env_params.max_steps)))

    def episode(level: PyTree, key: PRNGKey) -> tuple[Array, Array, Array]:
        reset_key, step_key = episode_keys(key)
        act_base = jax.random.fold_in(key, 1)
        obs, state = env.reset_to_level(reset_key, level, env_params)
        carry = trainer.network.initial_carry(1)

        def step(c: tuple, t: Array) -> tuple[tuple, Array]:
            obs, state, carry, first, alive, ret, length = c
            batch_obs = jax.tree.map(lambda x: x[None], obs)
            carry, out, _ = trainer.policy(net_params, carry, batch_obs, first[None])
            act_key = jax.random.fold_in(act_base, t)
            action = greedy_action(out) if greedy else sample_action(act_key, out)
            action = trainer.env_action(action)[0]
            obs, state, reward, terminated, truncated, _ = env.step(
                jax.random.fold_in(step_key, t), state, action, env_params
            )
            ret = ret + jnp.where(alive, reward, 0.0)
            length = length + alive
            alive = alive & ~(terminated | truncated)
            return (obs, state, carry, jnp.asarray(False), alive, ret, length), action

        init = (
            obs,
            state,
            carry,
            jnp.asarray(True),
            jnp.asarray(True),
            jnp.asarray(0.0, jnp.float32),
            jnp.asarray(0, jnp.int32),
        )
        final, actions = jax.lax.scan(step, init, jnp.arange(horizon))
        return final[5], final[6], actions

    per_level = jax.vmap(episode, in_axes=(None, 0))
    return jax.vmap(per_level)(levels, keys)


def fresh_levels(env: Env, env_params: EnvParams, key: PRNGKey, count: int) -> PyTree:
    """``count`` levels of ``env``'s own distribution, leaves [count, ...].

    Level ``i`` is drawn with key ``i`` of ``split(key, count)``.
    """
    return jax.vmap(env.sample_level, (0, None))(jax.random.split(key, count), env_params)


def record(
    trainer: PPO,
    net_params: PyTree,
    env_id: str,
    env_kwargs: dict,
    key: PRNGKey,
    num_episodes: int = 3,
    *,
    greedy: bool = False,
) -> Replay:
    """Records ``num_episodes`` episodes of the policy on fresh levels of the trainer's env.

    Args:
        trainer: the PPO run (its env must be ``curriculax.make(env_id, **env_kwargs)``).
        net_params: one agent's network parameters.
        env_id: the registered id, stored in the replay.
        env_kwargs: the options the env was made with, stored in the replay.
        key: PRNG key.
        num_episodes: E.
        greedy: most likely actions instead of samples.

    Returns:
        A ``Replay`` that ``curriculax.replay.simulate`` turns back into the same episodes.
    """
    env, env_params = trainer.env, trainer.env_params
    level_key, run_key = jax.random.split(key)
    levels = fresh_levels(env, env_params, level_key, num_episodes)
    keys = jax.random.split(run_key, (num_episodes, 1))
    run = jax.jit(lambda p, lv, k: _run_episodes(trainer, p, env, env_params, lv, k, greedy))
    _, lengths, actions = run(net_params, levels, keys)
    return Replay(
        env_id=env_id,
        env_kwargs=dict(env_kwargs),
        params=env_params,
        levels=jax.tree.map(np.asarray, levels),
        keys=np.asarray(jax.random.key_data(keys[:, 0])),
        actions=np.asarray(actions[:, 0]),
        lengths=np.asarray(lengths[:, 0]),
    )


def evaluate_envs(
    trainer: PPO,
    net_params: PyTree,
    env_ids: list[str],
    key: PRNGKey,
    *,
    num_episodes: int = 10,
    greedy: bool = False,
    **env_kwargs: object,
) -> dict[str, dict[str, np.ndarray]]:
    """Evaluates on one level drawn from each registered env (e.g. the held-out mazes).

    Returns:
        ``{env_id: EvalResult.summary()}``.
    """
    import curriculax

    results = {}
    for env_id, env_key in zip(env_ids, jax.random.split(key, len(env_ids)), strict=True):
        env_id = curriculax.registry.spec(env_id).id
        env, params = curriculax.make(env_id, **env_kwargs)
        level_key, run_key = jax.random.split(env_key)
        levels = fresh_levels(env, params, level_key, 1)
        result = jax.jit(
            lambda p, lv, k, env=env, params=params: evaluate(
                trainer,
                p,
                lv,
                k,
                env=env,
                env_params=params,
                num_episodes=num_episodes,
                greedy=greedy,
            )
        )(net_params, levels, run_key)
        results[env_id] = result.summary()
    return results


def evaluate_seeds(
    trainer: PPO,
    net_params: PyTree,
    key: PRNGKey,
    *,
    num_levels: int = 256,
    num_episodes: int = 1,
    greedy: bool = True,
) -> list[dict[str, float]]:
    """Every seed's policy on the same fresh levels of the trainer's env, in one program.

    The levels come from the env's own Params (``trainer.env_params``), not a curriculum's: this
    is the check that each seed learned the task, e.g. ``curriculax train``'s closing report.

    Args:
        trainer: the PPO run.
        net_params: network parameters with a leading seed axis [S, ...].
        key: PRNG key (levels and episodes).
        num_levels: L, fresh levels, shared by the seeds.
        num_episodes: E, episodes per level.
        greedy: most likely actions (the default) instead of samples.

    Returns:
        One dict per seed: ``solve_rate`` (share of the L x E episodes whose return exceeds the
        env's ``success_return``), ``return_mean``, ``length_mean``.
    """
    for name, value in (("num_levels", num_levels), ("num_episodes", num_episodes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    env, env_params = trainer.env, trainer.env_params
    level_key, run_key = jax.random.split(key)
    levels = fresh_levels(env, env_params, level_key, num_levels)
    run = jax.jit(
        jax.vmap(
            lambda p, lv, k: evaluate(trainer, p, lv, k, num_episodes=num_episodes, greedy=greedy),
            in_axes=(0, None, None),
        )
    )
    result = run(net_params, levels, run_key)
    solved, returns, lengths = (
        np.asarray(x, np.float64) for x in (result.solved, result.returns, result.lengths)
    )
    return [
        {
            "solve_rate": float(solved[i].mean()),
            "return_mean": float(returns[i].mean()),
            "length_mean": float(lengths[i].mean()),
        }
        for i in range(solved.shape[0])
    ]


def worst_case(
    trainer: PPO,
    net_params: PyTree,
    key: PRNGKey,
    *,
    num_levels: int = 1000,
    num_episodes: int = 10,
    alphas: tuple[float, ...] = (0.01, 0.1),
    greedy: bool = False,
) -> dict[str, float]:
    """Robustness on sampled levels, SFL's protocol (Rutherford et al. 2024): CVaR of solve rate.

    ``num_levels`` fresh levels from the trainer's env are each played ``num_episodes`` times
    with one set of keys to rank them by solve rate, and again with independent keys to score
    them, so the ranking's noise does not bias the score. ``cvar_X`` is the mean scored solve
    rate over the hardest ``X``% of levels (at least one level).

    Returns:
        ``{"mean": ..., "cvar_1": ..., "cvar_10": ...}`` (one ``cvar_`` entry per alpha).
    """
    if not isinstance(num_levels, int) or num_levels < 1:
        raise ValueError(f"num_levels must be a positive int, got {num_levels!r}")
    if any(not 0 < a <= 1 for a in alphas):
        raise ValueError(f"alphas must be in (0, 1], got {alphas}")
    level_key, rank_key, score_key = jax.random.split(key, 3)
    levels = fresh_levels(trainer.env, trainer.env_params, level_key, num_levels)
    run = jax.jit(
        lambda p, lv, k: evaluate(trainer, p, lv, k, num_episodes=num_episodes, greedy=greedy)
    )
    ranked = np.asarray(run(net_params, levels, rank_key).solved).mean(axis=1)
    scored = np.asarray(run(net_params, levels, score_key).solved).mean(axis=1)
    # ties in the ranking (common: many levels solved 0 or E times) are broken at random
    tie_break = np.asarray(jax.random.uniform(level_key, (num_levels,)))
    order = np.lexsort((tie_break, ranked))
    result = {"mean": float(scored.mean())}
    for alpha in alphas:
        count = max(1, round(alpha * num_levels))
        result[f"cvar_{round(alpha * 100):d}"] = float(scored[order[:count]].mean())
    return result
