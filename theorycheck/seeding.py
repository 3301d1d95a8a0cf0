"""Seeds derived from parameters, so a result never depends on which worker ran it or when.

A cell's generator is ``SeedSequence([run_seed, *hash(claim_id, cell_params)])``: the same run seed
and the same cell parameters give the same numbers, in any order, on any executor.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

__all__ = ["cell_key", "cell_rng", "code_fingerprint", "stable_json"]


def stable_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces) used for hashing parameters."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def cell_key(namespace: str, params: dict) -> str:
    """16-hex-digit SHA-256 digest of ``namespace`` and ``params`` (a cell's file name and seed)."""
    return hashlib.sha256((namespace + "|" + stable_json(params)).encode()).hexdigest()[:16]


def cell_rng(seed: int, namespace: str, params: dict) -> np.random.Generator:
    """Generator for one cell: run ``seed`` mixed with a hash of ``namespace`` and ``params``."""
    digest = cell_key(namespace, params)
    words = [int(digest[i:i + 8], 16) for i in range(0, 16, 8)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """16 hex digits of SHA-256 over the path and bytes of every ``.py`` file of the package.

    Part of every saved cell's key (never of a seed) and of every result's ``versions``: results of
    two different versions of the code are never mixed, and a result says which code made it.
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
