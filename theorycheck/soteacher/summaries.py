"""The summaries of the SoTeacher claims: from the sweep cells' outputs to a claim's metrics and series.

Per-seed effects are stored as ``name`` (mean over seeds), ``name_se`` (its standard error) and
``name_values`` (the list over seeds, from which a verdict computes its interval), see
:func:`put_paired`; summaries over seeds as ``name_mean`` and ``name_std`` (:func:`put_mean_std`). Kept apart from
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


def put_paired(metrics: dict, name: str, a, b=None) -> None:
    """Store the per-seed effect ``a - b`` (``a`` alone when ``b`` is None; shape (n,) each): ``name``
    (mean), ``name_se`` (standard error) and ``name_values`` (the list)."""
    a = np.asarray(a, dtype=float)
    d = a - (np.asarray(b, dtype=float) if b is not None else 0.0)
    metrics[name], metrics[name + "_se"] = paired(d, np.zeros_like(d))
    metrics[name + "_values"] = [float(v) for v in d]


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
        Per ``m``: ``slope_m<m>`` (per-seed log-log slopes of the exact minimiser's training-input error
        against N: mean, ``_se``, ``_values``), ``slope_pooled_m<m>`` (one fit over all seeds, for the
        figure), ``certified_gap_max_m<m>``, ``below_minimum_m<m>`` (the largest amount by which a trained
        head's cross-entropy falls below the certified minimum, minus round-off: <= 0 when no head beats
        the minimiser), ``objective_gap_max_m<m>`` and ``gap_max_m<m>`` (how close gradient training
        gets), ``memoriser_log_ratio_m<m>`` (per seed: log of the minimiser's error over the memoriser's
        at the largest N); the Chebyshev ``chebyshev_covered``/``chebyshev_resamples`` per world (lists),
        ``chebyshev_coverage`` (worst world), radius, max error, and the variance ratio with its standard
        error.
    """
    metrics, series = {}, {"N": list(N_values), "m_values": list(m_values)}
    nN, nS = len(N_values), n_seeds
    logN = np.log(np.asarray(N_values, dtype=float))
    for k, m in enumerate(m_values):
        block = erm[k * nN * nS:(k + 1) * nN * nS]
        err = np.array([c["train_err"] for c in block]).reshape(nN, nS).T        # (seeds, N)
        closed = np.array([c["closed_err"] for c in block]).reshape(nN, nS).T
        memo = np.array([c["memoriser_err"] for c in block]).reshape(nN, nS).T
        slopes = [float(np.polyfit(logN, np.log(row), 1)[0]) for row in closed]
        put_paired(metrics, f"slope_m{m}", slopes)
        fit = loglog_fit(N_values, closed)
        metrics[f"slope_pooled_m{m}"], metrics[f"slope_pooled_se_m{m}"] = fit.slope, fit.slope_se
        metrics[f"slope_trained_m{m}"] = loglog_fit(N_values, err).slope
        metrics[f"certified_gap_max_m{m}"] = max(c["certified_gap"] for c in block)
        metrics[f"below_minimum_m{m}"] = max(-c["objective_gap"] - c["certified_gap"] - c["roundoff"] for c in block)
        metrics[f"gap_max_m{m}"] = max(c["gap"] for c in block)
        metrics[f"objective_gap_max_m{m}"] = max(c["objective_gap"] for c in block)
        # optimisation gap of gradient training in units of the statistical excess-risk scale s(K-1)/(2N)
        metrics[f"objective_gap_ratio_m{m}"] = max(c["objective_gap"] / (s * (K - 1) / (2 * c_N))
                                                   for c, c_N in zip(block, np.repeat(N_values, nS)))
        put_paired(metrics, f"memoriser_log_ratio_m{m}", np.log(closed[:, -1] / memo[:, -1]))
        put_mean_std(metrics, f"err_largestN_m{m}", closed[:, -1])
        put_mean_std(metrics, f"memoriser_m{m}", memo[:, -1])
        series[f"err_m{m}_mean"] = err.mean(axis=0).tolist()
        series[f"err_m{m}_std"] = err.std(axis=0).tolist()
        series[f"closed_m{m}_mean"] = closed.mean(axis=0).tolist()
        series[f"memoriser_m{m}"] = memo.mean(axis=0).tolist()
    metrics["chebyshev_covered"] = [int(c["covered"]) for c in cheb]
    metrics["chebyshev_resamples"] = [int(c["resamples"]) for c in cheb]
    metrics["chebyshev_coverage"] = float(min(c["covered"] / c["resamples"] for c in cheb))
    metrics["chebyshev_radius"] = float(np.mean([c["radius"] for c in cheb]))
    metrics["chebyshev_max_err"] = float(np.mean([c["max_err"] for c in cheb]))
    n = np.array([c["variance_terms"] for c in cheb], dtype=float)
    ratios = np.array([c["variance_ratio"] for c in cheb])
    ses = np.array([c["variance_ratio_se"] for c in cheb])
    metrics["variance_ratio"] = float((n * ratios).sum() / n.sum())
    metrics["variance_ratio_se"] = float(np.sqrt(((n * ses) ** 2).sum()) / n.sum())
    series["chebyshev"] = [{"covered": c["covered"] / c["resamples"], "radius": c["radius"], "max_err": c["max_err"]}
                           for c in cheb]
    return metrics, series


def summarise_lipschitz(out: list, kind: str, grid, n_seeds: int):
    """Metrics and series of one regulariser ``kind`` of ``soteacher.lipschitz``.

    Per seed, the regularisation strength is chosen among the positive lambdas by the teacher's
    validation cross-entropy (``val_nll``: no test data, no :math:`p^*`), so that the comparisons below
    are not biased by picking the best of noisy numbers.

    Parameters
    ----------
    out : list of :func:`teacher_cell` outputs, ordered by (lambda, seed)
    kind : {"l1", "spectral"}, prefix of the metric names
    grid : sequence of float, the lambda axis (``grid[0] = 0``: ERM)
    n_seeds : int

    Returns
    -------
    metrics : dict
        Per-seed effects (mean, ``_se``, ``_values``): ``<kind>_gain`` (ERM minus chosen-lambda
        training-input error), ``<kind>_underfit_rise`` (strongest minus chosen); ``<kind>_branch_rho_all``
        (per seed, Spearman of the error with the Lipschitz bound from ERM to the chosen lambda) and
        ``<kind>_branch_len_values`` (the number of lambdas on that branch); ``<kind>_chosen_lambda_values``;
        the errors, Lipschitz bounds and accuracies at ERM / chosen / strongest.
    series : dict, the curves over ``grid``
    """
    shape = (len(grid), n_seeds)
    err = np.array([c["teacher"]["train_err"] for c in out]).reshape(shape)
    acc = np.array([c["teacher"]["test_acc"] for c in out]).reshape(shape)
    lip = np.array([c["teacher"]["lip_spectral"] for c in out]).reshape(shape)
    emp = np.array([c["teacher"]["lip_empirical"] for c in out]).reshape(shape)
    val = np.array([c["val_nll"] for c in out]).reshape(shape)
    chosen = 1 + np.argmin(val[1:], axis=0)                  # per seed, among lambda > 0
    cols = np.arange(n_seeds)
    err_chosen = err[chosen, cols]
    metrics = {}
    put_paired(metrics, f"{kind}_gain", err[0], err_chosen)
    put_paired(metrics, f"{kind}_underfit_rise", err[-1], err_chosen)
    metrics[f"{kind}_branch_rho_all"] = [float(spearman(lip[:c + 1, k], err[:c + 1, k])) for k, c in enumerate(chosen)]
    metrics[f"{kind}_branch_len_values"] = [int(c + 1) for c in chosen]
    metrics[f"{kind}_chosen_lambda_values"] = [float(grid[c]) for c in chosen]
    metrics.update({
        f"{kind}_err_erm_mean": float(err[0].mean()), f"{kind}_err_erm_std": float(err[0].std()),
        f"{kind}_err_chosen_mean": float(err_chosen.mean()), f"{kind}_err_chosen_std": float(err_chosen.std()),
        f"{kind}_err_strongest_mean": float(err[-1].mean()), f"{kind}_err_strongest_std": float(err[-1].std()),
        f"{kind}_lip_erm_mean": float(lip[0].mean()), f"{kind}_lip_chosen_mean": float(lip[chosen, cols].mean()),
        f"{kind}_acc_erm_mean": float(acc[0].mean()), f"{kind}_acc_chosen_mean": float(acc[chosen, cols].mean()),
    })
    mean = err.mean(axis=1)
    series = {"lambda": list(grid), "err_mean": mean.tolist(), "err_std": err.std(axis=1).tolist(),
              "acc_mean": acc.mean(axis=1).tolist(), "acc_std": acc.std(axis=1).tolist(),
              "lip_mean": lip.mean(axis=1).tolist(), "lip_std": lip.std(axis=1).tolist(),
              "lip_emp_mean": emp.mean(axis=1).tolist(), "val_nll_mean": val.mean(axis=1).tolist(),
              "chosen": [int(c) for c in chosen],
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
    quality : {"test_acc", "test_nll", "test_err"}, the student quality compared
    n_seeds : int

    Returns
    -------
    metrics : dict
        ``<teacher|student>_<key>[<arm>]_mean/_std``; per-seed effects (mean, ``_se``, ``_values``):
        ``gain_vs_<arm>`` (SoTeacher's student better in ``quality`` when positive) and
        ``nll_gain_vs_<arm>`` (in test cross-entropy) against the standard, early-stopped and tempered
        teachers, ``oracle_gain_vs_standard`` (the :math:`p^*` teacher's student against the standard
        one's: does the student respond to its teacher?), ``rho_difference`` (within-seed Spearman of
        student quality with minus the teacher's error to :math:`p^*`, minus that with the teacher's test
        accuracy, over the trained teachers); ``beats_early_stopped``;
        ``rho_quality_vs_teacher_err/_acc_mean/_std``.
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
    snll = {name: [r["student"]["test_nll"] for r in runs[name]] for name in all_arms}
    # gains are "SoTeacher's student better" when positive
    sign = quality_sign(q)
    for other in ["standard", "standard-es"] + [f"standard-T{t:g}" for t in temperatures]:
        put_paired(metrics, f"gain_vs_{other}", sign * np.array(sq["soteacher"]), sign * np.array(sq[other]))
        put_paired(metrics, f"nll_gain_vs_{other}", snll[other], snll["soteacher"])
    metrics["beats_early_stopped"] = bool(metrics["gain_vs_standard-es"] > 0)
    # does the student's quality respond to the teacher at all? the p* oracle against the standard teacher
    put_paired(metrics, "oracle_gain_vs_standard", sign * np.array(sq["oracle"]), sign * np.array(sq["standard"]))
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
    put_paired(metrics, "rho_difference", rho_err, rho_acc)
    series["quality"] = q
    return metrics, series


def summarise_checkpoints(out: list, quality: str):
    """Metrics and series of ``soteacher.checkpoints``.

    Parameters
    ----------
    out : list of :func:`checkpoint_cell` outputs, one per seed
    quality : {"test_acc", "test_nll", "test_err"}, the student quality compared

    Returns
    -------
    metrics : dict
        Per-seed effects (mean, ``_se``, ``_values``): ``teacher_late_rise`` (test accuracy of the best
        teacher minus that of the pre-decay checkpoint when the best teacher comes later, else 0: the
        Figure 1 regime), ``pre_decay_advantage`` (student quality from the pre-decay checkpoint minus
        from the best teacher, better when positive, averaged over the evaluation students),
        ``rho_difference`` (per run, Spearman of student quality over checkpoints with minus the
        teacher's error to :math:`p^*` minus that with teacher test accuracy); ``best_teacher_epoch``,
        ``pre_decay_epoch``, ``best_teacher_is_pre_decay_fraction``.
    series : dict, per-run curves over the checkpoints
    """
    q = quality
    sign = quality_sign(q)
    metrics, series = {}, {"runs": [], "quality": q}
    rho_err, rho_acc, rise, adv, best_ep, pre_ep = [], [], [], [], [], []
    for run in out:
        t_err = np.array([t["train_err"] for t in run["teacher"]])
        t_acc = np.array([t["test_acc"] for t in run["teacher"]])
        s_q = sign * np.array([s[q] for s in run["student"]])
        rho_err.append(spearman(s_q, -t_err))
        rho_acc.append(spearman(s_q, t_acc))
        b, e = run["best_teacher"], run["pre_decay"]
        ep = run["epoch"]
        rise.append(float(t_acc[b] - t_acc[e]) if ep[b] > ep[e] else 0.0)
        adv.append(sign * (run["eval"][str(ep[e])][q] - run["eval"][str(ep[b])][q]))
        best_ep.append(int(ep[b]))
        pre_ep.append(int(ep[e]))
        series["runs"].append({"epoch": list(ep), "teacher_train_err": t_err.tolist(),
                               "teacher_test_acc": t_acc.tolist(),
                               "teacher_val_acc": [t["val_acc"] for t in run["teacher"]],
                               "student_quality": (sign * s_q).tolist(),
                               "student_test_acc": [s["test_acc"] for s in run["student"]],
                               "best_teacher": int(b), "pre_decay": int(e)})
    series["epoch"] = series["runs"][0]["epoch"]
    put_mean_std(metrics, "rho_student_vs_teacher_err", rho_err)
    put_mean_std(metrics, "rho_student_vs_teacher_acc", rho_acc)
    put_paired(metrics, "rho_difference", rho_err, rho_acc)
    put_paired(metrics, "teacher_late_rise", rise)
    put_paired(metrics, "pre_decay_advantage", adv)
    metrics["best_teacher_epoch"] = best_ep
    metrics["pre_decay_epoch"] = pre_ep[0]
    metrics["best_teacher_is_pre_decay_fraction"] = float(np.mean([b == e for b, e in zip(best_ep, pre_ep)]))
    return metrics, series
