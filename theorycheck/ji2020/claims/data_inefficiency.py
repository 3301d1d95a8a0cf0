"""``ji2020.data_inefficiency``: Result 2, soft labels learn faster; a higher soft ratio and an
early-stopped teacher lower the data inefficiency."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_grid, check_int, check_list, check_real
from ...registry import Claim, Verdict, register
from ...stats import loglog_slope
from .. import ntk
from ..experiments import hard_student_cell, soft_students_cell, teacher_time_cell
from .common import PAPER_NOTE

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "measure", "verdict", "figure"]

#: Parameters at the default scale. ``rho_judge_min`` (the soft ratios over which the ordering of the
#: data inefficiency is judged) enters the measured metrics ``I_bar_decreasing_in_rho`` and
#: ``I_bar_spread_below_judge``, hence a parameter.
BASE = {"d": 5, "n_centres": 40, "c_std": 1.0, "T": 2.0, "rhos": [1.0, 0.99, 0.9, 0.5, 0.1, 0.01],
        "rho_judge_min": 0.5,
        "n_grid": [20, 40, 80, 160, 320, 640, 1280], "n_grid_hard": [20, 40, 80, 160, 320, 640],
        "hard_steps": 20000, "n_test": 20000, "seeds": 4, "diag_reg": 1e-10, "lr_factor": 0.5,
        "n_teacher": 200, "teacher_steps": [10, 100, 1000, 10000],
        "n_grid_tt": [20, 40, 80, 160, 320, 640], "rho_tt": 1.0, "rho_tt_mixed": 0.5}

#: Thresholds of the verdict: the pure-soft risk slope must be below the hard-label one by
#: ``soft_margin``; for rho = 1 the growth rate I(n) must stay below ``saturation_tol`` from n = 160.
CRITERIA = {"soft_margin": 0.3, "saturation_tol": 0.05}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    for k in ("d", "n_centres", "n_test", "seeds", "n_teacher", "hard_steps"):
        check_int(k, p[k], low=1)
    for k in ("c_std", "T", "diag_reg"):
        check_real(k, p[k], low=0.0, low_open=True)
    check_real("lr_factor", p["lr_factor"], low=0.0, high=1.0, low_open=True, high_open=True)
    rhos = check_list("rhos", p["rhos"], low=0.0, high=1.0, low_open=True)
    if 1.0 not in rhos or len(rhos) < 2:
        raise InputError("rhos", f"must contain 1.0 and at least one rho < 1, got {p['rhos']}")
    rj = check_real("rho_judge_min", p["rho_judge_min"], low=0.0, high=1.0)
    if sum(r >= rj for r in rhos) < 2:
        raise InputError("rho_judge_min", f"leaves fewer than two rhos to compare (rhos={rhos})")
    ns = check_grid("n_grid", p["n_grid"], low=2, integer=True)
    nh = check_grid("n_grid_hard", p["n_grid_hard"], low=2, integer=True)
    if not set(nh) <= set(ns) or len(nh) < 2:
        raise InputError("n_grid_hard", "must be a subset of n_grid with at least two sizes")
    check_grid("n_grid_tt", p["n_grid_tt"], low=2, integer=True)
    check_grid("teacher_steps", p["teacher_steps"], low=1, integer=True)
    check_real("rho_tt", p["rho_tt"], low=0.0, high=1.0, low_open=True)
    check_real("rho_tt_mixed", p["rho_tt_mixed"], low=0.0, high=1.0, low_open=True)
    if p["rho_tt_mixed"] == p["rho_tt"]:
        raise InputError("rho_tt_mixed", f"must differ from rho_tt={p['rho_tt']:g}")
    check_real("soft_margin", p["soft_margin"])
    check_real("saturation_tol", p["saturation_tol"], low=0.0, low_open=True)
    ntk.check_kernel_memory(p["n_test"], ns[-1], what="test kernel (n_test x training points)")


def measure(params, ctx):
    """Soft students (one cell per seed), hard-label students (per seed and n) and the teacher-time
    control (per seed), all on the seeds' shared teachers."""
    keys = ("d", "n_centres", "c_std", "T", "n_test", "diag_reg", "lr_factor")
    base = {k: params[k] for k in keys}
    seeds = [int(ctx.rng(part="data", seed=s).integers(0, 2 ** 62)) for s in range(params["seeds"])]
    rhos, ns, ns_hard = params["rhos"], params["n_grid"], params["n_grid_hard"]
    soft = ctx.map(soft_students_cell, [dict(base, data_seed=ds, rhos=rhos, n_grid=ns) for ds in seeds],
                   stream="soft_students", blas_threads=1, desc="soft students")
    hard = ctx.map(hard_student_cell, [dict(base, data_seed=ds, n_grid=ns, n=n, hard_steps=params["hard_steps"])
                                       for ds in seeds for n in ns_hard],
                   stream="hard_students", blas_threads=1, desc="hard-label students")
    tt = ctx.map(teacher_time_cell,
                 [dict(base, data_seed=int(ctx.rng(part="teacher_time", seed=s).integers(0, 2 ** 62)),
                       n_teacher=params["n_teacher"], teacher_steps=params["teacher_steps"],
                       n_grid_tt=params["n_grid_tt"], rho_tt=params["rho_tt"],
                       rho_tt_mixed=params["rho_tt_mixed"]) for s in range(params["seeds"])],
                 stream="teacher_time", blas_threads=1, desc="teacher training time")
    R = np.mean([o["R"] for o in soft], axis=0)          # (n, rho)
    L = np.mean([o["log_w"] for o in soft], axis=0)      # (n, rho): seed mean of ln ||Delta w_n||
    per_seed = len(ns_hard)
    Rh = np.array([[o["R"] for o in hard[i * per_seed:(i + 1) * per_seed]] for i in range(len(seeds))]).mean(0)
    Lh = np.array([[o["log_w"] for o in hard[i * per_seed:(i + 1) * per_seed]] for i in range(len(seeds))]).mean(0)
    i1 = rhos.index(1.0)
    # risk decay slope s_R on the hard-label grid; a zero risk would have no logarithm: floor at half a test point
    floor = 0.5 / params["n_test"]
    R1_on_hard = np.array([R[ns.index(n), i1] for n in ns_hard])
    # slopes of seed means of ln ||Delta w_n|| (already logarithms) against ln n
    Ibar = [float(np.polyfit(np.log(ns), L[:, j], 1)[0]) for j in range(len(rhos))]
    I_doubling = (np.diff(L, axis=0) / np.diff(np.log(ns))[:, None]).T   # (rho, n - 1): I between neighbours
    order = np.argsort(rhos)
    tt_L = {k: np.mean([o["log_w"][k] for o in tt], axis=0) for k in tt[0]["log_w"]}
    tt_I = {k: [float(np.polyfit(np.log(params["n_grid_tt"]), row, 1)[0]) for row in v] for k, v in tt_L.items()}
    big = [k for k, n in enumerate(ns[:-1]) if n >= 160]  # I(n) = doubling n -> 2n, for n >= 160
    rj = params["rho_judge_min"]
    metrics = {
        "s_R_soft_rho1": loglog_slope(ns_hard, np.maximum(R1_on_hard, floor)),
        "s_R_hard": loglog_slope(ns_hard, np.maximum(Rh, floor)),
        "risk_floor_used": bool(np.any(R1_on_hard < floor) or np.any(Rh < floor)),
        "soft_beats_hard_n_ge_40": bool(all(r1 < rh for n, r1, rh in zip(ns_hard, R1_on_hard, Rh) if n >= 40)),
        "rhos": rhos,
        "I_bar": Ibar,
        "I_bar_hard": float(np.polyfit(np.log(ns_hard), Lh, 1)[0]),
        "I_bar_decreasing_in_rho": bool(np.all(np.diff(np.array(Ibar)[order][np.array(rhos)[order] >= rj]) < 0)),
        "I_bar_spread_below_judge": (float(np.ptp([v for r, v in zip(rhos, Ibar) if r <= rj]))
                                     if sum(r <= rj for r in rhos) > 1 else None),
        "I_last_doubling": [float(v) for v in I_doubling[:, -1]],
        "I_rho1_max_n_ge_160": float(np.max(I_doubling[i1, big])) if big else None,
        "teacher_steps": params["teacher_steps"],
        "I_bar_teacher_time": tt_I[f"{params['rho_tt']:g}"],
        "I_bar_teacher_time_mixed": tt_I[f"{params['rho_tt_mixed']:g}"],
        "hard_grad_norm_max": max(o["grad_norm"] for o in hard),
    }
    metrics["teacher_time_increasing"] = bool(np.all(np.diff(metrics["I_bar_teacher_time"]) > 0))
    series = {"n": ns, "n_hard": ns_hard, "rhos": rhos, "R": R.T.tolist(), "log_w": L.T.tolist(),
              "R_hard": Rh.tolist(), "log_w_hard": Lh.tolist(), "I_bar": Ibar,
              "teacher_steps": params["teacher_steps"], "I_bar_teacher_time": metrics["I_bar_teacher_time"],
              "I_bar_teacher_time_mixed": metrics["I_bar_teacher_time_mixed"],
              "rho_tt": params["rho_tt"], "rho_tt_mixed": params["rho_tt_mixed"]}
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    """Pass if soft labels learn faster and better, the data inefficiency falls with rho and saturates
    at rho = 1, and rises with the teacher's training time."""
    margin = c["soft_margin"]
    crit = dict(
        soft_faster=(m["s_R_soft_rho1"] < m["s_R_hard"] - margin,
                     f"risk slope: pure soft {m['s_R_soft_rho1']:.2f} < hard labels {m['s_R_hard']:.2f} - {margin:g}"),
        soft_lower=(m["soft_beats_hard_n_ge_40"], "R(rho = 1) < R(hard labels) at every n >= 40"),
        rho_lowers_I=(m["I_bar_decreasing_in_rho"],
                      f"data inefficiency (log-log slope of |Delta w_n|) strictly decreasing in rho over "
                      f"rho >= {p['rho_judge_min']:g}: "
                      + ", ".join(f"{r:g}: {v:.3f}" for r, v in zip(m["rhos"], m["I_bar"]))),
        early_stop=(m["teacher_time_increasing"],
                    f"rho = {p['rho_tt']:g}: data inefficiency rises with teacher training time "
                    + ", ".join(f"t={t}: {v:.3f}" for t, v in zip(m["teacher_steps"], m["I_bar_teacher_time"]))),
    )
    if m["I_rho1_max_n_ge_160"] is not None:
        crit["saturates"] = (m["I_rho1_max_n_ge_160"] < c["saturation_tol"],
                             f"rho = 1: I(n) = {m['I_rho1_max_n_ge_160']:.3f} < {c['saturation_tol']:g} for n >= 160 "
                             f"(|Delta w_n| = |P_n w_t| saturates)")
    return Verdict.from_criteria(**crit)


def figure(result, fig):
    """Risk of soft and hard-label students, :math:`\\ln\\|\\Delta w_n\\|` for each rho, and the teacher-time control."""
    s = result.series
    ax1, ax2, ax3 = fig.subplots(1, 3)
    i1 = list(s["rhos"]).index(1.0)
    ax1.loglog(s["n"], np.maximum(s["R"][i1], 1e-6), "o-", ms=3, label="pure soft (rho=1)")
    ax1.loglog(s["n_hard"], np.maximum(s["R_hard"], 1e-6), "s-", ms=3, label="hard labels (GD)")
    ax1.set(xlabel="n", ylabel="transfer risk R_n", title="soft vs hard labels")
    ax1.legend()
    for r, L, I in zip(s["rhos"], s["log_w"], s["I_bar"]):
        ax2.semilogx(s["n"], L, "o-", ms=3, label=f"rho={r:g}: I={I:.2f}")
    ax2.semilogx(s["n_hard"], s["log_w_hard"], "k--", lw=1, label="hard labels")
    ax2.set(xlabel="n", ylabel="ln |Delta w_n|", title="data inefficiency [R]")
    ax2.legend(fontsize=6)
    ax3.semilogx(s["teacher_steps"], s["I_bar_teacher_time"], "o-", label=f"rho={s['rho_tt']:g}")
    ax3.semilogx(s["teacher_steps"], s["I_bar_teacher_time_mixed"], "s--", label=f"rho={s['rho_tt_mixed']:g}")
    ax3.set(xlabel="teacher training steps", ylabel="data inefficiency", title="early-stopped teacher")
    ax3.legend()


CLAIM = register(Claim(
    id="ji2020.data_inefficiency",
    title="Data inefficiency: soft labels learn faster; higher rho and an early-stopped teacher lower it",
    statement=(
        "Result 2 (poster, abstract): data inefficiency measures how hard it is for the student to recover "
        "the oracle weight from a given amount of data; pure soft-label distillation converges faster than "
        "hard-label training; a higher soft ratio rho and an early-stopped teacher reduce data "
        "inefficiency, both by smoothing the student's output function. The metric's definition was not "
        "recovered; reconstructed here [R, digest §2.4] as the growth rate of the label-driven weight "
        "change, I(n) = d ln ‖Delta w_n - Delta w_z‖ / d ln n with ‖Delta w_n‖^2 = z_eff^T Theta^{-1} z_eff "
        "(Delta w_z = 0 with the antisymmetric initialisation), summarised by its least-squares slope "
        "over the n grid."),
    assumptions=("perfect teacher: kernel machine of the NTK, y_g = 1[z_t > 0] (as in ji2020.risk_bound)",
                 "soft students: converged linearised network (kernel regression of z_eff)",
                 "hard-label student: kernel gradient descent on the logistic loss for hard_steps steps "
                 "(its logits diverge, so a finite time is needed) [R]",
                 "difficulty control by teacher training time [R]: teacher = kernel GD on the logistic loss of "
                 "ground-truth labels on n_teacher points, snapshots at teacher_steps; student at rho_tt"),
    method=(
        "Seed-averaged transfer risk R_n for the pure-soft student and the hard-label student, with "
        "log-log slopes s_R over the hard-label n grid; the weight-change norms ‖Delta w_n‖ for each rho "
        "on nested sets and their log-log slope (data inefficiency). Pass if s_R(rho = 1) < s_R(hard) - 0.3; "
        "R(rho = 1) < R(hard) for every n >= 40; the data inefficiency is strictly decreasing in rho over "
        "rho >= rho_judge_min (below it the label step dominates z_eff and the slope saturates at the "
        "step's own rate; the spread there is reported as I_bar_spread_below_judge); "
        "I(n) < 0.05 for rho = 1 at every doubling from n >= 160 (saturation, ‖P_n w_t‖ <= ‖w_t‖); and "
        "it rises strictly with the teacher's training time at rho_tt = 1. The same teacher-time slopes "
        "at rho_tt_mixed are reported, not judged."),
    scales={"smoke": dict(BASE, n_grid=[20, 40, 80, 160, 320, 640], n_grid_hard=[20, 40, 80, 160, 320],
                          hard_steps=10000, n_test=5000, seeds=2, n_teacher=150,
                          teacher_steps=[10, 100, 1000, 5000], n_grid_tt=[20, 40, 80, 160, 320]),
            "default": dict(BASE),
            "paper": dict(BASE, n_grid=[20, 40, 80, 160, 320, 640, 1280, 2560],
                          n_grid_hard=[20, 40, 80, 160, 320, 640, 1280], n_test=50000, seeds=10,
                          teacher_steps=[10, 100, 1000, 10000, 100000])},
    criteria=CRITERIA,
    measure=measure, verdict=verdict, figure=figure,
    key_metrics=("s_R_soft_rho1", "s_R_hard", "I_bar", "I_bar_teacher_time"),
    scale_note=("The data-inefficiency definition, the difficulty-control experiment and all settings are "
                "reconstructions (digest §2.4, §4d). The digest's per-doubling criterion "
                "'I(640->1280) strictly decreasing in rho' is reported (I_last_doubling) but not judged: "
                "for rho < 1 a single doubling is dominated by the closest training pair straddling the "
                "decision boundary and is not monotone in rho; the least-squares slope over the grid is, for "
                "rho >= 0.5. For rho <= 0.5 it saturates (differences of ~0.01, below the seed-to-seed "
                "spread), so the digest's ordering of rho = 0.5, 0.1, 0.01 is not judged. "
                "With rho < 1 and ground-truth hard labels (rho_tt_mixed) an early-stopped teacher raises "
                "the slope in this reconstruction (its small logits leave the label step dominant); reported "
                "as measured. " + PAPER_NOTE),
    validate=validate, tags=("ntk",),
))
