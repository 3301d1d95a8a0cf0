r"""Independent LASSO problems on one shared design, solved with scikit-learn and checked through their
duality gaps: :class:`LassoFit` holds the solutions and diagnostics, :func:`fit_group_lassos` (given
penalties) and :func:`fit_group_lassos_cv` (penalties by cross-validation) produce it. The map from the
paper's :math:`\lambda_k` to sklearn's :math:`\alpha_k` is in :mod:`theorycheck.hong2021.lasso`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV

from ...errors import InputError, check_int, check_real
from ._checks import _check_design

__all__ = ["LassoFit", "fit_group_lassos", "fit_group_lassos_cv", "DEFAULT_TOL", "DEFAULT_MAX_ITER"]

#: Default solver settings (set explicitly, never sklearn's defaults): the coordinate-descent stop rule
#: is ``dual_gap_ <= tol * ||t||^2 / N`` (sklearn's Notes), i.e. a gap of at most ``2 tol`` relative to
#: the objective at v = 0, :math:`\|t\|^2/(2N)`.
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 100_000


@dataclass(frozen=True)
class LassoFit:
    """Solutions and diagnostics of ``k`` independent LASSO problems sharing one design ``Z``.

    Attributes
    ----------
    coef : ndarray of shape (k, d)
        Row ``j``: minimiser of :math:`\\frac{1}{2N}\\|T_{:,j} - Z v\\|^2 + \\alpha_j \\|v\\|_1`.
    alpha : ndarray of shape (k,)
        sklearn's :math:`\\alpha_j` (paper's :math:`\\lambda_j = 2N\\alpha_j`).
    dual_gap : ndarray of shape (k,)
        sklearn's ``dual_gap_`` (in the units of sklearn's objective); 0 for an all-zero target.
    gap_bound : ndarray of shape (k,)
        The solver's own stop level ``tol * ||T_{:,j}||^2 / N``.
    n_iter : ndarray of int, shape (k,)
        sklearn's ``n_iter_``.
    tol, max_iter : float, int
        The solver settings used.
    """

    coef: np.ndarray
    alpha: np.ndarray
    dual_gap: np.ndarray
    gap_bound: np.ndarray
    n_iter: np.ndarray
    tol: float
    max_iter: int

    @property
    def converged(self) -> bool:
        """Every gap is within its bound and no fit ran out of iterations."""
        return bool(np.all(self.dual_gap <= self.gap_bound) and np.all(self.n_iter < self.max_iter))

    @property
    def max_relative_gap(self) -> float:
        """Largest ``dual_gap / (||t||^2 / (2N))``: the gap relative to the objective at v = 0.

        The stop rule guarantees ``<= 2 tol`` for a converged fit.
        """
        scale = self.gap_bound / self.tol / 2.0  # ||t||^2 / (2N)
        rel = np.divide(self.dual_gap, scale, out=np.zeros_like(self.dual_gap), where=scale > 0)
        return float(rel.max(initial=0.0))


# -- solvers -------------------------------------------------------------------------------------
def fit_group_lassos(Z: np.ndarray, T: np.ndarray, alpha, *, tol: float = DEFAULT_TOL,
                     max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """Solve :math:`\\min_v \\frac{1}{2N}\\|T_{:,j} - Zv\\|^2 + \\alpha_j\\|v\\|_1` for every column j
    with :class:`sklearn.linear_model.Lasso` (coordinate descent, no intercept, one shared Gram matrix).

    Convergence is checked explicitly: each ``dual_gap_`` and ``n_iter_`` is recorded and compared with
    the solver's stop level ``tol * ||T_{:,j}||^2 / N`` (:attr:`LassoFit.converged`). sklearn's
    ``ConvergenceWarning`` is suppressed here *because* that check replaces it.

    Parameters
    ----------
    Z : ndarray of shape (N, d), the student's noisy inputs
    T : ndarray of shape (N, k), one target per column
    alpha : float or ndarray of shape (k,), each > 0
    tol : float, sklearn's ``tol`` (set explicitly)
    max_iter : int

    Returns
    -------
    LassoFit
    """
    Z, T = _check_design(Z, T)
    N, d = Z.shape
    k = T.shape[1]
    try:
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (k,)).copy()
    except (TypeError, ValueError):
        raise InputError("alpha", f"must be a number or an array of shape ({k},), got {np.shape(alpha)}") from None
    if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise InputError("alpha", f"must be finite and > 0, got {alpha}")
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    Zf = np.asfortranarray(Z)
    gram = Zf.T @ Zf
    coef = np.zeros((k, d))
    gaps = np.zeros(k)
    n_iter = np.zeros(k, dtype=int)
    bound = tol * np.sum(T * T, axis=0) / N
    for j in range(k):
        t = np.ascontiguousarray(T[:, j])
        if not np.any(t):  # an all-zero target: v = 0 is the exact minimiser
            continue
        model = Lasso(alpha=float(alpha[j]), fit_intercept=False, precompute=gram, copy_X=False,
                      tol=tol, max_iter=max_iter, selection="cyclic")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # replaced by the explicit gap check
            model.fit(Zf, t, check_input=False)
        coef[j] = model.coef_
        gaps[j] = float(model.dual_gap_)
        n_iter[j] = int(model.n_iter_)
    if not np.all(np.isfinite(coef)):
        raise FloatingPointError("LASSO returned non-finite coefficients")
    return LassoFit(coef=coef, alpha=alpha, dual_gap=gaps, gap_bound=bound, n_iter=n_iter, tol=tol,
                    max_iter=max_iter)


def fit_group_lassos_cv(Z: np.ndarray, T: np.ndarray, *, n_folds: int = 5, n_alphas: int = 50,
                        tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """As :func:`fit_group_lassos`, with each :math:`\\alpha_j` chosen by ``n_folds``-fold
    cross-validation (:class:`sklearn.linear_model.LassoCV`, unshuffled folds: samples are i.i.d.).

    The recorded gap and iteration count are those of the final refit at the chosen alpha; the path
    fits inside the CV are not gap-checked (their warnings are suppressed).

    Returns
    -------
    LassoFit
    """
    Z, T = _check_design(Z, T)
    N, d = Z.shape
    n_folds = check_int("n_folds", n_folds, low=2, high=N)
    n_alphas = check_int("n_alphas", n_alphas, low=2)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    k = T.shape[1]
    coef, alpha, gaps = np.zeros((k, d)), np.zeros(k), np.zeros(k)
    n_iter = np.zeros(k, dtype=int)
    bound = tol * np.sum(T * T, axis=0) / N
    for j in range(k):
        t = T[:, j]
        if not np.any(t):
            alpha[j] = np.inf
            continue
        model = LassoCV(alphas=n_alphas, cv=n_folds, fit_intercept=False, tol=tol, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Z, t)
        coef[j], alpha[j] = model.coef_, model.alpha_
        gaps[j], n_iter[j] = float(model.dual_gap_), int(model.n_iter_)
    return LassoFit(coef=coef, alpha=alpha, dual_gap=gaps, gap_bound=bound, n_iter=n_iter, tol=tol,
                    max_iter=max_iter)
