"""The linearised student in function space (Ji & Zhu 2020, Corollary 2): kernel regression, where
its training converges, and kernel gradient descent, its training; and the largest eigenvalue of a
Gram matrix, which bounds the step size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg

from ...errors import InputError, check_int, check_real
from .inputs import _as_square

__all__ = ["KernelFit", "kernel_regression", "largest_eigenvalue", "KernelGD", "kernel_gradient_descent"]


@dataclass(frozen=True)
class KernelFit:
    """Result of :func:`kernel_regression`.

    Attributes
    ----------
    coef : ndarray of shape (n,) or (n, k), :math:`\\gamma=(K+\\lambda I)^{-1}z`
    z : ndarray of shape (n,) or (n, k), the targets that were fitted
    diag_reg : float, the :math:`\\lambda` used (recorded, never implicit)
    cond : float or None, 2-norm condition number of :math:`K+\\lambda I` (``with_cond=True`` only)
    """

    coef: np.ndarray
    z: np.ndarray
    diag_reg: float
    cond: float | None

    def predict(self, K_cross) -> np.ndarray:
        """Predictions :math:`K(x, X)\\gamma` for a cross-kernel of shape (n_test, n)."""
        return np.asarray(K_cross) @ self.coef

    def weight_norm_sq(self) -> np.ndarray:
        """:math:`\\|\\Delta w\\|^2=z^\\top(K+\\lambda I)^{-1}z=\\gamma^\\top z` (per column): the squared weight
        change of the linearised student (Ji & Zhu 2020, Corollary 2), exact for the nugget kernel."""
        return np.einsum("i...,i...->...", self.coef, self.z)

    def weight_dot(self, z_other) -> np.ndarray:
        """:math:`\\Delta w\\cdot w'=\\gamma^\\top z'` where :math:`z'=\\phi(X)^\\top w'` are the outputs of
        another weight vector :math:`w'` on the training inputs (e.g. the teacher's logits)."""
        return np.asarray(z_other, dtype=np.float64) @ self.coef


def kernel_regression(K, z, *, diag_reg: float = 1e-10, with_cond: bool = False) -> KernelFit:
    """Kernel ("ridgeless") regression, the converged linearised student of Ji & Zhu (2020),
    Corollary 2: :math:`\\Delta w=\\phi(X)\\Theta^{-1}\\Delta z`, i.e. coefficients
    :math:`\\gamma=(K+\\lambda I)^{-1}z` and outputs :math:`\\Theta(x,X)\\gamma`.

    The jitter :math:`\\lambda` is treated exactly, not as an approximation: it is the kernel
    :math:`\\Theta_\\lambda(x,x')=\\Theta(x,x')+\\lambda 1[x=x']` (each point gets one extra private
    feature of norm :math:`\\sqrt\\lambda`). For that kernel the fit *is* the minimum-norm interpolant,
    :math:`\\|\\Delta w\\|^2=z^\\top(K+\\lambda I)^{-1}z`, nested fits are nested projections, and a
    new point :math:`x\\notin X` has :math:`\\|\\phi(x)\\|^2=\\Theta(x,x)+\\lambda`; so identities such as the
    risk bound hold to rounding rather than to :math:`O(\\lambda)`.

    Parameters
    ----------
    K : ndarray of shape (n, n), symmetric positive semi-definite
    z : ndarray of shape (n,) or (n, k), targets (several right-hand sides share one factorisation)
    diag_reg : float >= 0, :math:`\\lambda` (a tiny jitter; 1e-10 for a kernel with unit diagonal)
    with_cond : bool
        Also compute the condition number (an extra eigenvalue decomposition); otherwise ``cond`` is
        ``None``.

    Returns
    -------
    KernelFit

    Raises
    ------
    InputError
        If ``K + diag_reg I`` is not numerically positive definite (Cholesky fails).
    """
    K = _as_square("K", K)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[0] != K.shape[0]:
        raise InputError("z", f"must have shape ({K.shape[0]},) or ({K.shape[0]}, k), got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise InputError("z", "must be finite (no NaN or inf)")
    diag_reg = check_real("diag_reg", diag_reg, low=0.0)
    A = K + diag_reg * np.eye(K.shape[0])
    try:
        factor = linalg.cho_factor(A, lower=True, check_finite=False)
    except linalg.LinAlgError as exc:
        raise InputError("diag_reg", f"too small: K + {diag_reg:g} I is not positive definite "
                                     f"(Cholesky failed: {exc})") from exc
    coef = linalg.cho_solve(factor, z, check_finite=False)
    cond = None
    if with_cond:
        evals = linalg.eigvalsh(A, check_finite=False)
        cond = float(evals[-1] / evals[0]) if evals[0] > 0 else float("inf")
    return KernelFit(coef=coef, z=z, diag_reg=diag_reg, cond=cond)


def largest_eigenvalue(K) -> float:
    """:math:`\\lambda_{\\max}` of a symmetric matrix (LAPACK, only the top eigenvalue is computed)."""
    K = _as_square("K", K)
    n = K.shape[0]
    return float(linalg.eigh(K, eigvals_only=True, subset_by_index=[n - 1, n - 1], check_finite=False)[0])


@dataclass(frozen=True)
class KernelGD:
    """Result of :func:`kernel_gradient_descent`.

    Attributes
    ----------
    coef : ndarray of shape (n,), :math:`c` with outputs :math:`f_0(x)+K(x,X)c` anywhere
    z : ndarray of shape (n,), training outputs at the last step
    steps : int
    lr : float
    grad_norm : float, :math:`\\|\\partial\\mathcal L/\\partial z\\|` at the last step (convergence diagnostic)
    snapshots : dict step -> ndarray of shape (n,), coefficients at the requested steps
    """

    coef: np.ndarray
    z: np.ndarray
    steps: int
    lr: float
    grad_norm: float
    snapshots: dict


def kernel_gradient_descent(K, grad_z: Callable, *, lr: float, steps: int, z0=None, coef0=None,
                            snapshots=()) -> KernelGD:
    """Gradient descent of the linearised network in function space (Lee et al. 2019; Ji & Zhu 2020,
    Corollary 2): :math:`z_{k+1}=z_k-\\eta\\,K\\,\\nabla_z\\mathcal L(z_k)`, tracked through the
    coefficients :math:`c_{k+1}=c_k-\\eta\\nabla_z\\mathcal L(z_k)`, :math:`z_k=z_0+Kc_k`, so predictions
    at any other point are :math:`f_0(x)+K(x,X)c` without iterating on them.

    This is exactly the network's gradient descent (same :math:`\\eta`, same steps) with the network
    replaced by its first-order Taylor expansion when ``K`` is the empirical NTK, and the infinite-
    width limit when ``K`` is :func:`~theorycheck.ji2020.ntk.relu_ntk`.

    Parameters
    ----------
    K : ndarray of shape (n, n)
    grad_z : callable z -> ndarray of shape (n,), gradient of the (mean) loss in the outputs, e.g.
        :func:`theorycheck.ji2020.kd.kd_mean_grad_fn`
    lr : float > 0
    steps : int >= 0
    z0 : ndarray of shape (n,) or None, initial outputs (0 for the antisymmetric initialisation)
    coef0 : ndarray of shape (n,) or None, coefficients to continue from (a previous ``.coef``)
    snapshots : sequence of int, steps at which to keep a copy of the coefficients

    Returns
    -------
    KernelGD

    Raises
    ------
    FloatingPointError
        If the gradient stops being finite (step size far too large).
    """
    K = _as_square("K", K)
    n = K.shape[0]
    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    if not callable(grad_z):
        raise InputError("grad_z", f"must be a callable z -> dL/dz, got {type(grad_z).__name__}")
    keep = {check_int("snapshots", s, low=0, high=steps) for s in snapshots}
    z0 = np.zeros(n) if z0 is None else np.asarray(z0, dtype=np.float64)
    c = np.zeros(n) if coef0 is None else np.array(coef0, dtype=np.float64)
    for name, v in (("z0", z0), ("coef0", c)):
        if v.shape != (n,) or not np.all(np.isfinite(v)):
            raise InputError(name, f"must be a finite vector of shape ({n},), got shape {v.shape}")
    z = z0 + K @ c
    g = np.zeros(n)
    saved = {}
    for k in range(steps + 1):
        if k in keep:
            saved[k] = c.copy()
        g = grad_z(z)
        if k == steps:
            break
        c -= lr * g
        z = z0 + K @ c
    if not np.all(np.isfinite(c)):
        raise FloatingPointError("kernel gradient descent diverged (non-finite coefficients); lower lr")
    return KernelGD(coef=c, z=z, steps=steps, lr=lr, grad_norm=float(np.linalg.norm(g)), snapshots=saved)
