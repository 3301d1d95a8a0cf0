r"""Snapshots of long training runs, and progress lines: the input and output of
:func:`~theorycheck.hong2021.relu.training.train`, kept out of the training loop.

At the paper's sizes (m = 20000, d = 500) one run of Hong et al. 2021 Fig. 2 or Fig. 6 is 10,000 to
20,000 steps of 0.1 to 1 s each on a small CPU. :func:`train_checkpointed` keeps a snapshot of the
run's state in a file (:class:`CheckpointSpec`: written every ``interval_s`` seconds, after a completed
step, atomically with :func:`theorycheck.store.atomic_write`) and, when called again with the same
run, continues from it. The resumed run is bit-for-bit the run that was not interrupted (the tests
check it).

Snapshot format
---------------
An ``.npz`` file (no pickle) holding, after a completed step ``t``:

* ``step`` (0-d int) = t;
* the simulator's state (:meth:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator.state`) in its
  training dtype: ``a`` (m,) and, for the primal form, ``W1`` (m, d); for the row-space form
  ``W1_0`` (m, d) and, per neuron block k of width m_k, ``Ct_k`` (N, m_k) and ``U_k`` (N, m_k) (the
  row-space coefficients and pre-activations, restored exactly: re-forming them from :math:`W_1`
  would change their round-off);
* the recorded trajectory ``rec_steps`` (int), ``rec_test``, ``rec_total``, ``rec_base``,
  ``rec_feature`` (float64, one entry per evaluation so far);
* early stopping: ``best_err``, ``best_step`` and, with ``keep_weights``, ``best_W1``, ``best_a``;
* ``loss0`` (NaN: not yet computed), ``converged``, ``elapsed_s``, ``eval_s`` (so
  :attr:`~theorycheck.hong2021.relu.training.Trajectory.seconds` is the total);
* minibatch order: ``perm`` (N,) (the current epoch permutation), ``pos``, and ``rng_state`` (the
  generator's ``bit_generator.state`` as JSON in a 0-d string array);
* ``fingerprint``: JSON of what defines the run (:func:`fingerprint`: the
  :class:`~theorycheck.hong2021.relu.training.TrainSpec`, N, m, d, dtype, backend, method, neuron
  blocks, objective, SHA-256 of the inputs, targets and initial weights). A snapshot whose
  fingerprint differs is refused (:class:`~theorycheck.errors.InputError` naming ``snapshot``)
  rather than continued as another run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ...backend import to_numpy
from ...errors import InputError, check_real
from ...store import atomic_write
from .training import TrainSpec, TrainState, Trajectory, train

__all__ = ["SNAPSHOT_FORMAT", "CheckpointSpec", "fingerprint", "save_snapshot", "load_snapshot",
           "train_checkpointed", "progress_printer"]

#: Written into every snapshot's fingerprint; a snapshot of another format is refused.
SNAPSHOT_FORMAT = "theorycheck.hong2021.relu.train/2"

_RECORD = ("test", "total", "base", "feature")


@dataclass(frozen=True)
class CheckpointSpec:
    """Where and how often a training run keeps its snapshot.

    Attributes
    ----------
    path : Path
        The snapshot file. The caller owns it (a sweep deletes it when the cell's result is saved).
    interval_s : float > 0
        Seconds of wall time between snapshots.
    """

    path: Path
    interval_s: float = 300.0

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "interval_s", check_real("interval_s", self.interval_s, low=0.0,
                                                          low_open=True))


def _digest(arr) -> str | None:
    if arr is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(to_numpy(arr)).tobytes()).hexdigest()[:32]


def fingerprint(sim, spec: TrainSpec) -> dict:
    """What defines a run (JSON-able): a snapshot is continued only under an equal fingerprint.

    Call it before training starts (it digests the simulator's initial first layer, through
    ``sim.layer.identity()``, and output weights).
    """
    ob = sim.objective
    full = spec.batch_size is None or spec.batch_size >= sim.N
    run = {k: v for k, v in dataclasses.asdict(spec).items() if k != "eval_steps"}
    run["batch_size"] = None if full else spec.batch_size
    return {"format": SNAPSHOT_FORMAT, "N": sim.N, "m": sim.m, "d": sim.d, "dtype": str(sim.dtype),
            "backend": sim.backend, "method": sim.method, "blocks": [list(b) for b in sim.blocks],
            "objective": {"base_weight": float(ob.base_weight), "lam": float(ob.lam), "g": int(ob.g),
                          "train_W2": bool(ob.train_W2), "reduction": ob.reduction},
            **run, "eval_steps": _digest(np.asarray(spec.eval_steps, dtype=np.int64)),
            "n_eval_steps": len(spec.eval_steps),
            "sha256_Z": _digest(sim.Z), "sha256_y": _digest(sim.y),
            "sha256_W1_init": _digest(sim.layer.identity()), "sha256_a_init": _digest(sim.a)}


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


def save_snapshot(path: Path, fp: dict, sim, state: TrainState, rng: np.random.Generator | None) -> None:
    """Write the run's snapshot (module docstring) to ``path`` atomically.

    Parameters
    ----------
    path : Path
    fp : dict, the run's :func:`fingerprint`
    sim : TwoLayerSimulator, at ``state.step``
    state : TrainState
    rng : numpy.random.Generator or None, the minibatch generator (None: full batch)
    """
    arrays = {"fingerprint": np.array(json.dumps(fp, sort_keys=True)),
              "step": np.array(state.step), **sim.state(),
              "rec_steps": np.asarray(state.record["steps"], dtype=np.int64),
              **{f"rec_{k}": np.asarray(state.record[k], dtype=np.float64) for k in _RECORD},
              "best_err": np.array(state.best_error), "best_step": np.array(state.best_step),
              "loss0": np.array(math.nan if state.loss0 is None else state.loss0),
              "converged": np.array(state.converged),
              "elapsed_s": np.array(state.elapsed_s), "eval_s": np.array(state.eval_s),
              "pos": np.array(state.pos)}
    if state.best_weights is not None:
        arrays["best_W1"], arrays["best_a"] = state.best_weights
    if state.perm is not None:
        arrays["perm"] = np.asarray(state.perm)
        arrays["rng_state"] = np.array(_rng_state_json(rng))
    atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))


def load_snapshot(path: Path, fp: dict, sim, rng: np.random.Generator | None) -> TrainState:
    """Read snapshot ``path``, check it belongs to the run ``fp``, restore ``sim`` and ``rng`` to it
    and return the training state to continue from (``train(..., start=state)``).

    Raises :class:`~theorycheck.errors.InputError` (parameter ``snapshot``) for a file that is not a
    snapshot, one of another run, or one that does not fit the simulator.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError("snapshot", f"cannot read {path}: {exc}") from exc
    if "fingerprint" not in data:
        raise InputError("snapshot", f"{path} is not a training snapshot (no fingerprint)")
    saved = json.loads(str(data["fingerprint"]))
    fp = json.loads(json.dumps(fp, sort_keys=True))   # tuples -> lists, as saved
    if saved != fp:
        diff = sorted(k for k in set(saved) | set(fp) if saved.get(k) != fp.get(k))
        raise InputError("snapshot", f"{path} belongs to a different run (differs in {', '.join(diff)}); "
                                     "delete it to start this run afresh")
    try:
        sim.set_state(data)
    except InputError as exc:
        raise InputError("snapshot", f"{path} does not fit this simulator: {exc}") from exc
    minibatch = "perm" in data
    if minibatch:
        rng.bit_generator.state = _rng_state_from_json(str(data["rng_state"]))
    return TrainState(
        step=int(data["step"]),
        record={"steps": [int(v) for v in data["rec_steps"]],
                **{k: [float(v) for v in data[f"rec_{k}"]] for k in _RECORD}},
        best_error=float(data["best_err"]), best_step=int(data["best_step"]),
        best_weights=(data["best_W1"], data["best_a"]) if "best_W1" in data else None,
        loss0=None if math.isnan(float(data["loss0"])) else float(data["loss0"]),
        converged=bool(data["converged"]), elapsed_s=float(data["elapsed_s"]),
        eval_s=float(data["eval_s"]), perm=data["perm"] if minibatch else None,
        pos=int(data["pos"]) if minibatch else 0)


def train_checkpointed(sim, spec: TrainSpec, evaluate: Callable, *, rng: np.random.Generator | None = None,
                       checkpoint: CheckpointSpec | None = None,
                       progress: Callable | None = None) -> Trajectory:
    """:func:`~theorycheck.hong2021.relu.training.train`, continued from and saved to a snapshot.

    If ``checkpoint.path`` exists, the run continues from it (same result, bit for bit, as an
    uninterrupted run; a snapshot of another run raises :class:`~theorycheck.errors.InputError`);
    while training, it is rewritten atomically every ``checkpoint.interval_s`` seconds, after a
    completed step. ``checkpoint=None`` reads and writes nothing (plain ``train``). The other
    arguments are :func:`~theorycheck.hong2021.relu.training.train`'s.
    """
    if checkpoint is None:
        return train(sim, spec, evaluate, rng=rng, progress=progress)
    full = spec.batch_size is None or spec.batch_size >= sim.N
    fp = fingerprint(sim, spec)
    path = checkpoint.path
    start = load_snapshot(path, fp, sim, rng) if path.exists() else None
    last = [time.perf_counter()]

    def after_step(state: TrainState) -> None:
        if time.perf_counter() - last[0] >= checkpoint.interval_s:
            save_snapshot(path, fp, sim, state, None if full else rng)
            last[0] = time.perf_counter()

    return train(sim, spec, evaluate, rng=rng, start=start, progress=progress, after_step=after_step)


def progress_printer(label: str, every_s: float) -> Callable | None:
    """A :func:`~theorycheck.hong2021.relu.training.train` progress callback printing one line to
    stderr at most every ``every_s`` seconds (``every_s <= 0``: None, silent)."""
    if not every_s or every_s <= 0:
        return None
    last = [-float("inf")]

    def cb(info):
        now = time.perf_counter()
        if now - last[0] >= every_s:
            last[0] = now
            test = "" if info["test_error"] is None else f" test={info['test_error']:.5g}"
            print(f"[{label}] step {info['step']} loss={info['train_total']:.4g}{test} "
                  f"({info['elapsed_s']:.0f} s)", file=sys.stderr, flush=True)
    return cb
