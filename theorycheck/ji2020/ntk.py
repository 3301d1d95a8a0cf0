"""Neural tangent kernel of the two-layer ReLU network: closed forms, the empirical kernel of a finite
network, kernel regression and linearised (kernel) gradient descent, with a memory guard.

Network and parameterisation
----------------------------
The student of Ji & Zhu (2020) is a wide network in the NTK regime. Here it is the two-layer,
bias-free ReLU network in **NTK parameterisation**

.. math:: f(x; W, a) = \\frac{1}{\\sqrt m}\\sum_{r=1}^m a_r\\,\\mathrm{relu}(w_r^\\top x),\\qquad
          w_r\\sim\\mathcal N(0,\\sigma_w^2 I_d),\\ a_r\\sim\\mathcal N(0,1),

trained by gradient descent on :math:`(W, a)` with one step size :math:`\\eta`. The toolkit's one
network code, :mod:`theorycheck.nets`, stores the same function in *standard* form,
``weights = [W, W2]`` with ``W`` of shape (m, d) and ``W2 = a[None, :] / sqrt(m)`` of shape (1, m).
Gradient descent on ``a`` with step :math:`\\eta` moves ``W2`` by
:math:`-\\eta\\,\\partial\\mathcal L/\\partial a/\\sqrt m = -(\\eta/m)\\,\\partial\\mathcal L/\\partial W_2`, so
:func:`ntk_gradient_descent` feeds :func:`theorycheck.train.sgd` the gradients
``[dL/dW, dL/dW2 / m]`` with the single step size :math:`\\eta`: the 1/sqrt(m) of the NTK
parameterisation becomes a 1/m learning-rate factor on the second layer.

A bias is supported by augmenting the input, :math:`\\tilde x = (x, \\beta)` (:func:`augment_bias`), i.e.
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

Memory
------
Every function that allocates an :math:`n_1\\times n_2` matrix first calls
:func:`check_kernel_memory`, which refuses (``InputError``) anything above ``memory_budget`` bytes
(default :data:`MEMORY_BUDGET_BYTES`) *before* allocating. Closed-form kernels are computed in row
blocks, so their temporaries stay below :data:`BLOCK_BYTES` whatever the output size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg

from .. import nets
from ..errors import InputError, check_choice, check_int, check_real
from ..train import sgd

__all__ = ["MEMORY_BUDGET_BYTES", "BLOCK_BYTES", "LAYERS", "check_kernel_memory", "augment_bias",
           "arccos_kernel", "relu_ntk", "relu_ntk_diag", "init_ntk_network", "ntk_readout", "ntk_forward",
           "ntk_gradient_descent", "ntk_features", "empirical_ntk", "empirical_ntk_sampling_error", "KernelFit", "kernel_regression", "largest_eigenvalue",
           "KernelGD", "kernel_gradient_descent", "unit_sphere"]

#: Largest kernel (or activation) matrix, in bytes, that any function here will allocate (2 GiB).
#: Pass ``memory_budget=`` to change it per call.
MEMORY_BUDGET_BYTES = 2 * 1024 ** 3

#: Target size of the temporaries of one row block of a closed-form kernel (64 MiB).
BLOCK_BYTES = 64 * 1024 ** 2

#: Which layers are trained: both, the first (``W``, ``a`` fixed) or the second (``a``, ``W`` fixed).
LAYERS = ("both", "first", "second")

_TEMPS_PER_ENTRY = 6  # float64 temporaries per kernel entry inside one block (u, theta, sin, ...)


def check_kernel_memory(n_rows: int, n_cols: int, *, n_arrays: int = 1, memory_budget=None,
                        what: str = "kernel") -> int:
    """Refuse an allocation of ``n_arrays`` float64 matrices of shape (n_rows, n_cols) above budget.

    Parameters
    ----------
    n_rows, n_cols : int
    n_arrays : int, number of such matrices allocated together
    memory_budget : int or None, bytes (default :data:`MEMORY_BUDGET_BYTES`)
    what : str, named in the error message

    Returns
    -------
    int, the bytes that will be allocated.

    Raises
    ------
    InputError
        Naming the sizes, the bytes needed and the budget, before anything is allocated.
    """
    budget = MEMORY_BUDGET_BYTES if memory_budget is None else check_int("memory_budget", memory_budget, low=1)
    need = 8 * int(n_rows) * int(n_cols) * int(n_arrays)
    if need > budget:
        raise InputError("memory_budget", f"would be exceeded: the {what} needs {n_arrays} x "
                                          f"({n_rows} x {n_cols}) float64 = {need / 2**30:.2f} GiB > "
                                          f"budget {budget / 2**30:.2f} GiB; use fewer points or raise "
                                          f"memory_budget")
    return need


def _as_points(name, X, d=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise InputError(name, f"must have shape (N, d) with N, d >= 1, got {X.shape}")
    if d is not None and X.shape[1] != d:
        raise InputError(name, f"must have {d} columns, got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise InputError(name, "must be finite (no NaN or inf)")
    return X


def _check_rng(rng) -> np.random.Generator:
    """Randomness is always explicit: a ``numpy.random.Generator``, never ``None`` or a seed."""
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng", f"must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
                                f"got {type(rng).__name__}")
    return rng


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
    rng = _check_rng(rng)
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


# -- finite networks through theorycheck.nets -------------------------------------------------------

def init_ntk_network(d: int, m: int, rng: np.random.Generator, *, sigma_w: float = 1.0,
                     antisymmetric: bool = True) -> list:
    """Initial weights of the NTK-parameterised network, in :mod:`theorycheck.nets` layout.

    With ``antisymmetric=True`` (m even) neurons come in pairs :math:`(w_r, a_r), (w_r, -a_r)`, so
    :math:`f(x; w_0)\\equiv 0` exactly and the "zero weight change" of Ji & Zhu (2020, Result 1)
    vanishes; each pair is an independent draw, so the expected NTK is unchanged.

    Parameters
    ----------
    d : int, input dimension
    m : int, width (even when antisymmetric)
    rng : numpy.random.Generator
    sigma_w : float > 0
    antisymmetric : bool

    Returns
    -------
    list ``[W, W2]``: ``W`` of shape (m, d), ``W2 = a[None, :] / sqrt(m)`` of shape (1, m).
    """
    d, m = check_int("d", d, low=1), check_int("m", m, low=1)
    sigma_w = check_real("sigma_w", sigma_w, low=0.0, low_open=True)
    rng = _check_rng(rng)
    check_kernel_memory(m, d + 1, what="network weights")
    if antisymmetric:
        if m % 2:
            raise InputError("m", f"must be even for an antisymmetric initialisation, got {m}")
        W_half = sigma_w * rng.standard_normal((m // 2, d))
        a_half = rng.standard_normal(m // 2)
        W, a = np.vstack([W_half, W_half]), np.concatenate([a_half, -a_half])
    else:
        W, a = sigma_w * rng.standard_normal((m, d)), rng.standard_normal(m)
    return [W, a[None, :] / np.sqrt(m)]


def ntk_readout(weights) -> np.ndarray:
    """The NTK-parameterisation readout :math:`a = \\sqrt m\\,W_2` of shape (m,)."""
    W2 = weights[1]
    return W2[0] * np.sqrt(W2.shape[1])


def ntk_forward(weights, X) -> np.ndarray:
    """:math:`f(x; W, a)` for each row of ``X`` (shape (N,)), via :func:`theorycheck.nets.forward`."""
    X = _as_points("X", X, weights[0].shape[1])
    return nets.forward(weights, X, "relu").out[:, 0]


def ntk_gradient_descent(weights, X, loss_and_grad_z: Callable, *, lr: float, steps: int,
                         rng: np.random.Generator, layers: str = "both"):
    """Full-batch gradient descent on the NTK-parameterised network (module docstring):
    :math:`W\\leftarrow W-\\eta\\,\\partial\\mathcal L/\\partial W`, :math:`a\\leftarrow a-\\eta\\,\\partial\\mathcal L/\\partial a`.

    Forward and backward passes are :func:`theorycheck.nets.forward` / :func:`~theorycheck.nets.backward`;
    the loop is :func:`theorycheck.train.sgd`. Gradients on ``W2`` are divided by ``m`` (the
    NTK <-> standard learning-rate map); an untrained layer gets a zero gradient.

    Parameters
    ----------
    weights : list ``[W, W2]`` (see :func:`init_ntk_network`); not modified
    X : ndarray of shape (n, d), training inputs
    loss_and_grad_z : callable z -> (float, ndarray of shape (n,))
        Loss of the output logits and its gradient, e.g. a partial of :func:`theorycheck.ji2020.kd.kd_loss_and_grad`.
    lr : float > 0, the NTK-parameterisation step size :math:`\\eta`
    steps : int >= 0
    rng : numpy.random.Generator (only consumed by ``sgd``'s shuffling, unused for full batch)
    layers : {"both", "first", "second"}

    Returns
    -------
    list ``[W, W2]`` after ``steps`` updates.
    """
    layers = check_choice("layers", layers, LAYERS)
    X = _as_points("X", X, weights[0].shape[1])
    m = weights[1].shape[1]
    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    rng = _check_rng(rng)

    def loss_and_grad(params, idx):
        fwd = nets.forward(params, X, "relu")
        loss, g = loss_and_grad_z(fwd.out[:, 0])
        gW, _ = nets.backward(params, X, fwd, np.asarray(g, dtype=np.float64)[:, None], activation="relu")
        g1 = gW[0] if layers in ("both", "first") else np.zeros_like(gW[0])
        g2 = gW[1] / m if layers in ("both", "second") else np.zeros_like(gW[1])
        return loss, [g1, g2]

    return sgd(list(weights), loss_and_grad, X.shape[0], steps=steps, lr=lr, rng=rng).params


def ntk_features(weights, X, *, layers: str = "both"):
    """Tangent features :math:`\\phi(x)=\\nabla_{(W,a)} f(x)` of the NTK parameterisation, for small nets.

    Returns
    -------
    ndarray of shape (N, m*d + m) (``"both"``), (N, m*d) (``"first"``) or (N, m) (``"second"``):
    the :math:`W` block :math:`a_r 1\\{w_r^\\top x>0\\}x/\\sqrt m` (row-major over (r, i)) then
    the :math:`a` block :math:`\\mathrm{relu}(w_r^\\top x)/\\sqrt m`.
    """
    layers = check_choice("layers", layers, LAYERS)
    W = weights[0]
    X = _as_points("X", X, W.shape[1])
    m = W.shape[0]
    check_kernel_memory(X.shape[0], m * (W.shape[1] + 1), memory_budget=None, what="tangent features")
    a = ntk_readout(weights)
    pre = X @ W.T
    parts = []
    if layers in ("both", "first"):
        parts.append(((pre > 0) * a)[:, :, None] * X[:, None, :] / np.sqrt(m))
        parts[-1] = parts[-1].reshape(X.shape[0], -1)
    if layers in ("both", "second"):
        parts.append(np.maximum(pre, 0.0) / np.sqrt(m))
    return np.hstack(parts)


def empirical_ntk(weights, X, Y=None, *, layers: str = "both", memory_budget=None) -> np.ndarray:
    """Empirical NTK :math:`\\hat\\Theta(x,x')=\\phi(x)^\\top\\phi(x')` of a finite network:

    .. math:: \\hat\\Theta(x,x')=\\frac1m\\Big[\\sum_r\\mathrm{relu}(w_r^\\top x)\\mathrm{relu}(w_r^\\top x')
              + x^\\top x'\\sum_r a_r^2\\,1\\{w_r^\\top x>0\\}1\\{w_r^\\top x'>0\\}\\Big],

    computed from the (N, m) activations without forming :math:`\\phi`. Its deviation from
    :func:`relu_ntk` is :math:`O(m^{-1/2})`.

    Parameters
    ----------
    weights : list ``[W, W2]`` in :mod:`theorycheck.nets` layout (NTK parameterisation, see module doc)
    X : ndarray of shape (n1, d)
    Y : ndarray of shape (n2, d) or None
    layers : {"both", "first", "second"}
    memory_budget : int or None, bytes

    Returns
    -------
    ndarray of shape (n1, n2)
    """
    layers = check_choice("layers", layers, LAYERS)
    W = weights[0]
    X = _as_points("X", X, W.shape[1])
    Y = X if Y is None else _as_points("Y", Y, W.shape[1])
    m = W.shape[0]
    # activations of X and Y (two arrays each) plus the output
    check_kernel_memory(X.shape[0] + Y.shape[0], m, n_arrays=2, memory_budget=memory_budget,
                        what="activations for the empirical NTK")
    check_kernel_memory(X.shape[0], Y.shape[0], memory_budget=memory_budget, what="empirical NTK")
    a = ntk_readout(weights)
    px, py = X @ W.T, Y @ W.T
    out = np.zeros((X.shape[0], Y.shape[0]))
    if layers in ("both", "second"):
        out += np.maximum(px, 0.0) @ np.maximum(py, 0.0).T / m
    if layers in ("both", "first"):
        out += (X @ Y.T) * (((px > 0) * (a * a)) @ (py > 0).T) / m
    return out


def empirical_ntk_sampling_error(weights, X, *, paired: bool = True) -> float:
    """Predicted Monte Carlo error :math:`\\sqrt{\\mathbb E\\|\\hat\\Theta-\\Theta\\|_F^2}` of :func:`empirical_ntk`
    (both layers) on ``X``, from the spread of the per-neuron kernels of the same network.

    :math:`\\hat\\Theta` is the mean of :math:`P` i.i.d. per-neuron kernels
    :math:`k_p(x,x')=\\mathrm{relu}(w_p^\\top x)\\mathrm{relu}(w_p^\\top x')+x^\\top x'\\,a_p^2 1\\{w_p^\\top x>0\\}1\\{w_p^\\top x'>0\\}`
    (:math:`P=m/2` pairs for the antisymmetric initialisation, whose two members give the same
    kernel), so :math:`\\mathbb E\\|\\hat\\Theta-\\Theta\\|_F^2=\\mathbb E\\|k_p-\\Theta\\|_F^2/P`, estimated by the
    unbiased sample variance. An analytic kernel with the wrong constant shows up as an error far
    above this prediction.

    Parameters
    ----------
    weights : list ``[W, W2]`` (NTK parameterisation, :func:`init_ntk_network` layout)
    X : ndarray of shape (n, d)
    paired : bool, the weights come from the antisymmetric initialisation (checked)

    Returns
    -------
    float
    """
    W = weights[0]
    X = _as_points("X", X, W.shape[1])
    a = ntk_readout(weights)
    m = W.shape[0]
    if paired:
        h = m // 2
        if m % 2 or not (np.array_equal(W[:h], W[h:]) and np.allclose(a[:h], -a[h:], rtol=0, atol=1e-14 * np.abs(a).max())):
            raise InputError("weights", "are not an antisymmetric pairing (W[:m/2] = W[m/2:], a[:m/2] = -a[m/2:])")
        W, a = W[:h], a[:h]
    P = W.shape[0]
    if P < 2:
        raise InputError("weights", "need at least two independent neurons to estimate a variance")
    check_kernel_memory(X.shape[0], P, n_arrays=3, what="per-neuron activations")
    pre = X @ W.T
    H, D, A = np.maximum(pre, 0.0), (pre > 0).astype(np.float64), a * a
    S = X @ X.T
    theta_hat = (H @ H.T + S * ((D * A) @ D.T)) / P
    # sum_p ||k_p||_F^2 expanded into three (n x P) reductions
    sq = (np.sum(np.sum(H * H, axis=0) ** 2) + 2.0 * np.sum(A * np.sum(H * (S @ H), axis=0))
          + np.sum(A * A * np.sum(D * ((S * S) @ D), axis=0)))
    var = (sq / P - np.sum(theta_hat ** 2)) * P / (P - 1)
    return float(np.sqrt(max(var, 0.0) / P))


# -- kernel regression and kernel (linearised) gradient descent --------------------------------------

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
    width limit when ``K`` is :func:`relu_ntk`.

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
