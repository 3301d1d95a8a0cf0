"""``theorycheck bench relu-step``: seconds per training step of Eq. (2) against the two GEMMs it needs.

One full-batch GD step of the student-teacher loss (Hong et al. 2021, Eq. (2)) on a two-layer ReLU
student needs at least the forward GEMM :math:`Z W_1^T` and the gradient GEMM :math:`G^T Z`
(:math:`N d m` multiply-adds each); everything else is :math:`O(Nm)`. The benchmark times, in the
same process and interleaved (so machine load affects both alike), the fused step of
:class:`~theorycheck.hong2021.relu.simulator.TwoLayerSimulator`, the two GEMMs alone on preallocated buffers,
and optionally a naive NumPy step (:func:`theorycheck.nets.st_loss_and_grad` plus the update), and
reports the minimum over repeats and the ratios ``step / gemm`` and ``naive / gemm``.

Example::

    theorycheck bench relu-step --m 20000 --d 500 --n 1000 --dtype float32 --json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from ...backend import get_xp, resolve_dtype, synchronize, to_device
from ...benchmarks import benchmark
from ...errors import InputError, check_int

__all__ = ["relu_step"]


def _parser():
    p = argparse.ArgumentParser(prog="theorycheck bench relu-step", description=__doc__.splitlines()[0])
    p.add_argument("--m", type=int, default=20000, help="hidden width")
    p.add_argument("--d", type=int, default=500, help="input dimension d_x")
    p.add_argument("--n", type=int, default=1000, help="training samples N (full batch)")
    p.add_argument("--dtype", default="float32", help="float32 or float64")
    p.add_argument("--backend", default="numpy", help="numpy or cupy")
    p.add_argument("--method", default="auto", help="auto, primal or gram (see hong2021.relu.simulator)")
    p.add_argument("--lam", type=float, default=None, help="lambda of Eq. (2) (default 1/d)")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions (minimum is reported)")
    p.add_argument("--block-elems", type=int, default=None, help="simulator neuron-block size (entries)")
    p.add_argument("--chunk-elems", type=int, default=None, help="simulator row-chunk size (entries)")
    p.add_argument("--threads", type=int, default=None, help="simulator elementwise threads (default: CPUs)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive NumPy step")
    p.add_argument("--compare-methods", action="store_true",
                   help="also time the other of primal/gram (gram needs nothing but N < ~d to pay off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON (the CLI does)")
    return p


def _timeit(fn, xp):
    synchronize(xp)
    t0 = time.perf_counter()
    fn()
    synchronize(xp)
    return time.perf_counter() - t0


@benchmark("relu-step")
def relu_step(argv) -> dict:
    """Run the benchmark; ``argv`` as on the command line. Returns the result dict."""
    from ...nets import st_loss_and_grad
    from .objective import eq2
    from .simulator import TwoLayerSimulator

    args = _parser().parse_args(argv)
    m = check_int("--m", args.m, low=1)
    d = check_int("--d", args.d, low=1)
    n = check_int("--n", args.n, low=1)
    repeat = check_int("--repeat", args.repeat, low=1)
    dt = resolve_dtype(args.dtype)
    xp = get_xp(args.backend)
    lam = 1.0 / d if args.lam is None else args.lam
    if lam <= 0:
        raise InputError("--lam", f"must be > 0, got {lam}")
    rng = np.random.default_rng(args.seed)
    W_t = rng.standard_normal((m, d)) * np.sqrt(2.0 / (m + d))
    a_t = rng.standard_normal(m) * np.sqrt(2.0 / (m + 1))
    X = rng.standard_normal((n, d))
    Z = (X + 0.5 * rng.standard_normal((n, d))).astype(dt)
    T = np.maximum(X @ W_t.T, 0).astype(dt)
    y = (T @ a_t).astype(dt)
    W1 = (rng.standard_normal((m, d)) * np.sqrt(2.0 / (m + d))).astype(dt)
    a = (rng.standard_normal(m) * np.sqrt(2.0 / (m + 1))).astype(dt)
    del X

    kw = {}
    if args.block_elems:
        kw["block_elems"] = args.block_elems
    if args.chunk_elems:
        kw["chunk_elems"] = args.chunk_elems
    if args.threads:
        kw["threads"] = args.threads
    sims = {}
    sim = TwoLayerSimulator(Z, T, y, W1, a, eq2(lam), backend=args.backend, dtype=dt, method=args.method, **kw)
    sims[sim.method] = sim
    if args.compare_methods:
        other = "gram" if sim.method == "primal" else "primal"
        sims[other] = TwoLayerSimulator(Z, T, y, W1, a, eq2(lam), backend=args.backend, dtype=dt,
                                        method=other, **kw)
    # a tiny step size keeps the weights (and so the ReLU pattern) essentially at the initialisation
    lr = 1e-6

    Zd, W1d = to_device(xp, Z, dt), to_device(xp, W1, dt)
    Ud = xp.empty((n, m), dtype=dt)
    gWd = xp.empty((m, d), dtype=dt)

    def gemms():
        xp.matmul(Zd, W1d.T, out=Ud)      # forward  Z W1^T
        xp.matmul(Ud.T, Zd, out=gWd)      # gradient G^T Z (G has the shape of U)

    naive = None
    if not args.no_naive and xp is np:
        Wn = [W1.copy(), a[None, :].copy()]

        def naive():
            _, grads = st_loss_and_grad(Wn, Z, y[:, None], [T], lam, "relu", "mean")
            Wn[0] -= lr * grads[0]
            Wn[1] -= lr * grads[1]

    steps = {name: (lambda s=s: s.step(lr, lr)) for name, s in sims.items()}
    fns = {"gemm": gemms, **{f"step_{k}": f for k, f in steps.items()}}
    if naive is not None:
        fns["naive"] = naive
    for fn in fns.values():   # warm-up: page faults, BLAS thread start, caches
        _timeit(fn, xp)
    times = {k: [] for k in fns}
    for _ in range(repeat):   # interleaved, so slow phases of a busy machine hit every variant
        for k, fn in fns.items():
            times[k].append(_timeit(fn, xp))
    best = {k: min(v) for k, v in times.items()}
    gemm = best["gemm"]
    result = {
        "m": m, "d": d, "n": n, "dtype": dt.name, "backend": args.backend, "lam": lam,
        "method": sim.method, "block_neurons": sim.mb, "chunk_rows": sim.chunk_rows,
        "elementwise_threads": sim.threads,
        "seconds_per_step": best[f"step_{sim.method}"],
        "gemm_seconds": gemm,
        "ratio": best[f"step_{sim.method}"] / gemm,
        "gemm_gflops": 4.0 * n * d * m / gemm / 1e9,
        "naive_seconds": best.get("naive"),
        "naive_ratio": best["naive"] / gemm if "naive" in best else None,
        "repeat": repeat,
        "median_seconds_per_step": float(np.median(times[f"step_{sim.method}"])),
        "median_gemm_seconds": float(np.median(times["gemm"])),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    for k in sims:
        if k != sim.method:
            result[f"seconds_per_step_{k}"] = best[f"step_{k}"]
            result[f"ratio_{k}"] = best[f"step_{k}"] / gemm
    try:
        from threadpoolctl import threadpool_info
        result["blas_threads"] = max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
                                     default=None)
    except ImportError:  # pragma: no cover
        result["blas_threads"] = None
    if not args.json:
        print(f"relu-step m={m} d={d} N={n} {dt.name} {args.backend} ({sim.method}): "
              f"step {result['seconds_per_step']:.4g} s, two GEMMs {gemm:.4g} s, ratio {result['ratio']:.3f}"
              + (f", naive ratio {result['naive_ratio']:.3f}" if result["naive_ratio"] else ""))
    return json.loads(json.dumps(result))
