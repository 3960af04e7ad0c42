"""Replay files: what is needed to re-simulate episodes exactly, and their rendering to video.

A replay holds, for E episodes of one registered env: the env id and options, the Params, each
episode's level and PRNG key, and its actions. Re-simulating resets to the level with the
episode's reset key and steps with ``fold_in(step_key, t)``, the same keys the recorder used, so
the episode comes back bit for bit; frames come from ``env.render``. Files are ``.npz`` archives
with a JSON header; a file that is not a replay, or is damaged, raises ``ReplayError``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.types import Array, EnvParams, PRNGKey, PyTree

FORMAT = "curriculax-replay"
FORMAT_VERSION = 1

#: What a replay renders to, by the output file's suffix (``write_video``, ``write_html``).
OUTPUT_FORMATS = {
    ".gif": "an animated GIF (imageio, the render extra)",
    ".mp4": "an MP4 video (imageio with imageio-ffmpeg or av)",
    ".html": "one HTML page per episode, <stem>_<e>.html (web-form envs only)",
}


class ReplayError(ValueError):
    """A replay file is missing, corrupt, or does not fit its env."""


def episode_keys(key: PRNGKey) -> tuple[PRNGKey, PRNGKey]:
    """``(reset_key, step_key)`` of an episode; step ``t`` uses ``fold_in(step_key, t)``."""
    reset_key, step_key = jax.random.split(key)
    return reset_key, step_key


@dataclasses.dataclass
class Replay:
    """E recorded episodes of one env.

    Attributes:
        env_id: registered id.
        env_kwargs: options given to ``curriculax.make`` (JSON-serialisable).
        params: the env's Params (one, shared by the episodes).
        levels: the episodes' levels, leaves [E, ...].
        keys: uint32 key data [E, 2] (``jax.random.key_data`` of each episode's key).
        actions: [E, T] (discrete) or [E, T, A] actions; entries past ``lengths`` are ignored.
        lengths: int32 [E], steps of each episode.
    """

    env_id: str
    env_kwargs: dict[str, Any]
    params: EnvParams
    levels: PyTree
    keys: np.ndarray
    actions: np.ndarray
    lengths: np.ndarray

    @property
    def num_episodes(self) -> int:
        """E."""
        return int(self.lengths.shape[0])

    def save(self, path: str | os.PathLike) -> None:
        """Writes the replay as ``.npz`` (written to a temporary name, then renamed)."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "keys": np.asarray(self.keys),
            "actions": np.asarray(self.actions),
            "lengths": np.asarray(self.lengths),
        }
        level_leaves = jax.tree.leaves(self.levels)
        param_leaves = jax.tree.leaves(self.params)
        arrays.update({f"level_{i}": np.asarray(x) for i, x in enumerate(level_leaves)})
        arrays.update({f"param_{i}": np.asarray(x) for i, x in enumerate(param_leaves)})
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "num_level_leaves": len(level_leaves),
            "num_param_leaves": len(param_leaves),
        }
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Replay:
        """Reads a replay and checks it against its env's level and Params structure.

        Raises:
            ReplayError: missing file, not a replay, damaged, or not fitting the env.
        """
        import curriculax

        path = Path(path)
        if not path.is_file():
            raise ReplayError(f"no replay at {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
            raise ReplayError(f"{path} is not a readable replay file: {err}") from None
        try:
            header = json.loads(bytes(arrays["header"]).decode())
        except (KeyError, json.JSONDecodeError, UnicodeDecodeError):
            raise ReplayError(f"{path} has no valid replay header") from None
        if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
            raise ReplayError(f"{path} is not a {FORMAT} v{FORMAT_VERSION} file")
        env, params = curriculax.make(header["env_id"], **header["env_kwargs"])
        level_def = jax.tree.structure(env.level_shape(params))
        param_def = jax.tree.structure(params)
        try:
            level_leaves = [arrays[f"level_{i}"] for i in range(header["num_level_leaves"])]
            param_leaves = [arrays[f"param_{i}"] for i in range(header["num_param_leaves"])]
            keys, actions, lengths = arrays["keys"], arrays["actions"], arrays["lengths"]
        except KeyError as err:
            raise ReplayError(f"{path} is missing the array {err}") from None
        if len(level_leaves) != level_def.num_leaves or len(param_leaves) != param_def.num_leaves:
            raise ReplayError(f"{path} does not fit {header['env_id']}'s levels or Params")
        episodes = lengths.shape[0]
        if keys.shape != (episodes, 2) or actions.shape[0] != episodes:
            raise ReplayError(f"{path} has inconsistent episode counts")
        if lengths.min(initial=0) < 0 or lengths.max(initial=0) > actions.shape[1]:
            raise ReplayError(f"{path} has episode lengths outside its action arrays")
        levels = jax.tree.unflatten(level_def, level_leaves)
        want = jax.tree.leaves(env.level_shape(params))
        for got, expected in zip(level_leaves, want, strict=True):
            if got.shape[1:] != tuple(expected.shape) or got.shape[0] != episodes:
                raise ReplayError(f"{path}: level arrays do not fit {header['env_id']}")
        return cls(
            env_id=header["env_id"],
            env_kwargs=header["env_kwargs"],
            params=jax.tree.unflatten(param_def, [jnp.asarray(x) for x in param_leaves]),
            levels=levels,
            keys=keys,
            actions=actions,
            lengths=lengths,
        )


@functools.partial(jax.jit, static_argnums=(0, 5))
def _resimulate(
    env: Any, params: EnvParams, level: PyTree, key: PRNGKey, actions: Array, render: bool
) -> tuple:
    """Resets to ``level`` and applies every action [T] (one compile per env and T)."""
    reset_key, step_key = episode_keys(key)
    _, state = env.reset_to_level(reset_key, level, params)
    first = env.render(state, params) if render else jnp.zeros(())

    def step(state: Any, x: tuple[Array, Array]) -> tuple[Any, tuple]:
        t, action = x
        _, state, reward, terminated, truncated, _ = env.step(
            jax.random.fold_in(step_key, t), state, action, params
        )
        frame = env.render(state, params) if render else jnp.zeros(())
        return state, (reward, terminated, truncated, frame)

    _, out = jax.lax.scan(step, state, (jnp.arange(actions.shape[0]), actions))
    return first, out


def simulate(replay: Replay, episode: int, render: bool = True) -> dict[str, np.ndarray]:
    """Re-simulates one episode.

    Every episode of a replay runs the same compiled program (all of its actions, padded to the
    replay's longest); the steps past the episode's length are dropped.

    Returns:
        ``rewards`` [L], ``terminated`` [L], ``truncated`` [L] and, with ``render``, ``frames``
        uint8 [L + 1, H, W, 3] (the start and every step), for the episode's length L.
    """
    import curriculax

    env, _ = curriculax.make(replay.env_id, **replay.env_kwargs)
    level = jax.tree.map(lambda x: jnp.asarray(x[episode]), replay.levels)
    key = jax.random.wrap_key_data(jnp.asarray(replay.keys[episode], jnp.uint32))
    length = int(replay.lengths[episode])
    first, (rewards, terminated, truncated, frames) = _resimulate(
        env, replay.params, level, key, jnp.asarray(replay.actions[episode]), render
    )
    out = {
        "rewards": np.asarray(rewards)[:length],
        "terminated": np.asarray(terminated)[:length],
        "truncated": np.asarray(truncated)[:length],
    }
    if render:
        out["frames"] = np.concatenate([np.asarray(first)[None], np.asarray(frames)[:length]])
    return out


def check_output(path: str | os.PathLike, env: Any = None) -> str:
    """Checks, before any episode is simulated, that a replay can be written to ``path``.

    Args:
        path: the output file; its suffix picks the format (``OUTPUT_FORMATS``).
        env: the replay's env, when known (``.html`` needs one with ``to_html``).

    Returns:
        The suffix, lower case.

    Raises:
        ReplayError: a suffix that is not an output format (the message lists them), or a
            format this env or this installation cannot write.
        ImportError: imageio missing (install the ``render`` extra).
    """
    import importlib.util

    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        listed = "; ".join(f"{k}: {v}" for k, v in OUTPUT_FORMATS.items())
        shown = f"suffix {suffix!r}" if suffix else "no suffix"
        raise ReplayError(f"cannot write a replay to {path} ({shown}); the formats are {listed}")
    if suffix == ".html":
        if env is not None and not hasattr(env, "to_html"):
            raise ReplayError(
                f"{type(env).__name__} has no HTML export (only the web forms do); write "
                "a .gif or .mp4"
            )
        return suffix
    if importlib.util.find_spec("imageio") is None:
        raise ImportError("writing replays needs imageio: pip install 'curriculax[render]'")
    if suffix == ".mp4" and not any(
        importlib.util.find_spec(m) is not None for m in ("imageio_ffmpeg", "av")
    ):
        raise ReplayError(
            "writing .mp4 needs an ffmpeg backend for imageio: pip install imageio-ffmpeg "
            "(or av); or write a .gif"
        )
    return suffix


def write_video(replay: Replay, path: str | os.PathLike, fps: int = 8) -> int:
    """Renders every episode, one after another, to a GIF or MP4 (by suffix) with imageio.

    The format is checked (``check_output``) before any episode is simulated.

    Returns:
        Number of frames written.

    Raises:
        ReplayError: a suffix other than ``.gif`` or ``.mp4``, an MP4 without an ffmpeg
            backend, or ``fps`` not a positive int.
        ImportError: imageio missing (install the ``render`` extra).
    """
    if check_output(path) not in (".gif", ".mp4"):
        raise ReplayError(f"write_video writes .gif or .mp4, not {path} (see write_html)")
    if not isinstance(fps, int) or isinstance(fps, bool) or fps < 1:
        raise ReplayError(f"fps must be a positive int, got {fps!r}")
    import imageio.v2 as imageio

    frames = []
    for e in range(replay.num_episodes):
        frames.extend(simulate(replay, e)["frames"])
    path = Path(path)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    else:
        imageio.mimsave(path, frames, fps=fps)
    return len(frames)


def html_page(path: str | os.PathLike, episode: int) -> Path:
    """Where ``write_html(replay, path)`` writes episode ``episode``: ``<stem>_<e>.html``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_{episode}.html")


def write_html(replay: Replay, path: str | os.PathLike) -> list[Path]:
    """Writes each episode as a real HTML page (envs with ``to_html``: the web forms).

    Episode ``e`` goes to ``<stem>_<e>.html`` beside ``path``: the form as the episode left it
    (typed text, ticks, page), with its actions listed below it. The same page without the final
    state (``to_html(level)``) is what the browser check replays actions in.

    Returns:
        The paths written.

    Raises:
        ReplayError: the replay's env cannot export HTML.
    """
    import html as html_text

    import curriculax

    env, _ = curriculax.make(replay.env_id, **replay.env_kwargs)
    if not hasattr(env, "to_html"):
        raise ReplayError(f"{replay.env_id} has no HTML export (only the web forms do)")
    step = jax.jit(env.step)
    path = Path(path)
    written = []
    for e in range(replay.num_episodes):
        level = jax.tree.map(lambda x, e=e: jnp.asarray(x[e]), replay.levels)
        key = jax.random.wrap_key_data(jnp.asarray(replay.keys[e], jnp.uint32))
        reset_key, step_key = episode_keys(key)
        _, state = jax.jit(env.reset_to_level)(reset_key, level, replay.params)
        names = []
        for t in range(int(replay.lengths[e])):
            action = jnp.asarray(replay.actions[e][t])
            names.append(env.describe_action(int(action)))
            _, state, *_ = step(jax.random.fold_in(step_key, t), state, action, replay.params)
        page = env.to_html(jax.device_get(level), jax.device_get(state))
        steps = "".join(f"<li>{html_text.escape(n)}</li>" for n in names)
        log = f'<ol id="actions" style="margin-top:24px">{steps}</ol>'
        out = html_page(path, e)
        out.write_text(page.replace("</body>", f"{log}</body>"))
        written.append(out)
    return written
