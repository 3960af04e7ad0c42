"""Bad input to the functional core and the gymnasium face: one clear error, or the documented
behaviour (docs/environments.md, "Bad input"), never a silently different run (issue 23)."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import curriculax

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def doorkey():
    return curriculax.make("DoorKey-5x5-v0")


# ----------------------------------------------------------------- actions (trace time)


def test_parkour_action_of_the_wrong_shape_is_refused_at_trace_time():
    env, params = curriculax.make("StumpTracks-v0")
    _, state = jax.eval_shape(env.reset, KEY, params)
    for bad in (jnp.zeros(8), jnp.zeros(3), jnp.zeros((2, 4)), jnp.float32(0.0)):
        with pytest.raises(ValueError, match=r"StumpTracks.step: an action has shape \(4,\)"):
            jax.eval_shape(env.step, KEY, state, bad, params)
    with pytest.raises(TypeError, match=r"StumpTracks.step: an action has dtype float32, got bool"):
        jax.eval_shape(env.step, KEY, state, jnp.zeros(4, bool), params)


def test_discrete_action_must_be_one_int(doorkey):
    env, params = doorkey
    _, state = jax.eval_shape(env.reset, KEY, params)
    with pytest.raises(ValueError, match=r"DoorKey.step: an action of Discrete\(7\) is one int"):
        jax.jit(env.step)(KEY, state, jnp.zeros(3, jnp.int32), params)
    with pytest.raises(TypeError, match=r"Discrete\(7\) is an int, got dtype float32"):
        jax.jit(env.step)(KEY, state, jnp.float32(2.0), params)


# ----------------------------------------------------------------- params


def test_params_of_another_env_class_are_refused_at_reset_and_step(doorkey):
    env, params = doorkey
    _, maze_params = curriculax.make("Maze-v0")
    with pytest.raises(TypeError, match=r"DoorKey.reset: params must be DoorKeyParams"):
        jax.jit(env.reset)(KEY, maze_params)
    _, state = jax.jit(env.reset)(KEY, params)
    with pytest.raises(TypeError, match=r"DoorKey.step: params must be DoorKeyParams.*MazeParams"):
        jax.jit(env.step)(KEY, state, 0, maze_params)
    with pytest.raises(TypeError, match=r"expected DoorKeyParams, got MazeParams"):
        env.validate_params(maze_params)


def test_params_contradicting_the_static_config_are_refused_where_concrete(doorkey):
    env, _ = doorkey
    _, params_8x8 = curriculax.make("DoorKey-8x8-v0")
    message = r"DoorKey params.room_size=8 is outside its bounds \[5, 5\]"
    with pytest.raises(ValueError, match=message):
        env.reset(KEY, params_8x8)  # eager: concrete
    with pytest.raises(ValueError, match=message):
        jax.jit(lambda key: env.reset(key, params_8x8))(KEY)  # closed over: concrete at trace
    with pytest.raises(ValueError, match=message):
        env.validate_params(params_8x8)
    with pytest.raises(ValueError, match=message):
        env.make_params(room_size=8)


def test_traced_params_outside_their_bounds_are_clipped_where_a_level_is_drawn(doorkey):
    env, params = doorkey
    _, params_8x8 = curriculax.make("DoorKey-8x8-v0")
    sample = jax.jit(env.sample_level)
    for key in jax.random.split(KEY, 4):
        drawn, clipped = sample(key, params_8x8), sample(key, params)
        jax.tree.map(np.testing.assert_array_equal, drawn, clipped)
    nan = jax.jit(curriculax.make("StumpTracks-v0")[0].clip_params)(
        curriculax.make("StumpTracks-v0")[1].replace(stump_height=jnp.float32(jnp.nan))
    )
    assert float(nan.stump_height) == 0.0  # NaN: the low bound


def test_params_with_a_batch_axis_outside_vmap_are_refused(doorkey):
    env, params = doorkey
    batched = jax.tree.map(lambda x: jnp.stack([x, x]), params)
    with pytest.raises(ValueError, match=r"params.max_steps has shape \(2,\), expected \(\)"):
        jax.jit(env.reset)(KEY, batched)
    with pytest.raises(TypeError, match=r"params.room_size has dtype float32, expected int32"):
        jax.jit(env.reset)(KEY, params.replace(room_size=jnp.float32(5.0)))


# ----------------------------------------------------------------- levels


def test_out_of_range_levels_are_refused_before_they_enter_the_program(doorkey):
    env, params = doorkey
    level = jax.device_get(jax.jit(env.sample_level)(KEY, params))
    single = gymnasium.make("curriculax/DoorKey-5x5-v0")
    off_grid = level.replace(agent_pos=np.array([7, 1], np.int32))
    with pytest.raises(ValueError, match=r"malformed DoorKey level: agent_pos \(x, y\) inside"):
        single.reset(seed=0, options={"level": off_grid})
    with pytest.raises(ValueError, match=r"agent_dir in 0..3"):
        single.reset(seed=0, options={"level": level.replace(agent_dir=np.int32(4))})
    with pytest.raises(ValueError, match=r"grid cells"):
        single.reset(seed=0, options={"level": level.replace(grid=np.full_like(level.grid, 99))})
    with pytest.raises(ValueError, match=r"leaf .agent_pos has dtype float64; expected int32"):
        single.reset(seed=0, options={"level": level.replace(agent_pos=np.array([1.5, 1.0]))})
    with pytest.raises(ValueError, match=r"do not fit its dtype uint8"):
        single.reset(seed=0, options={"level": level.replace(grid=level.grid.astype(int) + 256)})
    vector = gymnasium.make_vec("curriculax/DoorKey-5x5-v0", num_envs=2, level_mode="replay")
    levels = jax.tree.map(lambda x, y: np.stack([x, y]), level, off_grid)
    with pytest.raises(ValueError, match=r"agent_pos"):
        vector.reset(seed=0, options={"levels": levels})
    # The functional core: concrete levels are checked on the host, shapes at trace time.
    with pytest.raises(ValueError, match=r"agent_pos"):
        env.reset_to_level(KEY, off_grid, params)
    with pytest.raises(
        ValueError, match=r"level.grid has shape \(2, 5, 5, 3\), expected \(5, 5, 3\)"
    ):
        jax.jit(env.reset_to_level)(KEY, jax.tree.map(lambda x: np.stack([x, x]), level), params)
    single.reset(seed=0, options={"level": level})  # a generated level still passes


def test_parkour_levels_with_non_finite_values_are_refused():
    env = gymnasium.make("curriculax/StumpTracks-v0")
    core, params = curriculax.make("StumpTracks-v0")
    level = jax.device_get(jax.jit(core.sample_level)(KEY, params))
    height = np.asarray(level.height).copy()
    height[0] = np.nan
    with pytest.raises(ValueError, match=r"malformed StumpTracks level: .height finite"):
        env.reset(seed=0, options={"level": level.replace(height=height)})
    with pytest.raises(ValueError, match=r".pitch >= the stump width"):
        env.reset(seed=0, options={"level": level.replace(pitch=np.float32(-1.0))})


# ----------------------------------------------------------------- options of make


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"view_size": 99}, r"view_size must be odd, in \[3, 31\], got 99"),
        ({"room_size": "big"}, "DoorKey params.room_size must be an int, got 'big'"),
        ({"room_size": 5.5}, "DoorKey params.room_size must be an int, got 5.5"),
        ({"room_size": True}, "DoorKey params.room_size must be an int, got True"),
        ({"max_steps": 2**40}, "params.max_steps=1099511627776 does not fit int32"),
        ({"see_through_walls": "yes"}, "option see_through_walls must be a bool"),
        ({"observation": 3}, "option observation must be a str"),
    ],
)
def test_make_options_are_checked_for_type_and_range_naming_the_field(config, message):
    for make in (curriculax.make, gymnasium.make):
        with pytest.raises(ValueError, match=message):
            make("curriculax/DoorKey-5x5-v0", **config)


def test_float_and_vector_params_are_finite_and_of_their_shape():
    with pytest.raises(ValueError, match=r"Parkour params.water_level must be finite, got nan"):
        curriculax.make("Parkour-v0", water_level=float("nan"))
    with pytest.raises(ValueError, match=r"params.kind_weights must be an array of shape \(7,\)"):
        curriculax.make("Form-v0", kind_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"params.same_value must be a bool"):
        curriculax.make("Form-v0", same_value=1)
    _, params = curriculax.make("Form-v0", layout_shuffle=1)  # an int for a float: exact
    assert params.layout_shuffle.dtype == jnp.float32 and float(params.layout_shuffle) == 1.0


# ----------------------------------------------------------------- out-of-range actions in jit


def _batched_step(env_id, actions):
    """One jitted vmapped step from the same start, with each of ``actions``."""
    env, params = curriculax.make(env_id)
    actions = jnp.asarray(actions)
    keys = jax.random.split(KEY, 1)[jnp.zeros(len(actions), jnp.int32)]  # the same key for all
    _, state = jax.jit(jax.vmap(env.reset, (0, None)))(keys, params)  # one compile, not one per op
    return jax.jit(jax.vmap(env.step, (0, 0, 0, None)))(keys, state, actions, params)


@pytest.mark.parametrize(
    ("env_id", "noop"),
    [("DoorKey-5x5-v0", 6), ("EnterText-v0", 0)],  # grid: DONE; form: NOOP
)
def test_out_of_range_discrete_actions_are_a_no_op_in_every_family(env_id, noop):
    env, params = curriculax.make(env_id)
    n = env.action_space(params).n
    out = _batched_step(env_id, [noop, -1, n, n + 5, np.iinfo(np.int32).max])
    for leaf in jax.tree.leaves(out[:5]):
        for i in range(1, 5):
            np.testing.assert_array_equal(leaf[i], leaf[0])
    assert not bool(out[3].any())


def test_continuous_actions_are_clipped_into_the_box_and_nan_is_zero():
    clipped = _batched_step("StumpTracks-v0", [[5.0, -5.0, 1.0, jnp.nan], [1.0, -1.0, 1.0, 0.0]])
    for leaf in jax.tree.leaves(clipped[:5]):
        np.testing.assert_array_equal(leaf[0], leaf[1])


# ----------------------------------------------------------------- checked mode


def test_checked_mode_turns_value_errors_into_exceptions(doorkey):
    env, params = doorkey
    checked = curriculax.checked(env)
    assert checked.checks and not env.checks and checked != env
    level = jax.jit(env.sample_level)(KEY, params)
    _, state = jax.jit(env.reset_to_level)(KEY, level, params)
    step = jax.jit(checkify.checkify(jax.vmap(checked.step, (0, 0, 0, None))))
    keys = jax.random.split(KEY, 3)
    states = jax.tree.map(lambda x: jnp.stack([x] * 3), state)
    error, _ = step(keys, states, jnp.array([0, 2, 6]), params)
    error.throw()  # nothing wrong: no error
    error, _ = step(keys, states, jnp.array([0, 9, 6]), params)
    with pytest.raises(checkify.JaxRuntimeError, match=r"DoorKey.step: action 9 is outside"):
        error.throw()
    error, _ = step(keys, states, jnp.array([0, 1, 2]), params.replace(room_size=jnp.int32(8)))
    with pytest.raises(ValueError, match=r"params.room_size=8 is outside its bounds \[5, 5\]"):
        error.throw()
    reset = jax.jit(checkify.checkify(checked.reset_to_level))
    error, _ = reset(KEY, level.replace(agent_pos=jnp.array([9, 1], jnp.int32)), params)
    with pytest.raises(ValueError, match=r"malformed DoorKey level: agent_pos"):
        error.throw()
    with pytest.raises(ValueError, match=r"not functionalized"):  # checks need checkify
        jax.jit(checked.step)(KEY, state, 0, params)


@pytest.mark.parametrize(
    ("env_id", "bad"), [("EnterText-v0", -1), ("StumpTracks-v0", [0.0, 2.0, 0.0, 0.0])]
)
def test_checked_mode_in_the_other_families(env_id, bad):
    env, params = curriculax.make(env_id)
    checked = curriculax.checked(env)
    _, state = jax.jit(env.reset)(KEY, params)
    error, _ = jax.jit(checkify.checkify(checked.step))(KEY, state, jnp.asarray(bad), params)
    with pytest.raises(ValueError, match=rf"{type(env).__name__}.step: action .* is outside"):
        error.throw()
