"""``ji2020.effective_logit``: Corollary 1, the effective student logit and its jump at z_t = 0."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib import ticker

from ... import plots
from ...plots import legend_below
from ...errors import InputError, check_grid, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.effective_logit import effective_logit_cell
from ._drawing import RHO_AXIS, ZT_AXIS, rho_colours, rho_text
from .common import MFLOP, PAPER_NOTE, check_temperature

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "estimate", "measure", "verdict", "figure"]

#: Parameters at the default scale.
BASE = {"z_max": 8.0, "n_grid": 2001, "Ts": [1.0, 2.0, 5.0], "rhos": [0.1, 0.5, 0.9, 0.99, 1.0],
        "fd_eps": 1e-6, "rho_tail": [1e-2, 1e-4, 1e-6, 1e-8]}

#: Largest abs(z_t) / T on the grid. Beyond it sigma'(z_t / T) < 1.2e-7, so the root is fixed by F only
#: to |F| / F' and a finite difference at step 1e-6 can no longer resolve the derivative to 1e-3.
Z_OVER_T_MAX = 16.0

#: Tolerances of the verdict, each derived from the computation (this claim is deterministic):
#:
#: - ``residual_tol``: the solver stops when its Newton step is below 1e-14 (1 + abs(z)); relative to the
#:   size of F's terms (rho / T + 1 - rho) the residual is then below F' / (rho/T + 1 - rho) x 1e-14 x
#:   (1 + abs(z)) <= max(1, 1/T) / 4 x 1e-14 x 51 < 1e-10 for T >= 0.01 and abs(z) <= 50.
#: - ``rho1_tol``, ``no_jump_tol``: rho = 1 gives z_t exactly up to the solver's step tolerance.
#: - ``closed_form_tol``, ``jump_table_tol``: two independent computations of the same number, each to
#:   a relative step of 1e-14 (Brent: 4 machine epsilons), agree far inside 1e-8.
#: - ``fd_tol``: the Richardson-extrapolated one-sided difference 2 D(h) - D(2h), with a step of
#:   relative size ``fd_eps`` = 1e-6 on the scale on which z_eff varies (T in z_t; (1 + abs(z)) / abs(dz/drho),
#:   at most 1, in rho), has truncation of order 1e-12 and round-off of order 3 x 2e-14 / 1e-6 = 6e-8,
#:   up to 10 times more where steps are grouped by decade: 1e-5 leaves room for both.
#: - ``rho1_formula_tol``: the closed form at rho = 1 and the implicit derivative are the same
#:   expression rearranged; they agree to rounding.
#: - ``z0_slope_tol``: z_0 grows like ln(2T / rho) as rho -> 0 (the limit is tested on the smallest
#:   decade of ``rho_tail``, rho <= 1e-6); the slope in ln(1 / rho) differs from 1 by
#:   sigma'(z_0/T) / (T (sigma(z_0/T) - 1/2)) < 0.05 for every T <= 100.
CRITERIA = {"residual_tol": 1e-10, "rho1_tol": 1e-10, "closed_form_tol": 1e-8, "jump_table_tol": 1e-8,
            "no_jump_tol": 1e-12, "z0_slope_tol": 0.05, "fd_tol": 1e-5, "rho1_formula_tol": 1e-8}

PAPER_SAYS = {
    "root": r"Corollary 1: the student minimises the loss at each sample point, so $d\ell/d\hat z_s = 0$ (Eq. 1)",
    "defines": r'"solution to Eq. 1 defines an effective student logit $z_{s,\mathrm{eff}}(z_t, y_g)$"',
    "discontinuity": "\"this results in discontinuities in student's learned output function\"",
}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    check_int("n_grid", p["n_grid"], low=11)
    if p["n_grid"] % 2 == 0:
        raise InputError("n_grid", f"must be odd so that z_t = 0 is a grid point, got {p['n_grid']}")
    Ts = check_grid("Ts", p["Ts"])
    for T in Ts:
        check_temperature("Ts", T)
    z_max = check_real("z_max", p["z_max"], low=0.0, low_open=True)
    if z_max > Z_OVER_T_MAX * Ts[0]:
        raise InputError("z_max", f"must be at most {Z_OVER_T_MAX:g} x the smallest temperature "
                                  f"({Z_OVER_T_MAX * Ts[0]:g}), got {z_max:g}: beyond |z_t| / T = {Z_OVER_T_MAX:g} "
                                  "the soft label sigma(z_t / T) saturates and the derivative checks lose their "
                                  "precision")
    check_grid("rhos", p["rhos"], low=0.0, high=1.0, low_open=True)
    fd = check_real("fd_eps", p["fd_eps"], low=1e-9, high=1e-3)
    if min(p["rhos"]) <= 2 * fd:
        raise InputError("rhos", f"must exceed 2 fd_eps = {2 * fd:g} (backward differences in rho)")
    tail = check_list("rho_tail", p["rho_tail"], low=1e-300, high=1.0, low_open=True)
    if len(tail) < 2 or any(b >= a for a, b in zip(tail, tail[1:])):
        raise InputError("rho_tail", f"must be at least two strictly decreasing values, got {p['rho_tail']}")
    if tail[-1] > 1e-6:
        raise InputError("rho_tail", f"must reach rho <= 1e-6 (the limit rho -> 0 is tested on its smallest "
                                     f"decade), got {tail[-1]:g}")
    for k in CRITERIA:
        check_real(k, p[k], low=0.0, low_open=True)


def estimate(p) -> Estimate:
    """A few float64 vectors of the grid per soft ratio; about 100 Newton evaluations per point."""
    n, k = p["n_grid"], len(p["rhos"])
    return Estimate(peak_bytes=8.0 * n * (30 + 2 * k), memory_param="n_grid",
                    work=len(p["Ts"]) * k * n * 2000 / MFLOP, work_param="n_grid")


def measure(params, ctx):
    """One deterministic cell per temperature (:func:`~theorycheck.ji2020.experiments.effective_logit.effective_logit_cell`)."""
    base = {k: params[k] for k in ("z_max", "n_grid", "rhos", "fd_eps", "rho_tail")}
    cells = ctx.map(effective_logit_cell, [dict(base, T=T) for T in params["Ts"]], stream="temperatures",
                    blas_threads=1, desc="effective logit")
    rhos = params["rhos"]
    rho_lt1 = [i for i, r in enumerate(rhos) if r < 1]
    jumps = np.array([c["jump_solver"] for c in cells])  # (T, rho)
    T1 = [c for c in cells if c["T"] == 1.0]
    metrics = {
        "max_residual": max(max(c["residual"]) for c in cells),
        "all_converged": all(all(c["converged"]) for c in cells),
        "max_newton_iter": max(max(c["n_iter"]) for c in cells),
        "monotone_each_side": all(all(c["monotone"]) for c in cells),
        "rho1_max_err": max(c["rho1_err"] for c in cells if c["rho1_err"] is not None),
        "closed_form_T1_max_err": T1[0]["closed_form_err"] if T1 else None,
        "jump_vs_table_max_err": float(max(np.max(np.abs(np.subtract(c["jump_solver"], c["jump_table"])))
                                           for c in cells)),
        "table_T1_vs_log_formula": (float(np.max(np.abs(np.array(T1[0]["jump_table"])
                                                         - 2 * np.log((2 - np.array(rhos)) / np.array(rhos)))))
                                    if T1 else None),
        "jump_grows_with_T": bool(np.all(np.diff(jumps[:, rho_lt1], axis=0) > 0)) if len(cells) > 1 else None,
        "jump_grows_as_rho_falls": bool(np.all(np.diff(jumps[:, rho_lt1], axis=1) < 0)),
        "jump_zero_at_rho1": float(np.max(np.abs(jumps[:, [i for i, r in enumerate(rhos) if r == 1.0]])))
        if 1.0 in rhos else None,
        "z0_diverges_as_rho_to_0": all(c["z0_tail_increasing"] for c in cells),
        "z0_log_slope_min": min(c["z0_log_slope"] for c in cells),
        "z0_log_slope_max": max(c["z0_log_slope"] for c in cells),
        "fd_max_rel_err": max(max(max(c["fd_rel_err_zt"]), max(c["fd_rel_err_rho"])) for c in cells),
        "rho1_sensitivity_formula_err": max(c["rho1_sensitivity_err"] for c in cells
                                            if c["rho1_sensitivity_err"] is not None),
        "jump_table": {f"T={c['T']:g}": {f"rho={r:g}": j for r, j in zip(rhos, c["jump_table"])} for c in cells},
    }
    series = {"Ts": params["Ts"], "rhos": rhos, "zt": cells[0]["zt_plot"],
              "z": {f"{c['T']:g}": c["z_plot"] for c in cells},
              "jump": {f"{c['T']:g}": c["jump_solver"] for c in cells},
              "rho_tail": params["rho_tail"], "z0_tail": {f"{c['T']:g}": c["z0_tail"] for c in cells}}
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    """Pass if every property of the effective logit holds within its derived tolerance."""
    slope_tol = c["z0_slope_tol"]
    crit = dict(
        residual=(m["max_residual"] < c["residual_tol"] and m["all_converged"],
                  rf"largest $|F(z_{{s,\mathrm{{eff}}}})|/(\rho/T + 1 - \rho)$: {m['max_residual']:.2e} < "
                  f"{c['residual_tol']:g}; "
                  + ("every grid point converged" if m["all_converged"] else "some grid points did not converge"),
                  PAPER_SAYS["root"]),
        monotone=(m["monotone_each_side"], r"$z_{s,\mathrm{eff}}$ strictly increasing in $z_t$ on each side of 0",
                  PAPER_SAYS["defines"]),
        rho_one=(m["rho1_max_err"] < c["rho1_tol"],
                 rf"$\rho = 1$ gives $z_t$: relative error {m['rho1_max_err']:.2e} < {c['rho1_tol']:g}",
                 PAPER_SAYS["root"]),
        jump_table=(m["jump_vs_table_max_err"] < c["jump_table_tol"],
                    f"jump $2z_0$ against an independent Brent table: {m['jump_vs_table_max_err']:.2e} < "
                    f"{c['jump_table_tol']:g}", PAPER_SAYS["discontinuity"]),
        jump_rho=(m["jump_grows_as_rho_falls"], r"the jump grows strictly as $\rho$ falls (each $T$)",
                  PAPER_SAYS["discontinuity"]),
        z0_diverges=(m["z0_diverges_as_rho_to_0"] and abs(m["z0_log_slope_min"] - 1) < slope_tol
                     and abs(m["z0_log_slope_max"] - 1) < slope_tol,
                     r"$z_0 \sim \ln(2T/\rho) \to \infty$ as $\rho \to 0$: slope in $\ln(1/\rho)$ over the "
                     f"smallest decade in [{m['z0_log_slope_min']:.4f}, {m['z0_log_slope_max']:.4f}], "
                     f"within {slope_tol:g} of 1",
                     PAPER_SAYS["discontinuity"]),
        derivative=(m["fd_max_rel_err"] < c["fd_tol"] and m["rho1_sensitivity_formula_err"] < c["rho1_formula_tol"],
                    f"implicit derivatives against finite differences: relative error {m['fd_max_rel_err']:.2e} "
                    f"< {c['fd_tol']:g}; the $\\rho = 1$ formula against the implicit derivative: "
                    f"{m['rho1_sensitivity_formula_err']:.2e} < {c['rho1_formula_tol']:g}",
                    PAPER_SAYS["defines"]),
    )
    if m["closed_form_T1_max_err"] is not None:
        tol = c["closed_form_tol"]
        crit["closed_form"] = (m["closed_form_T1_max_err"] < tol and m["table_T1_vs_log_formula"] < tol,
                               f"$T = 1$ closed form: {m['closed_form_T1_max_err']:.2e} < {tol:g}; "
                               r"table against $2\ln((2-\rho)/\rho)$: "
                               f"{m['table_T1_vs_log_formula']:.2e} < {tol:g}",
                               PAPER_SAYS["defines"])
    if m["jump_grows_with_T"] is not None:
        crit["jump_T"] = (m["jump_grows_with_T"], r"the jump grows strictly with $T$ (each $\rho < 1$)",
                          PAPER_SAYS["discontinuity"])
    if m["jump_zero_at_rho1"] is not None:
        crit["no_jump_rho1"] = (m["jump_zero_at_rho1"] < c["no_jump_tol"],
                                f"no jump at $\\rho = 1$ ({m['jump_zero_at_rho1']:.1e} < {c['no_jump_tol']:g})",
                                PAPER_SAYS["discontinuity"])
    return Verdict.from_criteria(**crit)


def figure(result, fig):
    """z_eff against z_t for each rho and each T, and the jump 2 z_0 against rho."""
    s = result.series
    axes = fig.subplots(1, 3)
    Ts, rhos = list(s["Ts"]), list(s["rhos"])
    T_mid = f"{Ts[len(Ts) // 2]:g}"
    colour = rho_colours(rhos)
    # T is ordered and is told apart from rho's colours: a sequential, colour-blind-safe map
    t_colour = {T: matplotlib.colormaps["viridis"](v) for T, v in zip(Ts, np.linspace(0.15, 0.85, len(Ts)))}
    for r, z in zip(rhos, s["z"][T_mid]):  # rho = 1 is the identity z_t: a dashed reference
        axes[0].plot(s["zt"], z, lw=1, **(dict(color="k", ls="--") if r == 1 else dict(color=colour[float(r)])),
                     label=rho_text(r))
    axes[0].set(xlabel=ZT_AXIS, ylabel=r"effective student logit $z_{s,\mathrm{eff}}$",
                title=rf"Corollary 1: $T={T_mid}$, $y_g=\mathbb{{1}}[z_t>0]$")
    plots.place_legend(axes[0])
    i_mid = min(range(len(rhos)), key=lambda i: abs(rhos[i] - 0.5))
    axes[1].sharey(axes[0])
    for T in Ts:
        axes[1].plot(s["zt"], s["z"][f"{T:g}"][i_mid], lw=1, color=t_colour[T])
    axes[1].set(xlabel=ZT_AXIS, title=f"Corollary 1: {rho_text(rhos[i_mid])}")
    for T in Ts:  # the rho grid (rho < 1) and the small-rho tail, where 2 z_0 ~ 2 ln(2T/rho)
        pts = sorted([(r, j) for r, j in zip(rhos, s["jump"][f"{T:g}"]) if r < 1]
                     + [(r, 2 * z) for r, z in zip(s["rho_tail"], s["z0_tail"][f"{T:g}"])])
        axes[2].semilogx([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, color=t_colour[T],
                         label=f"$T={T:g}$")
    rt = np.logspace(np.log10(min(s["rho_tail"])), np.log10(0.99), 100)
    axes[2].semilogx(rt, 2 * np.log((2 - rt) / rt), "k:", lw=1.2, label=r"$2\ln\frac{2-\rho}{\rho}$ ($T=1$)")
    axes[2].set(xlabel=RHO_AXIS, ylabel=r"jump $2z_0$ of $z_{s,\mathrm{eff}}$ at $z_t=0$",
                title="Corollary 1: the jump")
    plots.log_ticks(axes[2], "x")
    axes[2].xaxis.set_minor_locator(ticker.NullLocator())  # eight decades: minor ticks would be a blur
    legend_below(fig, *axes[2].get_legend_handles_labels(), ncols=len(Ts) + 1,
                 title="temperature $T$ (middle and right panels)")


METRICS = {
    "max_residual": Metric("largest $|F(z_{s,\\mathrm{eff}})|/(\\rho/T+1-\\rho)$, $F$ the left side of Eq. 1",
                           "1", "residual"),
    "all_converged": Metric("every grid point converged", "1"),
    "max_newton_iter": Metric("most safeguarded-Newton iterations used", "iterations"),
    "monotone_each_side": Metric("$z_{s,\\mathrm{eff}}$ strictly increasing in $z_t$ on each side of 0", "1"),
    "rho1_max_err": Metric("largest $|z_{s,\\mathrm{eff}} - z_t|/(1+|z_t|)$ at $\\rho=1$", "1"),
    "closed_form_T1_max_err": Metric("$T=1$: largest relative gap to "
                                     "$\\mathrm{logit}(\\rho\\sigma(z_t)+(1-\\rho)y_g)$", "1"),
    "jump_vs_table_max_err": Metric("largest gap between the jump $2z_0$ from the solver and from an "
                                    "independent Brent table", "logit units", "jump error"),
    "table_T1_vs_log_formula": Metric("$T=1$: gap between the table and $2\\ln((2-\\rho)/\\rho)$", "logit units"),
    "jump_grows_with_T": Metric("the jump grows strictly with $T$ (each $\\rho<1$)", "1"),
    "jump_grows_as_rho_falls": Metric("the jump grows strictly as $\\rho$ falls (each $T$)", "1"),
    "jump_zero_at_rho1": Metric("the jump at $\\rho=1$", "logit units"),
    "z0_diverges_as_rho_to_0": Metric("$z_0$ increases along the small-$\\rho$ tail", "1"),
    "z0_log_slope_min": Metric("smallest slope of $z_0$ in $\\ln(1/\\rho)$ over the smallest decade (over $T$)", "1"),
    "z0_log_slope_max": Metric("largest such slope", "1"),
    "fd_max_rel_err": Metric("largest relative gap between implicit derivatives and one-sided finite "
                             "differences", "1", "derivative error"),
    "rho1_sensitivity_formula_err": Metric("gap between $\\partial z_{\\mathrm{eff}}/\\partial(1-\\rho)$ at "
                                           "$\\rho=1$ in closed form and from the implicit derivative", "1"),
    "jump_table": Metric("the jump $2z_0(\\rho, T)$", "logit units"),
}

CLAIM = register(Claim(
    id="ji2020.effective_logit",
    title="Corollary 1: the effective student logit and its jump at $z_t = 0$",
    statement=(
        "Corollary 1 (poster): a wide student trained on the distillation loss "
        "$\\rho H(\\sigma(z_t/T), \\sigma(z_s/T)) + (1-\\rho) H(y_g, \\sigma(z_s))$ (no $T^2$ factor) converges to "
        "global minima that minimise the loss at each sample point, so that "
        "$\\frac{\\rho}{T}(\\sigma(\\hat z_s/T) - \\sigma(z_t/T)) + (1-\\rho)(\\sigma(\\hat z_s) - y_g) = 0$ (Eq. 1); its "
        "solution defines the effective student logit $z_{s,\\mathrm{eff}}(z_t, y_g)$, and this results in "
        "discontinuities in the student's learned output function. The properties checked are derived for "
        "this toolkit, not quoted: the root is unique and finite for $\\rho > 0$; $\\rho = 1$ gives $z_t$; at "
        "$T = 1$, $z_{s,\\mathrm{eff}} = \\mathrm{logit}(\\rho\\sigma(z_t) + (1-\\rho) y_g)$; for a perfect teacher "
        "($y_g = \\mathbb{1}[z_t > 0]$) $z_{s,\\mathrm{eff}}$ jumps at $z_t = 0$ by $2z_0$, with "
        "$z_0 = \\ln((2-\\rho)/\\rho)$ at $T = 1$, growing with $T$ and diverging as $\\rho \\to 0$."),
    assumptions=("binary labels $y_g \\in \\{0, 1\\}$, perfect teacher $y_g = \\mathbb{1}[z_t > 0]$ on the grid",
                 "soft ratio $\\rho \\in (0, 1]$; $\\rho = 0$ has no finite root (refused by the solver)",
                 "temperature $T \\in [0.01, 100]$, teacher logits $|z_t| \\le 16\\,T$"),
    method=(
        "A vectorised safeguarded-Newton root solver (bracket grown from $z_t$, bisection fallback) on a grid "
        "of $z_t$ in $[-z_{\\max}, z_{\\max}]$ for every $(\\rho, T)$. Deterministic; each tolerance is derived "
        "from the computation. Pass if: the residual $|F|$, relative to the size $\\rho/T + 1 - \\rho$ of its "
        "terms, is below 1e-10; $z_{s,\\mathrm{eff}}$ is strictly increasing on each side of 0; $\\rho = 1$ "
        "returns $z_t$; the $T = 1$ closed form matches to 1e-8; the jump (one-sided limits from the solver) "
        "matches an independent Brent table to 1e-8 and the $T = 1$ table matches $2\\ln((2-\\rho)/\\rho)$; "
        "the jump grows strictly with $T$ and as $\\rho$ falls and vanishes at $\\rho = 1$; $z_0$ grows like "
        "$\\ln(2T/\\rho)$ (slope in $\\ln(1/\\rho)$ over the smallest decade within 0.05 of 1); implicit "
        "derivatives in $z_t$ and $\\rho$ match Richardson-extrapolated one-sided finite differences (a relative "
        "step of 1e-6 on the scale on which $z_{s,\\mathrm{eff}}$ varies) to relative 1e-5."),
    scales={"smoke": dict(BASE, n_grid=401),
            "default": dict(BASE),
            "paper": dict(BASE, n_grid=20001, Ts=[0.5, 1.0, 2.0, 5.0, 10.0],
                          rhos=[0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0],
                          rho_tail=[1e-2, 1e-4, 1e-6, 1e-8, 1e-10])},
    criteria=CRITERIA,
    measure=measure, verdict=verdict, figure=figure, estimate=estimate, metrics=METRICS,
    key_metrics=("max_residual", "jump_vs_table_max_err", "fd_max_rel_err"),
    scale_note=("Deterministic (no random numbers). The grids ($z_t \\in [-8, 8]$, $T \\in \\{1, 2, 5\\}$, "
                "$\\rho \\in \\{0.1, 0.5, 0.9, 0.99, 1\\}$) were chosen for this toolkit; the derivative formulas and "
                "the jump table are derived, not quoted from the paper. " + PAPER_NOTE),
    validate=validate, tags=("closed-form",),
))
