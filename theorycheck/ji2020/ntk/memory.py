"""The memory guard of the NTK computations.

Every function of :mod:`theorycheck.ji2020.ntk` that allocates an :math:`n_1\\times n_2` matrix first
calls :func:`check_kernel_memory`, which refuses (``InputError``) anything above ``memory_budget``
bytes (default :data:`MEMORY_BUDGET_BYTES`) *before* allocating. Closed-form kernels are computed in
row blocks, so their temporaries stay below :data:`~theorycheck.ji2020.ntk.kernels.BLOCK_BYTES`
whatever the output size.
"""

from __future__ import annotations

from ...errors import InputError, check_int

__all__ = ["MEMORY_BUDGET_BYTES", "check_kernel_memory"]


#: Largest kernel (or activation) matrix, in bytes, that any function here will allocate (2 GiB).
#: Pass ``memory_budget=`` to change it per call.
MEMORY_BUDGET_BYTES = 2 * 1024 ** 3


def check_kernel_memory(n_rows: int, n_cols: int, *, n_arrays: int = 1, memory_budget=None,
                        what: str = "kernel") -> int:
    """Refuse an allocation of ``n_arrays`` float64 matrices of shape (n_rows, n_cols) above budget.

    Parameters
    ----------
    n_rows, n_cols : int
    n_arrays : int, number of such matrices allocated together
    memory_budget : int or None, bytes (default :data:`MEMORY_BUDGET_BYTES`)
    what : str, named in the error message

    Returns
    -------
    int, the bytes that will be allocated.

    Raises
    ------
    InputError
        Naming the sizes, the bytes needed and the budget, before anything is allocated.
    """
    budget = MEMORY_BUDGET_BYTES if memory_budget is None else check_int("memory_budget", memory_budget, low=1)
    need = 8 * int(n_rows) * int(n_cols) * int(n_arrays)
    if need > budget:
        raise InputError("memory_budget", f"would be exceeded: the {what} needs {n_arrays} x "
                                          f"({n_rows} x {n_cols}) float64 = {need / 2**30:.2f} GiB > "
                                          f"budget {budget / 2**30:.2f} GiB; use fewer points or raise "
                                          f"memory_budget")
    return need
