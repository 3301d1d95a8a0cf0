"""A minimal minibatch SGD loop with early stopping, shared by every trained network of the toolkit.

The loop knows nothing about the model: it takes a function that returns (loss, gradients) for a
batch of sample indices, and an evaluation function called every ``eval_every`` steps. The best
parameters under ``eval_fn`` are kept (early stopping, Hong et al. 2021 Sec. 3.2 and 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import check_int, check_real

__all__ = ["TrainResult", "sgd"]


@dataclass
class TrainResult:
    """``params``: final parameters; ``best_params``/``best_eval``/``best_step``: the best under
    ``eval_fn``; ``history``: dict of lists (``step``, ``train_loss``, ``eval``)."""

    params: list
    best_params: list
    best_eval: float
    best_step: int
    history: dict = field(default_factory=dict)


def sgd(params: list, loss_and_grad: Callable, n: int, *, steps: int, lr,
        rng: np.random.Generator, batch_size: int | None = None, eval_fn: Callable | None = None,
        eval_every: int = 1, momentum: float = 0.0) -> TrainResult:
    """Minibatch (or full-batch, ``batch_size=None``) SGD with optional momentum.

    Parameters
    ----------
    params : list of ndarray
        Initial parameters (copied, never modified in place).
    loss_and_grad : callable (params, idx) -> (float, list of ndarray)
        Loss and gradients on the samples ``idx`` (ndarray of int).
    n : int, number of training samples
    steps : int, number of parameter updates
    lr : float or callable step -> float
    rng : numpy.random.Generator, draws the minibatches
    batch_size : int or None
    eval_fn : callable params -> float, optional (lower is better)
    eval_every : int
    momentum : float in [0, 1)
    """
    steps = check_int("steps", steps, low=0)
    n = check_int("n", n, low=1)
    eval_every = check_int("eval_every", eval_every, low=1)
    momentum = check_real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    lr_at = lr if callable(lr) else (lambda _s, _lr=check_real("lr", lr, low=0.0, low_open=True): _lr)
    params = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    history = {"step": [], "train_loss": [], "eval": []}
    best = (np.inf, 0, [p.copy() for p in params])
    perm, pos = rng.permutation(n), 0
    for step in range(steps + 1):
        if eval_fn is not None and (step % eval_every == 0 or step == steps):
            value = float(eval_fn(params))
            history["step"].append(step)
            history["eval"].append(value)
            if value < best[0]:
                best = (value, step, [p.copy() for p in params])
        if step == steps:
            break
        if batch_size is None or batch_size >= n:
            idx = np.arange(n)
        else:
            if pos + batch_size > n:
                perm, pos = rng.permutation(n), 0
            idx, pos = perm[pos:pos + batch_size], pos + batch_size
        loss, grads = loss_and_grad(params, idx)
        if not np.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss} at step {step}; lower the learning rate")
        if eval_fn is not None and (step % eval_every == 0):
            history["train_loss"].append(float(loss))
        eta = lr_at(step)
        for p, v, g in zip(params, velocity, grads):
            if momentum:
                v *= momentum
                v += g
                p -= eta * v
            else:
                p -= eta * g
    return TrainResult(params=params, best_params=best[2], best_eval=best[0], best_step=best[1],
                       history=history)
