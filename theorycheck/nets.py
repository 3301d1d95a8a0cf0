"""Fully connected networks and the losses of Hong et al. 2021, Eq. (1)-(3): the one network code of
the toolkit (the linear, ReLU, regime and SoTeacher checks all build on it).

Conventions
-----------
* Samples are **rows**: ``X`` has shape ``(N, d_x)`` (the paper's :math:`X^T`, whose samples are columns).
* ``weights[l]`` has shape ``(n_{l+1}, n_l)`` as in the paper's :math:`W_{l+1}`; optional ``biases[l]``
  has shape ``(n_{l+1},)`` (the paper has none).
* Hidden layer :math:`h_l = \\sigma(W_l h_{l-1})`, :math:`h_0 = x`; the output layer is linear,
  :math:`f(x) = W_L h_{L-1}`. The paper's general formula puts :math:`\\sigma` on the output too, but its
  Section 5.3 evaluates a linear output; we use a linear output everywhere (a reconstruction: the
  paper does not say which it means).
* Losses are **sums over samples** as in the paper unless ``reduction="mean"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError, check_choice, check_real

__all__ = ["ACTIVATIONS", "Forward", "xavier_normal", "forward", "backward", "base_loss",
           "feature_loss", "st_loss", "st_loss_and_grad", "test_loss_mc", "softmax_cross_entropy",
           "end_to_end", "pooling_matrix", "pool"]


def _relu(u):
    return np.maximum(u, 0.0)


def _relu_grad(u):
    return (u > 0).astype(u.dtype)


def _identity(u):
    return u


def _identity_grad(u):
    return np.ones_like(u)


#: activation name -> (sigma, sigma') ; validated once at the boundary (no strings deep inside math)
ACTIVATIONS = {"identity": (_identity, _identity_grad), "relu": (_relu, _relu_grad)}


@dataclass(frozen=True)
class Forward:
    """Cached forward pass: ``pre[l]`` and ``hidden[l]`` of shape (N, n_{l+1}) for each hidden layer,
    ``out`` of shape (N, d_y)."""

    pre: tuple
    hidden: tuple
    out: np.ndarray


def xavier_normal(sizes, rng: np.random.Generator, dtype=np.float64) -> list[np.ndarray]:
    """PyTorch's Xavier-normal initialisation: :math:`W_{ij} \\sim N(0, 2/(n_{in}+n_{out}))`.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(d_x, m_1, ..., d_y)``.
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray, ``weights[l]`` of shape (sizes[l+1], sizes[l]).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError("sizes", f"must be at least two positive widths, got {sizes}")
    return [(rng.standard_normal((o, i)) * np.sqrt(2.0 / (i + o))).astype(dtype)
            for i, o in zip(sizes[:-1], sizes[1:])]


def _check_shapes(weights, X):
    if X.ndim != 2 or X.shape[1] != weights[0].shape[1]:
        raise InputError("X", f"must have shape (N, {weights[0].shape[1]}), got {X.shape}")
    for l in range(1, len(weights)):
        if weights[l].shape[1] != weights[l - 1].shape[0]:
            raise InputError("weights", f"layer {l} expects {weights[l].shape[1]} inputs, "
                                        f"layer {l - 1} gives {weights[l - 1].shape[0]}")


def forward(weights, X, activation: str = "relu", biases=None) -> Forward:
    """Forward pass of :math:`f(W_1,\\dots,W_L; x)` (Hong et al. 2021, Sec. 2) with a linear output.

    Parameters
    ----------
    weights : list of ndarray, ``weights[l]`` of shape (n_{l+1}, n_l)
    X : ndarray of shape (N, d_x)
    activation : {"identity", "relu"}
    biases : list of ndarray or None

    Returns
    -------
    Forward
    """
    act, _ = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    _check_shapes(weights, X)
    pre, hidden, h = [], [], X
    for l, W in enumerate(weights):
        u = h @ W.T
        if biases is not None:
            u = u + biases[l]
        if l == len(weights) - 1:
            return Forward(tuple(pre), tuple(hidden), u)
        pre.append(u)
        h = act(u)
        hidden.append(h)
    raise AssertionError("unreachable")


def backward(weights, X, fwd: Forward, grad_out, grad_hidden=None, activation: str = "relu",
             with_bias: bool = False):
    """Reverse-mode gradient of a scalar loss through :func:`forward`.

    Parameters
    ----------
    weights : list of ndarray
    X : ndarray of shape (N, d_x)
    fwd : Forward, from ``forward(weights, X, activation)``
    grad_out : ndarray of shape (N, d_y), dLoss/dOutput
    grad_hidden : list of (ndarray of shape (N, n_l) or None), optional
        Direct dLoss/dh_l for each hidden layer (the feature-difference term of Eq. (2)).
    activation : {"identity", "relu"}
    with_bias : bool
        Also return bias gradients.

    Returns
    -------
    grads_W : list of ndarray, same shapes as ``weights``
    grads_b : list of ndarray or None
    """
    _, dact = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    L = len(weights)
    gW = [None] * L
    gb = [None] * L if with_bias else None
    delta = grad_out  # dLoss/d(pre-activation) of the current layer
    for l in range(L - 1, -1, -1):
        h_in = X if l == 0 else fwd.hidden[l - 1]
        gW[l] = delta.T @ h_in
        if with_bias:
            gb[l] = delta.sum(axis=0)
        if l == 0:
            break
        g_h = delta @ weights[l]
        if grad_hidden is not None and grad_hidden[l - 1] is not None:
            g_h = g_h + grad_hidden[l - 1]
        delta = g_h * dact(fwd.pre[l - 1])
    return gW, gb


def _reduce(total, N, reduction):
    return total / N if reduction == "mean" else total


def base_loss(weights, X_noisy, Y, activation: str = "relu", reduction: str = "sum") -> float:
    """Base training loss, Hong et al. 2021 Eq. (1): :math:`\\sum_i \\|f(x_i+\\epsilon_i) - y_i\\|_2^2`.

    Parameters
    ----------
    X_noisy : ndarray of shape (N, d_x), rows :math:`x_i + \\epsilon_i`
    Y : ndarray of shape (N, d_y), clean targets
    reduction : {"sum", "mean"}
    """
    check_choice("reduction", reduction, ("sum", "mean"))
    r = forward(weights, X_noisy, activation).out - Y
    return float(_reduce(np.sum(r * r), len(X_noisy), reduction))


def feature_loss(student_hidden, teacher_hidden, reduction: str = "sum") -> float:
    """Feature-difference term of Eq. (2), summed over every hidden layer (the paper's rule for L > 2):
    :math:`\\sum_h \\sum_i \\|h^{s}_{h,i} - h^{t}_{h,i}\\|_2^2`.

    Parameters
    ----------
    student_hidden, teacher_hidden : sequences of ndarray of shape (N, n_h), one per hidden layer
    """
    check_choice("reduction", reduction, ("sum", "mean"))
    if len(student_hidden) != len(teacher_hidden):
        raise InputError("teacher_hidden", f"must have {len(student_hidden)} hidden layers, "
                                           f"got {len(teacher_hidden)}")
    total = sum(float(np.sum((s - t) ** 2)) for s, t in zip(student_hidden, teacher_hidden))
    return _reduce(total, len(student_hidden[0]), reduction)


def st_loss(weights, X_noisy, Y, teacher_hidden, lam: float, activation: str = "relu",
            reduction: str = "sum") -> float:
    """Student-teacher loss, Hong et al. 2021 Eq. (2): Eq. (1) + ``lam`` * feature difference.

    ``teacher_hidden`` are the teacher's hidden features on the *clean* inputs,
    :math:`\\tilde\\sigma(\\widetilde W_1 x_i)` (any teacher activation), shapes (N, n_h) per layer.
    """
    return st_loss_and_grad(weights, X_noisy, Y, teacher_hidden, lam, activation, reduction)[0]


def st_loss_and_grad(weights, X_noisy, Y, teacher_hidden, lam: float, activation: str = "relu",
                     reduction: str = "sum"):
    """Value and weight gradients of Eq. (2) (``lam = 0`` or ``teacher_hidden=None`` gives Eq. (1)).

    Returns
    -------
    loss : float
    grads : list of ndarray, same shapes as ``weights``
    """
    check_choice("reduction", reduction, ("sum", "mean"))
    lam = check_real("lam", lam, low=0.0)
    N = len(X_noisy)
    fwd = forward(weights, X_noisy, activation)
    r = fwd.out - Y
    loss = float(np.sum(r * r))
    grad_hidden = None
    if teacher_hidden is not None and lam > 0:
        if len(teacher_hidden) != len(fwd.hidden):
            raise InputError("teacher_hidden", f"must have {len(fwd.hidden)} hidden layers")
        diffs = [s - t for s, t in zip(fwd.hidden, teacher_hidden)]
        loss += lam * sum(float(np.sum(d * d)) for d in diffs)
        grad_hidden = [2.0 * lam * d for d in diffs]
    grads, _ = backward(weights, X_noisy, fwd, 2.0 * r, grad_hidden, activation)
    if reduction == "mean":
        loss /= N
        grads = [g / N for g in grads]
    return loss, grads


def test_loss_mc(weights, X_clean, noise, Y, activation: str = "relu") -> float:
    """Monte Carlo estimate of the test loss, Hong et al. 2021 Eq. (3):
    :math:`\\mathbb E\\|f(x+\\epsilon) - y\\|^2 \\approx \\frac1n\\sum_j \\|f(x_j+\\epsilon_j)-y_j\\|^2`.

    Parameters
    ----------
    X_clean, noise : ndarray of shape (n, d_x)
    Y : ndarray of shape (n, d_y)
    """
    return base_loss(weights, X_clean + noise, Y, activation, reduction="mean")


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    Parameters
    ----------
    logits : ndarray of shape (N, K)
    labels : ndarray of shape (N,) of ints in [0, K), or (N, K) of target probabilities (soft labels)

    Returns
    -------
    loss : float
    grad : ndarray of shape (N, K)
    """
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    N, K = logits.shape
    if labels.ndim == 1:
        target = np.zeros_like(logits)
        target[np.arange(N), labels] = 1.0
    else:
        target = labels
    loss = -float(np.sum(target * logp)) / N
    return loss, (np.exp(logp) - target) / N


def end_to_end(weights) -> np.ndarray:
    """End-to-end matrix :math:`\\mathbf W_L = \\prod_i W_i = W_L \\cdots W_1` (shape (d_y, d_x))."""
    M = weights[0]
    for W in weights[1:]:
        M = W @ M
    return M


def pooling_matrix(m: int, g: int, dtype=np.float64) -> np.ndarray:
    """Pooling matrix :math:`P \\in \\{0,1\\}^{(m/g) \\times m}` of Hong et al. 2021, Eq. (7).

    Row :math:`i` (0-indexed) sums the consecutive neurons :math:`ig, \\dots, (i+1)g-1`. The paper
    writes :math:`j \\in \\{ig, \\dots, (i+1)g\\}`, which has :math:`g+1` entries; the intended block of
    :math:`g` neurons is used here (our reading of an off-by-one in the paper).

    Parameters
    ----------
    m : int, hidden width
    g : int, group size; must divide ``m``

    Returns
    -------
    ndarray of shape (m // g, m)
    """
    from .errors import check_divides, check_int
    m = check_int("m", m, low=1)
    g = check_divides("g", g, "m", m)
    return np.kron(np.eye(m // g, dtype=dtype), np.ones((1, g), dtype=dtype))


def pool(H, g: int) -> np.ndarray:
    """Apply :func:`pooling_matrix` to features without forming it: ``H @ P.T``.

    Parameters
    ----------
    H : ndarray of shape (N, m)
    g : int, must divide m

    Returns
    -------
    ndarray of shape (N, m // g)
    """
    from .errors import check_divides
    N, m = H.shape
    g = check_divides("g", g, "m", m)
    return H.reshape(N, m // g, g).sum(axis=2)
