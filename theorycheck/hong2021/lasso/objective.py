"""The objective (7+) of Hong et al. 2021 (Eq. (7) plus the group-weighted l1 penalty) for any
activation, and a duality-gap certificate of a first layer for it (identity activation)."""

from __future__ import annotations

import numpy as np

from ... import nets
from ...errors import InputError, check_divides
from ._checks import _array, _check_design
from .problem import group_targets

__all__ = ["pooled_st_objective", "pooled_objective_dual_gap"]


# -- objective of Eq. (7) and a certificate for it ------------------------------------------------
def _group_penalty(lam, k: int) -> np.ndarray:
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (k,))
    if np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise InputError("lam", f"must be finite and >= 0, got {lam}")
    return lam


def pooled_st_objective(W1: np.ndarray, X_noisy: np.ndarray, X_clean: np.ndarray,
                        W1_teacher: np.ndarray, g: int, lam=0.0, activation: str = "identity") -> float:
    """Eq. (7) of Hong et al. 2021 plus the group-weighted l1 penalty (7+), for any activation:

    :math:`\\sum_i \\|P[\\sigma(W_1 z_i) - \\sigma(\\widetilde W_1 x_i)]\\|^2 + \\sum_j
    \\lambda_{k(j)}\\|[W_1]_j\\|_1` (sum over samples; the paper's units).

    Hidden features come from :func:`theorycheck.nets.forward`, pooling from
    :func:`theorycheck.nets.pool`.

    Parameters
    ----------
    W1, W1_teacher : ndarray of shape (m, d)
    X_noisy, X_clean : ndarray of shape (N, d)
    g : int, divides m
    lam : float or ndarray of shape (m/g,), per-group penalty :math:`\\lambda_k \\ge 0`
    activation : {"identity", "relu"}

    Returns
    -------
    float
    """
    W1 = _array("W1", W1, 2)
    m = W1.shape[0]
    g = check_divides("g", g, "m", m)
    if np.shape(W1_teacher) != W1.shape:
        raise InputError("W1_teacher", f"must have shape {W1.shape}, got {np.shape(W1_teacher)}")
    X_noisy = _array("X_noisy", X_noisy, 2)
    if X_noisy.shape[1] != W1.shape[1] or np.shape(X_clean) != X_noisy.shape:
        raise InputError("X_noisy", f"and X_clean must both have shape (N, {W1.shape[1]}), got "
                                    f"{X_noisy.shape}, {np.shape(X_clean)}")
    lam = _group_penalty(lam, m // g)
    dummy_W2 = np.zeros((1, m))
    H_student = nets.forward([W1, dummy_W2], X_noisy, activation).hidden[0]
    T = group_targets(X_clean, W1_teacher, g, activation)
    R = nets.pool(H_student, g) - T
    l1 = np.abs(W1).sum(axis=1).reshape(m // g, g).sum(axis=1)
    return float(np.sum(R * R) + np.dot(lam, l1))


def pooled_objective_dual_gap(W1: np.ndarray, Z: np.ndarray, T: np.ndarray, g: int, lam) -> float:
    r"""Duality gap of (7+) with identity activation at :math:`W_1`: a certified upper bound on
    :math:`F(W_1) - \min F` (paper units).

    With :math:`R = Z W_1^T P^T - T` (N, m/g), Fenchel duality for :math:`\min_W \|A(W) - T\|^2 +
    \sum_j \lambda_{k(j)}\|W_j\|_1`, :math:`A(W) = Z W^T P^T`, gives the dual function
    :math:`D(\theta) = -\langle\theta, T\rangle - \|\theta\|^2/4` on
    :math:`\{\theta : \|[A^*\theta]_j\|_\infty \le \lambda_{k(j)}\ \forall j\}`, with
    :math:`A^*\theta = P^T\theta^T Z` (m, d): every neuron of group k sees :math:`Z^T\theta_{:,k}`. The
    constraint separates over groups, so the dual point is :math:`\theta_{:,k} = 2R_{:,k}\,s_k`,
    :math:`s_k = \min(1, \lambda_k/\|Z^T 2R_{:,k}\|_\infty)` (the construction sklearn uses per
    problem). The gap :math:`F(W_1) - D(\theta)` is 0 exactly at a minimiser.

    Parameters
    ----------
    W1 : ndarray of shape (m, d)
    Z : ndarray of shape (N, d), noisy inputs
    T : ndarray of shape (N, m/g), pooled teacher features (:func:`~theorycheck.hong2021.lasso.problem.group_targets`)
    g : int
    lam : float or ndarray of shape (m/g,), each > 0

    Returns
    -------
    float >= 0 (up to round-off)
    """
    W1 = _array("W1", W1, 2)
    m = W1.shape[0]
    g = check_divides("g", g, "m", m)
    Z, T = _check_design(Z, T)
    if Z.shape[1] != W1.shape[1] or T.shape[1] != m // g:
        raise InputError("T", f"must have shape (N, m/g) = ({Z.shape[0]}, {m // g}) and Z (N, {W1.shape[1]}); "
                              f"got {T.shape}, {Z.shape}")
    lam = _group_penalty(lam, m // g)
    if np.any(lam <= 0):
        raise InputError("lam", "must be > 0 for a duality-gap certificate")
    R = nets.pool(Z @ W1.T, g) - T
    primal = float(np.sum(R * R) + np.dot(lam, np.abs(W1).sum(axis=1).reshape(m // g, g).sum(axis=1)))
    theta = 2.0 * R
    col_max = np.abs(Z.T @ theta).max(axis=0)  # ||Z^T theta_k||_inf per group, shape (m/g,)
    scale = np.minimum(1.0, np.divide(lam, col_max, out=np.ones_like(lam), where=col_max > 0))
    theta = theta * scale
    dual = float(-np.sum(theta * T) - np.sum(theta * theta) / 4.0)
    return primal - dual
