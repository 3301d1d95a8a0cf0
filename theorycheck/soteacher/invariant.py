"""The invariant-extractor case of SoTeacher (Lemmas 3.3-3.5 and Theorem 3.6 of the paper, in the
toolkit's formalisation: the paper's Sections 3-5 were not available verbatim, so the statements below are
reconstructed to match its claims): closed-form ERM minimisers, a certificate of optimality, and the
Chebyshev radius.

With the invariant one-hot extractor :math:`\\phi(x_j) = e_{z_j}` and a linear head, every feature
:math:`z` gets its own free prediction :math:`q_z \\in \\Delta^K` (any point of the open simplex is a
softmax of :math:`W e_z + b`).

* ``m = 1``: the cross-entropy ERM minimiser is the per-feature label frequency
  :math:`\\hat q_z = \\hat\\pi_z` (Lemma 3.3's :math:`\\bar y_z`), see :func:`feature_label_frequencies`.
* ``m > 1`` (head variant B, averaged per-patch predictions): ERM is the maximum-likelihood estimate of
  the mixture weights, a concave problem solved by :func:`mixture_mle` (EM).

:func:`optimality_gap` certifies either: by concavity, the Frank-Wolfe gap of a point bounds how far its
mean log-likelihood is below the maximum.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, check_int, check_real
from ._checks import finite_array, int_array, probability_rows

__all__ = ["feature_label_frequencies", "t1_variance", "chebyshev_radius", "mixture_gradient", "optimality_gap",
           "mixture_mle"]


def feature_label_frequencies(z, y, s: int, K: int):
    """Per-feature label frequencies :math:`\\hat\\pi_z = \\frac{1}{n_z}\\sum_{i: z_i = z} e_{y_i}`
    (the ERM minimiser for ``m = 1``; the paper's Lemma 3.3/3.4).

    Parameters
    ----------
    z : ndarray of shape (N,), the feature of each (single-patch) input
    y : ndarray of shape (N,), labels
    s, K : int

    Returns
    -------
    freq : ndarray of shape (s, K); rows of unseen features are NaN-free zeros
    counts : ndarray of shape (s,), :math:`n_z`
    """
    s = check_int("s", s, low=1)
    K = check_int("K", K, low=2)
    z = int_array("z", z, ndim=1, low=0, high=s)
    y = int_array("y", y, ndim=1, low=0, high=K)
    if z.shape != y.shape:
        raise InputError("z", f"must have the shape of y {y.shape}, got {z.shape}")
    table = np.bincount(z * K + y, minlength=s * K).reshape(s, K).astype(np.float64)
    counts = table.sum(axis=1)
    freq = np.divide(table, counts[:, None], out=np.zeros_like(table), where=counts[:, None] > 0)
    return freq, counts


def t1_variance(label_laws) -> np.ndarray:
    """:math:`n_z\\,\\mathbb E\\|\\hat\\pi_z - \\pi_z\\|_2^2 = 1 - \\|\\pi_z\\|_2^2` (the variance of a one-hot
    draw from :math:`\\pi_z`, summed over classes).

    Parameters
    ----------
    label_laws : ndarray of shape (s, K)

    Returns
    -------
    ndarray of shape (s,)
    """
    pis = probability_rows("label_laws", label_laws)
    return 1.0 - (pis ** 2).sum(axis=1)


def chebyshev_radius(label_laws, counts, delta: float) -> float:
    """Radius :math:`\\varepsilon_\\delta` with :math:`\\Pr[\\max_z \\|\\hat\\pi_z - \\pi_z\\|_2 > \\varepsilon_\\delta]
    \\le \\delta` (Chebyshev per feature + union bound; the analogue of the paper's Lemma 3.5):

    .. math:: \\varepsilon_\\delta = \\sqrt{\\frac1\\delta\\sum_{z: n_z > 0} \\frac{1 - \\|\\pi_z\\|^2}{n_z}} .

    Conditional on the counts :math:`n_z`, each :math:`\\hat\\pi_z` is an average of :math:`n_z` i.i.d.
    one-hot draws, so :math:`\\Pr[\\|\\hat\\pi_z-\\pi_z\\| > \\varepsilon] \\le (1-\\|\\pi_z\\|^2)/(n_z\\varepsilon^2)`;
    summing over features gives :math:`\\delta`. With :math:`n_z \\approx N/s` it is
    :math:`\\approx s/\\sqrt{N\\delta}` (failure probability polynomial in :math:`1/\\delta`, as the reviewers
    describe Lemma 3.5). Features never seen are left out (their prediction is not determined by ERM).

    Parameters
    ----------
    label_laws : ndarray of shape (s, K)
    counts : ndarray of shape (s,)
    delta : float in (0, 1)
    """
    delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    var = t1_variance(label_laws)
    counts = finite_array("counts", counts, ndim=1)
    if counts.shape != var.shape or np.any(counts < 0):
        raise InputError("counts", f"must be {var.shape[0]} non-negative numbers (one per feature), got "
                                   f"shape {counts.shape}")
    seen = counts > 0
    return float(np.sqrt((var[seen] / counts[seen]).sum() / delta))


def _check_mixture_data(Z, y, s: int, K: int):
    s = check_int("s", s, low=1)
    K = check_int("K", K, low=2)
    Z = int_array("Z", Z, ndim=2, low=0, high=s)
    y = int_array("y", y, ndim=1, low=0, high=K)
    if y.shape != (Z.shape[0],):
        raise InputError("y", f"must have shape ({Z.shape[0]},), got {y.shape}")
    return Z, y, s, K


def mixture_gradient(q, Z, y, s: int, K: int) -> np.ndarray:
    """Gradient of the mean log-likelihood :math:`\\ell(q) = \\frac1N\\sum_i \\log\\big(\\frac1m\\sum_j
    q_{z_{ij}}(y_i)\\big)` in the mixture weights,
    :math:`g_{zk} = \\frac1N\\sum_i \\frac{\\#\\{j: z_{ij} = z\\}\\,[y_i = k]}{\\sum_j q_{z_{ij}}(y_i)}`.

    Parameters
    ----------
    q : ndarray of shape (s, K), rows on the simplex, positive wherever a training input needs them
    Z : ndarray of shape (N, m), features; y : ndarray of shape (N,), labels

    Returns
    -------
    ndarray of shape (s, K)
    """
    Z, y, s, K = _check_mixture_data(Z, y, s, K)
    q = probability_rows("q", q)
    if q.shape != (s, K):
        raise InputError("q", f"must have shape ({s}, {K}), got {q.shape}")
    N, m = Z.shape
    total = q[Z, y[:, None]].sum(axis=1)
    if np.any(total <= 0):
        raise InputError("q", "gives a training input zero likelihood (its log-likelihood is -inf)")
    g = np.bincount((Z * K + y[:, None]).ravel(), weights=np.repeat(1.0 / total, m), minlength=s * K)
    return g.reshape(s, K) / N


def optimality_gap(q, Z, y, s: int, K: int) -> float:
    """Frank-Wolfe gap :math:`\\sum_z \\big(\\max_k g_{zk} - \\sum_k q_{zk} g_{zk}\\big) \\ge 0` of the mixture
    weights ``q`` (:func:`mixture_gradient`), over the product of simplices.

    :math:`\\ell` is concave, so :math:`\\max \\ell - \\ell(q) \\le \\langle g, q' - q\\rangle` for the maximiser
    :math:`q'`, and the right side is at most this gap: the gap certifies that ``q`` is within it (in nats of
    mean cross-entropy) of the ERM minimum. It is 0 exactly at the minimiser; for ``m = 1`` and
    :math:`q = \\hat\\pi` (the label frequencies) every observed entry has :math:`g_{zk} = n_z/N`, so the gap is
    0 up to round-off (Lemma 3.3).
    """
    g = mixture_gradient(q, Z, y, s, K)
    q = np.asarray(q, dtype=np.float64)
    return float(max(0.0, (g.max(axis=1) - (q * g).sum(axis=1)).sum()))


def mixture_mle(Z, y, s: int, K: int, *, max_iter: int = 5000, tol: float = 1e-12, gap_tol: float = 0.0,
                check_every: int = 25):
    """Maximum-likelihood mixture weights: the ERM minimiser for the invariant extractor with head
    variant B, :math:`f(x) = \\frac1m\\sum_j q_{z_j}`.

    Maximises :math:`\\ell(q) = \\frac1N\\sum_i \\log\\big(\\frac1m\\sum_j q_{z_{ij}}(y_i)\\big)` over
    :math:`q \\in (\\Delta^K)^s` by EM. :math:`\\ell` is concave in :math:`q` (log of a linear map), so EM's
    fixed points are global maxima.

    Parameters
    ----------
    Z : ndarray of shape (N, m), features
    y : ndarray of shape (N,), labels
    s, K : int
    max_iter : int
    tol : float, stop when the log-likelihood gains less than ``tol`` in one step
    gap_tol : float, also stop once the certified :func:`optimality_gap` is at most ``gap_tol`` (checked
        every ``check_every`` iterations; 0: never)

    Returns
    -------
    q : ndarray of shape (s, K)
    loglik : float, :math:`\\ell(q)` (mean log-likelihood; minus the ERM cross-entropy)
    n_iter : int
    converged : bool
    """
    Z, y, s, K = _check_mixture_data(Z, y, s, K)
    max_iter = check_int("max_iter", max_iter, low=1)
    tol = check_real("tol", tol, low=0.0)
    gap_tol = check_real("gap_tol", gap_tol, low=0.0)
    check_every = check_int("check_every", check_every, low=1)
    N, m = Z.shape
    # start at the per-patch label frequencies (every patch credited with its input's label)
    q, counts = feature_label_frequencies(Z.ravel(), np.repeat(y, m), s, K)
    q = np.where(counts[:, None] > 0, 0.5 * q + 0.5 / K, 1.0 / K)
    idx = Z * K + y[:, None]                         # flat (feature, label) index of every patch, (N, m)
    cells = idx.ravel()
    loglik, converged, it = -np.inf, False, 0
    for it in range(1, max_iter + 1):
        lik = q.ravel()[idx]                         # (N, m): q_{z_ij}(y_i)
        total = lik.sum(axis=1)                      # m * f_{y_i}(x_i)
        new = float(np.mean(np.log(total / m)))
        r = lik / total[:, None]                     # responsibilities, rows sum to 1
        table = np.bincount(cells, weights=r.ravel(), minlength=s * K).reshape(s, K)
        mass = table.sum(axis=1, keepdims=True)
        q = np.divide(table, mass, out=np.full_like(table, 1.0 / K), where=mass > 0)
        if new - loglik < tol or (gap_tol > 0 and it % check_every == 0
                                   and optimality_gap(q, Z, y, s, K) <= gap_tol):
            converged = True
            break
        loglik = new
    loglik = float(np.mean(np.log(q[Z, y[:, None]].mean(axis=1))))  # at the returned q
    return q, loglik, it, converged
