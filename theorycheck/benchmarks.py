"""The benchmark catalogue behind ``theorycheck bench NAME``.

A paper's module registers a benchmark with :func:`benchmark`; the catalogue is filled when the
papers are loaded (:func:`theorycheck.registry.load_papers`). A benchmark is ``fn(argv) -> dict``:
it parses its own arguments, prints its table and returns its measurements (``--json`` prints them).
"""

from __future__ import annotations

from typing import Callable

from .errors import InputError
from .registry import load_papers

__all__ = ["benchmark", "get_benchmark", "list_benchmarks"]

_BENCHMARKS: dict[str, Callable] = {}


def benchmark(name: str):
    """Decorator registering a benchmark ``fn(argv: list[str]) -> dict`` under ``name``."""
    def deco(fn):
        _BENCHMARKS[name] = fn
        return fn
    return deco


def list_benchmarks() -> list[str]:
    load_papers()
    return sorted(_BENCHMARKS)


def get_benchmark(name: str) -> Callable:
    load_papers()
    if name not in _BENCHMARKS:
        raise InputError("benchmark", f"{name!r} is unknown; known: {', '.join(sorted(_BENCHMARKS)) or 'none'}")
    return _BENCHMARKS[name]
