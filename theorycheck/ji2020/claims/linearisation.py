"""``ji2020.linearisation``: Corollary 2, a wide network trained on the KD loss follows its NTK
linearisation."""

from __future__ import annotations

import numpy as np
from matplotlib import ticker

from ... import plots
from ...plots import legend_below
from ...errors import InputError, check_grid, check_int, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ...stats import loglog_fit, loglog_slope
from ..experiments.linearisation import kernel_limit_cell, linearisation_cell
from .common import MFLOP, PAPER_NOTE, check_teacher_logits, check_temperature, kernel_bytes

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "estimate", "measure", "verdict", "figure"]

#: Parameters at the default scale (a reconstructed setting, written down before any run).
BASE = {"d": 10, "n": 40, "n_test": 500, "n_centres": 20, "c_std": 2.0, "rho": 1.0, "T": 1.0,
        "widths": [256, 1024, 4096, 16384], "seeds": 3, "steps": 2000, "lr_factor": 0.5,
        "limit_steps": 200_000, "limit_grad_tol": 1e-12}

#: Tolerances of the verdict:
#:
#: - ``rate_n_se``: the gap between the network and its NTK dynamics at equal training time is
#:   :math:`O(m^{-1/2})` (Lee et al. 2019, whose result Corollary 2 uses); the least-squares exponent over
#:   every (seed, width) must be negative and no slower than -1/2, each within ``rate_n_se`` of its
#:   standard errors (a tolerance from the fit itself).
#: - ``rmse_tol_at_16384``: the gap is small: below 3 % of the outputs' RMS at m = 16384, scaled by
#:   1/sqrt(m) at other widths (the value written down for this setting before it was run).
#: - ``gram_mc_ratio_max``: the empirical Gram matrix is a mean of m/2 independent per-neuron kernels,
#:   so its error has a root-mean-square predicted from the same network; the measured error may
#:   exceed it by at most 2x at every (seed, width) (a wrong analytic constant makes the ratio grow like
#:   sqrt(m)).
#: - ``limit_tol``: kernel gradient descent run until its gradient norm is at most 1e-12 sits within
#:   n abs(g) / min F' (about 1e-8 here) of its fixed point, kernel regression on z_eff; 1e-4 tells a wrong
#:   limit (an O(1) gap) from round-off.
#: - ``f0_tol``: the antisymmetric pairs cancel f(x; w0) up to rounding of a sum of m terms of size
#:   1/sqrt(m), far below 1e-12.
CRITERIA = {"rate_n_se": 3.0, "rmse_tol_at_16384": 0.03, "gram_mc_ratio_max": 2.0, "limit_tol": 1e-4,
            "f0_tol": 1e-12}

PAPER_SAYS = {
    "approx": r'Corollary 2: "the student network can be approximated with its linear version" '
              r"$f(x; w_0) + \Delta_w^\top\phi(x)$",
    "kernel": r'"empirical tangent kernel $\hat\Theta(X, X) \approx \Theta(X, X)$", the NTK being its '
              "infinite-width limit",
    "converged": r'"the converged student weight change is $\Delta_{\hat w} = \phi(X)\hat\Theta(X, X)^{-1}\Delta_z$"',
    "init": r"$\Delta_z = z - f(X; w_0)$: with the antisymmetric initialisation $f(X; w_0) = 0$",
}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    for k in ("d", "n", "n_centres", "limit_steps"):
        check_int(k, p[k], low=1)
    check_int("n_test", p["n_test"], low=2)
    check_int("seeds", p["seeds"], low=1)
    check_real("limit_grad_tol", p["limit_grad_tol"], low=0.0, low_open=True)
    check_int("steps", p["steps"], low=1)
    check_real("c_std", p["c_std"], low=0.0, low_open=True)
    check_real("rho", p["rho"], low=0.0, high=1.0, low_open=True)
    check_temperature("T", p["T"])
    check_real("lr_factor", p["lr_factor"], low=0.0, high=1.0, low_open=True, high_open=True)
    widths = check_grid("widths", p["widths"], low=2, integer=True)
    if len(widths) < 3 or any(w % 2 for w in widths):
        raise InputError("widths", f"must be at least 3 even widths (antisymmetric init), got {widths}")
    for k in ("rate_n_se", "rmse_tol_at_16384", "gram_mc_ratio_max", "limit_tol", "f0_tol"):
        check_real(k, p[k], low=0.0, low_open=True)


def estimate(p) -> Estimate:
    """The widest network's activations and gradients on the training and test points dominate memory;
    the work is forward and backward passes, per step, width and seed."""
    m, n, nt, d = p["widths"][-1], p["n"], p["n_test"], p["d"]
    peak = kernel_bytes((n + nt, m), (n + nt, m), (n, m), (n, m), (m, d), (m, d), (m, d), (nt, n))
    per_step = sum(8.0 * n * w * d for w in p["widths"])
    work = p["seeds"] * (p["steps"] * per_step + sum(6.0 * (n + nt) * w * (d + n) for w in p["widths"])
                         + 2.0 * n * n * p["limit_steps"])
    return Estimate(peak_bytes=peak, memory_param="widths", work=work / MFLOP, work_param="steps")


def measure(params, ctx):
    """Network, linearisation and NTK dynamics per (seed, width); kernel GD to its limit per seed."""
    keys = ("d", "n", "n_test", "n_centres", "c_std", "rho", "T", "steps", "lr_factor")
    base = {k: params[k] for k in keys}
    seeds = [int(ctx.rng(part="data", seed=s).integers(0, 2 ** 62)) for s in range(params["seeds"])]
    check_teacher_logits(seeds, d=params["d"], n_centres=params["n_centres"], c_std=params["c_std"],
                         T=params["T"])
    widths = params["widths"]
    cells = [dict(base, data_seed=ds, m=m, keep_outputs=(i == 0 and m == widths[-1]))
             for i, ds in enumerate(seeds) for m in widths]
    out = ctx.map(linearisation_cell, cells, stream="networks", blas_threads=1, desc="linearisation")
    lim = ctx.map(kernel_limit_cell, [dict(base, data_seed=ds, limit_steps=params["limit_steps"],
                                           limit_grad_tol=params["limit_grad_tol"]) for ds in seeds],
                  stream="kernel_gd_limit", blas_threads=1, desc="kernel GD limit")

    def mean_over_seeds(key):
        return [float(np.mean([o[key] for o in out if o["m"] == m])) for m in widths]

    rmse, rmse_e, gram, gram_mc = (mean_over_seeds(k) for k in ("rmse_vs_ntk", "rmse_vs_empirical_lin",
                                                                  "gram_rel_err", "gram_err_over_mc"))
    keep = next(o for o in out if "f_net" in o)
    W = len(widths)
    fit = loglog_fit(widths, [[o["rmse_vs_ntk"] for o in out[i * W:(i + 1) * W]] for i in range(len(seeds))])
    metrics = {
        "widths": widths,
        "rmse_vs_ntk": rmse,
        "slope_rmse_vs_ntk": fit.slope,
        "slope_rmse_vs_ntk_se": fit.slope_se,
        "slope_rmse_vs_empirical_lin": loglog_slope(widths, rmse_e),
        "slope_gram": loglog_slope(widths, gram),
        "rmse_at_largest": rmse[-1],
        "gram_err_at_largest": gram[-1],
        "gram_err_sqrt_m": [g * np.sqrt(w) for g, w in zip(gram, widths)],
        "gram_err_over_mc_max": max(o["gram_err_over_mc"] for o in out),
        "rmse_monotone": bool(np.all(np.diff(rmse) < 0)),
        "sign_disagreement_at_largest": float(np.mean([o["sign_disagreement"] for o in out if o["m"] == widths[-1]])),
        "max_abs_f0": max(o["f0_max"] for o in out),
        "max_train_loss": max(o["train_loss"] for o in out),
        "lr": out[0]["lr"],
        "kernel_gd_vs_regression": max(o["rel_err"] for o in lim),
        "kernel_gd_limit_grad_norm": max(o["grad_norm"] for o in lim),
        "kernel_gd_limit_steps": max(o["steps"] for o in lim),
    }
    series = {"widths": widths, "rmse_vs_ntk": rmse, "rmse_vs_empirical_lin": rmse_e, "gram_rel_err": gram,
              "per_seed": [[o[k] for k in ("m", "rmse_vs_ntk", "rmse_vs_empirical_lin", "gram_rel_err")]
                           for o in out],
              "f_net": keep["f_net"], "f_lin": keep["f_lin"]}
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    """Pass if the gap shrinks at the rate m^(-1/2) or faster and is small, the Gram error is Monte Carlo
    noise at every width, kernel gradient descent reaches kernel regression and the initial output
    vanishes."""
    mmax = p["widths"][-1]
    rmse_tol = c["rmse_tol_at_16384"] * np.sqrt(16384 / mmax)
    k, b, se = c["rate_n_se"], m["slope_rmse_vs_ntk"], m["slope_rmse_vs_ntk_se"]
    return Verdict.from_criteria(
        rate=(b + k * se < 0 and b - k * se <= -0.5,
              f"log-log exponent in the width $m$ of the gap between network and NTK dynamics: {b:.3f} $\\pm$ "
              f"{se:.3f} (standard error); at {k:g} standard errors, {b + k * se:.3f} < 0 and {b - k * se:.3f} "
              r"$\le -1/2$ (theory: $m^{-1/2}$)",
              PAPER_SAYS["approx"]),
        size=(m["rmse_at_largest"] < rmse_tol,
              f"gap at $m = {mmax}$: {m['rmse_at_largest']:.4f} of the outputs' RMS < {rmse_tol:.4f} "
              f"({c['rmse_tol_at_16384']:g} at $m = 16384$, scaled like $1/\\sqrt{{m}}$)", PAPER_SAYS["approx"]),
        gram=(m["gram_err_over_mc_max"] <= c["gram_mc_ratio_max"],
              f"empirical NTK Gram error over its predicted Monte Carlo RMS, largest over seeds and widths: "
              f"{m['gram_err_over_mc_max']:.2f} $\\le$ {c['gram_mc_ratio_max']:g} (log-log slope of the error "
              f"{m['slope_gram']:.3f}, theory $-1/2$)", PAPER_SAYS["kernel"]),
        limit=(m["kernel_gd_vs_regression"] < c["limit_tol"],
               f"kernel gradient descent run to gradient norm {m['kernel_gd_limit_grad_norm']:.1e} "
               f"({m['kernel_gd_limit_steps']} steps at most) against kernel regression on "
               r"$z_{s,\mathrm{eff}}$: "
               f"{m['kernel_gd_vs_regression']:.2e} < {c['limit_tol']:g}", PAPER_SAYS["converged"]),
        zero_init=(m["max_abs_f0"] < c["f0_tol"],
                   f"antisymmetric initialisation: $\\max|f(x; w_0)|$ = {m['max_abs_f0']:.1e} < {c['f0_tol']:g}",
                   PAPER_SAYS["init"]),
    )


def figure(result, fig):
    """The three gaps against the width (log-log), and network against NTK outputs at the largest width."""
    s = result.series
    ax1, ax2 = fig.subplots(1, 2)
    w = np.array(s["widths"], float)
    per = np.array(s["per_seed"])
    gaps = ((1, "rmse_vs_ntk", "network vs infinite-width NTK dynamics", "o"),
            (2, "rmse_vs_empirical_lin", r"network vs its linearisation $f(x;w_0)+\Delta w^\top\phi(x)$", "s"),
            (3, "gram_rel_err", r"empirical $\hat\Theta$ vs analytic $\Theta$ (Frobenius)", "^"))
    for col, key, lab, mk in gaps:
        line, = ax1.loglog(w, s[key], mk + "-", ms=4, label=lab)
        ax1.loglog(per[:, 0], per[:, col], mk, ms=2, alpha=0.4, color=line.get_color())
    ax1.loglog(w, s["rmse_vs_ntk"][0] * np.sqrt(w[0] / w), "k:", lw=1, label=r"slope $m^{-1/2}$")
    ax1.set(xlabel="width $m$", ylabel="relative gap on test inputs\n(at equal training time)", title="Corollary 2: gap against width")
    ax1.set_xticks(w, [f"{int(v)}" for v in w])  # the widths run (powers of 2)
    ax1.xaxis.set_minor_locator(ticker.NullLocator())
    plots.log_ticks(ax1, "y")
    fl, fn = np.array(s["f_lin"]), np.array(s["f_net"])
    ax2.plot(fl, fn, ".", ms=2, color=plots.PALETTE[0], label=f"test inputs ($m={int(w[-1])}$, one seed)")
    lim = [min(fl.min(), fn.min()), max(fl.max(), fn.max())]
    ax2.plot(lim, lim, "k--", lw=0.8, label="equality")
    ax2.set(xlabel="infinite-width NTK dynamics output", ylabel="network output $f(x;w)$",
            title=f"Corollary 2: outputs at $m={int(w[-1])}$")
    legend_below(fig, ncols=2, title="lines: mean over seeds; faint markers: single seeds")


METRICS = {
    "slope_rmse_vs_ntk": Metric("least-squares exponent of the network-vs-NTK-dynamics gap in the width $m$ "
                                "(every seed and width)", "1", "gap exponent"),
    "slope_rmse_vs_ntk_se": Metric("its standard error", "1"),
    "rmse_vs_ntk": Metric("test RMSE between the network and the NTK dynamics at equal training time, relative "
                          "to the outputs' RMS, per width (seed means)", "1"),
    "rmse_at_largest": Metric("that gap at the largest width", "1", "gap at $m_{\\max}$"),
    "slope_rmse_vs_empirical_lin": Metric("log-log slope of the gap between the network and its own "
                                          "linearisation $f(x;w_0)+\\Delta_w^\\top\\phi(x)$", "1"),
    "slope_gram": Metric("log-log slope of the relative Frobenius error of $\\hat\\Theta(X,X)$ against "
                         "$\\Theta(X,X)$", "1", "Gram exponent"),
    "gram_err_at_largest": Metric("relative Frobenius error of $\\hat\\Theta$ at the largest width", "1"),
    "gram_err_sqrt_m": Metric("that error times $\\sqrt m$, per width", "1"),
    "gram_err_over_mc_max": Metric("largest ratio of the Gram error to its predicted Monte Carlo RMS", "1",
                                   "Gram error / MC RMS"),
    "rmse_monotone": Metric("the seed-mean gap falls at every width step (reported)", "1"),
    "sign_disagreement_at_largest": Metric("share of test points where network and NTK outputs differ in sign, "
                                           "largest width", "fraction of test points"),
    "max_abs_f0": Metric("largest $|f(x; w_0)|$ at initialisation", "logit units"),
    "max_train_loss": Metric("largest training loss at the end of training", "nats"),
    "lr": Metric("step size $\\eta$", "1"),
    "kernel_gd_vs_regression": Metric("largest test-output gap between kernel gradient descent at convergence "
                                      "and kernel regression on $z_{\\mathrm{eff}}$, relative to the outputs' RMS",
                                      "1", "limit gap"),
    "kernel_gd_limit_grad_norm": Metric("gradient norm where kernel gradient descent stopped", "1"),
    "kernel_gd_limit_steps": Metric("steps kernel gradient descent took", "steps"),
    "widths": Metric("widths $m$", "neurons"),
}

CLAIM = register(Claim(
    id="ji2020.linearisation",
    title="Corollary 2: a wide network trained on the distillation loss follows its linearisation",
    statement=(
        "Corollary 2 (poster): the student network can be approximated with its linear version "
        "$f(x; w) \\approx f(x; w_0) + \\Delta_w^\\top\\phi(x)$, $\\phi(x) = \\partial_w f(x; w_0)$, and the "
        "converged weight change is $\\Delta_{\\hat w} = \\phi(X)\\hat\\Theta(X, X)^{-1}\\Delta_z$, with the "
        "empirical tangent kernel $\\hat\\Theta \\approx \\Theta$, the NTK. Checked here in its dynamical form "
        "(Lee et al. 2019): gradient descent on the distillation loss, run on the finite network and on the "
        "kernel dynamics for the same number of steps, gives test outputs whose gap shrinks like "
        "$m^{-1/2}$; the empirical NTK is the analytic one up to Monte Carlo noise; and the kernel dynamics "
        "converge to kernel regression on $z_{s,\\mathrm{eff}}$."),
    assumptions=("two-layer bias-free ReLU network in NTK parameterisation, both layers trained, antisymmetric "
                 "initialisation so that $f(x; w_0) = 0$ (reconstructed: the paper gives no architecture)",
                 "inputs uniform on $S^{d-1}$; teacher a kernel machine of the NTK (reconstructed)",
                 "full-batch gradient descent with half the stability limit of the kernel dynamics as step "
                 "(the paper gives no step size)"),
    method=(
        "For each width $m$ and seed, train the network (NTK parameterisation mapped to the standard layout "
        "by a $1/m$ learning-rate factor on the second layer) and run function-space gradient descent "
        "$z \\leftarrow z - \\eta\\Theta\\,\\partial\\mathcal L/\\partial z$ with the analytic NTK and with the "
        "empirical NTK at initialisation, for the same steps and $\\eta$. Measure the relative RMSE on test "
        "points between network and NTK dynamics, between network and its own linearisation, and the "
        "relative Frobenius error of the empirical Gram matrix. Pass if the least-squares exponent of the "
        "network-vs-NTK gap in $m$ (every seed and width) is negative and no slower than $-1/2$, each within "
        "3 standard errors of the fit; the gap at the largest width is below $0.03\\sqrt{16384/m}$; the Gram "
        "error is at most twice its predicted Monte Carlo RMS at every seed and width (the per-neuron "
        "variance of the same network; a wrong analytic constant would make this ratio grow like "
        "$\\sqrt m$); kernel gradient descent run until its gradient norm is below 1e-12 matches kernel "
        "regression on $z_{s,\\mathrm{eff}}$ to 1e-4; and $\\max|f(x; w_0)| < 10^{-12}$."),
    scales={"smoke": dict(BASE, widths=[256, 1024, 4096], seeds=2, steps=300),
            "default": dict(BASE),
            "paper": dict(BASE, widths=[256, 1024, 4096, 16384, 65536], seeds=5)},
    criteria=CRITERIA,
    measure=measure, verdict=verdict, figure=figure, estimate=estimate, metrics=METRICS,
    key_metrics=("slope_rmse_vs_ntk", "rmse_at_largest", "gram_err_over_mc_max"),
    scale_note=("Settings ($d = 10$, $n = 40$, 500 test points, 20 centres, $\\rho = 1$, $T = 1$, 2000 steps, "
                "3 seeds, widths 256 to 16384) and the 3% gap at $m = 16384$ were written down for this toolkit "
                "before the check was run. Smoke: widths up to 4096, two seeds, 300 steps (the kernel "
                "dynamics are already near their limit). " + PAPER_NOTE),
    validate=validate, tags=("network", "ntk"),
))
