"""Sweep cells of the Ji & Zhu (2020) claims, and the constructions they share.

Every cell is a module-level function ``cell_fn(cell: dict, rng) -> dict`` run by
:meth:`theorycheck.sweep.RunContext.map` (the claims in :mod:`theorycheck.ji2020.claims` build the
cells and turn their outputs into metrics). Cells receive their random data through an integer
``cell["data_seed"]``, drawn once per seed by the claim's measurement from a direct stream
(``ctx.rng(part=..., seed=...)``), and build their generator with
:func:`theorycheck.seeding.substream`: several cells then share one teacher and one data set (one
teacher, many widths or soft ratios), and the run seed enters every cell's key. Only
:func:`linearisation_cell` also draws from its own cell generator ``rng`` (network initialisation).

The cells' work is elementwise arithmetic, matrix-vector products and factorisations of at most a
few thousand rows; the claims run them with one BLAS thread each (``blas_threads=1``) and get their
parallelism from running cells side by side (``--jobs``).

Common setting (reconstructed for this toolkit: the paper's settings were not available): inputs
uniform on the sphere :math:`S^{d-1}`; teacher and ground truth are kernel machines
:math:`z(x)=\\sum_j c_j\\Theta(x,u_j)` of the two-layer bias-free ReLU NTK
(:func:`theorycheck.ji2020.ntk.relu_ntk`), so they lie in the student's feature space; the student
is that network's infinite-width NTK except in :func:`linearisation_cell`, which trains the finite
network.

References
----------
Ji, G. and Zhu, Z. (2020). Knowledge Distillation in Wide Neural Networks: Risk Bound, Data
Efficiency and Imperfect Teacher. NeurIPS 33 (poster: Corollaries 1-2, Results 1-3).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.optimize import brentq

from ..seeding import substream
from . import kd, ntk

__all__ = ["EPS", "kernel_machine", "step_size", "targets", "half_jump_reference", "linearisation_data",
           "teacher_setting", "cos_alpha_terms", "effective_logit_cell", "linearisation_cell",
           "kernel_limit_cell", "risk_cell", "soft_students_cell", "hard_student_cell",
           "teacher_time_cell", "imperfect_teacher_cell"]

#: Machine epsilon of float64.
EPS = np.finfo(np.float64).eps


# -- shared constructions ---------------------------------------------------------------------------

def kernel_machine(rng: np.random.Generator, d: int, n_centres: int, c_std: float):
    """A kernel machine :math:`z(x)=\\sum_j c_j\\Theta(x,u_j)` of the NTK: the teacher and the ground truth
    of the reconstructed settings.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the centres first, then the coefficients.
    d : int
        Input dimension.
    n_centres : int
        Number of centres :math:`J`.
    c_std : float
        Standard deviation of the coefficients, :math:`c_j\\sim\\mathcal N(0, c_{std}^2)`.

    Returns
    -------
    U : ndarray of shape (n_centres, d)
        Centres :math:`u_j`, uniform on :math:`S^{d-1}`.
    c : ndarray of shape (n_centres,)
        Coefficients :math:`c_j`.
    """
    return ntk.unit_sphere(n_centres, d, rng), c_std * rng.standard_normal(n_centres)


def step_size(K: np.ndarray, rho: float, T: float, factor: float) -> float:
    """Step size of function-space gradient descent on the mean KD loss,
    :math:`\\eta = \\text{factor}\\cdot 8n/(\\lambda_{\\max}(K)\\,(\\rho/T^2+1-\\rho))`.

    The mean KD loss (Ji & Zhu 2020, poster "Problem Setup") has Hessian in the outputs at most
    :math:`(\\rho/T^2+1-\\rho)/(4n)` (:math:`\\sigma'\\le 1/4`), so the iteration
    :math:`z\\leftarrow z-\\eta K\\nabla_z\\mathcal L` is stable for
    :math:`\\eta<8n/(\\lambda_{\\max}(\\rho/T^2+1-\\rho))`; ``factor = 0.5`` is half that limit
    (:math:`0.5\\cdot 8nT^2/\\lambda_{\\max}` at :math:`\\rho=1`; the paper gives no step size).

    Parameters
    ----------
    K : ndarray of shape (n, n)
        Kernel (Gram) matrix of the training inputs.
    rho, T : float
        Soft ratio in [0, 1] and temperature > 0.
    factor : float
        Fraction of the stability limit, in (0, 1).

    Returns
    -------
    float
    """
    n = K.shape[0]
    lam = ntk.largest_eigenvalue(K)
    return factor * 8.0 * n / (lam * (rho / T ** 2 + 1.0 - rho))


def targets(z_t, y_g, rho: float, T: float) -> np.ndarray:
    """Training targets of the converged (kernel-regression) student.

    For :math:`\\rho>0` the effective logit :math:`z_{s,\\rm eff}` of Corollary 1
    (:func:`theorycheck.ji2020.kd.effective_logit`); for :math:`\\rho=0` the :math:`\\rho\\to0^+` limit of
    its direction, :math:`2y_g-1` (:math:`z_{\\rm eff}/\\ln(1/\\rho)\\to\\pm1`), which fixes every decision
    of the kernel student.

    Parameters
    ----------
    z_t, y_g : ndarray of shape (n,)
        Teacher logits and hard labels in {0, 1}.
    rho, T : float
        Soft ratio in [0, 1] and temperature > 0.

    Returns
    -------
    ndarray of shape (n,)
    """
    if rho == 0:
        return 2.0 * y_g - 1.0
    return kd.effective_logit(z_t, y_g, rho, T)


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


def linearisation_data(data_seed: int, *, d: int, n: int, n_test: int, n_centres: int, c_std: float):
    """Training and test inputs on :math:`S^{d-1}` and a kernel-machine teacher's logits on them
    (the reconstructed setting of ``ji2020.linearisation``).

    Parameters
    ----------
    data_seed : int
        Seed of the data; ``substream(data_seed)`` draws the teacher (:func:`kernel_machine`), then
        the training and the test inputs.
    d, n, n_test, n_centres : int
        Input dimension, training and test points, teacher centres.
    c_std : float
        Standard deviation of the teacher's coefficients.

    Returns
    -------
    X : ndarray of shape (n, d)
    Xt : ndarray of shape (n_test, d)
    z_t : ndarray of shape (n,)
        Teacher logits on ``X``.
    z_t_test : ndarray of shape (n_test,)
        Teacher logits on ``Xt``.
    """
    drng = substream(data_seed)
    U, c = kernel_machine(drng, d, n_centres, c_std)
    X, Xt = ntk.unit_sphere(n, d, drng), ntk.unit_sphere(n_test, d, drng)
    return X, Xt, ntk.relu_ntk(X, U) @ c, ntk.relu_ntk(Xt, U) @ c


def teacher_setting(rng: np.random.Generator, *, d: int, n_centres: int, c_std: float, n_max: int,
                    n_test: int):
    """Kernel-machine teacher and the nested training / test inputs of the risk experiments
    (``ji2020.risk_bound``, ``ji2020.data_inefficiency``; reconstructed settings).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the teacher, then the training inputs, then the test inputs.
    d, n_centres : int
    c_std : float
    n_max : int
        Number of training inputs; training sets of size n are the prefixes ``X[:n]``.
    n_test : int

    Returns
    -------
    U : ndarray of shape (n_centres, d)
    c : ndarray of shape (n_centres,)
    X : ndarray of shape (n_max, d)
    Xt : ndarray of shape (n_test, d)
    """
    U, c = kernel_machine(rng, d, n_centres, c_std)
    X = ntk.unit_sphere(n_max, d, rng)
    Xt = ntk.unit_sphere(n_test, d, rng)
    return U, c, X, Xt


def _teacher_setting_of(cell, rng):
    return teacher_setting(rng, d=cell["d"], n_centres=cell["n_centres"], c_std=cell["c_std"],
                           n_max=max(cell["n_grid"]), n_test=cell["n_test"])


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


# -- ji2020.effective_logit (Corollary 1) ---------------------------------------------------------------

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


# -- ji2020.linearisation (Corollary 2) -----------------------------------------------------------------

def linearisation_cell(cell: dict, rng: np.random.Generator) -> dict:
    """One width and one data seed of Corollary 2: the finite network, its own linearisation and the
    infinite-width NTK dynamics, trained by full-batch gradient descent on the KD loss for the same
    steps and step size.

    Parameters
    ----------
    cell : dict
        ``data_seed`` and the data parameters of :func:`linearisation_data`; ``m`` (even width),
        ``rho``, ``T``, ``steps``, ``lr_factor`` (see :func:`step_size`); ``keep_outputs`` (bool).
    rng : numpy.random.Generator
        The cell's generator: the network's (antisymmetric) initialisation.

    Returns
    -------
    dict
        ``rmse_vs_ntk`` and ``rmse_vs_empirical_lin`` (test RMSE relative to the RMS of the NTK
        outputs), ``gram_rel_err`` (Frobenius), ``gram_err_over_mc`` (Gram error over its predicted
        Monte Carlo RMS), ``sign_disagreement``, ``train_loss``, ``f0_max``, ``lr``, ``m``; with
        ``keep_outputs`` also the test outputs ``f_net`` and ``f_lin``.
    """
    X, Xt, zt, _ = linearisation_data(cell["data_seed"], d=cell["d"], n=cell["n"], n_test=cell["n_test"],
                                      n_centres=cell["n_centres"], c_std=cell["c_std"])
    yg = (zt > 0).astype(float)
    rho, T, steps, m = cell["rho"], cell["T"], cell["steps"], cell["m"]
    K, Kx = ntk.relu_ntk(X), ntk.relu_ntk(Xt, X)
    lr = step_size(K, rho, T, cell["lr_factor"])
    grad = kd.kd_mean_grad_fn(zt, yg, rho, T)
    f_lin = Kx @ ntk.kernel_gradient_descent(K, grad, lr=lr, steps=steps).coef  # infinite width, f0 = 0
    w0 = ntk.init_ntk_network(cell["d"], m, rng)
    f0_max = float(np.max(np.abs(ntk.ntk_forward(w0, np.vstack([X, Xt])))))
    w = ntk.ntk_gradient_descent(w0, X, partial(kd.kd_loss_and_grad, z_t=zt, y_g=yg, rho=rho, T=T),
                                 lr=lr, steps=steps, rng=rng)
    f_net = ntk.ntk_forward(w, Xt)
    Ke, Kex = ntk.empirical_ntk(w0, X), ntk.empirical_ntk(w0, Xt, X)
    f_elin = Kex @ ntk.kernel_gradient_descent(Ke, grad, lr=lr, steps=steps).coef  # finite-width linearisation
    scale = float(np.sqrt(np.mean(f_lin ** 2)))
    if not (np.isfinite(scale) and scale > 0):  # a relative error needs a finite, nonzero denominator
        raise FloatingPointError(f"the NTK outputs' RMS is {scale!r}: no relative gap can be formed")
    out = {"m": m, "lr": lr, "f0_max": f0_max,
           "rmse_vs_ntk": float(np.sqrt(np.mean((f_net - f_lin) ** 2)) / scale),
           "rmse_vs_empirical_lin": float(np.sqrt(np.mean((f_net - f_elin) ** 2)) / scale),
           "gram_rel_err": float(np.linalg.norm(Ke - K) / np.linalg.norm(K)),
           "gram_err_over_mc": float(np.linalg.norm(Ke - K) / ntk.empirical_ntk_sampling_error(w0, X)),
           "sign_disagreement": float(np.mean(np.sign(f_net) != np.sign(f_lin))),
           "train_loss": kd.kd_loss(ntk.ntk_forward(w, X), zt, yg, rho, T)}
    if cell["keep_outputs"]:
        out["f_net"], out["f_lin"] = f_net.tolist(), f_lin.tolist()
    return out


def kernel_limit_cell(cell: dict, rng) -> dict:
    """Kernel gradient descent run until its gradient (nearly) vanishes converges to kernel regression
    on :math:`z_{\\rm eff}` (Ji & Zhu 2020, Corollary 2). Deterministic (``rng`` is unused).

    The slowest mode contracts by :math:`1-\\eta\\lambda_{\\min}(K)\\sigma'(z/T)/(nT^2)` per step, about
    :math:`10^{-4}` for a confident teacher, so no fixed step count suffices for every draw: the
    descent runs in chunks of :math:`10^4` steps until the gradient norm is at most
    ``limit_grad_tol`` or ``limit_steps`` steps were taken.

    Parameters
    ----------
    cell : dict
        ``data_seed`` and the data parameters of :func:`linearisation_data`; ``rho``, ``T``,
        ``lr_factor``, ``limit_steps``, ``limit_grad_tol``.

    Returns
    -------
    dict
        ``rel_err`` (max test-output gap over the RMS of the regression outputs), ``grad_norm``,
        ``steps``, ``cond`` (condition number of the regularised Gram matrix).
    """
    X, Xt, zt, _ = linearisation_data(cell["data_seed"], d=cell["d"], n=cell["n"], n_test=cell["n_test"],
                                      n_centres=cell["n_centres"], c_std=cell["c_std"])
    yg = (zt > 0).astype(float)
    K, Kx = ntk.relu_ntk(X), ntk.relu_ntk(Xt, X)
    lr = step_size(K, cell["rho"], cell["T"], cell["lr_factor"])
    grad = kd.kd_mean_grad_fn(zt, yg, cell["rho"], cell["T"])
    gd, steps = None, 0
    while steps < cell["limit_steps"] and (gd is None or gd.grad_norm > cell["limit_grad_tol"]):
        chunk = min(10_000, cell["limit_steps"] - steps)
        gd = ntk.kernel_gradient_descent(K, grad, lr=lr, steps=chunk, coef0=None if gd is None else gd.coef)
        steps += chunk
    fit = ntk.kernel_regression(K, kd.effective_logit(zt, yg, cell["rho"], cell["T"]), with_cond=True)
    f_gd, f_kr = Kx @ gd.coef, fit.predict(Kx)
    return {"rel_err": float(np.max(np.abs(f_gd - f_kr)) / np.sqrt(np.mean(f_kr ** 2))),
            "grad_norm": gd.grad_norm, "steps": steps, "cond": fit.cond}


# -- ji2020.risk_bound (Result 1) -------------------------------------------------------------------------

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


# -- ji2020.data_inefficiency (Result 2) ---------------------------------------------------------------

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


# -- ji2020.imperfect_teacher (Result 3) ----------------------------------------------------------------

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
