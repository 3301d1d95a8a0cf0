r"""Training runs with recorded trajectories, so early stopping can be read off afterwards.

:func:`train` runs full-batch GD or minibatch SGD on a
:class:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator` as a :class:`TrainSpec` says,
evaluates the test error on a schedule of steps (:func:`geometric_schedule` by default: early steps
densely, as the best test error comes early), keeps the best parameters seen (early stopping, Hong et
al. 2021 Sec. 3.2) and stops at "zero training loss" (a relative tolerance on the data-fit term) or
after ``steps`` updates.

The loop is pure computation: it reads no file and writes none. Its progress is a
:class:`TrainState`; a caller that wants to resume an interrupted run hands :func:`train` the state
to continue from (``start``) and is shown the state after every step (``after_step``).
:mod:`theorycheck.hong2021.relu.checkpoint` does exactly that with snapshot files.

Stopping rule ("end of training"; the paper gives none, this one is ours)
-------------------------------------------------------------------------
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

from ...backend import to_numpy
from ...errors import InputError, check_int, check_real

__all__ = ["Trajectory", "TrainSpec", "TrainState", "geometric_schedule", "train"]


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


@dataclass(frozen=True)
class TrainSpec:
    """What :func:`train` does: updates, step sizes and their decay, evaluations, stopping.

    Attributes
    ----------
    steps : int >= 0
        Largest number of updates.
    lr_W1, lr_a : float >= 0
        Step sizes of the first layer and of the output weights (see
        :func:`~theorycheck.hong2021.relu.curvature.top_curvature`).
    eval_steps : tuple of int
        Steps at which the test error is evaluated, sorted and unique, within ``[0, steps]``
        (given as any sequence; ``None``: ``geometric_schedule(steps, 60)``).
    stop_tol : float >= 0 or None
        Zero-training-loss tolerance (module docstring); None never stops early.
    check_every : int >= 1
        How often (steps) the stopping rule is checked between evaluations, full batch only; with
        minibatches the full training loss is computed (in chunks) only at evaluation steps.
    batch_size : int >= 1 or None
        Minibatch size (None, or at least the simulator's N: full batch).
    lr_drops : int >= 0
        Step-decay schedule: the step sizes are multiplied by ``drop_factor`` at ``steps * k /
        (lr_drops + 1)``, k = 1..lr_drops (0: constant step sizes). Hong et al. 2021 train their CIFAR
        networks this way (lr / 10 every 100 of 300 epochs, Sec. 4.1).
    drop_factor : float in (0, 1]
    diverge_factor : float
        :func:`train` raises :class:`FloatingPointError` if the training loss exceeds this multiple
        of its initial value (the step size is too large).
    keep_weights : bool
        Return the final and best parameters in the trajectory.
    """

    steps: int
    lr_W1: float
    lr_a: float = 0.0
    eval_steps: tuple | None = None
    stop_tol: float | None = 1e-8
    check_every: int = 50
    batch_size: int | None = None
    lr_drops: int = 0
    drop_factor: float = 0.1
    diverge_factor: float = 1e3
    keep_weights: bool = False

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen
        put("steps", check_int("steps", self.steps, low=0))
        put("lr_W1", check_real("lr_W1", self.lr_W1, low=0.0))
        put("lr_a", check_real("lr_a", self.lr_a, low=0.0))
        put("check_every", check_int("check_every", self.check_every, low=1))
        put("lr_drops", check_int("lr_drops", self.lr_drops, low=0))
        put("drop_factor", check_real("drop_factor", self.drop_factor, low=0.0, high=1.0, low_open=True))
        put("diverge_factor", float(self.diverge_factor))
        put("keep_weights", bool(self.keep_weights))
        if self.stop_tol is not None:
            put("stop_tol", check_real("stop_tol", self.stop_tol, low=0.0))
        if self.batch_size is not None:
            put("batch_size", check_int("batch_size", self.batch_size, low=1))
        sched = geometric_schedule(self.steps, 60) if self.eval_steps is None \
            else np.unique(np.asarray(self.eval_steps, int))
        if len(sched) == 0 or sched[0] < 0 or sched[-1] > self.steps:
            raise InputError("eval_steps", f"must lie in [0, {self.steps}]")
        put("eval_steps", tuple(int(s) for s in sched))

    def drop_steps(self) -> list[int]:
        """The steps at which the step sizes are multiplied by ``drop_factor``."""
        return [self.steps * k // (self.lr_drops + 1) for k in range(1, self.lr_drops + 1)]


@dataclass
class TrainState:
    """How far a run of :func:`train` has come (host values; updated in place by :func:`train`).

    Attributes
    ----------
    step : int
        Updates done.
    record : dict of lists
        One entry per evaluation so far: ``steps`` (int), ``test``, ``total``, ``base``, ``feature``
        (the test error and the loss parts, float).
    best_error, best_step : float, int
        Early stopping: the lowest test error so far and its step.
    best_weights : (W1, a) host arrays or None
        The parameters at ``best_step`` (kept with ``TrainSpec.keep_weights``).
    loss0 : float or None
        The training loss at step 0 (the reference of the divergence test); None before it is computed.
    converged : bool
        Whether the stopping rule has fired.
    elapsed_s, eval_s : float
        Wall time of the run so far, and of it evaluating the test error.
    perm : ndarray of int (N,) or None
        Minibatches: the current epoch's permutation of the rows; ``pos`` its next unused entry.
    pos : int
    """

    step: int = 0
    record: dict = field(default_factory=lambda: {"steps": [], "test": [], "total": [], "base": [],
                                                  "feature": []})
    best_error: float = math.inf
    best_step: int = 0
    best_weights: tuple | None = None
    loss0: float | None = None
    converged: bool = False
    elapsed_s: float = 0.0
    eval_s: float = 0.0
    perm: np.ndarray | None = None
    pos: int = 0


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

    def summary(self) -> dict:
        """JSON-able numbers (no weights): what a sweep cell stores."""
        return {"steps": self.steps.tolist(), "test_error": self.test_error.tolist(),
                "train_total": self.train_total.tolist(), "train_base": self.train_base.tolist(),
                "train_feature": self.train_feature.tolist(), "best_step": int(self.best_step),
                "best_test_error": float(self.best_test_error), "final_step": int(self.final_step),
                "final_test_error": float(self.final_test_error), "final_fit": float(self.final_fit),
                "converged": bool(self.converged), "seconds": float(self.seconds),
                "eval_seconds": float(self.eval_seconds)}


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


def train(sim, spec: TrainSpec, evaluate: Callable, *, rng: np.random.Generator | None = None,
          start: TrainState | None = None, progress: Callable | None = None,
          after_step: Callable | None = None) -> Trajectory:
    """Train ``sim`` in place as ``spec`` says and record its trajectory.

    Parameters
    ----------
    sim : TwoLayerSimulator
        Holds data, objective and the parameters to start from.
    spec : TrainSpec
    evaluate : callable (W1, a) -> float
        Test error of device weights (e.g.
        :func:`theorycheck.hong2021.relu.population.population_error` with the teacher bound in).
        Called at every step of ``spec.eval_steps``.
    rng : numpy.random.Generator, optional
        Required for minibatches: draws the epoch permutations.
    start : TrainState, optional
        Continue the run from this state (updated in place). The caller has put ``sim`` (its
        :meth:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator.set_state`) and ``rng`` where
        they were at ``start.step``; the result is then that of the uninterrupted run, bit for bit.
        None: start afresh at step 0.
    progress : callable (dict) -> None, optional
        Called whenever the loss is computed (every ``check_every`` steps and at evaluations) with
        ``{"step", "test_error" (None between evaluations), "train_total", "elapsed_s"}``.
    after_step : callable (TrainState) -> None, optional
        Called after every completed update with the current state (``elapsed_s`` up to date), e.g.
        to save a snapshot (:func:`theorycheck.hong2021.relu.checkpoint.train_checkpointed`).

    Returns
    -------
    Trajectory
    """
    full = spec.batch_size is None or spec.batch_size >= sim.N
    batch_size = spec.batch_size
    if not full:
        if rng is None:
            raise InputError("rng", "a numpy Generator is needed to draw minibatches")
        if sim.batch_size is None or batch_size > sim.batch_size:
            raise InputError("batch_size", f"exceeds the simulator's buffers ({sim.batch_size})")
    steps, lr_W1, lr_a = spec.steps, spec.lr_W1, spec.lr_a
    eval_set = set(spec.eval_steps)
    drops, drop_factor = spec.drop_steps(), spec.drop_factor
    fit_ref = _fit_reference(sim)

    st = TrainState() if start is None else start
    if start is None and not full:
        st.perm, st.pos = rng.permutation(sim.N), 0
    rec = st.record
    parts = None
    t_start = time.perf_counter() - st.elapsed_s

    def record(step, parts):
        t0 = time.perf_counter()
        W1, a = sim.weights_device()
        err = float(evaluate(W1, a))
        st.eval_s += time.perf_counter() - t0
        if not math.isfinite(err):
            raise FloatingPointError(f"test error became {err} at step {step}")
        rec["steps"].append(step)
        rec["test"].append(err)
        rec["total"].append(parts.total)
        rec["base"].append(parts.base)
        rec["feature"].append(parts.feature)
        if err < st.best_error:
            st.best_error, st.best_step = err, step
            st.best_weights = (to_numpy(W1).copy(), to_numpy(a).copy()) if spec.keep_weights else None
        if progress is not None:
            progress({"step": step, "test_error": err, "train_total": parts.total,
                      "elapsed_s": time.perf_counter() - t_start})

    while True:
        step = st.step
        is_eval = step in eval_set
        if is_eval or (full and step % spec.check_every == 0) or step == steps:
            # loss and test error of the parameters after `step` updates (before the next one)
            parts = sim.loss()
            if st.loss0 is None:
                st.loss0 = parts.total
            if not math.isfinite(parts.total) or parts.total > spec.diverge_factor * max(st.loss0, 1e-300):
                raise FloatingPointError(f"training loss {parts.total:.3g} at step {step} exceeds "
                                         f"{spec.diverge_factor:g} x its initial value {st.loss0:.3g}; "
                                         "lower the learning rate")
            st.converged = spec.stop_tol is not None and _fit_term(sim, parts) <= spec.stop_tol * fit_ref
            if is_eval or st.converged or step == steps:
                record(step, parts)
            elif progress is not None:
                progress({"step": step, "test_error": None, "train_total": parts.total,
                          "elapsed_s": time.perf_counter() - t_start})
            if st.converged or step == steps:
                break
        idx = None
        if not full:
            if st.pos + batch_size > sim.N:
                st.perm, st.pos = rng.permutation(sim.N), 0
            idx, st.pos = st.perm[st.pos:st.pos + batch_size], st.pos + batch_size
        f = drop_factor ** sum(step >= s_ for s_ in drops)
        sim.step(lr_W1 * f, lr_a * f, idx=idx)
        st.step = step + 1
        if after_step is not None:
            st.elapsed_s = time.perf_counter() - t_start
            after_step(st)

    st.elapsed_s = time.perf_counter() - t_start
    test = np.asarray(rec["test"])
    final_W = sim.weights() if spec.keep_weights else (None, None)
    best_W = st.best_weights if st.best_weights is not None else (None, None)
    return Trajectory(
        steps=np.asarray(rec["steps"], dtype=int), test_error=test,
        train_total=np.asarray(rec["total"]), train_base=np.asarray(rec["base"]),
        train_feature=np.asarray(rec["feature"]), best_step=int(st.best_step),
        best_test_error=float(st.best_error), final_step=int(st.step), final_test_error=float(test[-1]),
        final_fit=_fit_term(sim, parts) / fit_ref if fit_ref > 0 else 0.0, converged=bool(st.converged),
        seconds=st.elapsed_s, eval_seconds=st.eval_s,
        W1_final=final_W[0], a_final=final_W[1], W1_best=best_W[0], a_best=best_W[1])
