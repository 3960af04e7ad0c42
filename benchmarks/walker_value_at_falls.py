"""Does a walker run's critic see its falls coming? V(s) against the return that followed.

A walker episode is deterministic given its state and a greedy policy, so the discounted return
G_t that follows each state is what an exact critic would predict. This plays one seed of a
trained run greedily on fresh tracks, computes G_t with the run's discount and reward scale
(a fall ends the episode, nothing is bootstrapped after it), and prints the critic's mean V and
the mean G over the states 1-10, 10-50, 50-150 and 150-400 steps before each fall, and over the
states of episodes that did not fall (docs/decisions.md, "The critic does not see a fall
coming").

Run::

    .venv/bin/python benchmarks/walker_value_at_falls.py RUN_DIR [--seed 1] [--tracks 64]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.agents.runner import load_run

#: A step whose reward is below this ended in a fall (TeachMyAgent's -100).
FALL_REWARD = -50.0
#: Step ranges before a fall, [low, high).
WINDOWS = ((1, 10), (10, 50), (50, 150), (150, 400))


def play(run: str, seed: int, tracks: int, max_steps: int) -> dict[str, np.ndarray]:
    """Greedy episodes of ``seed`` on ``tracks`` fresh tracks: V, reward, ended, per step [L, T]."""
    _, trainer, runner, _ = load_run(run)
    env, env_params = trainer.env, trainer.env_params
    params = jax.tree.map(lambda x: x[seed], runner.params)
    keys = jax.random.split(jax.random.key(3), tracks)
    levels = jax.vmap(env.sample_level, (0, None))(keys, env_params)

    def episode(level, key):
        obs, state = env.reset_to_level(key, level, env_params)

        def step(carry, step_key):
            obs, state, ended, net = carry
            batch = jax.tree.map(lambda x: x[None], obs)
            net, policy, value = trainer.policy(params, net, batch, jnp.zeros(1, bool))
            action = policy[0][0]  # the Gaussian's mean: the greedy action
            nxt, new, reward, term, trunc, _ = env.step(step_key, state, action, env_params)
            keep = lambda a, b: jax.tree.map(lambda x, y: jnp.where(ended, y, x), a, b)  # noqa: E731
            carry = (keep(nxt, obs), keep(new, state), ended | term | trunc, net)
            return carry, (value[0], jnp.where(ended, 0.0, reward), ended)

        start = (obs, state, jnp.asarray(False), trainer.network.initial_carry(1))
        _, out = jax.lax.scan(step, start, jax.random.split(key, max_steps))
        return out

    run_keys = jax.random.split(jax.random.key(4), tracks)
    value, reward, ended = jax.device_get(jax.jit(jax.vmap(episode))(levels, run_keys))
    return {"value": value, "reward": reward, "ended": ended, "config": trainer.config}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a walker run's folder (curriculax train --out)")
    parser.add_argument("--seed", type=int, default=1, help="which of the run's seeds")
    parser.add_argument("--tracks", type=int, default=64, help="fresh tracks, one episode each")
    parser.add_argument("--max-steps", type=int, default=2000, help="steps per episode")
    args = parser.parse_args()
    out = play(args.run, args.seed, args.tracks, args.max_steps)
    value, reward, ended, config = out["value"], out["reward"], out["ended"], out["config"]
    alive = ~ended
    # G_t = r_t * scale + gamma * G_{t+1}, cut where the episode has ended
    following = np.zeros_like(reward)
    acc = np.zeros(reward.shape[0])
    for t in range(reward.shape[1] - 1, -1, -1):
        acc = reward[:, t] * config.reward_scale + config.gamma * acc * alive[:, t]
        following[:, t] = acc
    fall = (reward < FALL_REWARD) & alive
    fell = fall.any(axis=1)
    print(
        f"{args.run} seed {args.seed}: {args.tracks} tracks, {fell.sum()} falls, mastered "
        f"{np.mean(reward.sum(axis=1) > 230):.3f}; gamma {config.gamma}, clip_value "
        f"{config.clip_value}, reward x {config.reward_scale}"
    )
    for low, high in WINDOWS:
        v, g = [], []
        for i in np.flatnonzero(fell):
            t = int(np.argmax(fall[i]))
            window = slice(max(t - high + 1, 0), max(t - low + 1, 0))
            v.append(value[i, window])
            g.append(following[i, window])
        if fell.any():
            v_all, g_all = np.concatenate(v), np.concatenate(g)
            print(
                f"{low:>3}-{high:<3} steps before a fall: V {v_all.mean():6.2f}  "
                f"G {g_all.mean():6.2f}  V - G {np.mean(v_all - g_all):6.2f}"
            )
    if (~fell).any():
        kept = alive & ~fell[:, None]
        print(
            f"episodes without a fall: V {value[kept].mean():6.2f}  G {following[kept].mean():6.2f}"
            f"  |V - G| {np.abs(value - following)[kept].mean():.2f}"
        )


if __name__ == "__main__":
    main()
