"""The mock against MiniWoB++'s own pages: the same episode, the same actions, the same results.

Each episode is a seeded MiniWoB++ episode of a mirrored task, imported into the mirrored
curriculax form (``from_miniwob``); the same actions (the oracle's on even seeds, random allowed
ones on odd seeds) then run in the mock and through the bridge on the real page. After every
step the observation, the end and the raw reward must be equal, and the text in every box and
every flag equal the page's. The default suite runs two episodes per task (one oracle, one
random); the slow tier the issue's 100 (``-m slow``).

Needs the ``miniwob`` package, Debian's ``chromium`` and ``chromium-driver``; ``.ci/run``
installs them. Without them the browser tests skip locally and fail under CI.
"""

from __future__ import annotations

import functools
import os

import gymnasium
import jax
import numpy as np
import pytest

import curriculax
from curriculax.envs.webform import engine, miniwob
from curriculax.envs.webform.browser import mock_page_state
from curriculax.envs.webform.oracle import oracle_action

EPISODES, SLOW_EPISODES = 2, 100


def test_bridge_ids_are_gymnasium_ids_for_every_mirrored_task():
    bridges = sorted(k for k in gymnasium.registry if k.startswith("curriculax/MiniWoB-"))
    assert bridges == sorted(miniwob.BRIDGE_IDS)
    assert sorted(miniwob.BRIDGE_IDS.values()) == sorted(miniwob.MIRRORED)
    assert not set(bridges) & set(curriculax.registered_ids())  # not JAX envs


def test_a_task_the_bridge_does_not_mirror_is_refused_before_a_browser_starts():
    with pytest.raises(ValueError, match="the MiniWoB\\+\\+ bridge mirrors"):
        miniwob.MiniWoBBridge("curriculax/DoorKey-5x5-v0")


def test_no_chromium_is_one_line_naming_the_fix(monkeypatch):
    monkeypatch.setattr(miniwob, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(miniwob.MiniWoBUnavailable) as error:
        miniwob.MiniWoBBridge("curriculax/LoginUser-v0")
    message = str(error.value)
    assert "\n" not in message and "apt-get install chromium chromium-driver" in message


def test_string_words_ignore_case_so_field_keys_name_labels():
    assert miniwob.string_word("username") == miniwob.string_word("Username ")
    assert miniwob.string_word("username") != miniwob.string_word("password")


@pytest.fixture(scope="module")
def available():
    missing = miniwob.miniwob_available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the MiniWoB++ parity check; missing {missing}")
        pytest.skip(f"needs {missing}")


@functools.cache
def _mock_programs(env_id):
    form, params = curriculax.make(env_id, **miniwob.FORM_OPTIONS.get(env_id, {}))

    @jax.jit
    def advance(state, action):
        state, _, terminated = form.transition(
            jax.random.key(0), state.replace(time=state.time + 1), action, params
        )
        guide = form.action_mask(state, params), oracle_action(state, form.rows, form.slots)
        return state, terminated, form.observe(state, params), *guide

    @jax.jit
    def start(level):
        state = form.init_state(jax.random.key(0), level, params)
        guide = form.action_mask(state, params), oracle_action(state, form.rows, form.slots)
        return state, form.observe(state, params), *guide

    return form, params, start, advance


def _with_focus(obs, focus, form):
    """``obs`` with its ``focused`` column saying row ``focus`` (or the body) has the focus."""
    from curriculax.envs.webform.form import OBS_COLUMNS

    out = obs.copy()
    out[: form.rows, OBS_COLUMNS.index("focused")] = np.arange(form.rows) == focus
    return out


def _parity(env_id, episodes):
    form, params, start, advance = _mock_programs(env_id)
    bridge = miniwob.MiniWoBBridge(env_id)
    rng = np.random.default_rng(0)
    stats = {"episodes": 0, "steps": 0, "solved": 0, "redrawn": 0}
    try:
        for seed in range(episodes):
            obs, info = bridge.reset(seed=seed)
            stats["redrawn"] += info["redrawn"]
            state, mock_obs, mask, oracle = start(bridge.imported.level)
            np.testing.assert_array_equal(obs, mock_obs, err_msg=f"{env_id} seed {seed} reset")
            use_oracle = seed % 2 == 0
            for t in range(int(params.max_steps)):
                allowed = np.flatnonzero(np.asarray(mask))
                action = int(oracle) if use_oracle else int(rng.choice(allowed))
                state, terminated, mock_obs, mask, oracle = advance(state, action)
                obs, _, done, _, info = bridge.step(action)
                kind, row, slot = (
                    int(x) for x in engine.decode_action(action, form.rows, form.slots)
                )
                where = f"{env_id} seed {seed} step {t}: {engine.Action(kind).name}({row}, {slot})"
                mock_obs = np.asarray(mock_obs)
                if int(bridge.state.ended) == 1 and bridge.task == miniwob.book_flight.TASK:
                    # Search hides book-flight's form (its focused button with it): the page's
                    # focus is on the body, the mock's, whose episode ends there, on Search.
                    assert int(bridge.state.focus) == engine.BODY, where
                    mock_obs = _with_focus(mock_obs, engine.BODY, form)
                np.testing.assert_array_equal(obs, mock_obs, err_msg=where)
                page, mock = mock_page_state(bridge.state), mock_page_state(state)
                assert (page.values, page.on) == (mock.values, mock.on), where
                assert (page.listed, page.month) == (mock.listed, mock.month), where
                assert done == bool(terminated), where  # the step budget ends both
                stats["steps"] += 1
                if done:
                    assert info["raw_reward"] == pytest.approx(float(state.raw_reward)), where
                    stats["solved"] += info["success"]
                    break
            if use_oracle:
                assert info["success"], f"{env_id} seed {seed}: the oracle failed on the page"
            stats["episodes"] += 1
    finally:
        bridge.close()
    return stats


@pytest.mark.browser
@pytest.mark.parametrize("env_id", sorted(miniwob.MIRRORED))
def test_mock_and_miniwob_pages_agree_step_by_step(available, env_id):
    _parity(env_id, EPISODES)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(miniwob.MIRRORED))
def test_mock_and_miniwob_pages_agree_over_a_hundred_episodes(available, env_id):
    stats = _parity(env_id, SLOW_EPISODES)
    assert stats["episodes"] == SLOW_EPISODES


@pytest.mark.browser
def test_bridge_passes_gymnasiums_env_checker(available):
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("curriculax/MiniWoB-LoginUser-v0")
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


@pytest.mark.browser
def test_a_policy_is_scored_on_the_pages_and_on_the_same_episodes_in_the_mock(available):
    from curriculax.agents.page_evaluation import evaluate_pages
    from curriculax.agents.ppo import PPO, PPOConfig

    env, params = curriculax.make("curriculax/ClickOption-v0")
    trainer = PPO(PPOConfig(num_envs=2, num_steps=8, num_minibatches=1), env, params)
    net_params = trainer.init_params(jax.random.key(0))  # untrained: fails and wins by chance
    # Sampled actions (the same key for the page and the mock), so outcomes vary by episode.
    out = evaluate_pages(
        trainer, net_params, "curriculax/MiniWoB-ClickOption-v0", episodes=2, greedy=False
    )
    assert out["episodes"] == 2 and out["disagreements"] == 0, out
    assert out["page_success"] == out["mock_success"]
    with pytest.raises(ValueError, match="is not a MiniWoB\\+\\+ bridge"):
        evaluate_pages(trainer, net_params, "curriculax/ClickOption-v0")


@pytest.mark.browser
def test_a_click_on_a_box_leaves_the_caret_after_its_text_as_in_the_mock(available):
    # EnterText seed 45 asks for "Vanda": typed twice, the text outruns half of MiniWoB++'s
    # 128-px box, so a click at its centre lands inside the text; typing must still append.
    form, _, start, advance = _mock_programs("curriculax/EnterText-v0")
    bridge = miniwob.MiniWoBBridge("curriculax/EnterText-v0")
    try:
        bridge.reset(seed=45)
        state, *_ = start(bridge.imported.level)
        type_value = engine.encode_action(
            engine.Action.TYPE, 0, 0, rows=form.rows, slots=form.slots
        )
        click = engine.encode_action(engine.Action.CLICK, 0, rows=form.rows, slots=form.slots)
        for action in (type_value, type_value, click, type_value):
            state, *_ = advance(state, action)
            bridge.step(action)
        value = mock_page_state(state).values[0]
        assert value == 3 * bridge.imported.fields[0][1]
        assert mock_page_state(bridge.state).values[0] == value
    finally:
        bridge.close()


@pytest.mark.browser
def test_book_flight_forms_are_generated_with_the_pages_geometry(available):
    # The generator's copy of the page's measured geometry (book_flight.PAGE_BOXES, menus, the
    # calendar) against the page itself: a generated form's boxes are an imported one's.
    form, params, *_ = _mock_programs("curriculax/BookFlight-v0")
    generated = jax.tree.map(np.asarray, form.sample_level(jax.random.key(0), params))
    bridge = miniwob.MiniWoBBridge("curriculax/BookFlight-v0")
    try:
        bridge.reset(seed=0)
        imported = jax.tree.map(np.asarray, bridge.imported.level)
    finally:
        bridge.close()
    fixed = (engine.Kind.AUTOCOMPLETE, engine.Kind.DATEPICKER, engine.Kind.SUBMIT,
             engine.Kind.CAL_PREV, engine.Kind.CAL_NEXT, engine.Kind.CAL_TITLE)  # fmt: skip

    def boxes(level):
        return [tuple(b) for k, b in zip(level.kind, level.box, strict=True) if k in fixed]

    assert boxes(generated) == boxes(imported)
    np.testing.assert_array_equal(generated.menu, imported.menu)
    np.testing.assert_array_equal(generated.calendar, imported.calendar)
    first = [np.flatnonzero(lv.kind == engine.Kind.SUGGESTION)[0] for lv in (generated, imported)]
    assert tuple(generated.box[first[0]][:3]) == tuple(imported.box[first[1]][:3])
