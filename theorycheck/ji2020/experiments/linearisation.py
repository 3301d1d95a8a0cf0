"""Cells of ``ji2020.linearisation`` (Ji & Zhu 2020, Corollary 2): the finite network against its
own linearisation and the infinite-width NTK dynamics, and the limit of kernel gradient descent.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ...seeding import substream
from .. import kd, ntk
from .setting import kernel_machine, step_size

__all__ = ["linearisation_data", "linearisation_cell", "kernel_limit_cell"]


def linearisation_data(data_seed: int, *, d: int, n: int, n_test: int, n_centres: int, c_std: float):
    """Training and test inputs on :math:`S^{d-1}` and a kernel-machine teacher's logits on them
    (the reconstructed setting of ``ji2020.linearisation``).

    Parameters
    ----------
    data_seed : int
        Seed of the data; ``substream(data_seed)`` draws the teacher (:func:`~theorycheck.ji2020.experiments.setting.kernel_machine`), then
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


def linearisation_cell(cell: dict, rng: np.random.Generator) -> dict:
    """One width and one data seed of Corollary 2: the finite network, its own linearisation and the
    infinite-width NTK dynamics, trained by full-batch gradient descent on the KD loss for the same
    steps and step size.

    Parameters
    ----------
    cell : dict
        ``data_seed`` and the data parameters of :func:`linearisation_data`; ``m`` (even width),
        ``rho``, ``T``, ``steps``, ``lr_factor`` (see :func:`~theorycheck.ji2020.experiments.setting.step_size`); ``keep_outputs`` (bool).
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
