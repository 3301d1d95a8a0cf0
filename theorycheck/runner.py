"""Checking a claim: resolve its parameters and criteria, validate them once, measure, decide, save.

This is the one path from a claim id to a :class:`~theorycheck.result.Result`, shared by the CLI,
the pytest plug-in, the notebooks and the tests.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .errors import InputError, check_choice
from .registry import SCALES, Claim, get_claim
from .result import Result
from .store import Store, atomic_write_bytes, clean_stale_temporaries
from .sweep import RunContext

__all__ = ["BACKENDS", "Resolved", "resolve", "run_claim", "load_result", "default_out", "recheck"]

BACKENDS = ("numpy", "cupy")


def default_out(scale: str) -> Path:
    """Default output folder of a scale: ``results/<scale>`` under the working directory."""
    return Path("results") / check_choice("scale", scale, SCALES)


@dataclass(frozen=True)
class Resolved:
    """A claim's parameters and criteria at one scale, overrides applied and validated.

    ``exploratory`` names the criteria an override changed: the verdict is then not the
    pre-registered one.
    """

    params: dict
    criteria: dict
    exploratory: tuple[str, ...]


def resolve(claim: Claim, scale: str, overrides: Mapping | None = None) -> Resolved:
    """The claim's parameters and criteria at ``scale`` with ``overrides`` applied, validated once.

    An override may name a parameter of the scale or a criterion; anything else is refused with
    the list of known names.
    """
    check_choice("scale", scale, SCALES)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError("params", f"must be a mapping of parameter names to values, got {overrides!r}")
    params = dict(claim.scales[scale])
    criteria = dict(claim.criteria)
    changed = []
    for key, value in (overrides or {}).items():
        if key in params:
            params[key] = value
        elif key in criteria:
            criteria[key] = value
            changed.append(key)
        else:
            raise InputError("param", f"{key!r} is not a parameter or criterion of {claim.id}; "
                                      f"known: {', '.join(sorted([*params, *criteria]))}")
    if claim.validate is not None:
        claim.validate({**params, **criteria})
    return Resolved(params, criteria, tuple(changed))


def _versions(ctx: RunContext) -> dict:
    import numpy
    import scipy
    import sklearn
    from .version import __version__
    out = {"theorycheck": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
           "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}
    out.update({f"code:{name}": code for name, code in sorted(ctx.code.items())})
    return out


def _numerical_failure(claim: Claim, overrides: Mapping | None, exc: FloatingPointError) -> InputError:
    """A computation that overflowed or produced NaN: name the parameters the user changed."""
    changed = ", ".join(f"{k}={v!r}" for k, v in (overrides or {}).items())
    if changed:
        return InputError("param", f"{changed} made {claim.id}'s computation fail numerically ({exc}); "
                                   "use values nearer the scale's defaults")
    return InputError("scale", f"{claim.id}'s computation failed numerically at its own parameters ({exc})")


def evaluate(claim: Claim, scale: str, ctx: RunContext, overrides: Mapping | None = None,
             memory_budget: float | None = None) -> Result:
    """Measure ``claim`` at ``scale`` with ``ctx`` and decide its verdict from the measured numbers.

    The parameters are validated and the claim's resource estimate checked before anything runs;
    an overflow or invalid operation anywhere in the measurement ends it with an
    :class:`~theorycheck.errors.InputError` (never a verdict from broken numerics).
    """
    resolved = resolve(claim, scale, overrides)
    if claim.estimate is not None:
        from .limits import check_estimate
        check_estimate(claim.id, claim.estimate(resolved.params), ctx.jobs, memory_budget)
    t0 = time.perf_counter()
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            measured = claim.measure(resolved.params, ctx)
    except FloatingPointError as exc:
        raise _numerical_failure(claim, overrides, exc) from exc
    elapsed = time.perf_counter() - t0
    metrics = dict(measured.get("metrics", {}))
    verdict = claim.verdict(metrics, resolved.params, resolved.criteria)
    return Result(
        claim=claim.id, paper=claim.paper, title=claim.title, statement=claim.statement, scale=scale,
        verdict=verdict.status,
        criteria={k: {"status": c.status, "detail": c.text, "paper": c.paper} for k, c in verdict.criteria.items()},
        metrics=metrics, series=measured.get("series", {}), params=resolved.params,
        criteria_values=resolved.criteria, exploratory=resolved.exploratory, seed=ctx.seed,
        backend=ctx.backend, backend_requested=ctx.backend_requested or ctx.backend,
        elapsed_s=elapsed, cells=dict(ctx.stats), versions=_versions(ctx),
        timings=dict(measured.get("timings", {})))


def run_claim(claim_id: str, scale: str = "smoke", *, out=None, seed: int = 0, jobs: int = 1,
              scheduler: str | None = None, backend: str = "numpy", params: Mapping | None = None,
              progress: bool = False, memory_budget: float | None = None) -> Result:
    """Check one claim and return its :class:`~theorycheck.result.Result`.

    Parameters
    ----------
    claim_id : str
        A registered id, e.g. ``"hong2021.thm1"``.
    scale : {"smoke", "default", "paper"}
    out : path-like or None
        Output folder. When given, the result is saved as ``out/<id>.json`` and finished sweep
        cells under ``out/cells/<id>/`` (so a rerun resumes). ``None`` saves nothing.
    seed : int
        Run seed; equal seeds give equal numbers.
    jobs, scheduler : see :class:`~theorycheck.sweep.RunContext`.
    backend : {"numpy", "cupy"}
        Used by claims whose ``backends`` include it; the others run on NumPy (the result's
        ``backend`` says which ran, ``backend_requested`` what was asked).
    params : mapping, optional
        Overrides of the scale's parameters or of the claim's criteria (validated; unknown keys are
        refused; an overridden criterion makes the result exploratory).
    memory_budget : float, optional
        Bytes the run may plan to use (default: half the available memory, see :mod:`theorycheck.limits`).
    """
    check_choice("scale", scale, SCALES)
    check_choice("backend", backend, BACKENDS)
    claim = get_claim(claim_id)
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise InputError("out", f"must be a folder path or None, got {type(out).__name__}")
    if out is not None and not str(out).strip():
        raise InputError("out", "must name a folder, got an empty string")
    store = Store(out) if out is not None else None
    if store is not None:
        clean_stale_temporaries(store.root, older_than_s=600)
    used = backend if backend in claim.backends else "numpy"
    with RunContext(claim_id=claim.id, seed=seed, jobs=jobs, scheduler=scheduler, backend=used,
                    backend_requested=None if used == backend else backend,
                    cells_dir=store.cells_dir(claim.id) if store else None, progress=progress) as ctx:
        result = evaluate(claim, scale, ctx, params, memory_budget)
    if store is not None:
        atomic_write_bytes(store.result_path(claim.id), result.to_json().encode())
    return result


def load_result(claim_id: str, out, scale: str | None = None) -> Result:
    """Read a saved result; raises :class:`~theorycheck.errors.InputError` if there is none or it
    cannot be read (truncated, not of the result schema, or saved under another claim's name).

    ``scale`` only words the hint of the error (which ``check`` command would write the result).
    """
    path = Store(out).result_path(claim_id)
    if not path.exists():
        hint = f" --scale {scale}" if scale and scale != "smoke" else ""
        raise InputError("claim id", f"{claim_id!r} has no saved result in {out}; run "
                                     f"`theorycheck check {claim_id}{hint}` first")
    try:
        result = Result.from_json(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError("result", f"{path} is not a readable result ({exc}); rerun the check to rewrite it") from None
    if result.claim != claim_id:
        raise InputError("result", f"{path} holds the result of {result.claim!r}, not of {claim_id!r}")
    return result


def recheck(result: Result) -> str | None:
    """Decide ``result``'s verdict again from its saved metrics, parameters and criteria; returns a
    sentence when the saved verdict differs (a hand-edited or stale file), else ``None``."""
    claim = get_claim(result.claim)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            again = claim.verdict(dict(result.metrics), dict(result.params), dict(result.criteria_values))
    except Exception as exc:  # the saved numbers no longer fit the claim's verdict
        return f"its verdict could not be decided again from its saved numbers ({type(exc).__name__}: {exc})"
    if again.status != result.verdict:
        return f"the file says {result.verdict}, its saved numbers give {again.status}"
    return None
