"""Errors a user can cause, kept apart from bugs.

An :class:`InputError` names the offending parameter and its allowed range. The CLI turns it into
a one-line message and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["InputError", "check_int", "check_real", "check_choice", "check_divides", "check_list",
           "check_grid", "check_rng"]


class InputError(ValueError):
    """Bad user input: ``param`` is the parameter's name, the message says what is allowed."""

    def __init__(self, param: str, message: str):
        self.param = param
        self.message = message
        super().__init__(f"{param} {message}")

    def __reduce__(self):  # a worker process's error must travel back to the parent intact
        return (type(self), (self.param, self.message))


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise :class:`InputError` naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InputError(name, f"must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(name, f"must be in {_range(low, high)}, got {value}")
    return value


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float inside the given interval, or raise :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise InputError(name, f"must be a finite real number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise InputError(name, f"must be in {lb}{lo}, {hi}{rb}, got {value:g}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`InputError` listing them."""
    if value not in choices:
        raise InputError(name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def check_divides(g_name: str, g: int, m_name: str, m: int) -> int:
    """Check that ``g`` is a positive divisor of ``m`` (e.g. the group size of Eq. (7))."""
    g = check_int(g_name, g, low=1)
    if m % g:
        raise InputError(g_name, f"must divide {m_name}={m}, got {g_name}={g}")
    return g


def check_list(name: str, values, *, integer: bool = False, low: float | None = None,
               high: float | None = None, low_open: bool = False, high_open: bool = False,
               min_len: int = 1, max_len: int | None = None, distinct: bool = False) -> list:
    """Return ``values`` as a list of checked numbers, or raise :class:`InputError` naming ``name``.

    Each entry passes :func:`check_int` (``integer=True``) or :func:`check_real` with the given
    bounds; the list has ``min_len``..``max_len`` entries and, with ``distinct``, no repeats.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise InputError(name, f"must be a list of numbers, got {values!r}")
    if len(values) < min_len or (max_len is not None and len(values) > max_len):
        size = f"{min_len}..{max_len}" if max_len is not None else f"at least {min_len}"
        raise InputError(name, f"must have {size} entries, got {len(values)}")
    try:
        out = [check_int(name, v, low=None if low is None else int(low),
                         high=None if high is None else int(high)) if integer else
               check_real(name, v, low=low, high=high, low_open=low_open, high_open=high_open)
               for v in values]
    except InputError as exc:
        raise InputError(name, f"entries {str(exc)[len(name) + 1:]}") from None
    if distinct and len(set(out)) != len(out):
        raise InputError(name, f"must not repeat values, got {values!r}")
    return out


def check_grid(name: str, values, **bounds) -> list:
    """A strictly increasing :func:`check_list` (a sweep axis such as an N_s or sigma grid)."""
    out = check_list(name, values, **bounds)
    if any(b <= a for a, b in zip(out, out[1:])):
        raise InputError(name, f"must be strictly increasing, got {values!r}")
    return out


def check_rng(rng):
    """``rng`` must be a :class:`numpy.random.Generator`: randomness is always explicit, never ``None``
    or a seed, so the same generator state gives the same numbers."""
    import numpy as np
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng", f"must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
                                f"got {type(rng).__name__}")
    return rng


def _range(low, high) -> str:
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    return f"[{lo}, {hi}]"
