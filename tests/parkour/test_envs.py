"""Parkour and Stump Tracks: tracks, lidar, TeachMyAgent's interface, reward and endings."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.envs.parkour import lidar, physics, terrain, test_sets
from curriculax.envs.parkour.env import DROWN_STEPS, FALL_REWARD, embodiment
from curriculax.envs.parkour.parkour import Parkour
from curriculax.envs.parkour.stumps import StumpTracks

PARKOUR = Parkour()
STUMPS = StumpTracks()


@functools.cache
def compiled(env, method: str):
    """``jax.jit(getattr(env, method))``, one per (env, method): tests share compiled programs."""
    return jax.jit(getattr(env, method))


@pytest.fixture(scope="module")
def parkour_tracks():
    """32 tracks over the whole task space, with their params."""
    keys = jax.random.split(jax.random.key(0), 5)
    n = 32
    theta = jax.random.uniform(keys[0], (n, 3), minval=-1.0, maxval=1.0)
    water = jax.random.uniform(keys[1], (n,))
    height = jax.random.uniform(keys[2], (n,), minval=0.0, maxval=4.0)
    spacing = jax.random.uniform(keys[3], (n,), minval=0.0, maxval=5.0)
    make = jax.jit(jax.vmap(terrain.parkour_track))
    tracks = make(jax.random.split(keys[4], n), theta, water, height, spacing)
    return tracks, (theta, water, height, spacing)


def test_parkour_track_has_a_flat_pad_a_ceiling_above_the_ground_and_normalised_water(
    parkour_tracks,
):
    tracks, (_, water, _, spacing) = parkour_tracks
    ground, ceiling = np.asarray(tracks.ground_y), np.asarray(tracks.ceiling_y)
    assert ground.shape == ceiling.shape == (32, terrain.NUM_KNOTS)
    np.testing.assert_allclose(ground[:, : terrain.PAD_SEGMENTS + 1], terrain.PAD_Y, atol=1e-5)
    np.testing.assert_allclose(
        ceiling[:, : terrain.PAD_SEGMENTS + 1], terrain.PAD_Y + terrain.CEILING_GAP, atol=1e-5
    )
    assert np.all(ceiling >= ground)
    assert np.ptp(ground, axis=1).max() > 1.0  # the CPPN makes relief
    low, high = ground.min(axis=1), ceiling.max(axis=1)
    np.testing.assert_allclose(tracks.water_y, low + np.asarray(water) * (high - low), rtol=1e-5)
    np.testing.assert_allclose(
        tracks.creeper_pitch, terrain.CREEPER_WIDTH + np.maximum(spacing, 0.01)
    )


def test_parkour_creepers_hang_from_the_ceiling_with_the_mean_length():
    track = terrain.parkour_track(jax.random.key(1), jnp.zeros(3), 0.0, 2.0, 0.5)
    bottom = np.asarray(track.creeper_bottom)
    used = bottom < physics.FAR
    centre = terrain.PAD_END + terrain.CREEPER_WIDTH / 2 + 0.75 * np.arange(terrain.NUM_CREEPERS)
    top = np.interp(centre, terrain.SEGMENT * np.arange(terrain.NUM_KNOTS), track.ceiling_y)
    length = (top - bottom)[used]
    assert used.sum() == np.sum(centre + terrain.CREEPER_WIDTH / 2 <= terrain.SEGMENT * 220)
    assert abs(length.mean() - 2.0) < 0.03 and 0.07 < length.std() < 0.13
    none = terrain.parkour_track(jax.random.key(1), jnp.zeros(3), 0.0, 0.0, 0.5)
    assert np.all(np.asarray(none.creeper_bottom) == physics.FAR)


def test_dry_track_has_no_water_and_full_water_covers_the_highest_ceiling():
    dry = terrain.parkour_track(jax.random.key(0), jnp.zeros(3), 0.0, 0.0, 1.0)
    assert float(dry.water_y) == -physics.FAR
    wet = terrain.parkour_track(jax.random.key(0), jnp.zeros(3), 1.0, 0.0, 1.0)
    assert float(wet.water_y) == pytest.approx(float(jnp.max(wet.ceiling_y)))


def test_stumps_stand_at_the_pitch_with_the_mean_height_in_segments():
    track = terrain.stump_track(jax.random.key(0), 2.0, 1.5, 0.0)
    pitch = terrain.STUMP_WIDTH + 1.5
    assert float(track.pitch) == pytest.approx(pitch)
    x = terrain.PAD_END + pitch * np.arange(terrain.NUM_STUMPS)
    on_track = x < terrain.STUMP_TRACK_END
    heights = np.asarray(track.height)[on_track] / terrain.SEGMENT
    assert abs(heights.mean() - 2.0) < 0.05 and 0.06 < heights.std() < 0.14
    assert np.all(np.asarray(track.height)[~on_track] == 0.0)
    np.testing.assert_allclose(track.base_y, terrain.PAD_Y)  # no roughness: flat
    # The window's profile: ground at the pad, a stump's top on it, ground between stumps.
    window = terrain.stump_window(track, jnp.float32(terrain.PAD_END + 3 * pitch))
    at = lambda x: float(physics.profile_height(window.ground_x, window.ground_y, jnp.float32(x)))  # noqa: E731
    k = 4
    x_k = terrain.PAD_END + k * pitch
    assert at(x_k + terrain.STUMP_WIDTH / 2) == pytest.approx(terrain.PAD_Y + track.height[k])
    assert at(x_k + terrain.STUMP_WIDTH + 0.5) == pytest.approx(terrain.PAD_Y)


def test_roughness_moves_the_ground_between_stumps():
    rough = terrain.stump_track(jax.random.key(0), 1.0, 2.0, 5.0)
    assert np.ptp(np.asarray(rough.base_y)) > 0.05


@pytest.mark.parametrize("fan", sorted(lidar.FANS))
def test_lidar_fractions_on_flat_ground_are_height_over_cosine(fan):
    flat = physics.make_terrain([-100.0, 100.0], [0.0, 0.0])
    height = 2.0
    fraction, code = lidar.lidar(flat, jnp.asarray([0.0, height]), lidar.ray_directions(fan))
    span, offset = lidar.FANS[fan]
    angle = span * np.arange(lidar.NUM_RAYS) / lidar.NUM_RAYS + offset
    cos = np.cos(angle)
    reach = np.where(cos > 1e-6, height / np.maximum(cos, 1e-6), np.inf)
    expected = np.where(reach <= lidar.RANGE, reach / lidar.RANGE, 1.0)
    np.testing.assert_allclose(fraction, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(code, lidar.OTHER)


def test_lidar_codes_water_from_above_and_creepers():
    ground = physics.make_terrain([-100.0, 100.0], [0.0, 0.0], water_level=1.0)
    down = lidar.ray_directions("down")
    fraction, code = lidar.lidar(ground, jnp.asarray([0.0, 3.0]), down)
    assert float(fraction[0]) == pytest.approx(2.0 / lidar.RANGE) and float(code[0]) == lidar.WATER
    # From under the surface the water is not seen: the ground is.
    fraction, code = lidar.lidar(ground, jnp.asarray([0.0, 0.5]), down)
    assert float(fraction[0]) == pytest.approx(0.5 / lidar.RANGE) and float(code[0]) == lidar.OTHER
    # A creeper straight above (bottom at 1.5 m) seen by the upward fan's ray that points up.
    hanging = physics.make_terrain(
        [-100.0, 100.0], [0.0, 0.0], [-100.0, 100.0], [4.0, 4.0], creepers=[[0.0, 1.0, 1.5]]
    )
    up = np.asarray([[0.0, 1.0], [1.0, 0.0]], np.float32)
    fraction, code = lidar.lidar(hanging, jnp.asarray([0.0, 0.5]), up)
    assert (
        float(fraction[0]) == pytest.approx(1.0 / lidar.RANGE) and float(code[0]) == lidar.CREEPER
    )
    assert float(fraction[1]) == 1.0 and float(code[1]) == lidar.OTHER


def test_observation_sizes_are_teachmyagents():
    # TMA: Stump Tracks walker 24 (gym's BipedalWalker), Parkour walker 36.
    assert STUMPS.observation_space(STUMPS.default_params()).shape == (24,)
    assert PARKOUR.observation_space(PARKOUR.default_params()).shape == (36,)
    assert PARKOUR.action_space(PARKOUR.default_params()).shape == (4,)


def test_unknown_body_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown parkour body 'fish2'.*old_classic_bipedal"):
        Parkour(body="fish2")
    with pytest.raises(ValueError, match="unknown parkour body"):
        embodiment("nope")
    with pytest.raises(TypeError, match="hull_critical must be a bool"):
        Parkour(hull_critical="yes")
    for bad in (0.0, -1.0, float("nan"), float("inf"), True, "2"):
        with pytest.raises(ValueError, match="terrain_scale must be a finite number > 0"):
            Parkour(terrain_scale=bad)


def test_terrain_scale_multiplies_the_relief_of_ground_and_ceiling_gap():
    params = PARKOUR.default_params().replace(theta_2=jnp.float32(0.5))
    key = jax.random.key(0)
    unit, _ = curriculax.make("curriculax/Parkour-v0", terrain_scale=1.0)
    base = unit.sample_level(key, params)
    relief = np.asarray(base.ground_y) - terrain.PAD_Y
    gap = np.asarray(base.ceiling_y - base.ground_y) - terrain.CEILING_GAP
    assert np.abs(relief).max() > 0.5  # the task has relief to scale
    for env, factor in ((PARKOUR, terrain.TERRAIN_SCALE), (Parkour(terrain_scale=2.5), 2.5)):
        scaled = env.sample_level(key, params)
        np.testing.assert_allclose(
            np.asarray(scaled.ground_y) - terrain.PAD_Y, factor * relief, atol=1e-4
        )
        scaled_gap = np.asarray(scaled.ceiling_y - scaled.ground_y) - terrain.CEILING_GAP
        open_ = np.asarray(base.ceiling_y > base.ground_y) & np.asarray(
            scaled.ceiling_y > scaled.ground_y
        )  # where neither closed (a closed gap is clipped to 0)
        assert open_.sum() > 100 and np.abs(gap[open_]).max() > 0.5  # a varying gap to scale
        np.testing.assert_allclose(scaled_gap[open_], factor * gap[open_], atol=1e-4)


def test_params_outside_bounds_are_rejected_on_the_host_and_clipped_when_traced():
    with pytest.raises(ValueError, match="water_level"):
        PARKOUR.make_params(water_level=1.5)
    with pytest.raises(ValueError, match="stump_height"):
        STUMPS.make_params(stump_height=-1.0)
    bad = PARKOUR.default_params().replace(
        theta_1=jnp.float32(7.0), water_level=jnp.float32(jnp.nan), creeper_spacing=-3.0
    )
    clipped = PARKOUR.default_params().replace(
        theta_1=jnp.float32(1.0), water_level=jnp.float32(0.0), creeper_spacing=0.0
    )
    sample = jax.jit(PARKOUR.sample_level)
    got, want = sample(jax.random.key(0), bad), sample(jax.random.key(0), clipped)
    jax.tree.map(np.testing.assert_array_equal, got, want)
    obs, _ = jax.jit(PARKOUR.reset_to_level)(jax.random.key(0), got, bad)
    assert np.all(np.isfinite(obs))


def _reset(env, params, seed=0):
    return compiled(env, "reset")(jax.random.key(seed), params)


def test_body_starts_on_the_pad_not_inside_it_over_many_tracks(parkour_tracks):
    tracks, _ = parkour_tracks
    params = PARKOUR.default_params()
    states = jax.jit(jax.vmap(PARKOUR.init_state, (0, 0, None)))(
        jax.random.split(jax.random.key(0), 32), tracks, params
    )

    def depth(state):
        window = PARKOUR.window(state.track, state.body.q[0])
        return physics.penetration(PARKOUR.physics_body, state.body.q, window)

    assert float(jnp.max(jax.vmap(depth)(states))) < 1e-4
    push = states.body.qd[:, 0]
    assert float(jnp.max(jnp.abs(push))) <= 5.0 * 0.02 / sum(PARKOUR.physics_body.mass) + 1e-6
    assert float(jnp.std(push)) > 0.0


def test_reward_is_the_shaping_difference_minus_the_torque_cost():
    params = STUMPS.default_params()
    _, state = _reset(STUMPS, params)
    step = compiled(STUMPS, "step")
    action = jnp.asarray([0.5, -1.0, 0.25, 0.0])
    before = state
    _, state, reward, terminated, _, _ = step(jax.random.key(1), state, action, params)
    assert not bool(terminated)
    shaping = lambda s: 130.0 * s.body.q[0] / 30.0 - 5.0 * jnp.abs(s.body.q[2])  # noqa: E731
    cost = 0.00035 * 80.0 * (0.5 + 1.0 + 0.25)
    assert float(reward) == pytest.approx(float(shaping(state) - shaping(before)) - cost, abs=1e-5)
    assert float(state.episode_return) == pytest.approx(float(reward))


def _moved(state, **q):
    new_q = state.body.q
    for index, value in q.items():
        new_q = new_q.at[int(index[1:])].set(value)
    return state.replace(body=state.body.replace(q=new_q))


def test_hull_on_the_ground_ends_stump_tracks_with_minus_100_but_not_parkour():
    """TMA's rule; ``Parkour(hull_critical=True)`` opts into Stump Tracks' fall."""
    hull_critical, _ = curriculax.make("curriculax/Parkour-v0", hull_critical=True)
    for env, critical in ((STUMPS, True), (PARKOUR, False), (hull_critical, True)):
        params = env.default_params()
        _, state = _reset(env, params)
        upside_down = _moved(state, q1=terrain.PAD_Y + 0.1, q2=math.pi)
        _, _, reward, terminated, _, _ = compiled(env, "step")(
            jax.random.key(0), upside_down, jnp.zeros(4), params
        )
        assert bool(terminated) == critical
        assert (float(reward) == FALL_REWARD) == critical


def test_fall_penalty_sets_a_falls_reward_and_the_low_end_of_the_reward_range():
    env, params = curriculax.make("curriculax/StumpTracks-v0", fall_penalty=300.0)
    assert env.reward_range[0] == -300.0 and STUMPS.reward_range[0] == FALL_REWARD
    _, state = _reset(env, params)
    upside_down = _moved(state, q1=terrain.PAD_Y + 0.1, q2=math.pi)
    _, _, reward, terminated, _, _ = compiled(env, "step")(
        jax.random.key(0), upside_down, jnp.zeros(4), params
    )
    assert bool(terminated) and float(reward) == -300.0
    for bad in (0.0, -100.0, float("nan"), float("inf"), True, "300"):
        with pytest.raises(ValueError, match="fall_penalty"):
            type(env)(fall_penalty=bad)


def test_going_behind_the_start_fails_and_passing_the_finish_ends_without_penalty():
    for env in (STUMPS, PARKOUR):
        params = env.default_params()
        _, state = _reset(env, params)
        step = compiled(env, "step")
        _, _, reward, terminated, _, _ = step(
            jax.random.key(0), _moved(state, q0=-0.05), jnp.zeros(4), params
        )
        assert bool(terminated) and float(reward) == FALL_REWARD
        x = env.finish_x + 0.01
        ground = env.profile(state.track, jnp.asarray([x]))[0][0]
        done = _moved(state, q0=x, q1=ground + state.body.q[1] - terrain.PAD_Y)
        done = done.replace(
            shaping=done.shaping + 130.0 * (env.finish_x + 0.01 - env.start_x) / 30.0
        )
        _, _, reward, terminated, _, _ = step(jax.random.key(0), done, jnp.zeros(4), params)
        assert bool(terminated) and float(reward) > FALL_REWARD


def test_a_walker_drowns_after_600_steps_under_water_and_then_ignores_its_actions():
    params = PARKOUR.make_params(water_level=1.0)
    _, state = _reset(PARKOUR, params)
    step = compiled(PARKOUR, "step")
    state = state.replace(steps_under_water=jnp.int32(DROWN_STEPS))
    obs, drowned, *_ = step(jax.random.key(0), state, jnp.ones(4), params)
    assert bool(drowned.dead) and obs[4] == 1.0 and obs[5] == 1.0  # under water, dead
    pushed = step(jax.random.key(0), drowned, jnp.ones(4), params)[1]
    idle = step(jax.random.key(0), drowned, jnp.zeros(4), params)[1]
    np.testing.assert_array_equal(pushed.body.q, idle.body.q)
    dry_params = PARKOUR.default_params()
    _, dry = _reset(PARKOUR, dry_params)
    alive = step(
        jax.random.key(0),
        dry.replace(steps_under_water=jnp.int32(DROWN_STEPS)),
        jnp.ones(4),
        dry_params,
    )[1]
    assert not bool(alive.dead) and int(alive.steps_under_water) == 0


def test_observation_layout_follows_teachmyagent():
    params = PARKOUR.default_params()
    obs, state = _reset(PARKOUR, params)
    obs, state, *_ = compiled(PARKOUR, "step")(
        jax.random.key(0), state, jnp.asarray([1.0, -1, 0, 0]), params
    )
    q, qd = state.body.q, state.body.qd
    np.testing.assert_allclose(
        obs[:4],
        [q[2], 2 * qd[2] / 50, 0.3 * qd[0] * 20 / 50, 0.3 * qd[1] * (40 / 3) / 50],
        rtol=1e-5,
        atol=1e-7,
    )
    # hip_l angle, speed / 4, knee_l angle, speed / 6, lower_l contact, then the right leg.
    np.testing.assert_allclose(obs[6:10], [q[3], qd[3] / 4, q[4], qd[4] / 6], rtol=1e-5, atol=1e-7)
    assert obs[10] == float(state.link_contact[2]) and obs[15] == float(state.link_contact[4])
    window = PARKOUR.window(state.track, q[0])
    fraction, code = lidar.lidar(window, q[:2], lidar.ray_directions("down"))
    np.testing.assert_allclose(obs[16:26], fraction, atol=1e-6)
    np.testing.assert_array_equal(obs[26:36], code)


@pytest.mark.parametrize("name", test_sets.NAMES)
def test_shipped_task_sets_are_the_generated_ones_and_valid_params(name):
    shipped = test_sets.load(name)
    assert shipped == test_sets.generate(name)
    env = STUMPS if name == "stump_tracks" else PARKOUR
    params = test_sets.as_params(env, name)
    assert params.max_steps.shape == (test_sets.SIZE,)
    assert len({tuple(v) for v in zip(*shipped.values(), strict=True)}) == test_sets.SIZE


def test_stump_tracks_set_is_teachmyagents_grid_and_sets_reject_the_wrong_env():
    tasks = test_sets.load("stump_tracks")
    assert sorted(set(tasks["stump_height"]))[::9] == [0.0, 3.0]
    assert sorted(set(tasks["obstacle_spacing"]))[::9] == [0.0, 6.0]
    with pytest.raises(ValueError, match="StumpTracks does not have"):
        test_sets.as_params(STUMPS, "walking")
    with pytest.raises(ValueError, match="unknown task set"):
        test_sets.load("flying")


def test_climber_starts_hanging_holds_on_while_grasping_and_falls_when_it_lets_go():
    env = Parkour(body="climber")
    params = env.default_params()
    obs, state = _reset(env, params)
    assert obs.shape == (38,) and env.action_space(params).shape == (6,)
    hands = physics.hand_points(env.physics_body, state.body.q)
    ceiling = terrain.PAD_Y + terrain.CEILING_GAP
    np.testing.assert_allclose(hands[:, 1], ceiling, atol=1e-4)
    assert bool(jnp.all(state.body.grasping)) and np.all(np.asarray(obs[16:18]) == 1.0)

    @jax.jit
    def hang(grasp):
        action = jnp.stack([0.0, 0.0, 0.0, 0.0, grasp, grasp])

        def body(s, key):
            _, s, *_ = env.step(key, s, action, params)
            return s, s.body.q[1]

        return jax.lax.scan(body, state, jax.random.split(jax.random.key(1), 50))

    held, heights = hang(1.0)
    assert float(jnp.max(jnp.abs(heights - state.body.q[1]))) < 0.15  # hangs (arms may swing)
    assert bool(jnp.all(held.body.grasping))
    dropped, heights = hang(-1.0)
    assert not bool(jnp.any(dropped.body.grasping))
    assert float(heights[-1]) < float(state.body.q[1]) - 1.0  # fell


def test_stump_tracks_needs_a_walker():
    with pytest.raises(ValueError, match="needs a walker"):
        StumpTracks(body="climber")


def test_fish_beating_its_tail_swims_forward_and_suffocates_out_of_water():
    env, params = curriculax.make("curriculax/Parkour-Swimmer-v0")
    assert float(params.water_level) == 1.0
    obs, start = _reset(env, params)
    assert obs.shape == (38,) and env.action_space(params).shape == (4,)

    step = compiled(env, "step")  # one compiled step, reused below (no second program)

    def swim(amplitude, steps=300):
        state, path = start, []
        for t in range(steps):
            wave = amplitude * np.sin(2 * np.pi * 2.0 * t / 50 + np.asarray([0.0, -1.0, -2.0]))
            action = jnp.asarray(np.append(wave, 0.0), jnp.float32)
            _, state, *_ = step(jax.random.key(0), state, action, params)
            path.append(state.body.q[:2])
        return jnp.stack(path)

    path = swim(1.0)
    idle = swim(0.0)
    assert float(path[-1, 0] - path[0, 0]) > 0.5  # thrust from the tail (measured ~0.8 m)
    assert float(jnp.max(jnp.abs(idle - idle[0]))) < 0.15  # neutrally buoyant, drifts little
    dry = params.replace(water_level=jnp.float32(0.0))
    _, state = _reset(env, dry)
    state = state.replace(steps_under_water=jnp.int32(DROWN_STEPS))
    _, state, *_ = compiled(env, "step")(jax.random.key(0), state, jnp.zeros(4), dry)
    assert bool(state.dead)
