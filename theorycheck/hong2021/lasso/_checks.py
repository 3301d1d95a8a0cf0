"""Input checks at the public boundary of the LASSO modules of :mod:`theorycheck.hong2021.lasso`: an
empty, mis-shaped or non-finite array raises
:class:`~theorycheck.errors.InputError` naming the argument."""

from __future__ import annotations

import numpy as np

from ...errors import InputError


# -- input checks at the public boundary ---------------------------------------------------------
def _array(name: str, a, ndim: int) -> np.ndarray:
    """``a`` as a non-empty, finite float64 array with ``ndim`` dimensions, or :class:`InputError`."""
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(name, f"must be an array of numbers, got {type(a).__name__}") from None
    if a.ndim != ndim or a.size == 0:
        raise InputError(name, f"must be a non-empty {ndim}-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(name, "must contain only finite numbers")
    return a


def _check_design(Z, T):
    Z = _array("Z", Z, 2)
    T = np.asarray(T, dtype=np.float64)
    T = _array("T", T[:, None] if T.ndim == 1 else T, 2)
    if T.shape[0] != Z.shape[0]:
        raise InputError("T", f"must have shape ({Z.shape[0]}, k) to match Z of shape {Z.shape}, got {T.shape}")
    return Z, T
