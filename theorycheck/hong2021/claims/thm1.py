"""Hong et al. 2021, Theorem 1: with a linear 2-layer student, training to zero loss with the
student-teacher loss (2) ends (almost) where the base loss (1) ends.

``hong2021.thm1`` (N_s < d_x): gradient flows of (1) and (2) from the same small start
:math:`W_i(0) = \\delta\\hat W_i` end within :math:`C\\delta` of each other. (N_s >= d_x is Theorem 2,
:mod:`theorycheck.hong2021.claims.thm2`.)

Declarations only: the sweep cells and the reductions of their outputs are
:mod:`theorycheck.hong2021.experiments.linear`, the mathematics :mod:`theorycheck.hong2021.linear`.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_choice, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.linear import instance_seeds, thm1_base_limit, thm1_cell, thm1_gaps, thm1_limit_fits
from ..linear.flow import ODE_METHODS
from ..linear.problems import TEACHER_ACTIVATIONS

__all__ = ["THM1_SCALES", "THM1_CRITERIA"]


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
    text = (rf"slope of $\log$ gap against $\log \delta$ on the {len(fits.deltas)} smallest values of $\delta$ "
            rf"({window}), worst over $\lambda$ ($\lambda = {lams[k[1]]:g}$"
            f"{f', instance {k[0] + 1}' if fits.slope.shape[0] > 1 else ''}): {fits.slope[k]:.4f} "
            rf"$\pm$ {fits.tol[k]:.2g} = [{fits.low[k]:.4f}, {fits.high[k]:.4f}] "
            rf"($t$ quantile {fits.t_quantile:.3g} at {100 * criteria['level']:g}% $\times$ standard error "
            f"{fits.slope_se[k]:.2g}, plus {fits.slack_shift[k]:.1g} from the end points' distance to "
            rf"their limits); $O(\delta)$ needs the interval to reach 1 and to stay above "
            f"{criteria['slower_rate']:g}, the slope of the next slower power law: {status}")
    if status == "INCONCLUSIVE":
        text += r" (add a smaller $\delta$ to the grid)"
    return status, text


def _verdict_thm1(m, params, criteria) -> Verdict:
    res = criteria["limit_resolution"]
    converged = m["solver_success"] and m["limit_dist_over_gap_max"] <= res
    solver = ("the ODE solver succeeded on every flow" if m["solver_success"] else
              "the ODE solver failed on some flow")
    return Verdict.from_criteria(
        converged=(
            "PASS" if converged else "INCONCLUSIVE",
            rf"every end point within {m['limit_dist_over_gap_max']:.2g} $\times$ the gap it enters of its "
            rf"limit identity (needs $\le$ {res:g}); {m['n_converged']}/{m['n_runs']} flows reached "
            rf"$\hat L(t)/\hat L(0) \le$ {params['loss_tol']:g} (worst {m['loss_rel_max']:.2g} at "
            rf"$t \le$ {m['t_final_max']:g}); {solver}"
            + ("" if converged else " -- the flows did not get close enough to their limits to measure "
                                    "the gap: raise t_max, the time limit of the flow"),
            "Assumption (iii): gradient flow successfully converges to a global minimizer for both "
            "the MSE- and ST-trained networks."),
        slope=(*_thm1_slope_outcome(m, params, criteria),
               r"Eq. (4): $\lim_{t\to\infty}\|W_L^{base}(t) - W_L^{st}(t)\|_F \le C\delta$ for some "
               r"constant $C$ independent of $\delta$, with $\delta$ sufficiently small."),
        C_bounded=(
            m["C_over_bound_max"] <= 1.0,
            rf"$C$ = gap$/\delta$ at the smallest $\delta$ = {m['C']:.4g}; gap $\le \delta\,(\|W_2^b(\infty)\|_2 "
            rf"+ \|W_2^{{st}}(\infty)\|_2)$ + the end points' distance to their limits at every $\delta$: "
            rf"worst ratio {m['C_over_bound_max']:.3g} $\le$ 1",
            r"Eq. (4) with an explicit $C$: the sum of the limiting second layers' spectral norms (our "
            r"reconstruction of the proof; the paper's is in its supplement)."),
        invariance=(
            m["invariance_err_over_tol_max"] <= 1.0,
            rf"$W_1(t)(I-\Pi) = W_1(0)(I-\Pi)$: worst error / integrator tolerance "
            rf"{m['invariance_err_over_tol_max']:.2g} $\le$ 1",
            r"Step 1 of the reconstructed proof: both gradients with respect to $W_1$ lie in the span of "
            r"the noisy inputs, so the part of $W_1$ orthogonal to them never moves."),
        identity=(
            m["identity_err_over_bound_max"] <= 1.0,
            rf"$W(\infty) = YX_\epsilon^+ + W_2(\infty)W_1(0)(I-\Pi)$: worst error / bound "
            rf"{m['identity_err_over_bound_max']:.2g} $\le$ 1",
            r"Step 3 of the reconstructed proof: the limit of either flow is the minimum-norm "
            r"interpolator $YX_\epsilon^+$ plus the frozen part of $W_1(0)$ seen through $W_2(\infty)$."),
        teacher_interpolates=(
            m["teacher_residual_max"] <= 1e-10,
            rf"teacher's relative residual on the clean training data {m['teacher_residual_max']:.2g} "
            r"$\le 10^{-10}$ (round-off of a minimum-norm solve)",
            "Assumption (ii): the teacher network minimizes the training loss for clean data."),
    )


_LAM_STYLES = (("C0", "o", "-"), ("C1", "s", "--"), ("C2", "^", ":"), ("C3", "v", "-."), ("C4", "D", "-"))


def _figure_thm1(result, fig):
    from matplotlib.lines import Line2D
    from ...plots import footnote, log_ticks, place_legend
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
                r"W_L^{st}(\infty)\|_F / \delta$ over $\lambda$ and instances", "1", "$C$"),
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
    "n_converged": Metric(r"flows that reached $\hat L(t)/\hat L(0) \le$ the loss tolerance", "flows"),
    "solver_success": Metric("every ODE solve reported success", "bool"),
    "loss_rel_max": Metric(r"largest final $\hat L/\hat L(0)$", "1"),
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
    title="Theorem 1: base and student-teacher gradient flows end within $C\\delta$ ($N_s < d_x$)",
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
        "not available; the proof steps checked alongside (invariance, limit identity, explicit $C$) are "
        "our reconstruction.",
    ),
    method=(
        r"Each run (loss, $\lambda$, $\delta$) integrates the gradient flow $\dot\theta = -\nabla "
        r"\hat L(\theta)$ with SciPy's implicit ODE solver (BDF, relative tolerance $10^{-10}$, absolute "
        r"$10^{-12}$: the flow is stiff for large $\lambda$) on growing time chunks until "
        r"$\hat L/\hat L(0) \le 10^{-20}$ or $t = 10^4$. The limit $\delta \to 0$ is tested on the three "
        r"smallest $\delta$s: per $\lambda$ the log-log slope of the gap against $\delta$ gets an interval "
        r"from the fit's own standard error ($t$ quantile, $n - 2$ degrees of freedom, 95%) widened by what "
        r"the end points' distance from their limits can shift it. Passes when every interval reaches 1 and "
        r"stays above 1/2 (FAIL when one lies below 1: the gap shrinks more slowly than $\delta$); every end "
        r"point is within $10^{-3}$ of its gap from the limit identity (else INCONCLUSIVE: not converged "
        r"enough to measure); gap $\le \delta(\|W_2^b(\infty)\|_2 + \|W_2^{st}(\infty)\|_2)$ plus that "
        r"distance; $W_1(t)(I-\Pi) = W_1(0)(I-\Pi)$ to the integrator's tolerance; and $W(\infty) = "
        r"YX_\epsilon^+ + W_2(\infty)W_1(0)(I-\Pi)$ to the bound the final residual implies."),
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
