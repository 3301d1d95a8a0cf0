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


def fig2_measurements(runs: dict, stats: list, *, N_s: list, lam_d: list, reps: int, d: int,
                      mid: list) -> tuple[dict, dict]:
    """Fig. 2's curves and metrics from its students.

    Per N_s the lambda with the lowest early-stopped error (mean over repetitions) is chosen; its
    early-stopped error is the ``early_stopped`` curve, its end-of-training error ``zero_loss``;
    ``base`` is the early-stopped lambda = 0 run.

    Parameters
    ----------
    runs : dict (rep, N_s, lam_d) -> :func:`fig2_cell` output, for every lam_d in ``[0] + lam_d``
    stats : list of :func:`fig2_teacher_cell` outputs, one per repetition
    N_s, lam_d : the grids (lam_d without the base 0);  reps : int;  d : int
    mid : list of int, the N_s of the mid range (the verdict's)

    Returns
    -------
    metrics, series : dict, dict
    """
    lams = [0.0] + [float(v) for v in lam_d]
    R = reps
    mean = lambda f, N, lam: float(np.mean([f(runs[(r, N, lam)]) for r in range(R)]))  # noqa: E731
    series = {"N_s": [], "early_stopped": [], "zero_loss": [], "base": [], "lambda": [], "lam_d": [],
              "final_fit": [], "base_best_step": [], "st_best_step": [], "st_final_step": []}
    per_lambda = {}
    for N in N_s:
        es = {lam: mean(lambda x: x["best_test_error"], N, lam) for lam in lams[1:]}
        lam_star = min(es, key=es.get)           # the lambda with the best early-stopped error
        per_lambda[str(N)] = {"lam_d": lams[1:], "early_stopped": [es[l] for l in lams[1:]],
                              "final": [mean(lambda x: x["final_test_error"], N, l) for l in lams[1:]]}
        series["N_s"].append(N)
        series["early_stopped"].append(es[lam_star])
        series["zero_loss"].append(mean(lambda x: x["final_test_error"], N, lam_star))
        series["base"].append(mean(lambda x: x["best_test_error"], N, 0.0))
        series["lam_d"].append(lam_star)
        series["lambda"].append(lam_star / d)
        series["final_fit"].append(max(runs[(r, N, lam_star)]["final_fit"] for r in range(R)))
        series["base_best_step"].append(runs[(0, N, 0.0)]["best_step"])
        series["st_best_step"].append(runs[(0, N, lam_star)]["best_step"])
        series["st_final_step"].append(runs[(0, N, lam_star)]["final_step"])
    series["per_lambda"] = per_lambda
    # trajectories of the first repetition at the largest mid-range N_s (the early-stopping picture)
    N_show = mid[-1]
    k = series["N_s"].index(N_show)
    shown = ("steps", "test_error", "train_base")
    series["trajectory"] = {"N_s": N_show, "lam_d": series["lam_d"][k],
                            "st": {f: runs[(0, N_show, series["lam_d"][k])][f] for f in shown},
                            "base": {f: runs[(0, N_show, 0.0)][f] for f in shown}}
    series["bayes_error"] = float(np.mean([s["bayes_error"] for s in stats]))
    series["teacher_moment"] = float(np.mean([s["teacher_moment"] for s in stats]))
    series["test_error_kind"] = "exact population error (arc-cosine kernel closed form, float64)"

    idx = [series["N_s"].index(n) for n in mid]
    ratio_zl = [series["early_stopped"][i] / series["zero_loss"][i] for i in idx]
    ratio_base = [series["early_stopped"][i] / series["base"][i] for i in idx]
    ratio_zl_base = [series["zero_loss"][i] / series["base"][i] for i in idx]
    all_runs = list(runs.values())
    metrics = {
        "mid_N_s": list(mid),
        "es_over_zero_loss_mid": ratio_zl,
        "es_over_base_mid": ratio_base,
        "zero_loss_over_base_mid": ratio_zl_base,
        "max_es_over_zero_loss_mid": max(ratio_zl),
        "max_es_over_base_mid": max(ratio_base),
        "min_zero_loss_over_base_mid": min(ratio_zl_base),
        "max_final_fit_mid": max(series["final_fit"][i] for i in idx),
        "es_over_base_all": [e / b for e, b in zip(series["early_stopped"], series["base"])],
        "es_over_zero_loss_all": [e / z for e, z in zip(series["early_stopped"], series["zero_loss"])],
        "best_during_training_fraction": float(np.mean([r["best_step"] < r["final_step"]
                                                        for k_, r in runs.items() if k_[2] > 0])),
        "bayes_error": series["bayes_error"],
        "n_runs": len(all_runs),
        "seconds_per_step_max": max(r["seconds_per_step"] for r in all_runs),
    }
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


def fig6_measurements(runs: dict, stats: list, *, N_s: list, g: list, reps: int,
                      large: list) -> tuple[dict, dict]:
    """Fig. 6's curves and metrics from its students.

    Parameters
    ----------
    runs : dict (rep, N_s, g) -> :func:`fig6_cell` output, g in ``g + [None]`` (None: targets only)
    stats : list of :func:`fig6_teacher_cell` outputs, one per repetition
    N_s, g : the grids;  reps : int
    large : list of int, the N_s that are "not too small" (the verdict's)

    Returns
    -------
    metrics, series : dict, dict
        Spearman's rank correlation between g and the early-stopped (and the final) error per N_s
        (:func:`theorycheck.stats.spearman`), whether the smallest g has the lowest error, and the
        growth from the smallest to the largest g at the largest N_s.
    """
    gs, N_s, R = list(g), list(N_s), reps
    mean = lambda f, N, g_: float(np.mean([runs[(r, N, g_)][f] for r in range(R)]))  # noqa: E731
    es = [[mean("best_test_error", N, g_) for g_ in gs] for N in N_s]
    fin = [[mean("final_test_error", N, g_) for g_ in gs] for N in N_s]
    tm = float(np.mean([s["teacher_moment"] for s in stats]))
    series = {"g": gs, "N_s": N_s, "test_error": es, "test_error_final": fin,
              "targets_only": [mean("best_test_error", N, None) for N in N_s],
              "targets_only_final": [mean("final_test_error", N, None) for N in N_s],
              "final_fit": [[max(runs[(r, N, g_)]["final_fit"] for r in range(R)) for g_ in gs] for N in N_s],
              "bayes_error": float(np.mean([s["bayes_error"] for s in stats])), "teacher_moment": tm,
              "test_error_kind": "exact population error (arc-cosine kernel closed form, float64)",
              "reported": "test_error: early-stopped (best over the evaluation schedule); "
                          "test_error_final: end of training. The paper does not say which it plotted."}
    rho_es = [spearman(gs, es[N_s.index(N)]) for N in N_s]
    rho_fin = [spearman(gs, fin[N_s.index(N)]) for N in N_s]
    i_max = N_s.index(max(large))
    g_lo, g_hi = int(np.argmin(gs)), int(np.argmax(gs))
    metrics = {
        "large_N_s": list(large),
        "spearman_early_stopped": rho_es,
        "spearman_final": rho_fin,
        "min_spearman_large": min(rho_es[N_s.index(N)] for N in large),
        "min_spearman_final_large": min(rho_fin[N_s.index(N)] for N in large),
        "g1_lowest_large": [bool(np.argmin(es[N_s.index(N)]) == g_lo) for N in large],
        "growth_largest_N": es[i_max][g_hi] / es[i_max][g_lo],
        "growth_final_largest_N": fin[i_max][g_hi] / fin[i_max][g_lo],
        "relative_error_g_min_largest_N": es[i_max][g_lo] / tm,
        "bayes_over_teacher_moment": series["bayes_error"] / tm,
        "n_runs": len(runs),
    }
    return metrics, series
