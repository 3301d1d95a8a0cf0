r"""Fused gradient steps for a wide two-layer ReLU student (Hong et al. 2021, Sec. 3.2 and 5.3).

This is the fast, specialised path of :mod:`theorycheck.nets` for two layers: the same mathematics
(the tests check loss and gradients against :func:`theorycheck.nets.st_loss_and_grad` in float64),
computed with preallocated buffers, in neuron blocks small enough to stay in cache, in float32 or
float64, on NumPy or (untested here) CuPy through one array namespace ``xp``.

Objective (see :mod:`theorycheck.hong2021.relu.objective`), samples as rows, :math:`Z` (N, d) noisy inputs,
:math:`T` (N, m) teacher features, :math:`y` (N,) targets, :math:`U = Z W_1^T`, :math:`H = \mathrm{relu}(U)`,
:math:`M = 1[U > 0]`, :math:`r = Ha - y`, :math:`D = (H - T) P^T` (pooled feature residual):

.. math::

   L = s\,(\beta\|r\|^2 + \lambda\|D\|_F^2), \qquad
   G = 2s\,\big(\beta\, r a^T + \lambda\, D P\big) \odot M, \qquad
   \nabla_{W_1} L = G^T Z, \qquad \nabla_a L = 2s\beta\, H^T r .

One step therefore costs two unavoidable GEMMs (:math:`Z W_1^T` and :math:`G^T Z`, :math:`Ndm`
multiply-adds each) plus :math:`O(Nm)` elementwise work. Layout of a step:

* neuron blocks of ``block_elems / N`` neurons (whole pooling groups) bound the GEMM sizes, so each
  GEMM call is large enough for a multithreaded BLAS while the :math:`W_1` update of a block stays in
  cache;
* inside a block, the elementwise work runs over row chunks of about ``chunk_elems`` entries (in L2);
* pass 1 forms :math:`H` block by block and accumulates the output :math:`Ha` (and the pooled
  residual when :math:`g > 1`); pass 2 turns :math:`H` into :math:`G` in place, chunk by chunk (after
  using :math:`H` for :math:`\nabla_a` and the mask), multiplies it into :math:`Z` and updates the block.

All BLAS calls go through ``xp.matmul`` (NumPy's own BLAS): calling SciPy's BLAS as well would start a
second OpenBLAS thread pool, and two spinning pools on the same cores slow each other down badly.

The first layer's two forms
---------------------------
The fused pass needs two things from the first layer: the pre-activations :math:`U = Z W_1^T` of a
neuron block, and the update of that block by a gradient block :math:`G`. Two state objects provide
them, and the simulator holds one (:attr:`TwoLayerSimulator.layer`):
:class:`~.first_layer.PrimalState` (``method="primal"``) tracks :math:`W_1` (m, d), full batch or
minibatches; :class:`~.first_layer.RowSpaceState` (``method="gram"``) tracks the pre-activations and
:math:`C` in :math:`W_1 = W_1(0) + C Z`, full batch only, and is cheaper when :math:`N < 2d`
(:func:`~.first_layer.choose_method` picks one for ``method="auto"``). Both are described in
:mod:`theorycheck.hong2021.relu.first_layer`, and are re-exported here.

The output weights :math:`a` and every buffer of the pass belong to the simulator, shared by both.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ...backend import get_xp, resolve_dtype, to_device, to_numpy
from ...errors import InputError, check_choice, check_int
from .first_layer import METHODS, PrimalState, RowSpaceState, _put, choose_method
from .objective import Objective

__all__ = ["LossParts", "PrimalState", "RowSpaceState", "TwoLayerSimulator", "METHODS",
           "DEFAULT_BLOCK_ELEMS", "DEFAULT_CHUNK_ELEMS", "choose_method"]

#: Entries of one (rows x neurons) block: bounds each GEMM call. Large on purpose: a multithreaded
#: BLAS is efficient on big GEMMs and each call is a barrier (measured at m=20000, d=500, N=1000,
#: float32, 2 cores: step/GEMM ratio 2.0 with blocks of 1048 neurons, 1.16 with one block).
DEFAULT_BLOCK_ELEMS = 1 << 26
#: Entries of one row chunk of the elementwise work (2**17 float32 = 512 KiB, in L2 with its scratch).
DEFAULT_CHUNK_ELEMS = 1 << 17


@dataclass(frozen=True)
class LossParts:
    """Training loss at the current parameters.

    Attributes
    ----------
    base : float, :math:`s\\|Ha - y\\|^2` (the Eq. (1) term, unweighted)
    feature : float, :math:`s\\|(H - T)P^T\\|_F^2` (the feature term, unweighted); NaN-free, 0 if unused
    total : float, :math:`\\beta\\,` base + :math:`\\lambda\\,` feature
    """

    base: float
    feature: float
    total: float


class TwoLayerSimulator:
    """State and preallocated buffers of one training run of :math:`f(z) = a^T\\mathrm{relu}(W_1 z)`.

    Parameters
    ----------
    Z : array_like of shape (N, d)
        Student inputs :math:`x_i + \\epsilon_i` (rows).
    T : array_like of shape (N, m) or None
        Teacher features on the clean inputs, :math:`\\mathrm{relu}(\\widetilde W_1 x_i)`; required when
        ``objective.lam > 0``.
    y : array_like of shape (N,)
        Targets; required when ``objective.base_weight > 0`` (may be None otherwise).
    W1 : array_like of shape (m, d)
        Initial first layer (copied).
    a : array_like of shape (m,)
        Initial output weights :math:`W_2^T` (copied); frozen when ``objective.train_W2`` is False.
    objective : Objective
    backend : {"numpy", "cupy"}
    dtype : {"float32", "float64"}
    method : {"auto", "primal", "gram"}
        See the module docstring; ``"auto"`` uses :func:`choose_method`.
    batch_size : int or None
        Largest minibatch :meth:`step` will be given (buffers are sized for it); None: full batch.
    block_elems : int
        Target entries of one (rows x neurons) block (bounds each GEMM call).
    chunk_elems : int
        Target entries of one row chunk of the elementwise work.
    threads : int or None
        Threads for the elementwise work (NumPy backend; NumPy's ufuncs release the GIL, so row
        chunks run in parallel while the BLAS threads are idle). None: the number of CPUs (at most
        8) when a block has at least 2**17 entries, else 1.

    Attributes
    ----------
    layer : PrimalState or RowSpaceState
        The first layer in the form ``method`` chose (module docstring, "two forms").
    a : array of shape (m,)
        The output weights (device, training dtype).

    Notes
    -----
    The object owns its state; :meth:`step` updates it in place. :meth:`weights` returns host copies.
    Not thread-safe.
    """

    def __init__(self, Z, T, y, W1, a, objective: Objective, *, backend: str = "numpy",
                 dtype="float32", method: str = "auto", batch_size: int | None = None,
                 block_elems: int = DEFAULT_BLOCK_ELEMS, chunk_elems: int = DEFAULT_CHUNK_ELEMS,
                 threads: int | None = None):
        if not isinstance(objective, Objective):
            raise InputError("objective", f"must be an Objective, got {type(objective).__name__}")
        self.objective = objective
        self.xp = xp = get_xp(backend)
        self.backend = backend
        self.dtype = dt = resolve_dtype(dtype)
        check_choice("method", method, METHODS)
        block_elems = check_int("block_elems", block_elems, low=1)
        chunk_elems = check_int("chunk_elems", chunk_elems, low=1)

        Zh = np.asarray(Z)
        if Zh.ndim != 2:
            raise InputError("Z", f"must have shape (N, d), got {Zh.shape}")
        self.N, self.d = N, d = Zh.shape
        W1h, ah = np.asarray(W1), np.asarray(a)
        if W1h.ndim != 2 or W1h.shape[1] != d:
            raise InputError("W1", f"must have shape (m, {d}), got {W1h.shape}")
        self.m = m = W1h.shape[0]
        if ah.shape != (m,):
            raise InputError("a", f"must have shape ({m},), got {ah.shape}")
        g = objective.g
        if m % g:
            raise InputError("g", f"must divide m={m}, got g={g}")
        if objective.lam > 0:
            if T is None or np.shape(T) != (N, m):
                raise InputError("T", f"must have shape ({N}, {m}) when lam > 0, got {None if T is None else np.shape(T)}")
        if objective.base_weight > 0:
            if y is None or np.shape(y) != (N,):
                raise InputError("y", f"must have shape ({N},) when base_weight > 0, got {None if y is None else np.shape(y)}")
        for name, arr in (("Z", Zh), ("W1", W1h), ("a", ah), ("T", T), ("y", y)):
            if arr is not None and not np.all(np.isfinite(np.asarray(arr))):
                raise InputError(name, "contains non-finite values")

        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        full_batch = self.batch_size is None or self.batch_size >= N
        if method == "auto":
            method = choose_method(N, d, None if full_batch else self.batch_size)
        if method == "gram" and not full_batch:
            raise InputError("method", "'gram' supports full-batch GD only (batch_size None or >= N)")

        self.Z = to_device(xp, Zh, dt)
        self.T = None if objective.lam == 0 else to_device(xp, np.asarray(T), dt)
        self.y = None if objective.base_weight == 0 else to_device(xp, np.asarray(y), dt)
        self.a = to_device(xp, ah, dt).copy()

        # neuron blocks: whole pooling groups, about block_elems/N neurons each
        nmax = N if full_batch else self.batch_size
        target = max(1, block_elems // max(nmax, 1))
        self.mb = mb = min(m, g * max(1, target // g))
        self.blocks = [(j0, min(m, j0 + mb)) for j0 in range(0, m, mb)]

        # row chunks of the elementwise work
        self.chunk_rows = max(1, chunk_elems // mb)
        cmax = min(nmax, self.chunk_rows) * mb

        # elementwise threads, each with its own scratch
        if threads is None:
            threads = min(os.cpu_count() or 1, 8) if (xp is np and nmax * mb >= 1 << 17) else 1
        self.threads = check_int("threads", threads, low=1) if xp is np else 1
        self._pool = None

        # buffers (allocated once; a step allocates nothing of size N*m or m*d)
        self.H = [xp.empty((nmax, j1 - j0), dtype=dt) for j0, j1 in self.blocks]  # H, then G
        # per thread: outer-product scratch S, chunk mask M (1[U > 0]), a zero array (NumPy's
        # maximum/greater against a scalar 0 take a slow broadcast loop; an array is 4x faster),
        # and a partial gradient of a
        self.ws = [{"S": xp.empty(cmax, dtype=dt), "M": xp.empty(cmax, dtype=bool),
                    "zeros": xp.zeros(cmax, dtype=dt), "ga": xp.empty(mb, dtype=dt)}
                   for _ in range(self.threads)]
        self.out = xp.empty(nmax, dtype=dt)
        self.r = xp.empty(nmax, dtype=dt)
        self.Dp = xp.empty((nmax, m // g), dtype=dt) if (g > 1 and objective.lam > 0) else None
        self.Tp = None
        if self.Dp is not None:
            self.Tp = self.T.reshape(N, m // g, g).sum(axis=2)
        if not full_batch:
            b = self.batch_size
            self.Zb = xp.empty((b, d), dtype=dt)
            self.Tb = None if self.T is None else xp.empty((b, m), dtype=dt)
            self.Tpb = None if self.Tp is None else xp.empty((b, m // g), dtype=dt)
            self.yb = None if self.y is None else xp.empty(b, dtype=dt)

        W1d = to_device(xp, W1h, dt).copy()
        if method == "primal":
            self.layer = PrimalState(xp, W1d, self.blocks, mb)
        else:
            self.layer = RowSpaceState(xp, W1d, self.Z, self.blocks)

    @property
    def method(self) -> str:
        """``"primal"`` or ``"gram"``: the form of the first layer (:attr:`layer`)."""
        return self.layer.method

    # ------------------------------------------------------------------ state
    def weights(self):
        """Current ``(W1, a)`` as host NumPy arrays of the training dtype (copies).

        For the gram method :math:`W_1 = W_1(0) + C Z` is formed here and :math:`U` is re-synchronised
        to :math:`Z W_1^T` (:meth:`RowSpaceState.W1_device`).
        """
        W1 = self.layer.W1_device()
        return to_numpy(W1).copy(), to_numpy(self.a).copy()

    def state(self) -> dict:
        """The trainable state as host arrays (copies): ``a`` (m,) and the first layer's
        (:meth:`PrimalState.state`: ``W1`` (m, d); :meth:`RowSpaceState.state`: ``W1_0`` (m, d) and per
        neuron block k ``Ct_k`` and ``U_k`` (N, block)). Restoring it with :meth:`set_state` continues
        training bit for bit."""
        return {"a": to_numpy(self.a).copy(), **self.layer.state()}

    def set_state(self, state) -> None:
        """Copy the arrays of a :meth:`state` mapping into the simulator's own arrays (in place).

        Raises :class:`~theorycheck.errors.InputError` (parameter ``state``) on a missing array or a
        shape or dtype that differs from the simulator's.
        """
        _put(self.xp, self.dtype, self.a, state, "a")
        self.layer.set_state(state, self.dtype)

    def weights_device(self):
        """Current ``(W1, a)`` as arrays of the simulator's namespace (copies)."""
        return self.layer.W1_device().copy(), self.a.copy()

    # ------------------------------------------------------------------ the fused pass
    def loss(self) -> LossParts:
        """Training loss over all N samples at the current parameters (no update).

        A minibatch simulator (buffers smaller than N) sums the loss over chunks of rows.
        """
        return self._full(want_grad=False)[0]

    def loss_and_grad(self):
        """Loss and gradients over all N samples at the current parameters (no update).

        Returns
        -------
        parts : LossParts
        gW1 : ndarray of shape (m, d), :math:`\\nabla_{W_1} L` (host, training dtype)
        ga : ndarray of shape (m,), :math:`\\nabla_a L` (zeros when :math:`a` is frozen)
        """
        parts, gW1, ga = self._full(want_grad=True)
        return parts, to_numpy(gW1), to_numpy(ga)

    def _full(self, want_grad: bool):
        if self.batch_size is None or self.batch_size >= self.N:
            return self._run(update=False, want_loss=True, want_grad=want_grad)
        # chunks of the buffer size; per-chunk values are rescaled to sums, then reduced again
        ob, B = self.objective, self.batch_size
        tot = {"base": 0.0, "feature": 0.0}
        gW1 = ga = None
        for i0 in range(0, self.N, B):
            idx = np.arange(i0, min(self.N, i0 + B))
            w = len(idx) if ob.reduction == "mean" else 1.0
            parts, g1, g2 = self._run(update=False, want_loss=True, want_grad=want_grad, idx=idx)
            tot["base"] += parts.base * w
            tot["feature"] += parts.feature * w
            if want_grad:
                gW1 = g1 * w if gW1 is None else gW1 + g1 * w
                ga = g2 * w if ga is None else ga + g2 * w
        s = 1.0 / self.N if ob.reduction == "mean" else 1.0
        base, feat = tot["base"] * s, tot["feature"] * s
        parts = LossParts(base=base, feature=feat, total=ob.base_weight * base + ob.lam * feat)
        if want_grad:
            gW1, ga = gW1 * s, ga * s
        return parts, gW1, ga

    def step(self, lr_W1: float, lr_a: float = 0.0, idx=None, want_loss: bool = False):
        """One (S)GD step :math:`W_1 \\leftarrow W_1 - \\eta_1\\nabla_{W_1}L`, :math:`a \\leftarrow a - \\eta_2\\nabla_a L`.

        Parameters
        ----------
        lr_W1, lr_a : float >= 0, step sizes of the two layers (``lr_a`` ignored when frozen)
        idx : array of int or None
            Minibatch row indices (``None``: full batch). The loss is then the minibatch loss.
        want_loss : bool
            Also return the loss at the parameters *before* the step (costs one extra reduction).

        Returns
        -------
        LossParts or None
        """
        return self._run(update=True, want_loss=want_loss, want_grad=False,
                         lr=(float(lr_W1), float(lr_a)), idx=idx)[0]

    def _data(self, idx):
        """Current data views (Z, T, Tp, y, n): the full set, or a minibatch gathered into buffers."""
        if idx is None:
            return self.Z, self.T, self.Tp, self.y, self.N
        xp = self.xp
        idx = xp.asarray(idx)
        n = int(idx.shape[0])
        if self.batch_size is None or n > self.batch_size or n < 1:
            raise InputError("idx", f"minibatch size must be in [1, {self.batch_size}], got {n}")
        Zb = self.Zb[:n]
        xp.take(self.Z, idx, axis=0, out=Zb)
        Tb = Tpb = yb = None
        if self.T is not None:
            Tb = self.Tb[:n]
            xp.take(self.T, idx, axis=0, out=Tb)
        if self.Tp is not None:
            Tpb = self.Tpb[:n]
            xp.take(self.Tp, idx, axis=0, out=Tpb)
        if self.y is not None:
            yb = self.yb[:n]
            xp.take(self.y, idx, axis=0, out=yb)
        return Zb, Tb, Tpb, yb, n

    def _chunks(self, n):
        c = self.chunk_rows
        return [(i0, min(n, i0 + c)) for i0 in range(0, n, c)]

    def _groups(self, chunks):
        """Split the row chunks into at most ``threads`` contiguous groups of similar size."""
        t = min(self.threads, len(chunks))
        bounds = [round(i * len(chunks) / t) for i in range(t + 1)]
        return [chunks[bounds[i]:bounds[i + 1]] for i in range(t)]

    def _map(self, fn, groups):
        """``fn(rows, scratch)`` for every group; in threads when there is more than one."""
        if len(groups) == 1:
            return [fn(groups[0], self.ws[0])]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="relu-sim")
        futures = [self._pool.submit(fn, rows, ws) for rows, ws in zip(groups, self.ws)]
        return [f.result() for f in futures]

    def close(self):
        """Stop the elementwise threads (also done when the simulator is garbage-collected)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    def _buf(self, buf, shape):
        """A C-contiguous view of the first prod(shape) entries of a flat buffer."""
        return buf[: shape[0] * shape[1]].reshape(shape)

    def _run(self, update: bool, want_loss: bool, want_grad: bool, lr=(0.0, 0.0), idx=None):
        xp, ob, dt, layer = self.xp, self.objective, self.dtype, self.layer
        if idx is not None and not layer.minibatches:
            raise InputError("idx", "minibatches need method='primal'")
        Zc, Tc, Tpc, yc, n = self._data(idx)
        g, beta, lam = ob.g, ob.base_weight, ob.lam
        s = 1.0 / n if ob.reduction == "mean" else 1.0
        pooled = self.Dp is not None
        Dp = self.Dp[:n] if pooled else None
        out, r = self.out[:n], self.r[:n]
        feat = xp.zeros((), dtype=np.float64)   # accumulated on the device (no sync per chunk)
        chunks = self._chunks(n)
        train_a = ob.train_W2 and beta > 0

        # ---- pass 1: H = relu(Z W1^T) by block, output H a, pooled residual (g > 1)
        out.fill(0)
        groups = self._groups(chunks)
        for k, (j0, j1) in enumerate(self.blocks):
            mk = j1 - j0
            Hk = self.H[k][:n]
            src = layer.preactivations(k, Zc, Hk)   # U of the block (computed into Hk, or tracked)
            a_k = self.a[j0:j1]

            def pass1(rows, ws, Hk=Hk, src=src, a_k=a_k, j0=j0, j1=j1, mk=mk):
                part = xp.zeros((), dtype=np.float64)
                for i0, i1 in rows:
                    Hc = Hk[i0:i1]
                    xp.maximum(src[i0:i1], self._buf(ws["zeros"], Hc.shape), out=Hc)
                    if beta > 0:
                        out[i0:i1] += Hc @ a_k
                    if pooled:
                        Dc = Dp[i0:i1, j0 // g: j1 // g]
                        xp.sum(Hc.reshape(i1 - i0, mk // g, g), axis=2, out=Dc)
                        xp.subtract(Dc, Tpc[i0:i1, j0 // g: j1 // g], out=Dc)
                        if want_loss:
                            part += xp.vdot(Dc, Dc)
                return part
            for part in self._map(pass1, groups):
                feat += part
        if beta > 0:
            xp.subtract(out, yc, out=r)
            base = float(xp.vdot(r, r)) * s
            if not math.isfinite(base):
                raise FloatingPointError(f"training loss became {base}; lower the learning rate")
        else:
            base = 0.0

        # ---- pass 2: G = ((beta/lam) r a^T + D P) * M, in place of H, chunk by chunk; G^T Z; updates
        if lam > 0:
            coef_r, scale = beta / lam, 2.0 * s * lam       # true gradient = scale * G^T Z
        else:
            coef_r, scale = 1.0, 2.0 * s * beta
        rho = r * coef_r if (beta > 0 and coef_r != 1.0) else r
        if want_grad:
            gW1 = xp.empty((self.m, self.d), dtype=dt)
            ga = xp.zeros(self.m, dtype=dt)
        lr1, lr2 = lr
        for k, (j0, j1) in enumerate(self.blocks):
            mk = j1 - j0
            Hk = self.H[k][:n]
            a_k = self.a[j0:j1]

            def pass2(rows, ws, Hk=Hk, a_k=a_k, j0=j0, j1=j1, mk=mk):
                part = xp.zeros((), dtype=np.float64)
                ga_k = ws["ga"][:mk]
                if train_a:
                    ga_k.fill(0)
                for i0, i1 in rows:
                    Gc = Hk[i0:i1]                      # holds H; becomes G
                    if train_a:
                        ga_k += r[i0:i1] @ Gc
                    Mc = self._buf(ws["M"], Gc.shape)
                    xp.greater(Gc, self._buf(ws["zeros"], Gc.shape), out=Mc)   # 1[U > 0] = 1[H > 0]
                    if lam > 0:
                        if pooled:   # each group's pooled residual, broadcast to its g neurons
                            xp.copyto(Gc.reshape(i1 - i0, mk // g, g), Dp[i0:i1, j0 // g: j1 // g, None])
                        else:
                            xp.subtract(Gc, Tc[i0:i1, j0:j1], out=Gc)
                            if want_loss:
                                part += xp.vdot(Gc, Gc)
                        if beta > 0:
                            Sc = self._buf(ws["S"], Gc.shape)
                            xp.multiply(rho[i0:i1, None], a_k[None, :], out=Sc)
                            xp.add(Gc, Sc, out=Gc)
                    else:
                        xp.multiply(rho[i0:i1, None], a_k[None, :], out=Gc)
                    xp.multiply(Gc, Mc, out=Gc)
                return part
            for part in self._map(pass2, groups):
                feat += part
            if train_a:
                ga_k = self.ws[0]["ga"][:mk]
                for ws in self.ws[1:len(groups)]:
                    ga_k += ws["ga"][:mk]
                ga_k *= 2.0 * s * beta
            if want_grad:
                xp.matmul(Hk.T, Zc, out=gW1[j0:j1])
                gW1[j0:j1] *= scale
                if train_a:
                    ga[j0:j1] = ga_k
            if update:
                if train_a and lr2 != 0.0:
                    ga_k *= lr2
                    a_k -= ga_k                      # a_k is a view of self.a
                if lr1 != 0.0:
                    layer.update(k, Hk, Zc, lr1 * scale)

        if not want_loss:
            parts = None
        else:
            f = float(feat) * s if lam > 0 else 0.0
            if not math.isfinite(f):
                raise FloatingPointError(f"feature loss became {f}; lower the learning rate")
            parts = LossParts(base=base, feature=f, total=beta * base + lam * f)
        if want_grad:
            return parts, gW1, ga
        return parts, None, None
