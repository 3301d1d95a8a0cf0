"""Closed forms for two-layer linear students (Hong et al. 2021, Sec. 3.1).

The limit identity, the test-error formulas and the mode trajectory are derived for this toolkit
(the paper's proofs are in its supplement, which was not available); each docstring shows the algebra.

Conventions (as in :mod:`theorycheck.nets`): samples are **rows**. The student's noisy inputs are
``X_eps`` of shape (N, d_x) -- the paper's :math:`X_\\epsilon` is ``X_eps.T`` (samples as columns) --
and the targets ``Y`` have shape (N, d_y) (the paper's :math:`Y` is ``Y.T``). End-to-end matrices
:math:`\\mathbf W = W_2 W_1` have the paper's shape (d_y, d_x), so a prediction is ``X_eps @ W.T``.

Every function here is a pure function of float64 arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ...errors import InputError, check_int, check_real

__all__ = ["ols_end_to_end", "min_norm_interpolator", "row_space_projector", "limit_identity",
           "gram_condition", "linear_test_error", "bayes_error_linear", "expected_error_min_norm",
           "expected_error_ols", "balanced_mode_trajectory"]


def _as_matrix(name: str, A, ndim: int = 2) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != ndim:
        raise InputError(name, f"must be a {ndim}-d array, got shape {A.shape}")
    if A.size == 0:
        raise InputError(name, f"must be non-empty, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise InputError(name, "must contain only finite numbers")
    return A


def _check_pair(X_eps, Y):
    X_eps = _as_matrix("X_eps", X_eps)
    Y = _as_matrix("Y", Y)
    if Y.shape[0] != X_eps.shape[0]:
        raise InputError("Y", f"must have {X_eps.shape[0]} rows (one per sample of X_eps), got {Y.shape[0]}")
    return X_eps, Y


def _check_student_problem(weights0, X_eps, Y, teacher_hidden=None):
    """Validate a 2-layer student problem at the public boundary: finite, non-empty float64 arrays
    ``W_1`` (m, d_x), ``W_2`` (d_y, m), ``X_eps`` (N, d_x), ``Y`` (N, d_y) and ``T`` (N, m) or None.
    Returns ``(W1, W2, X_eps, Y, T)`` as fresh float64 arrays; raises :class:`InputError` naming the
    argument otherwise."""
    if isinstance(weights0, (str, bytes)) or len(weights0) != 2:
        raise InputError("weights0", "must be (W_1, W_2)")
    W1, W2 = (np.array(_as_matrix(n, w), dtype=np.float64) for n, w in zip(("W_1", "W_2"), weights0))
    if W2.shape[1] != W1.shape[0]:
        raise InputError("weights0", f"must be (W_1, W_2) of shapes (m, d_x), (d_y, m); got {W1.shape}, "
                                     f"{W2.shape}")
    X_eps, Y = _check_pair(X_eps, Y)
    if X_eps.shape[1] != W1.shape[1]:
        raise InputError("X_eps", f"must have d_x = {W1.shape[1]} columns (those of W_1), got {X_eps.shape}")
    if Y.shape[1] != W2.shape[0]:
        raise InputError("Y", f"must have d_y = {W2.shape[0]} columns (the rows of W_2), got {Y.shape}")
    T = None
    if teacher_hidden is not None:
        T = _as_matrix("teacher_hidden", teacher_hidden)
        if T.shape != (X_eps.shape[0], W1.shape[0]):
            raise InputError("teacher_hidden", f"must have shape (N, m) = ({X_eps.shape[0]}, {W1.shape[0]}), "
                                               f"got {T.shape}")
    return W1, W2, X_eps, Y, T


def gram_condition(X_eps) -> float:
    """2-norm condition number of the data Gram matrix.

    Parameters
    ----------
    X_eps : ndarray of shape (N, d_x)

    Returns
    -------
    float
        :math:`\\kappa = s_{\\max}^2 / s_{\\min}^2` over the :math:`\\min(N, d_x)` singular values of
        ``X_eps``: the condition number of :math:`X_\\epsilon X_\\epsilon^T` (paper orientation,
        d_x x d_x) when N >= d_x, of the N x N Gram matrix when N < d_x. ``inf`` if rank-deficient.
    """
    s = np.linalg.svd(_as_matrix("X_eps", X_eps), compute_uv=False)
    return float(s[0] ** 2 / s[-1] ** 2) if s[-1] > 0 else float("inf")


def ols_end_to_end(X_eps, Y) -> np.ndarray:
    """The unique global end-to-end minimiser of Theorem 2, Hong et al. 2021 Eq. (5).

    Paper form (samples as columns): :math:`W^\\star = Y X_\\epsilon^T (X_\\epsilon X_\\epsilon^T)^{-1}`.
    In our rows convention the paper's :math:`X_\\epsilon X_\\epsilon^T` is ``X_eps.T @ X_eps``
    (d_x x d_x) and :math:`Y X_\\epsilon^T` is ``Y.T @ X_eps`` (d_y x d_x), so
    ``W* = (Y.T @ X_eps) @ inv(X_eps.T @ X_eps)``, computed as a Cholesky solve of the symmetric
    system ``(X_eps.T @ X_eps) W*.T = X_eps.T @ Y``.

    Parameters
    ----------
    X_eps : ndarray of shape (N, d_x), noisy inputs as rows; needs rank d_x (so N >= d_x)
    Y : ndarray of shape (N, d_y), clean targets

    Returns
    -------
    ndarray of shape (d_y, d_x)

    Raises
    ------
    InputError
        If ``X_eps`` does not have rank d_x (``span{x_i + eps_i} != R^{d_x}``, an assumption of
        Theorem 2): the Gram matrix is then singular and Eq. (5) is undefined.
    """
    X_eps, Y = _check_pair(X_eps, Y)
    N, d = X_eps.shape
    if N < d:
        raise InputError("X_eps", f"must have N_s >= d_x rows for Eq. (5), got N_s={N} < d_x={d}")
    gram = X_eps.T @ X_eps
    try:
        # a Cholesky failure is the numerical signature of a singular (rank-deficient) Gram matrix
        factor = scipy.linalg.cho_factor(gram, lower=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise InputError("X_eps", "must have rank d_x (span{x_i+eps_i} = R^d_x); its Gram matrix is "
                                  "singular") from exc
    if np.min(np.abs(np.diag(factor[0]))) ** 2 <= d * np.finfo(float).eps * np.trace(gram):
        raise InputError("X_eps", "must have rank d_x (span{x_i+eps_i} = R^d_x); its Gram matrix is "
                                  "numerically singular")
    return scipy.linalg.cho_solve(factor, X_eps.T @ Y, check_finite=False).T


def min_norm_interpolator(X_eps, Y) -> np.ndarray:
    """The minimum-norm interpolator :math:`Y X_\\epsilon^{+}` of the N_s < d_x regime.

    Paper form: :math:`X_\\epsilon^{+} = (X_\\epsilon^T X_\\epsilon)^{-1} X_\\epsilon^T`, the N x N
    Gram matrix being ``X_eps @ X_eps.T`` here, so ``W = Y.T @ inv(X_eps @ X_eps.T) @ X_eps``.
    For a general (possibly rank-deficient) ``X_eps`` this is the minimum-Frobenius-norm
    least-squares solution ``Y.T @ pinv(X_eps).T``, computed with an SVD; this general form is what
    is used here (it equals the formula above whenever ``X_eps`` has full row rank).

    Parameters
    ----------
    X_eps : ndarray of shape (N, d_x)
    Y : ndarray of shape (N, d_y)

    Returns
    -------
    ndarray of shape (d_y, d_x)
    """
    X_eps, Y = _check_pair(X_eps, Y)
    return (np.linalg.pinv(X_eps) @ Y).T


def row_space_projector(X_eps) -> np.ndarray:
    """Orthogonal projector :math:`\\Pi` onto the span of the samples.

    Paper form: :math:`\\Pi = X_\\epsilon (X_\\epsilon^T X_\\epsilon)^{-1} X_\\epsilon^T`, the projector
    onto :math:`\\mathrm{col}(X_\\epsilon)`; in rows convention the span of the rows of ``X_eps``.
    Computed as :math:`Q Q^T` from an SVD (numerically rank-revealing; tolerance as in
    ``numpy.linalg.matrix_rank``), which equals the paper's formula when ``X_eps`` has full row rank.

    Parameters
    ----------
    X_eps : ndarray of shape (N, d_x)

    Returns
    -------
    ndarray of shape (d_x, d_x), symmetric and idempotent
    """
    X_eps = _as_matrix("X_eps", X_eps)
    _, s, Vt = np.linalg.svd(X_eps, full_matrices=False)
    rank = int(np.sum(s > s[0] * max(X_eps.shape) * np.finfo(float).eps))
    Q = Vt[:rank].T
    return Q @ Q.T


def limit_identity(X_eps, Y, W2_inf, W1_0) -> np.ndarray:
    """Right-hand side of the exact limit identity of gradient flow (step 3 of the reconstructed proof of Theorem 1):

    .. math:: \\mathbf W(\\infty) = Y X_\\epsilon^{+} + W_2(\\infty)\\, W_1(0)\\,(I - \\Pi).

    It holds for both losses (1) and (2) whenever the flow interpolates (:math:`\\mathbf W(\\infty)
    X_\\epsilon = Y`), because :math:`W_1(t)(I-\\Pi)` is invariant along the flow.

    Parameters
    ----------
    X_eps : ndarray of shape (N, d_x)
    Y : ndarray of shape (N, d_y)
    W2_inf : ndarray of shape (d_y, m), the limiting second layer
    W1_0 : ndarray of shape (m, d_x), the initial first layer

    Returns
    -------
    ndarray of shape (d_y, d_x)
    """
    X_eps, Y = _check_pair(X_eps, Y)
    W2_inf = _as_matrix("W2_inf", W2_inf)
    W1_0 = _as_matrix("W1_0", W1_0)
    d = X_eps.shape[1]
    if W1_0.shape[1] != d or W2_inf.shape != (Y.shape[1], W1_0.shape[0]):
        raise InputError("W2_inf", f"and W1_0 must have shapes (d_y, m) and (m, d_x) = "
                                   f"({Y.shape[1]}, m), (m, {d}); got {W2_inf.shape}, {W1_0.shape}")
    frozen = W1_0 - W1_0 @ row_space_projector(X_eps)
    return min_norm_interpolator(X_eps, Y) + W2_inf @ frozen


def linear_test_error(W, B, sigma: float) -> float:
    """Exact test loss, Eq. (3), of a linear student on a linear target.

    For :math:`x \\sim N(0, I_{d})`, :math:`\\epsilon \\sim N(0, \\sigma^2 I_d)` and :math:`y = Bx`:

    .. math:: \\mathbb E\\|W(x+\\epsilon) - Bx\\|^2 = \\|W - B\\|_F^2 + \\sigma^2\\|W\\|_F^2
              = c\\,\\|W - B/c\\|_F^2 + \\sigma^2\\|B\\|_F^2/c,\\quad c = 1+\\sigma^2.

    Parameters
    ----------
    W : ndarray of shape (d_y, d_x), student end-to-end matrix
    B : ndarray of shape (d_y, d_x), target map
    sigma : float >= 0, noise standard deviation

    Returns
    -------
    float
    """
    W = _as_matrix("W", W)
    B = _as_matrix("B", B)
    if W.shape != B.shape:
        raise InputError("W", f"must have the shape of B {B.shape}, got {W.shape}")
    sigma = check_real("sigma", sigma, low=0.0)
    return float(np.sum((W - B) ** 2) + sigma ** 2 * np.sum(W ** 2))


def bayes_error_linear(B, sigma: float) -> float:
    """Bayes-optimal test error for :math:`y = Bx` seen through :math:`x+\\epsilon`:
    :math:`\\sigma^2 \\|B\\|_F^2 / (1+\\sigma^2)`, attained by :math:`W = B/(1+\\sigma^2)`.

    Parameters
    ----------
    B : ndarray of shape (d_y, d_x)
    sigma : float >= 0

    Returns
    -------
    float
    """
    B = _as_matrix("B", B)
    sigma = check_real("sigma", sigma, low=0.0)
    return float(sigma ** 2 * np.sum(B ** 2) / (1.0 + sigma ** 2))


def expected_error_min_norm(N: int, d: int, beta_sq: float, sigma: float) -> float:
    """Expected test error of the minimum-norm interpolator, N < d - 1:

    .. math:: \\mathbb E\\,\\mathcal E = \\frac{\\|\\beta\\|^2}{c}\\Big(1-\\frac Nd\\Big)
              + v\\Big(1 + \\frac{N}{d-N-1}\\Big),\\quad c = 1+\\sigma^2,\\ v = \\sigma^2\\|\\beta\\|^2/c.

    Parameters
    ----------
    N : int, number of samples, 1 <= N < d - 1
    d : int, input dimension
    beta_sq : float >= 0, :math:`\\|\\beta\\|^2` (for vector targets :math:`\\|B\\|_F^2`)
    sigma : float >= 0

    Returns
    -------
    float
    """
    d = check_int("d_x", d, low=3)
    N = check_int("N_s", N, low=1, high=d - 2)
    beta_sq = check_real("beta_sq", beta_sq, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    c = 1.0 + sigma ** 2
    v = sigma ** 2 * beta_sq / c
    return beta_sq / c * (1.0 - N / d) + v * (1.0 + N / (d - N - 1))


def expected_error_ols(N: int, d: int, beta_sq: float, sigma: float) -> float:
    """Expected test error of least squares :math:`W^\\star` (Theorem 2's limit), N > d + 1:
    :math:`v\\,(1 + d/(N-d-1))`, :math:`v = \\sigma^2\\|\\beta\\|^2/(1+\\sigma^2)`.

    Parameters
    ----------
    N : int, number of samples, N > d + 1
    d : int, input dimension
    beta_sq : float >= 0
    sigma : float >= 0

    Returns
    -------
    float
    """
    d = check_int("d_x", d, low=1)
    N = check_int("N_s", N, low=d + 2)
    beta_sq = check_real("beta_sq", beta_sq, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    v = sigma ** 2 * beta_sq / (1.0 + sigma ** 2)
    return v * (1.0 + d / (N - d - 1))


def balanced_mode_trajectory(t, s: float, u0: float):
    """Mode strength of gradient flow on the base loss (1) for whitened, aligned data.

    With :math:`X_\\epsilon^T X_\\epsilon = I` (paper orientation), :math:`Y X_\\epsilon^T = USV^T` and an
    aligned, balanced start :math:`W_1(0) = \\sqrt{u_0} R V^T`, :math:`W_2(0) = \\sqrt{u_0} U R^T`,
    the flow :math:`\\dot W = -\\nabla \\|W_2 W_1 X_\\epsilon - Y\\|_F^2` keeps
    :math:`W_2 W_1 = U\\,\\mathrm{diag}(u_k(t))V^T` with :math:`\\dot u_k = 4u_k(s_k - u_k)`, i.e.

    .. math:: u_k(t) = \\frac{s_k e^{4 s_k t}}{e^{4 s_k t} - 1 + s_k/u_0}

    (Saxe et al. 2014, rescaled for this loss).

    Parameters
    ----------
    t : float or ndarray, time(s) >= 0
    s : float > 0, singular value :math:`s_k`
    u0 : float > 0, initial mode strength

    Returns
    -------
    float or ndarray, like ``t``
    """
    s = check_real("s", s, low=0.0, low_open=True)
    u0 = check_real("u0", u0, low=0.0, low_open=True)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise InputError("t", "must be finite and >= 0")
    # divide numerator and denominator by e^{4st} so that large t never overflows
    decay = np.exp(-4.0 * s * t)
    out = s / (1.0 - decay + (s / u0) * decay)
    return float(out) if out.ndim == 0 else out
