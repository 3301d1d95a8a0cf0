"""The invariant-extractor case of SoTeacher (Lemmas 3.3-3.5 and Theorem 3.6 of the paper, in the
toolkit's formalisation T1/T1' of digest §2.2, tagged [OURS]): closed-form ERM minimisers and the
Chebyshev radius.

With the invariant one-hot extractor :math:`\\phi(x_j) = e_{z_j}` and a linear head, every feature
:math:`z` gets its own free prediction :math:`q_z \\in \\Delta^K` (any point of the open simplex is a
softmax of :math:`W e_z + b`).

* ``m = 1``: the cross-entropy ERM minimiser is the per-feature label frequency
  :math:`\\hat q_z = \\hat\\pi_z` (Lemma 3.3's :math:`\\bar y_z`), see :func:`feature_label_frequencies`.
* ``m > 1`` (head variant B, averaged per-patch predictions): ERM is the maximum-likelihood estimate of
  the mixture weights, a concave problem solved by :func:`mixture_mle` (EM).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, check_int, check_real

__all__ = ["feature_label_frequencies", "t1_variance", "chebyshev_radius", "mixture_mle"]


def feature_label_frequencies(z, y, s: int, K: int):
    """Per-feature label frequencies :math:`\\hat\\pi_z = \\frac{1}{n_z}\\sum_{i: z_i = z} e_{y_i}`
    (the ERM minimiser for ``m = 1``, digest T1; Lemma 3.3/3.4 of the paper).

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
    z, y = np.asarray(z), np.asarray(y)
    if z.shape != y.shape or z.ndim != 1:
        raise InputError("z", f"must be 1-D with the shape of y {y.shape}, got {z.shape}")
    table = np.zeros((s, K))
    np.add.at(table, (z, y), 1.0)
    counts = table.sum(axis=1)
    freq = np.divide(table, counts[:, None], out=np.zeros_like(table), where=counts[:, None] > 0)
    return freq, counts


def t1_variance(label_laws) -> np.ndarray:
    """:math:`n_z\\,\\mathbb E\\|\\hat\\pi_z - \\pi_z\\|_2^2 = 1 - \\|\\pi_z\\|_2^2` (digest T1: the variance of
    a one-hot draw from :math:`\\pi_z`, summed over classes).

    Parameters
    ----------
    label_laws : ndarray of shape (s, K)

    Returns
    -------
    ndarray of shape (s,)
    """
    pis = np.asarray(label_laws)
    return 1.0 - (pis ** 2).sum(axis=1)


def chebyshev_radius(label_laws, counts, delta: float) -> float:
    """Radius :math:`\\varepsilon_\\delta` with :math:`\\Pr[\\max_z \\|\\hat\\pi_z - \\pi_z\\|_2 > \\varepsilon_\\delta]
    \\le \\delta` (Chebyshev per feature + union bound; digest T1, the analogue of the paper's Lemma 3.5):

    .. math:: \\varepsilon_\\delta = \\sqrt{\\frac1\\delta\\sum_{z: n_z > 0} \\frac{1 - \\|\\pi_z\\|^2}{n_z}} .

    Conditional on the counts :math:`n_z`, each :math:`\\hat\\pi_z` is an average of :math:`n_z` i.i.d.
    one-hot draws, so :math:`\\Pr[\\|\\hat\\pi_z-\\pi_z\\| > \\varepsilon] \\le (1-\\|\\pi_z\\|^2)/(n_z\\varepsilon^2)`;
    summing over features gives :math:`\\delta`. With :math:`n_z \\approx N/s` it is the digest's
    :math:`\\approx s/\\sqrt{N\\delta}` (failure probability polynomial in :math:`1/\\delta`, as the reviewers
    describe Lemma 3.5). Features never seen are left out (their prediction is not determined by ERM).

    Parameters
    ----------
    label_laws : ndarray of shape (s, K)
    counts : ndarray of shape (s,)
    delta : float in (0, 1)
    """
    delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    counts = np.asarray(counts, dtype=np.float64)
    seen = counts > 0
    return float(np.sqrt((t1_variance(label_laws)[seen] / counts[seen]).sum() / delta))


def mixture_mle(Z, y, s: int, K: int, *, max_iter: int = 5000, tol: float = 1e-12):
    """Maximum-likelihood mixture weights: the ERM minimiser for the invariant extractor with head
    variant B, :math:`f(x) = \\frac1m\\sum_j q_{z_j}` (digest T1').

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

    Returns
    -------
    q : ndarray of shape (s, K)
    loglik : float, :math:`\\ell(q)` (mean log-likelihood; minus the ERM cross-entropy)
    n_iter : int
    converged : bool
    """
    Z, y = np.asarray(Z), np.asarray(y)
    max_iter = check_int("max_iter", max_iter, low=1)
    N, m = Z.shape
    if y.shape != (N,):
        raise InputError("y", f"must have shape ({N},), got {y.shape}")
    # start at the per-patch label frequencies (every patch credited with its input's label)
    q, counts = feature_label_frequencies(Z.ravel(), np.repeat(y, m), s, K)
    q = np.where(counts[:, None] > 0, 0.5 * q + 0.5 / K, 1.0 / K)
    loglik, converged, it = -np.inf, False, 0
    for it in range(1, max_iter + 1):
        lik = q[Z, y[:, None]]                       # (N, m): q_{z_ij}(y_i)
        total = lik.sum(axis=1)                      # m * f_{y_i}(x_i)
        new = float(np.mean(np.log(total / m)))
        r = lik / total[:, None]                     # responsibilities, rows sum to 1
        table = np.zeros((s, K))
        np.add.at(table, (Z.ravel(), np.repeat(y, m)), r.ravel())
        mass = table.sum(axis=1, keepdims=True)
        q = np.divide(table, mass, out=np.full_like(table, 1.0 / K), where=mass > 0)
        if new - loglik < tol:
            converged = True
            break
        loglik = new
    loglik = float(np.mean(np.log(q[Z, y[:, None]].mean(axis=1))))  # at the returned q
    return q, loglik, it, converged
