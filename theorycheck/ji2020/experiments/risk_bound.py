"""Cells of ``ji2020.risk_bound`` (Ji & Zhu 2020, Result 1): the transfer risk of converged students
and its bound, over soft ratios and nested training sets.
"""

from __future__ import annotations

import numpy as np

from ...seeding import substream
from .. import ntk
from .setting import _teacher_setting_of, targets

__all__ = ["risk_cell"]


def risk_cell(cell: dict, rng) -> dict:
    """Transfer risk :math:`R_n` and its bound :math:`p(\\pi/2-\\alpha_n)` (Ji & Zhu 2020, Result 1; conventions
    reconstructed for this toolkit) for one seed, every soft ratio and every nested training size.
    Deterministic given ``data_seed`` (``rng`` is unused).

    :math:`\\cos\\beta(x)=|z_t(x)|/(\\|\\phi(x)\\|\\|w_t\\|)` with :math:`\\|\\phi(x)\\|^2=\\Theta(x,x)+\\lambda` (nugget
    kernel); :math:`B_n=P[\\beta(x)\\ge\\pi/2-\\alpha_n]=P[\\cos\\beta\\le\\sin\\alpha_n]` for
    :math:`\\alpha_n\\le\\pi/2`, else 1. A misclassified test point (:math:`z_tz_s<0`) outside the region
    :math:`\\cos\\beta\\le\\sin\\alpha_n+` ``bound_tol`` counts as a violation.

    Parameters
    ----------
    cell : dict
        ``data_seed``, ``d``, ``n_centres``, ``c_std``, ``T``, ``rhos``, ``n_grid`` (increasing),
        ``n_test``, ``diag_reg``, ``bound_tol``.

    Returns
    -------
    dict
        Lists of shape (n, rho): ``alpha``, ``R``, ``B``, ``violations``, ``w_norm``; and
        ``wt_norm``, ``max_cond``.
    """
    lam, T, rhos, tol = cell["diag_reg"], cell["T"], cell["rhos"], cell["bound_tol"]
    U, c, X, Xt = _teacher_setting_of(cell, substream(cell["data_seed"]))
    wt_norm = float(np.sqrt(c @ (ntk.relu_ntk(U) + lam * np.eye(len(c))) @ c))
    zt, zt_test = ntk.relu_ntk(X, U) @ c, ntk.relu_ntk(Xt, U) @ c
    yg = (zt > 0).astype(float)
    cos_beta = np.abs(zt_test) / (np.sqrt(ntk.relu_ntk_diag(Xt) + lam) * wt_norm)
    K, Kx = ntk.relu_ntk(X), ntk.relu_ntk(Xt, X)
    rows = {k: [] for k in ("alpha", "R", "B", "violations", "w_norm")}
    conds = []
    for n in cell["n_grid"]:
        Z = np.stack([targets(zt[:n], yg[:n], r, T) for r in rhos], axis=1)
        # interlacing: cond of a leading principal submatrix <= cond of the full matrix
        fit = ntk.kernel_regression(K[:n, :n], Z, diag_reg=lam, with_cond=(n == cell["n_grid"][-1]))
        zs = Kx[:, :n] @ fit.coef                           # (n_test, n_rho)
        w_norm = np.sqrt(fit.weight_norm_sq())
        cos_a = np.clip(fit.weight_dot(zt[:n]) / (w_norm * wt_norm), -1.0, 1.0)
        alpha = np.arccos(cos_a)
        wrong = zs * zt_test[:, None] < 0                    # the poster's z_t z_s < 0
        covered = np.where(alpha[None, :] < np.pi / 2, cos_beta[:, None] <= np.sin(alpha)[None, :] + tol, True)
        rows["alpha"].append(alpha.tolist())
        rows["R"].append(wrong.mean(axis=0).tolist())
        rows["B"].append(covered.mean(axis=0).tolist())
        rows["violations"].append(np.sum(wrong & ~covered, axis=0).tolist())
        rows["w_norm"].append(w_norm.tolist())
        if fit.cond is not None:
            conds.append(fit.cond)
    rows["wt_norm"] = wt_norm
    rows["max_cond"] = max(conds)
    return rows
