"""Seeds derived from parameters, so a result never depends on which worker ran it or when.

A cell's generator is ``SeedSequence([run_seed, *hash(claim_id, cell_params)])``: the same run seed
and the same cell parameters give the same numbers, in any order, on any executor.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["cell_key", "cell_rng", "stable_json"]


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
