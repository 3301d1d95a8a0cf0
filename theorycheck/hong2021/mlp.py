"""A small ReLU multi-layer classifier trained with the student-teacher loss of Hong et al. 2021, Eq. (2),
used for the operating-regime experiments of their Section 4 (Fig. 3, Table 2).

Everything network-shaped is :mod:`theorycheck.nets` (``forward``/``backward`` with biases,
``softmax_cross_entropy``); the optimiser is :func:`theorycheck.train.sgd`. This module only adds the
classification loss with the feature-difference term, the paper's step learning-rate schedule and
early stopping on a validation split.

Conventions
-----------
* Samples are rows: ``X`` has shape ``(N, d_x)``; labels are ints in ``[0, K)``.
* ``params`` is one flat list ``[W_1, ..., W_L, b_1, ..., b_L]`` with ``W_l`` of shape
  ``(n_l, n_{l-1})`` and ``b_l`` of shape ``(n_l,)`` (the layout :func:`theorycheck.train.sgd` updates).
* The loss is a **mean** over samples (the paper's sums, Eq. (1)-(2), with the learning rate scaled by
  1/N); the feature term is summed over the neurons of every hidden layer, as Eq. (2) prescribes for
  deep networks ("the output of each stage" in Sec. 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nets
from ..errors import InputError, check_int, check_real
from ..train import sgd

__all__ = ["init_mlp", "split_params", "hidden_features", "logits", "loss_terms", "loss_and_grad",
           "error_rate", "step_lr", "TrainedClassifier", "train_classifier"]

_ACT = "relu"


def init_mlp(sizes, rng: np.random.Generator) -> list[np.ndarray]:
    """Xavier-normal weights (PyTorch's ``xavier_normal_``, :func:`nets.xavier_normal`) and zero biases.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(d_x, n_1, ..., n_{L-1}, K)``; at least one hidden layer.
    rng : numpy.random.Generator

    Returns
    -------
    params : list of ndarray, ``[W_1, ..., W_L, b_1, ..., b_L]``
    """
    sizes = [check_int("sizes", s, low=1) for s in sizes]
    if len(sizes) < 3:
        raise InputError("sizes", f"must have at least one hidden layer (d_x, n_1, K), got {sizes}")
    weights = nets.xavier_normal(sizes, rng)
    return weights + [np.zeros(s) for s in sizes[1:]]


def split_params(params):
    """``(weights, biases)`` from the flat list ``[W_1..W_L, b_1..b_L]``."""
    if len(params) % 2 or len(params) < 4:
        raise InputError("params", f"must be [W_1..W_L, b_1..b_L] with L >= 2, got {len(params)} arrays")
    L = len(params) // 2
    return list(params[:L]), list(params[L:])


def _check_params(params) -> tuple[list, list]:
    """``(weights, biases)`` of a valid parameter list: shapes chain, every entry finite."""
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
        raise InputError("params", f"must be a list [W_1..W_L, b_1..b_L] of arrays, got {type(params).__name__}")
    W, b = split_params([np.asarray(p, dtype=np.float64) for p in params])
    for l, (w, bias) in enumerate(zip(W, b)):
        if w.ndim != 2 or bias.shape != (w.shape[0],) or (l and w.shape[1] != W[l - 1].shape[0]):
            raise InputError("params", f"layer {l + 1} has W of shape {w.shape} and b of shape {bias.shape}; "
                                       f"need W_l of shape (n_l, n_(l-1)) and b_l of shape (n_l,)")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(bias))):
            raise InputError("params", f"layer {l + 1} holds NaN or infinite weights")
    return W, b


def _check_inputs(name: str, X, d: int) -> np.ndarray:
    """``X`` as a finite float array of shape (N, d) with N >= 1."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != d or X.shape[0] < 1:
        raise InputError(name, f"must have shape (N, {d}) with N >= 1, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError(name, "must be finite (it holds NaN or infinite entries)")
    return X


def _check_labels(name: str, labels, N: int, K: int) -> np.ndarray:
    """``labels`` as ints in [0, K) of shape (N,)."""
    y = np.asarray(labels)
    if y.shape != (N,):
        raise InputError(name, f"must have shape ({N},) (one label per row), got {y.shape}")
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= K)):
        raise InputError(name, f"must be integers in [0, {K}), got values of {y.dtype} in "
                               f"[{y.min() if y.size else '-'}, {y.max() if y.size else '-'}]")
    return y


def _check_teacher_features(teacher_hidden, hidden_sizes, N):
    if isinstance(teacher_hidden, np.ndarray) or not isinstance(teacher_hidden, (list, tuple)):
        raise InputError("teacher_hidden", "must be a list of arrays, one of shape (N, n_l) per hidden layer")
    if len(teacher_hidden) != len(hidden_sizes):
        raise InputError("teacher_hidden", f"must have {len(hidden_sizes)} hidden layers, got {len(teacher_hidden)}")
    out = []
    for l, (t, n) in enumerate(zip(teacher_hidden, hidden_sizes)):
        t = np.asarray(t, dtype=np.float64)
        if t.shape != (N, n):
            raise InputError("teacher_hidden", f"layer {l} must have shape {(N, n)}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise InputError("teacher_hidden", f"layer {l} holds NaN or infinite entries")
        out.append(t)
    return out


def _checked(params, X, labels=None, teacher_hidden=None, X_name="X", labels_name="labels"):
    """Validate a call at the public boundary; returns (params, X, labels, teacher_hidden)."""
    W, b = _check_params(params)
    X = _check_inputs(X_name, X, W[0].shape[1])
    y = None if labels is None else _check_labels(labels_name, labels, len(X), W[-1].shape[0])
    th = None if teacher_hidden is None else _check_teacher_features(
        teacher_hidden, [w.shape[0] for w in W[:-1]], len(X))
    return W + b, X, y, th


def _forward(params, X):
    W, b = split_params(params)
    return nets.forward(W, X, _ACT, biases=b)


def hidden_features(params, X) -> tuple[np.ndarray, ...]:
    """Hidden features :math:`h_l = \\mathrm{relu}(W_l h_{l-1} + b_l)`, one array of shape (N, n_l) per
    hidden layer: what the feature-difference term of Eq. (2) compares."""
    params, X, _, _ = _checked(params, X)
    return _forward(params, X).hidden


def logits(params, X) -> np.ndarray:
    """Output scores of shape (N, K) (linear output layer)."""
    params, X, _, _ = _checked(params, X)
    return _forward(params, X).out


def loss_terms(params, X_noisy, labels, teacher_hidden=None) -> tuple[float, float]:
    """The two terms of the student-teacher loss, Hong et al. 2021 Eq. (2), as means over samples.

    Parameters
    ----------
    params : list of ndarray, see :func:`init_mlp`
    X_noisy : ndarray of shape (N, d_x), the student's inputs :math:`x_i + \\epsilon_i`
    labels : ndarray of shape (N,), ints in [0, K)
    teacher_hidden : sequence of ndarray of shape (N, n_l), or None
        The teacher's hidden features on the *clean* inputs :math:`x_i`.

    Returns
    -------
    base : float
        Mean softmax cross-entropy (the classification form of Eq. (1)).
    feature : float
        :math:`\\frac1N\\sum_i\\sum_l \\|h^s_{l}(x_i+\\epsilon_i) - h^t_{l}(x_i)\\|_2^2` (0 without a teacher).

    Raises
    ------
    InputError
        If an argument has the wrong shape, holds NaN or infinite values, or a label is out of range.
    """
    params, X_noisy, labels, teacher_hidden = _checked(params, X_noisy, labels, teacher_hidden, "X_noisy")
    fwd = _forward(params, X_noisy)
    base, _ = nets.softmax_cross_entropy(fwd.out, labels)
    if teacher_hidden is None:
        return base, 0.0
    feat = nets.feature_loss(fwd.hidden, teacher_hidden, reduction="mean")
    return base, float(feat)


def _loss_and_grad(params, X_noisy, labels, teacher_hidden, lam):
    """:func:`loss_and_grad` without the checks (the training loop validates once, before it starts)."""
    W, b = split_params(params)
    fwd = nets.forward(W, X_noisy, _ACT, biases=b)
    loss, g_out = nets.softmax_cross_entropy(fwd.out, labels)
    g_hidden = None
    if teacher_hidden is not None and lam > 0:
        N = len(X_noisy)
        diffs = [s - t for s, t in zip(fwd.hidden, teacher_hidden)]
        loss += lam * sum(float(np.sum(d * d)) for d in diffs) / N
        g_hidden = [(2.0 * lam / N) * d for d in diffs]
    gW, gb = nets.backward(W, X_noisy, fwd, g_out, g_hidden, _ACT, with_bias=True)
    return float(loss), gW + gb


def loss_and_grad(params, X_noisy, labels, teacher_hidden=None, lam: float = 0.0):
    """Value and gradient of Hong et al. 2021 Eq. (2) for a classifier, as a mean over the N samples:

    .. math:: \\frac1N\\sum_i \\Big[\\mathrm{CE}(f(x_i+\\epsilon_i), y_i)
              + \\lambda \\sum_l \\|h^s_l(x_i+\\epsilon_i) - h^t_l(x_i)\\|_2^2\\Big].

    ``lam = 0`` or ``teacher_hidden=None`` gives the base loss, Eq. (1).

    Parameters
    ----------
    params : list of ndarray, see :func:`init_mlp`
    X_noisy : ndarray of shape (N, d_x)
    labels : ndarray of shape (N,)
    teacher_hidden : sequence of ndarray of shape (N, n_l), or None
    lam : float >= 0

    Returns
    -------
    loss : float
    grads : list of ndarray, same layout and shapes as ``params``

    Raises
    ------
    InputError
        If an argument has the wrong shape, holds NaN or infinite values, or a label is out of range.
    """
    lam = check_real("lam", lam, low=0.0)
    params, X_noisy, labels, teacher_hidden = _checked(params, X_noisy, labels, teacher_hidden, "X_noisy")
    return _loss_and_grad(params, X_noisy, labels, teacher_hidden, lam)


def _error_rate(params, X, labels) -> float:
    return float(np.mean(np.argmax(_forward(params, X).out, axis=1) != labels))


def error_rate(params, X, labels) -> float:
    """Classification error: the fraction of rows of ``X`` (shape (N, d_x), N >= 1) whose arg-max score
    is not the label (``labels`` of shape (N,), ints in [0, K))."""
    params, X, labels, _ = _checked(params, X, labels)
    return _error_rate(params, X, labels)


def step_lr(lr: float, steps: int, drops=(1 / 3, 2 / 3), factor: float = 0.1):
    """The step schedule of Hong et al. 2021 Sec. 4.1, scaled to ``steps`` updates: ``lr`` divided by
    ``1/factor`` (10) after each fraction in ``drops`` of training (the paper: 300 epochs, /10 every 100).

    Returns
    -------
    callable step -> float
    """
    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=1)
    marks = np.array([int(round(f * steps)) for f in drops])

    def lr_at(step: int) -> float:
        return lr * factor ** int(np.sum(step >= marks))
    return lr_at


@dataclass(frozen=True)
class TrainedClassifier:
    """Result of :func:`train_classifier`: ``params`` are the early-stopped (best-validation) weights,
    ``val_error`` their validation error, ``best_step`` when they were reached, ``final_val_error`` the
    validation error after the last step."""

    params: list
    val_error: float
    best_step: int
    final_val_error: float


def train_classifier(params0, X_train, y_train, X_val, y_val, *, steps: int, lr: float, batch_size: int,
                     rng: np.random.Generator, momentum: float = 0.9, eval_every: int = 20,
                     teacher_hidden=None, lam: float = 0.0) -> TrainedClassifier:
    """Minibatch SGD with the step schedule of :func:`step_lr` and early stopping on a validation
    split (Hong et al. 2021 Sec. 4.1: "the best model on the validation set ... is saved").

    Parameters
    ----------
    params0 : list of ndarray, initial parameters (see :func:`init_mlp`; not modified)
    X_train : ndarray of shape (N, d_x), the inputs the network sees (noisy for a student)
    y_train : ndarray of shape (N,)
    X_val, y_val : validation inputs (noisy for a student, clean for a teacher) and labels
    steps, lr, batch_size, momentum, eval_every : SGD settings
    rng : numpy.random.Generator, draws the minibatches
    teacher_hidden : sequence of ndarray of shape (N, n_l), or None
        Teacher features on the clean training inputs, row-aligned with ``X_train``.
    lam : float, weight of the feature term of Eq. (2)

    Returns
    -------
    TrainedClassifier
        The validation error is the criterion; ties keep the earliest step.

    Raises
    ------
    InputError
        If an argument has the wrong shape, holds NaN or infinite values, or a label is out of range.
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    lam = check_real("lam", lam, low=0.0)
    params0, X_train, y_train, teacher_hidden = _checked(params0, X_train, y_train, teacher_hidden,
                                                         "X_train", "y_train")
    _, X_val, y_val, _ = _checked(params0, X_val, y_val, None, "X_val", "y_val")
    N = len(X_train)

    def objective(params, idx):
        th = None if teacher_hidden is None else [t[idx] for t in teacher_hidden]
        return _loss_and_grad(params, X_train[idx], y_train[idx], th, lam)

    res = sgd(params0, objective, N, steps=steps, lr=step_lr(lr, steps), rng=rng, batch_size=batch_size,
              eval_fn=lambda p: _error_rate(p, X_val, y_val), eval_every=eval_every, momentum=momentum)
    return TrainedClassifier(params=res.best_params, val_error=res.best_eval, best_step=res.best_step,
                             final_val_error=res.history["eval"][-1])
