r"""Hong et al. 2021, nonlinear experiments: Fig. 6 (knowledge decomposition, Sec. 5.3), with wide
two-layer ReLU networks, exact population test errors and the fused simulator of
:mod:`theorycheck.hong2021.relu`; the cells are in :mod:`theorycheck.hong2021.experiments.relu`. How
the verdicts are decided (a repetition, the regime of N_s, every judged N_s) and the run settings of
long runs: :mod:`theorycheck.hong2021.claims._relu_common`, shared with Fig. 2.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_int, check_list
from ...limits import Estimate
from ...registry import Claim, Metric, Verdict, register
from ..experiments.relu import fig6_cell, fig6_measurements, fig6_teacher_cell
from ._relu_common import (_check_training, _common_validate, _estimate, _map_students, _one_rep,
                           _paper_scale_words, _run_settings, _seeds, judge_cells, regime)

__all__: list[str] = []


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
    "regime": "Sec. 5.3: 'as long as $N_s$ is not too small'; Sec. 4.2: too small = 'impossible for the student "
              "to extract any meaningful pattern ... regardless of how good the teacher's features are'",
    "grows_with_g": "Sec. 5.3: 'as long as $N_s$ is not too small, the greater $g$ is, the higher the test error'",
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
    regime_text = (rf"$N_s$ where the $g = {gs[lo]}$ student's early-stopped error is below "
                   rf"$(1 - {delta:g})\,\mathbb E f_t^2$ ({100 * level:g}% $t$ interval over {R} repetitions): "
                   f"{[N_s[i] for i in judged]} (judged); too small: {small}; unresolved: {unresolved}")
    cells = lambda v: {N_s[i]: v[:, i] for i in judged}  # noqa: E731
    return Verdict.from_criteria(
        regime=("PASS" if judged else "INCONCLUSIVE", regime_text, _FIG6_PAPER["regime"]),
        grows_with_g=(*judge_cells(f"Spearman rank correlation of $g$ and the early-stopped error over "
                                   f"$g$ = {gs}", cells(rho), 0.0, "above", level), _FIG6_PAPER["grows_with_g"]),
        finest_beats_coarsest=(*judge_cells(rf"$(E(g = {gs[lo]}) - (1 - {delta:g})\,E(g = {gs[hi]}))/\mathbb E f_t^2$",
                                            cells(es[:, :, lo] - (1 - delta) * es[:, :, hi]), 0.0, "below",
                                            level), _FIG6_PAPER["finest_beats_coarsest"]),
    )


def _fig6_figure(result, fig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator
    from ...plots import footnote, place_legend
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
                                     "$N_s$ (mean over repetitions)", "1", "Spearman $(g, E)$"),
    "growth": Metric(r"$E(g_{max}) / E(g_{min})$ per $N_s$, early-stopped (mean over repetitions)", "1",
                     r"$E(g_{max})/E(g_{min})$"),
    "spearman_final": Metric("Spearman rank correlation of $g$ and the end-of-training test error, per $N_s$ "
                             "(mean over repetitions; reported, not judged)", "1"),
    "error_g_min": Metric(r"early-stopped error of the smallest-$g$ student per $N_s$ (mean over repetitions)",
                          "× E f_t²", "$E$ at the smallest $g$"),
    "g_min_lowest_fraction": Metric("fraction of repetitions in which the smallest $g$ has the lowest "
                                    "early-stopped error, per $N_s$", "1"),
    "reps": Metric("repetitions (teacher, initialisation and samples drawn afresh)", "1", "repetitions"),
    "N_s": Metric("the $N_s$ grid (noisy training samples)", "samples"),
    "g": Metric("the grid of group sizes $g$ (neurons per group)", "neurons"),
    "early_stopped_rel": Metric("early-stopped test error per repetition, $N_s$ and $g$", "× E f_t²"),
    "final_rel": Metric("end-of-training test error per repetition, $N_s$ and $g$", "× E f_t²"),
    "targets_only_rel": Metric("early-stopped error of the student trained on the targets only (Eq. (1), "
                               "$W_2$ frozen), per repetition and $N_s$", "× E f_t²"),
    "targets_only_final_rel": Metric("its end-of-training error", "× E f_t²"),
    "bayes_rel": Metric("Bayes error, per repetition", "× E f_t²"),
    "spearman_early_stopped_reps": Metric("Spearman rank correlation of $g$ and the early-stopped error, per "
                                          "repetition and $N_s$", "1"),
    "spearman_final_reps": Metric("Spearman rank correlation of $g$ and the end-of-training error, per "
                                  "repetition and $N_s$", "1"),
    "n_runs": Metric("training runs", "runs"),
}

register(Claim(
    id="hong2021.fig6",
    title="Fig. 6: the student's test error grows with the pooling group size $g$ (ReLU)",
    statement=(r"Hong et al. 2021, Sec. 5.3 and Fig. 6 (Message III): with a wide two-layer ReLU teacher whose "
               r"pooled output $\widetilde W_2 P\,\mathrm{relu}(\widetilde W_1 x)$ is the same function for every "
               r"group size $g$, students trained with the simplified loss Eq. (7) (pooled feature differences, "
               r"$W_2 = \widetilde W_2$ frozen) by SGD have a test error that grows with $g$, as long as $N_s$ "
               r"is not too small."),
    assumptions=(
        r"$x \sim N(0, I_{d_x})$, noise $\epsilon \sim N(0, 0.09\, I_{d_x})$ on the student's input only; square "
        "loss; no biases.",
        r"Teacher = ground truth: $\widetilde W_1$ Xavier normal, $\widetilde W_2 = +1$ on the first $m/(2g)$ "
        r"groups and $-1$ on the rest, so $\widetilde W_2 P = (+1,\dots,+1,-1,\dots,-1)$ for every $g$ with "
        r"$m/g$ even.",
        r"Students of one repetition: Xavier-normal $W_1$ from one seed, $W_2 = \widetilde W_2$ frozen, the same "
        r"samples per $N_s$.",
        r"The paper gives no SGD settings for Fig. 6; we use minibatches of 16 with step $0.5/\lambda_{max}$ of "
        r"the full-batch Gauss-Newton matrix at initialisation, capped at $1/\lambda_{max}$ of the stiffest of "
        r"4 random minibatches (without the cap the paper-scale run, $d_x$/batch size = 31, diverged), divided "
        "by 10 after each third of the steps (the schedule the paper uses for its CIFAR networks).",
        r"Test error = the exact population error $\mathbb E(\widetilde W_2 P\,\mathrm{relu}(W_1(x+\epsilon)) - "
        r"\widetilde W_2 P\,\mathrm{relu}(\widetilde W_1 x))^2$ from the arc-cosine kernel (our derivation).",
    ),
    method=(r"In each repetition one student per $(N_s, g)$, plus a student per $N_s$ trained on the targets "
            r"only (Eq. (1) with the same frozen $W_2$, independent of $g$). Both the early-stopped error (best "
            "over a geometric schedule of steps) and the end-of-training error are recorded (the paper does not "
            "say which it plotted); the early-stopped one is judged. Per repetition and $N_s$: Spearman's rank "
            r"correlation of $g$ and the error (must be above 0: the error grows with $g$), and "
            r"$E(g_{min}) - (1-\delta)E(g_{max})$ in units of $\mathbb E f_t^2$ (must be below 0), "
            r"$\delta = 0.02$. Judged at the $N_s$ that are not too small: where the $g_{min}$ student extracts "
            r"a pattern (error below $(1-\delta)\,\mathbb E f_t^2$). Decided by 95% $t$ intervals over "
            r"repetitions: PASS when every judged $N_s$ is on the claim's side, FAIL when one is wholly on the "
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
    scale_note=(r"The paper gives $m = 20000$, $d_x = 500$, noise variance $\sigma_\epsilon^2 = 0.09$ and SGD, but "
                r"not the $g$ values, the $N_s$ values, batch size, learning rate, epochs, whether it early-stopped, "
                r"the test-set size or the number of repetitions. Our $g$: divisors of $m/2$ from 1 to $m/2$ (so "
                r"$m/g$ is even); $N_s/d_x \in \{1, 2, 4, 8\}$ (smoke: $\{4, 8\}$). Repetitions: 4 at smoke, 3 at "
                r"default and at paper scale. smoke: $m = 400$, $d_x = 20$; default: $m = 1000$, $d_x = 50$; paper: "
                "the paper's sizes, meant for a GPU (--backend cupy); on CPU resumable by training run and within "
                "a run (its state is saved every few minutes, 2 at paper scale, and a rerun continues from it with "
                "the same numbers as an uninterrupted run). Training in float32 (mean losses), test errors exact "
                "in float64."),
    validate=_fig6_validate,
    backends=("numpy", "cupy"),
))
