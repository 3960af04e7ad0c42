"""PPO whose whole training run is one jittable, vmappable function of a key.

``make_train(config, env)`` returns a ``PPO`` object: calling it on a key runs the whole training
(``jax.jit(train)(key)``, or ``jax.jit(jax.vmap(train))(keys)`` for seeds), and its parts serve
training in chunks: ``init(key)`` builds a ``RunnerState``, ``run(state, n)`` does ``n`` updates
as one ``lax.scan`` and returns their metrics. The host loop in ``curriculax.agents.runner`` calls
``run`` in chunks to log and checkpoint between them.

One update: refill the auto-reset pool, roll the policy out for ``num_steps`` in ``num_envs``
envs, compute GAE (bootstrapping from the final observation on truncation, not on termination),
then ``update_epochs`` passes of minibatch Adam steps on PPO's loss.

With a curriculum (``teacher``), the envs play the teacher's rounds instead of the pool
(``curriculax.curricula.rounds``): a round lasts ``config.round_updates`` updates (by default
enough rollouts to cover an episode); at its start the teacher picks ``num_envs`` levels (and,
for parameter teachers, their Params) and every env starts its level afresh; episodes that end
replay the same level and run on across the round's updates; the round's statistics update the
teacher at its end; and the gradient steps run only if the round's batch says so (Robust PLR and
ACCEL learn from replayed levels only). A teacher that evaluates levels (SFL) gets a policy
evaluation every ``teacher.eval_every`` rounds, run here since a teacher never sees the policy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from curriculax.agents.ppo.config import PPOConfig
from curriculax.agents.ppo.losses import (
    gae,
    greedy_action,
    log_prob_entropy,
    next_values,
    ppo_loss,
    sample_action,
    squash_action,
)
from curriculax.agents.ppo.networks import OBS_NORM, ActorCritic, make_network, observe
from curriculax.agents.ppo.return_norm import ReturnNorm, normalize_rewards
from curriculax.autoreset import AutoResetVecEnv, VecState
from curriculax.curricula.base import Teacher
from curriculax.curricula.rounds import Rounds, RoundState, round_params, rounds_for
from curriculax.env import Env
from curriculax.spaces import Box
from curriculax.types import Array, EnvParams, PRNGKey, PyTree

#: Per-update metrics, each a float32 scalar (stacked over the updates of a chunk).
METRICS = (
    "env_steps",
    "episodes",
    "return_mean",
    "length_mean",
    "success_rate",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "learning_rate",
)


@struct.dataclass
class RunnerState:
    """Everything a training run carries from one update to the next.

    Attributes:
        params: network parameters.
        opt_state: optimiser state (its step count drives the learning-rate schedule).
        vec_state: the auto-reset envs.
        obs: current observations, leaves [N, ...].
        carry: recurrent state [N, hidden] (``None`` when feed-forward).
        reset: bool [N], whether ``obs`` begins an episode.
        key: PRNG key.
        update: int32 [], updates done.
        curriculum: the curriculum's rounds (``None`` without a curriculum).
        return_norm: return normalisation's running state (``None`` unless
            ``config.normalize_returns``).
        antagonist: a second student's own ``RunnerState`` (no curriculum of its own), for a
            teacher with two students (PAIRED's antagonist); ``None`` otherwise.
    """

    params: PyTree
    opt_state: PyTree
    vec_state: VecState
    obs: PyTree
    carry: PyTree
    reset: Array
    key: PRNGKey
    update: Array
    curriculum: RoundState | None = None
    return_norm: ReturnNorm | None = None
    antagonist: RunnerState | None = None


@struct.dataclass
class Transition:
    """One rollout step of every env (leaves [N, ...]; stacked to [T, N, ...])."""

    obs: PyTree
    reset: Array
    action: Array
    log_prob: Array
    value: Array
    reward: Array
    terminated: Array
    truncated: Array
    final_value: Array
    episode_return: Array
    episode_length: Array


@struct.dataclass
class Experience:
    """A student's rollout ready to learn from.

    Attributes:
        batch: the transitions, leaves [T, N, ...].
        advantages: GAE advantages [T, N].
        returns: value targets [T, N].
        start_carry: the recurrent state at the rollout's start (``None`` if feed-forward).
        done: bool [T, N], an episode ended at step t.
    """

    batch: Transition
    advantages: Array
    returns: Array
    start_carry: PyTree
    done: Array


class PPO:
    """A PPO training run of ``config`` on ``env`` (see the module docstring).

    Args:
        config: the run's hyper-parameters.
        env: the env to train on.
        env_params: its Params (shared, or per env with leading axis ``num_envs``); defaults
            to ``env.default_params()``.
        network: an ``ActorCritic`` to use instead of the one ``config`` describes.
        devices: devices that share the envs (default: ``jax.devices()``, every local
            device, and every process's with ``jax.distributed`` initialised). The envs,
            rollouts and minibatch gradients are split along the env axis; parameters are
            replicated and XLA inserts the gradient all-reduce.
        teacher: a curriculum that chooses the levels of each round of
            ``config.round_updates`` updates (``curriculax.curricula``); it must be built for the
            same env. Episodes then replay their level (``config.level_mode`` is ignored) and
            params must be shared, not per env.

    Raises:
        ValueError: invalid params, a network that cannot read the env's observations, a
            teacher for another env, or curriculum rounds shorter than an episode.
    """

    def __init__(
        self,
        config: PPOConfig,
        env: Env,
        env_params: EnvParams | None = None,
        network: ActorCritic | None = None,
        devices: Sequence[jax.Device] | None = None,
        teacher: Teacher | None = None,
    ) -> None:
        if not isinstance(config, PPOConfig):
            raise TypeError(f"config must be a PPOConfig, got {type(config).__name__}")
        self.config = config
        self.env = env
        self.env_params = env.default_params() if env_params is None else env_params
        if jnp.ndim(self.env_params.max_steps) == 0:
            env.validate_params(self.env_params)
        self.obs_space = env.observation_space(self.env_params)
        self.action_space = env.action_space(self.env_params)
        describe = getattr(env, "policy_description", None)
        self.network = network or make_network(
            config.network,
            self.obs_space,
            self.action_space,
            config.hidden_size,
            config.recurrent,
            env.policy_network,
            config.normalize_observations,
            config.init_log_std,
            None if describe is None else describe(),
        )
        self._squash_bounds = _squash_bounds(config, self.action_space)
        if config.normalize_observations and not getattr(self.network, "normalize_obs", False):
            raise ValueError("normalize_observations needs a network built with normalize_obs")
        devices = list(jax.devices() if devices is None else devices)
        if config.num_envs % len(devices):
            raise ValueError(
                f"num_envs ({config.num_envs}) must be divisible by the number of devices "
                f"({len(devices)}) to split the envs across them"
            )
        self.mesh = Mesh(np.array(devices), ("envs",)) if len(devices) > 1 else None
        if teacher is not None:
            if not isinstance(teacher, Teacher):
                kind = type(teacher).__name__
                raise TypeError(f"teacher must be a curricula Teacher, got {kind}")
            if teacher.env != env:
                raise ValueError(f"the teacher was built for {teacher.env!r}, not {env!r}")
            if jnp.ndim(self.env_params.max_steps) != 0:
                raise ValueError("with a teacher, env params must be shared, not per env")
        self.teacher = teacher
        self.rounds: Rounds | None = None
        if teacher is None:
            if config.round_updates is not None:
                raise ValueError("PPOConfig.round_updates applies only with a curriculum")
            self.venv = AutoResetVecEnv(
                env, config.num_envs, mode=config.level_mode, pool_size=config.pool_size
            )
        else:
            self.venv = AutoResetVecEnv(env, config.num_envs, mode="replay")
            max_steps = int(self.env_params.max_steps)
            updates = rounds_for(config.num_steps, max_steps, config.round_updates)
            self.rounds = Rounds(teacher, config.num_envs, updates)
            for message in teacher.run_warnings(config.num_updates // updates, config.num_envs):
                warnings.warn(message, UserWarning, stacklevel=3)
        steps_per_update = config.update_epochs * config.num_minibatches
        if config.anneal_lr:
            self.schedule = optax.linear_schedule(
                config.learning_rate, 0.0, config.num_updates * steps_per_update
            )
        else:
            self.schedule = optax.constant_schedule(config.learning_rate)
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm),
            optax.adam(self.schedule, eps=1e-5),
        )

    # ------------------------------------------------------------------ policy

    def init_params(self, key: PRNGKey) -> PyTree:
        """Fresh network parameters."""
        obs = self.obs_space.sample(key)[None, None]
        carry = self.network.initial_carry(1)
        return self.network.init(key, carry, obs, jnp.zeros((1, 1), bool))

    def policy(
        self, params: PyTree, carry: PyTree, obs: PyTree, reset: Array
    ) -> tuple[PyTree, Any, Array]:
        """One step of the network on a batch: obs leaves [B, ...], reset [B].

        Returns:
            ``(carry, policy, value [B])``; ``policy`` as ``ActorCritic`` gives it, batch [B].
        """
        carry, out, value = self.network.apply(params, carry, obs[None], reset[None])
        return carry, jax.tree.map(lambda x: x[0], out), value[0]

    def act(
        self,
        params: PyTree,
        carry: PyTree,
        obs: PyTree,
        reset: Array,
        key: PRNGKey | None = None,
    ) -> tuple[PyTree, Array]:
        """Actions for a batch of observations: sampled with ``key``, greedy without.

        Returns:
            ``(carry, action)`` with action [B] (discrete) or [B, A] (continuous).
        """
        carry, out, _ = self.policy(params, carry, obs, reset)
        action = greedy_action(out) if key is None else sample_action(key, out)
        return carry, self.env_action(action)

    def env_action(self, action: Array) -> Array:
        """What the env is given for the policy's ``action``: the action itself, or squashed.

        With ``config.squash_actions`` a Gaussian sample (or mean) [..., A] goes through
        ``tanh`` into the Box's bounds; otherwise it is returned as it is (the env clips).
        """
        if self._squash_bounds is None:
            return action
        return squash_action(action, *self._squash_bounds)

    # ------------------------------------------------------------------ devices

    def _shard_envs(self, tree: PyTree, axis: int = 0) -> PyTree:
        """Splits the env-indexed leaves of ``tree`` (along ``axis``) across the devices.

        Leaves whose ``axis`` is at least ``num_envs`` long and divisible by the device count
        are split; the others (params, keys, counters) stay replicated. With one device this
        is the identity. XLA partitions the rest of the program to match (GSPMD), so the same
        code runs on one device or many.
        """
        if self.mesh is None:
            return tree
        count = self.mesh.devices.size
        spec = PartitionSpec(*([None] * axis), "envs")
        sharded = NamedSharding(self.mesh, spec)
        n = self.config.num_envs

        def constrain(x: Array) -> Array:
            if getattr(x, "ndim", 0) > axis and x.shape[axis] % count == 0 and x.shape[axis] >= n:
                return jax.lax.with_sharding_constraint(x, sharded)
            return x

        return jax.tree.map(constrain, tree)

    # ------------------------------------------------------------------ training

    def init(self, key: PRNGKey) -> RunnerState:
        """The start of a run: fresh network, optimiser and envs (and a second student's)."""
        net_key, env_key, teacher_key, key = jax.random.split(key, 4)
        runner = self._new_student(net_key, env_key, key)
        if self.rounds is not None:
            runner = runner.replace(curriculum=self.rounds.init(teacher_key))
            if self.rounds.students == 2:  # its keys from the run's, the student's kept as ever
                keys = jax.random.split(jax.random.fold_in(key, 2), 3)
                runner = runner.replace(antagonist=self._new_student(*keys))
        return self._shard_envs(runner)

    def _new_student(self, net_key: PRNGKey, env_key: PRNGKey, key: PRNGKey) -> RunnerState:
        """A student's fresh network, optimiser and envs (no curriculum); ``key`` is its own."""
        params = self.init_params(net_key)
        obs, vec_state = self.venv.reset(env_key, self.env_params)
        n = self.config.num_envs
        return RunnerState(
            params=params,
            opt_state=self.optimizer.init(_trainable(params)[0]),
            vec_state=vec_state,
            obs=obs,
            carry=self.network.initial_carry(n),
            reset=jnp.ones(n, bool),
            key=key,
            update=jnp.asarray(0, jnp.int32),
            return_norm=ReturnNorm.create(n) if self.config.normalize_returns else None,
        )

    def _rollout(
        self, runner: RunnerState, env_params: EnvParams
    ) -> tuple[RunnerState, Transition, Array, PyTree]:
        """``num_steps`` steps of every env under ``env_params`` (shared or per env).

        Returns:
            ``(runner, transitions [T, N], V(obs after the last step) [N], carry at the start)``.
        """
        no_reset = jnp.zeros(self.config.num_envs, bool)

        def step(runner: RunnerState, _: None) -> tuple[RunnerState, Transition]:
            key, act_key, env_key = jax.random.split(runner.key, 3)
            params = runner.params
            carry, out, value = self.policy(params, runner.carry, runner.obs, runner.reset)
            action = sample_action(act_key, out)
            log_prob, _ = log_prob_entropy(out, action)
            obs, vec_state, reward, terminated, truncated, info = self.venv.step(
                env_key, runner.vec_state, self.env_action(action), env_params
            )
            bootstrap = truncated & ~terminated
            final_value = jax.lax.cond(
                jnp.any(bootstrap),
                lambda: self.policy(params, carry, info["final_obs"], no_reset)[2],
                lambda: jnp.zeros_like(value),
            )
            transition = Transition(
                obs=runner.obs,
                reset=runner.reset,
                action=action,
                log_prob=log_prob,
                value=value,
                reward=reward,
                terminated=terminated,
                truncated=truncated,
                final_value=final_value,
                episode_return=info["episode_return"],
                episode_length=info["episode_length"],
            )
            runner = runner.replace(
                vec_state=vec_state,
                obs=obs,
                carry=carry,
                reset=terminated | truncated,
                key=key,
            )
            return runner, transition

        start_carry = runner.carry
        runner, batch = jax.lax.scan(step, runner, None, self.config.num_steps)
        _, _, last_value = self.policy(runner.params, runner.carry, runner.obs, runner.reset)
        return runner, batch, last_value, start_carry

    def _loss(
        self,
        trainable: PyTree,
        fixed: PyTree,
        carry: PyTree,
        batch: Transition,
        advantages: Array,
        returns: Array,
    ) -> tuple[Array, dict[str, Array]]:
        """PPO's loss on a minibatch of sequences [T, B, ...] (T = 1 when feed-forward).

        The network's variables are ``trainable`` (differentiated) and ``fixed`` (the
        observation statistics, if any) merged.
        """
        params = {**trainable, **fixed}
        _, out, value = self.network.apply(params, carry, batch.obs, batch.reset)
        log_prob, entropy = log_prob_entropy(out, batch.action)
        c = self.config
        return ppo_loss(
            log_prob,
            batch.log_prob,
            advantages,
            value,
            batch.value,
            returns,
            entropy,
            clip_eps=c.clip_eps,
            vf_coef=c.vf_coef,
            ent_coef=c.ent_coef,
            clip_value=c.clip_value,
            normalize_advantages=c.normalize_advantages,
        )

    def _minibatches(
        self, key: PRNGKey, carry: PyTree, batch: Transition, advantages: Array, returns: Array
    ) -> tuple[PyTree, Transition, Array, Array]:
        """Shuffled minibatches, leaves [M, T', B', ...].

        Feed-forward: every env's ``T`` steps are shuffled on their own and minibatch ``m``
        takes ``T / M`` of them from every env (leaves [M, T/M, N, ...]), so a minibatch stays
        split along the env axis like the rollout: on several devices each computes its own
        envs' share with no data crossing devices (a global shuffle would gather the whole
        batch on every device each epoch), and the result does not depend on the device
        count. When ``M`` does not divide ``T``, a global shuffle of the ``T * N`` transitions
        (leaves [M, 1, T*N/M, ...]). Recurrent: whole env sequences, envs shuffled
        (leaves [M, T, N/M, ...]). Only the fields the loss reads are shuffled.
        """
        c = self.config
        m, t, n = c.num_minibatches, c.num_steps, c.num_envs
        used = batch.replace(
            reward=None,
            terminated=None,
            truncated=None,
            final_value=None,
            episode_return=None,
            episode_length=None,
        )
        data = (used, advantages, returns)
        if c.recurrent is None and t % m == 0:
            order = jnp.argsort(jax.random.uniform(key, (t, n)), axis=0)

            def split_steps(x: Array) -> Array:
                x = jnp.take_along_axis(x, order.reshape(order.shape + (1,) * (x.ndim - 2)), 0)
                return x.reshape((m, t // m, n, *x.shape[2:]))

            return None, *self._shard_envs(jax.tree.map(split_steps, data), axis=2)
        if c.recurrent is None:
            perm = jax.random.permutation(key, c.batch_size)

            def split(x: Array) -> Array:
                flat = x.reshape((c.batch_size, *x.shape[2:]))[perm]
                return flat.reshape((m, 1, c.minibatch_size, *x.shape[2:]))

            return None, *jax.tree.map(split, data)
        perm = jax.random.permutation(key, n)
        per = n // m

        def split_envs(x: Array) -> Array:
            x = x[:, perm].reshape((x.shape[0], m, per, *x.shape[2:]))
            return jnp.swapaxes(x, 0, 1)

        batch, advantages, returns = jax.tree.map(split_envs, data)
        carry = jax.tree.map(lambda x: x[perm].reshape((m, per, *x.shape[1:])), carry)
        return carry, batch, advantages, returns

    def update(
        self, runner: RunnerState, step: Array | None = None
    ) -> tuple[RunnerState, dict[str, Array]]:
        """One PPO update: refill or start a round, rollout, GAE, ``update_epochs`` epochs.

        With a two-student teacher (PAIRED) the antagonist (``runner.antagonist``) does the
        same on the same levels, and the round's statistics hold both students' rows.

        Args:
            runner: the run's state.
            step: int32 [], the index of this update, shared by every seed (not vmapped).
                The curriculum's round schedule reads it; without it, ``runner.update`` is
                used, which under ``vmap`` over seeds turns the "new round?" and "evaluate
                now?" ``cond``s into selects that compute both branches on every update.
        """
        c = self.config
        key, refill_key, epoch_key = jax.random.split(runner.key, 3)
        runner = runner.replace(key=key)
        env_params = self.env_params
        if self.rounds is None:
            if c.level_mode == "fresh":
                vec_state = self.venv.refill(refill_key, runner.vec_state, self.env_params)
                runner = runner.replace(vec_state=vec_state)
        else:
            step = runner.update if step is None else step
            runner = jax.lax.cond(
                self.rounds.starts(step),
                lambda r: self._start_round(r, refill_key, step),
                lambda r: r,
                runner,
            )
            env_params = round_params(runner.curriculum.batch, self.env_params)
        runner = self._shard_envs(runner)
        runner, experience = self._experience(runner, env_params)
        lr = self.schedule(_adam_count(runner.opt_state))
        curriculum_metrics = {}
        if self.rounds is None:
            (params, opt_state), losses = self._learn(runner, experience, epoch_key)
        else:
            train = runner.curriculum.batch.train
            played = [experience]
            if runner.antagonist is not None:
                second, second_experience = self._experience(runner.antagonist, env_params)
                second_key, second_epoch_key = jax.random.split(second.key)
                (second_params, second_opt), _ = self._learn_if(
                    train, second, second_experience, second_epoch_key
                )
                second = self._after_learning(
                    second.replace(key=second_key), second_params, second_opt, second_experience
                )
                runner = runner.replace(antagonist=second)
                played.append(second_experience)

            def rows(field: Any) -> Array:  # [T, N], or [students, T, N] with two
                values = [field(e) for e in played]
                return values[0] if len(values) == 1 else jnp.stack(values)

            curriculum = self.rounds.record(
                runner.curriculum,
                self.env,
                rows(lambda e: e.batch.value),
                rows(lambda e: e.advantages),
                rows(lambda e: e.done),
                rows(lambda e: e.batch.episode_return),
            )
            curriculum = self.rounds.end(curriculum, step)
            runner = runner.replace(curriculum=curriculum)
            (params, opt_state), losses = self._learn_if(train, runner, experience, epoch_key)
            curriculum_metrics = self.rounds.metrics(curriculum)
        runner = self._after_learning(runner, params, opt_state, experience)
        batch, done = experience.batch, experience.done
        episodes = jnp.sum(done)
        per_episode = jnp.maximum(episodes, 1).astype(jnp.float32)
        metrics = {
            "env_steps": (runner.update * c.batch_size).astype(jnp.float32),
            "episodes": episodes.astype(jnp.float32),
            "return_mean": jnp.sum(jnp.where(done, batch.episode_return, 0.0)) / per_episode,
            "length_mean": jnp.sum(jnp.where(done, batch.episode_length, 0)) / per_episode,
            "success_rate": jnp.sum(done & self.env.succeeded(batch.episode_return)) / per_episode,
            "learning_rate": jnp.asarray(lr, jnp.float32),
            **({"gamma": self._discount(runner.update - 1)} if c.gamma_end is not None else {}),
            **{name: jnp.mean(value) for name, value in losses.items()},
            **curriculum_metrics,
        }
        return runner, metrics

    def _experience(
        self, runner: RunnerState, env_params: EnvParams
    ) -> tuple[RunnerState, Experience]:
        """A student's rollout under ``env_params`` and its GAE (rewards normalised if asked)."""
        c = self.config
        runner, batch, last_value, start_carry = self._rollout(runner, env_params)
        batch = self._shard_envs(batch, axis=1)
        following = next_values(
            batch.value, last_value, batch.final_value, batch.truncated, batch.terminated
        )
        done = batch.terminated | batch.truncated
        reward = batch.reward
        gamma = self._discount(runner.update)
        if c.normalize_returns:
            return_norm, reward = normalize_rewards(runner.return_norm, reward, done, gamma)
            runner = runner.replace(return_norm=return_norm)
        advantages, returns = gae(
            reward * c.reward_scale,
            batch.value,
            following,
            batch.terminated,
            batch.truncated,
            gamma,
            c.gae_lambda,
        )
        return runner, Experience(batch, advantages, returns, start_carry, done)

    def _discount(self, update: Array) -> Array | float:
        """γ of update ``update`` (int32 [], 0-based): ``gamma``, or linear to ``gamma_end``."""
        c = self.config
        if c.gamma_end is None:
            return c.gamma
        frac = jnp.minimum(update.astype(jnp.float32) / max(c.num_updates - 1, 1), 1.0)
        return jnp.float32(c.gamma) + jnp.float32(c.gamma_end - c.gamma) * frac

    def _learn(
        self, runner: RunnerState, experience: Experience, key: PRNGKey
    ) -> tuple[tuple[PyTree, PyTree], dict[str, Array]]:
        """``update_epochs`` epochs of minibatch Adam steps on ``experience``.

        Returns:
            ``((params, opt_state), losses)``, losses stacked [epochs, minibatches].
        """
        grad_fn = jax.value_and_grad(self._loss, has_aux=True)

        def minibatch_step(
            state: tuple[PyTree, PyTree], minibatch: tuple
        ) -> tuple[tuple[PyTree, PyTree], dict[str, Array]]:
            params, opt_state = state
            trainable, fixed = _trainable(params)
            (_, aux), grads = grad_fn(trainable, fixed, *minibatch)
            updates, opt_state = self.optimizer.update(grads, opt_state, trainable)
            return ({**optax.apply_updates(trainable, updates), **fixed}, opt_state), aux

        def epoch(
            state: tuple[PyTree, PyTree], key: PRNGKey
        ) -> tuple[tuple[PyTree, PyTree], dict[str, Array]]:
            e = experience
            minibatches = self._minibatches(key, e.start_carry, e.batch, e.advantages, e.returns)
            return jax.lax.scan(minibatch_step, state, minibatches)

        state = (runner.params, runner.opt_state)
        return jax.lax.scan(epoch, state, jax.random.split(key, self.config.update_epochs))

    def _learn_if(
        self, train: Array, runner: RunnerState, experience: Experience, key: PRNGKey
    ) -> tuple[tuple[PyTree, PyTree], dict[str, Array]]:
        """``_learn`` when ``train`` (bool []), else the unchanged state and zero losses."""
        skipped = jax.eval_shape(self._learn, runner, experience, key)[1]
        return jax.lax.cond(
            train,
            lambda: self._learn(runner, experience, key),
            lambda: (
                (runner.params, runner.opt_state),
                jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), skipped),
            ),
        )

    def _after_learning(
        self, runner: RunnerState, params: PyTree, opt_state: PyTree, experience: Experience
    ) -> RunnerState:
        """The student after its gradient steps: observation statistics, update count."""
        if self.config.normalize_observations:  # after the gradient steps: ratios start at 1
            obs = experience.batch.obs
            params = observe(params, obs.reshape((-1, *obs.shape[2:])))
        return runner.replace(params=params, opt_state=opt_state, update=runner.update + 1)

    # ------------------------------------------------------------------ curricula

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of the per-update metrics.

        ``METRICS``, ``gamma`` when ``gamma_end`` moves it, then ``curriculum/...`` ones.
        """
        names = (*METRICS, "gamma") if self.config.gamma_end is not None else METRICS
        if self.rounds is None:
            return names
        state = jax.eval_shape(self.rounds.init, jax.random.key(0))
        return (*names, *jax.eval_shape(self.rounds.metrics, state))

    def _start_round(self, runner: RunnerState, key: PRNGKey, step: Array) -> RunnerState:
        """A curriculum round begins: (evaluate for the teacher,) sample, restart every env."""
        eval_key, reset_key = jax.random.split(key)
        curriculum = self.rounds.start(
            runner.curriculum,
            step,
            lambda levels: self._success_on(runner.params, levels, eval_key),
        )
        params = round_params(curriculum.batch, self.env_params)
        runner = self._restart(runner, reset_key, params, curriculum.batch.levels)
        if runner.antagonist is not None:  # the second student plays the same levels
            second_key = jax.random.fold_in(reset_key, 1)
            second = self._restart(runner.antagonist, second_key, params, curriculum.batch.levels)
            runner = runner.replace(antagonist=second)
        return runner.replace(curriculum=curriculum)

    def _restart(
        self, runner: RunnerState, key: PRNGKey, params: EnvParams, levels: PyTree
    ) -> RunnerState:
        """A student's envs restarted on ``levels`` (leaves [N, ...]) under ``params``."""
        n = self.config.num_envs
        obs, vec_state = self.venv.reset(key, params, levels=levels)
        return runner.replace(
            vec_state=vec_state,
            obs=obs,
            carry=self.network.initial_carry(n),
            reset=jnp.ones(n, bool),
        )

    def _success_on(self, params: PyTree, levels: PyTree, key: PRNGKey) -> Array:
        """Success rate float32 [M] of the policy ``params`` on ``levels`` (leaves [M, ...]).

        Each level is played for ``teacher.eval_steps`` steps (episodes that end replay it) with
        sampled actions; its success rate is successful episodes / ended episodes (0 if none).
        """
        teacher = self.teacher
        reset_key, run_key = jax.random.split(key)
        m = jax.tree.leaves(levels)[0].shape[0]
        venv = AutoResetVecEnv(self.env, m, mode="replay")
        obs, vec_state = venv.reset(reset_key, self.env_params, levels=levels)

        def step(carry: tuple, key: PRNGKey) -> tuple[tuple, None]:
            obs, vec_state, net_carry, reset, episodes, successes = carry
            act_key, env_key = jax.random.split(key)
            net_carry, out, _ = self.policy(params, net_carry, obs, reset)
            action = self.env_action(sample_action(act_key, out))
            obs, vec_state, _, terminated, truncated, info = venv.step(
                env_key, vec_state, action, self.env_params
            )
            done = terminated | truncated
            successes = successes + (done & self.env.succeeded(info["episode_return"]))
            return (obs, vec_state, net_carry, done, episodes + done, successes), None

        zeros = jnp.zeros(m, jnp.int32)
        init = (obs, vec_state, self.network.initial_carry(m), jnp.ones(m, bool), zeros, zeros)
        final, _ = jax.lax.scan(step, init, jax.random.split(run_key, teacher.eval_steps))
        episodes, successes = final[4], final[5]
        return (successes / jnp.maximum(episodes, 1)).astype(jnp.float32)

    def run(
        self, runner: RunnerState, num_updates: int, start: Array | int | None = None
    ) -> tuple[RunnerState, dict[str, Array]]:
        """``num_updates`` updates as one scan; metrics stacked to [num_updates].

        Args:
            runner: the run's state.
            num_updates: updates in the scan (static).
            start: updates done before this chunk, shared by every seed: pass it (unvmapped,
                e.g. ``in_axes=None``) when vmapping over seeds with a curriculum, so its rounds
                start and its evaluations run only when due; see ``update``.
        """
        if start is None:
            return jax.lax.scan(lambda r, _: self.update(r), runner, None, num_updates)
        steps = jnp.asarray(start, jnp.int32) + jnp.arange(num_updates, dtype=jnp.int32)
        return jax.lax.scan(self.update, runner, steps)

    def __call__(self, key: PRNGKey) -> tuple[RunnerState, dict[str, Array]]:
        """The whole run: ``init`` then ``config.num_updates`` updates."""
        return self.run(self.init(key), self.config.num_updates, start=0)


def _squash_bounds(config: PPOConfig, space: Any) -> tuple[Array, Array] | None:
    """The Box's bounds (low, high) [A] when ``config.squash_actions``, else ``None``.

    Raises:
        ValueError: squashing asked for actions that are not a Box with finite bounds.
    """
    if not config.squash_actions:
        return None
    if not isinstance(space, Box):
        raise ValueError(
            f"squash_actions maps a Gaussian policy into a Box's bounds; this env's actions are "
            f"{space!r}"
        )
    low, high = np.asarray(space.low, np.float32), np.asarray(space.high, np.float32)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(
            f"squash_actions needs finite action bounds; this env's Box is [{low}, {high}]"
        )
    return jnp.asarray(low), jnp.asarray(high)


def _trainable(params: PyTree) -> tuple[PyTree, PyTree]:
    """The network's variables split into what Adam trains and the observation statistics."""
    trainable = {k: v for k, v in params.items() if k != OBS_NORM}
    fixed = {k: v for k, v in params.items() if k == OBS_NORM}
    return trainable, fixed


def _adam_count(opt_state: PyTree) -> Array:
    """Optimiser steps taken so far (Adam's count inside the chain)."""
    return opt_state[1][0].count


def make_train(
    config: PPOConfig,
    env: Env,
    env_params: EnvParams | None = None,
    network: ActorCritic | None = None,
    devices: Sequence[jax.Device] | None = None,
    teacher: Teacher | None = None,
) -> PPO:
    """A PPO run of ``config`` on ``env``: ``make_train(...)(key)`` trains (jit and vmap it).

    ``devices`` (default: ``jax.devices()``, every process's) share the envs; ``teacher`` is an
    optional curriculum; see ``PPO``.
    """
    return PPO(config, env, env_params, network, devices, teacher)
