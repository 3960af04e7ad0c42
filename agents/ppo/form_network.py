"""A pointer actor-critic for web forms: one logit per (action, element) pair, masked.

``Form``'s action space is ``Discrete(1 + 2N + NK)``: NOOP, CLICK(i), CLEAR(i) and TYPE(i, k)
(``curriculax.envs.webform.engine``). A flat dense head over a pooled encoding would have to
learn each index separately; here every element row and every instruction slot becomes a token,
set-mixing blocks (``ContextBlock``) let each token read the whole form, and the logits are
*pointers*: CLICK(i) and CLEAR(i) read token i, TYPE(i, k) reads tokens i and k and the
observation's match flags between row i and slot k (field, option text, typed text). The same
weights serve every row and slot, so one policy reads forms of any size. Actions that can change
nothing (``Form.action_mask``, recomputed here from the observation) get probability 0.

The observation is ``Form.observe``'s int32 [N + K, 12 + 3K]; word ids (columns ``word``,
``owner_word``) are not read: they are arbitrary labels, and the match flags say what they mean.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from curriculax.agents.ppo.networks import _dense
from curriculax.envs.webform.engine import NOT_TYPEABLE, TEXT_KINDS, Kind, is_kind
from curriculax.envs.webform.form import MAX_CHARS_LIMIT, OBS_COLUMNS, PAGE_WIDTH
from curriculax.types import Array, PyTree

_COL = {name: i for i, name in enumerate(OBS_COLUMNS)}
_NUM_KINDS = len(Kind)
#: A masked action's logit: its probability underflows to exactly 0.
MASKED_LOGIT = -1e9


def form_sizes(obs_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(N, K)``, element rows and instruction slots, of a ``Form`` observation shape.

    Raises:
        ValueError: when the shape is not ``[N + K, 12 + 3K]`` for some ``N, K >= 1``.
    """
    if len(obs_shape) != 2:
        raise ValueError(f"a web-form observation is [N + K, 12 + 3K], got shape {obs_shape}")
    total, features = obs_shape
    slots, extra = divmod(features - len(OBS_COLUMNS), 3)
    if extra or slots < 1 or total - slots < 1:
        raise ValueError(f"a web-form observation is [N + K, 12 + 3K], got shape {obs_shape}")
    return total - slots, slots


def _pool(tokens: Array, live: Array) -> Array:
    """Mean and max of the live tokens [B, T, h] -> [B, 2h] (zeros when none is live)."""
    weight = live[..., None].astype(jnp.float32)
    mean = jnp.sum(tokens * weight, -2) / jnp.maximum(jnp.sum(weight, -2), 1.0)
    largest = jnp.max(jnp.where(live[..., None], tokens, -1e9), axis=-2)
    largest = jnp.where(jnp.any(live, -1, keepdims=True), largest, 0.0)
    return jnp.concatenate([mean, largest], -1)


def _tokenwise(layer: nn.Module, x: Array) -> Array:
    """``layer`` applied to every token of x [..., f] as one 2-D matrix product.

    XLA:CPU runs a dense layer on a rank-4 array about 2x slower than on the same numbers
    reshaped to rank 2 (measured on this network's shapes).
    """
    return layer(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], -1)


class ContextBlock(nn.Module):
    """Each token [B, T, h] reads the pooled set: ``x + MLP([x, pool(x)])``.

    A Deep Sets-style mixing layer: every token learns what the whole form holds (which slots
    are done, whether a box is focused) through dense layers only. Measured on XLA:CPU, one
    multi-head attention block's gradient cost 3x the whole rest of this network and layer
    norms half of it, so neither is used.
    """

    @nn.compact
    def __call__(self, tokens: Array, live: Array) -> Array:  # noqa: D102
        h = tokens.shape[-1]
        context = _dense(h, name="context")(_pool(tokens, live))[:, None, :]
        mixed = nn.relu(_tokenwise(_dense(h), tokens) + context)
        return tokens + _tokenwise(_dense(h, 0.5), mixed)


class FormActorCritic(nn.Module):
    """Element and slot tokens, set mixing, pointer logits, a pooled value.

    Called like every PPO network: ``(carry, obs [T, B, N + K, F], reset [T, B]) -> (carry,
    logits [T, B, 1 + 2N + NK], value [T, B])``; feed-forward, so ``carry`` is ``None``.

    Attributes:
        rows: N, element rows.
        slots: K, instruction slots.
        hidden_size: token width.
        pair_size: width of the TYPE(i, k) head's hidden layer (it runs on N x K pairs).
        num_blocks: set-mixing blocks.
    """

    rows: int
    slots: int
    hidden_size: int = 64
    pair_size: int = 16
    num_blocks: int = 2

    def initial_carry(self, batch: int) -> PyTree:
        """``None``: the network has no recurrent state."""
        del batch
        return None

    @nn.compact
    def __call__(self, carry: PyTree, obs: Array, reset: Array) -> tuple[PyTree, Array, Array]:
        """See the class docstring; ``reset`` is unused (no recurrent state)."""
        del reset
        n, k, h = self.rows, self.slots, self.hidden_size
        lead = obs.shape[:-2]
        obs = obs.reshape(-1, *obs.shape[-2:]).astype(jnp.int32)  # [B, N + K, F]
        elements, instructions = obs[:, :n, :], obs[:, n:, :]
        first = len(OBS_COLUMNS)
        field = elements[..., first : first + k] > 0  # [B, N, K]
        text = elements[..., first + k : first + 2 * k] > 0
        value = elements[..., first + 2 * k : first + 3 * k] > 0
        kind = elements[..., _COL["kind"]]
        visible = elements[..., _COL["visible"]] > 0
        on = elements[..., _COL["on"]] > 0
        present = elements[..., _COL["row_type"]] > 0
        slot_valid = instructions[..., _COL["row_type"]] == 2  # [B, K]

        pairs = jnp.stack([field, text, value, field & text, field & value], axis=-1)
        pairs = pairs & slot_valid[:, None, :, None]  # [B, N, K, 5]
        row_pairs = jnp.concatenate([jnp.any(pairs, axis=2), jnp.mean(pairs, axis=2)], axis=-1)
        box = elements[..., _COL["x"] : _COL["height"] + 1].astype(jnp.float32) / PAGE_WIDTH
        flags = jnp.stack([visible, on, elements[..., _COL["focused"]] > 0], -1)
        row_features = jnp.concatenate(
            [
                nn.one_hot(kind, _NUM_KINDS),
                flags.astype(jnp.float32),
                elements[..., _COL["value_len"], None].astype(jnp.float32) / MAX_CHARS_LIMIT,
                box,
                row_pairs.astype(jnp.float32),
            ],
            axis=-1,
        )
        # A slot is satisfied when a row of its field holds its value: typed text, or a
        # checked/selected option; what is visible now tells where it can still be done.
        chosen = pairs[..., 3] & on[..., None]  # [B, N, K]
        slot_flags = jnp.concatenate(
            [
                jnp.any(pairs, axis=1),
                jnp.any(pairs & visible[:, :, None, None], axis=1),
                jnp.stack([jnp.any(chosen, 1), jnp.any(chosen & visible[..., None], 1)], -1),
                slot_valid[..., None],
            ],
            axis=-1,
        )
        slot_features = jnp.concatenate(
            [
                slot_flags.astype(jnp.float32),
                instructions[..., _COL["value_len"], None].astype(jnp.float32) / MAX_CHARS_LIMIT,
            ],
            axis=-1,
        )
        row_tokens = nn.relu(_tokenwise(_dense(h, name="row_in"), row_features))
        slot_tokens = nn.relu(_tokenwise(_dense(h, name="slot_in"), slot_features))
        tokens = jnp.concatenate([row_tokens, slot_tokens], axis=1)  # [B, N + K, h]
        live = jnp.concatenate([present, slot_valid], axis=1)
        for _ in range(self.num_blocks):
            tokens = ContextBlock()(tokens, live)
        rows, slot_h = tokens[:, :n, :], tokens[:, n:, :]
        pooled = nn.relu(_dense(h, name="pool")(_pool(tokens, live)))

        noop = _dense(1, 0.01, name="noop")(pooled)
        heads = nn.relu(_tokenwise(_dense(2 * h, name="row_heads"), rows))
        click_clear = _tokenwise(_dense(2, 0.01, name="click_clear"), heads)  # [B, N, 2]
        p = self.pair_size
        pair_h = (
            _tokenwise(_dense(p, name="type_row"), rows)[:, :, None, :]
            + _tokenwise(_dense(p, name="type_slot"), slot_h)[:, None, :, :]
            + _tokenwise(_dense(p, name="type_pair"), pairs.astype(jnp.float32))
        )
        typed = _tokenwise(_dense(1, 0.01, name="type"), nn.relu(pair_h))[..., 0]  # [B, N, K]
        logits = jnp.concatenate(
            [noop, click_clear[..., 0], click_clear[..., 1], typed.reshape(-1, n * k)], axis=-1
        )

        can_click = visible & present
        can_clear = visible & is_kind(kind, TEXT_KINDS)
        typeable = can_click & ~is_kind(kind, NOT_TYPEABLE)
        can_type = typeable[:, :, None] & slot_valid[:, None, :]
        allowed = jnp.concatenate(
            [jnp.ones_like(noop, bool), can_click, can_clear, can_type.reshape(-1, n * k)], axis=-1
        )
        logits = jnp.where(allowed, logits, MASKED_LOGIT)

        critic = jnp.tanh(_dense(h)(pooled))
        value = _dense(1, 1.0, name="value")(critic)[..., 0]
        return carry, logits.reshape(*lead, -1), value.reshape(lead)
