r"""One training run of the Fig. 2 and Fig. 6 experiments of Hong et al. 2021, from integer seeds.

Everything a run needs (teacher, student initialisation, training data) is rebuilt from the integer
seeds it is given, so any run can be replayed exactly outside the claim:

>>> run = fig2_run(m=400, d=20, sigma=0.5, N=40, N_pool=80, lam_d=10.0, seeds=(1, 2, 3),
...                steps=200, n_eval=10)                                  # doctest: +SKIP

Choices the paper leaves open (digest §7-8; all [OURS] unless noted):

* Losses are means over samples (the paper's sums with the step size divided by N).
* Step sizes: full-batch GD with one step size per layer, each ``lr_frac`` over the largest
  eigenvalue of that layer's Gauss-Newton block at initialisation
  (:func:`~theorycheck.relu.curvature.top_curvature`). The paper gives no learning rate; a single
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
* Test error: the exact population error (:mod:`theorycheck.relu.population`), on a geometric
  schedule of steps; "early stopped" is the minimum over that schedule (oracle early stopping, as in
  the paper: "best testing error during training").
* "End of training": the data-fit term below ``stop_tol`` of its zero-prediction value, or ``steps``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..backend import get_xp, to_device
from ..errors import check_real
from .curvature import top_curvature
from .objective import Objective, eq1, eq2, eq7
from .population import bayes_error, population_error, teacher_second_moment
from .simulator import TwoLayerSimulator
from .teachers import pooled_teacher, training_set, xavier_student, xavier_teacher
from .training import geometric_schedule, train

__all__ = ["teacher_stats", "fig2_setup", "fig6_setup", "step_sizes", "minibatch_curvature", "run_student", "fig2_run",
           "fig6_run"]


def teacher_stats(W_t, a_t, sigma: float) -> dict:
    """:math:`\\mathbb E f_t^2` (test error of the zero predictor) and the Bayes error (float64, exact)."""
    return {"teacher_moment": teacher_second_moment(W_t, a_t), "bayes_error": bayes_error(W_t, a_t, sigma)}


def fig2_setup(m: int, d: int, sigma: float, N_pool: int, seeds):
    """Teacher, student initialisation and a pool of ``N_pool`` noisy samples for Fig. 2.

    Parameters
    ----------
    seeds : (teacher_seed, student_seed, data_seed), ints
        The same student seed for every student of a figure ("Xavier normal initialization with the
        same random seed", Sec. 3.2); the data of a smaller N are the first N of the pool.

    Returns
    -------
    (W_t, a_t), (W_0, a_0), TrainingSet
    """
    ts, ss, ds = (int(s) for s in seeds)
    W_t, a_t = xavier_teacher(m, d, np.random.default_rng(ts))
    W_0, a_0 = xavier_student(m, d, np.random.default_rng(ss))
    data = training_set(W_t, a_t, N_pool, sigma, np.random.default_rng(ds))
    return (W_t, a_t), (W_0, a_0), data


def fig6_setup(m: int, d: int, sigma: float, N_pool: int, seeds):
    """Pooled teacher (Sec. 5.3), student first layer and a sample pool for Fig. 6.

    Returns
    -------
    (W_t, a_t), W_0, TrainingSet
        ``a_t`` is the +-1 vector :math:`P^T\\widetilde W_2^T`, also the student's frozen output weights.
    """
    ts, ss, ds = (int(s) for s in seeds)
    W_t, a_t = pooled_teacher(m, d, np.random.default_rng(ts))
    W_0, _ = xavier_student(m, d, np.random.default_rng(ss))
    data = training_set(W_t, a_t, N_pool, sigma, np.random.default_rng(ds))
    return (W_t, a_t), W_0, data


def step_sizes(sim, rng: np.random.Generator, lr_frac: float):
    """Per-layer step sizes ``lr_frac / lambda_max`` of each Gauss-Newton block at the current point.

    Returns
    -------
    lr_W1, lr_a : float (``lr_a`` is 0 when the output layer is frozen)
    curvature : dict with the two estimated eigenvalues
    """
    lr_frac = check_real("lr_frac", lr_frac, low=0.0, low_open=True)
    c1 = top_curvature(sim, rng, block="W1")
    c2 = top_curvature(sim, rng, block="a")
    return lr_frac / c1, (lr_frac / c2 if c2 > 0 else 0.0), {"curv_W1": c1, "curv_a": c2}


def minibatch_curvature(Z, T, y, W_0, a_0, objective: Objective, *, batch_size: int,
                        rng: np.random.Generator, n_batches: int = 4, backend: str = "numpy",
                        dtype: str = "float32") -> dict:
    """Largest Gauss-Newton block curvatures over ``n_batches`` random minibatches at ``(W_0, a_0)``.

    Minibatch SGD on the objectives of Hong et al. 2021 (Eq. (1), (2), (7)) takes, at each step, a
    GD step on one minibatch's objective; it is stable only below 2 / lambda_max of that minibatch's
    GN matrix (:func:`~theorycheck.relu.curvature.top_curvature` on a simulator of the minibatch).

    Parameters
    ----------
    Z : (N, d); T : (N, m) or None; y : (N,) or None; W_0 : (m, d); a_0 : (m,)
    batch_size : int, rows per minibatch (< N)
    rng : numpy.random.Generator, draws the minibatches and the power-iteration starts

    Returns
    -------
    dict with ``curv_W1_batch`` and ``curv_a_batch`` (the maxima over the minibatches)
    """
    c1 = c2 = 0.0
    for _ in range(n_batches):
        idx = np.sort(rng.choice(len(Z), size=batch_size, replace=False))
        sub = TwoLayerSimulator(Z[idx], None if T is None else T[idx], None if y is None else y[idx],
                                W_0, a_0, objective, backend=backend, dtype=dtype)
        c1 = max(c1, top_curvature(sub, rng, block="W1"))
        c2 = max(c2, top_curvature(sub, rng, block="a"))
    return {"curv_W1_batch": c1, "curv_a_batch": c2}


def _progress_printer(label: str, every_s: float):
    """A ``train`` progress callback printing one line to stderr at most every ``every_s`` seconds."""
    if not every_s or every_s <= 0:
        return None
    last = [-float("inf")]

    def cb(info):
        now = time.perf_counter()
        if now - last[0] >= every_s:
            last[0] = now
            test = "" if info["test_error"] is None else f" test={info['test_error']:.5g}"
            print(f"[{label}] step {info['step']} loss={info['train_total']:.4g}{test} "
                  f"({info['elapsed_s']:.0f} s)", file=sys.stderr, flush=True)
    return cb


def run_student(Z, T, y, W_0, a_0, objective: Objective, teacher, sigma: float, *, steps: int,
                n_eval: int, stop_tol: float | None, lr_frac: float, rng: np.random.Generator,
                backend: str = "numpy", dtype: str = "float32", batch_size: int | None = None,
                teacher_moment: float | None = None, progress_s: float = 0.0, label: str = "",
                lr_drops: int = 0, snapshot=None, snapshot_s: float = 300.0) -> dict:
    """Train one student and return its JSON-able summary (trajectory, early-stopped and final errors).

    Parameters
    ----------
    Z, T, y : training data (rows), see :class:`~theorycheck.relu.simulator.TwoLayerSimulator`
    W_0, a_0 : initial weights (copied)
    objective : Objective
    teacher : (W_t, a_t), the ground truth for the exact test error
    sigma : float, input noise level
    steps, n_eval, stop_tol : see :func:`~theorycheck.relu.training.train` (``n_eval`` geometric points)
    lr_frac : float, step size as a fraction of 1 / (GN curvature)
    rng : numpy.random.Generator, power-iteration start vectors and minibatch order
    teacher_moment : float, optional, :math:`\\mathbb E f_t^2` if known
    progress_s : float, print a progress line every this many seconds (0: silent)
    lr_drops : int, step-decay drops (/10) spread evenly over ``steps`` (see ``train``)
    snapshot : path or None
        Snapshot file of the training run (resume after an interruption, bit for bit; see
        :func:`~theorycheck.relu.training.train`). Everything before training (setup, step sizes) is
        recomputed from the same seeds and generator, so it is the same on resume.
    snapshot_s : float, seconds between snapshots
    """
    xp = get_xp(backend)
    rows = len(Z) if batch_size is None else min(len(Z), batch_size)
    with _blas_threads_for(rows * np.shape(W_0)[0] * np.shape(W_0)[1], backend):
        return _run_student(Z, T, y, W_0, a_0, objective, teacher, sigma, xp, steps=steps, n_eval=n_eval,
                            stop_tol=stop_tol, lr_frac=lr_frac, rng=rng, backend=backend, dtype=dtype,
                            batch_size=batch_size, teacher_moment=teacher_moment, progress_s=progress_s,
                            label=label, lr_drops=lr_drops, snapshot=snapshot, snapshot_s=snapshot_s)


#: Below this many multiply-adds per GEMM a step runs its BLAS on one thread: thread start-up and
#: barriers cost more than they save, and on a loaded machine a descheduled BLAS thread stalls every
#: GEMM call (measured: 10x slower steps at m=2000, N=200 with 2 threads on 2 busy cores).
SMALL_GEMM_MACS = 1 << 24


def _blas_threads_for(macs: int, backend: str):
    import contextlib
    if backend != "numpy" or macs >= SMALL_GEMM_MACS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def _run_student(Z, T, y, W_0, a_0, objective, teacher, sigma, xp, *, steps, n_eval, stop_tol, lr_frac,
                 rng, backend, dtype, batch_size, teacher_moment, progress_s, label, lr_drops, snapshot,
                 snapshot_s):
    sim = TwoLayerSimulator(Z, T, y, W_0, a_0, objective, backend=backend, dtype=dtype,
                            batch_size=batch_size)
    lr1, lr2, curv = step_sizes(sim, rng, lr_frac)
    if batch_size is not None and batch_size < len(Z):
        # a generator spawned from rng: the minibatch order drawn from rng later is unchanged
        bc = minibatch_curvature(Z, T, y, W_0, a_0, objective, batch_size=batch_size,
                                 rng=rng.spawn(1)[0], backend=backend, dtype=dtype)
        curv.update(bc, lr_W1_uncapped=lr1, lr_a_uncapped=lr2)
        lr1 = min(lr1, 1.0 / bc["curv_W1_batch"]) if bc["curv_W1_batch"] > 0 else lr1
        lr2 = min(lr2, 1.0 / bc["curv_a_batch"]) if bc["curv_a_batch"] > 0 else lr2
    W_t = to_device(xp, teacher[0], np.float64)
    a_t = to_device(xp, teacher[1], np.float64)
    tm = teacher_second_moment(W_t, a_t) if teacher_moment is None else teacher_moment

    def evaluate(W, a):
        return population_error(W, a, W_t, a_t, sigma, teacher_moment=tm)

    traj = train(sim, steps=steps, lr_W1=lr1, lr_a=lr2, evaluate=evaluate,
                 eval_steps=geometric_schedule(steps, n_eval), stop_tol=stop_tol,
                 batch_size=batch_size, rng=rng, progress=_progress_printer(label, progress_s),
                 lr_drops=lr_drops, snapshot=snapshot, snapshot_s=snapshot_s)
    out = traj.summary()
    out.update(lr_W1=lr1, lr_a=lr2, method=sim.method, **curv,
               seconds_per_step=(traj.seconds - traj.eval_seconds) / max(traj.final_step, 1))
    return out


def fig2_run(*, m: int, d: int, sigma: float, N: int, N_pool: int, lam_d: float, seeds, steps: int,
             n_eval: int, stop_tol: float | None = 1e-6, lr_frac: float = 1.0, backend: str = "numpy",
             dtype: str = "float32", rng: np.random.Generator | None = None,
             teacher_moment: float | None = None, progress_s: float = 0.0, snapshot=None,
             snapshot_s: float = 300.0) -> dict:
    """One Fig. 2 student: Eq. (2) with :math:`\\lambda = ` ``lam_d / d`` (``lam_d = 0``: the base loss
    Eq. (1)), full-batch GD, both layers trained, on the first ``N`` samples of the pool.
    ``snapshot``, ``snapshot_s``: resume file of the training run (see :func:`run_student`)."""
    teacher, (W_0, a_0), data = fig2_setup(m, d, sigma, N_pool, seeds)
    lam = float(lam_d) / d
    objective = eq2(lam) if lam > 0 else eq1()
    rng = np.random.default_rng(0) if rng is None else rng
    return run_student(data.Z[:N], data.T[:N], data.y[:N], W_0, a_0, objective, teacher, sigma,
                       steps=steps, n_eval=n_eval, stop_tol=stop_tol, lr_frac=lr_frac, rng=rng,
                       backend=backend, dtype=dtype, teacher_moment=teacher_moment,
                       progress_s=progress_s, label=f"fig2 N_s={N} lam_d={lam_d:g}", snapshot=snapshot,
                       snapshot_s=snapshot_s)


def fig6_run(*, m: int, d: int, sigma: float, N: int, N_pool: int, g: int | None, seeds, steps: int,
             n_eval: int, batch_size: int | None, stop_tol: float | None = 1e-6, lr_frac: float = 0.5,
             lr_drops: int = 2, backend: str = "numpy", dtype: str = "float32",
             rng: np.random.Generator | None = None, teacher_moment: float | None = None,
             progress_s: float = 0.0, snapshot=None, snapshot_s: float = 300.0) -> dict:
    """One Fig. 6 student: Eq. (7) with group size ``g`` and :math:`W_2 = \\widetilde W_2` frozen, trained
    by minibatch SGD with ``lr_drops`` step-decay drops (/10). ``g=None`` trains on the targets only (Eq. (1) with the same frozen :math:`W_2`),
    the g-independent reference. ``snapshot``, ``snapshot_s``: resume file of the training run (see
    :func:`run_student`)."""
    teacher, W_0, data = fig6_setup(m, d, sigma, N_pool, seeds)
    if g is None:
        objective = Objective(base_weight=1.0, lam=0.0, g=1, train_W2=False)
    else:
        objective = eq7(g)
    rng = np.random.default_rng(0) if rng is None else rng
    bs = batch_size if (batch_size is not None and batch_size < N) else None
    return run_student(data.Z[:N], data.T[:N], data.y[:N], W_0, teacher[1], objective, teacher, sigma,
                       steps=steps, n_eval=n_eval, stop_tol=stop_tol, lr_frac=lr_frac, rng=rng,
                       backend=backend, dtype=dtype, batch_size=bs, teacher_moment=teacher_moment,
                       progress_s=progress_s, label=f"fig6 N_s={N} g={g}", lr_drops=lr_drops,
                       snapshot=snapshot, snapshot_s=snapshot_s)
