"""ALP-GMM: sample tasks where the learner's absolute learning progress is high.

Portelas, Colas, Hofmann, Oudeyer, CoRL 2019, "Teacher algorithms for curriculum learning of Deep
RL in continuously parameterized environments", as implemented in TeachMyAgent (Romac, Portelas,
Hofmann, Oudeyer, ICML 2021). Tasks are points of the env's ``ParamSpace``, handled in its unit
cube [0, 1]^d.

* Every finished task (one per env and round where an episode ended) gets an absolute learning
  progress ALP = |return - return of the nearest earlier task| (Euclidean distance in the unit
  cube, over the task history and the round's earlier envs; 0 when there is none). Returns are
  mapped from ``reward_range`` onto [0, 1].
* Every ``fit_rate`` finished tasks (once ``bootstrap`` tasks are done), Gaussian mixtures with
  k = 2..``max_k`` components are fit by EM on the last ``fit_rate`` points (task, ALP) [d + 1],
  and the one of lowest AIC is kept.
* A task is uniform in the box with probability ``random_task_ratio`` (always before the first
  fit); otherwise a component is picked with probability proportional to its mean ALP (or
  in proportion to the mixture weights when every mean ALP is 0) and the task drawn from its
  Gaussian over the task dimensions, clipped to the box.

Differences from TeachMyAgent, which does this on the host with scikit-learn: the history is a
ring buffer of ``history`` tasks (TeachMyAgent keeps all of them); the ALP of the first tasks is
measured as soon as there is one earlier task (TeachMyAgent waits for 6); EM runs a fixed
``em_iters`` iterations from a k-means++ seeding (scikit-learn: k-means initialisation, up to 100
iterations with a tolerance); when every component's mean ALP is 0 a component is picked by
its mixture weight (TeachMyAgent: uniformly, which could pick a component EM left empty); the
tasks are in the unit cube, not env units.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

from curriculax.curricula.base import (
    Batch,
    EpisodeStats,
    Teacher,
    batch_size_of,
    check_stats,
    require_positive_int,
    require_unit,
)
from curriculax.curricula.param_space import ParamSpace, check_reward_range, unit_returns
from curriculax.env import Env
from curriculax.options import check
from curriculax.types import Array, EnvParams, PRNGKey

#: ``Batch.info["origin"]`` of a task drawn uniformly from the box.
UNIFORM = -1


@struct.dataclass
class GMM:
    """A Gaussian mixture with a fixed number of slots, of which the first ``k`` are used.

    Attributes:
        means: float32 [K, D].
        covariances: float32 [K, D, D], full.
        weights: float32 [K], 0 for unused slots.
    """

    means: Array
    covariances: Array
    weights: Array


@struct.dataclass
class ALPGMMState:
    """ALP-GMM's state.

    Attributes:
        tasks: float32 [H, d], the task history (unit cube), a ring buffer.
        returns: float32 [H], their returns mapped onto [0, 1].
        alps: float32 [H], their absolute learning progress.
        seen: int32 [], finished tasks so far; the next one goes to slot ``seen % H``.
        gmm: the mixture tasks are drawn from (slots [max_k], D = d + 1: task then ALP).
        components: int32 [], components of ``gmm`` (0 before the first fit).
        fits: int32 [], fits so far.
        key: the PRNG key of the fits (``update`` gets no key).
    """

    tasks: Array
    returns: Array
    alps: Array
    seen: Array
    gmm: GMM
    components: Array
    fits: Array
    key: PRNGKey


def absolute_learning_progress(
    history_tasks: Array,
    history_returns: Array,
    history_valid: Array,
    tasks: Array,
    returns: Array,
    valid: Array,
) -> Array:
    """ALP of each new task: |return - return of the nearest earlier task|.

    New task i is compared with every valid history entry and every valid new task j < i (the
    round's tasks count as finished in order). Ties go to the history's lowest slot, then to the
    earliest new task.

    Args:
        history_tasks: float32 [H, d].
        history_returns: float32 [H].
        history_valid: bool [H], which history slots hold a task.
        tasks: float32 [N, d].
        returns: float32 [N].
        valid: bool [N], which new tasks finished (the others get ALP 0 and are no neighbour).

    Returns:
        float32 [N]; 0 where a task has no earlier task or did not finish.
    """
    num = tasks.shape[0]
    to_history = jnp.sum((tasks[:, None, :] - history_tasks[None, :, :]) ** 2, axis=-1)
    to_history = jnp.where(history_valid[None, :], to_history, jnp.inf)
    to_new = jnp.sum((tasks[:, None, :] - tasks[None, :, :]) ** 2, axis=-1)
    earlier = (jnp.arange(num)[None, :] < jnp.arange(num)[:, None]) & valid[None, :]
    to_new = jnp.where(earlier, to_new, jnp.inf)
    distances = jnp.concatenate([to_history, to_new], axis=1)
    neighbour_returns = jnp.concatenate([history_returns, returns])
    nearest = neighbour_returns[jnp.argmin(distances, axis=1)]
    has_neighbour = jnp.isfinite(jnp.min(distances, axis=1))
    return jnp.where(has_neighbour & valid, jnp.abs(returns - nearest), 0.0).astype(jnp.float32)


def _log_gaussians(x: Array, gmm: GMM) -> Array:
    """log(weight_k N(x_m | mean_k, cov_k)): float32 [M, K]; -inf for unused slots."""
    dim = x.shape[1]
    chol = jnp.linalg.cholesky(gmm.covariances)  # [K, D, D]
    eye = jnp.broadcast_to(jnp.eye(dim, dtype=x.dtype), chol.shape)
    inv_chol = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)  # [K, D, D]
    z = jnp.einsum("kij,kmj->kmi", inv_chol, x[None, :, :] - gmm.means[:, None, :])
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=1, axis2=2)), axis=1)  # [K]
    log_pdf = -0.5 * (dim * math.log(2.0 * math.pi) + log_det[:, None] + jnp.sum(z**2, -1))
    log_w = jnp.where(gmm.weights > 0, jnp.log(jnp.maximum(gmm.weights, 1e-30)), -jnp.inf)
    return (log_pdf + log_w[:, None]).T


def _m_step(x: Array, resp: Array, active: Array, reg: float) -> GMM:
    """Mixture from responsibilities [M, K] (zero for inactive slots)."""
    m, dim = x.shape
    nk = jnp.sum(resp, axis=0) + 10 * jnp.finfo(jnp.float32).eps  # [K], as scikit-learn
    means = (resp.T @ x) / nk[:, None]
    diff = x[None, :, :] - means[:, None, :]  # [K, M, D]
    cov = jnp.einsum("km,kmi,kmj->kij", resp.T, diff, diff) / nk[:, None, None]
    cov = cov + reg * jnp.eye(dim, dtype=x.dtype)
    weights = jnp.where(active, nk / m, 0.0)
    return GMM(means=means, covariances=cov, weights=weights / jnp.sum(weights))


def fit_gmm(
    key: PRNGKey, x: Array, k: Array, max_k: int, iters: int, reg: float
) -> tuple[GMM, Array]:
    """EM fit of a full-covariance mixture of ``k`` components (of ``max_k`` slots).

    Seeding: k-means++ picks ``k`` data points as centres; each point starts wholly in its
    nearest centre's component. Then ``iters`` EM iterations.

    Args:
        key: PRNG key of the seeding.
        x: float32 [M, D], the data.
        k: int32 [], components used (2 <= k <= max_k).
        max_k: static number of slots.
        iters: static number of EM iterations.
        reg: added to every covariance's diagonal.

    Returns:
        The mixture and its log-likelihood of ``x`` (float32 []).
    """
    m = x.shape[0]
    active = jnp.arange(max_k) < k

    # Gumbel-max draws: centre c is argmax(log p + gumbel[c]).
    gumbel = jax.random.gumbel(key, (max_k, m), x.dtype)

    def pick(c: int, carry: tuple[Array, Array]) -> tuple[Array, Array]:
        centres, d2 = carry
        # P(point) proportional to its squared distance to the nearest centre (uniform if all 0).
        logits = jnp.where(d2 > 0, jnp.log(jnp.maximum(d2, 1e-30)), -jnp.inf)
        logits = jnp.where(jnp.any(d2 > 0), logits, 0.0)
        new = x[jnp.argmax(logits + gumbel[c])]
        d2 = jnp.minimum(d2, jnp.sum((x - new) ** 2, axis=-1))
        return centres.at[c].set(new), d2

    first = x[jnp.argmax(gumbel[0])]
    centres = jnp.zeros((max_k, x.shape[1]), x.dtype).at[0].set(first)
    centres, _ = jax.lax.fori_loop(1, max_k, pick, (centres, jnp.sum((x - first) ** 2, axis=-1)))
    d2 = jnp.sum((x[:, None, :] - centres[None, :, :]) ** 2, axis=-1)
    nearest = jnp.argmin(jnp.where(active[None, :], d2, jnp.inf), axis=1)
    gmm = _m_step(x, jax.nn.one_hot(nearest, max_k, dtype=x.dtype), active, reg)

    def em(_: int, gmm: GMM) -> GMM:
        resp = jax.nn.softmax(_log_gaussians(x, gmm), axis=1)
        return _m_step(x, resp, active, reg)

    gmm = jax.lax.fori_loop(0, iters, em, gmm)
    log_lik = jnp.sum(jax.scipy.special.logsumexp(_log_gaussians(x, gmm), axis=1))
    return gmm, log_lik


def aic(log_lik: Array, k: Array, dim: int) -> Array:
    """Akaike information criterion of a full-covariance mixture: 2 * params - 2 * log-lik.

    Free parameters (as scikit-learn): k means of ``dim``, k covariances of dim (dim + 1) / 2,
    k - 1 weights.
    """
    params = k * dim + k * dim * (dim + 1) / 2 + k - 1
    return 2.0 * params - 2.0 * log_lik


class ALPGMM(Teacher[ALPGMMState]):
    """Absolute-Learning-Progress Gaussian Mixture Model teacher.

    Defaults follow TeachMyAgent's benchmark runs (``run_utils/teacher_args_handler.py``):
    ``fit_rate`` 150 and ``random_task_ratio`` 0.05; Portelas et al.'s own code (and
    TeachMyAgent's ``ALPGMM`` class defaults) use 250 and 0.2. ``max_k`` 10 is both codes' class
    default (TeachMyAgent's command line passes ``np.arange(2, 10)``, so 9 there). Covariances
    are full, as both codes.

    Args:
        env: the env.
        params: Params whose non-task fields every level keeps (default: the env's).
        dims: the Params fields to adapt (default: every adaptable field; see ``ParamSpace``).
        bounds: dimension name -> (low, high) inside the env's bounds: the box the teacher
            searches (default: the env's bounds; see ``ParamSpace``).
        fit_rate: finished tasks between fits; each fit uses the last ``fit_rate`` of them.
        max_k: the largest number of components tried (k = 2..max_k).
        random_task_ratio: probability that a task is uniform in the box once a mixture exists.
        bootstrap: finished tasks drawn uniformly before the first fit (TeachMyAgent: ``fit_rate``;
            at least ``fit_rate``).
        history: capacity of the task history searched for nearest neighbours (TeachMyAgent keeps
            every task; 10000 is 66 fits' worth at the default rate). At least ``fit_rate``.
        reward_range: (low, high) of an episode's return, mapped onto [0, 1] (default (0, 1), the
            grid tasks' returns).
        em_iters: EM iterations per fit (scikit-learn's ``max_iter`` is 100).
        reg_covar: added to the covariances' diagonals; the data lie in [0, 1]^(d+1), so 1e-4
            (a 0.01 standard-deviation floor) keeps float32 Cholesky factors stable (scikit-learn
            uses 1e-6 in float64).

    Raises:
        ValueError: on a bad hyper-parameter or an env without adaptable Params.
    """

    name = "alpgmm"
    signal = "fits"

    def __init__(
        self,
        env: Env,
        params: EnvParams | None = None,
        *,
        dims: list[str] | None = None,
        bounds: dict[str, tuple[float, float]] | None = None,
        fit_rate: int = 150,
        max_k: int = 10,
        random_task_ratio: float = 0.05,
        bootstrap: int | None = None,
        history: int = 10_000,
        reward_range: tuple[float, float] = (0.0, 1.0),
        em_iters: int = 100,
        reg_covar: float = 1e-4,
    ) -> None:
        super().__init__(env, params)
        owner = type(self).__name__
        self.space = ParamSpace(env, self.params, dims, bounds)
        bootstrap = fit_rate if bootstrap is None else bootstrap
        for name, value in (
            ("fit_rate", fit_rate),
            ("max_k", max_k),
            ("bootstrap", bootstrap),
            ("history", history),
            ("em_iters", em_iters),
        ):
            require_positive_int(owner, name, value)
        if max_k < 2:
            raise ValueError(f"{owner}.max_k must be >= 2, got {max_k}")
        if bootstrap < fit_rate:
            raise ValueError(f"{owner}.bootstrap ({bootstrap}) must be >= fit_rate ({fit_rate})")
        if history < fit_rate:
            raise ValueError(f"{owner}.history ({history}) must be >= fit_rate ({fit_rate})")
        require_unit(owner, "random_task_ratio", random_task_ratio)
        if not check(f"{owner}.reg_covar", reg_covar, float) > 0:
            raise ValueError(f"{owner}.reg_covar must be > 0, got {reg_covar!r}")
        self.fit_rate = fit_rate
        self.max_k = max_k
        self.random_task_ratio = float(random_task_ratio)
        self.bootstrap = bootstrap
        self.history = history
        self.reward_range = check_reward_range(owner, reward_range)
        self.em_iters = em_iters
        self.reg_covar = float(reg_covar)

    @property
    def task_dims(self) -> tuple[str, ...]:
        """The Params fields of the task space, ``space.names``."""
        return self.space.names

    def _check_num(self, num: int) -> None:
        require_positive_int(type(self).__name__, "num", num)
        if num > self.history:
            raise ValueError(
                f"{type(self).__name__}.history ({self.history}) must hold at least one round "
                f"({num} envs)"
            )

    def init(self, key: PRNGKey, num: int) -> ALPGMMState:
        """An empty history and no mixture, for rounds of ``num`` envs (at most ``history``)."""
        self._check_num(num)
        d, slots = self.space.dim, self.max_k
        eye = jnp.broadcast_to(jnp.eye(d + 1, dtype=jnp.float32), (slots, d + 1, d + 1))
        return ALPGMMState(
            tasks=jnp.zeros((self.history, d), jnp.float32),
            returns=jnp.zeros(self.history, jnp.float32),
            alps=jnp.zeros(self.history, jnp.float32),
            seen=jnp.asarray(0, jnp.int32),
            gmm=GMM(
                means=jnp.zeros((slots, d + 1), jnp.float32),
                covariances=eye,
                weights=jnp.zeros(slots, jnp.float32),
            ),
            components=jnp.asarray(0, jnp.int32),
            fits=jnp.asarray(0, jnp.int32),
            key=key,
        )

    def sample_tasks(self, state: ALPGMMState, key: PRNGKey, num: int) -> tuple[Array, Array]:
        """``num`` tasks and where they came from.

        Returns:
            The tasks, float32 [num, d] in the unit cube, and their origin, int32 [num]
            (``UNIFORM`` or the mixture component drawn from).
        """
        d = self.space.dim
        coin_key, uniform_key, comp_key, normal_key = jax.random.split(key, 4)
        uniform = jax.random.uniform(uniform_key, (num, d), jnp.float32)
        gmm = state.gmm
        active = gmm.weights > 0
        alp = jnp.where(active, jnp.maximum(gmm.means[:, -1], 0.0), 0.0)
        prob = jnp.where(jnp.sum(alp) > 0, alp, gmm.weights)
        logits = jnp.where(prob > 0, jnp.log(jnp.maximum(prob, 1e-30)), -jnp.inf)
        comp = jax.random.categorical(comp_key, logits, shape=(num,))
        chol = jnp.linalg.cholesky(gmm.covariances[:, :d, :d])  # [K, d, d]
        z = jax.random.normal(normal_key, (num, d), jnp.float32)
        drawn = gmm.means[comp, :d] + jnp.einsum("nij,nj->ni", chol[comp], z)
        drawn = jnp.clip(drawn, 0.0, 1.0)
        use_uniform = (
            (state.seen < self.bootstrap)
            | (state.components == 0)
            | jax.random.bernoulli(coin_key, self.random_task_ratio, (num,))
        )
        tasks = jnp.where(use_uniform[:, None], uniform, drawn)
        origin = jnp.where(use_uniform, UNIFORM, comp).astype(jnp.int32)
        return tasks, origin

    def sample(self, state: ALPGMMState, key: PRNGKey, num: int) -> tuple[ALPGMMState, Batch]:
        """Levels for ``num`` envs.

        ``batch.info`` holds ``tasks`` (float32 [num, d], unit cube; ``space.from_unit`` gives
        env units) and ``origin`` (int32 [num]: ``UNIFORM`` or the mixture component);
        ``batch.params`` each task's Params (leaves [num]).
        """
        self._check_num(num)
        task_key, level_key = jax.random.split(key)
        tasks, origin = self.sample_tasks(state, task_key, num)
        x = self.space.from_unit(tasks)
        levels = self.space.levels(level_key, x)
        info = {"tasks": tasks, "origin": origin}
        params = jax.vmap(self.space.to_params)(x)
        return state, Batch(levels=levels, info=info, train=jnp.asarray(True), params=params)

    def update(self, state: ALPGMMState, batch: Batch, stats: EpisodeStats) -> ALPGMMState:
        """Records each finished task's (task, return, ALP); refits the mixture when due."""
        num = batch_size_of(batch)
        check_stats(stats, num)
        return self.record(state, batch.info["tasks"], stats.return_mean, stats.episodes > 0)

    def record(self, state: ALPGMMState, tasks: Array, returns: Array, valid: Array) -> ALPGMMState:
        """Adds finished tasks to the history and refits when due.

        Args:
            state: the state.
            tasks: float32 [N, d], unit cube.
            returns: float32 [N], raw returns (mapped from ``reward_range`` here).
            valid: bool [N], which tasks finished.
        """
        tasks = jnp.asarray(tasks, jnp.float32)
        returns = jnp.asarray(returns, jnp.float32)
        valid = jnp.asarray(valid, bool)
        num = tasks.shape[0]
        if tasks.shape != (num, self.space.dim) or returns.shape != (num,) or valid.shape != (num,):
            raise ValueError(
                f"record needs tasks ({num}, {self.space.dim}), returns ({num},) and valid "
                f"({num},); got {tasks.shape}, {returns.shape}, {valid.shape}"
            )
        if num > self.history:
            raise ValueError(f"history ({self.history}) cannot hold a round of {num} tasks")
        h = self.history
        before = state.seen
        returns = unit_returns(returns, self.reward_range)
        filled = jnp.arange(h) < jnp.minimum(state.seen, h)
        alps = absolute_learning_progress(state.tasks, state.returns, filled, tasks, returns, valid)
        order = jnp.cumsum(valid) - 1
        slots = jnp.where(valid, (state.seen + order) % h, h)  # h: dropped
        seen = state.seen + jnp.sum(valid).astype(jnp.int32)
        state = state.replace(
            tasks=state.tasks.at[slots].set(tasks, mode="drop"),
            returns=state.returns.at[slots].set(returns, mode="drop"),
            alps=state.alps.at[slots].set(alps, mode="drop"),
            seen=seen,
        )
        due = (seen >= self.bootstrap) & (seen // self.fit_rate > before // self.fit_rate)
        return jax.lax.cond(due, self._fit, lambda s: s, state)

    def _fit(self, state: ALPGMMState) -> ALPGMMState:
        """Fits k = 2..max_k on the last ``fit_rate`` points and keeps the lowest AIC."""
        key, fit_key = jax.random.split(state.key)
        idx = (state.seen - self.fit_rate + jnp.arange(self.fit_rate)) % self.history
        x = jnp.concatenate([state.tasks[idx], state.alps[idx][:, None]], axis=1)
        ks = jnp.arange(2, self.max_k + 1)
        gmms, log_liks = jax.vmap(
            lambda k: fit_gmm(fit_key, x, k, self.max_k, self.em_iters, self.reg_covar)
        )(ks)
        scores = aic(log_liks, ks, x.shape[1])
        best = jnp.argmin(jnp.where(jnp.isfinite(scores), scores, jnp.inf))
        gmm = jax.tree.map(lambda a: a[best], gmms)
        return state.replace(
            gmm=gmm, components=ks[best].astype(jnp.int32), fits=state.fits + 1, key=key
        )

    def metrics(self, state: ALPGMMState) -> dict[str, Array]:
        """Mixture size, ALPs, history size, tasks seen and fits.

        ``alp_mean`` averages the stored history's ALP; ``gmm_alp_max`` is the highest mean ALP
        of a mixture component.
        """
        size = jnp.minimum(state.seen, self.history)
        filled = jnp.arange(self.history) < size
        gmm = state.gmm
        alp = jnp.maximum(gmm.means[:, -1], 0.0)
        return {
            "gmm_components": state.components.astype(jnp.float32),
            "alp_mean": jnp.sum(jnp.where(filled, state.alps, 0.0)) / jnp.maximum(size, 1),
            "gmm_alp_max": jnp.max(jnp.where(gmm.weights > 0, alp, 0.0)),
            "history_size": size.astype(jnp.float32),
            "tasks_seen": state.seen.astype(jnp.float32),
            "fits": state.fits.astype(jnp.float32),
        }
