"""Prompt, clean interruption: SIGTERM behaves like Ctrl-C, and worker processes are stopped at once.

``timeout``, ``kill`` and batch schedulers send SIGTERM, whose default action ends the process
without running any cleanup, leaving its worker processes computing for minutes. Inside
:func:`terminate_as_interrupt` a SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the
main thread instead, so the same cleanup runs as for Ctrl-C: pending cells are cancelled, workers
are stopped, finished cells stay saved, and a rerun resumes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading

__all__ = ["Terminated", "terminate_as_interrupt", "stop_processes", "end_by_signal"]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum, frame):
    raise Terminated(f"received signal {signum}")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (only from the main thread; no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_processes(processes) -> None:
    """Terminate ``processes`` (``multiprocessing.Process`` objects) now, then reap them.

    A worker gets SIGTERM and, if it has not ended within a second, SIGKILL: a cell that keeps
    in-cell snapshots loses at most the work since its last snapshot.
    """
    procs = [p for p in processes if p is not None]
    for p in procs:
        with contextlib.suppress(Exception):
            if p.is_alive():
                p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=1.0)
            if p.is_alive():
                p.kill()
                p.join(timeout=1.0)


def end_by_signal(signum: int) -> None:
    """End this process by ``signum`` with the signal's default action; call it after the cleanup.

    A command stopped by Ctrl-C (or SIGTERM) should end *by* that signal rather than exit normally
    with status 130 (143): a calling shell sees the same 130 (143), and it also stops the script or
    loop it is running, which a normal exit does not tell it to do. Python itself ends this way on an
    uncaught ``KeyboardInterrupt``. It also makes the ending deterministic: CPython ends by SIGINT
    anyway, after a normal return, whenever the ``KeyboardInterrupt`` happened to land inside an
    ``exec`` of a string (dataclasses and named tuples are built that way), so a plain
    ``exit(130)`` came out only some of the time.

    First, as the interpreter's own exit would: worker processes still alive are stopped, the exit
    handlers run (a Dask cluster left open is closed by its finalizer), and the standard streams
    are flushed. On Windows, which has no such ending, this returns and the caller's exit status
    stands.
    """
    if os.name == "nt":
        return
    if "multiprocessing" in sys.modules:
        stop_processes(sys.modules["multiprocessing"].active_children())
    # the interpreter runs these before its own ending by SIGINT; the process ends before it could
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)  # raise(): delivered to this thread before it returns, so the process ends here
