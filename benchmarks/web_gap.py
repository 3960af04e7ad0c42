"""Where a web policy's transfer breaks: the mock on imported MiniWoB++ levels vs generated ones.

Plays each seed of a run greedily in the mock (no browser in the loop) on levels imported from
MiniWoB++ seeds ``0..episodes-1`` through the bridge and on as many freshly generated levels of
the run's own id, and prints each seed's success on both with the actions of its first failures
on imported levels. ``--relayout`` also plays the imported levels re-laid out by the generator's
stacked layout (its boxes, menus and calendar under the date box), which tells whether page
geometry is what a policy trips on. Run from benchmarks/:

    python web_gap.py RUN_DIR --episodes 100 --show 2 [--relayout]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from machine_info import describe_machine

import curriculax
from curriculax.agents.runner import load_run
from curriculax.envs.webform import engine
from curriculax.envs.webform.engine import Kind
from curriculax.envs.webform.layout import calendar_geometry, layout, menu_geometry
from curriculax.envs.webform.miniwob import FORM_OPTIONS, MiniWoBBridge
from curriculax.envs.webform.text import decode


def imported_levels(env_id: str, episodes: int) -> list[tuple[str, object]]:
    """``(utterance, level)`` of MiniWoB++ seeds ``0..episodes-1`` (a browser, closed after)."""
    bridge = MiniWoBBridge(env_id)
    try:
        out = []
        for seed in range(episodes):
            _, info = bridge.reset(seed=seed)
            out.append((info["utterance"], jax.tree.map(np.asarray, bridge.imported.level)))
        return out
    finally:
        bridge.close()


def relaid(level, form):
    """``level`` with the generator's stacked layout, menus and calendar (under the date box)."""
    lv = jax.tree.map(jnp.asarray, level)
    n = form.rows - form.calendar_rows
    box = layout(lv.kind[:n], lv.page[:n], lv.owner[:n], jnp.zeros(n, jnp.int32))
    if form.calendar_rows:
        picker = jnp.argmax(lv.kind == Kind.DATEPICKER)
        first, last, start = (int(v) for v in lv.calendar[:3])
        geometry, header = calendar_geometry(box[picker], first, last)
        geometry = geometry.at[2].set(start)
        days = jnp.zeros((form.calendar_rows - 3, 4), jnp.int32)
        box = jnp.concatenate([box, header, days])
        lv = lv.replace(calendar=geometry)
    return lv.replace(box=box, menu=menu_geometry())


def _greedy(trainer, net):
    """A jitted greedy policy: observation [N + K, F] -> action [1]."""
    carry = trainer.network.initial_carry(1)

    @jax.jit
    def act(obs):
        return trainer.act(net, carry, obs[None], jnp.ones(1, bool), None)[1]

    return act


def main() -> int:
    """Scores every seed of a run; prints the table and failure traces."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--show", type=int, default=2, help="failure traces per seed")
    parser.add_argument("--relayout", action="store_true")
    args = parser.parse_args()
    spec, trainer, runner, _ = load_run(args.run)
    env_id = spec.env_id
    form, params = curriculax.make(env_id, **FORM_OPTIONS.get(env_id, {}))
    print(describe_machine(("gymnasium", "miniwob")))
    imported = imported_levels(env_id, args.episodes)
    sample = jax.jit(form.sample_level)
    generated = [sample(jax.random.key(10_000 + i), params) for i in range(args.episodes)]

    @jax.jit
    def start(level):
        state = form.init_state(jax.random.key(0), level, params)
        return state, form.observe(state, params)

    @jax.jit
    def advance(state, action):
        state = state.replace(time=state.time + 1)
        state, _, terminated = form.transition(jax.random.key(0), state, action, params)
        return state, terminated, form.observe(state, params)

    def play(act, level) -> tuple[bool, list[str]]:
        state, obs = start(level)
        kinds, texts = np.asarray(level.kind), np.asarray(level.text)
        trace = []
        for _ in range(int(params.max_steps)):
            action = int(np.asarray(act(obs)).ravel()[0])
            _, row, _ = (int(x) for x in engine.decode_action(action, form.rows, form.slots))
            name = Kind(kinds[row]).name if action else ""
            trace.append(f"{form.describe_action(action)} {name} {decode(texts[row])!r}")
            state, terminated, obs = advance(state, jnp.int32(action))
            if bool(terminated):
                break
        return bool(terminated) and int(state.ended) == 1 and float(state.raw_reward) > 0, trace

    print(f"{env_id}, {args.run}: greedy success in the mock, {args.episodes} levels each")
    header = "| seed | imported (MiniWoB++ seeds) | generated |"
    print(header + (" imported, stacked layout |" if args.relayout else ""))
    print("| --- | --- | --- |" + (" --- |" if args.relayout else ""))
    for agent in range(int(runner.update.shape[0])):
        net = jax.tree.map(lambda x, i=agent: x[i], runner.params)
        act = _greedy(trainer, net)
        on_imported = [play(act, level) for _, level in imported]
        on_generated = [play(act, level)[0] for level in generated]
        row = [np.mean([w for w, _ in on_imported]), np.mean(on_generated)]
        if args.relayout:
            row.append(np.mean([play(act, relaid(level, form))[0] for _, level in imported]))
        print(f"| {agent} | " + " | ".join(f"{x:.2f}" for x in row) + " |")
        failures = [(u, t) for (u, _), (w, t) in zip(imported, on_imported, strict=True) if not w]
        for utterance, trace in failures[: args.show]:
            print(f"    seed {agent} fails: {utterance}")
            for line in trace:
                print(f"        {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
