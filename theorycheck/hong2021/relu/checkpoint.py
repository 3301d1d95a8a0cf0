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
  blocks, objective, SHA-256 of the inputs, targets and initial weights);
* ``checksum``: SHA-256 of every other array (name, dtype, shape and bytes).

A snapshot that cannot be used is refused with :class:`UnreadableSnapshot`, naming the file and the
reason, rather than continued as another run or from damaged numbers: one that is not a readable
``.npz`` file (truncated, empty), has no fingerprint, belongs to another run (its fingerprint
differs), whose contents do not match its checksum (modified or damaged), whose arrays do not fit
the simulator (shape, dtype) or hold non-finite numbers, or whose counters are out of range. The
sweep moves such a file aside and starts the run afresh.
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
from ...store import UnreadableFile, atomic_write
from .training import TrainSpec, TrainState, Trajectory, train

__all__ = ["SNAPSHOT_FORMAT", "CheckpointSpec", "UnreadableSnapshot", "fingerprint", "save_snapshot",
           "load_snapshot", "train_checkpointed", "progress_printer"]

#: Written into every snapshot's fingerprint; a snapshot of another format is refused.
SNAPSHOT_FORMAT = "theorycheck.hong2021.relu.train/3"


class UnreadableSnapshot(UnreadableFile, InputError):
    """A snapshot file that cannot be continued from (module docstring): ``path`` names it,
    ``reason`` says why.

    It is an :class:`~theorycheck.store.UnreadableFile` (a sweep moves the file aside and reruns the
    cell from the start) and an :class:`~theorycheck.errors.InputError` on the parameter ``snapshot``
    (outside a sweep it ends the run with one line naming the file).
    """

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        self.param = "snapshot"
        Exception.__init__(self, f"snapshot {path} cannot be used: {reason}; delete it to start the run afresh")

    def __reduce__(self):  # travels back intact from a worker process
        return (type(self), (self.path, self.reason))

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


def _sha256(arr) -> str | None:
    if arr is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(to_numpy(arr)).tobytes()).hexdigest()[:32]


def fingerprint(sim, spec: TrainSpec) -> dict:
    """What defines a run (JSON-able): a snapshot is continued only under an equal fingerprint.

    Call it before training starts (it hashes the simulator's initial first layer, through
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
            **run, "eval_steps": _sha256(np.asarray(spec.eval_steps, dtype=np.int64)),
            "n_eval_steps": len(spec.eval_steps),
            "sha256_Z": _sha256(sim.Z), "sha256_y": _sha256(sim.y),
            "sha256_W1_init": _sha256(sim.layer.identity()), "sha256_a_init": _sha256(sim.a)}


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


def _checksum(arrays: dict) -> str:
    """SHA-256 of the arrays (name, dtype, shape, bytes), in name order; ``checksum`` itself excluded."""
    h = hashlib.sha256()
    for name in sorted(k for k in arrays if k != "checksum"):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


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
    arrays["checksum"] = np.array(_checksum(arrays))
    atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))


def _finite_arrays(data: dict) -> str | None:
    """The name of the first float array holding NaN or inf where none may be, else None.

    ``loss0`` is NaN before it is computed and ``best_err`` inf before the first evaluation."""
    for name, arr in data.items():
        if name in ("loss0", "best_err") or arr.dtype.kind not in "fc":
            continue
        if not np.all(np.isfinite(arr)):
            return name
    if np.isinf(data["loss0"]) or np.isnan(data["best_err"]):
        return "loss0" if np.isinf(data["loss0"]) else "best_err"
    return None


def load_snapshot(path: Path, fp: dict, sim, rng: np.random.Generator | None) -> TrainState:
    """Read snapshot ``path``, check it belongs to the run ``fp``, restore ``sim`` and ``rng`` to it
    and return the training state to continue from (``train(..., start=state)``).

    Raises :class:`UnreadableSnapshot` (an :class:`~theorycheck.errors.InputError` on ``snapshot``
    naming the file) for a file that cannot be continued from: not a readable snapshot, one of
    another run, damaged or modified contents, arrays that do not fit the simulator or are not
    finite, counters out of range.
    """
    def refuse(reason):
        return UnreadableSnapshot(path, reason)

    try:
        # the file is opened here, so it is closed even when NumPy fails half-way through the zip
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # truncated or empty zip, not a zip, a damaged member: all unreadable
        raise refuse(f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if "fingerprint" not in data:
        raise refuse("not a training snapshot (no fingerprint)")
    if "checksum" not in data or str(data["checksum"]) != _checksum(data):
        raise refuse("its contents do not match its checksum (modified or damaged)")
    try:
        saved = json.loads(str(data["fingerprint"]))
    except ValueError:
        raise refuse("its fingerprint is not JSON") from None
    fp = json.loads(json.dumps(fp, sort_keys=True))   # tuples -> lists, as saved
    if saved != fp:
        diff = sorted(k for k in set(saved) | set(fp) if not isinstance(saved, dict) or saved.get(k) != fp.get(k))
        raise refuse(f"it belongs to a different run (differs in {', '.join(diff)})")
    needed = ("step", "rec_steps", *(f"rec_{k}" for k in _RECORD), "best_err", "best_step", "loss0",
              "converged", "elapsed_s", "eval_s", "pos")
    missing = [k for k in needed if k not in data]
    if missing:
        raise refuse(f"it lacks the arrays {missing}")
    bad = _finite_arrays(data)
    if bad is not None:
        raise refuse(f"its array {bad!r} holds non-finite numbers")
    n_rec = data["rec_steps"].shape
    step, best_step = int(data["step"]), int(data["best_step"])
    if any(data[f"rec_{k}"].shape != n_rec for k in _RECORD) or len(n_rec) != 1:
        raise refuse("its recorded trajectory has arrays of different lengths")
    if not 0 <= best_step <= step <= int(fp["steps"]):
        raise refuse(f"its counters are out of range (step {step}, best step {best_step}, steps {fp['steps']})")
    try:
        sim.set_state(data)
    except InputError as exc:
        raise refuse(f"it does not fit this simulator ({exc})") from None
    minibatch = "perm" in data
    if minibatch:
        perm, pos = data["perm"], int(data["pos"])
        if perm.shape != (sim.N,) or not np.array_equal(np.sort(perm), np.arange(sim.N)) or not 0 <= pos <= sim.N:
            raise refuse("its minibatch order is not a permutation of the samples")
        try:
            rng.bit_generator.state = _rng_state_from_json(str(data["rng_state"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise refuse(f"its generator state cannot be restored ({exc})") from None
    return TrainState(
        step=step,
        record={"steps": [int(v) for v in data["rec_steps"]],
                **{k: [float(v) for v in data[f"rec_{k}"]] for k in _RECORD}},
        best_error=float(data["best_err"]), best_step=best_step,
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
    uninterrupted run; a snapshot that cannot be continued from raises :class:`UnreadableSnapshot`);
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
