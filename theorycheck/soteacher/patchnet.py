"""Patch-shared networks for mixed-feature inputs: thin functions over :func:`theorycheck.nets.forward`
and :func:`theorycheck.nets.backward` (no network code of its own).

One MLP :math:`g` (ReLU hidden layers, linear output with biases) is applied to every patch; its
``m`` per-patch logit vectors are combined by one of two heads:

* ``"pooled"`` (variant A, CNN-like): :math:`f(x) = \\mathrm{softmax}\\big(\\frac1m\\sum_j g(x_j)\\big)`;
  with a linear last layer this equals average-pooling the features before the classifier.
* ``"mixture"`` (variant B): :math:`f(x) = \\frac1m\\sum_j \\mathrm{softmax}(g(x_j))`; it can represent
  :math:`p^*` exactly under an invariant extractor.

Parameters are one flat list ``[W_1, ..., W_L, b_1, ..., b_L]`` (the form :func:`theorycheck.train.sgd`
updates), ``W_l`` of shape (n_l, n_{l-1}) as in :mod:`theorycheck.nets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nets
from ..errors import InputError, check_choice
from ._checks import finite_array

__all__ = ["HEADS", "PatchForward", "init_params", "split", "forward", "predict_proba", "backward_logits",
           "backward_probs", "softmax", "softmax_backward"]

HEADS = ("pooled", "mixture")


@dataclass(frozen=True)
class PatchForward:
    """Cached pass of a patch network on N inputs of m patches.

    ``fwd``: the :class:`theorycheck.nets.Forward` on the (N*m, D) patch rows; ``patch_logits``: (N, m, K);
    ``probs``: (N, K) predictions of the head; ``patch_probs``: (N, m, K) for the mixture head (else
    None); ``logits``: (N, K) pooled logits for the pooled head (else None).
    """

    rows: np.ndarray
    fwd: nets.Forward
    patch_logits: np.ndarray
    probs: np.ndarray
    patch_probs: np.ndarray | None
    logits: np.ndarray | None
    head: str


def softmax(u, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    z = u - u.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(p, g) -> np.ndarray:
    """Vector-Jacobian product of the softmax: :math:`J^\\top g = p \\odot (g - \\langle p, g\\rangle)`.

    Parameters
    ----------
    p : ndarray of shape (..., K), softmax outputs
    g : ndarray of shape (..., K), dLoss/dp
    """
    return p * (g - (p * g).sum(axis=-1, keepdims=True))


def init_params(sizes, rng: np.random.Generator) -> list:
    """Xavier-normal weights (:func:`theorycheck.nets.xavier_normal`) and zero biases.

    Parameters
    ----------
    sizes : sequence of int, ``(patch_dim, hidden, ..., K)``
    rng : numpy.random.Generator
    """
    weights = nets.xavier_normal(sizes, rng)
    return weights + [np.zeros(W.shape[0]) for W in weights]


def split(params):
    """``(weights, biases)`` of a flat parameter list."""
    if len(params) % 2:
        raise InputError("params", f"must be [W_1..W_L, b_1..b_L], got {len(params)} arrays")
    L = len(params) // 2
    return list(params[:L]), list(params[L:])


def forward(params, X, head: str = "pooled") -> PatchForward:
    """Forward pass of the patch network on inputs ``X`` of shape (N, m, D)."""
    check_choice("head", head, HEADS)
    X = np.asarray(X)
    if X.ndim != 3:
        raise InputError("X", f"must have shape (N, m, D), got {X.shape}")
    N, m, D = X.shape
    weights, biases = split(params)
    rows = X.reshape(N * m, D)
    fwd = nets.forward(weights, rows, "relu", biases)
    patch_logits = fwd.out.reshape(N, m, -1)
    if head == "pooled":
        logits = patch_logits.mean(axis=1)
        return PatchForward(rows, fwd, patch_logits, softmax(logits), None, logits, head)
    patch_probs = softmax(patch_logits)
    return PatchForward(rows, fwd, patch_logits, patch_probs.mean(axis=1), patch_probs, None, head)


def predict_proba(params, X, head: str = "pooled") -> np.ndarray:
    """Predictions :math:`f(x)` of shape (N, K) on inputs ``X`` of shape (N, m, D) (finite)."""
    return forward(params, finite_array("X", X, ndim=3), head).probs


def _backward_patch(params, pf: PatchForward, g_patch_logits):
    weights, _ = split(params)
    N, m, K = pf.patch_logits.shape
    gW, gb = nets.backward(weights, pf.rows, pf.fwd, g_patch_logits.reshape(N * m, K), None, "relu",
                           with_bias=True)
    return gW + gb


def backward_logits(params, pf: PatchForward, g_logits) -> list:
    """Parameter gradients from dLoss/d(pooled logits) of shape (N, K) (pooled head only)."""
    if pf.head != "pooled":
        raise InputError("head", "backward_logits needs the pooled head; use backward_probs")
    m = pf.patch_logits.shape[1]
    g_patch = np.repeat(g_logits[:, None, :] / m, m, axis=1)
    return _backward_patch(params, pf, g_patch)


def backward_probs(params, pf: PatchForward, g_probs) -> list:
    """Parameter gradients from dLoss/d(predictions) of shape (N, K) (either head)."""
    if pf.head == "pooled":
        return backward_logits(params, pf, softmax_backward(pf.probs, g_probs))
    m = pf.patch_logits.shape[1]
    g_patch = softmax_backward(pf.patch_probs, np.repeat(g_probs[:, None, :] / m, m, axis=1))
    return _backward_patch(params, pf, g_patch)
