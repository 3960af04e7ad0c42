"""Actor-critic networks: an encoder per observation kind, an optional recurrent core, two heads.

Every network is called on sequences, ``(carry, obs [T, B, ...], reset [T, B]) -> (carry,
logits or (mean, log_std) [T, B, ...], value [T, B])``, so feed-forward and recurrent policies share
one rollout and one loss. ``reset[t]`` marks ``obs[t]`` as an episode's first observation: the
recurrent state is zeroed before it is read. A feed-forward network's carry is ``None``.

Encoders (``PPOConfig.network``):

* ``"grid"``: MiniGrid-encoded cells uint8 [H, W, 3] ``(type, colour, state)``: each channel is
  embedded, the cells flattened and mixed by a dense layer.
* ``"cnn"``: RGB pixels uint8 [H, W, C]: non-overlapping patches projected, then mixed.
* ``"mlp"``: anything, flattened to float.
* ``"set"``: a table of elements float [E, F]: a shared per-element layer, one self-attention
  block, then mean and max pooling. Rows that are all zero are padding.
* ``"form"``: web forms' element table, with pointer logits per (action, element) and action
  masks (``form_network.FormActorCritic``), built from the env's ``policy_description()``
  (``curriculax.policy_spec.ElementTableSpec``); ``"auto"`` picks it for envs whose
  ``policy_network`` says so.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from curriculax.spaces import Box, Discrete
from curriculax.types import Array, PyTree

if TYPE_CHECKING:
    from curriculax.agents.ppo.form_network import FormActorCritic
    from curriculax.policy_spec import ElementTableSpec

#: Largest grid side treated as MiniGrid cell codes by ``network="auto"`` (larger is pixels).
MAX_GRID_SIDE = 32
#: Embedding table sizes of the MiniGrid (type, colour, state) channels; codes are clipped.
GRID_VOCAB = (16, 8, 4)


def _dense(features: int, scale: float = np.sqrt(2), name: str | None = None) -> nn.Dense:
    """A dense layer whose outputs have variance ``scale**2`` for unit-variance inputs.

    The gains are PureJaxRL's/CleanRL's (sqrt 2 hidden, 0.01 policy, 1 value), but drawn
    fan-in-scaled normal rather than orthogonal: orthogonal needs a QR decomposition, and
    batched QR (the init of a ``vmap`` over seeds) hangs on XLA:CPU with jax 0.10.
    """
    init = nn.initializers.variance_scaling(scale**2, "fan_in", "truncated_normal")
    return nn.Dense(features, kernel_init=init, name=name)


class GridEncoder(nn.Module):
    """MiniGrid cell codes uint8 [..., H, W, 3] -> features [..., hidden].

    Each channel (type, colour, state) is embedded, the cells are flattened and a dense layer
    mixes them. No convolution: XLA:CPU runs convolutions inside loops (the minibatch scan) about
    15x slower than the same arithmetic as matrix products (docs/decisions.md).
    """

    hidden_size: int
    embed_size: int = 4

    @nn.compact
    def __call__(self, obs: Array) -> Array:  # noqa: D102
        codes = obs.astype(jnp.int32)
        parts = [
            nn.Embed(size, self.embed_size, name=f"embed_{i}")(jnp.clip(codes[..., i], 0, size - 1))
            for i, size in enumerate(GRID_VOCAB)
        ]
        x = jnp.concatenate(parts, axis=-1)
        x = x.reshape((*x.shape[:-3], -1))
        return nn.relu(_dense(self.hidden_size)(x))


class PixelEncoder(nn.Module):
    """RGB pixels uint8 [..., H, W, C] -> features [..., hidden].

    The image is cut into non-overlapping ``patch`` x ``patch`` tiles (a grid cell each for the
    grid envs' RGB view), each tile is projected by a shared dense layer, then the tiles are
    flattened and mixed: matrix products only, for XLA:CPU's sake (see ``GridEncoder``).
    """

    hidden_size: int
    patch: int = 8
    patch_features: int = 16

    @nn.compact
    def __call__(self, obs: Array) -> Array:  # noqa: D102
        x = obs.astype(jnp.float32) / 255.0
        *batch, height, width, channels = x.shape
        p = self.patch
        rows, cols = -(-height // p), -(-width // p)
        pad = [(0, 0)] * len(batch) + [(0, rows * p - height), (0, cols * p - width), (0, 0)]
        x = jnp.pad(x, pad)
        x = x.reshape(*batch, rows, p, cols, p, channels)
        x = jnp.moveaxis(x, -4, -3).reshape(*batch, rows, cols, p * p * channels)
        x = nn.relu(_dense(self.patch_features)(x))
        x = x.reshape(*batch, -1)
        return nn.relu(_dense(self.hidden_size)(x))


#: The variable collection of the observation normaliser's statistics (not trained by Adam).
OBS_NORM = "obs_norm"
#: The normaliser module's name: its statistics are ``variables[OBS_NORM][NORMALIZER]``.
NORMALIZER = "normalizer"
#: Standardised observations are clipped to this many standard deviations (Brax, SB3).
OBS_CLIP = 10.0


class ObsNormalizer(nn.Module):
    """Standardises observations [..., *shape] per feature by running statistics.

    The statistics (``mean``, ``var`` [*shape] and ``count`` []) are variables of the
    ``OBS_NORM`` collection: the network reads them, ``update_obs_stats`` writes them. Before
    any update they are the identity (mean 0, variance 1).
    """

    ndim: int

    @nn.compact
    def __call__(self, obs: Array) -> Array:  # noqa: D102
        x = obs.astype(jnp.float32)
        shape = x.shape[x.ndim - self.ndim :]
        mean = self.variable(OBS_NORM, "mean", jnp.zeros, shape, jnp.float32).value
        var = self.variable(OBS_NORM, "var", jnp.ones, shape, jnp.float32).value
        self.variable(OBS_NORM, "count", lambda: jnp.zeros((), jnp.float32))
        mean, var = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(var)
        return jnp.clip((x - mean) / jnp.sqrt(var + 1e-8), -OBS_CLIP, OBS_CLIP)


def update_obs_stats(stats: PyTree, obs: Array) -> PyTree:
    """The normaliser's statistics after also seeing ``obs`` [M, *shape] (Chan et al.'s merge).

    Returns:
        ``{"mean", "var", "count"}``: the mean and (population) variance of every observation
        seen so far, exactly, whatever the batches.
    """
    x = obs.astype(jnp.float32)
    m = jnp.asarray(x.shape[0], jnp.float32)
    batch_mean = x.mean(axis=0)
    batch_var = x.var(axis=0)
    count = stats["count"]
    total = count + m
    delta = batch_mean - stats["mean"]
    mean = stats["mean"] + delta * (m / total)
    squares = stats["var"] * count + batch_var * m + jnp.square(delta) * count * m / total
    return {"mean": mean, "var": squares / total, "count": total}


def observe(variables: PyTree, obs: Array) -> PyTree:
    """A network's variables whose observation statistics have also seen ``obs`` [M, *shape]."""
    stats = update_obs_stats(variables[OBS_NORM][NORMALIZER], obs)
    return {**variables, OBS_NORM: {NORMALIZER: stats}}


class MLPEncoder(nn.Module):
    """Any array [..., *shape] -> features [..., hidden], over ``ndim`` trailing axes."""

    hidden_size: int
    ndim: int

    @nn.compact
    def __call__(self, obs: Array) -> Array:  # noqa: D102
        x = obs.astype(jnp.float32)
        x = x.reshape((*x.shape[: x.ndim - self.ndim], -1))
        return jnp.tanh(_dense(self.hidden_size)(x))


class SetEncoder(nn.Module):
    """A table of elements float [..., E, F] -> features [..., hidden]; zero rows are padding."""

    hidden_size: int
    num_heads: int = 4

    @nn.compact
    def __call__(self, obs: Array) -> Array:  # noqa: D102
        x = obs.astype(jnp.float32)
        present = jnp.any(x != 0, axis=-1)  # [..., E]
        h = nn.relu(_dense(self.hidden_size)(x))
        mask = nn.make_attention_mask(present, present)
        attended = nn.MultiHeadDotProductAttention(num_heads=self.num_heads)(h, h, mask=mask)
        h = nn.LayerNorm()(h + attended)
        weight = present[..., None].astype(jnp.float32)
        mean = jnp.sum(h * weight, axis=-2) / jnp.maximum(jnp.sum(weight, axis=-2), 1.0)
        largest = jnp.max(jnp.where(present[..., None], h, -1e9), axis=-2)
        largest = jnp.where(jnp.any(present, axis=-1, keepdims=True), largest, 0.0)
        return nn.relu(_dense(self.hidden_size)(jnp.concatenate([mean, largest], axis=-1)))


class RecurrentCore(nn.Module):
    """A GRU or LSTM scanned over time, zeroing its state where ``reset`` is set."""

    kind: str
    hidden_size: int

    @functools.partial(
        nn.scan,
        variable_broadcast="params",
        split_rngs={"params": False},
        in_axes=0,
        out_axes=0,
    )
    @nn.compact
    def __call__(self, carry: PyTree, inputs: tuple[Array, Array]) -> tuple[PyTree, Array]:
        """One step: ``inputs = (x [B, F], reset [B])``; returns ``(carry, out [B, hidden])``."""
        x, reset = inputs
        carry = jax.tree.map(lambda c: jnp.where(reset[:, None], 0.0, c), carry)
        if self.kind == "gru":
            cell = nn.GRUCell(self.hidden_size)
        else:
            cell = nn.OptimizedLSTMCell(self.hidden_size)
        return cell(carry, x)


class ActorCritic(nn.Module):
    """Encoder, optional recurrent core, then separate actor and critic torsos.

    Attributes:
        action_dim: actions (discrete) or action dimensions (continuous).
        continuous: Gaussian policy (mean, state-independent log std) instead of categorical.
        encoder: ``"grid"``, ``"cnn"``, ``"mlp"`` or ``"set"``.
        obs_ndim: rank of one observation (for flattening).
        hidden_size: width of every layer.
        recurrent: ``None``, ``"gru"`` or ``"lstm"``.
        normalize_obs: standardise observations by running statistics first (``ObsNormalizer``;
            the ``"mlp"`` encoder only).
        init_log_std: the log std's initial value (continuous only).
    """

    action_dim: int
    continuous: bool
    encoder: str
    obs_ndim: int
    hidden_size: int = 64
    recurrent: str | None = None
    normalize_obs: bool = False
    init_log_std: float = 0.0

    def initial_carry(self, batch: int) -> PyTree:
        """The zero recurrent state for ``batch`` envs (``None`` when feed-forward)."""
        if self.recurrent is None:
            return None
        zeros = jnp.zeros((batch, self.hidden_size), jnp.float32)
        return zeros if self.recurrent == "gru" else (zeros, zeros)

    @nn.compact
    def __call__(
        self, carry: PyTree, obs: Array, reset: Array
    ) -> tuple[PyTree, Array | tuple[Array, Array], Array]:
        """Args: carry [B, hidden] (or None), obs [T, B, ...], reset bool [T, B].

        Returns:
            ``(carry, policy, value [T, B])``; ``policy`` is logits [T, B, A] (discrete) or
            ``(mean, log_std)`` each [T, B, A] (continuous).
        """
        h = self.hidden_size
        if self.normalize_obs:
            obs = ObsNormalizer(self.obs_ndim, name=NORMALIZER)(obs)
        if self.encoder == "grid":
            x = GridEncoder(h)(obs)
        elif self.encoder == "cnn":
            x = PixelEncoder(h)(obs)
        elif self.encoder == "set":
            x = SetEncoder(h)(obs)
        else:
            x = MLPEncoder(h, self.obs_ndim)(obs)
        if self.recurrent is not None:
            carry, x = RecurrentCore(self.recurrent, h)(carry, (x, reset))
        actor = jnp.tanh(_dense(h)(x))
        actor = jnp.tanh(_dense(h)(actor))
        out = _dense(self.action_dim, 0.01)(actor)
        critic = jnp.tanh(_dense(h)(x))
        critic = jnp.tanh(_dense(h)(critic))
        value = _dense(1, 1.0)(critic)[..., 0]
        if self.continuous:
            log_std = self.param(
                "log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,)
            )
            return carry, (out, jnp.broadcast_to(log_std, out.shape)), value
        return carry, out, value


def choose_encoder(
    network: str,
    obs_space: Box | Discrete,
    preferred: str | None = None,
    description: ElementTableSpec | None = None,
) -> str:
    """The encoder for ``network`` on ``obs_space``, checked before anything is traced.

    ``"auto"``: the env's ``preferred`` network when it has one; else uint8 [H, W, 3] with
    H, W <= ``MAX_GRID_SIDE`` is MiniGrid cell codes (``"grid"``); other uint8 images are pixels
    (``"cnn"``); rank-2 float tables are ``"set"``; everything else ``"mlp"``. ``description``
    is the env's ``policy_description()``, which ``"form"`` needs.

    Raises:
        ValueError: when the chosen encoder cannot read this observation, or ``"form"`` has no
            ``description``.
    """
    if isinstance(obs_space, Discrete):
        shape, dtype = (), np.dtype(np.int64)
    else:
        shape, dtype = tuple(obs_space.shape), np.dtype(obs_space.dtype)
    image = len(shape) == 3
    if network == "auto" and preferred is not None:
        network = preferred
    if network == "auto":
        if image and dtype == np.uint8:
            small = shape[-1] == 3 and max(shape[:2]) <= MAX_GRID_SIDE
            return "grid" if small else "cnn"
        if len(shape) == 2 and np.issubdtype(dtype, np.floating):
            return "set"
        return "mlp"
    cells = image and shape[-1] == 3 and np.issubdtype(dtype, np.integer)
    if network == "grid" and not (cells and max(shape[:2]) <= MAX_GRID_SIDE):
        raise ValueError(
            f"network='grid' reads MiniGrid cell codes of shape [H, W, 3] (integer, H and W at "
            f"most {MAX_GRID_SIDE}); this env's observations are {dtype}{list(shape)} (pixels "
            f"need network='cnn')"
        )
    if network == "cnn" and not image:
        raise ValueError(
            f"network='cnn' reads images [H, W, C]; this env's observations are "
            f"{dtype}{list(shape)}"
        )
    if network == "form":
        from curriculax.agents.ppo.form_network import form_sizes

        form_sizes(shape, description)  # raises for anything but a described element table
    if network == "set" and len(shape) != 2:
        raise ValueError(
            f"network='set' reads element tables [E, F]; this env's observations are "
            f"{dtype}{list(shape)}"
        )
    return network


def make_network(
    network: str,
    obs_space: Box | Discrete,
    action_space: Box | Discrete,
    hidden_size: int,
    recurrent: str | None,
    preferred: str | None = None,
    normalize_obs: bool = False,
    init_log_std: float = 0.0,
    description: ElementTableSpec | None = None,
) -> ActorCritic | FormActorCritic:
    """The actor-critic for an env's spaces (see ``choose_encoder``).

    ``preferred`` is the env's ``policy_network`` and ``description`` its
    ``policy_description()`` (``None`` when it has none): the ``"form"`` network is built from it.

    Raises:
        ValueError: a network that cannot read the observations or act in the action space
            (``"form"`` without a ``description`` included), ``normalize_obs`` with an encoder
            other than ``"mlp"`` on a ``Box``, or an ``init_log_std`` other than 0 for discrete
            actions (it would reach nothing).
    """
    encoder = choose_encoder(network, obs_space, preferred, description)
    if normalize_obs and (encoder != "mlp" or not isinstance(obs_space, Box)):
        raise ValueError(
            f"normalize_observations standardises Box observations read by network='mlp'; this "
            f"env's {obs_space} goes to network={encoder!r} (its inputs are codes, tables or "
            f"pixels that a running mean/std would break)"
        )
    if init_log_std != 0.0 and not isinstance(action_space, Box):
        raise ValueError(
            f"init_log_std sets a Gaussian policy's initial std; this env's actions are "
            f"{action_space} (a categorical policy): leave it at 0"
        )
    if encoder == "form":
        from curriculax.agents.ppo.form_network import FormActorCritic, form_sizes

        if recurrent is not None:
            raise ValueError(f"network='form' is feed-forward; got recurrent={recurrent!r}")
        rows, slots = form_sizes(tuple(obs_space.shape), description)
        if not isinstance(action_space, Discrete) or action_space.n != 1 + 2 * rows + rows * slots:
            raise ValueError(
                f"network='form' acts in Discrete(1 + 2N + NK) = {1 + 2 * rows + rows * slots} "
                f"for N={rows}, K={slots}; this env's action space is {action_space}"
            )
        return FormActorCritic(rows=rows, slots=slots, spec=description, hidden_size=hidden_size)
    if isinstance(action_space, Discrete):
        action_dim, continuous = int(action_space.n), False
    elif isinstance(action_space, Box) and len(action_space.shape) == 1:
        action_dim, continuous = int(action_space.shape[0]), True
    else:
        raise ValueError(f"PPO acts in Discrete or 1-D Box action spaces, got {action_space}")
    obs_ndim = 0 if isinstance(obs_space, Discrete) else len(obs_space.shape)
    return ActorCritic(
        action_dim=action_dim,
        continuous=continuous,
        encoder=encoder,
        obs_ndim=obs_ndim,
        hidden_size=hidden_size,
        recurrent=recurrent,
        normalize_obs=normalize_obs,
        init_log_std=init_log_std,
    )
