"""Cells of ``ji2020.data_inefficiency`` (Ji & Zhu 2020, Result 2): converged soft-label students,
the hard-label student, and students of early-stopped teachers.
"""

from __future__ import annotations

import numpy as np

from ...seeding import substream
from .. import kd, ntk
from .setting import _teacher_setting_of, kernel_machine, step_size, targets

__all__ = ["soft_students_cell", "hard_student_cell", "teacher_time_cell"]


def soft_students_cell(cell: dict, rng) -> dict:
    """Converged KD students (kernel regression on :math:`z_{\\rm eff}`) on nested training sets, for
    every soft ratio (Ji & Zhu 2020, Result 2; reconstructed setting). Deterministic given ``data_seed``.

    Parameters
    ----------
    cell : dict
        ``data_seed``, ``d``, ``n_centres``, ``c_std``, ``T``, ``rhos``, ``n_grid``, ``n_test``,
        ``diag_reg``.

    Returns
    -------
    dict
        ``R`` (transfer risk) and ``log_w`` (:math:`\\ln\\|\\Delta w_n\\|`), lists of shape (n, rho);
        ``log_wt`` (:math:`\\ln\\|w_t\\|`, the teacher's weight norm in the nugget kernel's feature space)
        and ``cond`` (condition number of the largest regularised Gram matrix, which bounds those of
        the nested ones).
    """
    U, c, X, Xt = _teacher_setting_of(cell, substream(cell["data_seed"]))
    lam = cell["diag_reg"]
    zt, zt_test = ntk.relu_ntk(X, U) @ c, ntk.relu_ntk(Xt, U) @ c
    yg = (zt > 0).astype(float)
    K, Kx = ntk.relu_ntk(X), ntk.relu_ntk(Xt, X)
    R, log_w, cond = [], [], None
    for n in cell["n_grid"]:
        Z = np.stack([targets(zt[:n], yg[:n], r, cell["T"]) for r in cell["rhos"]], axis=1)
        fit = ntk.kernel_regression(K[:n, :n], Z, diag_reg=lam, with_cond=(n == cell["n_grid"][-1]))
        R.append(np.mean(fit.predict(Kx[:, :n]) * zt_test[:, None] < 0, axis=0).tolist())
        log_w.append((0.5 * np.log(fit.weight_norm_sq())).tolist())
        cond = fit.cond if fit.cond is not None else cond
    log_wt = 0.5 * float(np.log(c @ (ntk.relu_ntk(U) + lam * np.eye(len(c))) @ c))
    return {"R": R, "log_w": log_w, "log_wt": log_wt, "cond": cond}


def hard_student_cell(cell: dict, rng) -> dict:
    """Hard-label training (:math:`\\rho=0`) of the linearised student: kernel gradient descent on the
    logistic loss for ``hard_steps`` steps (its logits diverge, so a finite time is needed; a reconstruction).
    Deterministic given ``data_seed``.

    Parameters
    ----------
    cell : dict
        The entries of :func:`soft_students_cell` (``rhos`` excepted) plus ``n`` (training size, a
        prefix of the ``n_grid`` sample), ``hard_steps`` and ``lr_factor``.

    Returns
    -------
    dict
        ``R`` (transfer risk), ``log_w`` (:math:`\\ln\\|\\Delta w\\|=\\tfrac12\\ln c^\\top Kc`), ``grad_norm``.
    """
    U, c, X, Xt = _teacher_setting_of(cell, substream(cell["data_seed"]))
    n = cell["n"]
    X = X[:n]
    zt, zt_test = ntk.relu_ntk(X, U) @ c, ntk.relu_ntk(Xt, U) @ c
    yg = (zt > 0).astype(float)
    K = ntk.relu_ntk(X)
    lr = step_size(K, 0.0, 1.0, cell["lr_factor"])
    gd = ntk.kernel_gradient_descent(K, kd.kd_mean_grad_fn(np.zeros(n), yg, 0.0, 1.0), lr=lr,
                                     steps=cell["hard_steps"])
    zs = ntk.relu_ntk(Xt, X) @ gd.coef
    return {"R": float(np.mean(zs * zt_test < 0)), "log_w": float(0.5 * np.log(gd.coef @ K @ gd.coef)),
            "grad_norm": gd.grad_norm}


def teacher_time_cell(cell: dict, rng) -> dict:
    """The early-stopped teacher (a reconstruction: the paper's experiment was not available): a teacher
    trained by kernel gradient descent on hard ground-truth labels, stopped after each of
    ``teacher_steps`` steps, then distilled into converged students at every soft ratio of
    ``rhos_tt`` on nested training sets. Deterministic given ``data_seed``.

    Parameters
    ----------
    cell : dict
        ``data_seed``, ``d``, ``n_centres``, ``c_std``, ``T``, ``diag_reg``, ``lr_factor``,
        ``n_teacher``, ``teacher_steps`` (increasing), ``n_grid_tt``, ``rhos_tt`` (list).

    Returns
    -------
    dict
        ``log_w``: ``{f"{rho:g}": list of shape (teacher step, n)}`` of :math:`\\ln\\|\\Delta w_n\\|`;
        ``teacher_err`` (per teacher step, the share of the student's training points on which the
        teacher's sign differs from the ground truth's; the teacher never saw them);
        ``teacher_grad_norm``.
    """
    drng = substream(cell["data_seed"])
    d, T = cell["d"], cell["T"]
    U, c = kernel_machine(drng, d, cell["n_centres"], cell["c_std"])
    XT = ntk.unit_sphere(cell["n_teacher"], d, drng)
    X = ntk.unit_sphere(max(cell["n_grid_tt"]), d, drng)
    KT = ntk.relu_ntk(XT)
    ygT = (ntk.relu_ntk(XT, U) @ c > 0).astype(float)
    lr = step_size(KT, 0.0, 1.0, cell["lr_factor"])
    times = cell["teacher_steps"]
    gd = ntk.kernel_gradient_descent(KT, kd.kd_mean_grad_fn(np.zeros(len(XT)), ygT, 0.0, 1.0), lr=lr,
                                     steps=max(times), snapshots=times)
    K, KXT = ntk.relu_ntk(X), ntk.relu_ntk(X, XT)
    zg = ntk.relu_ntk(X, U) @ c
    yg = (zg > 0).astype(float)
    rhos = tuple(cell["rhos_tt"])
    zts = [KXT @ gd.snapshots[t] for t in times]
    rows = []
    for n in cell["n_grid_tt"]:  # one factorisation per n for every (rho, t)
        Z = np.stack([targets(zt[:n], yg[:n], rho, T) for rho in rhos for zt in zts], axis=1)
        fit = ntk.kernel_regression(K[:n, :n], Z, diag_reg=cell["diag_reg"])
        rows.append(0.5 * np.log(fit.weight_norm_sq()).reshape(len(rhos), len(times)))
    rows = np.array(rows)  # (n, rho, t)
    return {"log_w": {f"{rho:g}": rows[:, i, :].T.tolist() for i, rho in enumerate(rhos)},
            "teacher_err": [float(np.mean(zt * zg < 0)) for zt in zts],
            "teacher_grad_norm": gd.grad_norm}
