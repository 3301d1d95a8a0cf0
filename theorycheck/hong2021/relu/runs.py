r"""One training run of the Fig. 2 and Fig. 6 experiments of Hong et al. 2021, from integer seeds.

A run is two things: the problem (:class:`StudentProblem`: teacher, training samples, student
initialisation), rebuilt from integer seeds by :func:`fig2_problem` or :func:`fig6_problem`, and
what the training is (:class:`RunSpec`: objective, step-size rule, schedule, stopping,
evaluation). :func:`run_student` trains one student and returns its summary, so any run can be
replayed exactly outside the claim:

>>> problem = fig2_problem(m=400, d=20, sigma=0.5, N=40, N_pool=80, seeds=(1, 2, 3))
>>> spec = RunSpec(objective=fig2_objective(lam_d=10.0, d=20), steps=200, n_eval=10, lr_frac=1.0)
>>> run = run_student(problem, spec, np.random.default_rng(0))          # doctest: +SKIP

How the run reports and saves itself (a snapshot file to resume from, progress lines) changes no
number and is passed apart (:mod:`theorycheck.hong2021.relu.checkpoint`).

Choices the paper leaves open (all ours unless noted):

* Losses are means over samples (the paper's sums with the step size divided by N).
* Step sizes: full-batch GD with one step size per layer, each ``lr_frac`` over the largest
  eigenvalue of that layer's Gauss-Newton block at initialisation
  (:func:`~theorycheck.hong2021.relu.curvature.top_curvature`). The paper gives no learning rate; a single
  shared step size is held back by the stiff output layer (its curvature is about
  :math:`\tfrac{2}{\pi}(1+\sigma^2)d`, that of the first layer's feature term about
  :math:`\lambda(1+\sigma^2)`), which makes the feature term learn orders of magnitude slower.
* Fig. 6: minibatch SGD (as the paper says) with step ``lr_frac`` / (full-batch GN curvature),
  divided by 10 after each third of the steps (the paper's own CIFAR schedule, Sec. 4.1); with a
  constant step the SGD noise floor, largest for g = 1, hides the trend at large N. The step is
  capped at half the stability limit of the stiffest of a few minibatches,
  1 / max_B lambda_max(GN_B) (:func:`minibatch_curvature`): a minibatch of B rows has a top
  curvature about d / B times the full batch's when B << d (each row has squared norm about d), so at
  the paper's d = 500 with B = 16 the full-batch step diverged within 20 steps.
* Test error: the exact population error (:mod:`theorycheck.hong2021.relu.population`), on a geometric
  schedule of steps; "early stopped" is the minimum over that schedule (oracle early stopping, as in
  the paper: "best testing error during training").
* "End of training": the data-fit term below ``stop_tol`` of its zero-prediction value, or ``steps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...backend import BACKENDS, get_xp, resolve_dtype, to_device
from ...errors import InputError, check_choice, check_int, check_real
from ...seeding import substream
from .checkpoint import CheckpointSpec, train_checkpointed
from .curvature import top_curvature
from .objective import Objective, eq1, eq2, eq7
from .population import bayes_error, population_error, teacher_second_moment
from .simulator import TwoLayerSimulator
from .teachers import TrainingSet, pooled_teacher, training_set, xavier_student, xavier_teacher
from .training import TrainSpec, geometric_schedule

__all__ = ["StudentProblem", "RunSpec", "teacher_stats", "fig2_setup", "fig6_setup", "fig2_problem",
           "fig6_problem", "fig2_objective", "fig6_objective", "step_sizes", "minibatch_curvature",
           "run_student"]


@dataclass(frozen=True)
class StudentProblem:
    r"""What one student is trained on and measured against (host float64 arrays).

    Attributes
    ----------
    data : TrainingSet
        The N training samples: noisy inputs ``Z`` (N, d), teacher features ``T`` (N, m), targets ``y`` (N,).
    W_0 : ndarray of shape (m, d)
        Initial first layer.
    a_0 : ndarray of shape (m,)
        Initial output weights (Fig. 6: the teacher's frozen :math:`P^T\widetilde W_2^T`).
    W_t : ndarray of shape (m_t, d);  a_t : ndarray of shape (m_t,)
        The teacher (the ground truth of the exact test error).
    sigma : float
        Input noise standard deviation.
    teacher_moment : float or None
        :math:`\mathbb E f_t^2`, if already known (saves a third of each test-error evaluation).
    """

    data: TrainingSet
    W_0: np.ndarray
    a_0: np.ndarray
    W_t: np.ndarray
    a_t: np.ndarray
    sigma: float
    teacher_moment: float | None = None


@dataclass(frozen=True)
class RunSpec:
    """What one training run is: everything that changes its numbers besides the problem and the
    generator (module docstring for the rules).

    Attributes
    ----------
    objective : Objective
        Eq. (1), (2) or (7) (:func:`fig2_objective`, :func:`fig6_objective`).
    steps : int >= 1
        Largest number of updates.
    n_eval : int >= 2
        About this many evaluations of the test error, on :func:`geometric_schedule` (``steps``, ``n_eval``).
    lr_frac : float > 0
        Step-size rule: ``lr_frac`` / lambda_max of each layer's Gauss-Newton block at the
        initialisation (:func:`step_sizes`); with minibatches capped at 1 / lambda_max of the
        stiffest minibatch (:func:`minibatch_curvature`).
    stop_tol : float >= 0 or None
        "Zero training loss": the data-fit term below ``stop_tol`` of its zero-prediction value.
    batch_size : int >= 1 or None
        Minibatch SGD with this many rows (None, or at least N: full-batch GD).
    lr_drops : int >= 0
        Step decay: the step sizes are divided by 10 after each of ``lr_drops + 1`` equal parts of ``steps``.
    backend : {"numpy", "cupy"};  dtype : {"float32", "float64"}
        Where and in which precision the student is trained (test errors are float64).
    """

    objective: Objective
    steps: int
    n_eval: int
    lr_frac: float
    stop_tol: float | None = 1e-6
    batch_size: int | None = None
    lr_drops: int = 0
    backend: str = "numpy"
    dtype: str = "float32"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen
        put("steps", check_int("steps", self.steps, low=1))
        put("n_eval", check_int("n_eval", self.n_eval, low=2))
        put("lr_frac", check_real("lr_frac", self.lr_frac, low=0.0, low_open=True))
        if self.stop_tol is not None:
            put("stop_tol", check_real("stop_tol", self.stop_tol, low=0.0))
        if self.batch_size is not None:
            put("batch_size", check_int("batch_size", self.batch_size, low=1))
        put("lr_drops", check_int("lr_drops", self.lr_drops, low=0))
        check_choice("backend", self.backend, BACKENDS)
        resolve_dtype(self.dtype)


def teacher_stats(W_t, a_t, sigma: float) -> dict:
    """:math:`\\mathbb E f_t^2` (test error of the zero predictor) and the Bayes error (float64, exact).

    Parameters
    ----------
    W_t : array of shape (m, d);  a_t : array of shape (m,);  sigma : float, input noise level

    Returns
    -------
    dict with ``teacher_moment`` and ``bayes_error``
    """
    return {"teacher_moment": teacher_second_moment(W_t, a_t), "bayes_error": bayes_error(W_t, a_t, sigma)}


def _check_seeds(seeds) -> tuple[int, int, int]:
    """(teacher, student, data) seeds: three non-negative integers."""
    try:
        out = tuple(check_int("seeds", s, low=0) for s in seeds)
    except TypeError:
        out = ()
    if len(out) != 3:
        raise InputError("seeds", f"must be three non-negative integers (teacher, student, data), got {seeds!r}")
    return out


def _check_pool(N: int, N_pool: int) -> None:
    N_pool = check_int("N_pool", N_pool, low=1)
    check_int("N", N, low=1, high=N_pool)


def fig2_setup(m: int, d: int, sigma: float, N_pool: int, seeds):
    """Teacher, student initialisation and a pool of ``N_pool`` noisy samples for Fig. 2 (Sec. 3.2).

    Parameters
    ----------
    seeds : (teacher_seed, student_seed, data_seed), ints
        The same student seed for every student of a figure ("Xavier normal initialization with the
        same random seed", Sec. 3.2); the data of a smaller N are the first N of the pool.

    Returns
    -------
    (W_t, a_t), (W_0, a_0), TrainingSet
        Shapes (m, d), (m,); (m, d), (m,); ``N_pool`` samples.
    """
    ts, ss, ds = _check_seeds(seeds)
    W_t, a_t = xavier_teacher(m, d, substream(ts))
    W_0, a_0 = xavier_student(m, d, substream(ss))
    data = training_set(W_t, a_t, N_pool, sigma, substream(ds))
    return (W_t, a_t), (W_0, a_0), data


def fig6_setup(m: int, d: int, sigma: float, N_pool: int, seeds):
    """Pooled teacher (Sec. 5.3), student first layer and a sample pool for Fig. 6.

    Returns
    -------
    (W_t, a_t), W_0, TrainingSet
        ``a_t`` (m,) is the +-1 vector :math:`P^T\\widetilde W_2^T`, also the student's frozen output
        weights; ``W_t``, ``W_0`` have shape (m, d).
    """
    ts, ss, ds = _check_seeds(seeds)
    W_t, a_t = pooled_teacher(m, d, substream(ts))
    W_0, _ = xavier_student(m, d, substream(ss))
    data = training_set(W_t, a_t, N_pool, sigma, substream(ds))
    return (W_t, a_t), W_0, data


def fig2_problem(m: int, d: int, sigma: float, N: int, N_pool: int, seeds,
                 teacher_moment: float | None = None) -> StudentProblem:
    """A Fig. 2 student's problem: :func:`fig2_setup`, trained on the first ``N`` of the pool."""
    _check_pool(N, N_pool)
    (W_t, a_t), (W_0, a_0), data = fig2_setup(m, d, sigma, N_pool, seeds)
    return StudentProblem(data.first(N), W_0, a_0, W_t, a_t, sigma, teacher_moment)


def fig6_problem(m: int, d: int, sigma: float, N: int, N_pool: int, seeds,
                 teacher_moment: float | None = None) -> StudentProblem:
    """A Fig. 6 student's problem: :func:`fig6_setup`, the first ``N`` samples, :math:`W_2 = \\widetilde W_2`."""
    _check_pool(N, N_pool)
    (W_t, a_t), W_0, data = fig6_setup(m, d, sigma, N_pool, seeds)
    return StudentProblem(data.first(N), W_0, a_t, W_t, a_t, sigma, teacher_moment)


def fig2_objective(lam_d: float, d: int) -> Objective:
    """Fig. 2: Eq. (2) with :math:`\\lambda = ` ``lam_d / d``, or the base loss Eq. (1) for ``lam_d = 0``;
    both layers trained."""
    lam = check_real("lam_d", lam_d, low=0.0) / check_int("d", d, low=1)
    return eq2(lam) if lam > 0 else eq1()


def fig6_objective(g: int | None) -> Objective:
    """Fig. 6: Eq. (7) with group size ``g`` and :math:`W_2 = \\widetilde W_2` frozen; ``g=None``: the
    targets only (Eq. (1) with the same frozen :math:`W_2`), the g-independent reference."""
    if g is None:
        return Objective(base_weight=1.0, lam=0.0, g=1, train_W2=False)
    return eq7(g)


def step_sizes(sim, rng: np.random.Generator, lr_frac: float):
    """Per-layer step sizes ``lr_frac / lambda_max`` of each Gauss-Newton block at the current point.

    Parameters
    ----------
    sim : TwoLayerSimulator
    rng : numpy.random.Generator, the power iterations' start vectors (first layer, then output)
    lr_frac : float > 0

    Returns
    -------
    lr_W1, lr_a : float (``lr_a`` is 0 when the output layer is frozen)
    curvature : dict with the two estimated eigenvalues
    """
    c1 = top_curvature(sim, rng, block="W1")
    c2 = top_curvature(sim, rng, block="a")
    return lr_frac / c1, (lr_frac / c2 if c2 > 0 else 0.0), {"curv_W1": c1, "curv_a": c2}


def minibatch_curvature(problem: StudentProblem, objective: Objective, batch_size: int,
                        rng: np.random.Generator, *, n_batches: int = 4, backend: str = "numpy",
                        dtype: str = "float32") -> dict:
    """Largest Gauss-Newton block curvatures over ``n_batches`` random minibatches at the initialisation.

    Minibatch SGD on the objectives of Hong et al. 2021 (Eq. (1), (2), (7)) takes, at each step, a
    GD step on one minibatch's objective; it is stable only below 2 / lambda_max of that minibatch's
    GN matrix (:func:`~theorycheck.hong2021.relu.curvature.top_curvature` on a simulator of the minibatch).

    Parameters
    ----------
    problem : StudentProblem, its data Z (N, d), T (N, m), y (N,) and initialisation W_0 (m, d), a_0 (m,)
    objective : Objective
    batch_size : int, rows per minibatch (< N)
    rng : numpy.random.Generator, draws the minibatches and the power-iteration starts

    Returns
    -------
    dict with ``curv_W1_batch`` and ``curv_a_batch`` (the maxima over the minibatches)
    """
    Z, T, y = problem.data.Z, problem.data.T, problem.data.y
    c1 = c2 = 0.0
    for _ in range(n_batches):
        idx = np.sort(rng.choice(len(Z), size=batch_size, replace=False))
        sub = TwoLayerSimulator(Z[idx], None if T is None else T[idx], None if y is None else y[idx],
                                problem.W_0, problem.a_0, objective, backend=backend, dtype=dtype)
        c1 = max(c1, top_curvature(sub, rng, block="W1"))
        c2 = max(c2, top_curvature(sub, rng, block="a"))
    return {"curv_W1_batch": c1, "curv_a_batch": c2}


def run_student(problem: StudentProblem, spec: RunSpec, rng: np.random.Generator, *,
                checkpoint: CheckpointSpec | None = None, progress: Callable | None = None) -> dict:
    """Train one student and return its JSON-able summary (trajectory, early-stopped and final errors).

    Parameters
    ----------
    problem : StudentProblem
    spec : RunSpec
    rng : numpy.random.Generator
        Power-iteration start vectors (:func:`step_sizes`), then the minibatch order; the minibatch
        curvature draws from a generator spawned from it, so the order is the same with or without.
    checkpoint : CheckpointSpec, optional
        Snapshot file of the training run, to resume after an interruption, bit for bit
        (:func:`~theorycheck.hong2021.relu.checkpoint.train_checkpointed`). Everything before training
        (simulator, step sizes) is recomputed from the same problem and generator, so it is the same
        on resume.
    progress : callable, optional
        Progress callback of the training loop
        (:func:`~theorycheck.hong2021.relu.checkpoint.progress_printer`).

    Returns
    -------
    dict
        :meth:`~theorycheck.hong2021.relu.training.Trajectory.summary` plus ``lr_W1``, ``lr_a``,
        ``method``, the curvatures and ``seconds_per_step`` (training time per step, evaluations
        excluded).
    """
    data = problem.data
    N = len(data.Z)
    batch = spec.batch_size if (spec.batch_size is not None and spec.batch_size < N) else None
    sim = TwoLayerSimulator(data.Z, data.T, data.y, problem.W_0, problem.a_0, spec.objective,
                            backend=spec.backend, dtype=spec.dtype, batch_size=batch)
    lr1, lr2, curv = step_sizes(sim, rng, spec.lr_frac)
    if batch is not None:
        # a generator spawned from rng: the minibatch order drawn from rng later is unchanged
        bc = minibatch_curvature(problem, spec.objective, batch, rng.spawn(1)[0], backend=spec.backend,
                                 dtype=spec.dtype)
        curv.update(bc, lr_W1_uncapped=lr1, lr_a_uncapped=lr2)
        lr1 = min(lr1, 1.0 / bc["curv_W1_batch"]) if bc["curv_W1_batch"] > 0 else lr1
        lr2 = min(lr2, 1.0 / bc["curv_a_batch"]) if bc["curv_a_batch"] > 0 else lr2
    xp = get_xp(spec.backend)
    W_t = to_device(xp, problem.W_t, np.float64)
    a_t = to_device(xp, problem.a_t, np.float64)
    tm = teacher_second_moment(W_t, a_t) if problem.teacher_moment is None else problem.teacher_moment

    def evaluate(W, a):
        return population_error(W, a, W_t, a_t, problem.sigma, teacher_moment=tm)

    train_spec = TrainSpec(steps=spec.steps, lr_W1=lr1, lr_a=lr2,
                           eval_steps=geometric_schedule(spec.steps, spec.n_eval), stop_tol=spec.stop_tol,
                           batch_size=batch, lr_drops=spec.lr_drops)
    traj = train_checkpointed(sim, train_spec, evaluate, rng=rng, checkpoint=checkpoint, progress=progress)
    out = traj.summary()
    out.update(lr_W1=lr1, lr_a=lr2, method=sim.method, **curv,
               seconds_per_step=(traj.seconds - traj.eval_seconds) / max(traj.final_step, 1))
    return out
