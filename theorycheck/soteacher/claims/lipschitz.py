"""``soteacher.lipschitz``: Lipschitz control of the teacher (Theorem 3.9, the LR half): the training-input
error to p* falls with the teacher's Lipschitz constant, until it under-fits."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ... import plots
from ...plots import legend_below
from ...errors import InputError, check_choice, check_grid, check_int
from ...registry import Claim, Metric, Verdict, register
from ..experiments import teacher_cell
from ..summaries import summarise_lipschitz
from ._drawing import ERR_TO_P_STAR
from .common import (LEVEL, PROVENANCE, TRAIN, WORLD, arm_seeds, interval_status, mean_std_text,
                     network_estimate, teacher_config, validate_common, validate_level, world_of)

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "estimate", "measure", "verdict", "figure"]

#: Parameters shared by every scale.
BASE = {**WORLD, **TRAIN, "head": "mixture", "lip_kinds": ["l1", "spectral"],
        "l1_grid": [0.0, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 7e-2, 0.1],
        "spectral_grid": [0.0, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 7e-2, 0.1, 0.3]}

#: Criteria of the verdict, fixed before any run.
CRITERIA = {
    # confidence level of every interval (the per-seed effects are decided by Student-t intervals); see
    # common.LEVEL for the reason
    "level": LEVEL,
    # a seed's over-fitting branch (ERM up to its validation-chosen lambda) enters the rank-correlation
    # criterion only with at least 3 lambdas: with 2 points a Spearman correlation is +-1 by construction
    "branch_min": 3,
}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    validate_common(p)
    if not isinstance(p["lip_kinds"], (list, tuple)) or not p["lip_kinds"]:
        raise InputError("lip_kinds", f"must be a non-empty list of l1, spectral; got {p['lip_kinds']!r}")
    for kind in p["lip_kinds"]:
        check_choice("lip_kinds", kind, ("l1", "spectral"))
        name = f"{kind}_grid"
        grid = check_grid(name, p[name], low=0.0, min_len=3)
        if grid[0] != 0:
            raise InputError(name, f"must start at 0 (ERM) and increase, >= 3 values; got {p[name]}")
    validate_level(p)
    check_int("branch_min", p["branch_min"], low=3)


def estimate(p):
    """Peak memory of one teacher cell and the patch rows of the whole sweep."""
    runs = p["n_seeds"] * sum(len(p[f"{k}_grid"]) for k in p["lip_kinds"])
    return network_estimate(p, CLAIM.scales["smoke"], runs, 0)


def measure(p, ctx):
    """Sweep lambda_LR per regulariser over the seeds (every lambda of a seed shares data, initialisation
    and minibatches)."""
    seeds = arm_seeds(ctx, p["n_seeds"])
    world = world_of(p)
    metrics, series = {}, {}
    for kind in p["lip_kinds"]:
        grid = p[f"{kind}_grid"]
        cells = [{"world": world, **sd, "teacher": teacher_config(p, lip=kind, lip_lambda=lam), "student": None}
                 for lam in grid for sd in seeds]
        out = ctx.map(teacher_cell, cells, stream="teachers", blas_threads=1, desc=f"Lipschitz sweep ({kind})")
        m, series[kind] = summarise_lipschitz(out, kind, grid, len(seeds))
        metrics.update(m)
    return {"metrics": metrics, "series": series}


#: how a criterion sentence names each penalty
_KIND_WORDS = {"l1": r"$\ell_1$ penalty", "spectral": "spectral penalty"}


def verdict(m, p, c):
    crit = {}
    for kind in p["lip_kinds"]:
        lams = sorted(set(m[f"{kind}_chosen_lambda_values"]))
        name = _KIND_WORDS.get(kind, kind)
        status, text = interval_status(m, f"{kind}_gain", c, f"{name}: training-input error to $p^*$ of ERM minus "
                                       r"that at the $\lambda_{LR}$ chosen by validation cross-entropy, per seed",
                                       fmt="+.3f")
        crit[f"{kind}_lowers_error"] = (
            status, f"{text}; ERM {mean_std_text(m, f'{kind}_err_erm')}, chosen "
                    f"{mean_std_text(m, f'{kind}_err_chosen')} ($\\lambda_{{LR}}$ chosen: "
                    f"{', '.join(f'{v:g}' for v in lams)}); Lipschitz bound $\\prod_l\\|W_l\\|_2$ "
                    f"{m[f'{kind}_lip_erm_mean']:.1f} $\\to$ {m[f'{kind}_lip_chosen_mean']:.1f}",
            "Theorem 3.9: the ERM minimiser approximates the true label distribution of the training inputs "
            "if the feature extractor is Lipschitz continuous (abstract: 'as long as the feature extractor "
            "... is Lipschitz continuous')")
        rhos = [r for r, n in zip(m[f"{kind}_branch_rho_all"], m[f"{kind}_branch_len_values"])
                if n >= c["branch_min"]]
        n_branch = len(rhos)
        if n_branch >= 2:
            status, text = interval_status({f"{kind}_branch_rho_values": rhos}, f"{kind}_branch_rho", c,
                                           f"{name}: per-seed Spearman correlation of the error with the "
                                           r"Lipschitz bound, from ERM to the chosen $\lambda_{LR}$",
                                           fmt="+.2f")
            text += (f" ({n_branch} of {p['n_seeds']} seeds have at least {c['branch_min']} values of "
                     r"$\lambda_{LR}$ on that branch)")
        else:
            status = "INCONCLUSIVE"
            text = (f"{name}: only {n_branch} seed(s) chose a $\\lambda_{{LR}}$ with at least {c['branch_min']} grid "
                    "points from ERM up to it, too few for an interval: INCONCLUSIVE")
        crit[f"{kind}_error_follows_L"] = (
            status, text,
            "Theorem 3.9: the approximation error is controlled by the Lipschitz constant of the feature "
            "extractor (the toolkit's reconstructed bound: error $\\le$ invariant-case term "
            r"$+ \tfrac12\|W\|_2 L\sqrt{\nu}$)")
        status, text = interval_status(m, f"{kind}_underfit_rise", c, f"{name}: error at the strongest "
                                       f"$\\lambda_{{LR}}$ ({p[f'{kind}_grid'][-1]:g}) minus that at the chosen "
                                       r"$\lambda_{LR}$, per seed",
                                       fmt="+.3f")
        crit[f"{kind}_underfits"] = (
            status, f"{text}; strongest {mean_std_text(m, f'{kind}_err_strongest')}",
            "not stated by the paper: the toolkit's corollary of Theorem 3.9, a Lipschitz constant too small "
            "cannot separate the features, so the error rises again (U-shape; cf. Fig. 2a, teacher accuracy "
            "falls as $\\lambda_{LR}$ grows)")
    return Verdict.from_criteria(**crit)


#: legend names of the penalties
_KIND_NAMES = {"l1": r"$\ell_1$-operator-norm penalty (official code)", "spectral": "spectral-norm penalty"}


def figure(result, fig):
    """Error to p* against the Lipschitz bound (one curve per penalty, ERM and the strongest lambda_LR
    named), and the teacher's test accuracy against lambda_LR."""
    s = result.series
    kinds = [k for k in ("l1", "spectral") if k in s]
    axes = fig.subplots(1, 2)
    handles, labels = [], []
    lam_pos = [v for kind in kinds for v in s[kind]["lambda"] if v > 0]
    x_erm = min(lam_pos) / 4 if lam_pos else 1.0
    for k, (kind, c) in enumerate(zip(kinds, (plots.PALETTE[0], plots.PALETTE[1]))):
        d = s[kind]
        name = _KIND_NAMES[kind]
        axes[0].errorbar(d["lip_mean"], d["err_mean"], yerr=d["err_std"], fmt="o-", color=c)
        axes[0].plot(d["lip_mean"], d["test_err_mean"], "x:", color=c)
        lam = np.array(d["lambda"], dtype=float)
        ends = [(int(np.argmax(lam)), rf"$\lambda_{{LR}}={lam.max():g}$")]
        if k == 0 and np.any(lam == 0):  # ERM is the same teacher for every penalty: named once
            ends.append((int(np.argmin(lam)), "ERM"))
        lip, err = np.array(d["lip_mean"], dtype=float), np.array(d["err_mean"], dtype=float)
        for i, text in ends:  # the label goes on the side away from the curve's next point
            j = min((n for n in range(len(lip)) if n != i), key=lambda n: abs(np.log(lip[n] / lip[i])), default=i)
            axes[0].annotate(text, (lip[i], err[i]), fontsize=7, color=c, textcoords="offset points",
                             xytext=(5, -11 if err[j] > err[i] else 4))
        pos = lam > 0
        acc, acc_sd = np.array(d["acc_mean"]), np.array(d["acc_std"])
        axes[1].errorbar(lam[pos], acc[pos], yerr=acc_sd[pos], fmt="o-", color=c)
        if np.any(~pos):  # ERM (lambda_LR = 0) cannot sit on a log axis: a separate point left of the sweep
            axes[1].errorbar(np.full((~pos).sum(), x_erm), acc[~pos], yerr=acc_sd[~pos], fmt="s", color=c)
        handles.append(Line2D([], [], color=c, lw=4))
        labels.append(name)
    axes[0].set_xscale("log")
    plots.log_ticks(axes[0], "x")
    axes[0].set_xlabel(r"Lipschitz bound $\prod_l\|W_l\|_2$ of the teacher")
    axes[0].set_ylabel("error to $p^*$\n" + ERR_TO_P_STAR)
    axes[0].set_title("Theorem 3.9 analogue: the Lipschitz constant")
    axes[1].set_xscale("log")
    plots.log_ticks(axes[1], "x")
    if lam_pos:  # the ERM point gets the tick "0"; the log ticks keep to the sweep
        view = axes[1].get_xlim()
        ticks = [t for t in axes[1].get_xticks() if min(lam_pos) / 1.5 <= t <= axes[1].get_xlim()[1]]
        axes[1].set_xticks([x_erm] + ticks, ["0"] + axes[1].xaxis.get_major_formatter().format_ticks(ticks))
        minor = axes[1].xaxis.get_minorticklocs()
        axes[1].set_xticks(minor[minor >= min(lam_pos) / 1.5], minor=True)
        axes[1].set_xlim(view)
    axes[1].set_xlabel(r"$\lambda_{LR}$ (square: ERM, $\lambda_{LR}=0$)")
    axes[1].set_ylabel("teacher test accuracy\n(expected over the label noise)")
    axes[1].set_title(r"Fig. 2a analogue: sweep of $\lambda_{LR}$")
    grey = "0.35"
    handles += [Line2D([], [], color=grey, marker="o"), Line2D([], [], color=grey, marker="x", ls=":")]
    labels += ["error on training inputs (left); bars: std over seeds", "error on test inputs (left)"]
    legend_below(fig, handles, labels, ncols=2)


CLAIM = register(Claim(
    id="soteacher.lipschitz",
    title=("Lipschitz control: the teacher's training-input error to $p^*$ falls with its Lipschitz constant, "
           "until it under-fits"),
    statement=(
        "Theorem 3.9 (Lipschitz half): if the feature extractor is Lipschitz continuous (Def. 3.7), the ERM "
        "minimiser approximates the true label distribution of the training inputs. Toolkit form: "
        "an $L$-Lipschitz extractor deviates from an invariant one by at most "
        "$\\tfrac12\\|W\\|_2 L\\sqrt{\\nu}$ on average, so the training-input error "
        "$\\frac1N\\sum_i\\|f(x_i)-p^*(x_i)\\|_1$ falls as $L$ falls; but $L$ cannot be too "
        "small to separate features, so the error is U-shaped in the regularisation strength. " + PROVENANCE),
    assumptions=(
        "Mixed-feature world with $s = 10$ features, $m = 4$ patches, 8 signal and 8 label-free nuisance "
        "coordinates per patch (the nuisance lets an unregularised teacher memorise).",
        "Teacher: patch-shared ReLU MLP (2 hidden layers) with head variant B, SGD + momentum 0.9, weight decay "
        "$5\\times10^{-4}$, step decays at 62.5/75/87.5 % of training, no augmentation (isolates the Lipschitz term).",
        "Lipschitz regulariser exactly as in the official code (sum over layers of $\\|W\\|_{1\\to1}$), and a "
        "spectral variant (sum of largest singular values, power iteration).",
    ),
    method=(
        "Sweep $\\lambda_{LR}$ for each regulariser over several seeds (every $\\lambda_{LR}$ of a seed shares "
        "data, initialisation and minibatches). Measure the final teacher's training-input error to $p^*$, the "
        "product of spectral norms (Lipschitz upper bound), an empirical Lipschitz estimate, test accuracy and "
        "the cross-entropy on a validation set. Per seed, $\\lambda_{LR}$ is chosen among the positive values by "
        "the validation cross-entropy (no test data, no $p^*$), so that no comparison picks the best of noisy "
        "numbers. Per regulariser, three per-seed effects are decided by 95 % Student-t intervals over the "
        "seeds (PASS: the interval is above 0; FAIL: below; INCONCLUSIVE: it straddles 0): ERM's error minus "
        "that at the chosen $\\lambda_{LR}$; the Spearman correlation of error and Lipschitz bound from ERM to the "
        "chosen $\\lambda_{LR}$ (seeds with at least 3 points); the error at the strongest $\\lambda_{LR}$ minus "
        "that at the chosen one (U-shape). The "
        "whole curve is reported."),
    scales={
        "smoke": {**BASE, "N_test": 2000, "epochs": 40, "n_seeds": 3, "lip_kinds": ["l1"],
                  "l1_grid": [0.0, 1e-2, 3e-2, 0.1]},
        "default": {**BASE, "n_seeds": 3},
        "paper": {**BASE, "N": 2000, "epochs": 120, "hidden": 128, "n_seeds": 5},
    },
    measure=measure, verdict=verdict, criteria=CRITERIA, figure=figure, estimate=estimate,
    key_metrics=("l1_gain", "l1_err_erm_mean", "l1_err_chosen_mean", "l1_err_strongest_mean"),
    metrics={
        "l1_gain": Metric("training-input error $\\frac{1}{N}\\sum_i\\|f(x_i)-p^*(x_i)\\|_1$ of ERM minus that at the "
                          "validation-chosen $\\lambda_{LR}$ (mean over seeds)", "l1 distance",
                          "gain ($\\ell_1$)"),
        "l1_err_erm_mean": Metric("training-input error to $p^*$ of the ERM teacher ($\\lambda_{LR}=0$)",
                                  "l1 distance", "ERM error"),
        "l1_err_chosen_mean": Metric("training-input error to $p^*$ at the $\\lambda_{LR}$ chosen per seed by "
                                     "validation cross-entropy", "l1 distance", "LR error"),
        "l1_err_strongest_mean": Metric("training-input error to $p^*$ at the strongest $\\lambda_{LR}$ of the grid",
                                        "l1 distance", "strongest-LR error"),
        "l1_underfit_rise": Metric("error at the strongest $\\lambda_{LR}$ minus that at the chosen one",
                                   "l1 distance", "under-fit rise"),
        "l1_lip_erm_mean": Metric("Lipschitz bound $\\prod_l\\|W_l\\|_2$ of the ERM teacher's per-patch map", "1",
                                  "Lipschitz bound (ERM)"),
        "l1_lip_chosen_mean": Metric("Lipschitz bound $\\prod_l\\|W_l\\|_2$ at the chosen $\\lambda_{LR}$", "1",
                                     "Lipschitz bound (LR)"),
        "spectral_gain": Metric("the same gain for the spectral-norm penalty", "l1 distance", "gain (spectral)"),
    },
    scale_note=("Synthetic stand-in for CIFAR-100 (mixed-feature world, 10 features); the official "
                "$\\lambda_{LR} = 10^{-5}$ is for conv nets whose entrywise-$\\ell_1$ conv terms are orders of "
                "magnitude larger, so the grid here is set for the MLP. Smoke: 40 epochs, 3 seeds, the $\\ell_1$ "
                "regulariser at 4 strengths. Default: "
                "60 epochs, 3 seeds, both regularisers on their full grids."),
    validate=validate, tags=("soteacher", "teacher")))
