"""PPO training throughput of curriculax beside rejax on DoorKey-8x8, in one interleaved run.

What is compared: a whole PPO training run, ``jax.jit(train)(key)`` (or ``jax.jit(jax.vmap(train))``
over ``--seeds`` keys), of

* rejax 0.1.3's ``PPO`` on XLand-MiniGrid's ``MiniGrid-DoorKey-8x8`` (7x7x2 egocentric view
  without occlusion, 6 actions), through ``XLandGymnax``, an adapter written here that gives
  XLand-MiniGrid the gymnax interface rejax calls (see its docstring);
* curriculax's PPO (``make_train``) on ``curriculax/DoorKey-8x8-v0`` (7x7x3 view with MiniGrid's
  occlusion, 7 actions), with ``RejaxMLP``, a network defined here with rejax's default
  discrete architecture; and again with curriculax's default network (``network="auto"``: the
  grid encoder, which embeds the cell codes), an extra row that is *not* the same network.

Same task and step limit: both DoorKey-8x8 builds default to MiniGrid's ``10 * 8 * 8 = 640``
steps (XLand-MiniGrid's ``DoorKey.default_params`` uses the same formula); the script sets 640
on both explicitly. Same networks: separate actor and critic MLPs, ``--hidden`` (64, 64) with
rejax's default activation (swish; ``--activation``), flax's default init, on the flattened
observation. Same batch shape and hyper-parameters: ``num_envs``, ``num_steps``, epochs,
minibatches, learning rate (constant: curriculax's ``anneal_lr`` is off, as rejax has no
schedule), γ, λ, clip (policy and value), entropy and value coefficients, gradient clip 0.5,
per-minibatch advantage normalisation.

Differences left in, all small next to the networks' and envs' work: rejax clips each gradient
element (``optax.clip``) and keeps two Adam optimisers (actor, critic), curriculax clips the
global norm with one; rejax treats a time-limit end as terminal, curriculax bootstraps from the
final observation on truncation (one extra critic pass, only in steps where an episode was
truncated); each library resets episodes its own way (rejax: XLand-MiniGrid's
``GymAutoResetWrapper``, which under ``vmap`` generates a level for every env on every step and
selects; curriculax: its auto-reset pool, refilled once per update).

Turned off in rejax: its evaluation callback (128 greedy episodes of up to 640 steps every
``eval_freq`` steps), replaced by one that does nothing, with ``skip_initial_evaluation`` and
``eval_freq = total_timesteps``, so its training is one ``fori_loop`` over the updates. Each run's
step count is checked against the library's own counter (rejax's ``global_step``, curriculax's
``update``) after the first run.

Every configuration is compiled ahead of time (``jax.jit(train).lower(key).compile()``: trace,
lower, XLA compile; reported apart) and then run ``--repeats`` times, interleaved (A B C A B C...;
round r uses the same key in every configuration). No separate warm-up run: the executables are
compiled already. Reported: median (min-max) of steps/s (wall) and steps per CPU-second of the
process (all threads), steps = env steps of all seeds.

The peers are not dependencies of curriculax; install them in a separate venv::

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install -e ".[bench,dev]" rejax
    /tmp/benchvenv/bin/python benchmarks/ppo_peers.py [--repeats 3] [--seeds 1] [--out FILE]

Prints a Markdown table (and appends it to ``--out``).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from machine_info import describe_machine
from report import emit, spread

import curriculax
from curriculax.agents.ppo import PPOConfig, make_train

TASK = "DoorKey-8x8"
OURS_ID, XLAND_ID = "curriculax/DoorKey-8x8-v0", "MiniGrid-DoorKey-8x8"
MAX_STEPS = 10 * 8 * 8  # MiniGrid's default for DoorKey-8x8, and both libraries'


class Trainer(NamedTuple):
    """One library's training run.

    Attributes:
        train: ``train(key)``, the whole run of one seed.
        steps: env steps of that run.
        check: ``check(output) -> env steps`` the library counted (all seeds).
        params: network parameters (actor and critic together).
    """

    train: Callable
    steps: int
    check: Callable[[Any], int]
    params: int


def count(tree: Any) -> int:
    """Scalars in the array leaves of a pytree (of arrays or shapes)."""
    return sum(leaf.size for leaf in jax.tree.leaves(tree))


# --------------------------------------------------------------------------- rejax side


class XLandGymnax:
    """XLand-MiniGrid as the gymnax env rejax 0.1.3 calls (five-value ``step``, auto-reset).

    rejax uses ``reset(key, params) -> (obs, state)``, ``step(key, state, action, params) ->
    (obs, state, reward, done, info)`` (gymnax's pre-1.0 API: ``done`` = terminated or truncated,
    and rejax does not bootstrap on it), ``observation_space(params).shape``, and
    ``action_space(params)``, which must be a gymnax ``Discrete`` for rejax to build a
    categorical policy. The state is XLand-MiniGrid's ``TimeStep``; its ``step`` is keyless (the
    state carries its own key), so ``key`` is unused. The episode ending in a step is reset in the
    same step by XLand-MiniGrid's ``GymAutoResetWrapper``, as gymnax's ``step`` does.
    Observations stay uint8, as XLand-MiniGrid gives them; rejax's first ``Dense`` promotes them
    to float32 (``RejaxMLP`` casts them explicitly).
    """

    def __init__(self, env_id: str, max_steps: int):
        import xminigrid
        from xminigrid.wrappers import GymAutoResetWrapper

        env, self.default_params = xminigrid.make(env_id, max_steps=max_steps)
        self.env = GymAutoResetWrapper(env)

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        timestep = self.env.reset(params, key)
        return timestep.observation, timestep

    def step(
        self, key: jax.Array, state: Any, action: jax.Array, params: Any
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, dict]:
        timestep = self.env.step(params, state, action)
        return timestep.observation, timestep, timestep.reward, timestep.last(), {}

    def observation_space(self, params: Any) -> Any:
        from gymnax.environments import spaces

        shape = self.env.observation_shape(params)
        return spaces.Box(0, 255, shape, jnp.uint8)

    def action_space(self, params: Any) -> Any:
        from gymnax.environments import spaces

        return spaces.Discrete(self.env.num_actions(params))


def rejax_train(args: argparse.Namespace, total: int) -> Trainer:
    """The rejax PPO run of ``total`` env steps per seed, its evaluation turned off."""
    import rejax

    env = XLandGymnax(XLAND_ID, MAX_STEPS)
    algo = rejax.PPO.create(
        env=env,
        env_params=env.default_params,
        agent_kwargs={"hidden_layer_sizes": args.hidden, "activation": args.activation},
        total_timesteps=total,
        eval_freq=total,
        skip_initial_evaluation=True,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        num_epochs=args.epochs,
        num_minibatches=args.minibatches,
        learning_rate=args.lr,
        gamma=args.gamma,
        gae_lambda=args.gae_lambda,
        clip_eps=args.clip_eps,
        ent_coef=args.ent_coef,
        vf_coef=args.vf_coef,
        max_grad_norm=args.max_grad_norm,
    )
    algo = algo.replace(eval_callback=lambda algo, ts, rng: ())

    def check(out: Any) -> int:
        ts, _ = out
        return int(jnp.sum(ts.global_step))

    nets = jax.eval_shape(algo.initialize_network_params, jax.random.key(0))
    params = count((nets["actor_ts"].params, nets["critic_ts"].params))
    return Trainer(algo.train, total, check, params)


# --------------------------------------------------------------------------- curriculax side


class RejaxMLP(nn.Module):
    """rejax's default discrete PPO networks as one curriculax network.

    A separate actor and critic, each an MLP over the flattened observation (``hidden`` layers,
    ``activation``) with a linear head, flax's default initialisation, as rejax's
    ``DiscretePolicy`` and ``VNetwork``. Called as curriculax's ``ActorCritic``: ``(carry, obs
    [T, B, ...], reset [T, B]) -> (carry, logits [T, B, A], value [T, B])``, carry ``None``.
    """

    action_dim: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "swish"
    obs_ndim: int = 3

    def initial_carry(self, batch: int) -> None:
        """A feed-forward network carries nothing."""
        return None

    @nn.compact
    def __call__(self, carry: None, obs: jax.Array, reset: jax.Array) -> tuple:
        x = obs.astype(jnp.float32)
        x = x.reshape((*x.shape[: x.ndim - self.obs_ndim], -1))
        act = getattr(nn, self.activation)

        def mlp(h: jax.Array) -> jax.Array:
            for size in self.hidden:
                h = act(nn.Dense(size)(h))
            return h

        logits = nn.Dense(self.action_dim)(mlp(x))
        value = nn.Dense(1)(mlp(x))[..., 0]
        return carry, logits, value


def ours_train(args: argparse.Namespace, total: int, network: str) -> Trainer:
    """The curriculax PPO run; ``network`` is "rejax" (``RejaxMLP``) or a ``PPOConfig`` name."""
    env, params = curriculax.make(OURS_ID, max_steps=MAX_STEPS)
    config = PPOConfig(
        total_timesteps=total,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        update_epochs=args.epochs,
        num_minibatches=args.minibatches,
        learning_rate=args.lr,
        anneal_lr=False,
        gamma=args.gamma,
        gae_lambda=args.gae_lambda,
        clip_eps=args.clip_eps,
        clip_value=True,
        ent_coef=args.ent_coef,
        vf_coef=args.vf_coef,
        max_grad_norm=args.max_grad_norm,
        normalize_advantages=True,
        network="mlp" if network == "rejax" else network,
        hidden_size=args.hidden[0],
    )
    module = None
    if network == "rejax":
        n = int(env.action_space(params).n)
        module = RejaxMLP(n, tuple(args.hidden), args.activation)
    ppo = make_train(config, env, params, network=module)

    def check(out: Any) -> int:
        runner, _ = out
        return int(jnp.sum(runner.update)) * config.batch_size

    params = count(jax.eval_shape(ppo.init_params, jax.random.key(0)))
    return Trainer(ppo, config.num_updates * config.batch_size, check, params)


# --------------------------------------------------------------------------- timing


class Run:
    """One configuration: compiled ahead of time, then timed repeatedly.

    Args:
        label: the table's first cells.
        trainer: the library's run.
        seeds: seeds trained together (``vmap``) when > 1.
    """

    def __init__(self, label: tuple[str, ...], trainer: Trainer, seeds: int):
        self.label, self.trainer, self.seeds = label, trainer, seeds
        self.steps = trainer.steps * seeds
        fn = jax.vmap(trainer.train) if seeds > 1 else trainer.train
        start = time.perf_counter()
        self.fn = jax.jit(fn).lower(self.key(0)).compile()
        self.compile_s = time.perf_counter() - start
        self.samples: list[tuple[float, float]] = []

    def key(self, round_: int) -> jax.Array:
        key = jax.random.key(round_)
        return jax.random.split(key, self.seeds) if self.seeds > 1 else key

    def run(self, round_: int) -> None:
        key = self.key(round_)
        wall, cpu = time.perf_counter(), time.process_time()
        out = jax.block_until_ready(self.fn(key))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not self.samples:
            counted = self.trainer.check(out)
            if counted != self.steps:
                raise RuntimeError(f"{self.label[0]} counted {counted} steps, not {self.steps}")
        self.samples.append((self.steps / wall, self.steps / cpu))
        self.run_s = wall


def medians(run: Run) -> tuple[float, float]:
    return tuple(statistics.median(s[i] for s in run.samples) for i in (0, 1))


def table(runs: list[Run], reference: Run, args: argparse.Namespace, load: float) -> list[str]:
    lines = [
        f"### PPO training throughput, {TASK}, rejax vs curriculax",
        "",
        f"Machine: {describe_machine(('rejax', 'xminigrid', 'gymnax', 'flax', 'optax'))}; "
        f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        f"PPO: {args.num_envs} envs x {args.num_steps} steps per update, {args.epochs} epochs x "
        f"{args.minibatches} minibatches, lr {args.lr} (constant), γ {args.gamma}, "
        f"λ {args.gae_lambda}, clip {args.clip_eps}, ent {args.ent_coef}, vf {args.vf_coef}, "
        f"grad clip {args.max_grad_norm}; {reference.steps // args.seeds} env steps per seed, "
        f"{args.seeds} seed(s) (vmap); max_steps {MAX_STEPS}; {args.repeats} interleaved rounds, "
        "median (min–max); steps = env steps of all seeds. Compile: AOT trace + lower + compile.",
        "",
        "| library | network | parameters | env / view | compile s | run s (median) "
        "| steps/s (wall) | steps per CPU-s | vs rejax (wall / CPU-s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ref_wall, ref_cpu = medians(reference)
    for run in runs:
        wall, cpu = medians(run)
        ratio = "1.00x" if run is reference else f"{wall / ref_wall:.2f}x / {cpu / ref_cpu:.2f}x"
        run_s = statistics.median(run.steps / s[0] for s in run.samples)
        cells = (
            *run.label[:2],
            f"{run.trainer.params:,}",
            run.label[2],
            f"{run.compile_s:.1f}",
            f"{run_s:.1f}",
            spread([s[0] for s in run.samples]),
            spread([s[1] for s in run.samples]),
            ratio,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-timesteps", type=int, default=1_048_576, help="per seed")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained together (vmap)")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minibatches", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--clip-eps", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.01)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help="MLP widths")
    parser.add_argument("--activation", default="swish", help="flax.linen name (rejax default)")
    parser.add_argument("--no-default-network", action="store_true", help="skip that extra row")
    parser.add_argument("--out", help="also append the table to this file")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    batch = args.num_envs * args.num_steps
    total = args.total_timesteps // batch * batch  # whole updates, the same for both
    if total < batch:
        parser.error(f"--total-timesteps must be at least num_envs * num_steps = {batch}")
    mlp = f"actor + critic MLP {'x'.join(map(str, args.hidden))}, {args.activation}"
    xland_view = f"XLand-MiniGrid `{XLAND_ID}`, 7×7×2, no occlusion"
    ours_view = f"`{OURS_ID}`, 7×7×3, occlusion"
    configs = [
        (("rejax", mlp, xland_view), functools.partial(rejax_train, args, total)),
        (("curriculax", mlp, ours_view), functools.partial(ours_train, args, total, "rejax")),
    ]
    if not args.no_default_network:
        default = "default (`auto`: grid encoder, NOT the same network)"
        make_default = functools.partial(ours_train, args, total, "auto")
        configs.append((("curriculax", default, ours_view), make_default))
    runs = []
    for label, make in configs:
        runs.append(Run(label, make(), args.seeds))
        print(f"compiled {label[0]} ({label[1]}) in {runs[-1].compile_s:.1f} s", flush=True)
    for round_ in range(args.repeats):
        for run in runs:
            run.run(round_)
            print(f"round {round_}: {run.label[0]} ({run.label[1]}) {run.run_s:.1f} s", flush=True)

    lines = table(runs, runs[0], args, load)
    emit(lines, args.out)


if __name__ == "__main__":
    main()
