"""``soteacher.checkpoints``: along standard teacher training, the best teacher is not the best teacher
for the student (Figure 1 analogue)."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_choice, check_int
from ...registry import Claim, Verdict, register
from ..experiments import checkpoint_cell
from ..summaries import summarise_checkpoints
from .common import (KD, PROVENANCE, QUALITIES, arm_seeds, every_seed, mean_std_text, paired_text, seeds_needed,
                     student_config, teacher_config, validate_common, validate_positive_fraction, world_of)

__all__ = ["BASE", "CRITERIA", "CLAIM", "validate", "measure", "verdict", "figure"]

#: Parameters shared by every scale.
BASE = {**KD, "every": 6, "eval_students": 2}

#: Thresholds of the verdict: a paired difference must be positive in at least ``min_positive_fraction``
#: of the seeds.
CRITERIA = {"min_positive_fraction": 1.0}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    validate_common(p)
    check_int("every", p["every"], low=1, high=p["epochs"])
    if p["epochs"] // p["every"] < 3:
        raise InputError("every", f"must leave >= 3 checkpoints in {p['epochs']} epochs, got {p['every']}")
    check_choice("quality", p["quality"], QUALITIES)
    check_int("eval_students", p["eval_students"], low=1)
    validate_positive_fraction(p)


def measure(p, ctx):
    """Per seed, one standard teacher run with a student per checkpoint, and fresh students of the two
    compared checkpoints."""
    seeds = arm_seeds(ctx, p["n_seeds"])
    tcfg = teacher_config(p, augment="resample", aug_strength=p["aug_strength"])
    # the fresh students' seeds of each run, from their own direct stream
    eval_seeds = [[int(v) for v in ctx.rng(seed=sd["seed"], role="eval").integers(0, 2 ** 63 - 1,
                                                                                   size=p["eval_students"])]
                  for sd in seeds]
    cells = [{"world": world_of(p), **sd, "teacher": tcfg, "student": student_config(p), "every": p["every"],
              "quality": p["quality"], "eval_seeds": ev} for sd, ev in zip(seeds, eval_seeds)]
    out = ctx.map(checkpoint_cell, cells, stream="checkpoints", blas_threads=1, desc="checkpoint students")
    metrics, series = summarise_checkpoints(out, p["quality"])
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    return Verdict.from_criteria(
        best_teacher_not_best_student=(
            every_seed(m, "best_student_advantage", c),
            f"the checkpoint whose student is best (chosen on one student seed) beats the best-test-accuracy "
            f"teacher's checkpoint on {p['eval_students']} fresh student seeds by "
            f"{paired_text(m, 'best_student_advantage', 4)} in {p['quality']} ({seeds_needed(c)}); best-teacher "
            f"epochs {list(m['best_teacher_epoch'])}, best-student epochs {list(m['best_student_epoch'])}; "
            f"choosing the checkpoint by the teacher's error to p* instead of its accuracy changes the student "
            f"by {paired_text(m, 'selection_gain', 4)}"),
        student_follows_teacher_err=(
            m["rho_difference"] > 0,
            f"over checkpoints, Spearman(student quality, -teacher error to p*) "
            f"{mean_std_text(m, 'rho_student_vs_teacher_err', 2)} > Spearman(student quality, teacher test "
            f"accuracy) {mean_std_text(m, 'rho_student_vs_teacher_acc', 2)} (difference "
            f"{m['rho_difference']:+.2f} ± {m['rho_difference_se']:.2f})"),
    )


def figure(result, fig):
    s = result.series
    ax1, ax2 = fig.subplots(1, 2)
    ax2b = ax2.twinx()
    ep = np.array(s["epoch"])
    for k, run in enumerate(s["runs"]):
        c = f"C{k}"
        ax1.plot(run["teacher_test_acc"], run["student_test_acc"], "o-", color=c, ms=3, lw=0.8)
        ax1.plot(run["teacher_test_acc"][run["best_teacher"]], run["student_test_acc"][run["best_teacher"]],
                 "*", color=c, ms=10)
        ax2.plot(ep, run["teacher_train_err"], "-", color=c, lw=1)
        ax2b.plot(ep, run["student_quality"], "--", color=c, lw=1)
    ax1.set_xlabel("teacher test accuracy (checkpoint)")
    ax1.set_ylabel("student test accuracy")
    ax1.set_title("Figure 1 analogue (star: best teacher)", fontsize=8)
    ax2.set_xlabel("teacher epoch")
    ax2.set_ylabel("teacher training-input error to p* (solid)")
    ax2b.set_ylabel(f"student {s['quality']} (dashed)")


CLAIM = register(Claim(
    id="soteacher.checkpoints",
    title="Figure 1 analogue: along standard training, the best teacher is not the best teacher for the student",
    statement=(
        "Figure 1: students distilled from checkpoints taken along standard teacher training show that the "
        "best-performing teacher does not necessarily yield the best-performing student (abstract); the "
        "paper's explanation is that later checkpoints approximate :math:`p^*` on the training inputs worse "
        "(they memorise). Checked: the checkpoint with the best teacher test accuracy is not the one that gives "
        "the best student, and over checkpoints student quality ranks with the teacher's training-input error "
        "to :math:`p^*` more closely than with its test accuracy. " + PROVENANCE),
    assumptions=("World, standard (augmented) teacher and KD student as soteacher.distill; a student is "
                 "distilled from every 'every'-th epoch's checkpoint.",),
    method=(
        "Per seed, one standard teacher run with checkpoints and a student (same student seed for all) per "
        "checkpoint. The best-student checkpoint is chosen on these students; its student and the student of "
        "the best-test-accuracy checkpoint are trained again on 'eval_students' fresh student seeds (averaged). "
        "Pass if, in every seed, the fresh students of the best-student checkpoint beat those of the best "
        "teacher (a best teacher that "
        "is also the best checkpoint for students gives 0 and fails), and the mean within-run Spearman "
        "correlation of student quality with -(teacher error to p*) exceeds that with teacher accuracy. The "
        "student change from choosing the checkpoint by teacher error instead of accuracy is reported."),
    scales={
        "smoke": {**BASE, "N_test": 2000, "epochs": 40, "every": 8, "n_seeds": 3},
        "default": {**BASE, "n_seeds": 4, "eval_students": 6},
        "paper": {**BASE, "N": 2000, "epochs": 120, "hidden": 128, "every": 10, "n_seeds": 5, "eval_students": 6},
    },
    measure=measure, verdict=verdict, criteria=CRITERIA, figure=figure,
    key_metrics=("best_student_advantage", "selection_gain", "rho_student_vs_teacher_err_mean",
                 "rho_student_vs_teacher_acc_mean"),
    scale_note=("The paper checkpoints every 10 of 240 epochs on CIFAR-100; here every 'every' epochs of a "
                "scaled run. Student quality: expected test cross-entropy (see soteacher.distill). Smoke: 40 "
                "epochs, a checkpoint every 8, 3 seeds, 2 fresh students per compared checkpoint. Default and "
                "paper: 6 fresh students, to lower the student-seed noise of each per-seed comparison "
                "(series.held_out_advantage holds the per-seed values)."),
    validate=validate, tags=("soteacher", "distillation")))
