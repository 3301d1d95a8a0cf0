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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from .. import nets
from ..errors import InputError, check_int, check_real

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
    """Bound on :math:`\\|\\mathbf W - W^\\star\\|_F/\\|W^\\star\\|_F` from the end-to-end gradient (module docstring).

    Parameters
    ----------
    W : ndarray of shape (d_y, d_x), end-to-end matrix
    X_eps : ndarray of shape (N, d_x)
    Y : ndarray of shape (N, d_y)

    Returns
    -------
    float, ``inf`` if ``X_eps`` has rank < d_x
    """
    s = np.linalg.svd(X_eps, compute_uv=False)
    if len(s) < X_eps.shape[1] or s[-1] <= s[0] * max(X_eps.shape) * np.finfo(float).eps:
        return float("inf")
    kappa = (s[0] / s[-1]) ** 2
    G = 2.0 * (X_eps @ W.T - Y).T @ X_eps
    G0 = 2.0 * Y.T @ X_eps
    return float(kappa * np.linalg.norm(G) / np.linalg.norm(G0))


def minimise_lbfgs(weights0, X_eps, Y, teacher_hidden=None, lam: float = 0.0,
                   activation: str = "identity", *, gtol: float = 1e-13, ftol: float = 0.0,
                   maxiter: int = 20000, maxcor: int = 30) -> MinimiseResult:
    """Minimise Eq. (1) (``lam = 0``) or Eq. (2) over the 2-layer student's weights with L-BFGS.

    The objective is :math:`\\hat L(\\theta)/\\hat L(\\theta_0)` with :math:`\\hat L` the ST loss (2)
    (sums over samples) from :func:`theorycheck.nets.st_loss_and_grad`; ``gtol`` therefore bounds the
    largest entry of the gradient *relative to the initial loss*.

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

    Returns
    -------
    MinimiseResult
    """
    lam = check_real("lam", lam, low=0.0)
    gtol = check_real("gtol", gtol, low=0.0, low_open=True)
    ftol = check_real("ftol", ftol, low=0.0)
    maxiter = check_int("maxiter", maxiter, low=1)
    maxcor = check_int("maxcor", maxcor, low=1)
    W1, W2 = (np.array(w, dtype=np.float64) for w in weights0)
    shapes = (W1.shape, W2.shape)
    split = W1.size
    hidden = None if teacher_hidden is None else [np.asarray(teacher_hidden, dtype=np.float64)]
    X_eps = np.asarray(X_eps, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)

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
    # the vectors are tiny: threaded BLAS only adds synchronisation (and stalls on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        res = scipy.optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                      options={"gtol": gtol, "ftol": ftol, "maxiter": maxiter,
                                               "maxcor": maxcor, "maxfun": 4 * maxiter})
    wall = time.perf_counter() - t0
    weights = unpack(res.x)
    loss, grad = loss_grad(res.x)
    g0 = np.linalg.norm(grad0)
    grad_rel = float(np.linalg.norm(grad) / g0) if g0 > 0 else float("inf")
    cert = end_to_end_certificate(weights[1] @ weights[0], X_eps, Y)
    return MinimiseResult(tuple(w.copy() for w in weights), float(loss), float(loss0), grad_rel, cert,
                          int(res.nit), int(res.nfev), bool(res.success), str(res.message), gtol, wall)
