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
Which column holds what, the scales and the kind codes come from the env's
``policy_description()`` (an ``ElementTableSpec``), not from the env family's modules.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from curriculax.agents.ppo.networks import _dense
from curriculax.policy_spec import ElementTableSpec
from curriculax.types import Array, PyTree

#: A masked action's logit: its probability underflows to exactly 0.
MASKED_LOGIT = -1e9


def form_sizes(obs_shape: tuple[int, ...], spec: ElementTableSpec | None) -> tuple[int, int]:
    """``(N, K)``, element rows and instruction slots, of a ``Form`` observation shape.

    Args:
        obs_shape: the observation's shape.
        spec: the env's ``policy_description()``: its table has ``spec.num_columns`` (C)
            scalar columns.

    Raises:
        ValueError: when ``spec`` is ``None`` (the env describes no element table), or the shape
            is not ``[N + K, C + 3K]`` for some ``N, K >= 1``.
    """
    if spec is None:
        raise ValueError(
            f"network='form' reads element tables that the env describes with a "
            f"policy_description() method (an ElementTableSpec); this env has none (its "
            f"observations have shape {obs_shape})"
        )
    expected = f"[N + K, {spec.num_columns} + 3K]"
    if len(obs_shape) != 2:
        raise ValueError(f"a web-form observation is {expected}, got shape {obs_shape}")
    total, features = obs_shape
    slots, extra = divmod(features - spec.num_columns, 3)
    if extra or slots < 1 or total - slots < 1:
        raise ValueError(f"a web-form observation is {expected}, got shape {obs_shape}")
    return total - slots, slots


def _pool(tokens: Array, live: Array) -> Array:
    """Mean and max of the live tokens [B, T, h] -> [B, 2h] (zeros when none is live)."""
    weight = live[..., None].astype(jnp.float32)
    mean = jnp.sum(tokens * weight, -2) / jnp.maximum(jnp.sum(weight, -2), 1.0)
    largest = jnp.max(jnp.where(live[..., None], tokens, -1e9), axis=-2)
    largest = jnp.where(jnp.any(live, -1, keepdims=True), largest, 0.0)
    return jnp.concatenate([mean, largest], -1)


def _is_kind(kind: Array, kinds: tuple[int, ...]) -> Array:
    """Bool [...]: which entries of ``kind`` (int32 [...]) are one of ``kinds``."""
    return jnp.isin(kind, jnp.asarray(kinds, jnp.int32))


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
        spec: the env's ``policy_description()``: columns, scales and kind codes.
        hidden_size: token width.
        pair_size: width of the TYPE(i, k) head's hidden layer (it runs on N x K pairs).
        num_blocks: set-mixing blocks.
    """

    rows: int
    slots: int
    spec: ElementTableSpec
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
        n, k, h, spec = self.rows, self.slots, self.hidden_size, self.spec
        lead = obs.shape[:-2]
        obs = obs.reshape(-1, *obs.shape[-2:]).astype(jnp.int32)  # [B, N + K, F]
        elements, instructions = obs[:, :n, :], obs[:, n:, :]
        first = spec.num_columns
        field = elements[..., first : first + k] > 0  # [B, N, K]
        text = elements[..., first + k : first + 2 * k] > 0
        value = elements[..., first + 2 * k : first + 3 * k] > 0
        kind = elements[..., spec.kind]
        visible = elements[..., spec.visible] > 0
        on = elements[..., spec.on] > 0
        present = elements[..., spec.row_type] > 0
        slot_valid = instructions[..., spec.row_type] == spec.slot_row_type  # [B, K]

        pairs = jnp.stack([field, text, value, field & text, field & value], axis=-1)
        pairs = pairs & slot_valid[:, None, :, None]  # [B, N, K, 5]
        row_pairs = jnp.concatenate([jnp.any(pairs, axis=2), jnp.mean(pairs, axis=2)], axis=-1)
        box = elements[..., spec.box : spec.box + 4].astype(jnp.float32) / spec.pixel_scale
        flags = jnp.stack([visible, on, elements[..., spec.focused] > 0], -1)
        row_features = jnp.concatenate(
            [
                nn.one_hot(kind, spec.num_kinds),
                flags.astype(jnp.float32),
                elements[..., spec.value_len, None].astype(jnp.float32) / spec.char_scale,
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
                instructions[..., spec.value_len, None].astype(jnp.float32) / spec.char_scale,
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
        can_clear = visible & _is_kind(kind, spec.clearable_kinds)
        typeable = can_click & ~_is_kind(kind, spec.untypeable_kinds)
        can_type = typeable[:, :, None] & slot_valid[:, None, :]
        allowed = jnp.concatenate(
            [jnp.ones_like(noop, bool), can_click, can_clear, can_type.reshape(-1, n * k)], axis=-1
        )
        logits = jnp.where(allowed, logits, MASKED_LOGIT)

        critic = jnp.tanh(_dense(h)(pooled))
        value = _dense(1, 1.0, name="value")(critic)[..., 0]
        return carry, logits.reshape(*lead, -1), value.reshape(lead)
