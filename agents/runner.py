"""The host loop of a training run: jitted chunks of updates, then log, show progress, checkpoint.

``run_training`` trains ``num_seeds`` agents (vmapped in one program) on a registered env. After
every chunk of updates it appends the chunk's per-update metrics to ``metrics.csv`` (and to
TensorBoard when ``tensorboardX`` is installed), saves ``checkpoint.ckpt`` atomically, draws
what a curriculum's teacher chose into ``curriculum/`` (``curriculum_view``) and updates the
progress bar. Started again on the same folder it resumes from the checkpoint and, since the
checkpoint holds the whole run state (networks, optimiser, envs, PRNG key), ends with exactly the
parameters an uninterrupted run would have.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import curriculax
from curriculax.agents import checkpoints
from curriculax.agents.curriculum_view import FOLDER as CURRICULUM_FOLDER
from curriculax.agents.curriculum_view import CurriculumView
from curriculax.agents.ppo.config import PPOConfig
from curriculax.agents.ppo.train import METRICS, PPO, RunnerState, make_train

CHECKPOINT = "checkpoint.ckpt"
METRICS_CSV = "metrics.csv"
RUN_JSON = "run.json"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a run trains: the env, its options, the PPO config, seeds and chunking.

    Attributes:
        env_id: a registered id, e.g. ``"curriculax/DoorKey-8x8-v0"``.
        config: the PPO hyper-parameters.
        seed: base seed; agent ``i`` uses ``fold_in(key(seed), i)``.
        num_seeds: agents trained together (vmapped).
        env_kwargs: constructor options and Params overrides passed to ``curriculax.make``.
        chunk_updates: updates per jitted chunk (between logs and checkpoints).
        curriculum: a teacher name from ``curriculax.curricula.TEACHERS``, or ``None`` (the
            env's own level distribution, as ``config.level_mode`` says).
        curriculum_options: the teacher's hyper-parameters.
    """

    env_id: str
    config: PPOConfig
    seed: int = 0
    num_seeds: int = 1
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    chunk_updates: int = 10
    curriculum: str | None = None
    curriculum_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        from curriculax.registry import spec as env_spec

        object.__setattr__(self, "env_id", env_spec(self.env_id).id)  # the full registered id
        for name in ("num_seeds", "chunk_updates"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if self.curriculum is None and self.curriculum_options:
            raise ValueError("curriculum_options given without a curriculum")
        if self.curriculum is not None:
            from curriculax.curricula import teacher_class

            teacher_class(self.curriculum)  # an unknown name fails here, before any tracing

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (stored in checkpoints and run.json)."""
        return {
            "env_id": self.env_id,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "num_seeds": self.num_seeds,
            "env_kwargs": self.env_kwargs,
            "chunk_updates": self.chunk_updates,
            "curriculum": self.curriculum,
            "curriculum_options": self.curriculum_options,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSpec:
        """Inverse of ``to_dict``."""
        values = dict(values)
        values["config"] = PPOConfig.from_dict(values["config"])
        return cls(**values)


def build(spec: RunSpec) -> PPO:
    """The env, the teacher and the PPO trainer a spec describes.

    Equal specs get the same trainer object within a process, so the compiled chunks of a run
    are reused when it is resumed, evaluated or extended (no recompilation).
    """
    return _build(_spec_key(spec))


def _spec_key(spec: RunSpec) -> str:
    return json.dumps(spec.to_dict(), sort_keys=True)


@functools.lru_cache(maxsize=8)
def _build(key: str) -> PPO:
    spec = RunSpec.from_dict(json.loads(key))
    env, params = curriculax.make(spec.env_id, **spec.env_kwargs)
    teacher = None
    if spec.curriculum is not None:
        from curriculax.curricula import make_teacher

        teacher = make_teacher(spec.curriculum, env, params, **spec.curriculum_options)
    return make_train(spec.config, env, params, teacher=teacher)


def seed_keys(spec: RunSpec) -> jax.Array:
    """One PRNG key per agent, [num_seeds]."""
    base = jax.random.key(spec.seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(spec.num_seeds))


def _is_key(x: Any) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_disk(runner: RunnerState) -> RunnerState:
    """Every typed PRNG key in the run state (the run's, a teacher's) as its raw uint32 data."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, runner)


def _from_disk(runner: RunnerState, like: RunnerState) -> RunnerState:
    """Inverse of ``_to_disk``: wraps the leaves that are typed keys in ``like`` (shapes)."""
    return jax.tree.map(
        lambda x, t: jax.random.wrap_key_data(jnp.asarray(x)) if _is_key(t) else jnp.asarray(x),
        runner,
        like,
    )


def load_run(path: str | Path) -> tuple[RunSpec, PPO, RunnerState, dict[str, Any]]:
    """A run from its checkpoint (a file, or the run folder holding ``checkpoint.ckpt``).

    Returns:
        ``(spec, trainer, runner, header)``; runner leaves lead with ``num_seeds``.

    Raises:
        checkpoints.CheckpointError: missing, corrupt, or not matching its own spec.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    header, _ = checkpoints.read_header(path)
    try:
        spec = RunSpec.from_dict(header["spec"])
    except (KeyError, TypeError, ValueError) as err:
        raise checkpoints.CheckpointError(f"{path} has no valid run spec: {err}") from None
    trainer = build(spec)
    shapes = jax.eval_shape(jax.vmap(trainer.init), seed_keys(spec))
    template = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), jax.eval_shape(_to_disk, shapes))
    runner, header = checkpoints.load(path, template)
    return spec, trainer, _from_disk(runner, shapes), header


class _Logger:
    """metrics.csv (one row per update and seed) and, if installed, TensorBoard."""

    def __init__(
        self, folder: Path, num_seeds: int, resume_update: int, names: tuple[str, ...] = METRICS
    ) -> None:
        self.path = folder / METRICS_CSV
        self.num_seeds = num_seeds
        self.names = names
        fields = ["update", "seed", *names]
        kept: list[list[str]] = []
        if resume_update and self.path.exists():  # drop rows logged after the checkpoint
            with self.path.open() as f:
                rows = list(csv.reader(f))
            kept = [r for r in rows[1:] if r and int(r[0]) <= resume_update]
        with self.path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(fields)
            writer.writerows(kept)
        self.tensorboard = None
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            pass
        else:
            self.tensorboard = SummaryWriter(str(folder / "tensorboard"))

    def write(self, first_update: int, metrics: dict[str, np.ndarray]) -> None:
        """Metrics of updates ``first_update + 1 ...``; each array [num_seeds, updates]."""
        count = metrics[self.names[0]].shape[1]
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            for u in range(count):
                for s in range(self.num_seeds):
                    row = [first_update + u + 1, s]
                    writer.writerow(row + [f"{float(metrics[m][s, u]):.6g}" for m in self.names])
        if self.tensorboard is not None:
            for u in range(count):
                step = int(metrics["env_steps"][0, u])
                for m in self.names:
                    if m != "env_steps":
                        tag = m if "/" in m else f"train/{m}"
                        self.tensorboard.add_scalar(tag, metrics[m][:, u].mean(), step)
            self.tensorboard.flush()

    def close(self) -> None:
        """Flushes and closes TensorBoard."""
        if self.tensorboard is not None:
            self.tensorboard.close()


class _Progress:
    """A one-line progress bar: steps, steps/s, return, ETA."""

    def __init__(self, total_steps: int, start_steps: int, quiet: bool) -> None:
        self.total = total_steps
        self.start_steps = start_steps
        self.start_time = time.perf_counter()
        self.quiet = quiet

    def show(self, steps: int, mean_return: float, success: float, extra: str = "") -> None:
        """Redraws the line for ``steps`` env steps done (per agent); ``extra`` is appended."""
        if self.quiet:
            return
        elapsed = max(time.perf_counter() - self.start_time, 1e-9)
        rate = (steps - self.start_steps) / elapsed
        eta = (self.total - steps) / rate if rate > 0 else float("inf")
        width = 24
        filled = int(width * steps / self.total)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(
            f"\r[{bar}] {steps:,}/{self.total:,} steps  {rate:,.0f} steps/s  "
            f"return {mean_return:.3f}  success {success:.2f}  {extra}ETA {eta:,.0f}s "
        )
        sys.stderr.flush()

    def close(self) -> None:
        """Ends the line."""
        if not self.quiet:
            sys.stderr.write("\n")


def run_training(
    spec: RunSpec,
    folder: str | Path,
    *,
    resume: bool = True,
    quiet: bool = False,
    stop_after_updates: int | None = None,
    pictures: bool = True,
) -> tuple[RunnerState, PPO]:
    """Trains as ``spec`` says, writing metrics and checkpoints into ``folder``.

    Args:
        spec: the run.
        folder: output folder (created).
        resume: continue from ``folder/checkpoint.ckpt`` when it exists (its spec must equal
            ``spec``); otherwise start afresh (an existing checkpoint is then an error, so
            nothing saved is lost by accident).
        quiet: no progress bar.
        stop_after_updates: stop (after checkpointing) once this many updates are done, as
            if killed there; for tests and for splitting a run over sessions.
        pictures: with a curriculum, draw what the teacher chose after every chunk
            (``curriculum_view``: level sheets, task histograms in ``folder/curriculum`` and
            TensorBoard).

    In a multi-process run (``curriculax.distributed``; every process calls this with the same
    arguments) the envs are split across every process's devices, and process 0 alone writes
    the folder; a checkpoint resumes only with the process count that saved it.

    Returns:
        ``(runner, trainer)``; runner leaves lead with ``num_seeds`` (host arrays, whole, on
        every process of a multi-process run).

    Raises:
        checkpoints.CheckpointError: a corrupt checkpoint, one from a different spec, or one
            saved by another process count.
    """
    folder = Path(folder)
    trainer = build(spec)  # bad options fail here, before the folder is made
    processes = jax.process_count()
    writer = jax.process_index() == 0  # in a multi-process run, process 0 writes every file
    quiet = quiet or not writer
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = folder / CHECKPOINT
    if ckpt.exists():
        if not resume:
            raise checkpoints.CheckpointError(
                f"{ckpt} exists; resume it, or choose another folder (nothing is overwritten)"
            )
        saved_spec, trainer, runner, header = load_run(ckpt)
        if saved_spec != spec:
            raise checkpoints.CheckpointError(
                f"{ckpt} was saved by a different run: saved {saved_spec.to_dict()}, "
                f"asked for {spec.to_dict()}"
            )
        if header.get("processes", 1) != processes:
            raise checkpoints.CheckpointError(
                f"{ckpt} was saved by a run of {header.get('processes', 1)} process(es); this "
                f"run has {processes}: resume it with --num-processes "
                f"{header.get('processes', 1)}"
            )
    else:
        runner = _program(trainer, "init")(seed_keys(spec))
    if writer:
        (folder / RUN_JSON).write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    done = int(_host(runner.update)[0])
    total = spec.config.num_updates
    if stop_after_updates is not None:
        total = min(total, stop_after_updates)
    logger = _Logger(folder, spec.num_seeds, done, trainer.metric_names) if writer else None
    batch = spec.config.batch_size
    progress = _Progress(spec.config.num_updates * batch, done * batch, quiet)
    teacher = trainer.teacher
    view = CurriculumView(trainer) if teacher is not None and pictures and writer else None
    signal = f"curriculum/{teacher.signal}" if teacher is not None and teacher.signal else None
    if teacher is not None and not quiet:
        updates = trainer.rounds.updates
        line = f"curriculum {teacher.name}: rounds of {updates} update(s) = "
        line += f"{updates * spec.config.num_steps} steps per env"
        summary = teacher.summary()
        sys.stderr.write(line + (f"; {summary}" if summary else "") + "\n")
    try:
        while done < total:
            n = min(spec.chunk_updates, total - done)
            runner, metrics = _program(trainer, n)(runner, jnp.asarray(done, jnp.int32))
            metrics = _host(metrics)
            done += n
            saved = _host(_to_disk(runner))  # every process takes part in the gather
            if not writer:
                continue
            logger.write(done - n, metrics)
            checkpoints.save(
                ckpt,
                saved,
                {
                    "spec": spec.to_dict(),
                    "update": done,
                    "processes": processes,
                    "curriculax": curriculax.__version__,
                },
            )
            if view is not None:  # what the teacher chose: level sheets, task histograms
                step = int(metrics["env_steps"][0, -1])
                shown = runner if processes == 1 else _from_disk(saved, runner)
                view.write(shown, folder / CURRICULUM_FOLDER, done, step, logger.tensorboard)
            extra = ""
            if signal is not None:
                extra = f"{signal.split('/')[1]} {float(np.mean(metrics[signal][:, -1])):.2f}  "
            progress.show(
                done * batch,
                float(np.mean(metrics["return_mean"][:, -1])),
                float(np.mean(metrics["success_rate"][:, -1])),
                extra,
            )
    finally:
        progress.close()
        if logger is not None:
            logger.close()
    if processes > 1:  # host copies: what follows (evaluation, replays) runs on one process
        runner = _from_disk(_host(_to_disk(runner)), runner)
    return runner, trainer


def _host(tree: Any) -> Any:
    """``tree``'s arrays as host numpy arrays; across processes, gathered whole on every one.

    In a multi-process run every process must call it at the same point (it is a collective).
    """
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


@functools.lru_cache(maxsize=32)
def _program(trainer: PPO, what: str | int) -> Any:
    """The jitted, seed-vmapped ``init`` (``what="init"``) or chunk of ``what`` updates.

    A chunk takes the updates done so far, shared by the seeds (so a teacher's evaluation
    schedule stays a real branch under ``vmap``).
    """
    if what == "init":
        return jax.jit(jax.vmap(trainer.init))
    return jax.jit(
        jax.vmap(lambda runner, start: trainer.run(runner, what, start), in_axes=(0, None))
    )
