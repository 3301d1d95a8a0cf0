"""Inputs of the NTK computations: points uniform on the sphere, the bias coordinate
(:func:`augment_bias`), and the checks the modules of :mod:`theorycheck.ji2020.ntk` apply to what
they are handed (point sets, generators, square matrices), each an
:class:`~theorycheck.errors.InputError` naming the argument.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_int, check_real, check_rng

__all__ = ["unit_sphere", "augment_bias"]


def _as_points(name, X, d=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise InputError(name, f"must have shape (N, d) with N, d >= 1, got {X.shape}")
    if d is not None and X.shape[1] != d:
        raise InputError(name, f"must have {d} columns, got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise InputError(name, "must be finite (no NaN or inf)")
    return X


def _as_square(name, K) -> np.ndarray:
    """A finite square float64 matrix, else :class:`InputError` naming it."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise InputError(name, f"must be a non-empty square matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise InputError(name, "must be finite (no NaN or inf)")
    return K


def unit_sphere(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform on :math:`S^{d-1}` (normalised Gaussians), shape (n, d)."""
    n, d = check_int("n", n, low=1), check_int("d", d, low=1)
    rng = check_rng(rng)
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def augment_bias(X, beta: float) -> np.ndarray:
    """:math:`\\tilde x = (x, \\beta)`: a first-layer bias :math:`b_r = \\beta w_{r,d+1}` as an extra input.

    Parameters
    ----------
    X : ndarray of shape (N, d)
    beta : float >= 0

    Returns
    -------
    ndarray of shape (N, d + 1)
    """
    X = _as_points("X", X)
    beta = check_real("beta", beta, low=0.0)
    return np.hstack([X, np.full((X.shape[0], 1), beta)])
