"""The summaries of the SoTeacher claims: from the sweep cells' outputs to a claim's metrics and series.

Paired metrics are stored as ``name`` (mean of ``a - b`` over seeds), ``name_se`` (its standard error)
and ``name_positive`` (fraction of seeds with ``a - b > 0``), see :func:`put_paired`; summaries over
seeds as ``name_mean`` and ``name_std`` (:func:`put_mean_std`). Kept apart from
:mod:`theorycheck.soteacher.experiments` so that the cells do not import them: editing a summary
changes no saved cell.
"""

from __future__ import annotations

import numpy as np

from ..stats import loglog_fit, mean_std, paired, spearman
from .experiments import DISTILL_BASE_ARMS, quality_sign

__all__ = ["put_mean_std", "put_paired", "summarise_invariant", "summarise_lipschitz", "summarise_consistency",
           "distill_arm_names", "summarise_distill", "summarise_checkpoints"]


def put_mean_std(metrics: dict, name: str, values) -> None:
    """Store the mean and (population) standard deviation of ``values`` (over seeds, shape (n,)) as
    ``name_mean`` and ``name_std``."""
    metrics[name + "_mean"], metrics[name + "_std"] = mean_std(values)


def put_paired(metrics: dict, name: str, a, b) -> None:
    """Store the paired difference ``a - b`` over seeds (shape (n,) each): ``name`` (mean), ``name_se``
    (standard error) and ``name_positive`` (fraction of seeds where it is > 0)."""
    metrics[name], metrics[name + "_se"] = paired(a, b)
    metrics[name + "_positive"] = float(np.mean(np.asarray(a, float) - np.asarray(b, float) > 0))


def summarise_invariant(erm: list, cheb: list, N_values, m_values, n_seeds: int, s: int, K: int):
    """Metrics and series of ``soteacher.invariant_erm``.

    Parameters
    ----------
    erm : list of :func:`invariant_cell` outputs, ordered by (m, N, seed)
    cheb : list of :func:`chebyshev_cell` outputs, one per seed
    N_values, m_values : sequences of int, the sweep axes
    n_seeds, s, K : int

    Returns
    -------
    metrics, series : dict
        Per ``m``: ``slope_m<m>`` and ``slope_se_m<m>`` (log-log fit of the training-input error
        against N over all seeds, :func:`theorycheck.stats.loglog_fit`), ``gap_max_m<m>``,
        ``objective_gap_max_m<m>``, ``objective_gap_ratio_m<m>`` (the trained-minus-exact cross-entropy
        in units of the ERM's statistical excess-risk scale :math:`s(K-1)/(2N)`), ``err_min_m<m>``,
        ``err_largestN_m<m>_mean/_std``, ``memoriser_m<m>_mean/_std``; the Chebyshev coverage, radius,
        max error and the variance ratio with its standard error.
    """
    metrics, series = {}, {"N": list(N_values), "m_values": list(m_values)}
    nN, nS = len(N_values), n_seeds
    for k, m in enumerate(m_values):
        block = erm[k * nN * nS:(k + 1) * nN * nS]
        err = np.array([c["train_err"] for c in block]).reshape(nN, nS).T        # (seeds, N)
        closed = np.array([c["closed_err"] for c in block]).reshape(nN, nS).T
        fit = loglog_fit(N_values, err)
        metrics[f"slope_m{m}"], metrics[f"slope_se_m{m}"] = fit.slope, fit.slope_se
        metrics[f"gap_max_m{m}"] = max(c["gap"] for c in block)
        metrics[f"objective_gap_max_m{m}"] = max(c["objective_gap"] for c in block)
        # optimisation gap in units of the statistical excess-risk scale s(K-1)/(2N) of the ERM itself
        metrics[f"objective_gap_ratio_m{m}"] = max(c["objective_gap"] / (s * (K - 1) / (2 * c_N))
                                                   for c, c_N in zip(block, np.repeat(N_values, nS)))
        metrics[f"err_min_m{m}"] = float(err.mean(axis=0).min())
        put_mean_std(metrics, f"err_largestN_m{m}", err[:, -1])
        put_mean_std(metrics, f"memoriser_m{m}", [c["memoriser_err"] for c in block[-nS:]])
        series[f"err_m{m}_mean"] = err.mean(axis=0).tolist()
        series[f"err_m{m}_std"] = err.std(axis=0).tolist()
        series[f"closed_m{m}_mean"] = closed.mean(axis=0).tolist()
        series[f"memoriser_m{m}"] = [float(np.mean([c["memoriser_err"] for c in block[i * nS:(i + 1) * nS]]))
                                     for i in range(nN)]
    metrics["chebyshev_coverage"] = float(np.min([c["covered"] for c in cheb]))
    metrics["chebyshev_radius"] = float(np.mean([c["radius"] for c in cheb]))
    metrics["chebyshev_max_err"] = float(np.mean([c["max_err"] for c in cheb]))
    ratios = np.array([c["variance_ratio"] for c in cheb])
    ses = np.array([c["variance_ratio_se"] for c in cheb])
    metrics["variance_ratio"] = float(ratios.mean())
    metrics["variance_ratio_se"] = float(np.sqrt((ses ** 2).sum()) / len(ses))
    series["chebyshev"] = cheb
    return metrics, series


def summarise_lipschitz(out: list, kind: str, grid, n_seeds: int):
    """Metrics and series of one regulariser ``kind`` of ``soteacher.lipschitz``.

    Parameters
    ----------
    out : list of :func:`teacher_cell` outputs, ordered by (lambda, seed)
    kind : {"l1", "spectral"}, prefix of the metric names
    grid : sequence of float, the lambda axis (``grid[0] = 0``: ERM)
    n_seeds : int

    Returns
    -------
    metrics : dict
        ``<kind>_gain`` (ERM minus best-lambda training-input error, paired), ``<kind>_underfit_rise``
        (strongest minus best, paired), ``<kind>_best_lambda``, the errors, Lipschitz bounds and
        accuracies at ERM / best / strongest, ``<kind>_branch_points`` and ``<kind>_spearman_lip_err``
        (Spearman of the mean error with the mean Lipschitz bound from ERM to the best lambda; 0 when
        the best is ERM).
    series : dict, the curves over ``grid``
    """
    shape = (len(grid), n_seeds)
    err = np.array([c["teacher"]["train_err"] for c in out]).reshape(shape)
    acc = np.array([c["teacher"]["test_acc"] for c in out]).reshape(shape)
    lip = np.array([c["teacher"]["lip_spectral"] for c in out]).reshape(shape)
    emp = np.array([c["teacher"]["lip_empirical"] for c in out]).reshape(shape)
    metrics = {}
    mean = err.mean(axis=1)
    best = int(np.argmin(mean))
    put_paired(metrics, f"{kind}_gain", err[0], err[best])
    put_paired(metrics, f"{kind}_underfit_rise", err[-1], err[best])
    branch = slice(0, best + 1)
    lip_mean = lip.mean(axis=1)
    metrics.update({
        f"{kind}_best_lambda": float(grid[best]),
        f"{kind}_err_erm_mean": float(mean[0]), f"{kind}_err_erm_std": float(err[0].std()),
        f"{kind}_err_best_mean": float(mean[best]), f"{kind}_err_best_std": float(err[best].std()),
        f"{kind}_err_strongest_mean": float(mean[-1]), f"{kind}_err_strongest_std": float(err[-1].std()),
        f"{kind}_branch_points": best + 1,
        f"{kind}_spearman_lip_err": spearman(lip_mean[branch], mean[branch]) if best >= 1 else 0.0,
        f"{kind}_lip_erm_mean": float(lip_mean[0]), f"{kind}_lip_best_mean": float(lip_mean[best]),
        f"{kind}_acc_erm_mean": float(acc[0].mean()), f"{kind}_acc_best_mean": float(acc[best].mean()),
    })
    series = {"lambda": list(grid), "err_mean": mean.tolist(), "err_std": err.std(axis=1).tolist(),
              "acc_mean": acc.mean(axis=1).tolist(), "acc_std": acc.std(axis=1).tolist(),
              "lip_mean": lip_mean.tolist(), "lip_std": lip.std(axis=1).tolist(),
              "lip_emp_mean": emp.mean(axis=1).tolist(),
              "test_err_mean": np.array([c["teacher"]["test_err"] for c in out]
                                        ).reshape(len(grid), -1).mean(axis=1).tolist()}
    return metrics, series


def summarise_consistency(out: list, arms, schedules, n_seeds: int):
    """Metrics and series of ``soteacher.consistency``.

    Parameters
    ----------
    out : list of :func:`teacher_cell` outputs, ordered by (arm, seed)
    arms : sequence of str, the arm names (``erm``, ``lr``, ``aug``, ``aug+lr``, ``aug+cr[<schedule>]``
        for each schedule, ``soteacher``)
    schedules : sequence of str, the consistency schedules (``linear`` among them)
    n_seeds : int

    Returns
    -------
    metrics : dict
        ``<key>[<arm>]_mean/_std`` for ``train_err``, ``test_acc``, ``robust_gap``, ``lip_spectral``;
        paired gains ``cr_gain``, ``robust_gain``, ``sot_gain_vs_lr``, ``sot_gain_vs_auglr``, ``aug_gain``
        and ``schedule_gain[<schedule>]``; ``best_schedule``, ``err_soteacher_mean``, ``err_aug_mean``.
    series : dict, per-arm means and standard deviations
    """
    res = {name: out[i * n_seeds:(i + 1) * n_seeds] for i, name in enumerate(arms)}
    metrics, series = {}, {"arms": list(arms)}
    for name, cs in res.items():
        for key in ("train_err", "test_acc", "robust_gap", "lip_spectral"):
            vals = [c["teacher"][key] for c in cs]
            put_mean_std(metrics, f"{key}[{name}]", vals)
            series.setdefault(key + "_mean", []).append(float(np.mean(vals)))
            series.setdefault(key + "_std", []).append(float(np.std(vals)))
    e = {name: [c["teacher"]["train_err"] for c in cs] for name, cs in res.items()}
    r = {name: [c["teacher"]["robust_gap"] for c in cs] for name, cs in res.items()}
    lin = "aug+cr[linear]"
    put_paired(metrics, "cr_gain", e["aug"], e[lin])
    put_paired(metrics, "robust_gain", r["aug"], r[lin])
    put_paired(metrics, "sot_gain_vs_lr", e["lr"], e["soteacher"])
    put_paired(metrics, "sot_gain_vs_auglr", e["aug+lr"], e["soteacher"])
    put_paired(metrics, "aug_gain", e["erm"], e["aug"])
    for sched in schedules:
        put_paired(metrics, f"schedule_gain[{sched}]", e["aug"], e[f"aug+cr[{sched}]"])
    metrics["best_schedule"] = min(schedules, key=lambda sc: metrics[f"train_err[aug+cr[{sc}]]_mean"])
    metrics["err_soteacher_mean"] = metrics["train_err[soteacher]_mean"]
    metrics["err_aug_mean"] = metrics["train_err[aug]_mean"]
    return metrics, series


def distill_arm_names(temperatures) -> list[str]:
    """Every teacher arm of ``soteacher.distill``: :data:`DISTILL_BASE_ARMS` with a ``standard-T<t>`` arm
    per teacher temperature after ``standard-es``, and ``oracle`` last."""
    return list(DISTILL_BASE_ARMS[:3]) + [f"standard-T{t:g}" for t in temperatures] + \
        list(DISTILL_BASE_ARMS[3:]) + ["oracle"]


def summarise_distill(out: list, trained, temperatures, quality: str, n_seeds: int):
    """Metrics and series of ``soteacher.distill``.

    Parameters
    ----------
    out : list of :func:`teacher_cell` outputs, ordered by (arm, seed), the arms ``trained`` and then
        ``oracle``; the ``standard`` cells carry the early-stopped and the tempered teachers
    trained : sequence of str, the trained arms in cell order (``erm``, ``standard``, ``lr``, ``cr``,
        ``soteacher``)
    temperatures : sequence of float, the teacher temperatures of the tempered standard arms
    quality : {"test_nll", "test_err", "test_acc"}, the student quality compared
    n_seeds : int

    Returns
    -------
    metrics : dict
        ``<teacher|student>_<key>[<arm>]_mean/_std``; paired ``gain_vs_<arm>`` (SoTeacher's student
        better when positive) and ``acc_gain_vs_<arm>`` against the standard, early-stopped and tempered
        teachers; ``beats_early_stopped``; ``rho_quality_vs_teacher_err/_acc_mean/_std`` (within-seed
        Spearman over the trained teachers) and ``rho_difference``/``_se``; ``oracle_gain_vs_best`` and
        ``best_trained_teacher``.
    series : dict, per-arm lists over seeds
    """
    runs = {}
    for i, name in enumerate(list(trained) + ["oracle"]):
        block = out[i * n_seeds:(i + 1) * n_seeds]
        runs[name] = [{"teacher": c["teacher"], "student": c["student"]} for c in block]
        if name == "standard":
            runs["standard-es"] = [{"teacher": c["teacher_es"], "student": c["student_es"]} for c in block]
            for t in temperatures:
                runs[f"standard-T{t:g}"] = [{"teacher": c[f"teacher_T{t:g}"], "student": c[f"student_T{t:g}"]}
                                            for c in block]
    q = quality
    all_arms = distill_arm_names(temperatures)
    metrics, series = {}, {"arms": all_arms}
    for name in all_arms:
        for who, key in (("teacher", "train_err"), ("teacher", "test_acc"), ("student", "test_acc"),
                         ("student", "test_nll"), ("student", "test_err")):
            vals = [r[who][key] for r in runs[name]]
            put_mean_std(metrics, f"{who}_{key}[{name}]", vals)
            series.setdefault(f"{who}_{key}", {})[name] = vals
    sq = {name: [r["student"][q] for r in runs[name]] for name in all_arms}
    sacc = {name: [r["student"]["test_acc"] for r in runs[name]] for name in all_arms}
    # gains are "SoTeacher better" when positive
    sign = quality_sign(q)
    for other in ["standard", "standard-es"] + [f"standard-T{t:g}" for t in temperatures]:
        put_paired(metrics, f"gain_vs_{other}", sign * np.array(sq["soteacher"]), sign * np.array(sq[other]))
        put_paired(metrics, f"acc_gain_vs_{other}", sacc["soteacher"], sacc[other])
    metrics["beats_early_stopped"] = bool(metrics["gain_vs_standard-es"] > 0)
    # rank correlations within each seed over the trained teachers (the oracle has no test accuracy of
    # its own: its predictions use the latent features)
    ranked = [a for a in all_arms if a != "oracle"]
    rho_err, rho_acc = [], []
    for k in range(n_seeds):
        qual = [sign * runs[a][k]["student"][q] for a in ranked]
        rho_err.append(spearman(qual, [-runs[a][k]["teacher"]["train_err"] for a in ranked]))
        rho_acc.append(spearman(qual, [runs[a][k]["teacher"]["test_acc"] for a in ranked]))
    put_mean_std(metrics, "rho_quality_vs_teacher_err", rho_err)
    put_mean_std(metrics, "rho_quality_vs_teacher_acc", rho_acc)
    metrics["rho_difference"], metrics["rho_difference_se"] = paired(rho_err, rho_acc)
    best_trained = max(ranked, key=lambda a: sign * np.mean(sq[a]))
    put_paired(metrics, "oracle_gain_vs_best", sign * np.array(sq["oracle"]), sign * np.array(sq[best_trained]))
    metrics["best_trained_teacher"] = best_trained
    series["quality"] = q
    return metrics, series


def summarise_checkpoints(out: list, quality: str):
    """Metrics and series of ``soteacher.checkpoints``.

    Parameters
    ----------
    out : list of :func:`checkpoint_cell` outputs, one per seed
    quality : {"test_nll", "test_err", "test_acc"}

    Returns
    -------
    metrics : dict
        ``rho_student_vs_teacher_err/_acc_mean/_std`` (Spearman over checkpoints within each run) and
        ``rho_difference``/``_se``; paired ``best_student_advantage`` (fresh students of the best-student
        checkpoint minus those of the best teacher, in quality, better when positive) and
        ``selection_gain`` (choosing by teacher error to p* instead of accuracy);
        ``best_teacher_is_best_student_fraction``, ``best_teacher_epoch``, ``best_student_epoch``.
    series : dict, per-run curves over the checkpoints
    """
    q = quality
    sign = quality_sign(q)
    metrics, series = {}, {"epoch": out[0]["epoch"], "runs": []}
    rho_err, rho_acc, sel_gain, same, held_out = [], [], [], [], []
    for run in out:
        t_err = np.array([t["train_err"] for t in run["teacher"]])
        t_acc = np.array([t["test_acc"] for t in run["teacher"]])
        s_q = sign * np.array([s[q] for s in run["student"]])
        rho_err.append(spearman(s_q, -t_err))
        rho_acc.append(spearman(s_q, t_acc))
        i_acc, i_err = run["best_teacher"], int(np.argmin(t_err))
        sel_gain.append(float(s_q[i_err] - s_q[i_acc]))
        same.append(run["best_teacher"] == run["best_student"])
        held_out.append(sign * (run["eval_best_student"][q] - run["eval_best_teacher"][q]))
        series["runs"].append({"teacher_train_err": t_err.tolist(), "teacher_test_acc": t_acc.tolist(),
                               "student_quality": (sign * s_q).tolist(),
                               "student_test_acc": [s["test_acc"] for s in run["student"]],
                               "best_teacher": i_acc, "best_student": run["best_student"]})
    put_mean_std(metrics, "rho_student_vs_teacher_err", rho_err)
    put_mean_std(metrics, "rho_student_vs_teacher_acc", rho_acc)
    metrics["rho_difference"], metrics["rho_difference_se"] = paired(rho_err, rho_acc)
    put_paired(metrics, "best_student_advantage", held_out, np.zeros(len(held_out)))
    put_paired(metrics, "selection_gain", sel_gain, np.zeros(len(sel_gain)))
    metrics["best_teacher_is_best_student_fraction"] = float(np.mean(same))
    metrics["best_teacher_epoch"] = [int(series["epoch"][r["best_teacher"]]) for r in series["runs"]]
    metrics["best_student_epoch"] = [int(series["epoch"][r["best_student"]]) for r in series["runs"]]
    series["quality"] = q
    series["held_out_advantage"] = [float(v) for v in held_out]
    return metrics, series
