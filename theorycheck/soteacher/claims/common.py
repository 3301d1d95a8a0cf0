"""What the SoTeacher claims share: the mixed-feature world and teacher recipe of the network claims,
the per-seed common random numbers, the validation of the shared parameters, and the wording of the
paired criteria."""

from __future__ import annotations

from ...errors import InputError, check_int, check_real
from ..experiments import WORLD_KEYS

__all__ = ["PROVENANCE", "WORLD", "TRAIN", "KD", "QUALITIES", "validate_common", "validate_positive_fraction",
           "world_of", "arm_seeds", "teacher_config", "student_config", "every_seed", "seeds_needed", "paired_text",
           "mean_std_text"]

#: Appended to every claim's statement.
PROVENANCE = ("The paper's Sections 3-5 were not available verbatim: the data model, the definitions and "
              "the statement below are the toolkit's formalisation of them (digest notes/soteacher.md "
              "§1.2 and §2.2, tagged [OURS]), not the paper's wording or constants.")

#: the mixed-feature world shared by the network claims (digest §5, with s = 10 features)
WORLD = {"s": 10, "K": 5, "d": 8, "m": 4, "sigma": 0.35, "nuisance_dim": 8, "tau": 1.0, "dirichlet": 0.4,
         "N": 1000, "N_val": 1000, "N_test": 4000}
#: teacher optimiser (official recipe scaled to epochs: SGD 0.9, lr 0.05, wd 5e-4, decays at 62.5/75/87.5 %)
TRAIN = {"epochs": 60, "hidden": 64, "batch_size": 100, "lr": 0.05}
#: world, teachers and KD student of the distillation claims (``soteacher.distill``, ``soteacher.checkpoints``)
KD = {**WORLD, **TRAIN, "head": "mixture", "aug_strength": 0.5, "cr_lambda": 1.0, "lip_lambda": 1e-2,
      "student_hidden": 64, "kd_gamma": 0.5, "kd_alpha": 0.5, "kd_T": 4.0, "quality": "test_nll",
      "teacher_temperatures": [2.0]}
#: student qualities the distillation claims can compare (their ``quality`` parameter)
QUALITIES = ("test_nll", "test_err", "test_acc")


def validate_common(p: dict) -> None:
    """Refuse bad values of the shared parameters present in ``p`` (world, seeds, optimiser)."""
    for key in ("s", "K", "d", "m", "N", "N_val", "N_test", "nuisance_dim"):
        if key in p:
            check_int(key, p[key], low=2 if key == "K" else (0 if key == "nuisance_dim" else 1))
    for key in ("sigma", "tau", "dirichlet"):
        if key in p:
            check_real(key, p[key], low=0.0, low_open=True)
    if "n_seeds" in p:
        check_int("n_seeds", p["n_seeds"], low=2)
    for key in ("epochs", "hidden", "batch_size", "student_hidden"):
        if key in p:
            check_int(key, p[key], low=1)
    if "lr" in p:
        check_real("lr", p["lr"], low=0.0, low_open=True)
    if "aug_strength" in p:
        check_real("aug_strength", p["aug_strength"], low=0.0, high=1.0)
    if "batch_size" in p and "N" in p and p["batch_size"] > p["N"]:
        raise InputError("batch_size", f"must be <= N={p['N']}, got {p['batch_size']}")


def validate_positive_fraction(c: dict) -> None:
    """The criterion ``min_positive_fraction``: in (0, 1]."""
    check_real("min_positive_fraction", c["min_positive_fraction"], low=0.0, high=1.0, low_open=True)


def world_of(p: dict) -> dict:
    """A cell's ``world`` dict: the entries :data:`~theorycheck.soteacher.experiments.WORLD_KEYS` of ``p``."""
    return {k: p[k] for k in WORLD_KEYS}


def arm_seeds(ctx, n_seeds: int) -> list[dict]:
    """Per-seed integers for common random numbers across the arms of one seed (see
    :mod:`theorycheck.soteacher.experiments`), drawn from the direct streams ``ctx.rng(seed=i)``.

    Returns
    -------
    list of dict with ``seed``, ``world_seed``, ``train_seed``, ``student_seed``
    """
    out = []
    for i in range(n_seeds):
        words = ctx.rng(seed=i).integers(0, 2 ** 63 - 1, size=3)
        out.append({"seed": i, "world_seed": int(words[0]), "train_seed": int(words[1]),
                    "student_seed": int(words[2])})
    return out


def teacher_config(p: dict, **kw) -> dict:
    """The teacher's TrainConfig fields from the parameters ``p``, with the arm's settings ``kw``."""
    cfg = {"hidden": p["hidden"], "depth": 2, "head": p.get("head", "mixture"), "epochs": p["epochs"],
           "batch_size": p["batch_size"], "lr": p["lr"]}
    cfg.update(kw)
    return cfg


def student_config(p: dict) -> dict:
    """The KD student's TrainConfig fields (``run_student.sh``: pooled head, augmented, gamma CE + alpha
    T^2 KL)."""
    return {"hidden": p["student_hidden"], "depth": 2, "head": "pooled", "epochs": p["epochs"],
            "batch_size": p["batch_size"], "lr": p["lr"], "augment": "resample",
            "aug_strength": p["aug_strength"], "kd_gamma": p["kd_gamma"], "kd_alpha": p["kd_alpha"],
            "kd_T": p["kd_T"]}


def every_seed(m: dict, name: str, c: dict) -> bool:
    """The sign test of every paired criterion: the difference ``name`` is positive in at least the
    fraction ``c["min_positive_fraction"]`` of seeds (1: every seed, a chance of 2**-n_seeds under a
    null of no effect)."""
    return m[name + "_positive"] >= c["min_positive_fraction"]


def seeds_needed(c: dict) -> str:
    """``"needs every seed"``, or the fraction of seeds the sign test needs."""
    f = c["min_positive_fraction"]
    return "needs every seed" if f >= 1 else f"needs >= {f:.0%} of seeds"


def paired_text(m: dict, name: str, digits: int = 3) -> str:
    """A paired difference as "mean ± SE (mean ± SE), positive in x% of seeds"."""
    return (f"{m[name]:+.{digits}f} ± {m[name + '_se']:.{digits}f} (mean ± SE), positive in "
            f"{m[name + '_positive']:.0%} of seeds")


def mean_std_text(m: dict, name: str, digits: int = 3) -> str:
    """A summary over seeds as "mean ± std"."""
    return f"{m[name + '_mean']:.{digits}f} ± {m[name + '_std']:.{digits}f}"
