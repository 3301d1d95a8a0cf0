"""Cells of ``ji2020.effective_logit`` (Ji & Zhu 2020, Corollary 1): the effective student logit
over a grid of teacher logits, checked against closed forms, an independent table of its jump and
finite differences.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .. import kd
from .setting import EPS

__all__ = ["half_jump_reference", "effective_logit_cell"]


def half_jump_reference(rho: float, T: float) -> float:
    """Half-jump :math:`z_0(\\rho,T)` of the effective logit at :math:`z_t=0` for a perfect teacher, by
    Brent's method on the scalar equation derived from Ji & Zhu (2020), Corollary 1

    .. math:: \\frac{\\rho}{T}\\Big(\\sigma(z/T)-\\tfrac12\\Big)+(1-\\rho)\\big(\\sigma(z)-1\\big)=0 .

    An implementation independent of the vectorised solver
    (:func:`theorycheck.ji2020.kd.jump_half_width`), used as the reference table.

    Parameters
    ----------
    rho : float in (0, 1]
    T : float > 0

    Returns
    -------
    float
        :math:`z_0\\ge 0` (0 at :math:`\\rho=1`).
    """
    if rho == 1.0:
        return 0.0

    def g(z):
        return rho / T * (kd.sigmoid(z / T) - 0.5) - (1.0 - rho) * kd.sigmoid(-z)

    hi = 1.0
    while g(hi) < 0:
        hi *= 2.0
    return float(brentq(g, 0.0, hi, xtol=1e-15, rtol=4 * EPS, maxiter=500))


def effective_logit_cell(cell: dict, rng) -> dict:
    """The effective student logit of Corollary 1 at one temperature, over a grid of teacher logits.

    Deterministic (``rng`` is unused). For each soft ratio: the solver's residual, iterations and
    convergence; monotonicity on each side of :math:`z_t=0` for the perfect teacher
    :math:`y_g=1[z_t>0]`; the jump :math:`2z_0` from the solver's one-sided limits, from the Brent
    table (:func:`half_jump_reference`) and from the grid; the :math:`\\rho=1` and :math:`T=1` closed
    forms; implicit derivatives against Richardson-extrapolated one-sided finite differences; and the
    growth of :math:`z_0` as
    :math:`\\rho\\to0`.

    Parameters
    ----------
    cell : dict
        ``T``, ``rhos`` (list), ``fd_eps``, ``z_max``, ``n_grid`` (odd), ``rho_tail`` (decreasing).

    Returns
    -------
    dict
        Per-rho lists (``residual``: the largest :math:`|F(z_{\\rm eff})|/(\\rho/T+1-\\rho)`, ``jump_solver``,
        ``jump_table``, ``fd_rel_err_zt``, ...), the
        plotted curves ``z_plot`` on ``zt_plot``, and the small-rho tail ``z0_tail``.
    """
    T, rhos, eps = cell["T"], cell["rhos"], cell["fd_eps"]
    zt = np.linspace(-cell["z_max"], cell["z_max"], cell["n_grid"])
    yg = (zt > 0).astype(float)
    neg, pos = zt <= 0, zt > 0
    sub = np.arange(0, zt.size, max(1, zt.size // 200))  # ~200 points for the derivative checks
    plot = np.arange(0, zt.size, max(1, zt.size // 400))
    out = {"T": T, "rho": [], "residual": [], "n_iter": [], "converged": [], "monotone": [],
           "jump_solver": [], "jump_table": [], "jump_grid": [], "fd_rel_err_zt": [], "fd_rel_err_rho": [],
           "z_plot": [], "zt_plot": zt[plot].tolist()}
    out["rho1_err"] = None
    out["closed_form_err"] = None
    out["rho1_sensitivity_err"] = None
    for rho in rhos:
        res = kd.solve_effective_logit(zt, yg, rho, T)
        z = res.z
        out["rho"].append(rho)
        # relative to the size of F's two terms, rho / T and 1 - rho
        out["residual"].append(float(res.residual.max()) / (rho / T + 1.0 - rho))
        out["n_iter"].append(int(res.n_iter))
        out["converged"].append(bool(res.converged.all()))
        out["monotone"].append(bool(np.all(np.diff(z[neg]) > 0) and np.all(np.diff(z[pos]) > 0)))
        # one-sided limits at z_t = 0: the two branches y_g = 0 and y_g = 1 evaluated at z_t = 0
        out["jump_solver"].append(float(kd.effective_logit(0.0, 1.0, rho, T) - kd.effective_logit(0.0, 0.0, rho, T)))
        out["jump_table"].append(2.0 * half_jump_reference(rho, T))
        out["jump_grid"].append(float(z[pos][0] - z[neg][-1]))
        out["z_plot"].append(z[plot].tolist())
        if rho == 1.0:
            out["rho1_err"] = float(np.max(np.abs(z - zt) / (1.0 + np.abs(zt))))
        if T == 1.0:
            out["closed_form_err"] = float(np.max(np.abs(z - kd.effective_logit_T1(zt, yg, rho)) / (1.0 + np.abs(z))))
        # implicit derivatives against one-sided finite differences, Richardson-extrapolated:
        # D(h) = f' + a h + O(h^2), so 2 D(eps) - D(2 eps) = f' + O(eps^2). The plain difference's
        # truncation a h grows like T^2 in rho (and 1/T in z_t), the extrapolated one stays far below the
        # criterion; round-off ~ 3 x 1e-14 (1 + |z|) / (eps |f'|)
        _, dz_dzt, dz_drho = kd.effective_logit_sensitivities(zt[sub], yg[sub], rho, T)
        # the step in z_t is measured in units of T, the scale on which z_eff varies with z_t
        fd_zt = [(kd.effective_logit(zt[sub] + h, yg[sub], rho, T) - z[sub]) / h for h in (eps * T, 2 * eps * T)]
        fd_zt = 2 * fd_zt[0] - fd_zt[1]
        fd_rho = _richardson_in_rho(zt[sub], yg[sub], z[sub], dz_drho, rho, T, eps)
        out["fd_rel_err_zt"].append(float(np.max(np.abs(fd_zt - dz_dzt) / np.abs(dz_dzt))))
        out["fd_rel_err_rho"].append(float(np.max(np.abs(fd_rho - dz_drho) / np.abs(dz_drho))))
        if rho == 1.0:
            delta = kd.sensitivity_at_rho1(zt[sub], yg[sub], T)  # dz/d(1-rho) = -dz/drho
            out["rho1_sensitivity_err"] = float(np.max(np.abs(delta + dz_drho) / np.abs(delta)))
    # z_0 -> infinity as rho -> 0, asymptotically ln(2T/rho): slope 1 in ln(1/rho)
    tail = cell["rho_tail"]
    z0 = [kd.jump_half_width(r, T) for r in tail]
    out["rho_tail"] = tail
    out["z0_tail"] = z0
    out["z0_tail_increasing"] = bool(np.all(np.diff(z0) > 0))
    out["z0_log_slope"] = float((z0[-1] - z0[-2]) / np.log(tail[-2] / tail[-1]))
    return out


def _richardson_in_rho(zt, yg, z, dz_drho, rho, T, eps):
    """Richardson-extrapolated backward difference of :math:`z_{\\rm eff}` in :math:`\\rho`, each point with a
    step matched to the scale on which it varies.

    Near :math:`\\rho=1` a confident teacher (:math:`\\sigma'(z_t/T)` tiny) makes :math:`z_{\\rm eff}` move
    fast in :math:`\\rho`, so a fixed step would be too coarse there. The ideal step is
    :math:`h=\\epsilon\\min(1, (1+|z|)/|\\partial z/\\partial\\rho|)` (a relative change of z of about
    :math:`\\epsilon`); points are grouped by the power of ten of their step so each group is one
    vectorised solve.
    """
    scale = np.abs(dz_drho) / (1.0 + np.abs(z))
    k = np.ceil(np.log10(np.maximum(scale, 1.0))).astype(int)   # step eps * 10^-k <= the ideal one
    out = np.empty_like(z)
    for kk in np.unique(k):
        i = k == kk
        h = eps * 10.0 ** (-kk)
        d1 = (z[i] - kd.effective_logit(zt[i], yg[i], rho - h, T)) / h
        d2 = (z[i] - kd.effective_logit(zt[i], yg[i], rho - 2 * h, T)) / (2 * h)
        out[i] = 2 * d1 - d2
    return out
