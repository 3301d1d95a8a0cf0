"""Cells of ``ji2020.imperfect_teacher`` (Ji & Zhu 2020, Result 3): students of an imperfect and of
the perfect teacher over the soft-ratio grid, and the derivative of their alignment at rho = 1.
"""

from __future__ import annotations

import numpy as np

from ...seeding import substream
from .. import kd, ntk
from .setting import kernel_machine, targets

__all__ = ["cos_alpha_terms", "imperfect_teacher_cell"]


def cos_alpha_terms(fit_solve, z_t, z_gX, delta, wg_norm: float):
    """:math:`\\cos\\alpha_g` at :math:`\\rho=1` and the two terms of its derivative in :math:`1-\\rho`
    (Ji & Zhu 2020, Result 3; the explicit form is derived for this toolkit).

    The poster's
    :math:`\\langle\\Delta z_g,\\delta z_h\\rangle_{\\Theta_n}-\\frac{\\langle\\Delta z_g,\\Delta z_t\\rangle}
    {\\langle\\Delta z_t,\\Delta z_t\\rangle}\\langle\\Delta z_t,\\delta z_h\\rangle` up to the positive factor
    :math:`1/(\\|w_s\\|\\|w_g\\|)`:

    .. math:: \\frac{d\\cos\\alpha_g}{d(1-\\rho)} = \\frac{\\delta^\\top\\Theta^{-1}z_g}{\\|w_s\\|\\|w_g\\|}
              - \\cos\\alpha_g\\frac{z_t^\\top\\Theta^{-1}\\delta}{\\|w_s\\|^2},\\quad \\|w_s\\|^2=z_t^\\top\\Theta^{-1}z_t.

    Parameters
    ----------
    fit_solve : callable b -> ndarray of shape (n,)
        :math:`\\Theta^{-1}b` (with the nugget of the kernel regression).
    z_t, z_gX, delta : ndarray of shape (n,)
        Teacher logits, ground-truth logits and the sensitivity
        :math:`\\delta = \\partial z_{\\rm eff}/\\partial(1-\\rho)|_{\\rho=1}` on the training inputs.
    wg_norm : float
        :math:`\\|w_g\\|`.

    Returns
    -------
    cos_alpha : float
    term1, term2 : float
        The derivative is ``term1 - term2``.
    """
    v, u = fit_solve(z_t), fit_solve(delta)
    ws2 = float(z_t @ v)
    cos_a = float(z_gX @ v) / (np.sqrt(ws2) * wg_norm)
    term1 = float(z_gX @ u) / (np.sqrt(ws2) * wg_norm)
    term2 = cos_a * float(z_t @ u) / ws2
    return cos_a, term1, term2


def imperfect_teacher_cell(cell: dict, rng) -> dict:
    """One seed of Result 3 (Ji & Zhu 2020; derivative formula derived for this toolkit): converged students of an
    imperfect teacher (the ridgeless interpolant of the ground truth from ``n_teacher`` points) and of
    the perfect teacher :math:`z_t=z_g` over the soft-ratio grid, with :math:`\\cos\\alpha_g` and its
    derivative at :math:`\\rho=1` (:func:`cos_alpha_terms`) against a Richardson-extrapolated one-sided
    finite difference. Deterministic given ``data_seed``.

    Parameters
    ----------
    cell : dict
        ``data_seed``, ``d``, ``n_centres``, ``c_std``, ``n_teacher``, ``n``, ``T``, ``rhos``
        (contains 1.0), ``n_test``, ``diag_reg``, ``fd_eps``.

    Returns
    -------
    dict
        ``teacher_err`` (test), ``teacher_err_train``, ``minority_frac``, and for ``"imperfect"`` and
        ``"perfect"``: ``err`` and ``cos_alpha_g`` per rho, ``err_halves`` (shape (2, rho): the error
        on the even and on the odd test rows), ``deriv`` = ``term1 - term2``, ``fd``
        (Richardson), ``fd_plain`` and ``cos_check`` (formula minus fit at rho = 1).
    """
    d, T, lam, rhos, eps = cell["d"], cell["T"], cell["diag_reg"], cell["rhos"], cell["fd_eps"]
    drng = substream(cell["data_seed"])
    U, c = kernel_machine(drng, d, cell["n_centres"], cell["c_std"])
    wg_norm = float(np.sqrt(c @ (ntk.relu_ntk(U) + lam * np.eye(len(c))) @ c))
    XT = ntk.unit_sphere(cell["n_teacher"], d, drng)
    X, Xt = ntk.unit_sphere(cell["n"], d, drng), ntk.unit_sphere(cell["n_test"], d, drng)
    teacher = ntk.kernel_regression(ntk.relu_ntk(XT), ntk.relu_ntk(XT, U) @ c, diag_reg=lam)
    zg_test, zt_test = ntk.relu_ntk(Xt, U) @ c, teacher.predict(ntk.relu_ntk(Xt, XT))
    zgX, ztX = ntk.relu_ntk(X, U) @ c, teacher.predict(ntk.relu_ntk(X, XT))
    yg = (zgX > 0).astype(float)
    K, Kx = ntk.relu_ntk(X), ntk.relu_ntk(Xt, X)
    A = K + lam * np.eye(len(X))

    def solve(b):
        return np.linalg.solve(A, b)

    out = {"teacher_err": float(np.mean(zt_test * zg_test < 0)), "teacher_err_train": float(np.mean(ztX * zgX < 0)),
           "minority_frac": float(min(np.mean(zg_test > 0), np.mean(zg_test < 0)))}
    for name, z_teacher in (("imperfect", ztX), ("perfect", zgX)):
        # two extra columns for the finite differences at rho = 1 - eps and 1 - 2 eps
        Z = np.stack([targets(z_teacher, yg, r, T) for r in rhos] +
                     [kd.effective_logit(z_teacher, yg, 1.0 - h, T) for h in (eps, 2 * eps)], axis=1)
        fit = ntk.kernel_regression(K, Z, diag_reg=lam)
        wrong = fit.predict(Kx) * zg_test[:, None] < 0
        err = np.mean(wrong, axis=0)
        # the test set in two halves (even and odd rows): a soft ratio chosen on one half is judged on
        # the other, so that choosing the best ratio does not bias the comparison
        halves = np.stack([np.mean(wrong[0::2], axis=0), np.mean(wrong[1::2], axis=0)])
        cos_g = fit.weight_dot(zgX) / (np.sqrt(fit.weight_norm_sq()) * wg_norm)
        delta = kd.sensitivity_at_rho1(z_teacher, yg, T)
        cos1, t1, t2 = cos_alpha_terms(solve, z_teacher, zgX, delta, wg_norm)
        c1, c_eps, c_2eps = cos_g[rhos.index(1.0)], cos_g[-2], cos_g[-1]
        # one-sided differences D(h) = f' + a h + O(h^2): f''/f' reaches ~1e3 here (f' is a difference
        # of two nearly equal terms), so the plain D(eps) carries ~1e-3 truncation error;
        # Richardson 2 D(eps) - D(2 eps) removes the O(h) term
        fd_plain = (c_eps - c1) / eps
        fd_rich = 2.0 * fd_plain - (c_2eps - c1) / (2 * eps)
        out[name] = {"err": err[:-2].tolist(), "err_halves": halves[:, :-2].tolist(),
                     "cos_alpha_g": cos_g[:-2].tolist(),
                     "deriv": t1 - t2, "term1": t1, "term2": t2, "fd": float(fd_rich),
                     "fd_plain": float(fd_plain), "cos_check": cos1 - float(c1)}
    return out
