"""Closed-form (infinite-width) kernels of the two-layer ReLU network: the arc-cosine kernels of
degree 0 and 1 and the neural tangent kernel, computed in row blocks.

The network is the two-layer, bias-free ReLU network in NTK parameterisation of
:mod:`theorycheck.ji2020.ntk.network`,

.. math:: f(x; W, a) = \\frac{1}{\\sqrt m}\\sum_{r=1}^m a_r\\,\\mathrm{relu}(w_r^\\top x),\\qquad
          w_r\\sim\\mathcal N(0,\\sigma_w^2 I_d),\\ a_r\\sim\\mathcal N(0,1).

A bias is supported by augmenting the input, :math:`\\tilde x = (x, \\beta)`
(:func:`~theorycheck.ji2020.ntk.inputs.augment_bias`), i.e.
:math:`b_r = \\beta\\,w_{r,d+1}\\sim\\mathcal N(0,\\sigma_w^2\\beta^2)`, for the closed form and the
network alike. Without a bias the kernel on the sphere has zero eigenvalues for odd spherical
harmonic degrees >= 3 (Bietti & Mairal 2019), which is why the checks use kernel-machine teachers.

Closed forms (Cho & Saul 2009; Jacot et al. 2018), with
:math:`u = x^\\top x'/(\\|x\\|\\|x'\\|)` and :math:`\\theta=\\arccos u`:

.. math::
    \\Theta_{\\rm second}(x,x') = \\sigma_w^2\\frac{\\|x\\|\\|x'\\|}{2\\pi}\\big(\\sin\\theta+(\\pi-\\theta)\\cos\\theta\\big),
    \\qquad
    \\Theta_{\\rm first}(x,x') = x^\\top x'\\,\\frac{\\pi-\\theta}{2\\pi},
    \\qquad \\Theta_{\\rm both} = \\Theta_{\\rm first}+\\Theta_{\\rm second}.

This is half the Arora et al./Jacot convention (:math:`c_\\sigma = 2`); rescaling a kernel leaves
ridgeless predictions and angles unchanged and only rescales gradient-descent time.

Every kernel here refuses an output above the memory budget before allocating it
(:func:`~theorycheck.ji2020.ntk.memory.check_kernel_memory`) and is computed in row blocks whose
temporaries stay below :data:`BLOCK_BYTES`.
"""

from __future__ import annotations

import numpy as np

from ...errors import check_choice, check_real
from .inputs import _as_points
from .memory import check_kernel_memory

__all__ = ["BLOCK_BYTES", "LAYERS", "arccos_kernel", "relu_ntk", "relu_ntk_diag"]


#: Target size of the temporaries of one row block of a closed-form kernel (64 MiB).
BLOCK_BYTES = 64 * 1024 ** 2

#: Which layers are trained: both, the first (``W``, ``a`` fixed) or the second (``a``, ``W`` fixed).
LAYERS = ("both", "first", "second")

_TEMPS_PER_ENTRY = 6  # float64 temporaries per kernel entry inside one block (u, theta, sin, ...)


def _norms_and_cos(X, Y):
    """Row norms and the clipped cosine matrix; a zero-norm row gets cos = 0 (its kernel terms
    carry a factor of its norm and vanish whatever the angle)."""
    nx = np.linalg.norm(X, axis=1)
    ny = np.linalg.norm(Y, axis=1)
    dots = X @ Y.T
    denom = np.outer(nx, ny)
    cos = np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
    return nx, ny, dots, _clip_cos(cos)


def _clip_cos(u):
    """Rounding can push :math:`x^\\top x/\\|x\\|^2` past 1; arccos needs [-1, 1]."""
    return np.clip(u, -1.0, 1.0)


def _blocked(X, Y, fn, memory_budget, what, diag=None):
    """Evaluate ``fn(X_block, Y)`` over row blocks of X into one preallocated (n1, n2) matrix.

    ``Y is None`` means the Gram matrix of X: the result is symmetrised and its diagonal set to
    ``diag`` (the exact :math:`\\theta=0` value). This matters: rounding leaves :math:`u=x^\\top x/\\|x\\|^2`
    a few ulps below 1, and :math:`\\arccos` turns that into :math:`\\theta\\approx\\sqrt{2\\cdot 4\\epsilon}\\approx 4\\cdot10^{-8}`,
    i.e. a spurious :math:`-10^{-8}` on the diagonal, larger than the usual 1e-10 jitter.
    """
    gram = Y is None
    Y = X if gram else Y
    n1, n2 = X.shape[0], Y.shape[0]
    check_kernel_memory(n1, n2, memory_budget=memory_budget, what=what)
    out = np.empty((n1, n2))
    rows = max(1, BLOCK_BYTES // (8 * _TEMPS_PER_ENTRY * max(n2, 1)))
    for s in range(0, n1, rows):
        out[s:s + rows] = fn(X[s:s + rows], Y)
    if gram:
        out += out.T  # ufuncs buffer overlapping operands, so this in-place sum is safe
        out *= 0.5
        np.fill_diagonal(out, diag)
    return out


def arccos_kernel(X, Y=None, *, order: int, memory_budget=None) -> np.ndarray:
    """Arc-cosine kernels of Cho & Saul (2009), degree 0 and 1:

    .. math:: k_0 = 1-\\frac{\\theta}{\\pi},\\qquad
              k_1 = \\frac{\\|x\\|\\|x'\\|}{\\pi}\\big(\\sin\\theta+(\\pi-\\theta)\\cos\\theta\\big),

    so that with :math:`w\\sim\\mathcal N(0,I)`: :math:`\\mathbb E[1\\{w^\\top x>0\\}1\\{w^\\top x'>0\\}]=k_0/2`
    and :math:`\\mathbb E[\\mathrm{relu}(w^\\top x)\\mathrm{relu}(w^\\top x')]=k_1/2`.

    Parameters
    ----------
    X : ndarray of shape (n1, d)
    Y : ndarray of shape (n2, d) or None (``Y = X``)
    order : {0, 1}
    memory_budget : int or None, bytes

    Returns
    -------
    ndarray of shape (n1, n2)
    """
    order = check_choice("order", order, (0, 1))
    X = _as_points("X", X)
    Y = None if Y is None else _as_points("Y", Y, X.shape[1])

    def block(Xb, Y):
        nx, ny, _, cos = _norms_and_cos(Xb, Y)
        theta = np.arccos(cos)
        if order == 0:
            return 1.0 - theta / np.pi
        return np.outer(nx, ny) / np.pi * (np.sqrt(1.0 - cos * cos) + (np.pi - theta) * cos)

    diag = np.ones(X.shape[0]) if order == 0 else np.sum(X * X, axis=1)
    return _blocked(X, Y, block, memory_budget, f"arc-cosine kernel k_{order}", diag=diag)


def relu_ntk(X, Y=None, *, layers: str = "both", sigma_w: float = 1.0, memory_budget=None) -> np.ndarray:
    """Infinite-width NTK of :math:`f=\\frac1{\\sqrt m}\\sum_r a_r\\mathrm{relu}(w_r^\\top x)` (module docstring).

    .. math:: \\Theta_{\\rm both}(x,x') = \\underbrace{\\tfrac{\\sigma_w^2}{2}k_1(x,x')}_{\\text{from }a}
              + \\underbrace{x^\\top x'\\,\\tfrac{1}{2}k_0(x,x')}_{\\text{from }W}.

    The first-layer term is written with :math:`\\sigma_w`-free :math:`x^\\top x'` because
    :math:`\\mathbb E[a_r^2]=1` and the indicator's law does not depend on the scale of :math:`w`.

    Parameters
    ----------
    X : ndarray of shape (n1, d)
    Y : ndarray of shape (n2, d) or None (``Y = X``: the Gram matrix, exactly symmetric, with the
        exact diagonal :func:`relu_ntk_diag`)
    layers : {"both", "first", "second"}, which layers are trained
    sigma_w : float > 0, standard deviation of the first-layer weights
    memory_budget : int or None, bytes

    Returns
    -------
    ndarray of shape (n1, n2)

    Notes
    -----
    On the unit sphere with :math:`\\sigma_w=1`: :math:`\\Theta_{\\rm both}(x,x)=1`,
    :math:`\\Theta_{\\rm both}(x,-x)=0`.
    """
    layers = check_choice("layers", layers, LAYERS)
    sigma_w = check_real("sigma_w", sigma_w, low=0.0, low_open=True)
    X = _as_points("X", X)
    Y = None if Y is None else _as_points("Y", Y, X.shape[1])

    def block(Xb, Y):
        nx, ny, dots, cos = _norms_and_cos(Xb, Y)
        theta = np.arccos(cos)
        out = np.zeros_like(dots)
        if layers in ("both", "second"):
            out += sigma_w ** 2 * np.outer(nx, ny) / (2 * np.pi) * (np.sqrt(1.0 - cos * cos)
                                                                  + (np.pi - theta) * cos)
        if layers in ("both", "first"):
            out += dots * (np.pi - theta) / (2 * np.pi)
        return out

    return _blocked(X, Y, block, memory_budget, f"NTK ({layers} layers)",
                    diag=relu_ntk_diag(X, layers=layers, sigma_w=sigma_w))


def relu_ntk_diag(X, *, layers: str = "both", sigma_w: float = 1.0) -> np.ndarray:
    """Diagonal :math:`\\Theta(x,x)=\\|\\phi(x)\\|^2` of :func:`relu_ntk` without forming the matrix
    (:math:`\\theta=0`: second layer :math:`\\sigma_w^2\\|x\\|^2/2`, first layer :math:`\\|x\\|^2/2`).

    Parameters
    ----------
    X : ndarray of shape (n, d)

    Returns
    -------
    ndarray of shape (n,)
    """
    layers = check_choice("layers", layers, LAYERS)
    sigma_w = check_real("sigma_w", sigma_w, low=0.0, low_open=True)
    sq = np.sum(_as_points("X", X) ** 2, axis=1)
    coef = {"both": sigma_w ** 2 / 2 + 0.5, "first": 0.5, "second": sigma_w ** 2 / 2}[layers]
    return coef * sq
