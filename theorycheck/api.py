"""The public entry points, shared by the CLI, the tests and the notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .errors import check_choice
from .registry import SCALES, evaluate, get_claim
from .store import Store, atomic_write_json, read_json
from .sweep import RunContext

__all__ = ["run_claim", "load_result", "draw_figure", "default_out"]

BACKENDS = ("numpy", "cupy")


def default_out(scale: str) -> Path:
    """Default output folder of a scale: ``results/<scale>`` under the working directory."""
    return Path("results") / scale


def run_claim(claim_id: str, scale: str = "smoke", *, out=None, seed: int = 0, jobs: int = 1,
              scheduler: str | None = None, backend: str = "numpy", params: Mapping | None = None,
              progress: bool = False) -> dict:
    """Check one claim and return its result dict.

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
        Overrides of the scale's parameters (validated; unknown keys are refused).
    """
    check_choice("scale", scale, SCALES)
    check_choice("backend", backend, BACKENDS)
    claim = get_claim(claim_id)
    store = Store(out) if out is not None else None
    used = backend if backend in claim.backends else "numpy"
    ctx = RunContext(claim_id=claim.id, seed=seed, jobs=jobs, scheduler=scheduler, backend=used,
                     backend_requested=None if used == backend else backend,
                     cells_dir=store.cells_dir(claim.id) if store else None, progress=progress)
    result = evaluate(claim, scale, ctx, params)
    if store is not None:
        atomic_write_json(store.result_path(claim.id), result)
    return result


def load_result(claim_id: str, out) -> dict:
    """Read a saved result; raises :class:`~theorycheck.errors.InputError` if there is none."""
    from .errors import InputError
    path = Store(out).result_path(claim_id)
    if not path.exists():
        raise InputError("claim id", f"{claim_id!r} has no saved result in {out}; run "
                                     f"`theorycheck check {claim_id}` first")
    return read_json(path)


def draw_figure(result: dict, out=None):
    """Draw a claim's figure from a saved ``result`` dict; save PNG and PDF into ``out`` if given.

    Returns the matplotlib ``Figure`` (or ``None`` if the claim has no figure).
    """
    from . import plots
    claim = get_claim(result["claim"])
    if claim.figure is None:
        return None
    fig = plots.new_figure()
    claim.figure(result, fig)
    plots.stamp(fig, result)
    if out is not None:
        store = Store(out)
        for ext in ("png", "pdf"):
            plots.save(fig, store.figure_path(claim.id, ext))
    return fig
