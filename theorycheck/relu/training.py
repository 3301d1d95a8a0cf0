r"""Training runs with recorded trajectories, so early stopping can be read off afterwards.

:func:`train` runs full-batch GD or minibatch SGD on a :class:`~theorycheck.relu.simulator.TwoLayerSimulator`,
evaluates the test error on a schedule of steps (:func:`geometric_schedule` by default: early steps
densely, as the best test error comes early), keeps the best parameters seen (early stopping, Hong et
al. 2021 Sec. 3.2) and stops at "zero training loss" (a relative tolerance on the data-fit term) or
after ``steps`` updates.

Stopping rule ("end of training", digest §8 [P])
------------------------------------------------
The data-fit term is the Eq. (1) term :math:`s\|Ha - y\|^2` when the objective has one (Eq. (1),
(2)), else the pooled feature term (Eq. (7)). Training ends when it falls below
``stop_tol`` times its value at zero prediction (:math:`s\|y\|^2`, resp. :math:`s\|T P^T\|_F^2`), or
after ``steps`` steps; :attr:`Trajectory.converged` says which. The rule is checked whenever the loss
is computed: at evaluation steps and, for full-batch GD, every ``check_every`` steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..backend import to_numpy
from ..errors import InputError, check_int, check_real

__all__ = ["Trajectory", "geometric_schedule", "train"]


def geometric_schedule(steps: int, n_points: int) -> np.ndarray:
    """Evaluation steps ``0, 1, ..., steps``, about ``n_points`` of them, geometrically spaced.

    Parameters
    ----------
    steps : int >= 0, the last step
    n_points : int >= 2

    Returns
    -------
    ndarray of int, sorted, unique, starting at 0 and ending at ``steps``
    """
    steps = check_int("steps", steps, low=0)
    n_points = check_int("n_points", n_points, low=2)
    if steps == 0:
        return np.array([0])
    pts = np.unique(np.round(np.geomspace(1, steps, n_points - 1)).astype(int))
    return np.concatenate([[0], pts])


@dataclass
class Trajectory:
    """Record of one training run (host NumPy arrays and floats).

    Attributes
    ----------
    steps : ndarray of int, the evaluated steps
    test_error : ndarray, test error at each evaluated step
    train_total, train_base, train_feature : ndarray, training loss parts at each evaluated step
    best_step, best_test_error : early stopping (argmin / min of ``test_error``)
    final_step, final_test_error : the end of training (stopping rule or last step)
    final_fit : float, data-fit term at the end relative to its zero-prediction value
    converged : bool, whether the stopping rule fired (False: ``steps`` ran out first)
    seconds : float, wall time of the run (training and evaluation)
    eval_seconds : float, of which evaluating the test error
    W1_final, a_final, W1_best, a_best : ndarray or None, parameters (``keep_weights``)
    """

    steps: np.ndarray
    test_error: np.ndarray
    train_total: np.ndarray
    train_base: np.ndarray
    train_feature: np.ndarray
    best_step: int
    best_test_error: float
    final_step: int
    final_test_error: float
    final_fit: float
    converged: bool
    seconds: float
    eval_seconds: float
    W1_final: np.ndarray | None = None
    a_final: np.ndarray | None = None
    W1_best: np.ndarray | None = None
    a_best: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-able numbers (no weights): what a sweep cell stores."""
        return {"steps": self.steps.tolist(), "test_error": self.test_error.tolist(),
                "train_total": self.train_total.tolist(), "train_base": self.train_base.tolist(),
                "train_feature": self.train_feature.tolist(), "best_step": int(self.best_step),
                "best_test_error": float(self.best_test_error), "final_step": int(self.final_step),
                "final_test_error": float(self.final_test_error), "final_fit": float(self.final_fit),
                "converged": bool(self.converged), "seconds": float(self.seconds),
                "eval_seconds": float(self.eval_seconds), **self.extra}


def _fit_reference(sim) -> float:
    """Data-fit term at zero prediction: s||y||^2 (Eq. (1)/(2)) or s||T P^T||^2 (Eq. (7))."""
    xp, ob = sim.xp, sim.objective
    s = 1.0 / sim.N if ob.reduction == "mean" else 1.0
    if ob.base_weight > 0:
        return s * float(xp.vdot(sim.y, sim.y))
    Tp = sim.Tp if sim.Tp is not None else sim.T
    return s * float(xp.vdot(Tp, Tp))


def _fit_term(sim, parts) -> float:
    return parts.base if sim.objective.base_weight > 0 else parts.feature


def train(sim, *, steps: int, lr_W1: float, lr_a: float = 0.0, evaluate: Callable,
          eval_steps=None, stop_tol: float | None = 1e-8, check_every: int = 50,
          batch_size: int | None = None, rng: np.random.Generator | None = None,
          keep_weights: bool = False, diverge_factor: float = 1e3, lr_drops: int = 0,
          drop_factor: float = 0.1,
          progress: Callable | None = None) -> Trajectory:
    """Train ``sim`` in place and record its trajectory.

    Parameters
    ----------
    sim : TwoLayerSimulator
        Holds data, objective and the initial parameters.
    steps : int, largest number of updates
    lr_W1, lr_a : float, step sizes (see :func:`theorycheck.relu.curvature.top_curvature`)
    evaluate : callable (W1, a) -> float
        Test error of device weights (e.g. :func:`theorycheck.relu.population.population_error`
        with the teacher bound in). Called at every step of ``eval_steps``.
    eval_steps : array of int, optional
        Steps at which to evaluate; default ``geometric_schedule(steps, 60)``.
    stop_tol : float or None
        Zero-training-loss tolerance (module docstring); None never stops early.
    check_every : int
        How often (steps) the stopping rule is checked between evaluations, full batch only; with
        minibatches the full training loss is computed (in chunks) only at evaluation steps.
    batch_size : int or None, minibatch size (None: full batch)
    rng : numpy.random.Generator, required for minibatches (draws the epoch permutations)
    keep_weights : bool, return the final and best parameters in the trajectory
    lr_drops : int
        Step-decay schedule: the step sizes are multiplied by ``drop_factor`` at ``steps * k /
        (lr_drops + 1)``, k = 1..lr_drops (0: constant step sizes). Hong et al. 2021 train their CIFAR
        networks this way (lr / 10 every 100 of 300 epochs, Sec. 4.1).
    drop_factor : float in (0, 1]
    diverge_factor : float
        Raise :class:`FloatingPointError` if the training loss exceeds this multiple of its
        initial value (the step size is too large).
    progress : callable (dict) -> None, optional
        Called whenever the loss is computed (every ``check_every`` steps and at evaluations) with
        ``{"step", "test_error" (None between evaluations), "train_total", "elapsed_s"}``.

    Returns
    -------
    Trajectory
    """
    steps = check_int("steps", steps, low=0)
    lr_W1 = check_real("lr_W1", lr_W1, low=0.0)
    lr_a = check_real("lr_a", lr_a, low=0.0)
    check_every = check_int("check_every", check_every, low=1)
    lr_drops = check_int("lr_drops", lr_drops, low=0)
    drop_factor = check_real("drop_factor", drop_factor, low=0.0, high=1.0, low_open=True)
    drops = [steps * k // (lr_drops + 1) for k in range(1, lr_drops + 1)]
    if stop_tol is not None:
        stop_tol = check_real("stop_tol", stop_tol, low=0.0)
    full = batch_size is None or batch_size >= sim.N
    if not full:
        batch_size = check_int("batch_size", batch_size, low=1)
        if rng is None:
            raise InputError("rng", "a numpy Generator is needed to draw minibatches")
        if sim.batch_size is None or batch_size > sim.batch_size:
            raise InputError("batch_size", f"exceeds the simulator's buffers ({sim.batch_size})")
    sched = geometric_schedule(steps, 60) if eval_steps is None else np.unique(np.asarray(eval_steps, int))
    if len(sched) == 0 or sched[0] < 0 or sched[-1] > steps:
        raise InputError("eval_steps", f"must lie in [0, {steps}]")
    eval_set = set(int(s) for s in sched)
    fit_ref = _fit_reference(sim)

    rec = {"steps": [], "test": [], "total": [], "base": [], "feature": []}
    best = (math.inf, 0, None)
    t_start = time.perf_counter()
    eval_time = 0.0
    loss0 = None
    converged = False
    perm, pos = (rng.permutation(sim.N), 0) if not full else (None, 0)

    def record(step, parts):
        nonlocal best, eval_time
        t0 = time.perf_counter()
        W1, a = sim.weights_device()
        err = float(evaluate(W1, a))
        eval_time += time.perf_counter() - t0
        if not math.isfinite(err):
            raise FloatingPointError(f"test error became {err} at step {step}")
        rec["steps"].append(step)
        rec["test"].append(err)
        rec["total"].append(parts.total)
        rec["base"].append(parts.base)
        rec["feature"].append(parts.feature)
        if err < best[0]:
            best = (err, step, (to_numpy(W1).copy(), to_numpy(a).copy()) if keep_weights else None)
        if progress is not None:
            progress({"step": step, "test_error": err, "train_total": parts.total,
                      "elapsed_s": time.perf_counter() - t_start})

    step, parts = 0, None
    while True:
        is_eval = step in eval_set
        if is_eval or (full and step % check_every == 0) or step == steps:
            # loss and test error of the parameters after `step` updates (before the next one)
            parts = sim.loss()
            if loss0 is None:
                loss0 = parts.total
            if not math.isfinite(parts.total) or parts.total > diverge_factor * max(loss0, 1e-300):
                raise FloatingPointError(f"training loss {parts.total:.3g} at step {step} exceeds "
                                         f"{diverge_factor:g} x its initial value {loss0:.3g}; "
                                         "lower the learning rate")
            converged = stop_tol is not None and _fit_term(sim, parts) <= stop_tol * fit_ref
            if is_eval or converged or step == steps:
                record(step, parts)
            elif progress is not None:
                progress({"step": step, "test_error": None, "train_total": parts.total,
                          "elapsed_s": time.perf_counter() - t_start})
            if converged or step == steps:
                break
        idx = None
        if not full:
            if pos + batch_size > sim.N:
                perm, pos = rng.permutation(sim.N), 0
            idx, pos = perm[pos:pos + batch_size], pos + batch_size
        f = drop_factor ** sum(step >= s_ for s_ in drops)
        sim.step(lr_W1 * f, lr_a * f, idx=idx)
        step += 1

    test = np.asarray(rec["test"])
    final_W = sim.weights() if keep_weights else (None, None)
    return Trajectory(
        steps=np.asarray(rec["steps"], dtype=int), test_error=test,
        train_total=np.asarray(rec["total"]), train_base=np.asarray(rec["base"]),
        train_feature=np.asarray(rec["feature"]), best_step=int(best[1]),
        best_test_error=float(best[0]), final_step=int(step), final_test_error=float(test[-1]),
        final_fit=_fit_term(sim, parts) / fit_ref if fit_ref > 0 else 0.0, converged=bool(converged),
        seconds=time.perf_counter() - t_start, eval_seconds=eval_time,
        W1_final=final_W[0], a_final=final_W[1],
        W1_best=None if best[2] is None else best[2][0], a_best=None if best[2] is None else best[2][1])
