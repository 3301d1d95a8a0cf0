r"""The first layer of the fused two-layer ReLU simulator (:mod:`theorycheck.hong2021.relu.simulator`)
in its two forms, :math:`W_1` itself or its row-space form, and the rule that picks one.

The first layer's two forms
---------------------------
The fused pass needs two things from the first layer: the pre-activations :math:`U = Z W_1^T` of a
neuron block, and the update of that block by a gradient block :math:`G`. Two state objects provide
them, and the simulator holds one
(:attr:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator.layer`):

* :class:`PrimalState` (``method="primal"``) tracks :math:`W_1` (m, d): :math:`U` is one GEMM per
  block, the update :math:`W_1 \leftarrow W_1 - \eta\,G^T Z` another. Full batch or minibatches.
* :class:`RowSpaceState` (``method="gram"``). Every gradient :math:`G^T Z` lies in the row space of
  :math:`Z`, so full-batch GD keeps :math:`W_1(t) = W_1(0) + C(t) Z` with :math:`C` of shape (m, N),
  and the pre-activations obey :math:`U \leftarrow U - \eta\, Z Z^T G`. Tracking :math:`U` and
  :math:`C` instead of :math:`W_1` makes the step cost :math:`N^2 m` instead of :math:`2Ndm`: exact
  (same iterates up to round-off), and cheaper when :math:`N < 2d` (:func:`choose_method` switches at
  :math:`N = 1.5d`, from measurements). :math:`W_1` is formed only when asked for
  (:meth:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator.weights`), and :math:`U` is then
  recomputed from it so round-off does not accumulate. Full batch only.

The output weights :math:`a` and every buffer of the pass belong to the simulator, shared by both.
"""

from __future__ import annotations

import numpy as np

from ...backend import to_device, to_numpy
from ...errors import InputError

__all__ = ["PrimalState", "RowSpaceState", "METHODS", "choose_method"]

#: Accepted ``method`` values: ``"primal"`` (track W1), ``"gram"`` (row space), ``"auto"``.
METHODS = ("auto", "primal", "gram")


def choose_method(N: int, d: int, batch_size: int | None = None) -> str:
    """``"gram"`` for full-batch runs with :math:`N \\le 1.5\\,d`, else ``"primal"``.

    The gram step is one GEMM of :math:`N^2 m` multiply-adds (:math:`K G`) against the primal's two
    of :math:`Ndm`, so the flops break even at :math:`N = 2d`; the gram step also updates
    :math:`C`. Measured with ``theorycheck bench relu-step --compare-methods`` (m = 20000, d = 500,
    float32, 2 cores): gram / primal time 0.11 at N = 125, 0.35 at 250, 0.61 at 500, 0.86 at 800,
    1.18 at 1000.
    """
    if batch_size is not None and batch_size < N:
        return "primal"
    return "gram" if N <= 1.5 * d else "primal"


def _put(xp, dtype, dst, state, key) -> None:
    """Copy ``state[key]`` into the array ``dst`` in place, refusing a missing key, shape or dtype."""
    if key not in state:
        raise InputError("state", f"has no array {key!r}")
    src = np.asarray(state[key])
    if src.shape != tuple(dst.shape) or src.dtype != dst.dtype:
        raise InputError("state", f"array {key!r} has shape {src.shape} and dtype {src.dtype}, "
                                  f"the simulator holds {tuple(dst.shape)} {dst.dtype}")
    dst[...] = to_device(xp, src, dtype)


class PrimalState:
    r"""The first layer as itself: :math:`W_1` of shape (m, d) (module docstring, "two forms").

    Parameters
    ----------
    xp : array namespace (NumPy or CuPy)
    W1 : array of shape (m, d), the initial first layer, already on the device in the training dtype
        (owned: updated in place)
    blocks : list of (j0, j1), the simulator's neuron blocks
    block_rows : int, neurons of the widest block (sizes the update scratch)

    Notes
    -----
    Block ``k`` costs two GEMMs of :math:`n\,d\,m_k` multiply-adds per step (:meth:`preactivations`
    and :meth:`update`); any minibatch works.
    """

    method = "primal"
    minibatches = True

    def __init__(self, xp, W1, blocks, block_rows: int):
        self.xp = xp
        self.W1 = W1
        self.blocks = blocks
        self.d = W1.shape[1]
        self._gW = xp.empty(block_rows * self.d, dtype=W1.dtype)   # one block's gradient

    def preactivations(self, k: int, Zc, out):
        """:math:`U_k = Z_c W_1[j_0{:}j_1]^T` of block ``k`` for the rows ``Zc`` (n, d), written to
        ``out`` (n, m_k), which is returned."""
        j0, j1 = self.blocks[k]
        self.xp.matmul(Zc, self.W1[j0:j1].T, out=out)
        return out

    def update(self, k: int, G, Zc, alpha: float) -> None:
        r""":math:`W_1[j_0{:}j_1] \leftarrow W_1[j_0{:}j_1] - \alpha\,G^T Z_c` with ``G`` (n, m_k)."""
        j0, j1 = self.blocks[k]
        gW = self._gW[: (j1 - j0) * self.d].reshape(j1 - j0, self.d)
        self.xp.matmul(G.T, Zc, out=gW)
        gW *= alpha
        self.W1[j0:j1] -= gW

    def W1_device(self):
        """The current :math:`W_1` (m, d) itself (not a copy)."""
        return self.W1

    def identity(self):
        """The array that identifies the run's start: :math:`W_1`, which is the initial first layer
        until the first step."""
        return self.W1

    def state(self) -> dict:
        """``{"W1": (m, d)}`` as a host copy."""
        return {"W1": to_numpy(self.W1).copy()}

    def set_state(self, state, dtype) -> None:
        """Copy ``state["W1"]`` into :math:`W_1` (in place; shape and dtype must match)."""
        _put(self.xp, dtype, self.W1, state, "W1")


class RowSpaceState:
    r"""The first layer in the row space of the inputs: :math:`W_1 = W_1(0) + C Z` (module docstring).

    Holds :math:`W_1(0)` (m, d), the Gram matrix :math:`K = Z Z^T` (N, N) and, per neuron block k of
    width :math:`m_k`, :math:`C_k^T` (N, m_k) and the pre-activations :math:`U_k = Z W_1[\text{block}]^T`
    (N, m_k), which the steps update instead of :math:`W_1`.

    Parameters
    ----------
    xp : array namespace
    W1 : array of shape (m, d), the initial first layer :math:`W_1(0)` on the device (owned)
    Z : array of shape (N, d), the training inputs on the device (shared with the simulator)
    blocks : list of (j0, j1), the simulator's neuron blocks

    Notes
    -----
    A step costs one GEMM of :math:`N^2 m_k` multiply-adds per block (:math:`K G`). Full batch only.
    """

    method = "gram"
    minibatches = False

    def __init__(self, xp, W1, Z, blocks):
        self.xp = xp
        self.W1_0 = W1
        self.Z = Z
        self.blocks = blocks
        N, dt = Z.shape[0], W1.dtype
        self.K = Z @ Z.T                                                  # (N, N) Gram matrix
        self.Ct = [xp.zeros((N, j1 - j0), dtype=dt) for j0, j1 in blocks]  # C^T by block
        self.U = [xp.empty((N, j1 - j0), dtype=dt) for j0, j1 in blocks]
        self.sync(W1)

    def sync(self, W1) -> None:
        r"""Recompute every :math:`U_k = Z W_1[\text{block}_k]^T` from ``W1`` (m, d)."""
        for (j0, j1), U in zip(self.blocks, self.U):
            self.xp.matmul(self.Z, W1[j0:j1].T, out=U)

    def preactivations(self, k: int, Zc, out):
        """The tracked :math:`U_k` (N, m_k) (``Zc`` is the full ``Z`` and ``out`` unused)."""
        return self.U[k]

    def update(self, k: int, G, Zc, alpha: float) -> None:
        r""":math:`U_k \leftarrow U_k - \alpha K G`, :math:`C_k^T \leftarrow C_k^T - \alpha G` (``G`` (N, m_k)
        is scaled in place)."""
        U, Ct = self.U[k], self.Ct[k]
        KG = self.xp.matmul(self.K, G)
        KG *= alpha
        U -= KG
        G *= alpha
        Ct -= G

    def W1_device(self):
        r"""A new array :math:`W_1 = W_1(0) + C Z` (m, d); :math:`U` is re-synchronised to
        :math:`Z W_1^T` (exact in exact arithmetic; removes accumulated round-off)."""
        W1 = self.W1_0.copy()
        for (j0, j1), Ct in zip(self.blocks, self.Ct):
            W1[j0:j1] += Ct.T @ self.Z
        self.sync(W1)
        return W1

    def identity(self):
        """The array that identifies the run's start: :math:`W_1(0)`."""
        return self.W1_0

    def state(self) -> dict:
        """Host copies: ``W1_0`` (m, d) and, per block k, ``Ct_k`` and ``U_k`` (N, m_k). Restored with
        :meth:`set_state`, training continues bit for bit (re-forming them from :math:`W_1` would not:
        the round-off differs)."""
        out = {"W1_0": to_numpy(self.W1_0).copy()}
        for k, (Ct, U) in enumerate(zip(self.Ct, self.U)):
            out[f"Ct_{k}"] = to_numpy(Ct).copy()
            out[f"U_{k}"] = to_numpy(U).copy()
        return out

    def set_state(self, state, dtype) -> None:
        """Copy the arrays of :meth:`state` into this state's own (in place)."""
        _put(self.xp, dtype, self.W1_0, state, "W1_0")
        for k, (Ct, U) in enumerate(zip(self.Ct, self.U)):
            _put(self.xp, dtype, Ct, state, f"Ct_{k}")
            _put(self.xp, dtype, U, state, f"U_{k}")
