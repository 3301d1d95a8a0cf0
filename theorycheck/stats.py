"""Statistics every paper's claims use: log-log slopes, rank correlations, summaries over seeds.

Pure functions of arrays, one implementation each (the papers used to carry their own copies).
Inputs are checked at this boundary: an empty, mismatched or non-finite input raises
:class:`~theorycheck.errors.InputError` naming the argument instead of returning NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from .errors import InputError

__all__ = ["LogLogFit", "loglog_fit", "loglog_slope", "spearman", "mean_std", "paired"]


@dataclass(frozen=True)
class LogLogFit:
    """Least-squares line :math:`\\ln y = a + b \\ln x`.

    Attributes
    ----------
    slope, slope_se : float
        :math:`b` and its standard error.
    intercept, intercept_se : float
        :math:`a` (natural logarithm; :math:`e^a` is the prefactor) and its standard error.
    """

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float

    @property
    def prefactor(self) -> float:
        """:math:`e^a`: the fitted :math:`y` at :math:`x = 1`."""
        return float(np.exp(self.intercept))


def _finite(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise InputError(name, f"must be a non-empty array of finite numbers, got {a!r}")
    return a


def loglog_fit(x, y, *, floor: float = 0.0) -> LogLogFit:
    """Fit :math:`\\ln y` against :math:`\\ln x` by least squares (``scipy.stats.linregress``).

    Parameters
    ----------
    x : array of shape (n,), entries > 0
    y : array of shape (n,) or (n_rows, n); every row's points enter one common fit
        (e.g. one row per seed), entries > 0
    floor : float, default 0
        ``y`` is clipped below at ``floor`` before the logarithm (a gap that is exactly 0 at
        round-off enters as ``floor``); with 0, a non-positive ``y`` is refused.

    Returns
    -------
    LogLogFit
    """
    x = _finite("x", x)
    y = np.atleast_2d(_finite("y", y))
    if x.ndim != 1 or y.shape[1] != x.size or x.size < 2:
        raise InputError("y", f"must have shape (n,) or (rows, n) with n = len(x) >= 2, got {y.shape} "
                              f"for len(x) = {x.size}")
    if floor > 0:
        y = np.maximum(y, floor)
    if np.any(x <= 0) or np.any(y <= 0):
        raise InputError("x, y", "must be positive for a log-log fit")
    fit = _st.linregress(np.tile(np.log(x), y.shape[0]), np.log(y).ravel())
    return LogLogFit(float(fit.slope), float(fit.stderr), float(fit.intercept), float(fit.intercept_stderr))


def loglog_slope(x, y) -> float:
    """Slope of the least-squares line through :math:`(\\ln x, \\ln y)` (``numpy.polyfit``).

    Parameters
    ----------
    x, y : arrays of shape (n,), entries > 0
    """
    x, y = _finite("x", x), _finite("y", y)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise InputError("y", f"must have the shape of x, (n,) with n >= 2; got {y.shape} and {x.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise InputError("x, y", "must be positive for a log-log slope")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def spearman(x, y) -> float:
    """Spearman rank correlation of two sequences of shape (n,), average ranks for ties.

    Returns 0.0 when either sequence is constant (no ranking information) instead of NaN.
    """
    x, y = _finite("x", x), _finite("y", y)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise InputError("x", f"must be two 1-D sequences of equal length >= 2, got {x.shape}, {y.shape}")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    return float(_st.spearmanr(x, y)[0])


def mean_std(values) -> tuple[float, float]:
    """Mean and population (``ddof=0``) standard deviation over seeds, shape (n,)."""
    v = _finite("values", values)
    return float(v.mean()), float(v.std())


def paired(a, b) -> tuple[float, float]:
    """Paired difference ``a - b`` over seeds (shape (n,) each): its mean and standard error
    (``std(ddof=1) / sqrt(n)``; 0 for a single seed)."""
    a, b = _finite("a", a), _finite("b", b)
    if a.shape != b.shape:
        raise InputError("b", f"must have the shape of a, {a.shape}; got {b.shape}")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return float(d.mean()), se
