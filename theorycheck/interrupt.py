"""Prompt, clean interruption: SIGTERM behaves like Ctrl-C, and worker processes are stopped at once.

``timeout``, ``kill`` and batch schedulers send SIGTERM, whose default action ends the process
without running any cleanup, leaving its worker processes computing for minutes. Inside
:func:`terminate_as_interrupt` a SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the
main thread instead, so the same cleanup runs as for Ctrl-C: pending cells are cancelled, workers
are stopped, finished cells stay saved, and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["Terminated", "terminate_as_interrupt", "stop_processes"]


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
