"""GAE and PPO's loss against values worked out by hand on tiny batches."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from curriculax.agents.ppo.losses import gae, log_prob_entropy, next_values, ppo_loss

REWARDS = jnp.array([[1.0], [0.0], [2.0]])
VALUES = jnp.array([[0.5], [0.4], [0.3]])
LAST_VALUE = jnp.array([0.2])
FINAL_VALUES = jnp.array([[9.0], [0.7], [9.0]])  # only read where truncated and not terminated
GAMMA, LAMBDA = 0.9, 0.8


def _advantages(terminated: list[bool], truncated: list[bool]) -> np.ndarray:
    term = jnp.array(terminated)[:, None]
    trunc = jnp.array(truncated)[:, None]
    following = next_values(VALUES, LAST_VALUE, FINAL_VALUES, trunc, term)
    advantages, returns = gae(REWARDS, VALUES, following, term, trunc, GAMMA, LAMBDA)
    np.testing.assert_allclose(returns, advantages + VALUES, rtol=1e-6)
    return np.asarray(advantages[:, 0])


def test_gae_without_episode_ends_bootstraps_from_the_last_value():
    # d2 = 2 + .9*.2 - .3 = 1.88; d1 = .9*.3 - .4 = -.13; d0 = 1 + .9*.4 - .5 = .86
    # A2 = 1.88; A1 = -.13 + .72*1.88 = 1.2236; A0 = .86 + .72*1.2236 = 1.740992
    np.testing.assert_allclose(
        _advantages([False] * 3, [False] * 3), [1.740992, 1.2236, 1.88], rtol=1e-5
    )


def test_gae_truncation_bootstraps_from_the_final_observation_and_cuts_the_trace():
    # step 1 truncated, V(final obs) = .7: d1 = .9*.7 - .4 = .23 = A1 (nothing flows back
    # from step 2); A0 = .86 + .72*.23 = 1.0256
    np.testing.assert_allclose(
        _advantages([False] * 3, [False, True, False]), [1.0256, 0.23, 1.88], rtol=1e-5
    )


@pytest.mark.parametrize("also_truncated", [False, True])
def test_gae_termination_never_bootstraps_and_wins_over_truncation(also_truncated):
    # step 1 terminated: d1 = 0 - .4 = -.4 = A1; A0 = .86 + .72*(-.4) = .572
    advantages = _advantages([False, True, False], [False, also_truncated, False])
    np.testing.assert_allclose(advantages, [0.572, -0.4, 1.88], rtol=1e-5)


def test_ppo_loss_matches_hand_computation():
    # ratio = [1.2, 0.6], A = [1, -2], eps = .1: min(1.2, 1.1) = 1.1, min(-1.2, -1.8) = -1.8
    # policy loss = -(1.1 - 1.8) / 2 = .35. Value clip: V_clip = [.6, .4] -> errors
    # max((1-2)^2, (.6-2)^2) = 1.96 and max(0, .16) = .16 -> .5 * mean = .53.
    # loss = .35 + .5 * .53 - .01 * 1.5 = .6
    loss, aux = ppo_loss(
        jnp.log(jnp.array([0.6, 0.3])),
        jnp.log(jnp.array([0.5, 0.5])),
        jnp.array([1.0, -2.0]),
        jnp.array([1.0, 0.0]),
        jnp.array([0.5, 0.5]),
        jnp.array([2.0, 0.0]),
        jnp.array([1.0, 2.0]),
        clip_eps=0.1,
        vf_coef=0.5,
        ent_coef=0.01,
        clip_value=True,
        normalize_advantages=False,
    )
    assert float(aux["policy_loss"]) == pytest.approx(0.35, rel=1e-5)
    assert float(aux["value_loss"]) == pytest.approx(0.53, rel=1e-5)
    assert float(aux["entropy"]) == pytest.approx(1.5)
    assert float(loss) == pytest.approx(0.6, rel=1e-5)
    kl = ((0.2 - np.log(1.2)) + (-0.4 - np.log(0.6))) / 2
    assert float(aux["approx_kl"]) == pytest.approx(kl, rel=1e-5)
    assert float(aux["clip_fraction"]) == 1.0


def test_unclipped_value_loss_and_advantage_normalisation():
    args = (
        jnp.zeros(2),
        jnp.zeros(2),
        jnp.array([1.0, 3.0]),
        jnp.array([1.0, 0.0]),
        jnp.array([0.5, 0.5]),
        jnp.array([2.0, 0.0]),
        jnp.zeros(2),
    )
    kw = dict(clip_eps=0.1, vf_coef=0.5, ent_coef=0.0, clip_value=False)
    _, aux = ppo_loss(*args, **kw, normalize_advantages=True)
    assert float(aux["value_loss"]) == pytest.approx(0.25)
    # normalised advantages are [-1, 1] (up to the 1e-8 guard): ratio 1 -> loss -mean = 0
    assert float(aux["policy_loss"]) == pytest.approx(0.0, abs=1e-6)


def test_log_prob_and_entropy_of_both_policy_kinds():
    logits = jnp.log(jnp.array([[0.25, 0.75]]))
    log_prob, entropy = log_prob_entropy(logits, jnp.array([1]))
    assert float(log_prob[0]) == pytest.approx(np.log(0.75), rel=1e-6)
    assert float(entropy[0]) == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    mean, log_std = jnp.zeros((1, 2)), jnp.log(jnp.full((1, 2), 2.0))
    log_prob, entropy = log_prob_entropy((mean, log_std), jnp.array([[2.0, 0.0]]))
    expected = 2 * (-np.log(2.0) - 0.5 * np.log(2 * np.pi)) - 0.5 * 1.0
    assert float(log_prob[0]) == pytest.approx(expected, rel=1e-6)
    assert float(entropy[0]) == pytest.approx(2 * (np.log(2.0) + 0.5 * (1 + np.log(2 * np.pi))))
