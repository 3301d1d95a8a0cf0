"""Data generators shared by the claims. Randomness only through an explicit Generator."""

from __future__ import annotations

import numpy as np

from .errors import check_int, check_real

__all__ = ["gaussian_inputs"]


def gaussian_inputs(N: int, d: int, sigma: float, rng: np.random.Generator, dtype=np.float64):
    """Clean inputs :math:`x_i \\sim N(0, I_d)` and input noise :math:`\\epsilon_i \\sim N(0, \\sigma^2 I_d)`
    (Hong et al. 2021, Sec. 3.2 and 5.3).

    Parameters
    ----------
    N : int, number of samples (>= 1)
    d : int, input dimension d_x (>= 1)
    sigma : float, noise standard deviation (>= 0)
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (N, d), clean inputs (rows)
    E : ndarray of shape (N, d), noise; the student sees ``X + E``
    """
    N = check_int("N_s", N, low=1)
    d = check_int("d_x", d, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    X = rng.standard_normal((N, d)).astype(dtype)
    E = (sigma * rng.standard_normal((N, d))).astype(dtype)
    return X, E
