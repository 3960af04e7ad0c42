"""What a run's teacher chooses, as pictures: level sheets and task-parameter histograms.

After every chunk of a curriculum run, ``CurriculumView.write`` puts into ``<run>/curriculum/``
(and into TensorBoard, when a writer is given):

* ``levels_<update>.png`` (TensorBoard image ``curriculum/levels``): the first ``max_levels``
  levels the teacher handed out in the latest round (the one the chunk ended in), each rendered
  at its start under the Params its episodes run under;
* ``top_levels_<update>.png`` (``curriculum/top_levels``), for teachers that keep scored levels
  (``Teacher.top_levels``: PLR, Robust PLR, ACCEL, SFL): the highest-scored stored levels, best
  first, each with its score written under it;
* ``params_<update>.png`` (histograms ``curriculum/params/<name>``), for parameter-space teachers
  (``Teacher.task_dims``: ALP-GMM, ADR): the distribution over the round's envs of each task
  dimension, in env units, against the env's bounds.

Everything shows seed 0 of the run. Levels are rendered by one jitted, vmapped function, built
once per view, on exactly ``max_levels`` levels each time (shorter lists are padded and the extra
tiles dropped), so a run compiles it once. Sheets are tiled and labelled in numpy (a 3x5 bitmap
font), so a chunk costs two small renders and a PNG or two. Sheets are written with Pillow (which
matplotlib, the ``train`` extra's plotting library, installs) or imageio, histograms with
matplotlib; an output whose library is missing (TensorBoard: tensorboardX, and Pillow for its
images) is skipped quietly.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from curriculax.curricula.rounds import round_params
from curriculax.types import Array, EnvParams, PyTree

if TYPE_CHECKING:
    from curriculax.agents.ppo.train import PPO, RunnerState

#: The run folder's subfolder for the pictures.
FOLDER = "curriculum"
#: Longest side, in pixels, a tile is shrunk to (by an integer box filter) at most.
MAX_TILE = 320
#: Label strips (white), their ink (black), and the separators (grey: seen on dark grids and on
#: white forms alike) and their width in pixels.
_PAPER = np.array([255, 255, 255], np.uint8)
_INK = np.array([0, 0, 0], np.uint8)
_RULE = np.array([128, 128, 128], np.uint8)
_SEPARATOR = 2

# A 3x5 bitmap font for scores: rows of each glyph, "#" inked.
_GLYPHS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ".": ("...", "...", "...", "...", ".#."),
    "-": ("...", "...", "###", "...", "..."),
    "+": ("...", ".#.", "###", ".#.", "..."),
    "e": (".#.", "#.#", "###", "#..", ".##"),
    "n": ("...", "##.", "#.#", "#.#", "#.#"),
    "a": ("...", ".##", "#.#", "#.#", ".##"),
    "i": (".#.", "...", ".#.", ".#.", ".#."),
    "f": (".##", "#..", "##.", "#..", "#.."),
    " ": ("...", "...", "...", "...", "..."),
}
_FONT = {c: np.array([[ch == "#" for ch in row] for row in g], bool) for c, g in _GLYPHS.items()}


def tile_sheet(tiles: np.ndarray, labels: list[str] | None = None, columns: int = 4) -> np.ndarray:
    """Tiles in a grid with thin grey separators, each optionally labelled underneath.

    Args:
        tiles: uint8 [K, H, W, 3], K >= 1.
        labels: K short strings of digits, ``.``, ``-``, ``+``, ``e``, ``nan``, ``inf`` (other
            characters are left blank), written under each tile; ``None`` for no labels.
        columns: tiles per row (fewer when K is smaller).

    Returns:
        uint8 [rows * (H + label) + separators, cols * W + separators, 3].
    """
    tiles = np.asarray(tiles, np.uint8)
    k, h, w, _ = tiles.shape
    if labels is not None:
        if len(labels) != k:
            raise ValueError(f"{k} tiles need {k} labels, got {len(labels)}")
        scale = max(2, w // 70)
        strip = np.empty((k, 7 * scale, w, 3), np.uint8)
        strip[:] = _PAPER
        for i, text in enumerate(labels):
            _write(strip[i], text, scale)
        tiles = np.concatenate([tiles, strip], axis=1)
        h = tiles.shape[1]
    cols = max(1, min(columns, k))
    rows = math.ceil(k / cols)
    sep = _SEPARATOR
    sheet = np.empty((rows * (h + sep) + sep, cols * (w + sep) + sep, 3), np.uint8)
    sheet[:] = _RULE
    for i in range(k):
        r, c = divmod(i, cols)
        top, left = sep + r * (h + sep), sep + c * (w + sep)
        sheet[top : top + h, left : left + w] = tiles[i]
    return sheet


def _write(strip: np.ndarray, text: str, scale: int) -> None:
    """Writes ``text`` centred in ``strip`` (uint8 [7 * scale, W, 3], changed in place)."""
    advance = 4 * scale
    width = len(text) * advance - scale
    left = max(0, (strip.shape[1] - width) // 2)
    for i, ch in enumerate(text):
        glyph = _FONT.get(ch)
        if glyph is None:
            continue
        mask = np.kron(glyph, np.ones((scale, scale), bool))
        x = left + i * advance
        region = strip[scale : scale + mask.shape[0], x : x + mask.shape[1]]
        region[mask[: region.shape[0], : region.shape[1]]] = _INK


def score_label(score: float) -> str:
    """A score as at most about 7 characters (``0.523``, ``-12.4``, ``1.2e+03``)."""
    return f"{score:.3g}" if abs(score) < 1e4 else f"{score:.1e}"


def _shrink(image: Array, factor: int) -> Array:
    """uint8 [H, W, 3] box-filtered down by an integer ``factor`` (edges cropped)."""
    if factor == 1:
        return image
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor, 3)
    return jnp.mean(blocks.astype(jnp.float32), axis=(1, 3)).round().astype(jnp.uint8)


class CurriculumView:
    """Renders and writes what ``trainer``'s teacher chooses (see the module docstring).

    Args:
        trainer: a PPO trainer with a teacher (``trainer.teacher`` not ``None``).
        max_levels: tiles per sheet.

    Attributes:
        renders: whether the env renders (without ``render`` only histograms are written).
        render: the jitted, vmapped renderer (when ``renders``), compiled once per view.
    """

    def __init__(self, trainer: PPO, max_levels: int = 8) -> None:
        if trainer.teacher is None:
            raise ValueError("a CurriculumView needs a trainer with a teacher")
        self.trainer = trainer
        self.teacher = trainer.teacher
        self.max_levels = max_levels
        env, shared = trainer.env, trainer.env_params
        self._shared = jax.tree.map(np.asarray, shared)
        keys = jax.random.split(jax.random.key(0), max_levels)

        def picture(key: Array, level: PyTree, params: EnvParams) -> Array:
            return env.render(env.reset_to_level(key, level, params)[1], params)

        try:
            shape = jax.eval_shape(
                picture, keys[0], self.teacher.level_template(), self.trainer.env_params
            ).shape
        except NotImplementedError:
            self.renders = False
        else:
            self.renders = True
            factor = max(1, math.ceil(max(shape[:2]) / MAX_TILE))
            #: jitted: keys [K], levels [K, ...], Params [K] -> uint8 tiles [K, h, w, 3].
            self.render = jax.jit(jax.vmap(lambda k, lv, p: _shrink(picture(k, lv, p), factor)))
            self._keys = keys
        k = max_levels
        #: jitted: the seed-vmapped teacher state -> seed 0's ``top_levels(state, k)``.
        self._top = jax.jit(lambda s: self.teacher.top_levels(jax.tree.map(lambda x: x[0], s), k))
        top_shape = jax.eval_shape(
            lambda key: self.teacher.top_levels(self.teacher.init(key, 1), k), jax.random.key(0)
        )
        self._has_top = self.renders and top_shape is not None

    # ----------------------------------------------------------------- arrays

    def _tiles(self, levels: PyTree, params: EnvParams | None, count: int) -> np.ndarray:
        """Renders the first ``count`` of ``levels`` (host leaves [>= 1, ...]): uint8 [count, ...].

        ``params`` has leaves [>= 1] per level, or is ``None`` for the trainer's shared Params.
        Inputs are padded (repeated) to ``max_levels`` rows, so every call has one shape.
        """
        n = jax.tree.leaves(levels)[0].shape[0]
        rows = np.arange(self.max_levels) % min(n, count)
        levels = jax.tree.map(lambda x: np.asarray(x)[rows], levels)
        if params is None:
            params = jax.tree.map(
                lambda x: np.broadcast_to(x, (self.max_levels, *x.shape)), self._shared
            )
        else:
            params = jax.tree.map(lambda x: np.asarray(x)[rows], params)
        return np.asarray(self.render(self._keys, levels, params))[:count]

    def level_sheet(self, runner: RunnerState) -> np.ndarray | None:
        """The latest round's first levels (seed 0) as one sheet, uint8 [H, W, 3].

        ``None`` when the env does not render.
        """
        if not self.renders:
            return None
        batch = jax.tree.map(lambda x: x[0], runner.curriculum.batch)
        levels = jax.tree.map(np.asarray, batch.levels)
        params = None
        if batch.params is not None:
            params = jax.tree.map(np.asarray, round_params(batch, self.trainer.env_params))
        n = jax.tree.leaves(levels)[0].shape[0]
        return tile_sheet(self._tiles(levels, params, min(n, self.max_levels)))

    def top_level_sheet(self, runner: RunnerState) -> np.ndarray | None:
        """The teacher's highest-scored stored levels (seed 0), scores underneath.

        ``None`` when the teacher keeps no scored levels, holds none yet, or the env does not
        render.
        """
        if not self._has_top:
            return None
        levels, scores = jax.device_get(self._top(runner.curriculum.teacher))
        stored = int(np.sum(~np.isneginf(scores)))  # best first; -inf rows hold no level
        if stored == 0:
            return None
        tiles = self._tiles(levels, None, stored)
        return tile_sheet(tiles, [score_label(float(s)) for s in scores[:stored]])

    def task_params(self, runner: RunnerState) -> dict[str, np.ndarray]:
        """Each task dimension's values over the round's envs (seed 0): name -> float [N]."""
        params = runner.curriculum.batch.params
        if params is None:
            return {}
        return {
            name: np.asarray(getattr(params, name)[0], np.float64)
            for name in self.teacher.task_dims
        }

    # ----------------------------------------------------------------- files and TensorBoard

    def write(
        self, runner: RunnerState, folder: str | Path, update: int, step: int, tensorboard: Any
    ) -> list[Path]:
        """Writes this chunk's pictures into ``folder`` and, if given, to TensorBoard.

        Args:
            runner: the run state after the chunk (leaves lead with ``num_seeds``).
            folder: the pictures' folder (created), e.g. ``<run>/curriculum``.
            update: updates done (names the files ``..._<update:06d>.png``).
            step: the TensorBoard step (env steps per agent).
            tensorboard: a ``tensorboardX.SummaryWriter``, or ``None``.

        Returns:
            The files written.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        images = {"levels": self.level_sheet(runner), "top_levels": self.top_level_sheet(runner)}
        can_image = tensorboard is not None and _have("PIL")
        for name, sheet in images.items():
            if sheet is None:
                continue
            path = folder / f"{name}_{update:06d}.png"
            if _save_png(path, sheet):
                written.append(path)
            if can_image:
                tensorboard.add_image(f"curriculum/{name}", sheet, step, dataformats="HWC")
        values = self.task_params(runner)
        if values:
            path = folder / f"params_{update:06d}.png"
            if self._plot_params(path, values, update):
                written.append(path)
            if tensorboard is not None:
                for name, v in values.items():
                    tensorboard.add_histogram(f"curriculum/params/{name}", v, step)
        if tensorboard is not None:
            tensorboard.flush()
        return written

    def _plot_params(self, path: Path, values: dict[str, np.ndarray], update: int) -> bool:
        """Histograms of ``values`` (name -> [N]) in the env's bounds; False without matplotlib."""
        if not _have("matplotlib"):
            return False
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        bounds = self.trainer.env.param_bounds()
        cols = min(3, len(values))
        rows = math.ceil(len(values) / cols)
        fig = Figure(figsize=(max(4.0, 3.2 * cols), 2.3 * rows + 0.4))
        FigureCanvasAgg(fig)
        for i, (name, v) in enumerate(values.items()):
            ax = fig.add_subplot(rows, cols, i + 1)
            low, high = bounds.get(name, (float(v.min()), float(v.max())))
            if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
                low, high = float(v.min()) - 0.5, float(v.max()) + 0.5
            integer = np.issubdtype(np.asarray(getattr(self._shared, name)).dtype, np.integer)
            if integer and high - low <= 60:
                bins: Any = np.arange(low - 0.5, high + 1.5)
            else:
                bins = np.linspace(low, high, 21)
            ax.hist(v, bins=bins, color="tab:blue", rwidth=0.85 if integer else None)
            ax.set_xlim(bins[0], bins[-1])
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=bool(integer)))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(name, fontsize=9)
            ax.tick_params(labelsize=7)
        envs = len(next(iter(values.values())))
        fig.suptitle(
            f"{self.teacher.name}: the latest round's tasks\n"
            f"after update {update}, {envs} envs, seed 0",
            fontsize=9,
        )
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        return True


def _have(module: str) -> bool:
    """Whether ``module`` is installed (an optional extra)."""
    return importlib.util.find_spec(module) is not None


def _save_png(path: Path, image: np.ndarray) -> bool:
    """Writes ``image`` (uint8 [H, W, 3]) as an RGB PNG with Pillow or imageio; False if neither."""
    if _have("PIL"):
        from PIL import Image

        Image.fromarray(image).save(path)
        return True
    if _have("imageio"):
        import imageio.v2 as imageio

        imageio.imwrite(path, image)
        return True
    return False
