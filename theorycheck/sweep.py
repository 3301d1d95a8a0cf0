"""Sweeps: a grid of independent cells, each seeded from (run seed, cell parameters) and saved as it
finishes, so an interrupted run resumes with nothing lost.

A cell function has the signature ``fn(cell: dict, rng: numpy.random.Generator) -> dict`` and must be
defined at module level (it is pickled to worker processes or Dask workers). Its result must be
JSON-serialisable (numpy arrays and scalars are converted). Results are passed through JSON even
when computed fresh, so a reused cell and a fresh one are bit-for-bit the same.

A saved cell is reused when the claim, the cell function's name, the run seed, the cell's
parameters and the toolkit's code all match: the code enters as a hash of every ``.py`` file of
the installed package (:func:`~theorycheck.seeding.code_fingerprint`), so any edit to the package
-- a fix in a simulator a cell calls, not only in the cell function -- starts the cells afresh
instead of mixing results of two versions of the code. The hash enters the file name only, not the
cell's seed: the same seed gives the same random numbers whatever the code version.

Entries of a cell whose name starts with ``_`` are *run settings* (how often to print progress or save
a snapshot, say): the cell function receives them, but they are left out of the cell's key and seed,
so changing them reuses saved cells and never changes a number.

Cells that run for a long time can also save their own progress: while a cell runs,
:func:`cell_snapshot_path` returns ``<cells_dir>/<key>.snapshot`` (``None`` when the context keeps
nothing), a file the cell may write and read back to continue where an interrupted run stopped. The
sweep deletes it when the cell's result is saved. On a remote Dask cluster the path is on the worker's
file system; a cell resumes from it only if it runs there again.
"""

from __future__ import annotations

import contextvars
import json
import os
import sys
import weakref
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError, check_int
from .seeding import cell_key, cell_rng, code_fingerprint
from .store import atomic_write_json, to_jsonable

__all__ = ["RunContext", "run_cell", "cell_identity", "cell_snapshot_path"]

CellFn = Callable[[dict, np.random.Generator], dict]

_SNAPSHOT: contextvars.ContextVar[str | None] = contextvars.ContextVar("theorycheck_snapshot", default=None)


def cell_snapshot_path() -> Path | None:
    """Where the running cell may keep a snapshot of its unfinished work (module docstring), or None."""
    path = _SNAPSHOT.get()
    return None if path is None else Path(path)


def _namespace(claim_id: str, fn: CellFn) -> str:
    from . import __version__
    return f"{claim_id}|{fn.__module__}.{fn.__qualname__}|{__version__}"


def cell_identity(cell: dict) -> dict:
    """The entries of ``cell`` that make its key and seed: all but the ``_`` run settings."""
    return {k: v for k, v in cell.items() if not str(k).startswith("_")}


def run_cell(fn: CellFn, cell: dict, seed: int, namespace: str, blas_threads: int | None = None,
             snapshot: str | None = None) -> dict:
    """Run one cell with its derived generator; returns the JSON-normalised result.

    ``snapshot`` is the path :func:`cell_snapshot_path` returns inside the cell.
    """
    rng = cell_rng(seed, namespace, cell_identity(cell))
    token = _SNAPSHOT.set(snapshot)
    try:
        if blas_threads:
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=blas_threads):
                out = fn(dict(cell), rng)
        else:
            out = fn(dict(cell), rng)
    finally:
        _SNAPSHOT.reset(token)
    return json.loads(json.dumps(to_jsonable(out)))


@dataclass
class RunContext:
    """Everything a claim's check needs besides its parameters.

    Parameters
    ----------
    claim_id : str
        Namespaces the cell seeds and the cell folder.
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
    stats: dict = field(default_factory=lambda: {"cells_run": 0, "cells_reused": 0})
    _dask: "_DaskSession | None" = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.jobs = check_int("jobs", self.jobs, low=1)
        self.seed = check_int("seed", self.seed, low=0)

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

    def rng(self, **params) -> np.random.Generator:
        """A generator for work outside sweeps, derived from the run seed and ``params``."""
        return cell_rng(self.seed, self.claim_id + "|direct", params)

    def map(self, fn: CellFn, cells: list[dict], desc: str | None = None) -> list[dict]:
        """Run ``fn`` on every cell (skipping saved ones); results come back in the order of ``cells``."""
        ns = _namespace(self.claim_id, fn)
        # the run seed is part of the key: a cell saved under --seed 0 is never reused for --seed 1; the
        # code hash too (but not of the seed: editing the code must not change the random numbers)
        keys = [cell_key(f"{ns}|{code_fingerprint()}", {"run_seed": self.seed, "cell": cell_identity(c)})
                for c in cells]
        results: list[dict | None] = [None] * len(cells)
        todo = []
        for i, key in enumerate(keys):
            path = self._cell_file(key, ".json")
            if path is not None and path.exists():
                results[i] = json.loads(path.read_text())["result"]
                self.stats["cells_reused"] += 1
            else:
                todo.append(i)
        bar = self._bar(len(cells), len(cells) - len(todo), desc or self.claim_id)
        try:
            snaps = [None if self.cells_dir is None else str(self._cell_file(keys[i], ".snapshot"))
                     for i in todo]
            for i, out in self._execute(fn, ns, [cells[i] for i in todo], todo, snaps):
                results[i] = out
                path = self._cell_file(keys[i], ".json")
                if path is not None:
                    atomic_write_json(path, {"cell": cells[i], "seed": self.seed, "result": out})
                    self._cell_file(keys[i], ".snapshot").unlink(missing_ok=True)
                self.stats["cells_run"] += 1
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return results  # type: ignore[return-value]

    # -- internals -------------------------------------------------------------------------
    def _cell_file(self, key: str, suffix: str) -> Path | None:
        """``<cells_dir>/<key><suffix>``: the saved result (.json) or unfinished work (.snapshot)."""
        return None if self.cells_dir is None else Path(self.cells_dir) / f"{key}{suffix}"

    def _bar(self, total: int, done: int, desc: str):
        if not self.progress or total == 0:
            return None
        from tqdm.auto import tqdm
        return tqdm(total=total, initial=done, desc=desc, unit="cell", file=sys.stderr, leave=False)

    def _execute(self, fn, ns, cells, index, snaps):
        if not cells:
            return
        if self.scheduler is not None:
            yield from self._execute_dask(fn, ns, cells, index, snaps)
        elif self.jobs == 1:
            for i, cell, snap in zip(index, cells, snaps):
                yield i, run_cell(fn, cell, self.seed, ns, snapshot=snap)
        else:
            threads = max(1, (os.cpu_count() or 1) // self.jobs)
            ctx = get_context("forkserver") if sys.platform.startswith("linux") else get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx) as pool:
                futures = {pool.submit(run_cell, fn, c, self.seed, ns, threads, snap): i
                           for i, c, snap in zip(index, cells, snaps)}
                try:
                    for fut in as_completed(futures):
                        yield futures[fut], fut.result()
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise

    def _execute_dask(self, fn, ns, cells, index, snaps):
        if self._dask is None:
            self._dask = _DaskSession(self.scheduler, self.jobs)
            weakref.finalize(self, self._dask.close)
        client = self._dask.client
        from dask.distributed import as_completed as dask_completed
        futures = client.map(run_cell, [fn] * len(cells), cells, [self.seed] * len(cells),
                             [ns] * len(cells), [None] * len(cells), snaps, pure=False)
        where = {f.key: i for f, i in zip(futures, index)}
        try:
            for fut in dask_completed(futures):
                yield where[fut.key], fut.result()
        except BaseException:
            client.cancel(futures)
            self.close()  # an interrupted or failed sweep leaves no cluster behind
            raise


class _DaskSession:
    """A Dask client, with the LocalCluster it started for ``scheduler="local"``."""

    def __init__(self, scheduler: str, jobs: int):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError("scheduler", "needs dask.distributed: pip install 'theorycheck[dask]'") from exc
        self.cluster = None
        if scheduler == "local":
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler)
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
