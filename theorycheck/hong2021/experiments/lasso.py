r"""Experiments of Hong et al. 2021, Theorem 3 (claim ``hong2021.thm3``): the pooled LASSO student of
Eq. (7) against the base LASSO student, and the sample-complexity thresholds :math:`N^*(g, s, d_x)`
read from their error curves.

Sweep cell (module level): :func:`thm3_cell`, one sample :math:`(s, d_x, N_s, \text{rep})` with every
group size g and the base student fitted on it. Its matrices are small (:math:`d_x \le` a few
hundred): a multi-threaded Gram product was measured 10-200x slower than a single-threaded one on a
loaded 2-core machine, so the claim runs it with one BLAS thread (``blas_threads=1``) and gets its
parallelism from ``--jobs`` across cells.

Analysis (pure functions of arrays): :func:`crossing_threshold`, :func:`threshold_table`,
:func:`fit_common_slope`, :func:`threshold_slopes`, :func:`mean_curves`,
:func:`threshold_statistics` and :func:`threshold_intervals`. The LASSO mathematics is :mod:`theorycheck.hong2021.lasso`.
"""

from __future__ import annotations

import numpy as np

from ...seeding import substream
from ...stats import Interval, bootstrap_interval
from .. import lasso
from ..datasets import gaussian_inputs

__all__ = ["N_BOOT", "STATISTICS", "thm3_cell", "crossing_threshold", "fit_common_slope", "threshold_table",
           "threshold_slopes", "mean_curves", "threshold_statistics", "threshold_intervals"]

#: Bootstrap resamples of the seeds for the intervals of the threshold statistics.
N_BOOT = 1999


def thm3_cell(cell: dict, rng: np.random.Generator) -> dict:
    r"""Fit the pooled student for every g and the base student on one shared sample (Hong et al.
    2021, Eq. (7) and Theorem 3).

    Paired design: every g sees the same sample, so differences between g are not sampling noise.
    The ground truth :math:`\beta^*` (d,) comes from ``substream(cell["beta_seed"])`` (one per
    (s, d, rep), shared by every N), the sample :math:`X, \epsilon` (N, d) from ``rng``. The base
    student is the LASSO on :math:`(x + \epsilon, y)`, :math:`y = \beta^{*T}x`, with the same
    penalty rule applied to the whole of :math:`\beta^*` (it equals the pooled student with g = s).

    Parameters
    ----------
    cell : dict
        ``s, d, N, sigma, beta_seed, g_values, penalty ("theory" | "cv"), kappa, tol, max_iter``.
    rng : numpy.random.Generator
        The cell's generator (the sample).

    Returns
    -------
    dict
        ``ratio``: ``str(g) -> test error / optimum`` for each g and ``"base"``;
        ``max_rel_gap`` (largest duality gap relative to the objective at 0), ``max_n_iter``,
        ``converged`` (every fit within its gap bound and below ``max_iter``).
    """
    s, d, N, sigma = cell["s"], cell["d"], cell["N"], cell["sigma"]
    beta = lasso.draw_sparse_beta(d, s, substream(cell["beta_seed"]))
    X, E = gaussian_inputs(N, d, sigma, rng)
    Z = X + E
    opt = lasso.optimal_test_error(beta, sigma)
    ratios, gaps, iters, converged = {}, [], [], True
    for g in cell["g_values"]:
        W1t, W2t = lasso.theorem3_teacher(beta, s, g)
        st = lasso.fit_pooled_student(Z, X, W1t, W2t, g, sigma=sigma, penalty=cell["penalty"],
                                      kappa=cell["kappa"], tol=cell["tol"], max_iter=cell["max_iter"])
        ratios[str(g)] = lasso.linear_test_error(st.w, beta, sigma) / opt
        gaps.append(st.fit.max_relative_gap)
        iters.append(int(st.fit.n_iter.max(initial=0)))
        converged &= st.fit.converged
    y = X @ beta
    if cell["penalty"] == "theory":
        alpha = lasso.theory_alpha(lasso.group_noise_std(beta[None, :], sigma), N, d, sigma, cell["kappa"])
        base = lasso.fit_base_student(Z, y, alpha, tol=cell["tol"], max_iter=cell["max_iter"])
    else:
        base = lasso.fit_group_lassos_cv(Z, y, tol=cell["tol"], max_iter=cell["max_iter"])
    ratios["base"] = lasso.linear_test_error(base.coef[0], beta, sigma) / opt
    gaps.append(base.max_relative_gap)
    iters.append(int(base.n_iter.max(initial=0)))
    converged &= base.converged
    return {"ratio": ratios, "max_rel_gap": max(gaps), "max_n_iter": max(iters), "converged": converged}


# -- analysis: thresholds and slopes (pure functions of arrays) ----------------------------------
def crossing_threshold(N_values, ratio, eta: float):
    """Smallest :math:`N` from which the error ratio stays within :math:`1+\\eta` on the grid.

    Between the last grid point above :math:`1+\\eta` and the next one the crossing is interpolated
    linearly in :math:`(\\log N, \\log(\\text{ratio}-1))` (the excess decays as a power of N).

    Parameters
    ----------
    N_values : ndarray of shape (n,), increasing
    ratio : ndarray of shape (n,), test error / optimal error (>= 1)
    eta : float > 0

    Returns
    -------
    N_star : float or None
        None if the ratio exceeds :math:`1+\\eta` at the largest N (not reached on the grid).
    censored_low : bool
        True if already within at the smallest N (then ``N_star = N_values[0]`` is an upper bound).
    """
    N = np.asarray(N_values, dtype=np.float64)
    excess = np.asarray(ratio, dtype=np.float64) - 1.0
    above = np.nonzero(excess > eta)[0]
    if above.size == 0:
        return float(N[0]), True
    j = int(above[-1])
    if j == N.size - 1:
        return None, False
    e_hi, e_lo = excess[j], excess[j + 1]
    if e_lo <= 0:  # exact optimum at N[j+1]: no log-interpolation possible
        return float(N[j + 1]), False
    frac = (np.log(e_hi) - np.log(eta)) / (np.log(e_hi) - np.log(e_lo))
    return float(np.exp(np.log(N[j]) + frac * (np.log(N[j + 1]) - np.log(N[j])))), False


def fit_common_slope(x, y, groups):
    """Least-squares slope b of ``y = a_group + b x`` (one intercept per group, one common slope).

    Parameters
    ----------
    x, y : ndarray of shape (n,)
    groups : sequence of hashables, length n

    Returns
    -------
    float or None
        None when no group has two distinct x values.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    labels = list(groups)
    xc, yc = np.zeros_like(x), np.zeros_like(y)
    for lab in set(labels):
        idx = np.array([i for i, l in enumerate(labels) if l == lab])
        xc[idx] = x[idx] - x[idx].mean()
        yc[idx] = y[idx] - y[idx].mean()
    sxx = float(np.dot(xc, xc))
    if sxx <= 1e-12 * max(1.0, float(np.dot(x, x))):
        return None
    return float(np.dot(xc, yc) / sxx)


def threshold_table(curves: dict, N_values, eta: float) -> list[dict]:
    """:math:`N^*` for every (s, d, g) from mean ratio curves.

    Parameters
    ----------
    curves : dict
        ``(s, d, g) -> ndarray of shape (n,)``, the ratio at each ``N_values``; ``g`` an int or
        ``"base"``.
    N_values : sequence of shape (n,), increasing
    eta : float > 0

    Returns
    -------
    list of dict
        One row per key: ``s, d, g, N_star`` (None when not reached on the grid) and
        ``censored_low`` (:func:`crossing_threshold`).
    """
    rows = []
    for (s, d, g), r in curves.items():
        n_star, low = crossing_threshold(N_values, r, eta)
        rows.append({"s": s, "d": d, "g": g, "N_star": n_star, "censored_low": low})
    return rows


def threshold_slopes(rows: list[dict], N_max: float) -> dict:
    """Fitted growth of the thresholds of :func:`threshold_table` (log-log, :func:`fit_common_slope`).

    Returns
    -------
    dict
        ``slope_g``: in g, one common slope across (s, d); ``slope_s_per_g``: ``g -> slope in s``
        (one intercept per d); ``slope_s_base``: the base student's slope in s, with censored-high
        thresholds entering as ``N_max`` (a lower bound); ``slope_logd``: exponent on :math:`\\log d`;
        ``elasticity_d``: slope of :math:`\\log N^*` against :math:`\\log d` (about
        :math:`1/\\log d` when :math:`N^* \\propto \\log d`, 1 when :math:`N^* \\propto d`); the last two
        with one intercept per (s, g).
        Rows of pooled students that are censored (not reached, or reached at the smallest N) are
        left out. Each slope is None when it cannot be fitted.
    """
    pooled = [r for r in rows if r["g"] != "base" and r["N_star"] is not None and not r["censored_low"]]
    out = {"slope_g": fit_common_slope([np.log(r["g"]) for r in pooled], [np.log(r["N_star"]) for r in pooled],
                                       [(r["s"], r["d"]) for r in pooled])}
    per_g = {}
    for g in sorted({r["g"] for r in pooled}):
        sel = [r for r in pooled if r["g"] == g]
        per_g[g] = fit_common_slope([np.log(r["s"]) for r in sel], [np.log(r["N_star"]) for r in sel],
                                    [r["d"] for r in sel])
    out["slope_s_per_g"] = per_g
    base = [r for r in rows if r["g"] == "base"]
    out["slope_s_base"] = fit_common_slope([np.log(r["s"]) for r in base],
                                           [np.log(r["N_star"] if r["N_star"] is not None else N_max)
                                            for r in base], [r["d"] for r in base])
    out["slope_logd"] = fit_common_slope([np.log(np.log(r["d"])) for r in pooled],
                                         [np.log(r["N_star"]) for r in pooled],
                                         [(r["s"], r["g"]) for r in pooled])
    out["elasticity_d"] = fit_common_slope([np.log(r["d"]) for r in pooled], [np.log(r["N_star"]) for r in pooled],
                                           [(r["s"], r["g"]) for r in pooled])
    return out


def mean_curves(ratios: dict, reps) -> dict:
    """Seed-mean ratio curves: ``ratios[(s, d, g)]`` of shape (n_N, n_seeds), averaged over the seed
    indices ``reps`` (shape (k,), repeats allowed, as in a bootstrap) -> ndarray of shape (n_N,)."""
    return {key: arr[:, reps].mean(axis=1) for key, arr in ratios.items()}


#: The threshold statistics :func:`threshold_statistics` computes, in the order of its result.
STATISTICS = ("slope_g", "max_abs_slope_s", "slope_s_base", "elasticity_d", "slope_logd")


def threshold_statistics(ratios: dict, N_values, eta: float, reps=None) -> dict:
    """The fitted growth of :math:`N^*` from the seed-mean curves over the seed indices ``reps``.

    Parameters
    ----------
    ratios : dict
        ``(s, d, g) -> ndarray of shape (n_N, n_seeds)``: test error / optimum per sample size and seed.
    N_values : sequence of shape (n_N,), increasing
    eta : float > 0
    reps : array of int, optional
        Seed indices (repeats allowed, as in a bootstrap resample); all seeds when omitted.

    Returns
    -------
    dict
        :data:`STATISTICS` -> float (NaN where the slope cannot be fitted): ``slope_g`` (exponent of
        :math:`N^*` in g), ``max_abs_slope_s`` (largest absolute exponent in s over the pooled g),
        ``slope_s_base`` (the base student's exponent in s), ``elasticity_d`` and ``slope_logd``
        (:func:`threshold_slopes`).
    """
    n_rep = next(iter(ratios.values())).shape[1]
    reps = np.arange(n_rep) if reps is None else np.asarray(reps, dtype=int)
    b = threshold_slopes(threshold_table(mean_curves(ratios, reps), N_values, eta), float(N_values[-1]))
    per = [abs(v) for v in b["slope_s_per_g"].values() if v is not None]
    out = {k: b[k] for k in ("slope_g", "slope_s_base", "elasticity_d", "slope_logd")}
    out["max_abs_slope_s"] = max(per) if per else None
    return {k: (float("nan") if out[k] is None else float(out[k])) for k in STATISTICS}


def threshold_intervals(ratios: dict, N_values, eta: float, seed: int, level: float = 0.95,
                        n_resamples: int = N_BOOT) -> dict:
    """Bootstrap intervals (BCa over seeds, :func:`theorycheck.stats.bootstrap_interval`) of every
    statistic of :func:`threshold_statistics`.

    The seeds are the independent units: a resample draws seed indices with replacement and
    recomputes the mean curves, the thresholds and the fits. Every statistic sees the same resamples
    (one generator per statistic from ``seed``), so each resample is computed once.

    Parameters
    ----------
    ratios, N_values, eta : as :func:`threshold_statistics`
    seed : int
        Seeds the resampling (the same seed gives the same intervals).
    level : float in [0.5, 1)
    n_resamples : int

    Returns
    -------
    dict
        :data:`STATISTICS` -> :class:`~theorycheck.stats.Interval`; an interval with NaN ends when the
        statistic cannot be fitted in some resample.
    """
    n_rep = next(iter(ratios.values())).shape[1]
    cache: dict = {}

    def stats_of(idx) -> dict:
        key = tuple(sorted(int(round(i)) for i in np.ravel(idx)))
        if key not in cache:
            cache[key] = threshold_statistics(ratios, N_values, eta, np.asarray(key, dtype=int))
        return cache[key]

    out = {}
    for name in STATISTICS:
        point = stats_of(np.arange(n_rep))[name]
        if not np.isfinite(point):
            out[name] = Interval(point, float("nan"), float("nan"), level, "not fitted", n_rep)
            continue
        out[name] = bootstrap_interval(np.arange(n_rep, dtype=float), np.random.default_rng(seed),
                                       statistic=lambda idx, _n=name: stats_of(idx)[_n], level=level,
                                       n_resamples=n_resamples)
    return out
