"""The results store: one folder per (scale) run, JSON per claim, cells for resumable sweeps.

Layout of an output folder ``DIR`` (default ``results/<scale>``)::

    DIR/<claim-id>.json            the claim's result (schema in docs/architecture.md)
    DIR/<claim-id>.png, .pdf       its figure, drawn only from the JSON
    DIR/cells/<claim-id>/<key>.json  one finished sweep cell; a rerun skips it
    DIR/report.html                the self-contained report

Every write goes to a temporary file in the same folder and is renamed into place, so an
interrupted run never leaves a half-written result behind.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .seeding import json_default

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_json", "read_json", "Store", "UnreadableFile",
           "move_aside", "clean_stale_temporaries", "warn"]


class UnreadableFile(Exception):
    """A saved file (cell, snapshot or result) that cannot be read back: truncated, empty, not of the
    expected format. ``path`` is the file; the store moves it aside and the work is redone."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):  # travels back intact from a worker process
        return (type(self), (self.path, self.reason))


def warn(message: str) -> None:
    """One warning line on stderr (the CLI's channel for what the user should know but not stop for)."""
    print(f"theorycheck: warning: {message}", file=sys.stderr, flush=True)


def move_aside(path, reason: str) -> Path:
    """Rename an unreadable ``path`` to ``<path>.unreadable`` (kept for inspection, never read again)
    and say so on stderr; returns the new path."""
    path = Path(path)
    target = path.with_name(path.name + ".unreadable")
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another run moved it first
        return target
    warn(f"{path} could not be read ({reason}); moved to {target.name} and recomputed")
    return target


def clean_stale_temporaries(folder, older_than_s: float = 600.0) -> int:
    """Delete temporary files left in ``folder`` (recursively) by writes that were killed mid-way,
    older than ``older_than_s`` seconds (a write in progress is never that old); returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now, n = time.time(), 0
    for tmp in folder.rglob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                n += 1
        except OSError:
            pass
    return n


def atomic_write(path: Path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file in ``path``'s folder, flush it to disk and
    rename it to ``path`` (``os.replace``): readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; outputs follow the user's umask
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux /proc), since
    setting it to read it would race with other threads creating files."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda fh: fh.write(data))


def to_jsonable(obj):
    """Convert numpy scalars/arrays (nested in dicts, lists, tuples) to plain JSON types.

    Non-finite floats are refused: a NaN in a result is a bug to surface, not a number to store.
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.generic,)):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        if np.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        raise ValueError("refusing to store NaN in a result")
    return obj


def atomic_write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=1, sort_keys=False, default=json_default)
    atomic_write_bytes(Path(path), text.encode())


def read_json(path: Path):
    """Read a JSON file written by :func:`atomic_write_json`; :class:`UnreadableFile` if it is not
    valid JSON (truncated, empty, binary)."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path, f"not valid JSON: {exc}") from None


class Store:
    """Paths of one output folder. Holds no state besides the folder."""

    def __init__(self, root):
        self.root = Path(root)

    def result_path(self, claim_id: str) -> Path:
        return self.root / f"{claim_id}.json"

    def figure_path(self, claim_id: str, ext: str = "png") -> Path:
        return self.root / f"{claim_id}.{ext}"

    def cells_dir(self, claim_id: str) -> Path:
        return self.root / "cells" / claim_id

    def report_path(self) -> Path:
        return self.root / "report.html"

    def saved_ids(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.stem for p in self.root.glob("*.json"))
