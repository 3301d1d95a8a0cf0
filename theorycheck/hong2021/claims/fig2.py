r"""Hong et al. 2021, nonlinear experiments: Fig. 2 (early stopping, Sec. 3.2), with wide two-layer ReLU
networks, exact population test errors and the fused simulator of :mod:`theorycheck.hong2021.relu`;
the cells are in :mod:`theorycheck.hong2021.experiments.relu`. How the verdicts are decided (a
repetition, the regime of N_s, every judged N_s) and the run settings of long runs:
:mod:`theorycheck.hong2021.claims._relu_common`, shared with Fig. 6.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_list, check_real
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.relu import fig2_cell, fig2_measurements, fig2_teacher_cell
from ._relu_common import (_check_training, _common_validate, _estimate, _map_students, _one_rep,
                           _paper_scale_words, _run_settings, _seeds, judge_cells, regime)

__all__: list[str] = []


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
    "regime": "Sec. 4.2: 'when $N_s$ is too small, it simply is impossible for the student to extract any "
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
    regime_text = (rf"$N_s$ where the early-stopped student-teacher student's error is below "
                   rf"$(1 - {delta:g})\,\mathbb E f_t^2$ ({100 * level:g}% $t$ interval over {R} repetitions) and "
                   f"the base student is not within the margin of the Bayes error: {[N_s[i] for i in judged]} "
                   f"(judged); too small: {small}; too large: {large}; unresolved: {unresolved}")
    cells = lambda v: {N_s[i]: v[:, i] for i in judged}  # noqa: E731
    zero_ok = bool(judged) and bool(np.all(fit[:, judged] <= fit_max))
    worst_fit = float(fit[:, judged].max()) if judged else float(fit.max())
    return Verdict.from_criteria(
        regime=("PASS" if judged else "INCONCLUSIVE", regime_text, _FIG2_PAPER["regime"]),
        beats_zero_loss=(*judge_cells(rf"$(E_{{ES}} - (1 - {delta:g})\,E_{{zero\ loss}})/\mathbb E f_t^2$, same "
                                      "network", cells(es - (1 - delta) * zl), 0.0, "below", level),
                         _FIG2_PAPER["beats_zero_loss"]),
        beats_base=(*judge_cells(rf"$(E_{{ES}} - (1 - {delta:g})\,E_{{base}})/\mathbb E f_t^2$",
                                 cells(es - (1 - delta) * base), 0.0, "below", level), _FIG2_PAPER["beats_base"]),
        no_gain_without_early_stopping=(
            *judge_cells(rf"$(E_{{zero\ loss}} - (1 - {delta:g})\,E_{{base}})/\mathbb E f_t^2$",
                         cells(zl - (1 - delta) * base), 0.0, "above", level),
            _FIG2_PAPER["no_gain_without_early_stopping"]),
        reached_zero_loss=("PASS" if zero_ok else "INCONCLUSIVE",
                           rf"largest final training MSE / mean $y^2$ of the chosen students at the judged $N_s$: "
                           rf"{worst_fit:.2g} (zero training loss needs $\le$ {fit_max:g}"
                           + ("" if zero_ok else "; no $N_s$ judged" if not judged else
                              "; raise steps: the zero-loss student was not at zero loss")
                           + ")", _FIG2_PAPER["reached_zero_loss"]),
    )


def _fig2_figure(result, fig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator
    from ...plots import footnote, log_ticks, place_legend
    s, p = result.series, result.params
    footnote(fig, f"Analogue of the paper's Fig. 2 at a smaller scale: two-layer ReLU teacher and student with "
                  f"{_paper_scale_words(p)}, $\\sigma_\\epsilon = {p['sigma']:g}$, exact population test errors, "
                  f"mean over {p['reps']} repetitions; the student-teacher student's $\\lambda$ is the best of "
                  f"$\\lambda d_x \\in \\{{{', '.join(f'{v:g}' for v in p['lam_d'])}\\}}$ per $N_s$.")
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
    place_legend(ax2, lines, [f"ST loss (2), $\\lambda d_x = {tr['lam_d']:g}$", "base loss (1)"],
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
                                "training loss", "1", r"$E_{ES}/E_{zero\ loss}$"),
    "es_over_base": Metric(r"$E_{ES} / E_{base}$ per $N_s$ (mean over repetitions): the early-stopped "
                           "student-teacher student against the early-stopped base student", "1",
                           r"$E_{ES}/E_{base}$"),
    "zero_loss_over_base": Metric(r"$E_{zero\ loss} / E_{base}$ per $N_s$ (mean over repetitions)", "1",
                                  r"$E_{zero\ loss}/E_{base}$"),
    "reps": Metric("repetitions (teacher, initialisation and samples drawn afresh)", "1", "repetitions"),
    "N_s": Metric("the $N_s$ grid (noisy training samples)", "samples"),
    "early_stopped_rel": Metric(r"early-stopped error of the best-$\lambda$ student, per repetition and $N_s$",
                                "× E f_t²"),
    "zero_loss_rel": Metric(r"end-of-training error of that student, per repetition and $N_s$",
                            "× E f_t²"),
    "base_rel": Metric(r"early-stopped error of the base student (Eq. (1)), per repetition and $N_s$",
                       "× E f_t²"),
    "bayes_rel": Metric("Bayes error, per repetition", "× E f_t²"),
    "final_fit": Metric("training MSE at the end of the chosen student, over mean $y^2$", "1"),
    "lam_d_chosen": Metric(r"the chosen $\lambda d_x$ per repetition and $N_s$", "1"),
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
        r"$x \sim N(0, I_{d_x})$, noise $\epsilon \sim N(0, \sigma_\epsilon^2 I_{d_x})$ with "
        r"$\sigma_\epsilon = 0.5$ on the student's input only; square loss.",
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
            r"error is chosen (the paper's rule); its early-stopped error is $E_{ES}$, its end-of-training error "
            r"$E_{zero\ loss}$, and the early-stopped base student's error $E_{base}$. The effects are paired "
            r"differences per repetition in units of $\mathbb E f_t^2$: $E_{ES} - (1-\delta)E_{zero\ loss}$ and "
            r"$E_{ES} - (1-\delta)E_{base}$ must be below 0, $E_{zero\ loss} - (1-\delta)E_{base}$ above 0 (no "
            r"significant gain without early stopping), with $\delta = 0.02$, the paper's margin. Judged at the "
            r"$N_s$ where the early-stopped student-teacher student extracts a pattern (error below "
            r"$(1-\delta)\,\mathbb E f_t^2$), decided by 95% $t$ intervals over repetitions: PASS when every "
            r"judged $N_s$ is on the claim's side, FAIL when one is wholly on the other side at the Bonferroni "
            r"level, INCONCLUSIVE otherwise. The chosen students must reach a training MSE of at most "
            r"0.1% of mean $y^2$. Test errors are exact population errors, not Monte Carlo test sets."),
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
    scale_note=(r"The paper gives $m = 20000$, $d_x = 500$, $\sigma_\epsilon = 0.5$ but not the $N_s$ values, the "
                r"$\lambda$ grid, the learning rate, the number of steps, the test-set size, the stopping rule or "
                r"the number of repetitions. Our grid: $N_s/d_x \in \{1/4, 1/2, 1, 2, 4\}$ (smoke: $\{2, 4\}$) "
                r"and $\lambda d_x \in \{1, 3, 10, 30, 100, 300\}$ (the feature term is about $1.5\,d_x$ per "
                r"sample at initialisation and the base term $O(0.1)$, so $\lambda d_x \approx 1$ balances them). "
                "Repetitions: 12 at smoke, 4 at default, 3 at paper scale (an INCONCLUSIVE criterion says "
                r"how many would decide it). smoke: $m = 400$, $d_x = 20$ ($m/d_x = 20$; the paper's is 40); "
                r"default: $m = 1000$, $d_x = 50$; paper: the paper's sizes, meant for a GPU "
                r"(--backend cupy); on 2 CPU cores a paper-scale step at $N_s = 2000$ takes about a second, "
                "so the full grid takes days. Finished training runs are saved as they finish and a rerun "
                "resumes; a running one saves its state every few minutes (2 at paper scale), so an "
                "interrupted run continues with the same numbers as an uninterrupted one. "
                r"Losses are means (the paper's sums with the step size divided by $N_s$). Training in float32, "
                "test errors in float64."),
    validate=_fig2_validate,
    backends=("numpy", "cupy"),
))
