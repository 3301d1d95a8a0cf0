"""Small statistics used by the SoTeacher claims: mean ± std over seeds, paired differences, rank
correlations and log-log slopes. Pure functions of arrays."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["mean_std", "paired", "spearman", "loglog_slope"]


def mean_std(values) -> tuple[float, float]:
    """Mean and (population, ``ddof=0``) standard deviation over seeds; refuses NaN."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise InputError("values", f"must be a non-empty finite array, got {v}")
    return float(v.mean()), float(v.std())


def paired(a, b) -> tuple[float, float]:
    """Paired difference ``a - b`` over seeds: its mean and standard error
    (``std(ddof=1)/sqrt(n)``; 0 for a single seed)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise InputError("values", f"must be non-empty and finite, got {d}")
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return float(d.mean()), se


def _ranks(x):
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    for v in np.unique(x):                      # average ranks of ties
        tie = x == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation of two equal-length sequences (average ranks for ties).

    Returns 0.0 when either sequence is constant (no ranking information), instead of NaN.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise InputError("x", f"must be two 1-D sequences of equal length >= 2, got {x.shape}, {y.shape}")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else 0.0


def loglog_slope(N, err) -> tuple[float, float]:
    """Least-squares slope of :math:`\\log(\\text{err})` on :math:`\\log N` and its standard error.

    Parameters
    ----------
    N : sequence of float > 0, shape (n,)
    err : ndarray of shape (n,) or (n_seeds, n); every seed's points enter the fit

    Returns
    -------
    slope, se : float
    """
    N = np.asarray(N, dtype=np.float64)
    err = np.atleast_2d(np.asarray(err, dtype=np.float64))
    if err.shape[1] != len(N) or np.any(N <= 0) or np.any(err <= 0):
        raise InputError("err", f"must be positive with {len(N)} columns, got shape {err.shape}")
    x = np.tile(np.log(N), err.shape[0])
    y = np.log(err).ravel()
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(len(y) - 2, 1)
    cov = (resid @ resid / dof) * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))
