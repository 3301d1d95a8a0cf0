r"""Hong et al. 2021, nonlinear experiments: Fig. 2 (early stopping, Sec. 3.2) and Fig. 6 (knowledge
decomposition, Sec. 5.3), with wide two-layer ReLU networks, exact population test errors and the
fused simulator of :mod:`theorycheck.hong2021.relu`; the cells are in
:mod:`theorycheck.hong2021.experiments.relu`.

How the verdicts are decided
----------------------------
A **repetition** replicates the paper's experiment: its own teacher, student initialisation and
samples, shared by all of its students (the paper: "all of these trained students use Xavier normal
initialization with the same random seed and the same training samples"). Every effect is a number
per repetition, a paired difference of two students of that repetition, in units of the
repetition's :math:`\mathbb E f_t^2` (the test error of predicting 0). Its mean over repetitions
gets a Student-t interval (:func:`theorycheck.stats.t_interval`) at the claim's ``level``.

* **Regime.** Both figures speak of N_s that are "not too small"; Sec. 4.2 says what too small means:
  "when N_s is too small, it simply is impossible for the student to extract any meaningful pattern
  from its training data, regardless of how good the teacher's features are". So an N_s is judged
  when the student with the best teacher of the figure (Fig. 2: the early-stopped student-teacher
  student, whose teacher is the ground truth; Fig. 6: the student of the finest decomposition, the
  smallest g) extracts a pattern: its error is below :math:`(1-\delta)\,\mathbb E f_t^2`, interval
  wholly below. Fig. 2 also leaves out an N_s where the base student is so close to the Bayes error
  that no student can beat it by the margin (:math:`(1-\delta) E_{base} \le` Bayes error).
  Unresolved N_s are shown, never judged.
* **Every judged N_s.** A criterion that must hold at every judged N_s PASSes when every interval is
  on the claim's side (an intersection-union test: no correction needed), FAILs when some N_s's
  interval at the Bonferroni level (:func:`theorycheck.stats.level_per_look` over the judged N_s)
  lies wholly on the other side, and is INCONCLUSIVE otherwise, with the repetitions an interval
  would need at the observed spread.
* The margin :math:`\delta = 0.02` is the paper's own measure of a significant improvement
  (Sec. 4.1, Fig. 3: :math:`E_{st} \le (1-\delta) E_{base}` with :math:`\delta = 0.02`).

Long runs: at paper scale a training run takes hours, so each student cell gets run settings (how
often to print progress and to save a snapshot: ``progress_s``, ``snapshot_s``; they change no number
and are not in the cell's key or seed) and a snapshot file, and an interrupted run continues within
the cell.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_choice, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ...stats import level_per_look, seeds_needed, t_interval
from ..experiments.relu import (blas_threads, fig2_cell, fig2_measurements, fig2_teacher_cell, fig6_cell,
                                fig6_measurements, fig6_teacher_cell)
from ..relu.population import DEFAULT_BLOCK_ELEMS
from ._drawing import footnote

__all__ = ["judge_cells", "regime"]

_SEED_WORDS = 2 ** 31 - 1

#: Largest noise level accepted: at sigma = 100 the noise is 100 times the signal's scale, so the
#: Bayes error is within 1e-4 of :math:`\mathbb E f_t^2` (nothing left to learn; the paper's levels
#: are 0.1 to 0.5), and the float32 training sums stay far from overflow.
SIGMA_MAX = 100.0


# =====================================================================================  shared
def _seeds(ctx, figure: str, rep: int) -> list[int]:
    """(teacher, student, data) seeds of repetition ``rep``, derived from the run seed."""
    return [int(s) for s in ctx.rng(figure=figure, rep=rep).integers(_SEED_WORDS, size=3)]


def _common_validate(p):
    check_int("m", p["m"], low=2)
    check_int("d", p["d"], low=1)
    check_real("sigma", p["sigma"], low=0.0, high=SIGMA_MAX)
    check_int("steps", p["steps"], low=1)
    # more evaluations than steps add nothing (the schedule holds each step once)
    check_int("n_eval", p["n_eval"], low=2, high=p["steps"] + 1)
    check_int("reps", p["reps"], low=1)
    check_choice("dtype", p["dtype"], ("float32", "float64"))
    # a fraction of 1/lambda_max: GD on the local quadratic is stable only below 2
    check_real("lr_frac", p["lr_frac"], low=0.0, high=2.0, low_open=True, high_open=True)
    check_real("stop_tol", p["stop_tol"], low=0.0)
    check_real("progress_s", p["progress_s"], low=0.0)
    check_real("snapshot_s", p["snapshot_s"], low=0.0, low_open=True)
    check_list("N_s", p["N_s"], integer=True, low=1, distinct=True)
    check_real("level", p["level"], low=0.5, high=1.0, high_open=True)
    check_real("margin", p["margin"], low=0.0, high=1.0, high_open=True)


def _cell_bytes(m: int, d: int, N: int, N_pool: int, dtype: str) -> float:
    """Bytes one student cell holds at once (a bound, within a factor of about 2).

    Host float64: teacher and initial weights, the sample pool and its teacher features; device
    (training dtype): the simulator's (N, m) buffers and first layer; float64 population-error
    blocks (:data:`~theorycheck.hong2021.relu.population.DEFAULT_BLOCK_ELEMS` entries, at least a
    row of m) and weights.
    """
    w = 4 if dtype == "float32" else 8
    host = 8.0 * (3 * m * d + 2 * N_pool * m + 3 * N_pool * d)
    device = w * (6.0 * N * m + 3.0 * m * d + N * N)
    kernel = 8.0 * (3 * max(DEFAULT_BLOCK_ELEMS, m) + 2 * m * d)
    return host + device + kernel


def _estimate(p, arms: int) -> Estimate:
    """Peak memory of the largest cell and work = training steps x student cells."""
    N_max = max(p["N_s"])
    peak = _cell_bytes(p["m"], p["d"], N_max, N_max, p["dtype"])
    sizes = {"m": p["m"], "d": p["d"], "N_s": N_max}
    cells = p["reps"] * len(p["N_s"]) * arms
    return Estimate(peak_bytes=peak, memory_param=max(sizes, key=sizes.get),
                    work=float(cells) * p["steps"], work_param="steps" if p["steps"] >= cells else "reps")


def _changed(params, claim_id: str) -> str:
    """The parameters that differ from the nearest scale of the claim (the user's overrides)."""
    from ...registry import get_claim
    scales = get_claim(claim_id).scales.values()
    diffs = min(([k for k in p if params.get(k) != p[k]] for p in scales), key=len)
    return ", ".join(diffs)


def _check_training(runs: dict, params, claim_id: str) -> None:
    """No verdict from training that failed: a run whose data-fit term ended no lower than that of
    predicting 0 on its own samples (diverged, or stuck) ends the claim with an input error naming the
    parameters the user changed."""
    worst = max(float(r["final_fit"]) for r in runs.values())
    if not worst < 1.0:
        names = _changed(params, claim_id)
        raise InputError(names or "scale",
                         f"made {claim_id}'s training fail: a student's training loss ended at {worst:.3g} times "
                         "that of predicting 0 on its own samples (no fit); use values nearer the scale's "
                         "defaults (a smaller sigma or lr_frac, or more steps)")


def _run_settings(p) -> dict:
    """The sweep's run settings of the student cells."""
    return {"progress_s": float(p["progress_s"]), "snapshot_s": float(p["snapshot_s"])}


def _map_students(ctx, fn, cells, settings, desc):
    """Sweep of student cells, each with its :func:`~theorycheck.hong2021.experiments.relu.blas_threads`
    (one thread for small GEMMs); results in the order of ``cells``."""
    out = [None] * len(cells)
    for threads in (1, None):
        idx = [i for i, c in enumerate(cells) if blas_threads(c) == threads]
        if idx:
            done = ctx.map(fn, [cells[i] for i in idx], stream="runs", settings=settings,
                           blas_threads=threads, desc=desc)
            for i, r in zip(idx, done):
                out[i] = r
    return out


def _fmt_iv(iv) -> str:
    return f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def regime(values, threshold: float, side: str, level: float) -> list[str]:
    """Per N_s: ``"in"`` when the t interval of the per-repetition ``values[:, i]`` lies wholly on
    ``side`` of ``threshold``, ``"out"`` when wholly on the other side, ``"unresolved"`` otherwise.

    Parameters
    ----------
    values : array of shape (reps, n_N), reps >= 2
    threshold : float;  side : {"below", "above"};  level : float in [0.5, 1)
    """
    v = np.asarray(values, dtype=float)
    out = []
    for i in range(v.shape[1]):
        iv = t_interval(v[:, i], level)
        on = iv.high < threshold if side == "below" else iv.low > threshold
        off = iv.low > threshold if side == "below" else iv.high < threshold
        out.append("in" if on else "out" if off else "unresolved")
    return out


def judge_cells(effect: str, values: dict, threshold: float, side: str, level: float) -> tuple[str, str]:
    """Decide an effect that must hold at every judged N_s (module docstring).

    Parameters
    ----------
    effect : str, what the per-repetition number is (for the sentence)
    values : dict N_s -> per-repetition values (at least 2 each); empty: INCONCLUSIVE
    threshold : float;  side : {"below", "above"}, the claim's side
    level : float, confidence level of each interval

    Returns
    -------
    (status, sentence)
    """
    if not values:
        return "INCONCLUSIVE", (f"{effect}: no N_s is judged (none is resolved as one where the student learns; "
                                "see the regime criterion)")
    k = len(values)
    wide = level_per_look(level, k)
    parts, passes, fails, need = [], [], [], []
    for N, v in values.items():
        iv = t_interval(v, level)
        ivw = t_interval(v, wide)
        ok = iv.high < threshold if side == "below" else iv.low > threshold
        bad = ivw.low > threshold if side == "below" else ivw.high < threshold
        passes.append(ok)
        fails.append(bad)
        parts.append(f"N_s={N}: {_fmt_iv(iv)}")
        if not ok and not bad:
            n = seeds_needed(v, threshold, level)
            need.append(f"N_s={N}: {n if n else 'no number of'}")
    status = "PASS" if all(passes) else "FAIL" if any(fails) else "INCONCLUSIVE"
    n_reps = len(next(iter(values.values())))
    text = (f"{effect}, mean [{100 * level:g}% t interval] over {n_reps} repetitions: " + "; ".join(parts)
            + f"; the claim needs every interval {side} {threshold:g}: {status}")
    if status == "FAIL":
        bad_N = [N for N, b in zip(values, fails) if b]
        text += (f" (N_s={bad_N}: wholly on the other side even at the {100 * wide:.3g}% level, "
                 f"the error split over {k} N_s)")
    elif status == "INCONCLUSIVE" and need:
        text += " (repetitions an interval would need at this spread: " + ", ".join(need) + ")"
    return status, text


def _one_rep(names, reps: int) -> Verdict:
    text = f"{reps} repetition gives no interval; run with reps >= 2"
    return Verdict.from_criteria(**{n: ("INCONCLUSIVE", text, p) for n, p in names.items()})


# =====================================================================================  Fig. 2
def _fig2_validate(p):
    _common_validate(p)
    lam = check_list("lam_d", p["lam_d"], low=0.0, distinct=True)
    if any(v == 0 for v in lam):
        raise InputError("lam_d", f"must be positive (the base loss lam=0 is always run), got {lam}")
    check_real("fit_max", p["fit_max"], low=0.0)


def _fig2_estimate(p) -> Estimate:
    return _estimate(p, arms=len(p["lam_d"]) + 1)


def _fig2_measure(params, ctx):
    p = params
    seeds = [_seeds(ctx, "fig2", rep) for rep in range(p["reps"])]
    stats = ctx.map(fig2_teacher_cell, [{"m": p["m"], "d": p["d"], "sigma": p["sigma"], "seeds": s}
                                        for s in seeds], stream="teachers", desc="hong2021.fig2 teachers")
    base_cell = {k: p[k] for k in ("m", "d", "sigma", "steps", "n_eval", "stop_tol", "lr_frac", "dtype")}
    base_cell["backend"] = ctx.backend
    lams = [0.0] + [float(v) for v in p["lam_d"]]
    cells, keys = [], []
    for rep, s in enumerate(seeds):
        for N in p["N_s"]:
            for lam_d in lams:
                cells.append({**base_cell, "seeds": s, "N_s": N, "N_pool": max(p["N_s"]), "lam_d": lam_d,
                              "teacher_moment": stats[rep]["teacher_moment"]})
                keys.append((rep, N, lam_d))
    runs = dict(zip(keys, _map_students(ctx, fig2_cell, cells, _run_settings(p), "hong2021.fig2 runs")))
    _check_training(runs, p, "hong2021.fig2")
    metrics, series = fig2_measurements(runs, stats, N_s=list(p["N_s"]), lam_d=list(p["lam_d"]),
                                        reps=p["reps"], d=p["d"])
    return {"metrics": metrics, "series": series}


_FIG2_PAPER = {
    "regime": "Sec. 4.2: 'when N_s is too small, it simply is impossible for the student to extract any "
              "meaningful pattern from its training data'",
    "beats_zero_loss": "Sec. 3.2: 'the early-stopped students trained with (2) can outperform ... the "
                       "zero-training-loss student'",
    "beats_base": "Sec. 3.2: the early-stopped students trained with (2) 'can outperform ... the baseline "
                  "student'",
    "no_gain_without_early_stopping": "Fig. 2: 'early stopping is necessary for student-teacher learning to "
                                      "have significant improvement over baseline learning'",
    "reached_zero_loss": "Sec. 3.2: the 'Zero Training Loss' curve is 'that network's error at the end of "
                         "training'",
}


def _fig2_verdict(metrics, params, criteria) -> Verdict:
    level, delta, fit_max = criteria["level"], criteria["margin"], criteria["fit_max"]
    N_s, R = list(metrics["N_s"]), int(metrics["reps"])
    if R < 2:
        return _one_rep(_FIG2_PAPER, R)
    es, zl, base = (np.asarray(metrics[k], float) for k in ("early_stopped_rel", "zero_loss_rel", "base_rel"))
    fit = np.asarray(metrics["final_fit"], float)
    bayes = np.asarray(metrics["bayes_rel"], float)[:, None]
    learns = regime(es - (1 - delta), 0.0, "below", level)
    room = regime((1 - delta) * base - bayes, 0.0, "above", level)
    judged = [i for i in range(len(N_s)) if learns[i] == "in" and room[i] == "in"]
    small = [N_s[i] for i in range(len(N_s)) if learns[i] == "out"]
    large = [N_s[i] for i in range(len(N_s)) if room[i] == "out"]
    unresolved = [N_s[i] for i in range(len(N_s)) if i not in judged and N_s[i] not in small + large]
    regime_text = (f"N_s where the early-stopped student-teacher student's error is below (1 - {delta:g}) E f_t^2 "
                   f"({100 * level:g}% t interval over {R} repetitions) and the base student is not within "
                   f"the margin of the Bayes error: {[N_s[i] for i in judged]} (judged); too small: {small}; "
                   f"too large: {large}; unresolved: {unresolved}")
    cells = lambda v: {N_s[i]: v[:, i] for i in judged}  # noqa: E731
    zero_ok = bool(judged) and bool(np.all(fit[:, judged] <= fit_max))
    worst_fit = float(fit[:, judged].max()) if judged else float(fit.max())
    return Verdict.from_criteria(
        regime=("PASS" if judged else "INCONCLUSIVE", regime_text, _FIG2_PAPER["regime"]),
        beats_zero_loss=(*judge_cells(f"(E_ES - (1 - {delta:g}) E_zero-loss) / E f_t^2, same network",
                                      cells(es - (1 - delta) * zl), 0.0, "below", level),
                         _FIG2_PAPER["beats_zero_loss"]),
        beats_base=(*judge_cells(f"(E_ES - (1 - {delta:g}) E_base) / E f_t^2", cells(es - (1 - delta) * base),
                                 0.0, "below", level), _FIG2_PAPER["beats_base"]),
        no_gain_without_early_stopping=(
            *judge_cells(f"(E_zero-loss - (1 - {delta:g}) E_base) / E f_t^2", cells(zl - (1 - delta) * base),
                         0.0, "above", level), _FIG2_PAPER["no_gain_without_early_stopping"]),
        reached_zero_loss=("PASS" if zero_ok else "INCONCLUSIVE",
                           f"largest final training MSE / mean y^2 of the chosen students at the judged N_s: "
                           f"{worst_fit:.2g} (zero training loss needs <= {fit_max:g}"
                           + ("" if zero_ok else "; no N_s judged" if not judged else
                              "; raise steps: the zero-loss student was not at zero loss")
                           + ")", _FIG2_PAPER["reached_zero_loss"]),
    )


def _paper_scale_words(p) -> str:
    """How the network differs from the paper's (d_x = 500, m = 20,000), in words."""
    return f"$d_x = {p['d']}$, $m = {p['m']}$ (the paper: 500 and 20,000)"


def _fig2_figure(result, fig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator
    from ...plots import log_ticks, place_legend
    s, p = result.series, result.params
    footnote(fig, f"Analogue of the paper's Fig. 2 at a smaller scale: two-layer ReLU teacher and student with "
                  f"{_paper_scale_words(p)}, $\\sigma_\\epsilon = {p['sigma']:g}$, exact population test errors, "
                  f"mean over {p['reps']} repetitions; the student-teacher student's $\\lambda$ is the best of "
                  f"$\\lambda d \\in \\{{{', '.join(f'{v:g}' for v in p['lam_d'])}\\}}$ per $N_s$.")
    fig.set_size_inches(7.0, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    kinds = {"st": ("C0", "o", "-", "ST loss (2), early-stopped (best $\\lambda$)"),
             "zero": ("C1", "s", "--", "same network, zero training loss"),
             "base": ("C2", "^", "-", "base loss (1), early-stopped")}
    for key, series in (("st", "early_stopped"), ("zero", "zero_loss"), ("base", "base")):
        col, mk, ls, lab = kinds[key]
        ax1.plot(s["N_s"], s[series], marker=mk, ls=ls, color=col, label=lab)
    ax1.axhline(s["bayes_error"], color="0.4", lw=0.9, ls=":", label="Bayes error")
    ax1.set_ylim(0, 1.08 * max(max(s["zero_loss"]), max(s["early_stopped"]), max(s["base"])))
    ax1.set_xscale("log")
    ax1.set_xticks(s["N_s"], [str(n) for n in s["N_s"]])   # the grid itself, not crowded 10^k labels
    ax1.xaxis.set_minor_locator(NullLocator())
    ax1.set_xlabel("$N_s$ (noisy training samples)")
    ax1.set_ylabel("test error (exact)")
    ax1.set_title("Fig. 2 analogue: test error vs $N_s$", fontsize=9)
    tr = s["trajectory"]
    for key, col in (("st", "C0"), ("base", "C2")):
        steps = np.maximum(np.asarray(tr[key]["steps"], dtype=float), 1)
        err = np.asarray(tr[key]["test_error"], dtype=float)
        ax2.plot(steps, err, color=col, lw=1.3)
        best = int(np.argmin(err))
        ax2.plot(steps[best], err[best], kinds[key][1], color=col, ms=6)
        if key == "st":
            ax2.plot(steps[-1], err[-1], kinds["zero"][1], color=kinds["zero"][0], ms=6)
    ax2.set_xscale("log")
    log_ticks(ax2, "x")
    ax2.set_xlabel("gradient-descent step (step 0 at 1)")
    ax2.set_ylabel("test error (exact)")
    ax2.set_title(f"Fig. 2 analogue: one run at $N_s = {tr['N_s']}$", fontsize=9)
    lines = [Line2D([], [], color="C0", lw=1.3), Line2D([], [], color="C2", lw=1.3)]
    place_legend(ax2, lines, [f"ST loss (2), $\\lambda d = {tr['lam_d']:g}$", "base loss (1)"],
                 title="markers: as left", title_fontsize=7)
    place_legend(ax1, where="below", ncols=2, fontsize=7)


_FIG2_COMMON = {"sigma": 0.5, "lr_frac": 1.0, "stop_tol": 1e-6, "dtype": "float32",
                "progress_s": 0.0, "snapshot_s": 300.0}
_FIG2_CRITERIA = {
    # confidence level of every interval (the paper reports no intervals; 95% is the convention)
    "level": 0.95,
    # delta: the paper's own measure of a significant improvement, E_st <= (1 - delta) E_base with
    # delta = 0.02 (Sec. 4.1, Fig. 3); also the least pattern a student must extract (regime)
    "margin": 0.02,
    # "zero training loss": the training MSE at the end at most 1e-3 of mean y^2, two orders of
    # magnitude below every test error compared (the Bayes error alone is about 0.15 E f_t^2)
    "fit_max": 1e-3,
}

_FIG2_METRICS = {
    "es_over_zero_loss": Metric(r"$E_{ES} / E_{zero\ loss}$ per $N_s$ (mean over repetitions): the "
                                r"early-stopped student-teacher student against the same network at zero "
                                "training loss", "1", "ES / zero loss"),
    "es_over_base": Metric(r"$E_{ES} / E_{base}$ per $N_s$ (mean over repetitions): the early-stopped "
                           "student-teacher student against the early-stopped base student", "1", "ES / base"),
    "zero_loss_over_base": Metric(r"$E_{zero\ loss} / E_{base}$ per $N_s$ (mean over repetitions)", "1",
                                  "zero loss / base"),
    "reps": Metric("repetitions (teacher, initialisation and samples drawn afresh)", "1"),
    "N_s": Metric("the $N_s$ grid (noisy training samples)", "samples"),
    "early_stopped_rel": Metric(r"early-stopped error of the best-$\lambda$ student, per repetition and $N_s$",
                                "× E f_t²"),
    "zero_loss_rel": Metric(r"end-of-training error of that student, per repetition and $N_s$",
                            "× E f_t²"),
    "base_rel": Metric(r"early-stopped error of the base student (Eq. (1)), per repetition and $N_s$",
                       "× E f_t²"),
    "bayes_rel": Metric("Bayes error, per repetition", "× E f_t²"),
    "final_fit": Metric("training MSE at the end of the chosen student, over mean $y^2$", "1"),
    "lam_d_chosen": Metric(r"the chosen $\lambda d$ per repetition and $N_s$", "1"),
    "best_during_training_fraction": Metric(r"fraction of the student-teacher runs (every $\lambda$) whose best "
                                            "test error came before the end of training", "1"),
    "n_runs": Metric("training runs", "runs"),
}

register(Claim(
    id="hong2021.fig2",
    title="Fig. 2: early-stopped student-teacher learning beats zero-loss and base learning (ReLU)",
    statement=(r"Hong et al. 2021, Sec. 3.2 and Fig. 2 (Message I): for a wide two-layer ReLU teacher "
               r"$f_t(x) = \widetilde W_2\,\mathrm{relu}(\widetilde W_1 x)$ (the ground truth) and a student of "
               r"the same shape trained by full-batch gradient descent on noisy inputs $x + \epsilon$, the "
               r"student trained with the student-teacher loss Eq. (2) and early-stopped at its best test "
               r"error (best $\lambda$) outperforms both the same network at zero training loss and the "
               r"early-stopped student trained with the base loss Eq. (1); early stopping is necessary for "
               r"a significant improvement over base learning."),
    assumptions=(
        r"$x \sim N(0, I_d)$, noise $\epsilon \sim N(0, \sigma^2 I_d)$ with $\sigma = 0.5$ on the student's "
        "input only; square loss.",
        r"Teacher = ground truth: two-layer ReLU network without biases, linear output, Xavier-normal weights "
        r"(PyTorch: $N(0, 2/(\mathrm{fan_{in}}+\mathrm{fan_{out}}))$); $d_y = 1$.",
        "Students of one repetition: Xavier-normal initialisation from one seed and the same training samples "
        r"(a smaller $N_s$ uses the first $N_s$ of the pool), as in the paper.",
        "The paper does not give the learning rate; we use full-batch gradient descent on mean losses with one "
        r"step size per layer, $1/\lambda_{max}$ of that layer's Gauss-Newton block at initialisation.",
        r"Test error = the exact population error $\mathbb E(f_s(x+\epsilon) - f_t(x))^2$, from the arc-cosine "
        "kernel (our derivation: the paper does not say how it computed test errors); early stopping = the "
        "minimum over a geometric schedule of evaluation steps.",
        "The paper does not give its stopping rule; 'zero training loss' = the end of training: the Eq. (1) "
        r"term below $10^{-6}$ mean $y^2$, or the step budget.",
    ),
    method=(r"In each repetition, for every $N_s$ and every $\lambda$ of the grid (plus $\lambda = 0$, the base "
            r"loss) one student is trained. Per repetition and $N_s$ the $\lambda$ with the lowest early-stopped "
            "error is chosen (the paper's rule); its early-stopped error is E_ES, its end-of-training error "
            "E_zero-loss, and the early-stopped base student's error E_base. The effects are paired differences "
            r"per repetition in units of $\mathbb E f_t^2$: E_ES - (1 - $\delta$) E_zero-loss and E_ES - "
            r"(1 - $\delta$) E_base must be below 0, E_zero-loss - (1 - $\delta$) E_base above 0 (no "
            r"significant gain without early stopping), with $\delta = 0.02$, the paper's margin. Judged at the "
            r"$N_s$ where the early-stopped student-teacher student extracts a pattern (error below "
            r"(1 - $\delta$) $\mathbb E f_t^2$), decided by 95% t intervals over repetitions: PASS when every "
            "judged N_s is on the claim's side, FAIL when one is wholly on the other side at the Bonferroni "
            "level, INCONCLUSIVE otherwise. The chosen students must reach a training MSE of at most "
            "0.1% of mean $y^2$. Test errors are exact population errors, not Monte Carlo test sets."),
    scales={
        "smoke": {**_FIG2_COMMON, "m": 400, "d": 20, "N_s": [40, 80], "lam_d": [1.0, 10.0, 100.0],
                  "steps": 20000, "n_eval": 30, "reps": 12},
        "default": {**_FIG2_COMMON, "m": 1000, "d": 50, "N_s": [12, 25, 50, 100, 200],
                    "lam_d": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0], "steps": 10000, "n_eval": 30,
                    "reps": 4},
        "paper": {**_FIG2_COMMON, "m": 20000, "d": 500, "N_s": [125, 250, 500, 1000, 2000],
                  "lam_d": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0], "steps": 10000, "n_eval": 40,
                  "reps": 3, "progress_s": 60.0, "snapshot_s": 120.0},
    },
    criteria=_FIG2_CRITERIA,
    measure=_fig2_measure,
    verdict=_fig2_verdict,
    figure=_fig2_figure,
    key_metrics=("es_over_zero_loss", "es_over_base", "zero_loss_over_base", "reps"),
    metrics=_FIG2_METRICS,
    estimate=_fig2_estimate,
    scale_note=(r"The paper gives m = 20000, d = 500, $\sigma$ = 0.5 but not the $N_s$ values, the $\lambda$ "
                "grid, the learning rate, the number of steps, the test-set size, the stopping rule or the "
                r"number of repetitions. Our grid: $N_s/d$ in {1/4, 1/2, 1, 2, 4} (smoke: {2, 4}) and "
                r"$\lambda d$ in {1, 3, 10, 30, 100, 300} (the feature term is about 1.5 d per sample at "
                r"initialisation and the base term O(0.1), so $\lambda d \approx 1$ balances them). "
                "Repetitions: 12 at smoke, 4 at default, 3 at paper scale (an INCONCLUSIVE criterion says "
                "how many would decide it). smoke: m = 400, d = 20 (m/d = 20, the paper's 40); default: m = 1000, d = 50; paper: the paper's sizes, meant for a GPU "
                "(--backend cupy); on 2 CPU cores a paper-scale step at N_s = 2000 takes about a second, "
                "so the full grid takes days. Finished training runs are saved as they finish and a rerun "
                "resumes; a running one saves its state every few minutes (2 at paper scale), so an "
                "interrupted run continues with the same numbers as an uninterrupted one. "
                "Losses are means (the paper's sums with the step size divided by N). Training in float32, "
                "test errors in float64."),
    validate=_fig2_validate,
    backends=("numpy", "cupy"),
))


# =====================================================================================  Fig. 6
def _fig6_validate(p):
    _common_validate(p)
    gs = check_list("g", p["g"], integer=True, low=1, distinct=True)
    if len(gs) < 3:
        raise InputError("g", f"needs at least 3 group sizes for a rank correlation, got {gs}")
    for g in gs:
        if p["m"] % g or (p["m"] // g) % 2:
            raise InputError("g", f"every g must divide m={p['m']} with m/g even (the +-1 halves); got g={g}")
    check_int("batch_size", p["batch_size"], low=1)
    check_int("lr_drops", p["lr_drops"], low=0)


def _fig6_estimate(p) -> Estimate:
    return _estimate(p, arms=len(p["g"]) + 1)


def _fig6_measure(params, ctx):
    p = params
    seeds = [_seeds(ctx, "fig6", rep) for rep in range(p["reps"])]
    stats = ctx.map(fig6_teacher_cell, [{"m": p["m"], "d": p["d"], "sigma": p["sigma"], "seeds": s}
                                        for s in seeds], stream="teachers", desc="hong2021.fig6 teachers")
    base_cell = {k: p[k] for k in ("m", "d", "sigma", "steps", "n_eval", "stop_tol", "lr_frac", "lr_drops",
                                   "dtype", "batch_size")}
    base_cell["backend"] = ctx.backend
    gs = list(p["g"])
    cells, keys = [], []
    for rep, s in enumerate(seeds):
        for N in p["N_s"]:
            for g in gs + [None]:
                cells.append({**base_cell, "seeds": s, "N_s": N, "N_pool": max(p["N_s"]), "g": g,
                              "teacher_moment": stats[rep]["teacher_moment"]})
                keys.append((rep, N, g))
    runs = dict(zip(keys, _map_students(ctx, fig6_cell, cells, _run_settings(p), "hong2021.fig6 runs")))
    _check_training(runs, p, "hong2021.fig6")
    metrics, series = fig6_measurements(runs, stats, N_s=list(p["N_s"]), g=gs, reps=p["reps"])
    return {"metrics": metrics, "series": series}


_FIG6_PAPER = {
    "regime": "Sec. 5.3: 'as long as N_s is not too small'; Sec. 4.2: too small = 'impossible for the student "
              "to extract any meaningful pattern ... regardless of how good the teacher's features are'",
    "grows_with_g": "Sec. 5.3: 'as long as N_s is not too small, the greater g is, the higher the test error'",
    "finest_beats_coarsest": "Fig. 6: 'the fewer neurons per group, the lower the test error of the trained "
                             "student network'",
}


def _fig6_verdict(metrics, params, criteria) -> Verdict:
    level, delta = criteria["level"], criteria["margin"]
    N_s, gs, R = list(metrics["N_s"]), list(metrics["g"]), int(metrics["reps"])
    if R < 2:
        return _one_rep(_FIG6_PAPER, R)
    es = np.asarray(metrics["early_stopped_rel"], float)            # (R, n_N, n_g)
    rho = np.asarray(metrics["spearman_early_stopped_reps"], float)  # (R, n_N)
    lo, hi = int(np.argmin(gs)), int(np.argmax(gs))
    learns = regime(es[:, :, lo] - (1 - delta), 0.0, "below", level)
    judged = [i for i in range(len(N_s)) if learns[i] == "in"]
    small = [N_s[i] for i in range(len(N_s)) if learns[i] == "out"]
    unresolved = [N_s[i] for i in range(len(N_s)) if learns[i] == "unresolved"]
    regime_text = (f"N_s where the g = {gs[lo]} student's early-stopped error is below (1 - {delta:g}) E f_t^2 "
                   f"({100 * level:g}% t interval over {R} repetitions): {[N_s[i] for i in judged]} (judged); "
                   f"too small: {small}; unresolved: {unresolved}")
    cells = lambda v: {N_s[i]: v[:, i] for i in judged}  # noqa: E731
    return Verdict.from_criteria(
        regime=("PASS" if judged else "INCONCLUSIVE", regime_text, _FIG6_PAPER["regime"]),
        grows_with_g=(*judge_cells(f"Spearman rank correlation of g and the early-stopped error over "
                                   f"g = {gs}", cells(rho), 0.0, "above", level), _FIG6_PAPER["grows_with_g"]),
        finest_beats_coarsest=(*judge_cells(f"(E(g={gs[lo]}) - (1 - {delta:g}) E(g={gs[hi]})) / E f_t^2",
                                            cells(es[:, :, lo] - (1 - delta) * es[:, :, hi]), 0.0, "below",
                                            level), _FIG6_PAPER["finest_beats_coarsest"]),
    )


def _fig6_figure(result, fig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator
    from ...plots import place_legend
    s, p = result.series, result.params
    footnote(fig, f"Analogue of the paper's Fig. 6 at a smaller scale: {_paper_scale_words(p)}, "
                  f"$\\sigma_\\epsilon = {p['sigma']:g}$, exact population test errors, mean over {p['reps']} "
                  f"repetitions, in units of $\\mathbb{{E}} f_t^2$ (the error of predicting 0); dashed: the "
                  f"base student (targets only) at the same $N_s$.")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    tm = s["teacher_moment"]
    panels = ((ax1, "test_error", "targets_only", "early-stopped"),
              (ax2, "test_error_final", "targets_only_final", "end of training"))
    for ax, key, base_key, title in panels:
        for k, (N, row) in enumerate(zip(s["N_s"], s[key])):
            ax.plot(s["g"], np.asarray(row) / tm, "o-", color=f"C{k}", label=f"$N_s = {N}$")
            ax.axhline(s[base_key][k] / tm, color=f"C{k}", lw=0.9, ls="--")
        ax.axhline(s["bayes_error"] / tm, color="0.4", lw=0.9, ls=":")
        ax.set_xscale("log")
        ax.set_xticks(s["g"], [str(g) for g in s["g"]])  # the grid itself
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("$g$ (teacher neurons per group)")
        ax.set_title(f"Fig. 6 analogue, {title}", fontsize=9)
    ax1.set_ylim(0, None)
    ax1.set_ylabel("test error $/\\,\\mathbb{E} f_t^2$ (exact)")
    handles, labels = ax1.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.4", lw=0.9, ls="--"), Line2D([], [], color="0.4", lw=0.9, ls=":")]
    labels += ["base loss (1), same $N_s$", "Bayes error"]
    place_legend(ax2, handles, labels)


_FIG6_COMMON = {"sigma": 0.3, "lr_frac": 0.5, "lr_drops": 2, "stop_tol": 1e-6, "batch_size": 16,
                "dtype": "float32", "progress_s": 0.0, "snapshot_s": 300.0}
_FIG6_CRITERIA = {
    # confidence level of every interval (the paper reports no intervals; 95% is the convention)
    "level": 0.95,
    # delta: the paper's own measure of a significant difference in test error, E_st <= (1 - delta)
    # E_base with delta = 0.02 (Sec. 4.1, Fig. 3); also the least pattern a student must extract
    "margin": 0.02,
}

_FIG6_METRICS = {
    "spearman_early_stopped": Metric("Spearman rank correlation of $g$ and the early-stopped test error, per "
                                     "$N_s$ (mean over repetitions)", "1", "Spearman(g, E)"),
    "growth": Metric(r"$E(g_{max}) / E(g_{min})$ per $N_s$, early-stopped (mean over repetitions)", "1",
                     "E(g max) / E(g min)"),
    "spearman_final": Metric("Spearman rank correlation of $g$ and the end-of-training test error, per $N_s$ "
                             "(mean over repetitions; reported, not judged)", "1"),
    "error_g_min": Metric(r"early-stopped error of the smallest-$g$ student per $N_s$ (mean over repetitions)",
                          "× E f_t²"),
    "g_min_lowest_fraction": Metric("fraction of repetitions in which the smallest $g$ has the lowest "
                                    "early-stopped error, per $N_s$", "1"),
    "reps": Metric("repetitions (teacher, initialisation and samples drawn afresh)", "1"),
    "N_s": Metric("the $N_s$ grid (noisy training samples)", "samples"),
    "g": Metric("the grid of group sizes $g$ (neurons per group)", "neurons"),
    "early_stopped_rel": Metric("early-stopped test error per repetition, $N_s$ and $g$", "× E f_t²"),
    "final_rel": Metric("end-of-training test error per repetition, $N_s$ and $g$", "× E f_t²"),
    "targets_only_rel": Metric("early-stopped error of the student trained on the targets only (Eq. (1), "
                               "$W_2$ frozen), per repetition and $N_s$", "× E f_t²"),
    "targets_only_final_rel": Metric("its end-of-training error", "× E f_t²"),
    "bayes_rel": Metric("Bayes error, per repetition", "× E f_t²"),
    "spearman_early_stopped_reps": Metric("Spearman(g, early-stopped error) per repetition and $N_s$", "1"),
    "spearman_final_reps": Metric("Spearman(g, end-of-training error) per repetition and $N_s$", "1"),
    "n_runs": Metric("training runs", "runs"),
}

register(Claim(
    id="hong2021.fig6",
    title="Fig. 6: the student's test error grows with the pooling group size g (ReLU)",
    statement=(r"Hong et al. 2021, Sec. 5.3 and Fig. 6 (Message III): with a wide two-layer ReLU teacher whose "
               r"pooled output $\widetilde W_2 P\,\mathrm{relu}(\widetilde W_1 x)$ is the same function for every "
               r"group size $g$, students trained with the simplified loss Eq. (7) (pooled feature differences, "
               r"$W_2 = \widetilde W_2$ frozen) by SGD have a test error that grows with $g$, as long as $N_s$ "
               r"is not too small."),
    assumptions=(
        r"$x \sim N(0, I_d)$, noise $N(0, 0.09\, I_d)$ on the student's input only; square loss; no biases.",
        r"Teacher = ground truth: $\widetilde W_1$ Xavier normal, $\widetilde W_2 = +1$ on the first $m/(2g)$ "
        r"groups and $-1$ on the rest, so $\widetilde W_2 P = (+1,\dots,+1,-1,\dots,-1)$ for every $g$ with "
        r"$m/g$ even.",
        r"Students of one repetition: Xavier-normal $W_1$ from one seed, $W_2 = \widetilde W_2$ frozen, the same "
        r"samples per $N_s$.",
        "The paper gives no SGD settings for Fig. 6; we use minibatches of 16 with step 0.5 / "
        r"$\lambda_{max}$ of the full-batch Gauss-Newton matrix at initialisation, capped at "
        r"1 / $\lambda_{max}$ of the stiffest of 4 random minibatches (without the cap the paper-scale "
        "run, d/B = 31, diverged), divided by 10 after each third of the steps (the schedule the paper "
        "uses for its CIFAR networks).",
        r"Test error = the exact population error $\mathbb E(\widetilde W_2 P\,\mathrm{relu}(W_1(x+\epsilon)) - "
        r"\widetilde W_2 P\,\mathrm{relu}(\widetilde W_1 x))^2$ from the arc-cosine kernel (our derivation).",
    ),
    method=(r"In each repetition one student per ($N_s$, $g$), plus a student per $N_s$ trained on the targets "
            r"only (Eq. (1) with the same frozen $W_2$, independent of $g$). Both the early-stopped error (best "
            "over a geometric schedule of steps) and the end-of-training error are recorded (the paper does not "
            "say which it plotted); the early-stopped one is judged. Per repetition and $N_s$: Spearman's rank "
            r"correlation of $g$ and the error (must be above 0: the error grows with $g$), and "
            r"E($g_{min}$) - (1 - $\delta$) E($g_{max}$) in units of $\mathbb E f_t^2$ (must be below 0), "
            r"$\delta = 0.02$. Judged at the $N_s$ that are not too small: where the $g_{min}$ student extracts "
            r"a pattern (error below (1 - $\delta$) $\mathbb E f_t^2$). Decided by 95% t intervals over "
            "repetitions: PASS when every judged N_s is on the claim's side, FAIL when one is wholly on the "
            "other side at the Bonferroni level, INCONCLUSIVE otherwise."),
    scales={
        "smoke": {**_FIG6_COMMON, "m": 400, "d": 20, "N_s": [80, 160], "g": [1, 2, 5, 10, 20, 50, 100, 200],
                  "steps": 2000, "n_eval": 20, "reps": 4},
        "default": {**_FIG6_COMMON, "m": 1000, "d": 50, "N_s": [50, 100, 200, 400],
                    "g": [1, 2, 5, 10, 25, 50, 100, 250, 500], "steps": 4000, "n_eval": 25, "reps": 3},
        "paper": {**_FIG6_COMMON, "m": 20000, "d": 500, "N_s": [500, 1000, 2000, 4000],
                  "g": [1, 2, 5, 10, 50, 100, 500, 1000], "steps": 20000, "n_eval": 30, "reps": 3,
                  "progress_s": 60.0, "snapshot_s": 120.0},
    },
    criteria=_FIG6_CRITERIA,
    measure=_fig6_measure,
    verdict=_fig6_verdict,
    figure=_fig6_figure,
    key_metrics=("spearman_early_stopped", "growth", "error_g_min", "reps"),
    metrics=_FIG6_METRICS,
    estimate=_fig6_estimate,
    scale_note=(r"The paper gives m = 20000, d = 500, noise variance 0.09 and SGD, but not the $g$ values, the "
                r"$N_s$ values, batch size, learning rate, epochs, whether it early-stopped, the test-set size or "
                r"the number of repetitions. Our $g$: divisors of m/2 from 1 to m/2 (so m/g is even); $N_s/d$ "
                r"in {1, 2, 4, 8} (smoke {4, 8}). Repetitions: 4 at smoke, 3 at default and at paper scale. "
                "smoke: m = 400, d = 20; default: m = 1000, d = 50; paper: the paper's sizes, meant for a GPU "
                "(--backend cupy); on CPU resumable by training run and within a run (its state is saved every "
                "few minutes, 2 at paper scale, and a rerun continues from it with the same numbers as an "
                "uninterrupted run). Training in float32 (mean losses), test errors exact in float64."),
    validate=_fig6_validate,
    backends=("numpy", "cupy"),
))
