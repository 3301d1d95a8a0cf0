"""Seeds derived from names and parameters, so a result never depends on which worker ran it, when,
or in which file its code lives.

Every random number of a run comes from one of two kinds of *named stream*:

* a **cell stream**: the generator a sweep hands each cell,
  ``SeedSequence([run_seed, *hash(claim_id, stream, cell parameters)])``
  (:meth:`~theorycheck.sweep.RunContext.map`, ``stream=`` names it);
* a **direct stream**: :meth:`~theorycheck.sweep.RunContext.rng` with keyword names, for seeds drawn
  once in a claim's measurement and handed to several cells, so that paired arms (base and
  student-teacher, say) see the same data, teacher and initialisation.

Inside a cell, :func:`substream` splits a seed it was handed into independent generators by tag
(``substream(seed, 0)`` for the data, ``substream(seed, 1)`` for the initialisation, ...).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["cell_key", "cell_rng", "substream", "stable_json", "json_default"]


def stable_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces) used for hashing parameters."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=json_default)


def json_default(o):
    """``json.dumps`` hook: NumPy scalars and arrays become plain numbers and lists."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def cell_key(namespace: str, params: dict) -> str:
    """16 hex digits of the SHA-256 hash of ``namespace`` and ``params`` (a cell's file name and seed)."""
    return hashlib.sha256((namespace + "|" + stable_json(params)).encode()).hexdigest()[:16]


def cell_rng(seed: int, namespace: str, params: dict) -> np.random.Generator:
    """Generator of one named stream: run ``seed`` mixed with a hash of ``namespace`` and ``params``."""
    key = cell_key(namespace, params)
    words = [int(key[i:i + 8], 16) for i in range(0, 16, 8)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def substream(seed: int, *tags: int) -> np.random.Generator:
    """Independent generator number ``tags`` of a handed-down integer ``seed``.

    ``substream(s)`` equals ``numpy.random.default_rng(s)`` and ``substream(s, t, ...)`` equals
    ``default_rng([s, t, ...])``: one ``SeedSequence`` over the words, so distinct tags give
    independent streams and the same words always the same numbers.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), *(int(t) for t in tags)]))
