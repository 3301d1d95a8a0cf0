r"""Experiments of Hong et al. 2021, Fig. 2 and Fig. 6 (claims ``hong2021.fig2``, ``hong2021.fig6``):
wide two-layer ReLU students trained on noisy inputs, with exact population test errors.

Sweep cells (module level):

* :func:`fig2_teacher_cell`, :func:`fig6_teacher_cell`: one repetition's teacher, its second moment
  :math:`\mathbb E f_t^2` and the Bayes error (exact, float64).
* :func:`fig2_cell`, :func:`fig6_cell`: one student, trained by
  :func:`~theorycheck.hong2021.relu.runs.run_student` (a training run per cell). They take the
  sweep's run settings (``progress_s``, ``snapshot_s``) and snapshot file in their third argument,
  so an interrupted run continues within the cell.

:func:`blas_threads` says how many BLAS threads a student cell should run with (the claims pass it
to the sweep). The analysis, pure functions of the cells' outputs: :func:`fig2_measurements`,
:func:`fig6_measurements`. The mathematics is :mod:`theorycheck.hong2021.relu`.
"""

from __future__ import annotations

import numpy as np

from ...stats import spearman
from ..relu.checkpoint import CheckpointSpec, progress_printer
from ..relu.runs import (RunSpec, fig2_objective, fig2_problem, fig2_setup, fig6_objective, fig6_problem,
                         fig6_setup, run_student, teacher_stats)

__all__ = ["SMALL_GEMM_MACS", "blas_threads", "fig2_teacher_cell", "fig2_cell", "fig6_teacher_cell",
           "fig6_cell", "fig2_measurements", "fig6_measurements"]

#: Below this many multiply-adds per GEMM a student cell runs its BLAS on one thread: thread start-up
#: and barriers cost more than they save, and on a loaded machine a descheduled BLAS thread stalls
#: every GEMM call (measured: 10x slower steps at m=2000, N=200 with 2 threads on 2 busy cores).
SMALL_GEMM_MACS = 1 << 24


def blas_threads(cell: dict) -> int | None:
    """BLAS threads for a student cell (:data:`SMALL_GEMM_MACS`): 1 when its GEMMs (rows x m x d,
    rows = N_s or the minibatch) are small and it runs on NumPy, else None (the sweep's default)."""
    rows = cell["N_s"] if cell.get("batch_size") is None else min(cell["N_s"], cell["batch_size"])
    small = rows * cell["m"] * cell["d"] < SMALL_GEMM_MACS
    return 1 if cell["backend"] == "numpy" and small else None


def _run_io(run, label: str):
    """The snapshot (:class:`CheckpointSpec`, or None when the sweep keeps nothing) and the progress
    callback of a cell's training run, from the sweep's :class:`~theorycheck.sweep.CellRun`."""
    checkpoint = None if run.snapshot is None else CheckpointSpec(run.snapshot, run.settings["snapshot_s"])
    return checkpoint, progress_printer(label, run.settings["progress_s"])


# =====================================================================================  Fig. 2
def fig2_teacher_cell(cell: dict, rng: np.random.Generator) -> dict:
    r"""Teacher statistics of one Fig. 2 repetition (Sec. 3.2).

    Parameters
    ----------
    cell : dict
        ``m, d, sigma, seeds`` (teacher, student, data seeds; only the teacher's is used).
    rng : unused (the teacher comes from ``seeds``, shared with the student cells)

    Returns
    -------
    dict with ``teacher_moment`` (:math:`\mathbb E f_t^2`) and ``bayes_error``
    """
    (W_t, a_t), _, _ = fig2_setup(cell["m"], cell["d"], cell["sigma"], 1, cell["seeds"])
    return teacher_stats(W_t, a_t, cell["sigma"])


def fig2_cell(cell: dict, rng: np.random.Generator, run) -> dict:
    """One Fig. 2 student: Eq. (2) with :math:`\\lambda = ` ``lam_d / d`` (``lam_d = 0``: the base loss
    Eq. (1)), full-batch GD, both layers trained, on the first ``N_s`` samples of the pool.

    Parameters
    ----------
    cell : dict
        ``m, d, sigma, seeds, N_s, N_pool, lam_d, steps, n_eval, stop_tol, lr_frac, backend, dtype,
        teacher_moment``.
    rng : numpy.random.Generator
        The cell's generator: power-iteration starts of the step-size rule.
    run : CellRun
        Run settings ``progress_s``, ``snapshot_s`` and the snapshot file.

    Returns
    -------
    dict, :func:`~theorycheck.hong2021.relu.runs.run_student`'s summary
    """
    problem = fig2_problem(cell["m"], cell["d"], cell["sigma"], cell["N_s"], cell["N_pool"], cell["seeds"],
                           teacher_moment=cell["teacher_moment"])
    spec = RunSpec(objective=fig2_objective(cell["lam_d"], cell["d"]), steps=cell["steps"],
                   n_eval=cell["n_eval"], lr_frac=cell["lr_frac"], stop_tol=cell["stop_tol"],
                   backend=cell["backend"], dtype=cell["dtype"])
    checkpoint, progress = _run_io(run, f"fig2 N_s={cell['N_s']} lam_d={cell['lam_d']:g}")
    return run_student(problem, spec, rng, checkpoint=checkpoint, progress=progress)


def _rel(run: dict, key: str, moment: float) -> float:
    """A run's test error as a fraction of :math:`\\mathbb E f_t^2` (the error of predicting 0)."""
    return float(run[key]) / moment


def fig2_measurements(runs: dict, stats: list, *, N_s: list, lam_d: list, reps: int,
                      d: int) -> tuple[dict, dict]:
    """Fig. 2's numbers per repetition, and its curves (means over repetitions).

    Each repetition is one replicate of the paper's experiment (its own teacher, initialisation and
    samples, shared by all of its students). In each repetition and at each N_s the lambda with the
    lowest early-stopped error is chosen, as the paper does ("out of all the early-stopped networks
    trained with different lambda's, we pick out the one that has the best early-stopped test
    error"); its early-stopped error is the early-stopped student's, its end-of-training error the
    zero-loss student's, and the early-stopped lambda = 0 run is the base student. Errors are
    divided by the repetition's :math:`\\mathbb E f_t^2`, so repetitions with different teachers are
    comparable and the pairs (same data and initialisation) stay paired.

    Parameters
    ----------
    runs : dict (rep, N_s, lam_d) -> :func:`fig2_cell` output, for every lam_d in ``[0] + lam_d``
    stats : list of :func:`fig2_teacher_cell` outputs, one per repetition
    N_s, lam_d : the grids (lam_d without the base 0);  reps : int;  d : int, input dimension

    Returns
    -------
    metrics, series : dict, dict
        ``metrics`` holds per-repetition lists (outer index the repetition, inner the N_s):
        ``early_stopped_rel``, ``zero_loss_rel``, ``base_rel``, ``final_fit``, ``lam_d_chosen``,
        ``bayes_rel`` (one per repetition), and the means over repetitions of the three ratios.
    """
    lams = [float(v) for v in lam_d]
    N_s, R = list(N_s), int(reps)
    tm = [float(s["teacher_moment"]) for s in stats]
    es, zl, base, fit, chosen = ([[0.0] * len(N_s) for _ in range(R)] for _ in range(5))
    for rep in range(R):
        for i, N in enumerate(N_s):
            st = {lam: runs[(rep, N, lam)] for lam in lams}
            star = min(lams, key=lambda lam: st[lam]["best_test_error"])
            es[rep][i] = _rel(st[star], "best_test_error", tm[rep])
            zl[rep][i] = _rel(st[star], "final_test_error", tm[rep])
            base[rep][i] = _rel(runs[(rep, N, 0.0)], "best_test_error", tm[rep])
            fit[rep][i] = float(st[star]["final_fit"])
            chosen[rep][i] = star
    ratio = lambda a, b: [float(np.mean([a[rep][i] / b[rep][i] for rep in range(R)]))  # noqa: E731
                          for i in range(len(N_s))]
    st_runs = [run for key, run in runs.items() if key[2] > 0]
    metrics = {
        "N_s": N_s, "reps": R,
        "early_stopped_rel": es, "zero_loss_rel": zl, "base_rel": base,
        "bayes_rel": [float(s["bayes_error"]) / m for s, m in zip(stats, tm)],
        "final_fit": fit, "lam_d_chosen": chosen,
        "es_over_zero_loss": ratio(es, zl), "es_over_base": ratio(es, base),
        "zero_loss_over_base": ratio(zl, base),
        "best_during_training_fraction": float(np.mean([rep["best_step"] < rep["final_step"] for rep in st_runs])),
        "n_runs": len(runs),
    }

    mean = lambda f, N, lam: float(np.mean([runs[(rep, N, lam)][f] for rep in range(R)]))  # noqa: E731
    col = lambda a, i: float(np.mean([a[rep][i] * tm[rep] for rep in range(R)]))  # noqa: E731
    series = {"N_s": N_s,
              "early_stopped": [col(es, i) for i in range(len(N_s))],
              "zero_loss": [col(zl, i) for i in range(len(N_s))],
              "base": [col(base, i) for i in range(len(N_s))],
              "lam_d": [chosen[0][i] for i in range(len(N_s))],
              "lambda": [chosen[0][i] / d for i in range(len(N_s))],
              "final_fit": [max(fit[rep][i] for rep in range(R)) for i in range(len(N_s))],
              "per_lambda": {str(N): {"lam_d": lams,
                                      "early_stopped": [mean("best_test_error", N, lam) for lam in lams],
                                      "final": [mean("final_test_error", N, lam) for lam in lams]}
                             for N in N_s},
              "seconds_per_step_max": max(rep["seconds_per_step"] for rep in runs.values())}
    # trajectories of the first repetition at the largest N_s (the early-stopping picture)
    N_show, lam_show = N_s[-1], chosen[0][-1]
    shown = ("steps", "test_error", "train_base")
    series["trajectory"] = {"N_s": N_show, "lam_d": lam_show,
                            "st": {f: runs[(0, N_show, lam_show)][f] for f in shown},
                            "base": {f: runs[(0, N_show, 0.0)][f] for f in shown}}
    series["bayes_error"] = float(np.mean([s["bayes_error"] for s in stats]))
    series["teacher_moment"] = float(np.mean(tm))
    series["test_error_kind"] = "exact population error (arc-cosine kernel closed form, float64)"
    return metrics, series


# =====================================================================================  Fig. 6
def fig6_teacher_cell(cell: dict, rng: np.random.Generator) -> dict:
    """Teacher statistics of one Fig. 6 repetition (the pooled teacher of Sec. 5.3); as
    :func:`fig2_teacher_cell`."""
    (W_t, a_t), _, _ = fig6_setup(cell["m"], cell["d"], cell["sigma"], 1, cell["seeds"])
    return teacher_stats(W_t, a_t, cell["sigma"])


def fig6_cell(cell: dict, rng: np.random.Generator, run) -> dict:
    """One Fig. 6 student: Eq. (7) with group size ``g`` and :math:`W_2 = \\widetilde W_2` frozen, trained
    by minibatch SGD with ``lr_drops`` step-decay drops (/10); ``g=None`` trains on the targets only
    (Eq. (1) with the same frozen :math:`W_2`), the g-independent reference.

    Parameters
    ----------
    cell : dict
        ``m, d, sigma, seeds, N_s, N_pool, g, steps, n_eval, batch_size, stop_tol, lr_frac, lr_drops,
        backend, dtype, teacher_moment``.
    rng : numpy.random.Generator
        The cell's generator: step-size rule, then the minibatch order.
    run : CellRun
        Run settings ``progress_s``, ``snapshot_s`` and the snapshot file.

    Returns
    -------
    dict, :func:`~theorycheck.hong2021.relu.runs.run_student`'s summary
    """
    problem = fig6_problem(cell["m"], cell["d"], cell["sigma"], cell["N_s"], cell["N_pool"], cell["seeds"],
                           teacher_moment=cell["teacher_moment"])
    spec = RunSpec(objective=fig6_objective(cell["g"]), steps=cell["steps"], n_eval=cell["n_eval"],
                   lr_frac=cell["lr_frac"], stop_tol=cell["stop_tol"], batch_size=cell["batch_size"],
                   lr_drops=cell["lr_drops"], backend=cell["backend"], dtype=cell["dtype"])
    checkpoint, progress = _run_io(run, f"fig6 N_s={cell['N_s']} g={cell['g']}")
    return run_student(problem, spec, rng, checkpoint=checkpoint, progress=progress)


def fig6_measurements(runs: dict, stats: list, *, N_s: list, g: list, reps: int) -> tuple[dict, dict]:
    """Fig. 6's numbers per repetition, and its curves (means over repetitions).

    Each repetition has its own teacher, initialisation and samples, shared by all of its students.
    Errors are divided by the repetition's :math:`\\mathbb E f_t^2` (the error of predicting 0).

    Parameters
    ----------
    runs : dict (rep, N_s, g) -> :func:`fig6_cell` output, g in ``g + [None]`` (None: targets only)
    stats : list of :func:`fig6_teacher_cell` outputs, one per repetition
    N_s, g : the grids;  reps : int

    Returns
    -------
    metrics, series : dict, dict
        ``metrics`` holds, per repetition (outer index) and N_s (next index), the early-stopped and
        end-of-training errors over g (``early_stopped_rel``, ``final_rel``), the targets-only
        errors (``targets_only_rel``), Spearman's rank correlation between g and the error
        (``spearman_early_stopped_reps``, ``spearman_final_reps``;
        :func:`theorycheck.stats.spearman`), and their means over repetitions per N_s.
    """
    gs, N_s, R = list(g), list(N_s), int(reps)
    tm = [float(s["teacher_moment"]) for s in stats]
    es = [[[_rel(runs[(rep, N, g_)], "best_test_error", tm[rep]) for g_ in gs] for N in N_s] for rep in range(R)]
    fin = [[[_rel(runs[(rep, N, g_)], "final_test_error", tm[rep]) for g_ in gs] for N in N_s] for rep in range(R)]
    tgt = [[_rel(runs[(rep, N, None)], "best_test_error", tm[rep]) for N in N_s] for rep in range(R)]
    tgt_fin = [[_rel(runs[(rep, N, None)], "final_test_error", tm[rep]) for N in N_s] for rep in range(R)]
    rho_es = [[spearman(gs, es[rep][i]) for i in range(len(N_s))] for rep in range(R)]
    rho_fin = [[spearman(gs, fin[rep][i]) for i in range(len(N_s))] for rep in range(R)]
    g_lo, g_hi = int(np.argmin(gs)), int(np.argmax(gs))
    over_reps = lambda f: [float(np.mean([f(rep, i) for rep in range(R)])) for i in range(len(N_s))]  # noqa: E731
    metrics = {
        "N_s": N_s, "g": gs, "reps": R,
        "early_stopped_rel": es, "final_rel": fin, "targets_only_rel": tgt, "targets_only_final_rel": tgt_fin,
        "bayes_rel": [float(s["bayes_error"]) / m for s, m in zip(stats, tm)],
        "spearman_early_stopped_reps": rho_es, "spearman_final_reps": rho_fin,
        "spearman_early_stopped": over_reps(lambda rep, i: rho_es[rep][i]),
        "spearman_final": over_reps(lambda rep, i: rho_fin[rep][i]),
        "growth": over_reps(lambda rep, i: es[rep][i][g_hi] / es[rep][i][g_lo]),
        "g_min_lowest_fraction": over_reps(lambda rep, i: float(int(np.argmin(es[rep][i])) == g_lo)),
        "error_g_min": over_reps(lambda rep, i: es[rep][i][g_lo]),
        "n_runs": len(runs),
    }
    mean = lambda f, N, g_: float(np.mean([runs[(rep, N, g_)][f] for rep in range(R)]))  # noqa: E731
    series = {"g": gs, "N_s": N_s,
              "test_error": [[mean("best_test_error", N, g_) for g_ in gs] for N in N_s],
              "test_error_final": [[mean("final_test_error", N, g_) for g_ in gs] for N in N_s],
              "targets_only": [mean("best_test_error", N, None) for N in N_s],
              "targets_only_final": [mean("final_test_error", N, None) for N in N_s],
              "final_fit": [[max(runs[(rep, N, g_)]["final_fit"] for rep in range(R)) for g_ in gs] for N in N_s],
              "bayes_error": float(np.mean([s["bayes_error"] for s in stats])),
              "teacher_moment": float(np.mean(tm)), "reps": R,
              "test_error_kind": "exact population error (arc-cosine kernel closed form, float64)",
              "reported": "test_error: early-stopped (best over the evaluation schedule); "
                          "test_error_final: end of training. The paper does not say which it plotted.",
              "seconds_per_step_max": max(rep["seconds_per_step"] for rep in runs.values())}
    return metrics, series
