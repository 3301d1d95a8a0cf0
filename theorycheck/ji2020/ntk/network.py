"""The finite two-layer ReLU network in NTK parameterisation, through :mod:`theorycheck.nets`:
initialisation, forward pass, gradient descent, tangent features, the empirical NTK and its
predicted Monte Carlo error.

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
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ... import nets
from ...errors import InputError, check_choice, check_int, check_real, check_rng
from ...train import sgd
from .inputs import _as_points
from .kernels import LAYERS
from .memory import check_kernel_memory

__all__ = ["init_ntk_network", "ntk_readout", "ntk_forward", "ntk_gradient_descent", "ntk_features",
           "empirical_ntk", "empirical_ntk_sampling_error"]


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
    rng = check_rng(rng)
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
    rng = check_rng(rng)

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
    :func:`~theorycheck.ji2020.ntk.relu_ntk` is :math:`O(m^{-1/2})`.

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
