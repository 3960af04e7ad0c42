"""``curriculax``: list the environments, roll them out, train, evaluate and replay agents.

Usage::

    curriculax list
    curriculax rollout curriculax/DoorKey-8x8-v0 --num-envs 1024 --steps 256
    curriculax train curriculax/DoorKey-8x8-v0 --total-timesteps 2000000 --out runs/doorkey
    curriculax eval runs/doorkey --greedy
    curriculax replay runs/doorkey --out doorkey.gif
"""

from __future__ import annotations

import argparse
import sys
import time
import typing
from collections.abc import Sequence

import curriculax
from curriculax.cli.training import add_commands, positive
from curriculax.distributed import DistributedError
from curriculax.registrations import MINIWOB_BRIDGE


class UsageError(Exception):
    """A command line argparse cannot read (printed as one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one ``curriculax: error: ...`` line (no usage block)."""

    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _cmd_list(args: argparse.Namespace) -> int:
    if not args.miniwob:
        for env_id in curriculax.registered_ids():
            print(env_id)
        return 0
    import gymnasium

    for env_id, spec in sorted(gymnasium.registry.items()):
        if spec.entry_point == MINIWOB_BRIDGE:
            print(f"{env_id}  MiniWoB++'s page for {spec.kwargs['env_id']} (gymnasium only)")
    return 0


def _cmd_rollout(args: argparse.Namespace) -> int:
    import jax

    from curriculax.autoreset import AutoResetVecEnv
    from curriculax.rollout import random_rollout

    env, params = curriculax.make(args.env_id)
    venv = AutoResetVecEnv(env, args.num_envs, mode=args.level_mode)
    rollout = jax.jit(random_rollout(venv, args.steps))
    reset = jax.jit(venv.reset)
    key = jax.random.key(args.seed)
    key, reset_key, warm_key = jax.random.split(key, 3)
    start = time.perf_counter()
    _, state = reset(reset_key, params)
    state, _ = jax.block_until_ready(rollout(warm_key, state, params))
    print(f"{args.env_id}: compiled in {time.perf_counter() - start:.1f} s")
    episodes, return_sum = 0, 0.0
    start = time.perf_counter()
    for rollout_key in jax.random.split(key, args.repeats):
        state, stats = rollout(rollout_key, state, params)
        episodes += int(stats["episodes"])
        return_sum += float(stats["return_sum"])
    elapsed = time.perf_counter() - start
    steps = args.repeats * args.steps * args.num_envs
    mean_return = return_sum / episodes if episodes else float("nan")
    print(
        f"random policy, {args.num_envs} envs x {args.steps} steps x {args.repeats} rollouts: "
        f"{steps / elapsed:,.0f} steps/s on {jax.devices()[0].device_kind}; "
        f"{episodes} episodes, mean return {mean_return:.3f}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``curriculax`` command."""
    parser = _Parser(prog="curriculax", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print every registered id")
    listing.add_argument(
        "--miniwob",
        action="store_true",
        help="print the bridges to MiniWoB++'s own pages instead (gymnasium ids, not JAX envs; "
        "extra 'miniwob'): evaluation only, e.g. curriculax eval RUN --env ID",
    )
    listing.set_defaults(run=_cmd_list)
    rollout = commands.add_parser("rollout", help="roll out a random policy, print steps/s")
    rollout.add_argument("env_id", help="e.g. curriculax/DoorKey-8x8-v0")
    rollout.add_argument("--num-envs", type=positive, default=1024)
    rollout.add_argument("--steps", type=positive, default=256, help="steps per env per rollout")
    rollout.add_argument("--repeats", type=positive, default=10, help="rollouts to time")
    rollout.add_argument("--level-mode", choices=("fresh", "replay"), default="fresh")
    rollout.add_argument("--seed", type=int, default=0)
    rollout.set_defaults(run=_cmd_rollout)
    add_commands(commands)
    return parser


#: What a command reports as one line and exit code 2 instead of a traceback: bad arguments,
#: bad values (``ValueError``, which checkpoint and replay errors are), a missing extra, and
#: files that cannot be read or written.
USER_ERRORS = (UsageError, ValueError, TypeError, ImportError, OSError, DistributedError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``curriculax`` command.

    Every failure is one line on stderr, ``curriculax: error: ...``, and exit code 2; the
    commands check their arguments before any work starts.
    """
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except USER_ERRORS as error:
        text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"curriculax: error: {text or type(error).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
