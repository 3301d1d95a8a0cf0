"""The students of Theorem 3 with an l1 penalty (identity activation): the pooled student, which
minimises Eq. (7) + penalty over :math:`W_1` through its exact reduction to :math:`m/g` group LASSOs
(derived in the docstring of :mod:`theorycheck.hong2021.lasso`, "Reduction"), and the base student,
one LASSO on the targets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError, check_divides, check_int, check_real
from ._checks import _array
from .problem import group_noise_std, group_targets, group_teacher_vectors, theory_alpha
from .solvers import DEFAULT_MAX_ITER, DEFAULT_TOL, LassoFit, fit_group_lassos, fit_group_lassos_cv

__all__ = ["PooledStudent", "spread_over_groups", "fit_pooled_student", "fit_base_student"]


@dataclass(frozen=True)
class PooledStudent:
    """A student trained with Eq. (7) + l1 penalty (identity activation, :math:`W_2=\\widetilde W_2`).

    Attributes
    ----------
    V : ndarray of shape (m/g, d)
        Pooled first layer :math:`P W_1` (the only part of :math:`W_1` Eq. (7) sees).
    W1 : ndarray of shape (m, d)
        A minimiser of (7+) in :math:`W_1`: :math:`v_k/g` on every neuron of group k.
    w : ndarray of shape (d,)
        End-to-end predictor :math:`(\\widetilde W_2 P W_1)^T = (\\widetilde W_2 V)^T`.
    fit : LassoFit
        The per-group LASSO fits and their diagnostics.
    g : int
    """

    V: np.ndarray
    W1: np.ndarray
    w: np.ndarray
    fit: LassoFit
    g: int


def spread_over_groups(V: np.ndarray, g: int) -> np.ndarray:
    """:math:`W_1` with :math:`[W_1]_j = v_{k(j)}/g`: satisfies :math:`PW_1 = V` and
    :math:`\\|W_1\\|_1 = \\|V\\|_1`, so it minimises (7+) whenever V minimises the grouped problems.

    Parameters
    ----------
    V : ndarray of shape (m/g, d)
    g : int

    Returns
    -------
    ndarray of shape (m, d)
    """
    g = check_int("g", g, low=1)
    return np.repeat(_array("V", V, 2) / g, g, axis=0)


def fit_pooled_student(X_noisy: np.ndarray, X_clean: np.ndarray, W1_teacher: np.ndarray,
                       W2_teacher: np.ndarray, g: int, *, sigma: float | None = None,
                       penalty: str = "theory", kappa: float = 1.0, tol: float = DEFAULT_TOL,
                       max_iter: int = DEFAULT_MAX_ITER) -> PooledStudent:
    """Minimise Eq. (7) + l1 penalty over :math:`W_1` (identity activation, :math:`W_2 =
    \\widetilde W_2` frozen) through its exact reduction to :math:`m/g` group LASSOs (module docstring).

    Parameters
    ----------
    X_noisy : ndarray of shape (N, d), rows :math:`x_i + \\epsilon_i`
    X_clean : ndarray of shape (N, d), rows :math:`x_i` (the teacher's inputs)
    W1_teacher : ndarray of shape (m, d)
    W2_teacher : ndarray of shape (1, m/g)
    g : int, group size; divides m
    sigma : float, input-noise standard deviation (needed by ``penalty="theory"``)
    penalty : {"theory", "cv"}
        ``"theory"``: :func:`~theorycheck.hong2021.lasso.problem.theory_alpha` with the oracle :math:`\\sigma_{e,k}`;
        ``"cv"``: :func:`~theorycheck.hong2021.lasso.solvers.fit_group_lassos_cv`.
    kappa : float, multiplier of the theory rule
    tol, max_iter : solver settings

    Returns
    -------
    PooledStudent
    """
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    m, d = W1_teacher.shape
    g = check_divides("g", g, "m", m)
    W2_teacher = _array("W2_teacher", W2_teacher, 2)
    if W2_teacher.shape != (1, m // g):
        raise InputError("W2_teacher", f"must have shape (1, {m // g}), got {W2_teacher.shape}")
    Z = _array("X_noisy", X_noisy, 2)
    X_clean = _array("X_clean", X_clean, 2)
    if Z.shape != X_clean.shape or Z.shape[1] != d:
        raise InputError("X_noisy", f"and X_clean must both have shape (N, {d}), got {Z.shape}, "
                                    f"{np.shape(X_clean)}")
    T = group_targets(X_clean, W1_teacher, g, "identity")
    if penalty == "theory":
        if sigma is None:
            raise InputError("sigma", "is needed by the theory penalty")
        sigma = check_real("sigma", sigma, low=0.0, low_open=True)
        noise = group_noise_std(group_teacher_vectors(W1_teacher, g), sigma)
        alpha = theory_alpha(noise, Z.shape[0], d, sigma, kappa)
        alpha = np.where(noise > 0, alpha, 1.0)  # zero groups have zero targets: alpha is unused
        fit = fit_group_lassos(Z, T, alpha, tol=tol, max_iter=max_iter)
    elif penalty == "cv":
        fit = fit_group_lassos_cv(Z, T, tol=tol, max_iter=max_iter)
    else:
        raise InputError("penalty", f"must be one of theory, cv; got {penalty!r}")
    V = fit.coef
    return PooledStudent(V=V, W1=spread_over_groups(V, g), w=(W2_teacher @ V)[0], fit=fit, g=g)


def fit_base_student(X_noisy: np.ndarray, y: np.ndarray, alpha: float, *, tol: float = DEFAULT_TOL,
                     max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """The base student with the same l1 penalty: LASSO on the targets only,
    :math:`\\min_w \\frac{1}{2N}\\|y - Zw\\|^2 + \\alpha\\|w\\|_1` (Eq. (1) + penalty, linear model).

    For the Theorem 3 teacher with :math:`g = s` this is the pooled student itself (one group whose
    target is :math:`\\beta^{*T}x = y`).

    Parameters
    ----------
    X_noisy : ndarray of shape (N, d)
    y : ndarray of shape (N,)
    alpha : float > 0 (sklearn units)

    Returns
    -------
    LassoFit with one row
    """
    return fit_group_lassos(X_noisy, np.asarray(y, dtype=np.float64).reshape(-1, 1), alpha, tol=tol,
                            max_iter=max_iter)
