"""Closed-form test errors of Theorem 3's setting (x ~ N(0, I), eps ~ N(0, sigma^2 I)): the optimal
(Bayes) error and the exact error of any linear student."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_real
from ._checks import _array

__all__ = ["optimal_test_error", "linear_test_error"]


# -- closed-form test errors ----------------------------------------------------------------------
def optimal_test_error(beta: np.ndarray, sigma: float) -> float:
    """Bayes error for :math:`y = \\beta^T x` from :math:`z = x + \\epsilon`, :math:`x\\sim N(0,I)`,
    :math:`\\epsilon \\sim N(0,\\sigma^2 I)`: :math:`\\sigma^2\\|\\beta\\|^2/(1+\\sigma^2)`
    (Hong et al. 2021, below Theorem 3: "the optimal test error").

    Parameters
    ----------
    beta : ndarray of shape (d,)
    sigma : float >= 0
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    beta = _array("beta", beta, 1)
    return float(sigma ** 2 / (1.0 + sigma ** 2) * np.dot(beta, beta))


def linear_test_error(w: np.ndarray, beta: np.ndarray, sigma: float) -> float:
    """Exact test error of a linear student, Eq. (3)/(8) form:
    :math:`\\mathbb E(w^T(x+\\epsilon) - \\beta^T x)^2 = c\\|w - \\beta/c\\|^2 + \\sigma^2\\|\\beta\\|^2/c`,
    :math:`c = 1 + \\sigma^2` (x ~ N(0, I), eps ~ N(0, sigma^2 I) independent).

    Derivation: the error is :math:`\\|w-\\beta\\|^2 + \\sigma^2\\|w\\|^2`; completing the square in w
    gives the form above.

    Parameters
    ----------
    w : ndarray of shape (d,), end-to-end student :math:`(\\widetilde W_2 P W_1)^T`
    beta : ndarray of shape (d,)
    sigma : float >= 0
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    w = _array("w", w, 1)
    beta = _array("beta", beta, 1)
    if w.shape != beta.shape:
        raise InputError("w", f"must have the shape of beta {beta.shape}, got {w.shape}")
    c = 1.0 + sigma ** 2
    diff = w - beta / c
    return float(c * np.dot(diff, diff) + optimal_test_error(beta, sigma))
