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

Resuming an interrupted run (snapshots)
---------------------------------------
At the paper's sizes (m = 20000, d = 500) one run of Hong et al. 2021 Fig. 2 or Fig. 6 is 10,000 to
20,000 steps of 0.1 to 1 s each on a small CPU, so :func:`train` can keep a snapshot of its state in a
file (``snapshot``, written every ``snapshot_s`` seconds, atomically) and continue from it when called
again with the same arguments. The resumed run is bit-for-bit the run that was not interrupted (the
tests check it). The snapshot is an ``.npz`` file (no pickle) holding, after a completed step ``t``:

* ``step`` (0-d int) = t;
* the simulator's state (:meth:`~theorycheck.relu.simulator.TwoLayerSimulator.state`) in its training
  dtype: ``a`` (m,) and, for the primal method, ``W1`` (m, d);
  for the gram method ``W1_0`` (m, d) and, per neuron block k of width m_k, ``Ct_k`` (N, m_k) and
  ``U_k`` (N, m_k) (the row-space coefficients and pre-activations, restored exactly: re-forming them
  from :math:`W_1` would change their round-off);
* the recorded trajectory ``rec_steps`` (int), ``rec_test``, ``rec_total``, ``rec_base``,
  ``rec_feature`` (float64, one entry per evaluation so far);
* early stopping: ``best_err``, ``best_step`` and, with ``keep_weights``, ``best_W1``, ``best_a``;
* ``loss0``, ``converged``, ``elapsed_s``, ``eval_s`` (so :attr:`Trajectory.seconds` is the total);
* minibatch order: ``perm`` (N,) (the current epoch permutation), ``pos``, and ``rng_state`` (the
  generator's ``bit_generator.state`` as JSON in a 0-d string array);
* ``fingerprint``: JSON of what defines the run (steps, step sizes, N, m, d, dtype, method, neuron
  blocks, objective, batch size, stopping and decay settings, evaluation schedule, SHA-256 of the
  inputs, targets and initial weights). A snapshot whose fingerprint differs is refused
  (:class:`~theorycheck.errors.InputError` naming ``snapshot``) rather than continued as another run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..backend import to_numpy
from ..errors import InputError, check_int, check_real
from ..store import atomic_write

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


# ------------------------------------------------------------------ snapshots (module docstring)
_SNAPSHOT_FORMAT = "theorycheck.relu.train/1"


def _digest(arr) -> str | None:
    if arr is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(to_numpy(arr)).tobytes()).hexdigest()[:32]


def _fingerprint(sim, **settings) -> dict:
    """What defines a run: a snapshot is continued only under an equal fingerprint (JSON-able)."""
    ob = sim.objective
    init_W1 = sim.W1 if sim.method == "primal" else sim.W1_0
    return {"format": _SNAPSHOT_FORMAT, "N": sim.N, "m": sim.m, "d": sim.d, "dtype": str(sim.dtype),
            "backend": sim.backend, "method": sim.method, "blocks": [list(b) for b in sim.blocks],
            "objective": {"base_weight": float(ob.base_weight), "lam": float(ob.lam), "g": int(ob.g),
                          "train_W2": bool(ob.train_W2), "reduction": ob.reduction},
            **settings,
            "sha256_Z": _digest(sim.Z), "sha256_y": _digest(sim.y), "sha256_W1_init": _digest(init_W1),
            "sha256_a_init": _digest(sim.a)}


def _rng_state_json(rng: np.random.Generator) -> str:
    """``rng.bit_generator.state`` as JSON (arrays, as in MT19937's state, become tagged lists)."""
    def enc(o):
        if isinstance(o, np.ndarray):
            return {"__ndarray__": o.tolist(), "dtype": str(o.dtype)}
        if isinstance(o, np.integer):
            return int(o)
        raise TypeError(f"cannot store {type(o).__name__} in a snapshot")
    return json.dumps(rng.bit_generator.state, default=enc)


def _rng_state_from_json(text: str) -> dict:
    def dec(o):
        return np.asarray(o["__ndarray__"], dtype=o["dtype"]) if "__ndarray__" in o else o
    return json.loads(text, object_hook=dec)


def _read_snapshot(path: Path, fingerprint: dict) -> dict:
    """The arrays of snapshot ``path`` (host copies), after checking its fingerprint."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError("snapshot", f"cannot read {path}: {exc}") from exc
    if "fingerprint" not in data:
        raise InputError("snapshot", f"{path} is not a training snapshot (no fingerprint)")
    saved = json.loads(str(data["fingerprint"]))
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True))   # tuples -> lists, as saved
    if saved != fingerprint:
        diff = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != fingerprint.get(k))
        raise InputError("snapshot", f"{path} belongs to a different run (differs in {', '.join(diff)}); "
                                     "delete it to start this run afresh")
    return data


def train(sim, *, steps: int, lr_W1: float, lr_a: float = 0.0, evaluate: Callable,
          eval_steps=None, stop_tol: float | None = 1e-8, check_every: int = 50,
          batch_size: int | None = None, rng: np.random.Generator | None = None,
          keep_weights: bool = False, diverge_factor: float = 1e3, lr_drops: int = 0,
          drop_factor: float = 0.1, progress: Callable | None = None,
          snapshot: Path | str | None = None, snapshot_s: float = 300.0) -> Trajectory:
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
    snapshot : path or None
        File keeping the run's state (module docstring, "Resuming an interrupted run"), meant for the
        long paper-scale runs of Hong et al. 2021 Fig. 2 and Fig. 6. If it exists, the run continues
        from it (same result, bit for bit, as an uninterrupted run; a snapshot of another run raises
        :class:`~theorycheck.errors.InputError`); while training, it is rewritten atomically every
        ``snapshot_s`` seconds, after a completed step. The caller owns the file (a sweep deletes it
        when the cell is saved); None writes and reads nothing.
    snapshot_s : float > 0, seconds of wall time between snapshots

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
    snapshot_s = check_real("snapshot_s", snapshot_s, low=0.0, low_open=True)
    snapshot = None if snapshot is None else Path(snapshot)
    fingerprint = None
    if snapshot is not None:
        fingerprint = _fingerprint(
            sim, steps=steps, lr_W1=lr_W1, lr_a=lr_a, batch_size=None if full else batch_size,
            stop_tol=stop_tol, check_every=check_every, lr_drops=lr_drops, drop_factor=drop_factor,
            diverge_factor=float(diverge_factor), keep_weights=bool(keep_weights),
            eval_steps=_digest(np.asarray(sched, dtype=np.int64)), n_eval_steps=len(sched))

    rec = {"steps": [], "test": [], "total": [], "base": [], "feature": []}
    best = (math.inf, 0, None)
    eval_time, elapsed0 = 0.0, 0.0
    loss0 = None
    converged = False
    step, parts = 0, None
    if snapshot is not None and snapshot.exists():
        z = _read_snapshot(snapshot, fingerprint)
        try:
            sim.set_state(z)
        except InputError as exc:
            raise InputError("snapshot", f"{snapshot} does not fit this simulator: {exc}") from exc
        step = int(z["step"])
        rec = {"steps": [int(v) for v in z["rec_steps"]],
               **{k: [float(v) for v in z[f"rec_{k}"]] for k in ("test", "total", "base", "feature")}}
        best = (float(z["best_err"]), int(z["best_step"]),
                (z["best_W1"], z["best_a"]) if "best_W1" in z else None)
        loss0 = None if math.isnan(float(z["loss0"])) else float(z["loss0"])   # NaN: not yet computed
        converged = bool(z["converged"])
        elapsed0, eval_time = float(z["elapsed_s"]), float(z["eval_s"])
        perm, pos = (z["perm"], int(z["pos"])) if not full else (None, 0)
        if not full:
            rng.bit_generator.state = _rng_state_from_json(str(z["rng_state"]))
    else:
        perm, pos = (rng.permutation(sim.N), 0) if not full else (None, 0)
    t_start = time.perf_counter() - elapsed0
    t_snap = time.perf_counter()

    def save_snapshot():
        arrays = {"fingerprint": np.array(json.dumps(fingerprint, sort_keys=True)),
                  "step": np.array(step), **sim.state(),
                  "rec_steps": np.asarray(rec["steps"], dtype=np.int64),
                  **{f"rec_{k}": np.asarray(rec[k], dtype=np.float64)
                     for k in ("test", "total", "base", "feature")},
                  "best_err": np.array(best[0]), "best_step": np.array(best[1]),
                  "loss0": np.array(math.nan if loss0 is None else loss0), "converged": np.array(converged),
                  "elapsed_s": np.array(time.perf_counter() - t_start), "eval_s": np.array(eval_time),
                  "pos": np.array(pos)}
        if best[2] is not None:
            arrays["best_W1"], arrays["best_a"] = best[2]
        if not full:
            arrays["perm"] = np.asarray(perm)
            arrays["rng_state"] = np.array(_rng_state_json(rng))
        atomic_write(snapshot, lambda fh: np.savez(fh, **arrays))

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
        if snapshot is not None and time.perf_counter() - t_snap >= snapshot_s:
            save_snapshot()
            t_snap = time.perf_counter()

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
