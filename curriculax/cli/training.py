"""``curriculax train``, ``eval`` and ``replay``: the agents' side of the command line.

``train`` runs PPO (``curriculax.agents.runner``) into an output folder, resuming when the folder
holds a checkpoint, then draws the learning curve (``learning_curve.png``) and records a replay
of the trained policy (``replay.npz`` and ``replay.gif``). ``eval`` loads a checkpoint and
reports return and solve rate on fresh levels or on listed envs (e.g. the held-out mazes);
``replay`` records episodes of a checkpoint's policy, or re-renders a replay file, to GIF/MP4.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

#: ``--name`` flags mapped to PPOConfig fields (others via ``--set key=value``).
CONFIG_FLAGS = {
    "total_timesteps": int,
    "num_envs": int,
    "num_steps": int,
    "learning_rate": float,
    "ent_coef": float,
    "hidden_size": int,
    "network": str,
    "recurrent": str,
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Adds ``train``, ``eval`` and ``replay`` to the ``curriculax`` parser."""
    train = commands.add_parser("train", help="train PPO on an env; plot and replay at the end")
    train.add_argument("env_id", help="e.g. curriculax/DoorKey-8x8-v0")
    train.add_argument("--config", type=Path, help="JSON file of PPOConfig fields")
    for name, kind in CONFIG_FLAGS.items():
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind)
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any PPOConfig field"
    )
    train.add_argument("--env-option", action="append", default=[], metavar="KEY=VALUE")
    train.add_argument(
        "--curriculum",
        choices=sorted(_teacher_names()),
        help="an automatic curriculum (default: the env's own level distribution)",
    )
    train.add_argument(
        "--curriculum-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyper-parameter of the curriculum, e.g. capacity=1000",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--seeds", type=int, default=1, help="agents trained together (vmapped)")
    train.add_argument("--chunk", type=int, default=10, help="updates between checkpoints")
    train.add_argument("--out", type=Path, default=Path("runs/latest"))
    train.add_argument("--no-resume", action="store_true", help="refuse an existing checkpoint")
    train.add_argument("--quiet", action="store_true")
    train.add_argument("--replay-episodes", type=int, default=3)
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint's policy")
    evaluate.add_argument("checkpoint", type=Path, help="a run folder or checkpoint file")
    evaluate.add_argument("--env", action="append", default=[], help="evaluate on these ids")
    evaluate.add_argument("--levels", type=int, default=100, help="fresh levels (no --env)")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes per level")
    evaluate.add_argument("--greedy", action="store_true")
    evaluate.add_argument(
        "--worst-case",
        action="store_true",
        help="SFL-style robustness: solve rate on the hardest 1%% and 10%% of --levels levels",
    )
    evaluate.add_argument("--agent", type=int, default=0, help="which seed's agent")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(run=_cmd_eval)

    replay = commands.add_parser("replay", help="record or render a replay to GIF/MP4")
    replay.add_argument("source", type=Path, help="a run folder, checkpoint or replay .npz")
    replay.add_argument(
        "--out", type=Path, default=Path("replay.gif"), help=".gif, .mp4 or .html (web forms)"
    )
    replay.add_argument("--episodes", type=int, default=3)
    replay.add_argument("--greedy", action="store_true")
    replay.add_argument("--agent", type=int, default=0)
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--fps", type=int, default=8)
    replay.set_defaults(run=_cmd_replay)

    recipes = commands.add_parser(
        "recipes", help="the recommended PPO settings `train` starts from, per id"
    )
    recipes.add_argument("env_ids", nargs="*", help="ids (default: every registered id)")
    recipes.set_defaults(run=_cmd_recipes)


def _teacher_names() -> list[str]:
    from curriculax.curricula import TEACHERS

    return list(TEACHERS)


def _parse_pairs(pairs: list[str], what: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values read as JSON when they parse)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} takes KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def config_from_args(args: argparse.Namespace) -> Any:
    """The env's recipe, then ``--config``, then the flags, then ``--set`` (later wins)."""
    from curriculax.agents.ppo import PPOConfig
    from curriculax.recipes import recipe

    values: dict[str, Any] = recipe(args.env_id)
    if args.config is not None:
        try:
            values.update(json.loads(args.config.read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read config file {args.config}: {err}") from None
    values.update({k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None})
    values.update(_parse_pairs(args.set, "--set"))
    if values.get("recurrent") in ("none", "None"):
        values["recurrent"] = None
    return PPOConfig.from_dict(values)


def _agent_params(runner: Any, agent: int) -> Any:
    import jax

    seeds = int(runner.update.shape[0])
    if not 0 <= agent < seeds:
        raise ValueError(f"--agent must be in [0, {seeds}), got {agent}")
    return jax.tree.map(lambda x: x[agent], runner.params)


def plot_learning_curve(folder: Path) -> Path:
    """Draws mean return and success rate against env steps from ``metrics.csv``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from curriculax.agents.runner import METRICS_CSV

    by_seed: dict[int, list[tuple[float, float, float]]] = {}
    with (folder / METRICS_CSV).open() as f:
        for row in csv.DictReader(f):
            by_seed.setdefault(int(row["seed"]), []).append(
                (float(row["env_steps"]), float(row["return_mean"]), float(row["success_rate"]))
            )
    fig, (ax_r, ax_s) = plt.subplots(1, 2, figsize=(9, 3.2))
    for seed, rows in sorted(by_seed.items()):
        steps, returns, success = zip(*rows, strict=True)
        ax_r.plot(steps, returns, label=f"seed {seed}", lw=1)
        ax_s.plot(steps, success, lw=1)
    ax_r.set(xlabel="env steps", ylabel="mean episode return", ylim=(0, 1.02))
    ax_s.set(xlabel="env steps", ylabel="success rate", ylim=(0, 1.02))
    if len(by_seed) <= 8:
        ax_r.legend(fontsize=7)
    spec = json.loads((folder / "run.json").read_text())
    fig.suptitle(f"PPO on {spec['env_id']}", fontsize=10)
    fig.tight_layout()
    path = folder / "learning_curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _cmd_train(args: argparse.Namespace) -> int:
    import jax

    from curriculax.agents.evaluation import record
    from curriculax.agents.runner import RunSpec, run_training
    from curriculax.replay import write_video

    spec = RunSpec(
        env_id=args.env_id,
        config=config_from_args(args),
        seed=args.seed,
        num_seeds=args.seeds,
        env_kwargs=_parse_pairs(args.env_option, "--env-option"),
        chunk_updates=args.chunk,
        curriculum=args.curriculum,
        curriculum_options=_parse_pairs(args.curriculum_option, "--curriculum-option"),
    )
    runner, trainer = run_training(spec, args.out, resume=not args.no_resume, quiet=args.quiet)
    final = _final_metrics(args.out)
    print(
        f"{spec.env_id}: {spec.config.num_updates * spec.config.batch_size:,} steps x "
        f"{spec.num_seeds} seed(s); final return {final['return_mean']:.3f}, success "
        f"{final['success_rate']:.2f}; wrote {args.out}/"
    )
    print(f"learning curve: {plot_learning_curve(args.out)}")
    if args.replay_episodes > 0:
        replay = record(
            trainer,
            _agent_params(runner, 0),
            spec.env_id,
            spec.env_kwargs,
            jax.random.key(spec.seed),
            args.replay_episodes,
        )
        replay.save(args.out / "replay.npz")
        try:
            frames = write_video(replay, args.out / "replay.gif")
        except ImportError as err:
            print(f"replay saved to {args.out / 'replay.npz'}; no GIF: {err}")
        else:
            print(f"replay: {args.out / 'replay.gif'} ({frames} frames, {replay.num_episodes} ep.)")
    return 0


def _cmd_recipes(args: argparse.Namespace) -> int:
    import curriculax
    from curriculax.agents.ppo import PPOConfig
    from curriculax.recipes import recipe

    defaults = PPOConfig().to_dict()
    for env_id in args.env_ids or curriculax.registered_ids():
        fields = recipe(env_id)
        PPOConfig.from_dict(fields)  # a recipe that is not a valid config fails here
        shown = {k: v for k, v in fields.items() if v != defaults[k]}
        text = ", ".join(f"{k}={v}" for k, v in shown.items()) or "PPOConfig's defaults"
        print(f"{curriculax.registry.spec(env_id).id}: {text}")
    return 0


def _final_metrics(folder: Path) -> dict[str, float]:
    """Mean over seeds of the last update's metrics."""
    from curriculax.agents.runner import METRICS_CSV

    with (folder / METRICS_CSV).open() as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["update"]) for r in rows)
    final = [r for r in rows if int(r["update"]) == last]
    return {
        k: sum(float(r[k]) for r in final) / len(final) for k in ("return_mean", "success_rate")
    }


def _cmd_eval(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from curriculax.agents.evaluation import evaluate, evaluate_envs, worst_case
    from curriculax.agents.runner import load_run

    spec, trainer, runner, header = load_run(args.checkpoint)
    params = _agent_params(runner, args.agent)
    key = jax.random.key(args.seed)
    print(f"checkpoint: {spec.env_id}, {header['update']} updates, agent {args.agent}")
    if args.env:
        results = evaluate_envs(
            trainer,
            params,
            args.env,
            key,
            num_episodes=args.episodes,
            greedy=args.greedy,
            **spec.env_kwargs,
        )
        for env_id, summary in results.items():
            print(
                f"  {env_id}: solve rate {summary['solve_rate']:.2f}, "
                f"return {summary['return_mean']:.3f}"
            )
        solve = np.mean([s["solve_rate"] for s in results.values()])
        print(f"mean solve rate over {len(results)} envs: {solve:.3f}")
        return 0
    if args.worst_case:
        cvar = worst_case(trainer, params, key, num_levels=args.levels, num_episodes=args.episodes)
        print(
            f"{args.levels} fresh levels x {args.episodes} episodes: mean solve rate "
            f"{cvar['mean']:.3f}; hardest 10% {cvar['cvar_10']:.3f}; hardest 1% "
            f"{cvar['cvar_1']:.3f} (ranked on one set of episodes, scored on another)"
        )
        return 0
    level_key, run_key = jax.random.split(key)
    levels = jax.vmap(trainer.env.sample_level, (0, None))(
        jax.random.split(level_key, args.levels), trainer.env_params
    )
    result = jax.jit(
        lambda p, lv, k: evaluate(trainer, p, lv, k, num_episodes=args.episodes, greedy=args.greedy)
    )(params, levels, run_key)
    summary = result.summary()
    print(
        f"{args.levels} fresh levels x {args.episodes} episodes: solve rate "
        f"{summary['solve_rate']:.3f}, return {summary['return_mean']:.3f}"
    )
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    import jax

    from curriculax.agents.evaluation import record
    from curriculax.agents.runner import load_run
    from curriculax.replay import Replay, write_html, write_video

    if args.source.suffix == ".npz":
        replay = Replay.load(args.source)
    else:
        spec, trainer, runner, _ = load_run(args.source)
        replay = record(
            trainer,
            _agent_params(runner, args.agent),
            spec.env_id,
            spec.env_kwargs,
            jax.random.key(args.seed),
            args.episodes,
            greedy=args.greedy,
        )
        replay.save(args.out.with_suffix(".npz"))
    if args.out.suffix.lower() == ".html":
        pages = write_html(replay, args.out)
        print(f"wrote {len(pages)} HTML pages: {', '.join(map(str, pages))}")
        return 0
    frames = write_video(replay, args.out, fps=args.fps)
    print(f"wrote {args.out}: {replay.num_episodes} episodes, {frames} frames")
    return 0
