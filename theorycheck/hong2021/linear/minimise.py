"""Numerical minimisation of the losses (1) and (2) of Hong et al. 2021 by L-BFGS.

Used to check Theorem 2 independently of its closed form: the minimiser is found by a quasi-Newton
method on the *factorised* student (W_1, W_2), with every loss value and gradient from
:func:`theorycheck.nets.st_loss_and_grad`.

Stopping rule and certificate
-----------------------------
The objective handed to L-BFGS is the loss divided by its value at the start, so the tolerances are
relative. L-BFGS stops when the largest gradient entry is below ``gtol`` or the relative decrease of
the objective is below ``ftol`` (set to 0 by default: only the gradient rule and ``maxiter`` stop it).

How far the returned end-to-end matrix :math:`\\mathbf W = W_2W_1` can be from the least-squares
minimiser :math:`W^\\star` is bounded without knowing :math:`W^\\star`: the end-to-end gradient of the
base term, :math:`G = 2(\\mathbf W X_\\epsilon - Y)X_\\epsilon^T = 2(\\mathbf W - W^\\star)X_\\epsilon
X_\\epsilon^T` (paper orientation), gives :math:`\\|\\mathbf W - W^\\star\\|_F \\le \\|G\\|_F /
(2\\lambda_{\\min})`, and :math:`\\|W^\\star\\|_F \\ge \\|Y X_\\epsilon^T\\|_F/\\lambda_{\\max}`, so

.. math:: \\frac{\\|\\mathbf W - W^\\star\\|_F}{\\|W^\\star\\|_F} \\le \\kappa\\,
          \\frac{\\|G\\|_F}{\\|G(0)\\|_F},\\qquad \\kappa = \\mathrm{cond}(X_\\epsilon X_\\epsilon^T),

with :math:`G(0) = -2YX_\\epsilon^T` the gradient at :math:`\\mathbf W = 0`. This is
:attr:`MinimiseResult.certificate`. The factor gradients give :math:`G` back:
:math:`\\nabla_{W_2} = G W_1^T` for **both** losses (the feature term of (2) does not involve
:math:`W_2`), so a small :math:`\\nabla_{W_2}` with rank :math:`W_1 = d_x` forces a small :math:`G`.

BLAS threads: the vectors are tiny, so threaded BLAS only adds synchronisation. This module does not
set the thread count; the claims' sweeps run each minimisation with one BLAS thread
(``blas_threads=1``, :class:`theorycheck.sweep.RunContext`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ... import nets
from ...errors import InputError, check_int, check_real
from .closed_forms import _as_matrix, _check_pair, _check_student_problem

__all__ = ["MinimiseResult", "minimise_lbfgs", "end_to_end_certificate"]


@dataclass(frozen=True)
class MinimiseResult:
    """Outcome of :func:`minimise_lbfgs`.

    Attributes
    ----------
    weights : tuple of ndarray, the returned (W_1, W_2), shapes (m, d_x), (d_y, m)
    loss : float, final loss (sum over samples, as Eq. (1)/(2))
    loss0 : float, loss at the start
    grad_rel : float, :math:`\\|\\nabla\\theta\\|_F / \\|\\nabla\\theta(0)\\|_F` of the minimised loss
    certificate : float, upper bound on the relative distance of :math:`W_2W_1` to the least-squares
        minimiser (module docstring); ``inf`` when the data Gram matrix is singular
    nit, nfev : int, L-BFGS iterations and function evaluations
    success : bool, message : str, as returned by ``scipy.optimize.minimize``
    gtol : float, the requested tolerance; wall_s : float
    """

    weights: tuple
    loss: float
    loss0: float
    grad_rel: float
    certificate: float
    nit: int
    nfev: int
    success: bool
    message: str
    gtol: float
    wall_s: float


def end_to_end_certificate(W, X_eps, Y) -> float:
    """Bound on :math:`\\|\\mathbf W - W^\\star\\|_F/\\|W^\\star\\|_F` from the end-to-end gradient
    (module docstring).

    Parameters
    ----------
    W : ndarray of shape (d_y, d_x), end-to-end matrix
    X_eps : ndarray of shape (N, d_x)
    Y : ndarray of shape (N, d_y)

    Returns
    -------
    float, ``inf`` if ``X_eps`` has rank < d_x
    """
    X_eps, Y = _check_pair(X_eps, Y)
    W = _as_matrix("W", W)
    if W.shape != (Y.shape[1], X_eps.shape[1]):
        raise InputError("W", f"must have shape (d_y, d_x) = ({Y.shape[1]}, {X_eps.shape[1]}), got {W.shape}")
    s = np.linalg.svd(X_eps, compute_uv=False)
    if len(s) < X_eps.shape[1] or s[-1] <= s[0] * max(X_eps.shape) * np.finfo(float).eps:
        return float("inf")
    kappa = (s[0] / s[-1]) ** 2
    G = 2.0 * (X_eps @ W.T - Y).T @ X_eps
    G0 = 2.0 * Y.T @ X_eps
    return float(kappa * np.linalg.norm(G) / np.linalg.norm(G0))


def _balanced(W1, W2) -> np.ndarray:
    """The balanced factorisation of :math:`W_2W_1 = USV^T`: :math:`W_1 = S^{1/2}V^T`,
    :math:`W_2 = US^{1/2}` over the top ``min(m, rank)`` directions, zero elsewhere (flattened)."""
    m = W1.shape[0]
    U, S, Vt = np.linalg.svd(W2 @ W1, full_matrices=False)
    r = min(m, len(S))
    B1, B2 = np.zeros_like(W1), np.zeros_like(W2)
    B1[:r] = np.sqrt(S[:r])[:, None] * Vt[:r]
    B2[:, :r] = U[:, :r] * np.sqrt(S[:r])
    return np.concatenate([B1.ravel(), B2.ravel()])


def _refit_second_layer(weights, X_eps, Y, activation) -> np.ndarray:
    """Exact minimisation over :math:`W_2` for fixed :math:`W_1` (flattened result).

    Both losses are linear least squares in :math:`W_2` (the feature term of (2) does not involve
    it): :math:`W_2 = \\arg\\min \\|H W_2^T - Y\\|_F` with :math:`H = \\sigma(X_\\epsilon W_1^T)`, solved
    by ``numpy.linalg.lstsq`` (minimum norm when H is rank-deficient). This removes the slowest
    directions of badly conditioned cases (a near-singular :math:`W_1` makes :math:`W_2` nearly
    undetermined for L-BFGS, whose line search cannot resolve loss changes below round-off).
    """
    W1 = weights[0]
    H = nets.forward([W1, weights[1]], X_eps, activation).hidden[0]
    W2 = np.linalg.lstsq(H, Y, rcond=None)[0].T
    return np.concatenate([W1.ravel(), W2.ravel()])


def _newton_polish(grad_fn, theta, steps: int):
    """Up to ``steps`` Newton steps with a central-difference Hessian of ``grad_fn``; a step is kept
    only when it lowers the gradient norm (see :func:`minimise_lbfgs`)."""
    g = grad_fn(theta)
    for _ in range(steps):
        gnorm = np.linalg.norm(g)
        if gnorm == 0:
            break
        # central differences: truncation O(h^2) and round-off O(eps/h) balance at h ~ eps^(1/3)
        h = np.cbrt(np.finfo(float).eps) * max(1.0, float(np.max(np.abs(theta))))
        H = np.array([(grad_fn(theta + h * e) - grad_fn(theta - h * e)) / (2 * h)
                      for e in np.eye(theta.size)])
        H = 0.5 * (H + H.T)
        step = np.linalg.lstsq(H, -g, rcond=1e-12)[0]
        # backtrack: with a singular, ill-conditioned H the full step can leave the region where the
        # quadratic model holds; d/da |g(theta + a step)|^2 = -2 |g|^2 < 0 at a = 0, so some a works
        for a in 0.5 ** np.arange(0, 30):
            g_trial = grad_fn(theta + a * step)
            if np.linalg.norm(g_trial) < gnorm:
                break
        else:
            break
        theta, g = theta + a * step, g_trial
    return theta


def minimise_lbfgs(weights0, X_eps, Y, teacher_hidden=None, lam: float = 0.0,
                   activation: str = "identity", *, gtol: float = 1e-13, ftol: float = 0.0,
                   maxiter: int = 20000, maxcor: int = 30, newton_steps: int = 8) -> MinimiseResult:
    """Minimise Eq. (1) (``lam = 0``) or Eq. (2) over the 2-layer student's weights with L-BFGS,
    then polish with a few Newton steps.

    The objective is :math:`\\hat L(\\theta)/\\hat L(\\theta_0)` with :math:`\\hat L` the ST loss (2)
    (sums over samples) from :func:`theorycheck.nets.st_loss_and_grad`; ``gtol`` therefore bounds the
    largest entry of the gradient *relative to the initial loss*.

    Why the Newton polish: L-BFGS-B's line search compares loss values, so once the remaining
    decrease (about :math:`\\|g\\|^2/h`) falls below the round-off of the non-zero minimum,
    :math:`\\epsilon\\hat L^\\star`, it stops ("relative reduction of f <= factr*epsmch") with a
    gradient that can still be ~1e-5 of its start when the Hessian is badly conditioned. Newton
    steps use gradients only: the Hessian is formed by central differences of the analytic gradient
    and each step is the minimum-norm least-squares solution of :math:`H\\Delta = -g` (the
    factorisation :math:`W_2W_1` has flat directions, so H is singular), halved until it lowers
    the gradient norm. Before it, :math:`W_2` is refitted exactly for the final :math:`W_1`
    (:func:`_refit_second_layer`; both losses are linear least squares in :math:`W_2`).

    Why a rebalanced second round for the base loss: Eq. (1) for a linear student is invariant under
    :math:`(W_1, W_2) \\to (AW_1, W_2A^{-1})`, and L-BFGS can drift along these flat directions into
    very unbalanced, ill-conditioned factorisations (entries of :math:`W_1` ~ 1e2 while those of
    :math:`W_2` ~ 1e-2) where it stalls. After a first run the factorisation is replaced by the
    balanced one of the same end-to-end matrix (same loss: :func:`_balanced`) and L-BFGS is run
    again. The ST loss is not invariant
    (:math:`W_1` is pinned by its feature term), so it gets one run.

    Parameters
    ----------
    weights0 : sequence of two ndarrays, shapes (m, d_x) and (d_y, m)
    X_eps : ndarray of shape (N, d_x), noisy inputs
    Y : ndarray of shape (N, d_y), targets
    teacher_hidden : ndarray of shape (N, m) or None, teacher features on the clean inputs
    lam : float >= 0, weight of the feature term of Eq. (2)
    activation : {"identity", "relu"}, the student's hidden activation
    gtol, ftol : float, L-BFGS-B stopping tolerances (``scipy.optimize.minimize``)
    maxiter, maxcor : int, L-BFGS-B iteration cap and memory
    newton_steps : int >= 0, Newton polishing steps after L-BFGS

    Returns
    -------
    MinimiseResult
    """
    lam = check_real("lam", lam, low=0.0)
    gtol = check_real("gtol", gtol, low=0.0, low_open=True)
    ftol = check_real("ftol", ftol, low=0.0)
    maxiter = check_int("maxiter", maxiter, low=1)
    maxcor = check_int("maxcor", maxcor, low=1)
    newton_steps = check_int("newton_steps", newton_steps, low=0)
    W1, W2, X_eps, Y, T = _check_student_problem(weights0, X_eps, Y, teacher_hidden)
    shapes = (W1.shape, W2.shape)
    split = W1.size
    hidden = None if T is None else [T]

    def unpack(theta):
        return [theta[:split].reshape(shapes[0]), theta[split:].reshape(shapes[1])]

    def loss_grad(theta):
        loss, grads = nets.st_loss_and_grad(unpack(theta), X_eps, Y, hidden, lam, activation)
        return loss, np.concatenate([g.ravel() for g in grads])

    theta0 = np.concatenate([W1.ravel(), W2.ravel()])
    loss0, grad0 = loss_grad(theta0)
    if not loss0 > 0:
        raise InputError("weights0", "give a zero loss at the start: nothing to minimise")

    def objective(theta):
        loss, grad = loss_grad(theta)
        return loss / loss0, grad / loss0

    t0 = time.perf_counter()
    options = {"gtol": gtol, "ftol": ftol, "maxiter": maxiter, "maxcor": maxcor, "maxfun": 4 * maxiter}
    # the base loss of a linear student is invariant under (W1, W2) -> (A W1, W2 A^-1)
    rebalance = lam == 0 and activation == "identity"
    nit = nfev = 0
    theta = theta0
    for _ in range(2 if rebalance else 1):
        res = scipy.optimize.minimize(objective, theta, jac=True, method="L-BFGS-B", options=options)
        nit, nfev = nit + int(res.nit), nfev + int(res.nfev)
        theta = _balanced(*unpack(res.x)) if rebalance else res.x
    theta = _refit_second_layer(unpack(theta), X_eps, Y, activation)
    theta = _newton_polish(lambda th: loss_grad(th)[1], theta, newton_steps)
    wall = time.perf_counter() - t0
    weights = unpack(theta)
    loss, grad = loss_grad(theta)
    g0 = np.linalg.norm(grad0)
    grad_rel = float(np.linalg.norm(grad) / g0) if g0 > 0 else float("inf")
    cert = end_to_end_certificate(weights[1] @ weights[0], X_eps, Y)
    return MinimiseResult(tuple(w.copy() for w in weights), float(loss), float(loss0), grad_rel, cert,
                          nit, nfev, bool(res.success), str(res.message), gtol, wall)
