"""Sweeps: a grid of independent cells, each seeded from (run seed, stream, cell parameters) and saved
as it finishes, so an interrupted run resumes with nothing lost.

A cell function is ``fn(cell: dict, rng: numpy.random.Generator) -> dict``, or
``fn(cell, rng, run: CellRun) -> dict`` when the sweep is given run ``settings``. It must be defined
at module level (it is pickled to worker processes or Dask workers). Its result must be
JSON-serialisable (numpy arrays and scalars are converted). Results pass through JSON even when
computed fresh, so a reused cell and a fresh one are bit-for-bit the same.

**Seeds.** ``rng`` is the cell's generator on the named stream ``stream`` of the claim
(:mod:`theorycheck.seeding`): it depends on the run seed, the claim, the stream name and the cell's
parameters only, never on the file the code lives in or on the worker that runs it.

**Reuse.** A cell is saved as ``<cells_dir>/<key>.json``, ``key`` a hash of the claim, the stream,
the run seed and the cell's parameters. The file records the hash of the code the cell ran
(:func:`~theorycheck.codehash.code_hash` of the cell function's module): a saved cell is reused
while that code is unchanged and recomputed (and counted as such) once it changed.

**Run settings** (how often to print progress or to save a snapshot, say) are not parameters: they
change no number, so they are handed to the cell apart from it, in :class:`CellRun`, and never enter
its key or seed. ``CellRun.snapshot`` is a file the cell may keep its unfinished work in, to
continue where an interrupted run stopped; the sweep deletes it once the cell's result is saved. On a
remote Dask cluster the path is on the worker's file system; a cell resumes from it only if it runs
there again.

**BLAS threads.** The sweep sets the BLAS thread count of every cell, on every executor: the
machine's cores divided among the cells that run at once, or fewer when the sweep is told so
(``blas_threads=1`` for cells made of many small products, where threads only cost). Mathematical
code never sets it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from .codehash import code_hash
from .errors import InputError, check_int
from .seeding import cell_key, cell_rng
from .limits import max_jobs
from .store import UnreadableFile, atomic_write_json, move_aside, read_json, to_jsonable

__all__ = ["RunContext", "CellRun", "run_cell"]

CellFn = Callable[..., dict]


@dataclass(frozen=True)
class CellRun:
    """How a cell runs, apart from what it computes.

    Attributes
    ----------
    settings : mapping
        The sweep's run settings (e.g. ``progress_s``, ``snapshot_s``).
    snapshot : Path or None
        A file for the cell's unfinished work, or ``None`` when the run keeps nothing.
    """

    settings: Mapping
    snapshot: Path | None = None


def _stream_namespace(claim_id: str, stream: str) -> str:
    return f"{claim_id}|{stream}"


def run_cell(fn: CellFn, cell: dict, seed: int, namespace: str, blas_threads: int,
             settings: Mapping | None = None, snapshot: str | None = None) -> dict:
    """Run one cell with its generator and ``blas_threads`` BLAS threads.

    Returns ``{"result": <the cell's JSON-normalised result>, "seconds": <its wall time>}``.
    """
    t0 = time.perf_counter()
    from threadpoolctl import threadpool_limits
    rng = cell_rng(seed, namespace, cell)
    args = (dict(cell), rng)
    if settings is not None:
        args += (CellRun(MappingProxyType(dict(settings)), None if snapshot is None else Path(snapshot)),)
    # overflow and invalid operations raise in every executor, as in the runner: no verdict is ever
    # drawn from a NaN that slipped through a worker process
    with threadpool_limits(limits=blas_threads, user_api="blas"), \
            np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            out = fn(*args)
        except UnreadableFile as exc:
            # a truncated or tampered snapshot of this cell: set it aside and start the cell afresh
            if snapshot is None or exc.path != Path(snapshot):
                raise
            move_aside(exc.path, exc.reason)
            out = fn(dict(cell), cell_rng(seed, namespace, cell), args[2])
    return {"result": json.loads(json.dumps(to_jsonable(out))), "seconds": time.perf_counter() - t0}


def _run_indexed(work):
    """``(index, run_cell(...))`` for a worker process."""
    *args, index = work
    return index, run_cell(*args)


def _ignore_sigint():
    """Workers leave Ctrl-C to the parent, which stops them (a terminal sends it to the whole group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class RunContext:
    """Everything a claim's measurement needs besides its parameters.

    Parameters
    ----------
    claim_id : str
        Namespaces the seeds and the cell folder.
    seed : int
        The run seed; every random number of the run derives from it.
    cells_dir : Path or None
        Where finished cells are saved; ``None`` keeps nothing (no resume).
    jobs : int
        1 runs cells in this process, N > 1 in N local processes.
    scheduler : str or None
        ``"local"`` starts a Dask LocalCluster with ``jobs`` workers; an address such as
        ``tcp://host:8786`` uses that Dask scheduler. ``None``: no Dask.
    backend : str
        Array backend for simulators that support it: ``"numpy"`` or ``"cupy"``.
    backend_requested : str or None
        The backend the user asked for, when the claim cannot use it and runs on ``backend``.
    progress : bool
        Show a progress bar for sweeps.
    """

    claim_id: str
    seed: int = 0
    cells_dir: Path | None = None
    jobs: int = 1
    scheduler: str | None = None
    backend: str = "numpy"
    backend_requested: str | None = None
    progress: bool = False
    stats: dict = field(default_factory=lambda: {"run": 0, "reused": 0, "recomputed": 0, "seconds": 0.0})
    code: dict = field(default_factory=dict)
    _dask: "_DaskSession | None" = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        # more workers than cores only multiplies memory (one worker per cell used to start hundreds)
        self.jobs = check_int("jobs", self.jobs, low=1, high=max_jobs())
        self.seed = check_int("seed", self.seed, low=0, high=2 ** 63 - 1)

    def close(self) -> None:
        """Shut down the Dask client and LocalCluster of this context, if one was started.

        A context starts them at its first Dask sweep and reuses them for the next ones (so worker
        processes and their caches survive between the sweeps of one claim); they are also shut down
        when the context is garbage-collected. Closing twice is harmless.
        """
        if self._dask is not None:
            self._dask.close()
            self._dask = None

    def __enter__(self) -> "RunContext":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def rng(self, **names) -> np.random.Generator:
        """The direct stream named by ``names`` (keyword names and values), derived from the run seed."""
        return cell_rng(self.seed, self.claim_id + "|direct", names)

    def map(self, fn: CellFn, cells: list[dict], *, stream: str, settings: Mapping | None = None,
            blas_threads: int | None = None, desc: str | None = None) -> list[dict]:
        """Run ``fn`` on every cell (reusing saved ones); results come back in the order of ``cells``.

        Parameters
        ----------
        fn : cell function (module docstring)
        cells : list of dict
            The cells' parameters: their key and their seed.
        stream : str
            Name of the cells' seed stream within the claim. Two sweeps of one claim with different
            streams draw independent numbers; renaming a stream changes the numbers.
        settings : mapping, optional
            Run settings; when given, ``fn`` is called with a third argument, a :class:`CellRun`.
        blas_threads : int, optional
            At most this many BLAS threads per cell (module docstring).
        desc : str, optional
            Label of the progress bar.
        """
        ns = _stream_namespace(self.claim_id, stream)
        code = code_hash(fn.__module__)
        self.code[f"{fn.__module__}.{fn.__qualname__}"] = code
        # the run seed is part of the key: a cell saved under --seed 0 is never reused for --seed 1
        keys = [cell_key(ns, {"run_seed": self.seed, "cell": c}) for c in cells]
        results: list[dict | None] = [None] * len(cells)
        todo = [i for i in range(len(cells)) if not self._reuse(keys[i], code, results, i)]
        bar = self._bar(len(cells), len(cells) - len(todo), desc or self.claim_id)
        locks = _CellLocks(self.cells_dir)
        try:
            # cells another run is computing right now are left to it and read back at the end
            mine = [i for i in todo if locks.try_acquire(keys[i])]
            theirs = [i for i in todo if i not in set(mine)]
            self._compute(fn, ns, code, cells, keys, mine, results, blas_threads, settings, locks, bar)
            for i in theirs:
                locks.wait(keys[i])
                if self._reuse(keys[i], code, results, i, recount=False):
                    if bar is not None:
                        bar.update(1)
                else:
                    self._compute(fn, ns, code, cells, keys, [i], results, blas_threads, settings, locks, bar)
        finally:
            locks.release_all()
            if bar is not None:
                bar.close()
        return results  # type: ignore[return-value]

    def _reuse(self, key: str, code: str, results: list, i: int, recount: bool = True) -> bool:
        """Fill ``results[i]`` from the saved cell if it was made by ``code``; count what happened."""
        saved = self._saved(key)
        if saved is not None and saved.get("code") == code:
            results[i] = saved["result"]
            self.stats["reused"] += 1
            self.stats["seconds"] += float(saved.get("seconds", 0.0))
            return True
        if saved is not None and recount:
            self.stats["recomputed"] += 1
        return False

    def _compute(self, fn, ns, code, cells, keys, index, results, blas_threads, settings, locks, bar):
        snaps = [None if self.cells_dir is None else str(self._cell_file(keys[i], f".{code}.snapshot"))
                 for i in index]
        threads = self._threads(blas_threads)
        for i, done in self._execute(fn, ns, [cells[i] for i in index], index, snaps, threads, settings):
            results[i] = out = done["result"]
            self.stats["seconds"] += done["seconds"]
            path = self._cell_file(keys[i], ".json")
            if path is not None:
                atomic_write_json(path, {"cell": cells[i], "seed": self.seed, "code": code, "result": out,
                                         "seconds": done["seconds"]})
                self._cell_file(keys[i], f".{code}.snapshot").unlink(missing_ok=True)
            locks.release(keys[i])
            self.stats["run"] += 1
            if bar is not None:
                bar.update(1)

    # -- internals -------------------------------------------------------------------------
    def _cell_file(self, key: str, suffix: str) -> Path | None:
        """``<cells_dir>/<key><suffix>``: the saved result (.json) or unfinished work (.snapshot)."""
        return None if self.cells_dir is None else Path(self.cells_dir) / f"{key}{suffix}"

    def _saved(self, key: str) -> dict | None:
        """The saved cell of ``key``, or None; an unreadable one is moved aside (and recomputed)."""
        path = self._cell_file(key, ".json")
        if path is None or not path.exists():
            return None
        try:
            saved = read_json(path)
            if not (isinstance(saved, dict) and isinstance(saved.get("result"), dict)
                    and isinstance(saved.get("code"), str)):
                raise UnreadableFile(path, "not a saved cell (no 'result' object or 'code')")
        except (UnreadableFile, OSError) as exc:
            move_aside(path, getattr(exc, "reason", str(exc)))
            return None
        return saved

    def _threads(self, cap: int | None) -> int:
        """BLAS threads per cell: the cores shared among the cells that run at once, at most ``cap``."""
        at_once = 1 if self.scheduler is None and self.jobs == 1 else self.jobs
        threads = max(1, (os.cpu_count() or 1) // at_once)
        return threads if cap is None else max(1, min(threads, int(cap)))

    def _bar(self, total: int, done: int, desc: str):
        if not self.progress or total == 0:
            return None
        from tqdm.auto import tqdm
        return tqdm(total=total, initial=done, desc=desc, unit="cell", file=sys.stderr, leave=False)

    def _execute(self, fn, ns, cells, index, snaps, threads, settings):
        if not cells:
            return
        if self.scheduler is not None:
            yield from self._execute_dask(fn, ns, cells, index, snaps, threads, settings)
        elif self.jobs == 1:
            for i, cell, snap in zip(index, cells, snaps):
                yield i, run_cell(fn, cell, self.seed, ns, threads, settings, snap)
        else:
            ctx = get_context("forkserver") if sys.platform.startswith("linux") else get_context("spawn")
            # never more workers than cells: each worker costs an interpreter and its imports
            pool = ctx.Pool(processes=min(self.jobs, len(cells)), initializer=_ignore_sigint)
            work = [(fn, c, self.seed, ns, threads, settings, snap, i) for i, c, snap in zip(index, cells, snaps)]
            try:
                yield from pool.imap_unordered(_run_indexed, work)
                pool.close()
            except BaseException:
                # Ctrl-C, SIGTERM or a failed cell: stop the workers now instead of waiting for their
                # cells (finished cells are already saved; a cell with snapshots keeps its last one)
                pool.terminate()
                raise
            finally:
                pool.join()

    def _execute_dask(self, fn, ns, cells, index, snaps, threads, settings):
        if self._dask is None:
            self._dask = _DaskSession(self.scheduler, self.jobs)
            weakref.finalize(self, self._dask.close)
        client = self._dask.client
        from dask.distributed import as_completed as dask_completed
        n = len(cells)
        futures = client.map(run_cell, [fn] * n, cells, [self.seed] * n, [ns] * n, [threads] * n,
                             [settings] * n, snaps, pure=False)
        where = {f.key: i for f, i in zip(futures, index)}
        try:
            for fut in dask_completed(futures):
                yield where[fut.key], fut.result()
        except BaseException:
            client.cancel(futures)
            self.close()  # an interrupted or failed sweep leaves no cluster behind
            raise


class _CellLocks:
    """Advisory per-cell locks (``<key>.lock`` beside the saved cells, ``fcntl.flock``), so two runs
    on one output folder compute each cell once: the second run leaves a locked cell to the first and
    reads its result back when the lock is released. Without a folder (or without ``fcntl``) every
    lock is granted."""

    def __init__(self, cells_dir):
        self.dir = None if cells_dir is None else Path(cells_dir)
        self.held: dict[str, int] = {}
        try:
            import fcntl
            self._fcntl = fcntl
        except ImportError:  # pragma: no cover - not POSIX
            self._fcntl = None

    def _open(self, key: str) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        return os.open(self.dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o666)

    def try_acquire(self, key: str) -> bool:
        if self.dir is None or self._fcntl is None:
            return True
        fd = self._open(key)
        try:
            self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.held[key] = fd
        return True

    def wait(self, key: str) -> None:
        """Block until the other run releases ``key``, then hold it."""
        if self.dir is None or self._fcntl is None:
            return
        fd = self._open(key)
        self._fcntl.flock(fd, self._fcntl.LOCK_EX)
        self.held[key] = fd

    def release(self, key: str) -> None:
        fd = self.held.pop(key, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def release_all(self) -> None:
        for key in list(self.held):
            self.release(key)


class _DaskSession:
    """A Dask client, with the LocalCluster it started for ``scheduler="local"``."""

    def __init__(self, scheduler: str, jobs: int):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError("scheduler", "needs dask.distributed: pip install 'theorycheck[dask]'") from exc
        self.cluster = None
        if scheduler != "local" and not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InputError("--scheduler", f"must be 'local' or an address such as tcp://host:8786, got {scheduler!r}")
        if scheduler == "local":
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:  # a scheduler that is not there is bad input, found in seconds, not a 30 s hang
                self.client = Client(scheduler, timeout="5s")
            except Exception as exc:  # noqa: BLE001 - refused address, timeout, malformed address
                raise InputError("--scheduler", f"no Dask scheduler answered at {scheduler} within 5 s "
                                                f"({type(exc).__name__}: {exc})") from None
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
