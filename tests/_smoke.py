"""One smoke run of every registered claim per test session, shared by the figure, report and docs tests.

Each claim runs at most once per session (on first use), into one output folder; the tests that need
saved results read them from there instead of running the claims again. Set
``THEORYCHECK_TEST_SMOKE_OUT`` to a folder to keep that output between sessions: a rerun then reuses
the finished sweep cells whose code has not changed (as ``theorycheck check`` does).
"""

from __future__ import annotations

import os
from pathlib import Path

_STATE: dict = {}


def smoke_out(tmp_path_factory) -> Path:
    """The session's shared output folder (created on first use)."""
    if "out" not in _STATE:
        keep = os.environ.get("THEORYCHECK_TEST_SMOKE_OUT")
        _STATE["out"] = Path(keep) if keep else tmp_path_factory.mktemp("smoke_all_claims")
        _STATE["results"] = {}
    return _STATE["out"]


def smoke_result(claim_id: str, tmp_path_factory):
    """The smoke-scale :class:`~theorycheck.result.Result` of ``claim_id``, saved in :func:`smoke_out`."""
    from theorycheck import run_claim
    out = smoke_out(tmp_path_factory)
    results = _STATE["results"]
    if claim_id not in results:
        results[claim_id] = run_claim(claim_id, "smoke", out=out)
    return results[claim_id]


def all_smoke_results(tmp_path_factory) -> tuple[Path, dict]:
    """Every registered claim's smoke result (running those not yet run) and their folder."""
    from theorycheck import list_claims
    return smoke_out(tmp_path_factory), {c.id: smoke_result(c.id, tmp_path_factory) for c in list_claims()}
