"""Resource bounds checked before any work starts: worker count, memory, run size.

A claim may declare ``estimate(params) -> Estimate``: its peak memory in bytes and the number of
elementary work units (cells, training steps, resamples) its parameters ask for, each with the
parameter that drives it. The runner compares the estimate with the budget before measuring and
refuses with :class:`~theorycheck.errors.InputError` (exit code 2) naming that parameter and the
estimate. The memory budget is a fraction of the memory available when the run starts
(``THEORYCHECK_MEMORY_BUDGET`` in bytes, or ``--memory-budget`` on the command line, overrides it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError

__all__ = ["Estimate", "available_memory", "memory_budget", "check_estimate", "max_jobs", "GiB"]

GiB = 1024 ** 3

#: Fraction of the available memory one run may plan to use: the rest is for the interpreter,
#: the libraries' workspaces and the other programs on the machine.
MEMORY_FRACTION = 0.5

#: Work units a single run may ask for (a guard against typos such as resamples=1e9, not a limit on
#: the paper scale, whose largest claim needs about 1e9).
MAX_WORK = 10 ** 11


@dataclass(frozen=True)
class Estimate:
    """What a claim's parameters ask for.

    Attributes
    ----------
    peak_bytes : float
        Largest memory held at once (arrays of the biggest cell, times the cells run at once).
    memory_param : str
        The parameter that drives ``peak_bytes`` (named in the refusal).
    work : float
        Elementary work units (e.g. flops / 1e6, training steps x cells, resamples).
    work_param : str
        The parameter that drives ``work``.
    """

    peak_bytes: float
    memory_param: str
    work: float = 0.0
    work_param: str = ""


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` of /proc/meminfo; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 8 * GiB


def memory_budget(override: float | None = None) -> float:
    """Bytes a run may plan to use: ``override``, else ``$THEORYCHECK_MEMORY_BUDGET``, else
    :data:`MEMORY_FRACTION` of :func:`available_memory`."""
    if override is not None:
        return float(override)
    env = os.environ.get("THEORYCHECK_MEMORY_BUDGET")
    if env:
        try:
            value = float(env)
        except ValueError:
            raise InputError("THEORYCHECK_MEMORY_BUDGET", f"must be a number of bytes, got {env!r}") from None
        if not value > 0:
            raise InputError("THEORYCHECK_MEMORY_BUDGET", f"must be positive, got {env!r}")
        return value
    return MEMORY_FRACTION * available_memory()


def _gib(x: float) -> str:
    return f"{x / GiB:.3g} GiB"


def check_estimate(claim_id: str, estimate: Estimate, jobs: int = 1, budget: float | None = None) -> None:
    """Refuse a run whose estimate exceeds the memory budget or :data:`MAX_WORK`.

    ``jobs`` cells run at once, so the peak is ``jobs`` times a cell's.
    """
    limit = memory_budget(budget)
    peak = float(estimate.peak_bytes) * max(1, int(jobs))
    if not peak <= limit:
        raise InputError(estimate.memory_param,
                         f"asks {claim_id} for about {_gib(peak)} of memory"
                         f"{f' with --jobs {jobs}' if jobs > 1 else ''}, above the budget of {_gib(limit)} "
                         "(half the available memory; set --memory-budget to change it)")
    if not float(estimate.work) <= MAX_WORK:
        raise InputError(estimate.work_param or estimate.memory_param,
                         f"asks {claim_id} for about {estimate.work:.3g} units of work, above the limit of "
                         f"{MAX_WORK:.0e}")


def max_jobs() -> int:
    """The most worker processes a run may start: the machine's CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
