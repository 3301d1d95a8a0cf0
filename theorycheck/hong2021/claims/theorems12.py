"""Hong et al. 2021, Theorems 1 and 2: with a linear 2-layer student, training to zero loss with the
student-teacher loss (2) ends (almost) where the base loss (1) ends.

``hong2021.thm1`` (N_s < d_x): gradient flows of (1) and (2) from the same small start
:math:`W_i(0) = \\delta\\hat W_i` end within :math:`C\\delta` of each other.
``hong2021.thm2`` (N_s >= d_x): every global minimiser of (1) and of (2) has the end-to-end matrix
:math:`W^\\star = YX_\\epsilon^T(X_\\epsilon X_\\epsilon^T)^{-1}` (Eq. (5)).

Declarations only: the sweep cells and the reductions of their outputs are
:mod:`theorycheck.hong2021.experiments.linear`, the mathematics :mod:`theorycheck.hong2021.linear`.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_choice, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.linear import (THM2_CONTROLS, control_key, instance_seeds, thm1_base_limit, thm1_cell,
                                  thm1_gaps, thm1_limit_fits, thm2_cell)
from ..linear.flow import ODE_METHODS
from ..linear.problems import TEACHER_ACTIVATIONS
from ._drawing import footnote

__all__ = ["THM1_SCALES", "THM1_CRITERIA", "THM2_SCALES"]

_EPS = float(np.finfo(float).eps)


# ----------------------------------------------------------------------------------------------
# Theorem 1
# ----------------------------------------------------------------------------------------------
_THM1_SOLVER = {"teacher_activation": "identity", "method": "BDF", "rtol": 1e-10, "atol": 1e-12,
                "loss_tol": 1e-20, "t_max": 1e4}

THM1_SCALES = {
    "smoke": {"N_s": 4, "d_x": 12, "m": 6, "d_y": 1, "sigma": 0.5, "lams": [0.1, 1.0, 10.0],
              "deltas": [1e-2, 1e-3, 1e-4], "n_instances": 1, **_THM1_SOLVER},
    "default": {"N_s": 10, "d_x": 30, "m": 12, "d_y": 2, "sigma": 0.5, "lams": [0.1, 1.0, 10.0],
                "deltas": [1e-1, 1e-2, 1e-3, 1e-4], "n_instances": 1, **_THM1_SOLVER},
    "paper": {"N_s": 10, "d_x": 30, "m": 20, "d_y": 2, "sigma": 0.5, "lams": [0.1, 1.0, 10.0],
              "deltas": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], "n_instances": 3, **_THM1_SOLVER},
}

THM1_CRITERIA = {
    # Eq. (4) holds "with delta sufficiently small": the statement is the limit delta -> 0, so the
    # slope of log gap against log delta is fitted on the smallest deltas only (at larger delta the
    # limiting second layers still move with delta). Three points are the fewest that leave a
    # standard error, which is what the slope's tolerance is made of.
    "fit_last": 3,
    # Two-sided level of the t quantile that turns the fit's standard error into the slope's
    # tolerance (the usual 95%; n - 2 degrees of freedom).
    "level": 0.95,
    # Eq. (4) is a rate, gap = O(delta). The slope's interval must reach 1 (else the gap shrinks
    # more slowly than delta: FAIL) and exclude the next slower power law, delta^(1/2) (else the
    # smallest decades do not resolve the rate: INCONCLUSIVE).
    "slower_rate": 0.5,
    # Assumption (iii), convergence to a global minimiser, to the accuracy the check needs: each
    # end point's distance from the limit identity at most this fraction of the gap it enters, so
    # every gap is known to three digits and the slope moves by less than 1e-3 (within its tolerance).
    "limit_resolution": 1e-3,
}

#: Upper end of the noise level sigma: the weights learned scale like 1/(1 + sigma^2)^(1/2), and
#: above 100 the largest delta of the grids (0.1) is no longer small beside them ("delta
#: sufficiently small"); the loss also grows like sigma^2 and would overflow long before 1e300.
_SIGMA_MAX = 100.0


def _validate_thm1(p) -> None:
    d = check_int("d_x", p["d_x"], low=2)
    N = check_int("N_s", p["N_s"], low=1)
    if N >= d:
        raise InputError("N_s", f"must be < d_x={d} for Theorem 1 (use hong2021.thm2 for N_s >= d_x), "
                                f"got N_s={N}")
    check_int("m", p["m"], low=N)  # an interpolating teacher of width m needs m >= N_s
    check_int("d_y", p["d_y"], low=1)
    check_real("sigma", p["sigma"], low=0.0, high=_SIGMA_MAX)
    check_list("lams", p["lams"], low=0.0, low_open=True, high=1e6, distinct=True)
    deltas = check_list("deltas", p["deltas"], low=0.0, low_open=True, high=1.0, min_len=3, distinct=True)
    check_int("n_instances", p["n_instances"], low=1)
    check_choice("teacher_activation", p["teacher_activation"], TEACHER_ACTIVATIONS)
    check_choice("method", p["method"], ODE_METHODS)
    check_real("rtol", p["rtol"], low=0.0, low_open=True, high=1e-3)
    check_real("atol", p["atol"], low=0.0, low_open=True)
    check_real("loss_tol", p["loss_tol"], low=0.0, low_open=True, high=1e-2)
    check_real("t_max", p["t_max"], low=1.0)
    check_int("fit_last", p["fit_last"], low=3, high=len(deltas))
    check_real("level", p["level"], low=0.5, high=1.0, high_open=True)
    check_real("slower_rate", p["slower_rate"], low=0.0, high=1.0, high_open=True)
    check_real("limit_resolution", p["limit_resolution"], low=0.0, low_open=True, high=0.5, high_open=True)


def _estimate_thm1(p) -> Estimate:
    """Peak memory: the BDF integrator keeps a P x P finite-difference Jacobian, its LU factors and
    a copy (P = m (d_x + d_y) weights), and the projector Pi is d_x x d_x. Work: gradient
    evaluations, about 5,000 per flow plus P per Jacobian (about 50 Jacobians per flow)."""
    d, m, d_y, N = p["d_x"], p["m"], p["d_y"], p["N_s"]
    P = float(m) * (d + d_y)
    peak = 8.0 * (3.0 * P * P + 2.0 * float(d) * d + 4.0 * float(N) * d + float(N) * m)
    counts = {"n_instances": p["n_instances"], "deltas": len(p["deltas"]), "lams": len(p["lams"]) + 1}
    flows = float(np.prod([float(v) for v in counts.values()]))
    return Estimate(peak_bytes=peak, memory_param="d_x" if d >= m else "m",
                    work=flows * (5000.0 + 50.0 * P), work_param=max(counts, key=counts.get))


def _measure_thm1(params, ctx):
    common = {k: params[k] for k in ("N_s", "d_x", "m", "d_y", "sigma", "teacher_activation",
                                     "method", "rtol", "atol", "loss_tol", "t_max")}
    lams, deltas = [float(v) for v in params["lams"]], sorted(float(v) for v in params["deltas"])[::-1]
    seeds = instance_seeds(ctx, params["n_instances"], "thm1")
    cells = []
    for s in seeds:
        for delta in deltas:
            cells.append(dict(common, instance_seed=s, delta=delta, loss="base", lam=0.0))
            cells += [dict(common, instance_seed=s, delta=delta, loss="st", lam=lam) for lam in lams]
    out = ctx.map(thm1_cell, cells, stream="flows", blas_threads=1, desc="hong2021.thm1 gradient flows")
    runs = {(c["instance_seed"], c["delta"], c["loss"], c["lam"]): r for c, r in zip(cells, out)}

    g = thm1_gaps(runs, seeds, lams, deltas)
    C_cells = g.gap / np.asarray(deltas)
    # the pre-registered window; the verdict refits with the criteria it is given (an override of
    # fit_last or level is exploratory)
    fits = thm1_limit_fits(deltas, g.gap, g.slack, THM1_CRITERIA["fit_last"], THM1_CRITERIA["level"])
    worst = np.unravel_index(int(np.argmin(fits.slope)), fits.slope.shape)
    # gap <= delta*(||W2b||_2 + ||W2st||_2) + slack, slack = distance of each run to its exact limit
    C_over_bound = (g.gap - g.slack) / (np.asarray(deltas) * g.bound)
    with np.errstate(divide="ignore", over="ignore"):
        dist_over_gap = np.divide(g.slack, g.gap, out=np.full_like(g.gap, np.inf), where=g.gap > 0)
    mn_dist, balanced = thm1_base_limit(common, seeds, deltas[-1],
                                        {s: runs[(s, deltas[-1], "base", 0.0)] for s in seeds})
    metrics = {
        "C": float(fits.C_limit.max()),
        "C_max_over_deltas": float(C_cells.max()),
        "slope": float(fits.slope[worst]),
        "slope_stderr": float(fits.slope_se[worst]),
        "slope_tol": float(fits.tol[worst]),
        "slope_per_lam": fits.slope.min(axis=0).tolist(),
        "slope_stderr_per_lam": fits.slope_se[np.argmin(fits.slope, axis=0), range(len(lams))].tolist(),
        "C_per_lam": fits.C_limit.max(axis=0).tolist(),
        "gap_table": g.gap.tolist(),
        "slack_table": g.slack.tolist(),
        "C_bound": float(g.bound.max()),
        "C_over_bound_max": float(C_over_bound.max()),
        "C_ratio_small_over_large_delta": float(np.max(C_cells[:, :, -1] / C_cells[:, :, 0])),
        "limit_dist_over_gap_max": float(dist_over_gap.max()),
        "invariance_err_over_tol_max": float(max(r["inv_err"] / r["inv_tol"] for r in out)),
        "identity_err_over_bound_max": float(max(r["ident_err"] / r["ident_bound"] for r in out)),
        "n_runs": len(out),
        "n_converged": int(sum(bool(r["converged"]) for r in out)),
        "solver_success": bool(all(r["success"] for r in out)),
        "solver_messages": sorted({r["message"] for r in out}),
        "loss_rel_max": float(max(r["loss_rel"] for r in out)),
        "nfev_total": int(sum(r["nfev"] for r in out)),
        "nfev_max": int(max(r["nfev"] for r in out)),
        "njev_total": int(sum(r["njev"] for r in out)),
        "t_final_max": float(max(r["t"] for r in out)),
        "teacher_residual_max": float(max(r["teacher_residual"] for r in out)),
        "base_to_min_norm_rel_at_min_delta": float(max(mn_dist)),
        "W2_base_over_balanced_at_min_delta": float(np.mean(balanced)),
        "method": params["method"], "rtol": params["rtol"], "atol": params["atol"],
        "loss_tol": params["loss_tol"],
    }
    series = {"deltas": deltas, "lams": lams, "gap": g.gap.tolist(), "C": C_cells.tolist(),
              "C_bound": g.bound.tolist(), "fitted_deltas": fits.deltas}
    return {"metrics": metrics, "series": series}


def _thm1_slope_outcome(m, params, criteria) -> tuple[str, str]:
    """The slope criterion: each (instance, lambda) fit's interval slope +- tol must reach 1 and
    exclude ``slower_rate``; the sentence reports the fit that decides."""
    deltas = sorted((float(v) for v in params["deltas"]), reverse=True)
    fits = thm1_limit_fits(deltas, m["gap_table"], m["slack_table"], criteria["fit_last"], criteria["level"])
    lams = [float(v) for v in params["lams"]]
    finite = np.isfinite(fits.low) & np.isfinite(fits.high)
    fail = finite & (fits.high < 1.0)
    unresolved = ~fail & ~(finite & (fits.low > criteria["slower_rate"]))
    pick = fail if fail.any() else unresolved if unresolved.any() else np.ones_like(fail)
    score = np.where(pick, fits.slope, np.inf)
    k = np.unravel_index(int(np.argmin(score)), score.shape)
    status = "FAIL" if fail.any() else "INCONCLUSIVE" if unresolved.any() else "PASS"
    window = ", ".join(f"{d:g}" for d in fits.deltas)
    text = (f"slope of log gap against log delta on the {len(fits.deltas)} smallest deltas ({window}), "
            f"worst over lambda (lambda = {lams[k[1]]:g}"
            f"{f', instance {k[0] + 1}' if fits.slope.shape[0] > 1 else ''}): {fits.slope[k]:.4f} "
            f"+- {fits.tol[k]:.2g} = [{fits.low[k]:.4f}, {fits.high[k]:.4f}] "
            f"(t quantile {fits.t_quantile:.3g} at {100 * criteria['level']:g}% x standard error "
            f"{fits.slope_se[k]:.2g}, plus {fits.slack_shift[k]:.1g} from the end points' distance to "
            f"their limits); O(delta) needs the interval to reach 1 and to stay above the slower rate "
            f"delta^{criteria['slower_rate']:g}: {status}")
    if status == "INCONCLUSIVE":
        text += " (add a smaller delta to the grid)"
    return status, text


def _verdict_thm1(m, params, criteria) -> Verdict:
    res = criteria["limit_resolution"]
    converged = m["solver_success"] and m["limit_dist_over_gap_max"] <= res
    return Verdict.from_criteria(
        converged=(
            "PASS" if converged else "INCONCLUSIVE",
            f"every end point within {m['limit_dist_over_gap_max']:.2g} x the gap it enters of the limit "
            f"identity (needs <= {res:g}); {m['n_converged']}/{m['n_runs']} flows reached "
            f"loss/loss(0) <= {params['loss_tol']:g} (worst {m['loss_rel_max']:.2g} at t <= "
            f"{m['t_final_max']:g}); solve_ivp success = {m['solver_success']}"
            + ("" if converged else " -- the flows did not get close enough to their limits to measure "
                                    "the gap: raise t_max"),
            "Assumption (iii): gradient flow successfully converges to a global minimizer for both "
            "the MSE- and ST-trained networks."),
        slope=(*_thm1_slope_outcome(m, params, criteria),
               "Eq. (4): lim_t ||W_L^base(t) - W_L^st(t)||_F <= C delta for some constant C "
               "independent of delta, with delta sufficiently small."),
        C_bounded=(
            m["C_over_bound_max"] <= 1.0,
            f"C = gap/delta at the smallest delta = {m['C']:.4g}; gap <= delta (||W_2^b(inf)||_2 + "
            f"||W_2^st(inf)||_2) + the end points' distance to their limits at every delta: worst ratio "
            f"{m['C_over_bound_max']:.3g} <= 1",
            "Eq. (4) with an explicit C: the sum of the limiting second layers' spectral norms (our "
            "reconstruction of the proof; the paper's is in its supplement)."),
        invariance=(
            m["invariance_err_over_tol_max"] <= 1.0,
            f"W_1(t)(I - Pi) = W_1(0)(I - Pi): worst error / integrator tolerance "
            f"{m['invariance_err_over_tol_max']:.2g} <= 1",
            "Step 1 of the reconstructed proof: both gradients with respect to W_1 lie in the span of "
            "the noisy inputs, so the part of W_1 orthogonal to them never moves."),
        identity=(
            m["identity_err_over_bound_max"] <= 1.0,
            f"W(inf) = Y X_eps^+ + W_2(inf) W_1(0)(I - Pi): worst error / bound "
            f"{m['identity_err_over_bound_max']:.2g} <= 1",
            "Step 3 of the reconstructed proof: the limit of either flow is the minimum-norm "
            "interpolator plus the frozen part of W_1(0) seen through W_2(inf)."),
        teacher_interpolates=(
            m["teacher_residual_max"] <= 1e-10,
            f"teacher's relative residual on the clean training data {m['teacher_residual_max']:.2g} "
            f"<= 1e-10 (round-off of a minimum-norm solve)",
            "Assumption (ii): the teacher network minimizes the training loss for clean data."),
    )


_LAM_STYLES = (("C0", "o", "-"), ("C1", "s", "--"), ("C2", "^", ":"), ("C3", "v", "-."), ("C4", "D", "-"))


def _figure_thm1(result, fig):
    from matplotlib.lines import Line2D
    from ...plots import log_ticks, place_legend
    s, p = result.series, result.params
    deltas = np.asarray(s["deltas"])
    gap, C, bound = np.asarray(s["gap"]), np.asarray(s["C"]), np.asarray(s["C_bound"])
    ax1, ax2 = fig.subplots(1, 2)
    for j, lam in enumerate(s["lams"]):
        col, mk, ls = _LAM_STYLES[j % len(_LAM_STYLES)]
        for i in range(gap.shape[0]):
            label = f"$\\lambda = {lam:g}$" if i == 0 else None
            ax1.plot(deltas, gap[i, j], marker=mk, ls=ls, color=col, ms=5, lw=1, mfc="none", label=label)
            ax2.plot(deltas, C[i, j], marker=mk, ls=ls, color=col, ms=5, lw=1, mfc="none")
            ax2.plot(deltas, bound[i, j], ls=ls, color=col, lw=0.8, alpha=0.7)
    ref = 3.0 * gap[:, :, 0].max() * deltas / deltas[0]  # drawn above the data, not hidden under it
    ax1.plot(deltas, ref, color="0.5", lw=0.8, ls=(0, (6, 3)), label="slope 1 ($\\propto\\delta$), for reference")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    log_ticks(ax1, "both")
    ax1.set_xlabel("$\\delta = \\|W_i(0)\\|_F$ (size of the start)")
    ax1.set_ylabel("gap $\\|W_L^{\\mathrm{base}}(\\infty) - W_L^{\\mathrm{st}}(\\infty)\\|_F$")
    ax1.set_title(f"Theorem 1, Eq. (4): gap vs $\\delta$ (worst slope {result.metrics['slope']:.3f})",
                  fontsize=8.5)
    place_legend(ax1)
    ax2.set_xscale("log")
    log_ticks(ax2, "x")
    ax2.set_ylim(0, 1.25 * max(C.max(), bound.max()))
    ax2.set_xlabel("$\\delta$")
    ax2.set_ylabel("$C$ = gap $/\\,\\delta$")
    ax2.set_title("Theorem 1: $C$ and its bound $\\|W_2^{\\mathrm{b}}\\|_2 + \\|W_2^{\\mathrm{st}}\\|_2$", fontsize=8.5)
    kinds = [Line2D([], [], color="0.3", marker="o", mfc="none", ms=5, lw=1),
             Line2D([], [], color="0.3", lw=0.8, alpha=0.7)]
    place_legend(ax2, kinds, ["$C$ = gap$/\\delta$ (colours: $\\lambda$, as left)",
                              "bound $\\|W_2^{\\mathrm{b}}(\\infty)\\|_2 + \\|W_2^{\\mathrm{st}}(\\infty)\\|_2$"])
    footnote(fig, f"Numerical check (the paper has no experiment for Theorem 1): linear 2-layer student, "
                  f"$N_s = {p['N_s']} < d_x = {p['d_x']}$, $m = {p['m']}$, gradient flow of losses (1) and (2) "
                  f"from the same start $W_i(0) = \\delta\\,\\hat W_i$, integrated to convergence.")


_THM1_METRICS = {
    "C": Metric(r"Theorem 1's constant at the smallest $\delta$: $\max \|W_L^{base}(\infty) - "
                r"W_L^{st}(\infty)\|_F / \delta$ over $\lambda$ and instances", "1", "C"),
    "C_max_over_deltas": Metric(r"largest gap$/\delta$ over every $\delta$ of the grid", "1"),
    "slope": Metric(r"smallest log-log slope of the gap against $\delta$ on the smallest $\delta$s "
                    r"(1 for a gap $= C\delta$)", "1", "slope"),
    "slope_stderr": Metric("standard error of that slope (least squares)", "1", "SE"),
    "slope_tol": Metric(r"half-width of that slope's interval: $t$ quantile $\times$ SE plus the end "
                        r"points' distance to their limits", "1", "tolerance"),
    "slope_per_lam": Metric(r"smallest slope per $\lambda$ (over instances)", "1"),
    "slope_stderr_per_lam": Metric("standard error of each of those slopes", "1"),
    "C_per_lam": Metric(r"gap$/\delta$ at the smallest $\delta$, per $\lambda$", "1"),
    "gap_table": Metric(r"$\|W_L^{base}(\infty) - W_L^{st}(\infty)\|_F$ per instance, $\lambda$ and "
                        r"$\delta$ (decreasing)", "1"),
    "slack_table": Metric("sum of the two end points' distances from the limit identity, same layout",
                          "1"),
    "C_bound": Metric(r"largest $\|W_2^{b}(\infty)\|_2 + \|W_2^{st}(\infty)\|_2$", "1"),
    "C_over_bound_max": Metric(r"largest (gap $-$ slack)$/(\delta \cdot$ bound$)$; at most 1 by the "
                               r"limit identity", "1"),
    "C_ratio_small_over_large_delta": Metric(r"largest gap$/\delta$ at the smallest $\delta$ over "
                                             r"gap$/\delta$ at the largest", "1"),
    "limit_dist_over_gap_max": Metric("largest distance of an end point from its limit identity, in "
                                      "units of the gap it enters", "1", "dist/gap"),
    "invariance_err_over_tol_max": Metric(r"largest $\|(W_1(t) - W_1(0))(I - \Pi)\|_F$ over the "
                                          r"integrator's tolerance", "1"),
    "identity_err_over_bound_max": Metric(r"largest distance of $W(\infty)$ from $YX_\epsilon^+ + "
                                          r"W_2(\infty)W_1(0)(I-\Pi)$ over its bound", "1"),
    "n_runs": Metric("gradient flows integrated", "flows"),
    "n_converged": Metric(r"flows that reached loss$/$loss$(0) \le$ loss_tol", "flows"),
    "solver_success": Metric("every solve_ivp call reported success", "bool"),
    "loss_rel_max": Metric(r"largest final loss$/$loss$(0)$", "1"),
    "nfev_total": Metric("right-hand-side (gradient) evaluations, all flows", "evaluations"),
    "nfev_max": Metric("largest number of gradient evaluations of one flow", "evaluations"),
    "njev_total": Metric("Jacobian evaluations, all flows", "evaluations"),
    "t_final_max": Metric("latest flow time reached", "time of the flow"),
    "teacher_residual_max": Metric(r"teacher's relative residual $\|\widetilde W_2 T - Y\|_F/\|Y\|_F$ on "
                                   "the clean data", "1"),
    "base_to_min_norm_rel_at_min_delta": Metric(r"$\|W^{b}(\infty) - YX_\epsilon^+\|_F/\|YX_\epsilon^+\|_F$ "
                                                r"at the smallest $\delta$", "1"),
    "W2_base_over_balanced_at_min_delta": Metric(r"$\|W_2^b(\infty)\|_2/\|YX_\epsilon^+\|_2^{1/2}$ at the "
                                                 r"smallest $\delta$ (1 when balanced)", "1"),
}

register(Claim(
    id="hong2021.thm1",
    title="Theorem 1: base and student-teacher gradient flows end within Cδ (N_s < d_x)",
    statement=(
        r"Hong et al. 2021, Theorem 1, Eq. (4): for a 2-layer linear student with $N_s < d_x$, inputs "
        r"$x_i$ and noise $\epsilon_i$ drawn independently from continuous distributions, gradient flow "
        r"from weights with $\|W_i(0)\|_F \le \delta$, a teacher that minimises the clean training loss, "
        r"and flows that converge to global minimisers, $\lim_{t\to\infty}\|W_L^{base}(t) - "
        r"W_L^{st}(t)\|_F \le C\delta$ almost surely, with $C$ independent of $\delta$ (under 'mild "
        r"assumptions' the paper does not state, and with $\delta$ sufficiently small)."),
    assumptions=(
        r"$L = 2$, identity student activation, square loss summed over samples (Eq. (1), (2)).",
        r"$x \sim N(0, I)$, $\epsilon \sim N(0, \sigma^2 I)$, targets $y = Bx$ with $B_{ij} \sim "
        r"N(0, 1/d_x)$; $N_s < d_x$.",
        r"A teacher of the student's width $m \ge N_s$ whose second layer solves $\widetilde W_2 T = Y$ "
        r"exactly (zero clean training loss, so it minimises it); teacher activation configurable.",
        r"The same start for both losses: $W_i(0) = \delta \hat W_i$ with $\|\hat W_i\|_F = 1$ (Xavier "
        r"directions).",
        "The paper's 'mild assumptions' are not stated and its proof is in the supplement, which was "
        "not available; the proof steps checked alongside (invariance, limit identity, explicit C) are "
        "our reconstruction.",
    ),
    method=(
        r"Each run (loss, $\lambda$, $\delta$) integrates the gradient flow $\dot\theta = -\nabla "
        r"\hat L(\theta)$ with scipy.integrate.solve_ivp (BDF, rtol $10^{-10}$, atol $10^{-12}$: the flow "
        r"is stiff for large $\lambda$) on growing time chunks until loss$/$loss$(0) \le 10^{-20}$ or "
        r"$t = 10^4$. The limit $\delta \to 0$ is tested on the three smallest $\delta$s: per $\lambda$ the "
        r"log-log slope of the gap against $\delta$ gets an interval from the fit's own standard error "
        r"($t$ quantile, $n - 2$ degrees of freedom, 95%) widened by what the end points' distance from "
        r"their limits can shift it. Passes when every interval reaches 1 and stays above 1/2 (FAIL "
        r"when one lies below 1: the gap shrinks more slowly than $\delta$); every end point is within "
        r"$10^{-3}$ of its gap from the limit identity (else INCONCLUSIVE: not converged enough to "
        r"measure); gap $\le \delta(\|W_2^b(\infty)\|_2 + \|W_2^{st}(\infty)\|_2)$ plus that distance; "
        r"$W_1(t)(I-\Pi) = W_1(0)(I-\Pi)$ to the integrator's tolerance; and $W(\infty) = YX_\epsilon^+ "
        r"+ W_2(\infty)W_1(0)(I-\Pi)$ to the bound the final residual implies."),
    scales=THM1_SCALES,
    criteria=THM1_CRITERIA,
    measure=_measure_thm1,
    verdict=_verdict_thm1,
    figure=_figure_thm1,
    key_metrics=("C", "slope", "slope_tol", "limit_dist_over_gap_max"),
    metrics=_THM1_METRICS,
    scale_note=(
        r"The paper gives no sizes for this theorem. smoke: $d_x = 12$, $N_s = 4$, $m = 6$, $d_y = 1$, "
        r"$\delta \in \{10^{-2}, 10^{-3}, 10^{-4}\}$. default: $d_x = 30$, $N_s = 10$, $m = 12$, "
        r"$d_y = 2$, $\delta$ from $10^{-1}$ to $10^{-4}$. paper: $d_x = 30$, $N_s = 10$, $m = 20$, "
        r"$\delta$ down to $10^{-5}$, 3 instances (our proposal). Gradient descent to a loss below "
        r"$10^{-20}$ is replaced by integrating the flow itself as an ODE."),
    validate=_validate_thm1,
    estimate=_estimate_thm1,
    tags=("linear", "gradient-flow"),
))


# ----------------------------------------------------------------------------------------------
# Theorem 2
# ----------------------------------------------------------------------------------------------
THM2_SCALES = {
    "smoke": {"N_s": 16, "d_x": 4, "m": 2, "d_y": 2, "m_wide": 18, "sigma": 0.5, "lams": [1.0],
              "teacher_activations": ["identity", "tanh", "relu"], "n_reps": 1, "n_restarts": 2,
              "init_scale": 0.01, "gtol": 1e-14, "maxiter": 20000, "grad_tol": 1e-9,
              "lam_control": 1.0, "label_noise": 0.5, "control_factor": 100.0},
    "default": {"N_s": 24, "d_x": 8, "m": 3, "d_y": 2, "m_wide": 28, "sigma": 0.5,
                "lams": [0.1, 1.0, 10.0], "teacher_activations": ["identity", "tanh", "relu"],
                "n_reps": 3, "n_restarts": 2, "init_scale": 0.01, "gtol": 1e-14, "maxiter": 20000,
                "grad_tol": 1e-9, "lam_control": 1.0, "label_noise": 0.5, "control_factor": 100.0},
    "paper": {"N_s": 40, "d_x": 10, "m": 4, "d_y": 2, "m_wide": 44, "sigma": 0.5,
              "lams": [0.01, 0.1, 1.0, 10.0, 100.0], "teacher_activations": ["identity", "tanh", "relu"],
              "n_reps": 5, "n_restarts": 3, "init_scale": 0.01, "gtol": 1e-14, "maxiter": 20000,
              "grad_tol": 1e-9, "lam_control": 1.0, "label_noise": 0.5, "control_factor": 100.0},
}
# grad_tol and control_factor are verdict thresholds, but the measurement turns them into the
# metrics tol = cond * grad_tol and control_threshold = control_factor * tol, so they stay parameters.


def _validate_thm2(p) -> None:
    d = check_int("d_x", p["d_x"], low=3)  # the m-below-rank control uses d_y = 3 outputs on d_x >= 3
    N = check_int("N_s", p["N_s"], low=d)
    d_y = check_int("d_y", p["d_y"], low=1)
    check_int("m", p["m"], low=d_y)  # m >= rank(W*) = d_y for generic data
    check_int("m_wide", p["m_wide"], low=N)  # a wide teacher interpolates arbitrary targets
    check_real("sigma", p["sigma"], low=0.0, high=_SIGMA_MAX)
    check_list("lams", p["lams"], low=0.0, low_open=True, high=1e6, distinct=True)
    acts = p["teacher_activations"]
    if isinstance(acts, str) or not acts:
        raise InputError("teacher_activations", f"must be a non-empty list, got {acts!r}")
    for a in acts:
        check_choice("teacher_activations", a, TEACHER_ACTIVATIONS)
    check_int("n_reps", p["n_reps"], low=1)
    check_int("n_restarts", p["n_restarts"], low=1)
    check_real("init_scale", p["init_scale"], low=0.0, low_open=True)
    check_real("gtol", p["gtol"], low=0.0, low_open=True)
    check_int("maxiter", p["maxiter"], low=1)
    check_real("grad_tol", p["grad_tol"], low=0.0, low_open=True, high=1e-2)
    check_real("lam_control", p["lam_control"], low=0.0, low_open=True)
    check_real("label_noise", p["label_noise"], low=0.0, low_open=True)
    check_real("control_factor", p["control_factor"], low=1.0)


def _estimate_thm2(p) -> Estimate:
    """Peak memory: the Newton polish forms a P x P finite-difference Hessian and its least-squares
    solve (P weights of the widest case, with 3 outputs for the rank control). Work: gradient
    evaluations, at most 2 L-BFGS rounds of 4 maxiter each plus 8 Newton steps of 2P, per start."""
    d, N = p["d_x"], p["N_s"]
    width = max(p["m"], p["m_wide"])
    P = float(width) * (d + max(p["d_y"], 3))
    peak = 8.0 * (4.0 * P * P + 4.0 * float(N) * d + float(N) * width)
    per_rep = (len(p["teacher_activations"]) + 1) * (len(p["lams"]) + 1)
    cells = float(p["n_reps"]) * per_rep + 2 * len(THM2_CONTROLS)
    work = cells * p["n_restarts"] * (8.0 * p["maxiter"] + 16.0 * P)
    drivers = {"n_reps": float(p["n_reps"]) * per_rep, "maxiter": float(p["maxiter"]) / 1e3,
               "n_restarts": float(p["n_restarts"])}
    return Estimate(peak_bytes=peak, memory_param="m_wide" if width >= d else "d_x",
                    work=work, work_param=max(drivers, key=drivers.get))


def _measure_thm2(params, ctx):
    common = {k: params[k] for k in ("N_s", "d_x", "m", "d_y", "m_wide", "sigma", "n_restarts",
                                     "init_scale", "gtol", "maxiter", "label_noise")}
    cells, labels = [], []  # label: (case, "main" | "control")
    for seed in instance_seeds(ctx, params["n_reps"], "thm2"):
        for kind, act in [("narrow", a) for a in params["teacher_activations"]] + [("wide", "tanh")]:
            tag = f"{act} teacher" + (" (wide, m>=N_s)" if kind == "wide" else "")
            base = dict(common, kind=kind, teacher_activation=act, rep_seed=seed)
            cells.append(dict(base, loss="base", lam=0.0))
            labels.append((f"base | {tag}", "main"))
            for lam in params["lams"]:
                cells.append(dict(base, loss="st", lam=float(lam)))
                labels.append((f"ST lam={lam:g} | {tag}", "main"))
    control_seed = instance_seeds(ctx, 1, "thm2-controls")[0]
    for kind in THM2_CONTROLS:
        base = dict(common, kind=kind, teacher_activation="identity", rep_seed=control_seed)
        cells.append(dict(base, loss="base", lam=0.0))
        labels.append((f"base | {kind}", "control"))
        cells.append(dict(base, loss="st", lam=float(params["lam_control"])))
        labels.append((f"ST lam={params['lam_control']:g} | {kind}", "control"))
    out = ctx.map(thm2_cell, cells, stream="minimisations", blas_threads=1,
                  desc="hong2021.thm2 minimisations")

    main = [o for lab, o in zip(labels, out) if lab[1] == "main"]
    kappa_max = max(o["kappa"] for o in main)
    # relative mismatch <= kappa * (end-to-end gradient / its value at W = 0) (linear.minimise);
    # requiring that gradient ratio <= grad_tol makes tol = kappa * grad_tol the resolution
    tols = [o["kappa"] * params["grad_tol"] for o in main]
    tol = max(tols)
    threshold = params["control_factor"] * tol
    ctrl_gap = {kind: max(o["mismatch"] for lab, o in zip(labels, out)
                          if lab[1] == "control" and lab[0].endswith(kind)) for kind in THM2_CONTROLS}
    metrics = {
        "max_mismatch": float(max(o["mismatch"] for o in main)),
        "tol": float(tol),
        "max_mismatch_over_tol": float(max(o["mismatch"] / t for o, t in zip(main, tols))),
        "max_certificate": float(max(o["certificate"] for o in main)),
        "mismatch_minus_certificate_max": float(max(o["mismatch"] - o["certificate"] for o in main)),
        "certificate_fp_floor": float(1e2 * kappa_max ** 2 * _EPS),
        "e2e_grad_rel_max": float(max(o["certificate"] / o["kappa"] for o in main)),
        "grad_tol": params["grad_tol"], "gtol": params["gtol"], "ftol": 0.0,
        "kappa_max": float(kappa_max),
        "teacher_residual_max": float(max(o["teacher_residual"] for o in main)),
        "n_runs": len(out),
        "nit_max": int(max(o["nit"] for o in out)),
        "nfev_total": int(sum(o["nfev"] for o in out)),
        "control_threshold": float(threshold),
        "control_min_gap": float(min(ctrl_gap.values())),
    }
    metrics.update({control_key(k): float(v) for k, v in ctrl_gap.items()})
    per_case: dict[str, float] = {}
    for lab, o in zip(labels, out):
        per_case[lab[0]] = max(per_case.get(lab[0], 0.0), o["mismatch"])
    series = {"labels": list(per_case), "mismatch": list(per_case.values()),
              "is_control": [any(k.endswith(c) for c in THM2_CONTROLS) for k in per_case],
              "is_st": [k.startswith("ST") for k in per_case], "tol": float(tol),
              "threshold": float(threshold)}
    return {"metrics": metrics, "series": series}


_THM2_CONTROL_SAYS = {
    "teacher not interpolating": "Assumption: the teacher network can perfectly interpolate the clean "
                                 "training samples (here broken by label noise).",
    "m below rank(W*)": "Assumption: the hidden dimension m is no less than rank(Y X_eps^T "
                        "(X_eps X_eps^T)^-1) (here m = 1 < 3).",
    "duplicated samples": "Assumption: span{x_i + eps_i} = R^{d_x} (here broken by duplicated samples).",
    "ReLU student": "Sec. 3.1: the theorems are for the identity activation (here a ReLU student).",
}


def _verdict_thm2(m, params, criteria) -> Verdict:
    crit = {
        "optimiser_converged": (
            m["e2e_grad_rel_max"] <= params["grad_tol"],
            f"end-to-end gradient over its value at W = 0: worst {m['e2e_grad_rel_max']:.2g} <= "
            f"{params['grad_tol']:g} (L-BFGS gtol {params['gtol']:g}, ftol 0, then Newton steps)",
            "Eq. (5) is about global minimisers: the optimiser must reach one."),
        "minimisers_equal_W_star": (
            m["max_mismatch_over_tol"] <= 1.0,
            f"largest relative distance of W_2 W_1 to W* {m['max_mismatch']:.2g}; worst distance / "
            f"tolerance {m['max_mismatch_over_tol']:.2g} <= 1 (tolerance = cond(X_eps X_eps^T) x "
            f"{params['grad_tol']:g} <= {m['tol']:.2g})",
            "Eq. (5): the global minimizers of MSE and S/T satisfy W_L^base = W_L^st = "
            "Y X_eps^T (X_eps X_eps^T)^-1, for any teacher activation."),
        "within_certificate": (
            m["mismatch_minus_certificate_max"] <= m["certificate_fp_floor"],
            f"the closed form lies inside each run's a-posteriori bound: largest (distance - bound) "
            f"{m['mismatch_minus_certificate_max']:.2g} <= round-off {m['certificate_fp_floor']:.2g}",
            "Eq. (5), checked without trusting the closed form: the end-to-end gradient bounds the "
            "distance to the least-squares minimiser."),
        "teacher_interpolates": (
            m["teacher_residual_max"] <= 1e-10,
            f"teacher's relative residual on the clean training data {m['teacher_residual_max']:.2g} "
            f"<= 1e-10 (round-off)",
            "Assumption: the teacher network can perfectly interpolate the clean training samples."),
    }
    for name in THM2_CONTROLS:
        gap = m[control_key(name)]
        crit["control: " + name] = (
            gap > m["control_threshold"],
            f"breaking this assumption moves a minimiser away from W*: distance {gap:.3g} > "
            f"{m['control_threshold']:.2g} (= {params['control_factor']:g} x the tolerance)",
            _THM2_CONTROL_SAYS[name])
    return Verdict.from_criteria(**crit)


_THM2_CASE_NAMES = {
    "identity teacher": "identity teacher",
    "tanh teacher": "tanh teacher",
    "relu teacher": "ReLU teacher",
    "tanh teacher (wide, m>=N_s)": "wide tanh teacher ($m \\geq N_s$)",
    "teacher not interpolating": "teacher not interpolating",
    "m below rank(W*)": "$m < \\mathrm{rank}\\,W^\\star$",
    "duplicated samples": "duplicated samples",
    "ReLU student": "ReLU student",
}
_THM2_MARKERS = ("o", "^", "v", "D", "s", "P")


def _thm2_loss_name(prefix: str) -> str:
    """'base' -> the base loss (1); 'ST lam=1' -> the student-teacher loss (2) with its lambda."""
    if prefix == "base":
        return "base loss (1)"
    return f"ST loss (2), $\\lambda = {prefix.split('=', 1)[1]}$"


def _figure_thm2(result, fig):
    from matplotlib.lines import Line2D
    from ...plots import log_ticks, place_legend
    s, p = result.series, result.params
    floor = 1e-17  # distances of exactly 0 would leave the log axis
    fig.set_size_inches(7.0, 4.6)
    ax = fig.add_subplot()
    prefixes, cases = [], []
    for lab in s["labels"]:
        pre, case = lab.split(" | ", 1)
        prefixes += [pre] if pre not in prefixes else []
        cases += [case] if case not in cases else []
    rows = {c: len(cases) - 1 - k for k, c in enumerate(cases)}  # first case on top
    step = 0.5 / max(1, len(prefixes))
    for lab, d, ctrl in zip(s["labels"], s["mismatch"], s["is_control"]):
        pre, case = lab.split(" | ", 1)
        k = prefixes.index(pre)
        y = rows[case] + (k - (len(prefixes) - 1) / 2) * step
        ax.plot(max(float(d), floor), y, _THM2_MARKERS[k % len(_THM2_MARKERS)], ls="none", ms=6,
                color="C1" if ctrl else "C0", mfc="none" if k else None, mew=1.3)
    controls = [rows[lab.split(" | ", 1)[1]] for lab, c in zip(s["labels"], s["is_control"]) if c]
    if controls:
        ax.axhspan(min(controls) - 0.5, max(controls) + 0.5, color="C1", alpha=0.07, lw=0)
    ax.axvline(s["tol"], color="C2", ls="--", lw=1.2)
    ax.axvline(s["threshold"], color="0.2", ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlim(floor / 3, 30)
    log_ticks(ax, "x")
    ax.set_yticks(range(len(cases)), [_THM2_CASE_NAMES.get(c, c) for c in cases][::-1])
    ax.set_ylim(-0.6, len(cases) - 0.4)
    ax.grid(False, axis="y")
    ax.set_xlabel("relative distance $\\|W_2W_1 - W^\\star\\|_F\\,/\\,\\|W^\\star\\|_F$ (largest over "
                  "repetitions)")
    ax.set_title("Theorem 2, Eq. (5): global minimisers of (1) and (2) against "
                 "$W^\\star = YX_\\epsilon^T(X_\\epsilon X_\\epsilon^T)^{-1}$", fontsize=9)
    handles = [Line2D([], [], ls="none", marker=_THM2_MARKERS[k % len(_THM2_MARKERS)], color="0.3", ms=6,
                      mfc="none" if k else None, mew=1.3) for k in range(len(prefixes))]
    labels = [_thm2_loss_name(pre) for pre in prefixes]
    handles += [Line2D([], [], ls="none", marker="s", color="C0", ms=6),
                Line2D([], [], ls="none", marker="s", color="C1", ms=6),
                Line2D([], [], color="C2", ls="--", lw=1.2), Line2D([], [], color="0.2", ls=":", lw=1.2)]
    labels += ["assumptions hold", "negative control (one broken)",
               f"tolerance {_sci(s['tol'])}",
               f"control threshold {_sci(s['threshold'])} ({p['control_factor']:g} $\\times$ tolerance)"]
    place_legend(ax, handles, labels, where="below", ncols=2)
    clamped = " Distances below $10^{-17}$ are drawn at $10^{-17}$." if min(s["mismatch"]) < floor else ""
    footnote(fig, f"Numerical check (the paper has no experiment for Theorem 2): linear 2-layer student, "
                  f"$N_s = {p['N_s']} \\geq d_x = {p['d_x']}$, $m = {p['m']}$; each loss minimised to machine "
                  f"precision; tolerance = cond$(X_\\epsilon X_\\epsilon^T) \\times$ {_sci(p['grad_tol'])}." + clamped)


def _sci(v: float) -> str:
    """A number as mathtext, e.g. 3e-09 -> $3\\times10^{-9}$."""
    mant, exp = f"{v:.0e}".split("e")
    return f"$10^{{{int(exp)}}}$" if mant == "1" else f"${mant}\\times10^{{{int(exp)}}}$"


_THM2_METRICS = {
    "max_mismatch": Metric(r"largest $\|W_2W_1 - W^\star\|_F/\|W^\star\|_F$ over the cases that satisfy "
                           r"the assumptions, $W^\star = YX_\epsilon^T(X_\epsilon X_\epsilon^T)^{-1}$", "1",
                           "distance to W*"),
    "tol": Metric(r"resolution $\mathrm{cond}(X_\epsilon X_\epsilon^T) \times$ grad_tol (largest over "
                  "cases)", "1", "tolerance"),
    "max_mismatch_over_tol": Metric("largest distance to $W^\\star$ over its case's tolerance", "1"),
    "max_certificate": Metric("largest a-posteriori bound on the distance to $W^\\star$", "1"),
    "mismatch_minus_certificate_max": Metric("largest distance minus its a-posteriori bound (<= 0 up to "
                                             "round-off)", "1"),
    "certificate_fp_floor": Metric(r"round-off allowance $100\,\kappa^2\varepsilon_{mach}$", "1"),
    "e2e_grad_rel_max": Metric(r"largest end-to-end gradient $\|G\|_F/\|G(0)\|_F$ at the returned point",
                               "1"),
    "grad_tol": Metric("required end-to-end gradient ratio", "1"),
    "gtol": Metric("L-BFGS-B gradient tolerance (relative to the initial loss)", "1"),
    "ftol": Metric("L-BFGS-B relative decrease tolerance (0: off)", "1"),
    "kappa_max": Metric(r"largest $\mathrm{cond}(X_\epsilon X_\epsilon^T)$", "1"),
    "teacher_residual_max": Metric(r"teacher's relative residual $\|\widetilde W_2 T - Y\|_F/\|Y\|_F$", "1"),
    "n_runs": Metric("minimisations (every case, loss and repetition)", "runs"),
    "nit_max": Metric("largest number of L-BFGS iterations of one run", "iterations"),
    "nfev_total": Metric("loss and gradient evaluations, all runs", "evaluations"),
    "control_threshold": Metric("distance from $W^\\star$ a negative control must exceed "
                                "(control_factor x tolerance)", "1"),
    "control_min_gap": Metric("smallest distance from $W^\\star$ over the negative controls", "1",
                              "closest control"),
}
for _name in THM2_CONTROLS:
    _THM2_METRICS[control_key(_name)] = Metric(f"distance from $W^\\star$ of the control '{_name}'", "1")

register(Claim(
    id="hong2021.thm2",
    title="Theorem 2: base and student-teacher minimisers share W* (N_s ≥ d_x)",
    statement=(
        r"Hong et al. 2021, Theorem 2, Eq. (5): if $N_s \ge d_x$, $L = 2$, $\mathrm{span}\{x_i + "
        r"\epsilon_i\} = \mathbb R^{d_x}$, the teacher perfectly interpolates the clean training samples and "
        r"$m \ge \mathrm{rank}(YX_\epsilon^T(X_\epsilon X_\epsilon^T)^{-1})$, then every global minimiser of "
        r"the base loss (1) and of the student-teacher loss (2) has end-to-end matrix $W_L^{base} = "
        r"W_L^{st} = YX_\epsilon^T(X_\epsilon X_\epsilon^T)^{-1}$; by the paper's remark this holds for "
        r"any teacher activation."),
    assumptions=(
        r"Linear 2-layer student, square loss summed over samples; $x \sim N(0, I)$, $\epsilon \sim "
        r"N(0, \sigma^2 I)$.",
        r"Narrow cases: student and teacher width $m$ with $d_y \le m < d_x$; the targets are the "
        r"teacher's outputs on the clean inputs, so the teacher interpolates by construction (a teacher "
        r"of width $m < N_s$ cannot interpolate arbitrary targets). With $m \ge d_x$ the statement for "
        r"(2) is immediate, so the narrow regime is the informative one.",
        r"Wide case: linear targets $y = Bx$ and a tanh teacher of width $m \ge N_s$ whose second layer "
        r"is the minimum-norm solution of $\widetilde W_2 \tanh(\widetilde W_1 X) = Y$ (exact "
        r"interpolation).",
        "Teacher activations identity, tanh and ReLU (the non-identity versions rest on the paper's "
        "remark; their proof is in the supplement, which was not available).",
    ),
    method=(
        r"Each case minimises (1) or (2) over $(W_1, W_2)$ with L-BFGS-B (objective divided by its "
        r"initial value, gtol $10^{-14}$, ftol 0, so it runs to machine precision; for the base loss a "
        r"second run from the balanced factorisation of the same $W_2W_1$), refits $W_2$ exactly (both "
        r"losses are linear least squares in $W_2$) and takes damped Newton steps with a "
        r"finite-difference Hessian of the analytic gradient, from a few small starts, keeping the "
        r"lowest loss, and compares $W_2W_1$ with Eq. (5). The tolerance $\mathrm{cond}(X_\epsilon "
        r"X_\epsilon^T) \times 10^{-9}$ follows from $\|W - W^\star\|/\|W^\star\| \le \mathrm{cond} \cdot "
        r"\|G\|/\|G(0)\|$ for the end-to-end gradient $G$. Passes when every run reaches $\|G\|/\|G(0)\| "
        r"\le 10^{-9}$, every distance to $W^\star$ is within its tolerance, the closed form lies inside "
        r"each run's a-posteriori bound, and each negative control (a teacher that does not "
        r"interpolate, $m = 1 <$ rank 3, duplicated samples, a ReLU student measured on the training "
        r"predictions) ends farther than 100 tolerances from $W^\star$."),
    scales=THM2_SCALES,
    measure=_measure_thm2,
    verdict=_verdict_thm2,
    figure=_figure_thm2,
    key_metrics=("max_mismatch", "tol", "control_min_gap"),
    metrics=_THM2_METRICS,
    scale_note=(
        r"The paper reports no experiment for this theorem; the sizes are ours. smoke: $d_x = 4$, "
        r"$N_s = 16$, $m = 2$, one $\lambda$. default: $d_x = 8$, $N_s = 24$, $m = 3$, $\lambda \in "
        r"\{0.1, 1, 10\}$, 3 repetitions. paper: $d_x = 10$, $N_s = 40$, $m = 4$, five $\lambda$s, "
        "5 repetitions."),
    validate=_validate_thm2,
    estimate=_estimate_thm2,
    tags=("linear", "closed-form"),
))
