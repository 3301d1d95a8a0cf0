"""The claim registry: every theorem, figure and table the toolkit checks is one :class:`Claim`.

A claim declares, once: what the paper says (``statement``, ``assumptions``), how it is checked
(``method``), its parameters at each :data:`SCALES` entry, a ``measure`` function that computes
metrics and plotted series, a pure ``verdict`` function of those numbers, and a ``figure`` function
that draws only from a saved result. The CLI, the tests, the notebooks, the docs and the report all
read this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .errors import InputError, check_choice

__all__ = ["SCALES", "Claim", "Verdict", "register", "get_claim", "list_claims", "resolve_params",
           "evaluate", "benchmark", "get_benchmark", "list_benchmarks"]

#: Scales every claim defines. ``smoke``: seconds, for tests and the quick start. ``default``: the
#: standard check, minutes on 2 cores. ``paper``: the paper's sizes where hardware allows (each claim's
#: ``scale_note`` says what is scaled down and why).
SCALES = ("smoke", "default", "paper")


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check: ``passed`` and one line per criterion (``criteria``: name -> (ok, text))."""

    passed: bool
    criteria: Mapping[str, tuple[bool, str]]

    @classmethod
    def from_criteria(cls, **criteria: tuple[bool, str]) -> "Verdict":
        crit = {k: (bool(ok), str(text)) for k, (ok, text) in criteria.items()}
        return cls(passed=bool(crit) and all(ok for ok, _ in crit.values()), criteria=crit)


@dataclass(frozen=True)
class Claim:
    """One checkable claim of a paper.

    Attributes
    ----------
    id : str
        ``<paper>.<item>``, e.g. ``hong2021.thm1``.
    title : str
        Short human name ("Theorem 1: ST and base gradient flows end within C·δ").
    statement : str
        What the paper claims, with its equation/theorem numbers.
    assumptions : tuple of str
        The assumptions the check puts in place.
    method : str
        How the check measures the claim, and what makes it pass.
    scales : mapping scale -> dict
        Parameters at each scale in :data:`SCALES`.
    measure : callable (params, ctx) -> dict
        Returns ``{"metrics": {...}, "series": {...}}`` computed from ``params`` with the
        :class:`~theorycheck.sweep.RunContext` ``ctx`` (seeds, sweeps, backend).
    verdict : callable (metrics, params) -> Verdict
        Pure function of the measured numbers.
    figure : callable (result, fig) -> None, optional
        Draws the claim's figure on a matplotlib ``Figure`` from a saved result dict only.
    key_metrics : tuple of str
        Metrics shown in the CLI table.
    scale_note : str
        What differs from the paper at each scale (hardware, reconstructed details).
    validate : callable (params) -> None, optional
        Raises :class:`~theorycheck.errors.InputError` for bad parameter values.
    reference : str
        Citation of the source.
    tags : tuple of str
    backends : tuple of str
        Array backends the claim's computation can use; a claim run with another ``--backend``
        runs on NumPy, and its result records the backend actually used (``backend``) next to the
        one asked for (``backend_requested``).
    """

    id: str
    title: str
    statement: str
    assumptions: tuple[str, ...]
    method: str
    scales: Mapping[str, Mapping]
    measure: Callable
    verdict: Callable
    figure: Callable | None = None
    key_metrics: tuple[str, ...] = ()
    scale_note: str = ""
    validate: Callable | None = None
    reference: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    backends: tuple[str, ...] = ("numpy",)

    @property
    def paper(self) -> str:
        return self.id.split(".", 1)[0]

    def __post_init__(self):
        missing = [s for s in SCALES if s not in self.scales]
        if missing:
            raise ValueError(f"claim {self.id} lacks scales {missing}")


_CLAIMS: dict[str, Claim] = {}
_BENCHMARKS: dict[str, Callable] = {}
_LOADED = False


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (called at import of a ``theorycheck.claims`` module)."""
    if claim.id in _CLAIMS and _CLAIMS[claim.id] is not claim:
        raise ValueError(f"duplicate claim id {claim.id}")
    _CLAIMS[claim.id] = claim
    return claim


def benchmark(name: str):
    """Decorator registering a benchmark ``fn(argv: list[str]) -> dict`` under ``name``."""
    def deco(fn):
        _BENCHMARKS[name] = fn
        return fn
    return deco


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    from . import claims, benchmarks
    for pkg in (claims, benchmarks):
        for mod in pkgutil.iter_modules(pkg.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _LOADED = True


def list_claims(paper: str | None = None) -> list[Claim]:
    """All registered claims (optionally of one paper), ordered by id."""
    _load_all()
    return [c for k, c in sorted(_CLAIMS.items()) if paper is None or c.paper == paper]


def get_claim(claim_id: str) -> Claim:
    """Look up a claim by id; an unknown id raises :class:`InputError` listing the known ones."""
    _load_all()
    if claim_id not in _CLAIMS:
        raise InputError("claim id", f"{claim_id!r} is unknown; known: {', '.join(sorted(_CLAIMS))}")
    return _CLAIMS[claim_id]


def list_benchmarks() -> list[str]:
    _load_all()
    return sorted(_BENCHMARKS)


def get_benchmark(name: str) -> Callable:
    _load_all()
    if name not in _BENCHMARKS:
        raise InputError("benchmark", f"{name!r} is unknown; known: {', '.join(sorted(_BENCHMARKS)) or 'none'}")
    return _BENCHMARKS[name]


def resolve_params(claim: Claim, scale: str, overrides: Mapping | None = None) -> dict:
    """The claim's parameters at ``scale`` with ``overrides`` applied and validated."""
    check_choice("scale", scale, SCALES)
    params = dict(claim.scales[scale])
    for key, value in (overrides or {}).items():
        if key not in params:
            raise InputError("param", f"{key!r} is not a parameter of {claim.id}; "
                                      f"known: {', '.join(sorted(params))}")
        params[key] = value
    if claim.validate is not None:
        claim.validate(params)
    return params


def _versions() -> dict:
    import numpy, scipy, sklearn
    from . import __version__
    from .seeding import code_fingerprint
    return {"theorycheck": __version__, "theorycheck_code": code_fingerprint(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}


def evaluate(claim: Claim, scale: str, ctx, overrides: Mapping | None = None) -> dict:
    """Run ``claim`` at ``scale`` and return its result dict (the ``<id>.json`` schema).

    The verdict is computed from the measured metrics by ``claim.verdict``; nothing is typed in.
    """
    params = resolve_params(claim, scale, overrides)
    t0 = time.perf_counter()
    measured = claim.measure(params, ctx)
    elapsed = time.perf_counter() - t0
    metrics = dict(measured.get("metrics", {}))
    verdict = claim.verdict(metrics, params)
    return {
        "claim": claim.id,
        "paper": claim.paper,
        "title": claim.title,
        "statement": claim.statement,
        "scale": scale,
        "passed": verdict.passed,
        "criteria": {k: {"ok": ok, "detail": text} for k, (ok, text) in verdict.criteria.items()},
        "metrics": metrics,
        "series": measured.get("series", {}),
        "params": params,
        "seed": ctx.seed,
        "backend": ctx.backend,
        "backend_requested": ctx.backend_requested or ctx.backend,
        "elapsed_s": elapsed,
        "cells": dict(ctx.stats),
        "versions": _versions(),
    }
