"""Input checks at the public boundary of the SoTeacher maths modules: an empty, mis-shaped or non-finite
array raises :class:`~theorycheck.errors.InputError` naming the argument, instead of a deep crash or a
NaN result further down."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["finite_array", "int_array", "same_shape", "probability_rows"]


def finite_array(name: str, a, *, ndim: int | None = None, nonempty: bool = True) -> np.ndarray:
    """``a`` as a float64 array of finite numbers (with ``ndim`` dimensions, and at least one entry
    when ``nonempty``), or :class:`InputError` naming ``name``."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(name, f"must be an array of real numbers, got {type(a).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise InputError(name, f"must be a {ndim}-D array, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise InputError(name, f"must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(name, "must hold finite numbers only (found NaN or inf)")
    return arr


def int_array(name: str, a, *, ndim: int | None = None, low: int | None = None, high: int | None = None,
              nonempty: bool = True) -> np.ndarray:
    """``a`` as an integer array with entries in ``[low, high)``, or :class:`InputError` naming ``name``."""
    arr = np.asarray(a)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InputError(name, "must hold integers")
        arr = arr.astype(np.int64)
    if ndim is not None and arr.ndim != ndim:
        raise InputError(name, f"must be a {ndim}-D array, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise InputError(name, f"must not be empty, got shape {arr.shape}")
    if arr.size:
        if low is not None and arr.min() < low:
            raise InputError(name, f"must hold integers >= {low}, got {arr.min()}")
        if high is not None and arr.max() >= high:
            raise InputError(name, f"must hold integers < {high}, got {arr.max()}")
    return arr.astype(np.int64, copy=False)


def same_shape(name: str, a: np.ndarray, other: str, b: np.ndarray) -> None:
    """Raise :class:`InputError` naming ``name`` when ``a`` and ``b`` differ in shape."""
    if a.shape != b.shape:
        raise InputError(name, f"must have the shape of {other} {b.shape}, got {a.shape}")


def probability_rows(name: str, a, *, atol: float = 1e-6) -> np.ndarray:
    """``a`` as a 2-D array whose rows are probability vectors (non-negative, summing to 1 within
    ``atol``), or :class:`InputError` naming ``name``."""
    arr = finite_array(name, a, ndim=2)
    if np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1.0) > atol):
        raise InputError(name, "must have rows that are probability vectors (non-negative, summing to 1)")
    return arr
