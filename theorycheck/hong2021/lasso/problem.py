r"""The Theorem 3 teacher and its data (Hong et al. 2021, Section 5): the sparse ground truth
:math:`\beta^*`, the teacher :math:`(\widetilde W_1, \widetilde W_2)`, the pooled teacher features that
are the targets of Eq. (7), their unexplained noise levels :math:`\sigma_{e,k}` and the penalty rule
:func:`theory_alpha` (the Gaussian picture and the penalty rule of :mod:`theorycheck.hong2021.lasso`)."""

from __future__ import annotations

import numpy as np

from ... import nets
from ...errors import InputError, check_divides, check_int, check_real, check_rng
from ._checks import _array

__all__ = ["draw_sparse_beta", "theorem3_teacher", "group_teacher_vectors", "group_targets",
           "group_noise_std", "theory_alpha"]


# -- teacher and data ----------------------------------------------------------------------------
def draw_sparse_beta(d: int, s: int, rng: np.random.Generator) -> np.ndarray:
    """Ground truth of Theorem 3: :math:`\\beta^*` with i.i.d. N(0, 1) entries on its first ``s``
    coordinates and zeros elsewhere (the paper fixes only the support, "without loss of generality").

    Returns
    -------
    ndarray of shape (d,)
    """
    d = check_int("d_x", d, low=1)
    s = check_int("s", s, low=1, high=d)
    rng = check_rng(rng)
    beta = np.zeros(d)
    beta[:s] = rng.standard_normal(s)
    return beta


def theorem3_teacher(beta: np.ndarray, s: int, g: int):
    """The teacher of Hong et al. 2021, Theorem 3: :math:`m = s`, :math:`[\\widetilde W_1]_{ii} =
    \\beta^*_i` for :math:`i \\le s` (zero elsewhere), :math:`[\\widetilde W_2]_k = 1` for
    :math:`k \\le s/g`. Its output :math:`\\widetilde W_2 P \\widetilde W_1 x = \\beta^{*T}x` has zero
    test error on clean inputs (assumption (i)).

    Parameters
    ----------
    beta : ndarray of shape (d,), supported on the first ``s`` coordinates
    s : int, sparsity and hidden width m
    g : int, group size; must divide ``s``

    Returns
    -------
    W1_teacher : ndarray of shape (s, d)
    W2_teacher : ndarray of shape (1, s // g)
    """
    beta = _array("beta", beta, 1)
    d = beta.size
    s = check_int("s", s, low=1, high=d)
    g = check_divides("g", g, "s", s)
    if np.any(beta[s:] != 0):
        raise InputError("beta", f"must be zero outside its first s={s} coordinates")
    W1 = np.zeros((s, d))
    W1[np.arange(s), np.arange(s)] = beta[:s]
    return W1, np.ones((1, s // g))


def group_teacher_vectors(W1_teacher: np.ndarray, g: int) -> np.ndarray:
    """:math:`U = P\\widetilde W_1`, shape (m/g, d): group k's pooled teacher feature is
    :math:`u_k^T x` (identity activation). For the Theorem 3 teacher, :math:`u_k = \\beta^*_{G_k}`."""
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    g = check_divides("g", g, "m", W1_teacher.shape[0])
    return nets.pool(W1_teacher.T, g).T


def group_targets(X_clean: np.ndarray, W1_teacher: np.ndarray, g: int, activation: str = "identity"):
    """Pooled teacher features :math:`T = \\sigma(X\\widetilde W_1^T) P^T`, the targets in Eq. (7).

    Parameters
    ----------
    X_clean : ndarray of shape (N, d)
    W1_teacher : ndarray of shape (m, d)
    g : int, divides m
    activation : {"identity", "relu"}

    Returns
    -------
    ndarray of shape (N, m // g)
    """
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    X_clean = _array("X_clean", X_clean, 2)
    if X_clean.shape[1] != W1_teacher.shape[1]:
        raise InputError("X_clean", f"must have d = {W1_teacher.shape[1]} columns (those of W1_teacher), "
                                    f"got {X_clean.shape}")
    g = check_divides("g", g, "m", W1_teacher.shape[0])
    dummy_W2 = np.zeros((1, W1_teacher.shape[0]))
    H = nets.forward([W1_teacher, dummy_W2], X_clean, activation).hidden[0]
    return nets.pool(H, g)


def group_noise_std(U: np.ndarray, sigma: float) -> np.ndarray:
    """:math:`\\sigma_{e,k} = \\sigma\\|u_k\\|/\\sqrt{1+\\sigma^2}`: the standard deviation of the part of
    :math:`u_k^T x` that no function of :math:`z = x + \\epsilon` explains (x ~ N(0, I),
    eps ~ N(0, sigma^2 I)).

    Parameters
    ----------
    U : ndarray of shape (k, d), rows :math:`u_k`
    sigma : float, noise standard deviation

    Returns
    -------
    ndarray of shape (k,)
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    U = _array("U", np.atleast_2d(U), 2)
    return sigma * np.linalg.norm(U, axis=1) / np.sqrt(1.0 + sigma ** 2)


def theory_alpha(noise_std, N: int, d: int, sigma: float, kappa: float = 1.0) -> np.ndarray:
    """Penalty rule :math:`\\alpha_k = \\kappa\\sqrt{1+\\sigma^2}\\,\\sigma_{e,k}\\sqrt{2\\log d/N}`
    (sklearn units; the paper's :math:`\\lambda_k = 2N\\alpha_k`).

    Why this level: :math:`\\|Z^T e_k\\|_\\infty/N` concentrates at
    :math:`\\sqrt{1+\\sigma^2}\\,\\sigma_{e,k}\\sqrt{2\\log d/N}` (each :math:`z` column has variance
    :math:`1+\\sigma^2`), and the LASSO error bounds behind Theorem 3 need :math:`\\alpha` of this order
    (:math:`\\kappa = 2` in Bickel, Ritov & Tsybakov 2009; :math:`\\kappa = 1` the universal threshold).

    Parameters
    ----------
    noise_std : ndarray of shape (k,), :math:`\\sigma_{e,k}` (see :func:`group_noise_std`)
    N : int, samples
    d : int, input dimension (>= 2)
    sigma : float, input-noise standard deviation
    kappa : float > 0

    Returns
    -------
    ndarray of shape (k,)
    """
    N = check_int("N_s", N, low=1)
    d = check_int("d_x", d, low=2)
    sigma = check_real("sigma", sigma, low=0.0)
    sigma = check_real("sigma", sigma, high=1e150)
    kappa = check_real("kappa", kappa, low=0.0, low_open=True, high=1e150)
    noise_std = _array("noise_std", np.atleast_1d(noise_std), 1)
    if np.any(noise_std < 0):
        raise InputError("noise_std", "must be >= 0")
    return kappa * np.sqrt(1.0 + sigma ** 2) * noise_std * np.sqrt(2.0 * np.log(d) / N)
