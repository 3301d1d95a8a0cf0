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

__all__ = ["LogLogFit", "loglog_fit", "loglog_slope", "spearman", "mean_std", "paired", "Interval",
           "t_interval", "bootstrap_interval", "binomial_interval", "decide", "seeds_needed", "level_per_look",
           "judge"]


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


def _guarded(fn):
    """Run a statistic so that it raises :class:`InputError` when its inputs are too large for
    float64 (an overflow inside the sums) or its result is not finite, never returning inf or NaN."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                out = fn(*args, **kwargs)
        except FloatingPointError as exc:
            raise InputError("values", f"are too large or degenerate for {fn.__name__} in float64 ({exc})") from None
        parts = out if isinstance(out, tuple) else [getattr(out, f) for f in ("estimate", "low", "high", "slope",
                                                                                 "slope_se", "intercept")
                                                    if hasattr(out, f)] or [out]
        if not all(np.isfinite(float(v)) for v in parts if isinstance(v, (int, float, np.floating))):
            raise InputError("values", f"give a non-finite {fn.__name__} (inputs too large or degenerate)")
        return out
    return wrapper


def _finite(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise InputError(name, f"must be a non-empty array of finite numbers, got {a!r}")
    return a


@_guarded
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


@_guarded
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


@_guarded
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


@_guarded
def mean_std(values) -> tuple[float, float]:
    """Mean and population (``ddof=0``) standard deviation over seeds, shape (n,)."""
    v = _finite("values", values)
    return float(v.mean()), float(v.std())


@_guarded
def paired(a, b) -> tuple[float, float]:
    """Paired difference ``a - b`` over seeds (shape (n,) each): its mean and standard error
    (``std(ddof=1) / sqrt(n)``; 0 for a single seed)."""
    a, b = _finite("a", a), _finite("b", b)
    if a.shape != b.shape:
        raise InputError("b", f"must have the shape of a, {a.shape}; got {b.shape}")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return float(d.mean()), se


# ------------------------------------------------------------------------------------------------
# intervals and decisions (the rule of the docs page "How verdicts are decided")
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval for an effect.

    Attributes
    ----------
    estimate : float
        The point estimate (mean of the per-seed effects, or the statistic on all data).
    low, high : float
        The interval's ends.
    level : float
        Its confidence level (e.g. 0.95).
    method : str
        ``t`` (Student t on per-seed effects), ``bootstrap-BCa``, ``bootstrap-percentile`` or
        ``binomial`` (exact Clopper-Pearson).
    n : int
        The number of independent units (seeds) behind it.
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str
    n: int

    def text(self, fmt: str = ".3g") -> str:
        return (f"{self.estimate:{fmt}} [{self.low:{fmt}}, {self.high:{fmt}}] "
                f"({100 * self.level:.4g}% {self.method}, n={self.n})")


def _level(level: float) -> float:
    if not 0.5 <= float(level) < 1.0:
        raise InputError("level", f"must be in [0.5, 1), got {level!r}")
    return float(level)


@_guarded
def t_interval(values, level: float = 0.95) -> Interval:
    """Student-t interval for the mean of per-seed effects (shape (n,), n >= 2), e.g. paired
    differences between two arms that share data and initialisation (``scipy.stats.t``)."""
    v = _finite("values", values).ravel()
    level = _level(level)
    if v.size < 2:
        raise InputError("values", f"needs at least 2 seeds for an interval, got {v.size}")
    mean, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    half = float(_st.t.ppf(0.5 + level / 2, v.size - 1)) * se
    return Interval(mean, mean - half, mean + half, level, "t", int(v.size))


@_guarded
def bootstrap_interval(values, rng: np.random.Generator, statistic=np.mean, level: float = 0.95,
                       n_resamples: int = 4999) -> Interval:
    """Bootstrap interval (BCa; percentile when BCa is undefined, e.g. all values equal) of
    ``statistic`` over seeds, for ratios and rank statistics (``scipy.stats.bootstrap``).

    Parameters
    ----------
    values : array of shape (n,) or a tuple of such arrays (paired samples resampled together)
    rng : numpy.random.Generator
        Drives the resampling (the same generator gives the same interval).
    statistic : callable
        ``statistic(*samples) -> float``.
    """
    samples = values if isinstance(values, tuple) else (values,)
    samples = tuple(_finite("values", x).ravel() for x in samples)
    n = samples[0].size
    if n < 2 or any(x.size != n for x in samples):
        raise InputError("values", "needs at least 2 seeds, the same number in every sample")
    level = _level(level)
    point = float(statistic(*samples))
    if all(np.all(x == x[0]) for x in samples):
        return Interval(point, point, point, level, "bootstrap-degenerate", n)
    method = "BCa"
    try:
        with np.errstate(all="ignore"):
            res = _st.bootstrap(samples, statistic, paired=True, vectorized=False, confidence_level=level,
                                n_resamples=n_resamples, method="BCa", random_state=rng)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("BCa undefined")
    except (ValueError, FloatingPointError):
        method = "percentile"
        with np.errstate(all="ignore"):
            res = _st.bootstrap(samples, statistic, paired=True, vectorized=False, confidence_level=level,
                                n_resamples=n_resamples, method="percentile", random_state=rng)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Interval(point, low, high, level, f"bootstrap-{method}", n)


@_guarded
def binomial_interval(k: int, n: int, level: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval for a proportion ``k / n`` (``scipy.stats.binomtest``)."""
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise InputError("k, n", f"must satisfy 0 <= k <= n, n >= 1; got k={k}, n={n}")
    level = _level(level)
    ci = _st.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Interval(k / n, float(ci.low), float(ci.high), level, "binomial", n)


def decide(interval: Interval, threshold: float, side: str) -> str:
    """PASS when the whole interval lies on the claim's ``side`` of ``threshold`` (``"above"`` or
    ``"below"``), FAIL when it lies wholly on the other side, INCONCLUSIVE otherwise."""
    if side not in ("above", "below"):
        raise InputError("side", f"must be 'above' or 'below', got {side!r}")
    above, below = interval.low > threshold, interval.high < threshold
    if side == "above":
        return "PASS" if above else "FAIL" if below else "INCONCLUSIVE"
    return "PASS" if below else "FAIL" if above else "INCONCLUSIVE"


def seeds_needed(values, threshold: float, level: float = 0.95, cap: int = 10_000) -> int | None:
    """Seeds a t interval would need, at the observed spread, to lie clear of ``threshold``:
    the smallest n with ``t_{n-1} * sd / sqrt(n) < |mean - threshold|``; ``None`` when the mean is on
    the threshold or more than ``cap`` seeds would be needed (a power estimate, not a promise)."""
    v = _finite("values", values).ravel()
    gap = abs(float(v.mean()) - threshold)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if gap == 0:
        return None
    if sd == 0:
        return 2
    n = max(2, int((1.96 * sd / gap) ** 2))
    while n <= cap:
        if float(_st.t.ppf(0.5 + _level(level) / 2, n - 1)) * sd / np.sqrt(n) < gap:
            return n
        n = int(n * 1.1) + 1
    return None


def level_per_look(level: float, looks: int) -> float:
    """Confidence level of each of ``looks`` interim decisions so that the chance of any wrong
    decision stays at most ``1 - level`` (Bonferroni: the error rate is split evenly over the looks)."""
    looks = int(looks)
    if looks < 1:
        raise InputError("looks", f"must be >= 1, got {looks}")
    return 1.0 - (1.0 - _level(level)) / looks


def judge(effect: str, interval: Interval, threshold: float, side: str, values=None,
          fmt: str = ".3g") -> tuple[str, str]:
    """An empirical criterion's ``(status, sentence)``: the effect, its interval, the claim's side of
    the threshold, and, when INCONCLUSIVE and the per-seed ``values`` are given, the seeds an interval
    would need at the observed spread."""
    status = decide(interval, threshold, side)
    text = f"{effect}: {interval.text(fmt)}; the claim needs it {side} {threshold:{fmt}}: {status}"
    if status == "INCONCLUSIVE" and values is not None and interval.method == "t":
        need = seeds_needed(values, threshold, interval.level)
        text += (f" (about {need} seeds would decide it at this spread)" if need else
                 " (the mean sits on the threshold: no number of seeds would decide it)")
    return status, text
