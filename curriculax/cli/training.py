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

from curriculax.distributed import DEFAULT_TIMEOUT

#: PPOConfig fields that have a ``--name`` flag (others via ``--set key=value``); every value is
#: parsed by the field's declared type (``curriculax.options.parse``).
CONFIG_FLAGS = (
    "total_timesteps",
    "num_envs",
    "num_steps",
    "learning_rate",
    "ent_coef",
    "hidden_size",
    "network",
    "recurrent",
)


def _count(low: int) -> Any:
    """An argparse type: an int >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


positive = _count(1)
non_negative = _count(0)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Adds ``train``, ``eval`` and ``replay`` to the ``curriculax`` parser."""
    train = commands.add_parser("train", help="train PPO on an env; plot and replay at the end")
    train.add_argument("env_id", help="e.g. curriculax/DoorKey-8x8-v0")
    train.add_argument("--config", type=Path, help="JSON file of PPOConfig fields")
    for name in CONFIG_FLAGS:
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any PPOConfig field"
    )
    train.add_argument("--env-option", action="append", default=[], metavar="KEY=VALUE")
    train.add_argument(
        "--curriculum",
        choices=[*sorted(_teacher_names()), "none"],
        help="an automatic curriculum (default: the recipe's, if it names one, else none: the "
        "env's own level distribution)",
    )
    train.add_argument(
        "--curriculum-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyper-parameter of the curriculum, e.g. capacity=1000",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--seeds", type=positive, default=1, help="agents trained together (vmapped)"
    )
    train.add_argument("--chunk", type=positive, default=10, help="updates between checkpoints")
    train.add_argument("--out", type=Path, default=Path("runs/latest"))
    train.add_argument("--no-resume", action="store_true", help="refuse an existing checkpoint")
    train.add_argument("--quiet", action="store_true")
    train.add_argument("--replay-episodes", type=non_negative, default=3)
    train.add_argument(
        "--eval-levels",
        type=non_negative,
        default=256,
        help="at the end, every seed's greedy policy on this many fresh levels (0: skip)",
    )
    train.add_argument("--eval-episodes", type=positive, default=1, help="episodes per level")
    train.add_argument(
        "--stop-after-updates",
        type=positive,
        metavar="N",
        help="checkpoint and stop once N updates are done (run the command again to go on)",
    )
    several = train.add_argument_group(
        "several processes (jax.distributed; run the same command on every process)"
    )
    several.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
    several.add_argument("--num-processes", type=positive, metavar="N")
    several.add_argument("--process-id", type=non_negative, metavar="I")
    several.add_argument(
        "--distributed",
        action="store_true",
        help="let JAX detect the cluster (SLURM, Open MPI, ...) instead of the three above",
    )
    several.add_argument(
        "--coordinator-timeout",
        type=positive,
        default=int(DEFAULT_TIMEOUT),
        metavar="S",
        help=f"seconds to wait for the coordinator and the peers (default {DEFAULT_TIMEOUT:.0f})",
    )
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint's policy")
    evaluate.add_argument("checkpoint", type=Path, help="a run folder or checkpoint file")
    evaluate.add_argument(
        "--env",
        action="append",
        default=[],
        help="evaluate on these ids (a MiniWoB++ bridge, curriculax/MiniWoB-<Task>-v0: on the real "
        "pages, --episodes seeded episodes, beside the same episodes in the mock)",
    )
    evaluate.add_argument("--levels", type=positive, default=100, help="fresh levels (no --env)")
    evaluate.add_argument("--episodes", type=positive, default=10, help="episodes per level")
    evaluate.add_argument("--greedy", action="store_true")
    evaluate.add_argument(
        "--worst-case",
        action="store_true",
        help="SFL-style robustness: solve rate on the hardest 1%% and 10%% of --levels levels",
    )
    evaluate.add_argument("--agent", type=non_negative, default=0, help="which seed's agent")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(run=_cmd_eval)

    replay = commands.add_parser("replay", help="record or render a replay to GIF/MP4")
    replay.add_argument("source", type=Path, help="a run folder, checkpoint or replay .npz")
    replay.add_argument(
        "--out",
        type=Path,
        default=Path("replay.gif"),
        help=".gif, .mp4 or .html (web forms); recording a run also writes <stem>.npz beside it",
    )
    replay.add_argument(
        "--overwrite", action="store_true", help="replace existing output files (default: refuse)"
    )
    replay.add_argument("--episodes", type=positive, default=3)
    replay.add_argument("--greedy", action="store_true")
    replay.add_argument("--agent", type=non_negative, default=0)
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--fps", type=positive, default=8)
    replay.set_defaults(run=_cmd_replay)

    recipes = commands.add_parser(
        "recipes", help="the recommended PPO settings `train` starts from, per id"
    )
    recipes.add_argument("env_ids", nargs="*", help="ids (default: every registered id)")
    recipes.set_defaults(run=_cmd_recipes)


def _teacher_names() -> list[str]:
    from curriculax.curricula import TEACHERS

    return list(TEACHERS)


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``, the text still unparsed (later wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} takes KEY=VALUE, got {pair!r}")
        out[key] = raw
    return out


def config_from_args(args: argparse.Namespace) -> Any:
    """The env's recipe, then ``--config``, then the flags, then ``--set`` (later wins).

    Flag and ``--set`` values are parsed by the field's declared type (``PPOConfig.field_types``;
    ``curriculax.options.parse``); ``--config`` is a JSON object whose values already have
    JSON types. ``PPOConfig`` then checks every value.
    """
    from curriculax.agents.ppo import PPOConfig
    from curriculax.options import parse
    from curriculax.recipes import recipe

    types = PPOConfig.field_types()
    values: dict[str, Any] = recipe(args.env_id)
    if args.config is not None:
        try:
            loaded = json.loads(args.config.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read config file {args.config}: {err}") from None
        if not isinstance(loaded, dict):
            raise ValueError(
                f"config file {args.config} must hold a JSON object of PPOConfig fields, got "
                f"{type(loaded).__name__}"
            )
        values.update(loaded)
    for name in CONFIG_FLAGS:
        raw = getattr(args, name)
        if raw is not None:
            values[name] = parse(raw, types[name], f"--{name.replace('_', '-')}")
    for key, raw in _parse_pairs(args.set, "--set").items():
        if key not in types:
            raise ValueError(f"--set: unknown PPOConfig key {key!r}; valid keys: {sorted(types)}")
        values[key] = parse(raw, types[key], f"--set {key}")
    return PPOConfig.from_dict(values)


def env_options_from_args(env_id: str, pairs: list[str]) -> dict[str, Any]:
    """``--env-option KEY=VALUE`` pairs parsed by the env's declared option types.

    A constructor option is parsed by its annotation (a bool takes true/false or 1/0, an int an
    integer, a str the text); a Params field (an array) takes JSON: a number, true/false or a
    list. Text that is neither is an error, never a string passed on.
    """
    import curriculax
    from curriculax.options import option_types, parse
    from curriculax.registry import spec

    types = option_types(spec(env_id).load())
    out: dict[str, Any] = {}
    for key, raw in _parse_pairs(pairs, "--env-option").items():
        where = f"--env-option {key}"
        if key in types:
            out[key] = parse(raw, types[key], where)
            continue
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            _, params = curriculax.make(env_id)
            fields = sorted(type(params).__dataclass_fields__)
            if key not in fields:
                raise ValueError(
                    f"{where}: {spec(env_id).id} has no option {key!r}; static config: "
                    f"{sorted(types)}; params: {fields}"
                ) from None
            raise ValueError(
                f"{where} is a Params field: it takes JSON (a number, true/false or a list), "
                f"got {raw!r}"
            ) from None
    return out


def curriculum_options_from_args(name: str | None, pairs: list[str]) -> dict[str, Any]:
    """``--curriculum-option KEY=VALUE`` pairs parsed by the teacher's declared option types."""
    from curriculax.curricula import teacher_options
    from curriculax.options import parse

    texts = _parse_pairs(pairs, "--curriculum-option")
    if not texts:
        return {}
    if name is None:
        raise ValueError(
            "--curriculum-option needs --curriculum (neither the flag nor the env's recipe "
            "names one)"
        )
    types = teacher_options(name)
    unknown = sorted(set(texts) - set(types))
    if unknown:
        raise ValueError(f"curriculum {name!r} has no options {unknown}; it takes {sorted(types)}")
    return {k: parse(raw, types[k], f"--curriculum-option {k}") for k, raw in texts.items()}


def setup_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], str | None, dict]:
    """``(env_kwargs, curriculum, curriculum_options)``: the recipe's, then the flags.

    ``--env-option`` values override the recipe's env options key by key. ``--curriculum``
    replaces the recipe's curriculum (``none``: train without one) and drops its options unless
    it names the same teacher; ``--curriculum-option`` values then override key by key.
    """
    from curriculax.recipes import recipe_setup

    setup = recipe_setup(args.env_id)
    env_kwargs = {**setup.env_options, **env_options_from_args(args.env_id, args.env_option)}
    if args.curriculum is None or args.curriculum == setup.curriculum:
        curriculum, options = setup.curriculum, dict(setup.curriculum_options)
    else:
        curriculum, options = (None if args.curriculum == "none" else args.curriculum), {}
    options.update(curriculum_options_from_args(curriculum, args.curriculum_option))
    return env_kwargs, curriculum, options


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


def _start_processes(args: argparse.Namespace) -> None:
    """Starts JAX's distributed runtime when the flags ask for several processes."""
    given = (args.coordinator, args.num_processes, args.process_id)
    if args.distributed and any(x is not None for x in given):
        raise ValueError("--distributed detects the cluster: give it without --coordinator")
    if args.distributed or any(x is not None for x in given):
        from curriculax import distributed

        distributed.initialize(*given, timeout=args.coordinator_timeout)


def _cmd_train(args: argparse.Namespace) -> int:
    _start_processes(args)  # before anything touches a JAX backend
    import jax

    from curriculax.agents.evaluation import record
    from curriculax.agents.runner import RunSpec, run_training
    from curriculax.replay import write_video

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file; train writes a run folder there")
    env_kwargs, curriculum, curriculum_options = setup_from_args(args)
    spec = RunSpec(
        env_id=args.env_id,
        config=config_from_args(args),
        seed=args.seed,
        num_seeds=args.seeds,
        env_kwargs=env_kwargs,
        chunk_updates=args.chunk,
        curriculum=curriculum,
        curriculum_options=curriculum_options,
    )
    runner, trainer = run_training(
        spec,
        args.out,
        resume=not args.no_resume,
        quiet=args.quiet,
        stop_after_updates=args.stop_after_updates,
    )
    done = int(runner.update[0])
    if jax.process_count() > 1:
        devices = 1 if trainer.mesh is None else trainer.mesh.devices.size
        index = jax.process_index()
        print(
            f"process {index} of {jax.process_count()}: {done} updates done, the envs split "
            f"across {devices} devices" + (f"; process 0 writes {args.out}/" if index else "")
        )
        if index > 0:
            return 0
    if done < spec.config.num_updates:
        print(
            f"{spec.env_id}: stopped after {done} of {spec.config.num_updates} updates; "
            f"the same command goes on from {args.out / 'checkpoint.ckpt'}"
        )
        return 0
    final = _final_metrics(args.out)
    print(
        f"{spec.env_id}: {spec.config.num_updates * spec.config.batch_size:,} steps x "
        f"{spec.num_seeds} seed(s); final return {final['return_mean']:.3f}, success "
        f"{final['success_rate']:.2f}; wrote {args.out}/"
    )
    try:
        print(f"learning curve: {plot_learning_curve(args.out)}")
    except ImportError as err:  # matplotlib is in the "train" extra, not a core dependency
        print(f"no learning curve ({err}; pip install 'curriculax[train]' draws it)")
    if args.eval_levels > 0:
        report = _evaluate_run(runner, trainer, spec.seed, args.eval_levels, args.eval_episodes)
        (args.out / EVAL_JSON).write_text(json.dumps(report, indent=1) + "\n")
        rates = " ".join(f"{s['solve_rate']:.2f}" for s in report["seeds"])
        returns = " ".join(f"{s['return_mean']:.3f}" for s in report["seeds"])
        print(
            f"greedy on {args.eval_levels} fresh levels x {args.eval_episodes} episode(s), per "
            f"seed: success {rates}; return {returns} ({args.out / EVAL_JSON})"
        )
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


#: ``curriculax train``'s closing evaluation, in the run folder.
EVAL_JSON = "eval.json"
#: Folded into the run's seed key for the closing evaluation's levels and episodes.
EVAL_STREAM = 0xE7A1


def _evaluate_run(runner: Any, trainer: Any, seed: int, levels: int, episodes: int) -> dict:
    """Each seed's greedy solve rate and return on the same fresh levels of the env."""
    import jax

    from curriculax.agents.evaluation import evaluate_seeds

    key = jax.random.fold_in(jax.random.key(seed), EVAL_STREAM)
    per_seed = evaluate_seeds(
        trainer, runner.params, key, num_levels=levels, num_episodes=episodes, greedy=True
    )
    return {
        "levels": levels,
        "episodes": episodes,
        "greedy": True,
        "success_return": float(trainer.env.success_return),
        "seeds": [{"seed": i, **result} for i, result in enumerate(per_seed)],
    }


def _cmd_recipes(args: argparse.Namespace) -> int:
    import curriculax
    from curriculax.agents.ppo import PPOConfig
    from curriculax.recipes import recipe, recipe_setup

    defaults = PPOConfig().to_dict()
    for env_id in args.env_ids or curriculax.registered_ids():
        fields = recipe(env_id)
        PPOConfig.from_dict(fields)  # a recipe that is not a valid config fails here
        shown = {k: v for k, v in fields.items() if v != defaults[k]}
        text = ", ".join(f"{k}={v}" for k, v in shown.items()) or "PPOConfig's defaults"
        setup = recipe_setup(env_id)
        if setup.curriculum is not None:
            options = "".join(f", {k}={v}" for k, v in setup.curriculum_options.items())
            text += f"; curriculum {setup.curriculum}{options}"
        if setup.env_options:
            text += "; env options " + ", ".join(f"{k}={v}" for k, v in setup.env_options.items())
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
    pages = [e for e in args.env if e.startswith("curriculax/MiniWoB-")]
    if pages:
        _eval_pages(args, trainer, params, pages)
        args.env = [e for e in args.env if e not in pages]
        if not args.env:
            return 0
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


def _eval_pages(args: argparse.Namespace, trainer: Any, params: Any, pages: list[str]) -> None:
    """``eval --env curriculax/MiniWoB-<Task>-v0``: the policy on MiniWoB++'s own pages."""
    from curriculax.agents.page_evaluation import evaluate_pages

    for bridge_id in pages:
        out = evaluate_pages(
            trainer, params, bridge_id, episodes=args.episodes, seed=args.seed, greedy=args.greedy
        )
        print(
            f"  {bridge_id}: {out['episodes']} MiniWoB++ episodes (seeds {args.seed}..."
            f"{args.seed + out['episodes'] - 1}): success on the pages {out['page_success']:.3f}, "
            f"on the same episodes in the mock {out['mock_success']:.3f} "
            f"({out['disagreements']} episodes differ); MiniWoB++ reward {out['page_reward']:.3f}"
        )


def _replay_outputs(out: Path, episodes: int, recorded: bool) -> list[Path]:
    """The files ``replay`` writes: the video (or HTML pages) and, when recording, the .npz."""
    from curriculax.replay import html_page

    html = out.suffix.lower() == ".html"
    files = [html_page(out, e) for e in range(episodes)] if html else [out]
    return [*files, out.with_suffix(".npz")] if recorded else files


def _refuse_overwrite(files: list[Path], overwrite: bool) -> None:
    for path in files:
        if path.is_dir():
            raise ValueError(f"{path} is a folder; --out names the file to write")
        if path.exists() and not overwrite:
            raise ValueError(f"{path} exists; nothing was written (pass --overwrite to replace)")
    for folder in {path.parent for path in files}:
        if not folder.is_dir():
            raise ValueError(f"--out's folder {folder} does not exist")


def _cmd_replay(args: argparse.Namespace) -> int:
    import jax

    import curriculax
    from curriculax.agents.evaluation import record
    from curriculax.agents.runner import load_run
    from curriculax.replay import Replay, check_output, write_html, write_video

    check_output(args.out)  # the format first: before anything is loaded or recorded
    recorded = args.source.suffix != ".npz"
    if recorded:
        spec, trainer, runner, _ = load_run(args.source)
        env = curriculax.make(spec.env_id, **spec.env_kwargs)[0]
        check_output(args.out, env)
        params = _agent_params(runner, args.agent)
        written = _replay_outputs(args.out, args.episodes, recorded)
        _refuse_overwrite(written, args.overwrite)
        replay = record(
            trainer,
            params,
            spec.env_id,
            spec.env_kwargs,
            jax.random.key(args.seed),
            args.episodes,
            greedy=args.greedy,
        )
    else:
        replay = Replay.load(args.source)
        env = curriculax.make(replay.env_id, **replay.env_kwargs)[0]
        check_output(args.out, env)
        written = _replay_outputs(args.out, replay.num_episodes, recorded)
        _refuse_overwrite(written, args.overwrite)
    fresh = [path for path in written if not path.exists()]
    try:
        if recorded:
            replay.save(args.out.with_suffix(".npz"))
        if args.out.suffix.lower() == ".html":
            pages = write_html(replay, args.out)
            print(f"wrote {len(pages)} HTML pages: {', '.join(map(str, pages))}")
            return 0
        frames = write_video(replay, args.out, fps=args.fps)
    except BaseException:
        for path in fresh:  # no half-written output left behind
            path.unlink(missing_ok=True)
        raise
    print(f"wrote {args.out}: {replay.num_episodes} episodes, {frames} frames")
    return 0
