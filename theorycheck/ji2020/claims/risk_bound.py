"""``ji2020.risk_bound``: Result 1, the transfer risk bound :math:`R_n \\le p(\\pi/2-\\bar\\alpha_n)`, which holds
by construction (a consistency check of the implementation, with its tightness reported)."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ... import plots
from ...plots import legend_below
from ...errors import InputError, check_grid, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.risk_bound import risk_cell
from ..experiments.setting import EPS
from ._drawing import N_AXIS, rho_colours, rho_text
from .common import MFLOP, PAPER_NOTE, check_teacher_logits, check_temperature, kernel_bytes

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "estimate", "measure", "verdict", "figure"]

#: Parameters at the default scale (a reconstructed setting, written down before any run).
#: ``bound_tol`` is the tolerance of the bound's region, applied point by point inside the
#: measurement (it enters the measured violations), hence a parameter: the region's edge
#: cos beta(x) = sin alpha_n is computed from quantities each exact to a few rounding errors.
BASE = {"d": 5, "n_centres": 40, "c_std": 1.0, "T": 2.0, "rhos": [1.0, 0.5, 0.1, 0.01],
        "n_grid": [10, 20, 40, 80, 160, 320, 640, 1280], "n_test": 20000, "seeds": 4,
        "diag_reg": 1e-10, "bound_tol": 1e-12}

#: ``rounding_n_eps``: for rho = 1 the student's weight is the projection of the teacher's onto
#: the span of the training features, so cos alpha_n = ||P_n w_t|| / ||w_t|| never falls along
#: nested sets in exact arithmetic; computed through a Cholesky solve, it holds to
#: ``rounding_n_eps`` x n x cond x machine epsilon.
CRITERIA = {"rounding_n_eps": 4}

PAPER_SAYS = {
    "bound": r"Theorem (Risk Bound): $\mathcal R_n \le p(\pi/2 - \bar\alpha_n)$",
    "alpha": r'"the student learns a projection ... so that $\bar\alpha_n$ decreases with $n$"',
    "area": "\"... and the wrong prediction area decrease\"",
}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    for k in ("d", "n_centres", "n_test", "seeds"):
        check_int(k, p[k], low=1)
    check_real("c_std", p["c_std"], low=0.0, low_open=True)
    check_temperature("T", p["T"])
    rhos = check_list("rhos", p["rhos"], low=0.0, high=1.0, low_open=True, distinct=True)
    if 1.0 not in rhos:
        raise InputError("rhos", f"must contain 1.0 (pure soft labels, where the bound's criteria apply), got {p['rhos']}")
    check_grid("n_grid", p["n_grid"], low=1, integer=True)
    check_real("diag_reg", p["diag_reg"], low=0.0, high=1e-3, low_open=True)
    check_real("bound_tol", p["bound_tol"], low=0.0, high=1e-3)
    check_real("rounding_n_eps", p["rounding_n_eps"], low=1.0)


def estimate(p) -> Estimate:
    """One cell holds the test kernel (n_test x largest n), the Gram matrix and the test outputs of
    every soft ratio; the work is one factorisation and one test prediction per n, per seed."""
    n_max, nt, k = max(p["n_grid"]), p["n_test"], len(p["rhos"])
    peak = kernel_bytes((nt, n_max), (n_max, n_max), (n_max, n_max), (nt, k), (nt, k), (nt, k))
    work = p["seeds"] * (30.0 * nt * n_max + sum(n ** 3 / 3 + 2.0 * nt * n * k for n in p["n_grid"])
                         + 10.0 * n_max ** 3)
    return Estimate(peak_bytes=peak, memory_param="n_test" if nt >= n_max else "n_grid", work=work / MFLOP,
                    work_param="seeds")


def measure(params, ctx):
    """One cell per seed (:func:`~theorycheck.ji2020.experiments.risk_bound.risk_cell`): every rho and nested n."""
    keys = ("d", "n_centres", "c_std", "T", "rhos", "n_grid", "n_test", "diag_reg", "bound_tol")
    base = {k: params[k] for k in keys}
    seeds = [int(ctx.rng(part="data", seed=s).integers(0, 2 ** 62)) for s in range(params["seeds"])]
    check_teacher_logits(seeds, d=params["d"], n_centres=params["n_centres"], c_std=params["c_std"],
                         T=params["T"], diag_reg=params["diag_reg"])
    out = ctx.map(risk_cell, [dict(base, data_seed=ds) for ds in seeds],
                  stream="students", blas_threads=1, desc="risk bound")
    rhos, ns = params["rhos"], params["n_grid"]
    A = np.array([o["alpha"] for o in out])  # (seed, n, rho)
    R = np.array([o["R"] for o in out])
    B = np.array([o["B"] for o in out])
    V = np.array([o["violations"] for o in out])
    i1 = rhos.index(1.0)
    lt1 = [i for i, r in enumerate(rhos) if r < 1]
    Rm, Bm, Am = R.mean(0), B.mean(0), A.mean(0)
    cos1 = np.cos(A[:, :, i1])
    # tightness: how far the bound is above the risk it bounds (rho = 1, seed means)
    ratio = np.divide(Rm[:, i1], Bm[:, i1], out=np.full(len(ns), np.nan), where=Bm[:, i1] > 0)
    metrics = {
        "violations": int(V.sum()),
        "max_R_minus_B": float((R - B).max()),
        "student_anti_aligned": int(np.sum(A > np.pi / 2)),
        "max_cond": max(o["max_cond"] for o in out),
        "cos_alpha_rho1_max_drop": float(np.max(-np.diff(cos1, axis=1))) if len(ns) > 1 else 0.0,
        "B_rho1_max_increase": float(np.max(np.diff(B[:, :, i1], axis=1))) if len(ns) > 1 else 0.0,
        "B_rho1_at_nmax": float(Bm[-1, i1]),
        "R_rho1_at_nmax": float(Rm[-1, i1]),
        "alpha_rho1_at_nmax": float(Am[-1, i1]),
        "R_over_B_rho1": [None if not np.isfinite(v) else float(v) for v in ratio],
        "R_over_B_rho1_at_nmax": None if not np.isfinite(ratio[-1]) else float(ratio[-1]),
    }
    if lt1:
        metrics.update({
            # expected, documented behaviour: the label step makes alpha_n -> pi/2, the bound -> 1
            "vacuous_frac_rho_lt1": float(np.mean(B[:, :, lt1] >= 0.999)),
            "B_rho_lt1_at_nmax": [float(Bm[-1, i]) for i in lt1],
            "alpha_rho_lt1_at_nmax": [float(Am[-1, i]) for i in lt1],
            "R_rho_lt1_at_nmax": [float(Rm[-1, i]) for i in lt1],
        })
    series = {"n": ns, "rhos": rhos, "R": Rm.T.tolist(), "B": Bm.T.tolist(), "alpha": Am.T.tolist()}
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    """Consistency checks of the implementation, at every seed: the bound holds point by point (it
    holds by construction), and for rho = 1 cos alpha_n and the bound's region move the way the
    projection forces."""
    tol = c["rounding_n_eps"] * p["n_grid"][-1] * m["max_cond"] * EPS
    tight = m["R_over_B_rho1_at_nmax"]
    tight_text = ("" if tight is None else
                  rf"; tightness at $n = {p['n_grid'][-1]}$: $\mathcal R_n/B_n$ = {tight:.2g} at $\rho = 1$ "
                  rf"($\mathcal R_n$ = {m['R_rho1_at_nmax']:.2g}, $B_n$ = {m['B_rho1_at_nmax']:.2g})")
    crit = dict(
        bound_holds=(m["violations"] == 0 and m["max_R_minus_B"] <= 0,
                     f"{m['violations']} misclassified test points outside the bound's region, "
                     rf"largest $\mathcal R_n - B_n$ = {m['max_R_minus_B']:.4f} $\le 0$ (the bound holds by "
                     f"construction: a "
                     f"consistency check of the implementation){tight_text}", PAPER_SAYS["bound"]),
        alpha_nonincreasing=(m["cos_alpha_rho1_max_drop"] <= tol,
                             r"$\rho = 1$: largest fall of $\cos\bar\alpha_n$ along the nested sets "
                             f"{m['cos_alpha_rho1_max_drop']:.1e} $\\le$ {tol:.1e} ({c['rounding_n_eps']:g} $n$ "
                             "machine epsilons times the Gram matrix's condition number) at every seed "
                             r"($\bar\alpha_n$ never grows)", PAPER_SAYS["alpha"]),
        bound_nonincreasing=(m["B_rho1_max_increase"] <= 0,
                             r"$\rho = 1$: largest rise of the bound $B_n$ along the nested sets "
                             f"{m['B_rho1_max_increase']:.1e} $\\le 0$ at every seed; $B_n$ = "
                             f"{m['B_rho1_at_nmax']:.3f} at $n = {p['n_grid'][-1]}$", PAPER_SAYS["area"]),
    )
    return Verdict.from_criteria(**crit)


def figure(result, fig):
    """R_n and the bound against n for each rho (log-log), and the angle alpha_n; colour: rho, line style:
    risk or bound, one legend under both panels."""
    s = result.series
    ax1, ax2 = fig.subplots(1, 2)
    colour = rho_colours(s["rhos"])
    for r, Rr, Br, a in zip(s["rhos"], s["R"], s["B"], s["alpha"]):
        c = colour[float(r)]
        ax1.loglog(s["n"], np.maximum(Rr, 1e-6), "o-", ms=3, color=c)
        ax1.loglog(s["n"], Br, "--", color=c, lw=1)
        ax2.semilogx(s["n"], a, "o-", ms=3, color=c)
    ax1.set(xlabel=N_AXIS, ylabel="fraction of test inputs",
            title=r"Result 1: $\mathcal{R}_n \leq p(\pi/2-\bar\alpha_n)$")
    plots.log_ticks(ax1, "both")
    ax2.axhline(np.pi / 2, color="k", ls=":", lw=1)
    ax2.set_yticks(np.pi / 8 * np.arange(5), ["0", r"$\pi/8$", r"$\pi/4$", r"$3\pi/8$", r"$\pi/2$"])
    ax2.set_ylim(0, 1.06 * max(np.pi / 2, np.max(s["alpha"])))
    ax2.set(xlabel=N_AXIS, ylabel=r"angle $\bar\alpha_n$ of $\Delta\hat w$ to $\Delta w_*$ (rad)",
            title="Result 1: student-teacher angle")
    plots.log_ticks(ax2, "x")
    grey = "0.35"
    handles = [Line2D([], [], color=colour[float(r)], marker="o", ms=3) for r in s["rhos"]] + [
        Line2D([], [], color=grey, marker="o", ms=3), Line2D([], [], color=grey, ls="--", lw=1),
        Line2D([], [], color="k", ls=":", lw=1)]
    labels = [rho_text(r) for r in s["rhos"]] + [
        r"transfer risk $\mathcal{R}_n$", r"bound $p(\pi/2-\bar\alpha_n)$", r"$\pi/2$ (orthogonal)"]
    legend_below(fig, handles, labels, ncols=4)


METRICS = {
    "violations": Metric("misclassified test points ($z_t z_s < 0$) outside the bound's region, all seeds, "
                         "$\\rho$ and $n$", "test points", "bound violations"),
    "max_R_minus_B": Metric("largest $\\mathcal R_n - p(\\pi/2 - \\bar\\alpha_n)$ over seeds, $\\rho$ and $n$",
                            "fraction of test points"),
    "R_over_B_rho1": Metric("tightness of the bound: $\\mathcal R_n / p(\\pi/2-\\bar\\alpha_n)$ for $\\rho=1$, per $n$ "
                            "(seed means)", "1"),
    "R_over_B_rho1_at_nmax": Metric("tightness $\\mathcal R_n/B_n$ at the largest $n$, $\\rho=1$", "1",
                                    "$\\mathcal R_n/B_n$"),
    "B_rho1_at_nmax": Metric("the bound $B_n = p(\\pi/2-\\bar\\alpha_n)$ at the largest $n$, $\\rho=1$",
                             "fraction of test points", "$B_n$"),
    "R_rho1_at_nmax": Metric("the transfer risk $\\mathcal R_n$ at the largest $n$, $\\rho=1$",
                             "fraction of test points", "$\\mathcal R_n$"),
    "alpha_rho1_at_nmax": Metric("$\\bar\\alpha_n$ at the largest $n$, $\\rho=1$", "rad"),
    "cos_alpha_rho1_max_drop": Metric("$\\rho=1$: largest fall of $\\cos\\bar\\alpha_n$ along the nested sets", "1"),
    "B_rho1_max_increase": Metric("$\\rho=1$: largest rise of $B_n$ along the nested sets", "fraction of test points"),
    "student_anti_aligned": Metric("cases with $\\bar\\alpha_n > \\pi/2$ (the bound is then 1)", "cases"),
    "max_cond": Metric("largest condition number of the regularised Gram matrix", "1"),
    "vacuous_frac_rho_lt1": Metric("share of the cases with $\\rho<1$ where the bound is at least 0.999 "
                                   "(vacuous, as expected)", "1", "vacuous ($\\rho<1$)"),
    "B_rho_lt1_at_nmax": Metric("the bound at the largest $n$ for each $\\rho<1$", "fraction of test points"),
    "alpha_rho_lt1_at_nmax": Metric("$\\bar\\alpha_n$ at the largest $n$ for each $\\rho<1$", "rad"),
    "R_rho_lt1_at_nmax": Metric("$\\mathcal R_n$ at the largest $n$ for each $\\rho<1$", "fraction of test points"),
}

CLAIM = register(Claim(
    id="ji2020.risk_bound",
    title="Result 1, transfer risk bound $\\mathcal R_n \\le p(\\pi/2 - \\bar\\alpha_n)$",
    statement=(
        "Theorem (Risk Bound), poster Result 1: for a perfect teacher represented by an oracle weight change "
        "$\\Delta_{w_*}$ in the student's feature space, the transfer risk "
        "$\\mathcal R_n = \\mathbb P_x[z_t z_s < 0]$ of the linearised student trained on $n$ samples satisfies "
        "$\\mathcal R_n \\le p(\\pi/2 - \\bar\\alpha_n)$, with $\\bar\\alpha_n$ the angle between the student's and "
        "the oracle's weight changes and $p(\\beta) = \\mathbb P_x[\\bar\\alpha(\\phi(x), \\Delta_{w_*}) > \\beta]$ the "
        "angle distribution. With pure soft labels the student learns the projection "
        "$\\Delta_{\\hat w} = P_\\Phi\\Delta_{w_*}$, so $\\bar\\alpha_n$ decreases with $n$ and the wrong-prediction area "
        "decreases. The conventions ($p$ as the tail of the folded angle, "
        "$\\cos\\beta(x) = |z_t(x)|/(\\|\\phi(x)\\|\\|w_t\\|)$; the bound taken as 1 when the unfolded angle exceeds "
        "$\\pi/2$) are reconstructed, the paper's proof not being available."),
    assumptions=("the student is the converged linearised network: kernel regression of $z_{\\mathrm{eff}}$ with the "
                 "NTK (nugget 1e-10, treated as part of the kernel so that the identities are exact)",
                 "antisymmetric initialisation: $f(x; w_0) = 0$ and the zero weight change vanishes "
                 "(reconstructed)",
                 "teacher: a kernel machine of the NTK (inside the feature space); $y_g = \\mathbb{1}[z_t > 0]$",
                 "nested training sets (prefixes of one sample); one shared test set per seed"),
    method=(
        "The bound holds by construction: if the student and the teacher disagree on $x$, the angles of "
        "$\\phi(x)$ to the two weights lie on opposite sides of $\\pi/2$ and differ by at most "
        "$\\bar\\alpha_n$ (triangle inequality on angles), so $\\beta(x) \\ge \\pi/2 - \\bar\\alpha_n$. The check is "
        "therefore a consistency check of the implementation, and it reports how tight the bound is. For "
        "each seed, soft ratio $\\rho$ and nested $n$: $\\bar\\alpha_n$ from kernel quantities "
        "($w_s\\cdot w_t = \\gamma^\\top z_t(X)$, $\\|w_s\\|^2 = \\gamma^\\top z_{\\mathrm{eff}}$, "
        "$\\|w_t\\|^2 = c^\\top\\Theta_{UU}c$), $\\mathcal R_n$ and $B_n = \\mathbb P[\\cos\\beta(x) \\le \\sin\\bar\\alpha_n]$ on "
        "the same test points. Pass if every misclassified test point lies in the bound's region (tolerance "
        "1e-12); for $\\rho = 1$, $\\cos\\bar\\alpha_n$ never falls along the nested sets (up to $4n$ machine "
        "epsilons times the Gram matrix's condition number) and $B_n$ never rises, at every seed. The "
        "tightness $\\mathcal R_n / B_n$ is reported. For "
        "$\\rho < 1$ the bound is expected to become vacuous ($\\bar\\alpha_n \\to \\pi/2$: the label step has "
        "unbounded norm in the kernel's space); that is reported, not judged."),
    scales={"smoke": dict(BASE, n_grid=[10, 20, 40, 80, 160, 320, 640], n_test=5000, seeds=2),
            "default": dict(BASE),
            "paper": dict(BASE, n_grid=[10, 20, 40, 80, 160, 320, 640, 1280, 2560], n_test=50000,
                          seeds=10)},
    criteria=CRITERIA,
    measure=measure, verdict=verdict, figure=figure, estimate=estimate, metrics=METRICS,
    key_metrics=("violations", "R_over_B_rho1_at_nmax", "B_rho1_at_nmax", "R_rho1_at_nmax", "vacuous_frac_rho_lt1"),
    scale_note=("The theorem's conventions and all settings ($d = 5$, 40 centres, $T = 2$, "
                "$\\rho \\in \\{1, 0.5, 0.1, 0.01\\}$, $n$ from 10 to 1280, 20 000 test points, 4 seeds) are "
                "reconstructions. Smoke: $n$ up to 640, 5 000 test points, 2 seeds. " + PAPER_NOTE),
    validate=validate, tags=("ntk", "bound"),
))
