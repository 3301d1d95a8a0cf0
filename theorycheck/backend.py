"""Array namespace and dtype policy for the simulators that can run on a GPU.

The simulators are written once against an array namespace ``xp``: :mod:`numpy` by default,
:mod:`cupy` when ``backend="cupy"``. Only functions that exist with the same meaning in both are
used (``xp.matmul(..., out=)``, ufuncs with ``out=``, ``xp.arccos``, ``xp.sqrt``, ``xp.clip``,
reductions). Data are generated on the host with a :class:`numpy.random.Generator` (so a run's numbers
do not depend on the backend's random generator) and moved to the device once.

Dtype policy
------------
* Training may run in ``float32`` (speed) or ``float64``; :func:`resolve_dtype` accepts only these.
* Closed forms (the arc-cosine population error, Bayes errors) and theorem checks are always
  ``float64`` (:data:`CLOSED_FORM_DTYPE`), whatever the training dtype.
* Results leave the device as Python floats or NumPy arrays (:func:`to_numpy`), never as device arrays.

The CuPy path cannot be tested on a machine without a GPU and CuPy; it is written through ``xp``
only, and :func:`get_xp` raises :class:`~theorycheck.errors.InputError` when CuPy is missing.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError, check_choice

__all__ = ["BACKENDS", "DTYPES", "CLOSED_FORM_DTYPE", "get_xp", "resolve_dtype", "to_numpy",
           "to_device", "xp_of", "synchronize"]

#: Backends a simulator accepts.
BACKENDS = ("numpy", "cupy")
#: Training dtypes a simulator accepts.
DTYPES = ("float32", "float64")
#: Dtype of every closed form.
CLOSED_FORM_DTYPE = np.float64


def get_xp(backend: str = "numpy"):
    """The array module of ``backend``.

    Parameters
    ----------
    backend : {"numpy", "cupy"}

    Returns
    -------
    module
        :mod:`numpy` or :mod:`cupy`.

    Raises
    ------
    InputError
        If ``backend`` is unknown, or is ``"cupy"`` and CuPy cannot be imported or sees no GPU.
    """
    check_choice("backend", backend, BACKENDS)
    if backend == "numpy":
        return np
    try:
        import cupy  # noqa: F401 - optional dependency: pip install 'theorycheck[gpu]'
    except ImportError as exc:
        raise InputError("backend", "'cupy' needs CuPy and a CUDA GPU: pip install 'theorycheck[gpu]'") from exc
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # cupy raises its own CUDARuntimeError without a driver/GPU
        raise InputError("backend", f"'cupy' found no usable GPU ({exc})") from exc
    return cupy


def resolve_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, if it is float32 or float64; otherwise :class:`InputError`."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise InputError("dtype", f"must be one of {', '.join(DTYPES)}; got {dtype!r}") from exc
    check_choice("dtype", dt.name, DTYPES)
    return dt


def xp_of(array):
    """The array module an array belongs to (:mod:`numpy` for anything that is not a CuPy array)."""
    mod = type(array).__module__
    if mod.startswith("cupy"):
        import cupy
        return cupy
    return np


def to_device(xp, array, dtype=None):
    """Copy a host array to the namespace ``xp`` (no copy for NumPy if the dtype already matches)."""
    if xp is np:
        return np.asarray(array, dtype=dtype)
    return xp.asarray(np.asarray(array), dtype=dtype)


def to_numpy(array) -> np.ndarray:
    """A host :class:`numpy.ndarray` copy of a NumPy or CuPy array (or scalar)."""
    if type(array).__module__.startswith("cupy"):
        return array.get()
    return np.asarray(array)


def synchronize(xp) -> None:
    """Wait for queued device work (a no-op for NumPy); call before reading a timer."""
    if xp is not np:
        xp.cuda.Device().synchronize()
