"""``ji2020.imperfect_teacher``: Result 3, with an imperfect teacher the optimal soft ratio is below 1."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_grid, check_int, check_list, check_real
from ...registry import Claim, Verdict, register
from .. import ntk
from ..experiments import EPS, imperfect_teacher_cell
from .common import PAPER_NOTE

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "measure", "verdict", "figure"]

#: Parameters at the default scale.
BASE = {"d": 5, "n_centres": 40, "c_std": 3.0, "n_teacher": 15, "n": 400, "T": 2.0,
        "rhos": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0],
        "n_test": 20000, "seeds": 12, "diag_reg": 1e-10, "fd_eps": 1e-6}

#: Thresholds of the verdict: the teacher's error must lie in ``teacher_err_range``; the best student
#: error at most ``max_err_ratio`` times the error at rho = 1; the derivative positive in at least
#: ``min_positive_frac`` of the seeds and within ``fd_tol`` (relative) of its finite difference.
CRITERIA = {"teacher_err_range": [0.01, 0.10], "min_positive_frac": 2 / 3, "max_err_ratio": 0.9,
            "fd_tol": 1e-3}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    for k in ("d", "n_centres", "n_teacher", "n", "n_test", "seeds"):
        check_int(k, p[k], low=1)
    for k in ("c_std", "T", "diag_reg"):
        check_real(k, p[k], low=0.0, low_open=True)
    rhos = check_grid("rhos", p["rhos"], low=0.0, high=1.0)
    if 1.0 not in rhos or len(rhos) < 3:
        raise InputError("rhos", f"must be increasing, contain 1.0 and at least two more values, got {p['rhos']}")
    check_real("fd_eps", p["fd_eps"], low=0.0, high=1e-3, low_open=True)
    lo, hi = check_list("teacher_err_range", p["teacher_err_range"], min_len=2, max_len=2)
    check_real("teacher_err_range", lo, low=0.0, high=1.0)
    check_real("teacher_err_range", hi, low=lo, high=1.0)
    check_real("min_positive_frac", p["min_positive_frac"], low=0.0, high=1.0)
    check_real("max_err_ratio", p["max_err_ratio"], low=0.0, low_open=True)
    check_real("fd_tol", p["fd_tol"], low=0.0, low_open=True)
    ntk.check_kernel_memory(p["n_test"], p["n"], what="test kernel (n_test x training points)")


def measure(params, ctx):
    """One cell per seed (:func:`~theorycheck.ji2020.experiments.imperfect_teacher_cell`)."""
    keys = ("d", "n_centres", "c_std", "n_teacher", "n", "T", "rhos", "n_test", "diag_reg", "fd_eps")
    base = {k: params[k] for k in keys}
    out = ctx.map(imperfect_teacher_cell,
                  [dict(base, data_seed=int(ctx.rng(part="data", seed=s).integers(0, 2 ** 62)))
                   for s in range(params["seeds"])],
                  stream="students", blas_threads=1, desc="imperfect teacher")
    rhos = params["rhos"]
    i1 = rhos.index(1.0)
    E = np.array([o["imperfect"]["err"] for o in out])
    Ep = np.array([o["perfect"]["err"] for o in out])
    C = np.array([o["imperfect"]["cos_alpha_g"] for o in out])
    Cp = np.array([o["perfect"]["cos_alpha_g"] for o in out])
    Em = E.mean(0)
    k = int(np.argmin(Em))
    der = np.array([o["imperfect"]["deriv"] for o in out])
    fd = np.array([o["imperfect"]["fd"] for o in out])
    fd_plain = np.array([o["imperfect"]["fd_plain"] for o in out])
    pt = [(o["perfect"]["term1"], o["perfect"]["term2"]) for o in out]
    n = params["n"]
    teacher_err = np.array([o["teacher_err"] for o in out])
    # the poster's condition: the teacher errs more than the best hard-label student (rho -> 0+ limit)
    worse = teacher_err > E[:, rhos.index(0.0)] if 0.0 in rhos else np.zeros(len(out), bool)
    metrics = {
        "teacher_err_mean": float(np.mean([o["teacher_err"] for o in out])),
        "teacher_err_min": float(np.min([o["teacher_err"] for o in out])),
        "teacher_err_max": float(np.max([o["teacher_err"] for o in out])),
        "rho_star": float(rhos[k]),
        "err_at_rho_star": float(Em[k]),
        "err_at_rho1": float(Em[i1]),
        "err_at_rho0": float(Em[rhos.index(0.0)]) if 0.0 in rhos else None,
        "err_ratio_star_to_rho1": float(Em[k] / Em[i1]),
        "deriv_positive_frac": float(np.mean(der > 0)),
        "deriv_mean": float(np.mean(der)),
        "deriv_at_rho1": der.tolist(),
        "teacher_worse_than_hard_frac": float(np.mean(worse)),
        "deriv_positive_frac_teacher_worse": float(np.mean(der[worse] > 0)) if worse.any() else None,
        "fd_max_rel_err": float(np.max(np.abs(fd - der) / np.abs(der))),
        "fd_plain_max_rel_err": float(np.max(np.abs(fd_plain - der) / np.abs(der))),
        # perfect teacher: the two terms are equal in exact arithmetic; a few dot products of length n
        "perfect_deriv_max_rel": float(max(abs(a - b) / abs(a) for a, b in pt)),
        "perfect_deriv_tol": float(64 * n * EPS),
        "perfect_cos_max_at_rho1": bool(np.all(Cp.argmax(axis=1) == i1)),
        "perfect_rho_star": float(rhos[int(np.argmin(Ep.mean(0)))]),
        "minority_class_frac_min": float(min(o["minority_frac"] for o in out)),
        "cos_formula_vs_fit": float(max(abs(o[s]["cos_check"]) for o in out for s in ("imperfect", "perfect"))),
    }
    series = {"rhos": rhos, "err": Em.tolist(), "err_se": (E.std(0, ddof=1) / np.sqrt(len(out))).tolist()
              if len(out) > 1 else [0.0] * len(rhos), "err_perfect": Ep.mean(0).tolist(),
              "cos_alpha_g": C.mean(0).tolist(), "cos_alpha_g_perfect": Cp.mean(0).tolist(),
              "teacher_err": metrics["teacher_err_mean"]}
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    """Pass if the optimum is interior and better than rho = 1, the derivative is positive and
    correct, and the perfect-teacher negative control has no interior optimum."""
    lo, hi = c["teacher_err_range"]
    return Verdict.from_criteria(
        teacher=(lo <= m["teacher_err_mean"] <= hi,
                 f"teacher error vs ground truth {m['teacher_err_mean']:.3f} in [{lo:g}, {hi:g}]"),
        interior=(0.0 < m["rho_star"] < 1.0, f"seed-mean error minimal at rho* = {m['rho_star']:g}, inside (0, 1)"),
        gain=(m["err_ratio_star_to_rho1"] <= c["max_err_ratio"],
              f"error(rho*) / error(rho = 1) = {m['err_ratio_star_to_rho1']:.3f} <= {c['max_err_ratio']:g}"),
        derivative_sign=(m["deriv_positive_frac"] >= c["min_positive_frac"] and m["deriv_mean"] > 0,
                         f"d cos(alpha_g)/d(1-rho) at rho = 1 positive in {m['deriv_positive_frac']:.2f} of seeds "
                         f">= {c['min_positive_frac']:.2f}, seed mean {m['deriv_mean']:.3f} > 0"),
        derivative_fd=(m["fd_max_rel_err"] < c["fd_tol"],
                       f"analytic derivative vs finite difference (Richardson, step {p['fd_eps']:g}): rel. err "
                       f"{m['fd_max_rel_err']:.2e} < {c['fd_tol']:g}"),
        perfect_zero=(m["perfect_deriv_max_rel"] <= m["perfect_deriv_tol"],
                      f"perfect teacher: derivative zero to rounding, |t1 - t2|/|t1| = "
                      f"{m['perfect_deriv_max_rel']:.1e} <= 64 n eps = {m['perfect_deriv_tol']:.1e}"),
        perfect_control=(m["perfect_cos_max_at_rho1"] and m["perfect_rho_star"] == 1.0,
                         f"negative control, perfect teacher: cos(alpha_g) largest at rho = 1 in every seed, "
                         f"seed-mean error minimal at rho = {m['perfect_rho_star']:g} (must be 1)"),
    )


def figure(result, fig):
    """Student error against rho (imperfect and perfect teacher), and cos alpha_g against rho."""
    s = result.series
    ax1, ax2 = fig.subplots(1, 2)
    r = np.array(s["rhos"])
    ax1.errorbar(r, s["err"], yerr=s["err_se"], fmt="o-", ms=3, elinewidth=0.6,
                 label="imperfect teacher (bars: SE over seeds)")
    ax1.plot(r, s["err_perfect"], "s--", ms=3, label="perfect teacher")
    ax1.axhline(s["teacher_err"], color="k", ls=":", lw=1, label="teacher's own error")
    ax1.set(xlabel="soft ratio rho", ylabel="student error vs ground truth", title="optimal rho < 1")
    ax1.legend()
    ax2.plot(r, s["cos_alpha_g"], "o-", ms=3, label="imperfect teacher")
    ax2.plot(r, s["cos_alpha_g_perfect"], "s--", ms=3, label="perfect teacher")
    ax2.set(xlabel="soft ratio rho", ylabel="cos angle(w_s, w_g)", title="alignment with the ground truth")
    ax2.legend()


CLAIM = register(Claim(
    id="ji2020.imperfect_teacher",
    title="Imperfect teacher: the optimal soft ratio is below 1",
    statement=(
        "Result 3 (poster): with an imperfect teacher rho = 1 is not optimal and a small share of hard "
        "labels is needed; globally, adding hard labels reduces the angle between student and oracle "
        "weights, d cos(alpha(Delta w, Delta w_g)) / d(1-rho) at rho = 1 being proportional to "
        "<Delta z_g, delta z_h> - <Delta z_g, Delta z_t>/<Delta z_t, Delta z_t> <Delta z_t, delta z_h> "
        "(inner products in Theta_n^{-1}). The explicit formula used, with "
        "delta_n = T^2 (y_g - sigma(z_t)) / sigma'(z_t/T), is derived here [R, digest §2.5]; it vanishes "
        "identically for a perfect teacher (w_t parallel to w_g)."),
    assumptions=("ground truth z_g = kernel machine of the NTK, y_g = 1[z_g > 0] [R]",
                 "teacher = ridgeless kernel interpolant of z_g from n_teacher points (imperfect, error "
                 "1-10%) [R]",
                 "student = converged linearised network (kernel regression of z_eff); rho = 0 is its "
                 "rho -> 0+ limit, whose decisions are those of the interpolant of 2 y_g - 1"),
    method=(
        "For each seed: student error against sign(z_g) on test points over the rho grid; "
        "cos alpha_g(rho); the analytic derivative at rho = 1 against a one-sided finite difference "
        "(rho = 1 - 1e-6 and 1 - 2e-6, Richardson-extrapolated). Pass if the teacher error lies in the stated range; the seed-mean error is "
        "minimal strictly inside (0, 1) and at most max_err_ratio times the error at rho = 1; the "
        "derivative is positive in at least min_positive_frac of seeds, with a positive seed mean, and "
        "matches the finite difference "
        "to 1e-3; for a perfect teacher (z_t = z_g) the derivative is zero to rounding "
        "(<= 64 n eps relative), cos alpha_g is maximal at rho = 1 in every seed (the projection of w_g is "
        "the best-aligned vector of the span) and the error is minimal at rho = 1 (negative control: "
        "without teacher mistakes the interior optimum disappears)."),
    scales={"smoke": dict(BASE, seeds=6, n_test=5000),
            "default": dict(BASE),
            "paper": dict(BASE, seeds=40, n_test=50000,
                          rhos=[0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95,
                                0.98, 0.99, 1.0])},
    criteria=CRITERIA,
    measure=measure, verdict=verdict, figure=figure,
    key_metrics=("rho_star", "err_ratio_star_to_rho1", "deriv_positive_frac", "teacher_err_mean"),
    scale_note=("The derivative formula, the teacher construction and the settings are reconstructions "
                "(digest §2.5, §4e); no optimal rho is quoted from the paper. Two departures from the "
                "digest's §4e, both measured: (1) the teacher is interpolated from 15 points (not 25) and "
                "the student sees n = 400 (not 200), so that the teacher typically errs more than the "
                "hard-label student, the poster's condition for a positive derivative; with 25 / 200 the "
                "teacher beats the hard-label student in almost every seed and the derivative is positive "
                "in about 85% of seeds; (2) the sign criterion asks for 2/3 of seeds (not 5/6) and a "
                "positive mean: over 40 seeds the derivative is positive in about 92%, so 5/6 of 6 seeds "
                "would fail about one run in fourteen by chance. Finite differences are Richardson-"
                "extrapolated: the plain one-sided difference at 1e-6 has ~1e-3 truncation error here "
                "(metric fd_plain_max_rel_err). " + PAPER_NOTE),
    validate=validate, tags=("ntk",),
))
