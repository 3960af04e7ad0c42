"""Parameter-space teachers: ``ParamSpace``, ALP-GMM and ADR, on hand-checkable cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import curriculax
from curriculax.curricula import make_teacher
from curriculax.curricula.adr import ADR, FREE, HIGH, LOW
from curriculax.curricula.alpgmm import (
    ALPGMM,
    GMM,
    UNIFORM,
    absolute_learning_progress,
)
from curriculax.curricula.base import Batch, EpisodeStats
from curriculax.curricula.param_space import ParamSpace
from curriculax.envs.grid.constants import Obj
from curriculax.envs.grid.empty import Empty


def stats(returns, episodes=None):
    returns = jnp.asarray(returns, jnp.float32)
    n = returns.shape[0]
    episodes = jnp.ones(n, jnp.float32) if episodes is None else jnp.asarray(episodes, jnp.float32)
    zeros = jnp.zeros(n, jnp.float32)
    return EpisodeStats(
        episodes=episodes,
        return_mean=returns,
        return_max=returns,
        success_rate=zeros,
        positive_value_loss=zeros,
        l1_value_loss=zeros,
        value_mean=zeros,
    )


@pytest.fixture(scope="module")
def maze():
    return curriculax.make("curriculax/Maze-v0")[0]


@pytest.fixture(scope="module")
def multiroom():
    return curriculax.make("curriculax/MultiRoom-N6-v0")[0]


@pytest.fixture(scope="module")
def empty():
    return curriculax.make("curriculax/Empty-8x8-v0")[0]


# ----------------------------------------------------------------- ParamSpace


def test_default_dims_skip_max_steps_and_booleans(maze, multiroom):
    space = ParamSpace(maze)
    assert space.names == ("n_walls",)  # not max_steps, not the bool solvable_only
    np.testing.assert_array_equal(space.low, [0.0])
    np.testing.assert_array_equal(space.high, [13**2 - 2])
    assert space.low.dtype == np.float32
    space = ParamSpace(multiroom)
    assert space.names == ("num_rooms", "max_room_size")
    np.testing.assert_array_equal(space.low, [1, 4])
    np.testing.assert_array_equal(space.high, [6, 10])


def test_to_params_rounds_clips_and_keeps_dtypes(multiroom):
    space = ParamSpace(multiroom)
    base = multiroom.default_params()
    p = jax.jit(space.to_params)(jnp.array([2.4, 7.6]))
    assert (int(p.num_rooms), int(p.max_room_size)) == (2, 8)
    assert p.num_rooms.dtype == jnp.int32 and p.num_rooms.shape == ()
    assert int(p.max_steps) == int(base.max_steps)  # not a dimension: kept
    p = space.to_params(jnp.array([-3.0, 99.0]))
    assert (int(p.num_rooms), int(p.max_room_size)) == (1, 10)


def test_unit_cube_round_trip(multiroom):
    space = ParamSpace(multiroom)
    u = jnp.array([[0.0, 0.0], [1.0, 1.0], [0.2, 0.5]])
    x = space.from_unit(u)
    np.testing.assert_allclose(x, [[1, 4], [6, 10], [2, 7]], rtol=1e-6)
    np.testing.assert_allclose(space.to_unit(x), u, atol=1e-6)


def test_explicit_dims_and_their_errors(maze, multiroom):
    assert ParamSpace(multiroom, dims=["max_room_size"]).names == ("max_room_size",)
    with pytest.raises(ValueError, match=r"adaptable fields are \['num_rooms', 'max_room_size'\]"):
        ParamSpace(multiroom, dims=["rooms"])
    for bad in (["max_steps"], ["solvable_only"], []):
        with pytest.raises(ValueError):
            ParamSpace(maze, dims=bad)
    with pytest.raises(ValueError, match="twice"):
        ParamSpace(multiroom, dims=["num_rooms", "num_rooms"])


def test_a_dimension_is_one_finitely_bounded_scalar_field():
    form = curriculax.make("curriculax/Form-v0")[0]
    space = ParamSpace(form)  # kind_weights [7] is bounded by (0, inf): not a default dimension
    assert "kind_weights" not in space.names and space.dim > 0
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    with pytest.raises(ValueError, match=r"kind_weights \(a vector field of shape \(7,\)\)"):
        ParamSpace(form, dims=["kind_weights"])
    with pytest.raises(ValueError, match=r"max_steps \(the episode's step budget"):
        ParamSpace(form, dims=["max_steps", "prefill"])
    for name in ("adr", "alpgmm"):
        assert make_teacher(name, form).space.names == space.names

    class OpenEnded(Empty):
        def param_bounds(self):
            return {**super().param_bounds(), "room_size": (4, float("inf"))}

    with pytest.raises(ValueError, match="no curriculum-adaptable"):
        ParamSpace(OpenEnded())
    with pytest.raises(ValueError, match=r"room_size \(unbounded: \[4, inf\]\)"):
        ParamSpace(OpenEnded(), dims=["room_size"])


def test_bounds_narrow_a_dimension_inside_the_envs_box(multiroom):
    space = ParamSpace(multiroom, bounds={"max_room_size": (5, 7)})
    np.testing.assert_array_equal(space.low, [1, 5])
    np.testing.assert_array_equal(space.high, [6, 7])
    np.testing.assert_allclose(space.from_unit(jnp.array([0.0, 1.0])), [1, 7])
    p = space.to_params(jnp.array([9.0, 99.0]))
    assert (int(p.num_rooms), int(p.max_room_size)) == (6, 7)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"rooms": (1, 2)}, "not a dimension"),
        ({"max_room_size": (7, 5)}, "low <= high"),
        ({"max_room_size": (3, 7)}, r"leaves MultiRoom's bounds \[4, 10\]"),
        ({"max_room_size": 5}, "must be a pair"),
        ({"max_room_size": (5.2, 5.8)}, "no whole value"),
        ([("max_room_size", (5, 7))], "must map dimension names"),
    ],
)
def test_bad_bounds_are_clear_errors(multiroom, bounds, message):
    with pytest.raises(ValueError, match=message):
        ParamSpace(multiroom, bounds=bounds)


@pytest.mark.parametrize("name", ["adr", "alpgmm"])
def test_teachers_draw_levels_only_inside_narrowed_bounds(empty, name):
    teacher = make_teacher(name, empty, bounds={"room_size": (5, 6)})
    state = teacher.init(jax.random.key(0), 256)
    _, batch = jax.jit(teacher.sample, static_argnums=2)(state, jax.random.key(1), 256)
    # An 8x8 grid holding a room of side r: 64 - (r - 2)**2 wall cells (55 for 5, 48 for 6).
    walls = np.asarray(jnp.sum(batch.levels.grid[..., 0] == Obj.WALL, axis=(1, 2)))
    assert set(walls.tolist()) <= {55, 48}
    if name == "alpgmm":  # uniform before its first fit: both sizes
        assert set(walls.tolist()) == {55, 48}


@pytest.mark.parametrize("env_id", ["curriculax/FourRooms-v0", "curriculax/LavaGapS5-v0"])
def test_env_without_adaptable_params_is_rejected(env_id):
    env = curriculax.make(env_id)[0]
    for build in (ParamSpace, ADR, ALPGMM):
        with pytest.raises(ValueError, match="no curriculum-adaptable"):
            build(env)


def test_levels_follow_each_rows_params(empty):
    space = ParamSpace(empty)
    assert space.names == ("room_size",)
    levels = jax.jit(space.levels)(jax.random.key(0), jnp.array([[4.0], [6.2], [8.0], [5.0]]))
    # An 8x8 grid holding a room of side r (walls included): 64 - (r - 2)**2 wall cells.
    walls = jnp.sum(levels.grid[..., 0] == Obj.WALL, axis=(1, 2))
    np.testing.assert_array_equal(walls, [60, 48, 28, 55])


# ----------------------------------------------------------------- ADR


def adr_info(tasks, dims, sides):
    return {
        "tasks": jnp.asarray(tasks, jnp.float32).reshape(-1, 1),
        "dim": jnp.asarray(dims, jnp.int32),
        "side": jnp.asarray(sides, jnp.int32),
    }


def test_adr_widens_after_a_full_queue_of_high_returns(maze):
    adr = ADR(maze, step_size=0.25, queue_length=3)
    state = adr.init(jax.random.key(0), 6)
    np.testing.assert_array_equal(state.bounds, [[0.0, 0.0]])  # the low corner
    record = jax.jit(adr.record)
    # Six tasks pinned to hi = 0: the first three fill the queue and widen hi to 0.25; the
    # last three were pinned to the old boundary and no longer count.
    state = record(state, adr_info([0.0] * 6, [0] * 6, [HIGH] * 6), jnp.ones(6), jnp.ones(6, bool))
    np.testing.assert_array_equal(state.bounds, [[0.0, 0.25]])
    assert int(state.counts[0, HIGH]) == 0
    # Two high returns at the new boundary: queue not full yet, nothing moves.
    info = adr_info([0.25, 0.25], [0, 0], [HIGH, HIGH])
    state = record(state, info, jnp.ones(2), jnp.ones(2, bool))
    np.testing.assert_array_equal(state.bounds, [[0.0, 0.25]])
    assert int(state.counts[0, HIGH]) == 2
    # Not counted: a free task, a task whose env ended no episode, a task of the other side.
    info = adr_info([0.25, 0.25, 0.0], [FREE, 0, 0], [HIGH, HIGH, LOW])
    state = record(state, info, jnp.ones(3), jnp.array([True, False, True]))
    assert int(state.counts[0, HIGH]) == 2
    # ... but the LOW queue got one (lo = 0 can never widen past the box).
    assert int(state.counts[0, LOW]) == 1
    state = record(state, adr_info([0.25], [0], [HIGH]), jnp.ones(1), jnp.ones(1, bool))
    np.testing.assert_array_equal(state.bounds, [[0.0, 0.5]])


def test_adr_narrows_after_low_returns_and_never_leaves_the_box(maze):
    adr = ADR(maze, step_size=0.25, queue_length=2, initial=[167 * 0.5])
    state = adr.init(jax.random.key(0), 4)
    record = jax.jit(adr.record)

    def push(state, value, side, ret):
        info = adr_info([value] * 2, [0] * 2, [side] * 2)
        return record(state, info, jnp.full(2, ret), jnp.ones(2, bool))

    np.testing.assert_allclose(state.bounds, [[0.5, 0.5]])
    for want in (0.75, 1.0, 1.0):  # widen hi, clipped at the box
        state = push(state, float(state.bounds[0, HIGH]), HIGH, 0.9)
        np.testing.assert_allclose(state.bounds[0, HIGH], want)
    for want in (0.25, 0.0, 0.0):  # widen lo, clipped at the box
        state = push(state, float(state.bounds[0, LOW]), LOW, 0.9)
        np.testing.assert_allclose(state.bounds[0, LOW], want)
    state = push(state, 1.0, HIGH, 0.3)  # between the thresholds: no move, queue emptied
    np.testing.assert_allclose(state.bounds, [[0.0, 1.0]])
    assert int(state.counts[0, HIGH]) == 0
    for want in (0.75, 0.5):  # low returns narrow hi
        state = push(state, float(state.bounds[0, HIGH]), HIGH, 0.0)
        np.testing.assert_allclose(state.bounds[0, HIGH], want)
    for want in (0.25, 0.5, 0.5):  # and lo, never past hi
        state = push(state, float(state.bounds[0, LOW]), LOW, 0.05)
        np.testing.assert_allclose(state.bounds[0, LOW], want)
    m = adr.metrics(state)
    assert float(m["n_walls_low"]) == pytest.approx(83.5) == float(m["n_walls_high"])
    assert float(m["box_share"]) == 0.0


def test_adr_samples_inside_the_box_and_pins_boundaries(multiroom):
    adr = ADR(multiroom, boundary_prob=0.7)
    state = adr.init(jax.random.key(0), 8)
    state = state.replace(bounds=jnp.array([[0.2, 0.6], [0.0, 0.5]]))
    info = jax.jit(adr.sample_tasks, static_argnums=2)(state, jax.random.key(1), 4000)
    tasks, dim, side = (np.asarray(info[k]) for k in ("tasks", "dim", "side"))
    lo, hi = np.asarray(state.bounds).T
    assert np.all(tasks >= lo) and np.all(tasks <= hi)
    pinned = dim != FREE
    assert 0.66 < pinned.mean() < 0.74
    rows = np.flatnonzero(pinned)
    np.testing.assert_array_equal(
        tasks[rows, dim[rows]], np.asarray(state.bounds)[dim[rows], side[rows]]
    )
    assert 0.45 < np.mean(dim[rows] == 1) < 0.55 and 0.45 < np.mean(side[rows]) < 0.55


def test_adr_bad_hyper_parameters(maze):
    for kwargs in (
        {"step_size": 0.0},
        {"boundary_prob": 1.5},
        {"queue_length": 0},
        {"low_threshold": 0.6, "high_threshold": 0.5},
        {"high_threshold": 2.0},
        {"initial": [1.0, 2.0]},
        {"initial": [500.0]},
        {"reward_range": (1.0, 0.0)},
    ):
        with pytest.raises(ValueError):
            ADR(maze, **kwargs)


# ----------------------------------------------------------------- ALP-GMM


def test_alp_is_against_the_nearest_earlier_task():
    history_tasks = jnp.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    history_returns = jnp.array([0.2, 0.9, 0.7])
    history_valid = jnp.array([True, True, False])  # slot 2 is empty
    tasks = jnp.array([[0.4, 0.4], [0.9, 0.8], [0.42, 0.4], [0.41, 0.4]])
    returns = jnp.array([0.5, 0.4, 0.0, 1.0])
    valid = jnp.array([True, True, True, False])
    alp = jax.jit(absolute_learning_progress)(
        history_tasks, history_returns, history_valid, tasks, returns, valid
    )
    # task 0: nearest earlier is (0, 0) (slot 2 is empty) -> |0.5 - 0.2|;
    # task 1: (1, 1) -> |0.4 - 0.9|; task 2: the round's task 0 -> |0.0 - 0.5|;
    # task 3 did not finish -> 0.
    np.testing.assert_allclose(alp, [0.3, 0.5, 0.5, 0.0], atol=1e-6)
    empty = absolute_learning_progress(
        history_tasks, history_returns, jnp.zeros(3, bool), tasks[:1], returns[:1], valid[:1]
    )
    np.testing.assert_array_equal(empty, [0.0])


@pytest.fixture(scope="module")
def alpgmm(multiroom):
    """Rounds of 150 tasks; fits every 150 finished tasks on a history of 300."""
    teacher = ALPGMM(multiroom, fit_rate=150, max_k=5, random_task_ratio=0.2, history=300)
    compiled = jax.jit(teacher.record)

    def record(state, tasks, returns, valid):  # fixed dtypes (no weak types): one compile
        return compiled(
            state, jnp.asarray(tasks, jnp.float32), jnp.asarray(returns, jnp.float32), valid
        )

    return teacher, record, jax.jit(teacher.sample_tasks, static_argnums=2)


def test_history_ring_buffer_bootstrap_and_fit_cadence(alpgmm):
    teacher, record, sample = alpgmm
    state = teacher.init(jax.random.key(0), 150)
    far = jax.random.uniform(jax.random.key(1), (150, 2), minval=0.5, maxval=1.0)
    # Round 1: only two envs finished: (0, 0) with return 0, then (0.1, 0) with 0.5.
    tasks = far.at[:2].set(jnp.array([[0.0, 0.0], [0.1, 0.0]]))
    valid = jnp.arange(150) < 2
    state = record(state, tasks, jnp.zeros(150).at[1].set(0.5), valid)
    assert int(state.seen) == 2 and int(state.fits) == 0
    np.testing.assert_allclose(state.tasks[:2], [[0.0, 0.0], [0.1, 0.0]])
    np.testing.assert_allclose(state.alps[:2], [0.0, 0.5])  # (0.1, 0) vs (0, 0)
    _, origin = sample(state, jax.random.key(2), 2000)
    assert np.all(origin == UNIFORM)  # before the first fit (bootstrap = fit_rate = 150)
    # Round 2: 150 tasks far away; 152 seen, so the first fit.
    state = record(state, far, jnp.full(150, 0.3), jnp.ones(150, bool))
    assert int(state.seen) == 152 and int(state.fits) == 1 and int(state.components) >= 2
    np.testing.assert_allclose(state.tasks[2:152], far)
    _, origin = sample(state, jax.random.key(3), 2000)
    assert 0.75 < np.mean(origin >= 0) < 0.85  # random_task_ratio 0.2
    # Round 3: 148 far tasks fill slots 152..299; the last two wrap to slots 0 and 1, their ALP
    # measured against the entries they replace: |1 - 0| and |0 - 0.5|.
    tasks = far.at[148:].set(jnp.array([[0.0, 0.0], [0.1, 0.0]]))
    returns = jnp.full(150, 0.3).at[148].set(1.0).at[149].set(0.0)
    state = record(state, tasks, returns, jnp.ones(150, bool))
    assert int(state.seen) == 302 and int(state.fits) == 2  # 302 // 150 = 2
    np.testing.assert_allclose(state.tasks[:2], [[0.0, 0.0], [0.1, 0.0]])
    np.testing.assert_allclose(state.alps[:2], [1.0, 0.5])
    np.testing.assert_allclose(state.returns[:2], [1.0, 0.0])


def test_mixture_component_is_drawn_in_proportion_to_its_alp(alpgmm):
    teacher, _, sample = alpgmm
    state = teacher.init(jax.random.key(0), 8)
    means = (
        jnp.zeros((5, 3))
        .at[:3]
        .set(jnp.array([[0.2, 0.2, 0.75], [0.8, 0.8, 0.25], [0.5, 0.5, 0.9]]))
    )
    gmm = GMM(
        means=means,
        covariances=jnp.broadcast_to(jnp.eye(3) * 1e-4, (5, 3, 3)),
        weights=jnp.array([0.5, 0.5, 0.0, 0.0, 0.0]),  # slot 2 unused despite its ALP
    )
    state = state.replace(
        gmm=gmm, components=jnp.asarray(2, jnp.int32), seen=jnp.asarray(10_000, jnp.int32)
    )
    tasks, origin = sample(state, jax.random.key(1), 2000)
    origin = np.asarray(origin)
    assert set(np.unique(origin)) == {UNIFORM, 0, 1}
    from_gmm = origin[origin >= 0]
    assert 0.71 < np.mean(from_gmm == 0) < 0.79
    np.testing.assert_allclose(tasks[origin == 0].mean(0), [0.2, 0.2], atol=0.01)
    # Zero ALP everywhere: components drawn by mixture weight (here equal).
    state = state.replace(gmm=gmm.replace(means=gmm.means.at[:, -1].set(0.0)))
    _, origin = sample(state, jax.random.key(2), 2000)
    from_gmm = np.asarray(origin)[np.asarray(origin) >= 0]
    assert 0.45 < np.mean(from_gmm == 0) < 0.55


def test_alpgmm_finds_two_clusters_of_high_alp_and_samples_near_them(alpgmm):
    teacher, record, sample = alpgmm
    centres = np.array([[0.2, 0.2], [0.8, 0.7]])
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    # 50 grid points at least 0.2 away from both centres with a constant return (ALP 0: each
    # one's nearest earlier task is a grid point), then 50 tasks around each centre with returns
    # uniform in [0, 1] (high ALP).
    near = jnp.repeat(jnp.asarray(centres), 50, axis=0) + 0.03 * jax.random.normal(k1, (100, 2))
    side = (np.arange(9) + 0.5) / 9
    grid = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
    grid = grid[np.min(np.linalg.norm(grid[:, None] - centres[None], axis=-1), 1) > 0.2][:50]
    tasks = jnp.concatenate([jnp.asarray(grid, jnp.float32), near])
    returns = jnp.concatenate([jnp.full(50, 0.5), jax.random.uniform(k2, (100,))])
    state = teacher.init(jax.random.key(0), 150)
    state = record(state, tasks, returns, jnp.ones(150, bool))
    assert int(state.fits) == 1 and int(state.components) >= 2
    np.testing.assert_array_equal(state.alps[:50], 0.0)
    drawn, origin = sample(state, k3, 2000)
    from_gmm = np.asarray(origin) >= 0
    assert 0.75 < from_gmm.mean() < 0.85  # random_task_ratio 0.2
    dist = np.min(np.linalg.norm(np.asarray(drawn)[:, None] - centres[None], axis=-1), 1)
    assert np.mean(dist[from_gmm] < 0.15) > 0.7
    assert np.mean(dist[~from_gmm] < 0.15) < 0.25  # uniform draws: about 2 pi 0.15^2 = 0.14


def test_alpgmm_bad_hyper_parameters(multiroom):
    for kwargs in (
        {"fit_rate": 0},
        {"max_k": 1},
        {"fit_rate": 100, "bootstrap": 50},
        {"fit_rate": 100, "history": 50},
        {"random_task_ratio": 1.5},
        {"reward_range": (0.0, 0.0)},
        {"reg_covar": 0.0},
        {"em_iters": 2.5},
        {"dims": ["nope"]},
    ):
        with pytest.raises(ValueError):
            ALPGMM(multiroom, **kwargs)
    with pytest.raises(ValueError, match="history"):
        ALPGMM(multiroom, fit_rate=10, history=10).init(jax.random.key(0), 11)


# ----------------------------------------------------------------- both, in a training loop


@pytest.mark.parametrize(
    "make",
    [
        lambda env: ADR(env, step_size=0.25, queue_length=4, boundary_prob=1.0),
        lambda env: ALPGMM(env, fit_rate=16, max_k=3, em_iters=10, history=64),
    ],
    ids=["adr", "alpgmm"],
)
def test_jit_vmap_scan_over_seeds(empty, make):
    """Returns fall with room size; ADR with returns 1 grows to the whole box; ALP-GMM fits."""
    teacher = make(empty)
    num, rounds = 16, 5

    def run(key):
        init_key, loop_key = jax.random.split(key)
        state = teacher.init(init_key, num)

        def one_round(state, key):
            state, batch = teacher.sample(state, key, num)
            room = teacher.space.from_unit(batch.info["tasks"])[:, 0]
            returns = 1.0 if isinstance(teacher, ADR) else 1.0 - (room - 4.0) / 4.0
            state = teacher.update(state, batch, stats(jnp.broadcast_to(returns, (num,))))
            return state, batch.levels.grid.shape

        state, _ = jax.lax.scan(one_round, state, jax.random.split(loop_key, rounds))
        return teacher.metrics(state)

    metrics = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 2))
    for value in metrics.values():
        assert value.shape == (2,) and np.all(np.isfinite(value))
    if isinstance(teacher, ADR):
        np.testing.assert_array_equal(metrics["room_size_low"], [4.0, 4.0])
        np.testing.assert_array_equal(metrics["room_size_high"], [8.0, 8.0])
    else:
        np.testing.assert_array_equal(metrics["fits"], [5.0, 5.0])
        np.testing.assert_array_equal(metrics["tasks_seen"], [80.0, 80.0])


@pytest.mark.parametrize("build", [ADR, ALPGMM], ids=["adr", "alpgmm"])
def test_wrong_shape_stats_raise(empty, build):
    teacher = build(empty)
    state = teacher.init(jax.random.key(0), 4)
    info = {
        "tasks": jnp.zeros((4, 1)),
        "dim": jnp.zeros(4, jnp.int32),
        "side": jnp.zeros(4, jnp.int32),
    }
    batch = Batch(levels=jnp.zeros((4, 1)), info=info, train=jnp.asarray(True))
    with pytest.raises(ValueError, match="shape"):
        teacher.update(state, batch, stats(jnp.zeros(3)))
    with pytest.raises(ValueError, match="EpisodeStats"):
        teacher.update(state, batch, {"return_mean": jnp.zeros(4)})
