"""``soteacher.distill``: a SoTeacher teacher gives a better student than a standard one, and student quality
follows the teacher's training-input error to p* (Tables 1-2 analogue, with the reviewers' early-stopping
and temperature baselines)."""

from __future__ import annotations

import numpy as np

from ...errors import check_choice, check_list, check_real
from ...registry import Claim, Verdict, register
from ..experiments import teacher_cell
from ..summaries import summarise_distill
from .common import (KD, PROVENANCE, QUALITIES, arm_seeds, every_seed, mean_std_text, paired_text, seeds_needed,
                     student_config, teacher_config, validate_common, validate_positive_fraction, world_of)

__all__ = ["BASE", "CRITERIA", "CLAIM", "arms", "validate", "measure", "verdict", "figure"]

#: Parameters shared by every scale.
BASE = KD

#: Thresholds of the verdict: a paired difference must be positive in at least ``min_positive_fraction``
#: of the seeds.
CRITERIA = {"min_positive_fraction": 1.0}


def arms(p) -> dict:
    """Trained teacher arms, name -> TrainConfig settings: ERM (no augmentation), standard (aug), LR, CR
    and SoTeacher (aug + CR + LR). The early-stopped and tempered standard teachers come from the
    standard cells, the oracle from its own cells."""
    aug = {"augment": "resample", "aug_strength": p["aug_strength"]}
    lip = {"lip": "l1", "lip_lambda": p["lip_lambda"]}
    cr = {"cr_lambda": p["cr_lambda"], "cr_schedule": "linear"}
    return {"erm": {}, "standard": dict(aug), "lr": {**aug, **lip}, "cr": {**aug, **cr},
            "soteacher": {**aug, **cr, **lip}}


def validate(p):
    """Refuse bad parameters and criteria (``p`` holds both)."""
    validate_common(p)
    check_choice("quality", p["quality"], QUALITIES)
    check_real("kd_T", p["kd_T"], low=0.0, low_open=True)
    check_real("kd_gamma", p["kd_gamma"], low=0.0)
    check_real("kd_alpha", p["kd_alpha"], low=0.0, low_open=True)
    check_real("cr_lambda", p["cr_lambda"], low=0.0, low_open=True)
    check_real("lip_lambda", p["lip_lambda"], low=0.0, low_open=True)
    check_list("teacher_temperatures", p["teacher_temperatures"], low=0.0, low_open=True, min_len=0,
               distinct=True)
    validate_positive_fraction(p)


def measure(p, ctx):
    """Per seed and arm (shared data and initialisation; one student seed for all arms): train the teacher
    and distil a student from it (and from the early-stopped and tempered standard teachers, and p*)."""
    seeds = arm_seeds(ctx, p["n_seeds"])
    settings = arms(p)
    student = student_config(p)
    cells = [{"world": world_of(p), **sd, "teacher": teacher_config(p, **kw), "student": student,
              "early_stopped": name == "standard", "arm": name, "robust_strength": p["aug_strength"],
              "temper": list(p["teacher_temperatures"]) if name == "standard" else []}
             for name, kw in settings.items() for sd in seeds]
    cells += [{"world": world_of(p), **sd, "teacher": "oracle", "student": student, "arm": "oracle"}
              for sd in seeds]
    out = ctx.map(teacher_cell, cells, stream="teachers", blas_threads=1, desc="teachers + KD students")
    metrics, series = summarise_distill(out, list(settings), p["teacher_temperatures"], p["quality"], len(seeds))
    return {"metrics": metrics, "series": series}


def verdict(m, p, c):
    q = p["quality"]
    unit = {"test_nll": "nats", "test_err": "l1", "test_acc": ""}[q]
    es = (f"vs the early-stopped standard teacher: {m['gain_vs_standard-es']:+.4f} ± "
          f"{m['gain_vs_standard-es_se']:.4f} [{unit}] "
          f"({'SoTeacher better' if m['beats_early_stopped'] else 'SoTeacher NOT better'}); "
          f"student accuracy vs standard {m['acc_gain_vs_standard']:+.4f} ± {m['acc_gain_vs_standard_se']:.4f}, "
          f"vs early-stopped {m['acc_gain_vs_standard-es']:+.4f} ± {m['acc_gain_vs_standard-es_se']:.4f}")
    for t in p["teacher_temperatures"]:
        k = f"gain_vs_standard-T{t:g}"
        es += (f"; vs the standard teacher tempered by T={t:g}: {m[k]:+.4f} ± {m[k + '_se']:.4f} "
               f"({'SoTeacher better' if m[k] > 0 else 'SoTeacher NOT better'})")
    return Verdict.from_criteria(
        soteacher_student_better=(
            every_seed(m, "gain_vs_standard", c),
            f"student {q} improves with the SoTeacher teacher over the standard final teacher by "
            f"{paired_text(m, 'gain_vs_standard', 4)} [{unit}] ({seeds_needed(c)}); " + es),
        quality_follows_teacher_err=(
            m["rho_difference"] > 0 and m["rho_quality_vs_teacher_err_mean"] > 0,
            f"within-seed Spearman of student quality with -(teacher training-input error to p*) "
            f"{mean_std_text(m, 'rho_quality_vs_teacher_err', 2)} exceeds that with teacher test accuracy "
            f"{mean_std_text(m, 'rho_quality_vs_teacher_acc', 2)} (difference {m['rho_difference']:+.2f} ± "
            f"{m['rho_difference_se']:.2f})"),
        oracle_is_best_teacher=(
            every_seed(m, "oracle_gain_vs_best", c),
            f"sanity: the p* oracle teacher beats the best trained teacher ({m['best_trained_teacher']}) by "
            f"{paired_text(m, 'oracle_gain_vs_best', 4)}"),
    )


def figure(result, fig):
    """Differences from the standard (final) teacher of the same seed: each seed is its own world, so
    the within-seed relation is what the rank correlations measure."""
    s, m = result.series, result.metrics
    q = s["quality"]
    names = s["arms"]
    ref = "standard"
    ax1, ax2, ax3 = fig.subplots(1, 3)

    def d(key, a):
        return np.array(s[key][a]) - np.array(s[key][ref])

    for i, a in enumerate(names):
        c = f"C{i}"
        ax1.scatter(d("teacher_train_err", a), d(f"student_{q}", a), color=c, label=a, s=14)
        if a != "oracle":
            ax2.scatter(d("teacher_test_acc", a), d(f"student_{q}", a), color=c, s=14)
    ax1.set_xlabel("teacher error to p* (train inputs)")
    ax1.set_ylabel(f"student {q}")
    ax1.set_title(f"minus standard teacher; rho={m['rho_quality_vs_teacher_err_mean']:.2f}", fontsize=7)
    ax1.legend(fontsize=5)
    ax2.set_xlabel("teacher test accuracy")
    ax2.set_title(f"rho={m['rho_quality_vs_teacher_acc_mean']:.2f}", fontsize=7)
    gains = [d("student_test_acc", a) for a in names]
    ax3.errorbar(np.arange(len(names)), [g.mean() for g in gains], yerr=[g.std() for g in gains], fmt="o")
    ax3.axhline(0, color="k", lw=0.5)
    ax3.set_xticks(np.arange(len(names)), names, rotation=45, ha="right", fontsize=6)
    ax3.set_ylabel("student test accuracy minus standard's")


CLAIM = register(Claim(
    id="soteacher.distill",
    title="Distillation: a SoTeacher teacher gives a better student; student quality follows the teacher's error to p*",
    statement=(
        "SoTeacher (ERM + Lipschitz + consistency regularisation) improves the student over a standard "
        "teacher even when the teacher's own accuracy does not improve (abstract; Tables 1-2), because what "
        "matters for distillation is how well the teacher approximates :math:`p^*` on its training inputs. "
        "Checked: the student of a SoTeacher teacher beats the student of the standard (final) teacher, and "
        "across teachers the student's quality ranks with the teacher's training-input error to "
        ":math:`p^*` more closely than with the teacher's test accuracy. The reviewers' baseline, the "
        "early-stopped standard teacher, is always reported. " + PROVENANCE),
    assumptions=(
        "World and teachers as soteacher.consistency; Standard = aug; early-stopped = best validation-NLL "
        "checkpoint of the standard run (the code's best_loss checkpoint, on a separate validation set); "
        "standard-T<t> = the final standard teacher with logits divided by t (same accuracy, softer output: "
        "the reviewers' temperature-tuning baseline); LR = aug+LR; CR = aug+CR; SoTeacher = aug+CR+LR; "
        "ERM = no augmentation; oracle = p* itself.",
        "KD student as run_student.sh: gamma CE + alpha T^2 KL (gamma = alpha = 0.5, T = 4), pooled head "
        "(variant A), trained on the same training inputs with the same augmentation, the teacher queried on "
        "the augmented batch.",
        "Student quality = expected test cross-entropy against p* (a proper score; 'quality' parameter), "
        "with expected test accuracy always reported.",
    ),
    method=(
        "For each seed and teacher arm (shared data and initialisation; one student seed for all arms), train "
        "the teacher, distil a student from the final teacher (and from the early-stopped checkpoint of the "
        "standard run, and from p*). Pass if: SoTeacher's student is better than the standard final teacher's "
        "in every seed (paired); the mean within-seed Spearman correlation of student quality with minus the "
        "teacher's training-input error exceeds that with the teacher's test accuracy (over all trained "
        "teachers; the tempered teachers share the standard teacher's accuracy, which is what separates the "
        "two rankings); and the oracle teacher gives the best student (sanity). The comparisons with the "
        "early-stopped and the tempered standard teachers are reported metrics (beats_early_stopped, "
        "gain_vs_standard-T2), shown in the verdict text, not criteria: the paper does not claim them and the "
        "reviewers note SoTeacher does not beat early stopping."),
    scales={
        "smoke": {**BASE, "N_test": 2000, "epochs": 40, "n_seeds": 3},
        "default": {**BASE, "n_seeds": 4},
        "paper": {**BASE, "N": 2000, "epochs": 120, "hidden": 128, "student_hidden": 64, "n_seeds": 5},
    },
    measure=measure, verdict=verdict, criteria=CRITERIA, figure=figure,
    key_metrics=("gain_vs_standard", "gain_vs_standard-es", "acc_gain_vs_standard",
                 "rho_quality_vs_teacher_err_mean", "rho_quality_vs_teacher_acc_mean"),
    scale_note=("Synthetic stand-in for WRN40-2 -> WRN40-1 on CIFAR-100 (the digest's only recovered numbers, "
                "unverified, are not used as targets). Student quality is the expected test cross-entropy: in "
                "this world student accuracy moves by only a few 1e-3 between realistic teachers (accuracy is "
                "second order in the error to p*), so it is reported in the verdict text, not judged. Smoke: 40 "
                "epochs, 3 seeds."),
    validate=validate, tags=("soteacher", "distillation")))
