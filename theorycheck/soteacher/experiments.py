"""The computations of the SoTeacher claims: the sweep cells, one (setting, seed) training run each,
at module level so that :meth:`theorycheck.sweep.RunContext.map` can run them in worker processes and
save them one by one.

Common random numbers. A cell's dict carries ``world_seed`` and ``train_seed`` (and ``student_seed``),
integers the claim draws from ``ctx.rng(seed=...)`` (so they derive from the run seed); a cell builds
its generators from them with :func:`theorycheck.seeding.substream`. Every arm of one seed therefore
sees the same world, the same data, the same initialisation and the same minibatch order, and the
paired differences between arms (SoTeacher minus standard, ...) are not swamped by seed noise. The
cell's own generator drives what is specific to the cell (the pairs of the empirical Lipschitz
estimate, the augmentation draws of the robustness gap, the invariant-ERM data).

The claims run the network cells with one BLAS thread (``blas_threads=1``): the matrices are tiny,
and a multithreaded BLAS on a loaded machine runs them up to 100 times slower.

The summaries that turn the cells' outputs into metrics live in :mod:`theorycheck.soteacher.summaries`:
the cells do not import them, so editing a summary does not recompute saved cells.
"""

from __future__ import annotations

import numpy as np

from ..seeding import substream
from . import distill, evaluation, mixed_features as mf, patchnet
from .invariant import chebyshev_radius, feature_label_frequencies, mixture_mle, optimality_gap, t1_variance
from .training import TrainConfig, train_patchnet, validation_nll

__all__ = ["WORLD_KEYS", "DISTILL_BASE_ARMS", "make_data", "train_config", "distil_student", "teacher_cell",
           "checkpoint_cell", "invariant_cell", "chebyshev_cell", "quality_sign"]

#: parameters of a cell's ``world`` dict
WORLD_KEYS = ("s", "K", "d", "m", "sigma", "nuisance_dim", "tau", "dirichlet", "N", "N_val", "N_test")

#: trained teacher arms of ``soteacher.distill`` in the order of its series (tempered arms and the
#: oracle are added by :func:`distill_arm_names`)
DISTILL_BASE_ARMS = ("erm", "standard", "standard-es", "lr", "cr", "soteacher")


# ================================================================================================
# cells
# ================================================================================================
def make_data(world: dict, world_seed: int):
    """World, training, validation and test sets of a cell, all from ``world_seed``.

    Parameters
    ----------
    world : dict with the keys :data:`WORLD_KEYS`
    world_seed : int

    Returns
    -------
    w : MixedFeatureWorld
    train, val, test : Sample, of ``N``, ``N_val`` and ``N_test`` inputs
    """
    rng = substream(world_seed)
    w = mf.draw_world(world["s"], world["K"], world["d"], world["m"], world["sigma"], rng,
                      dirichlet=world["dirichlet"], nuisance_dim=world["nuisance_dim"], tau=world["tau"])
    return w, mf.sample(w, world["N"], rng), mf.sample(w, world["N_val"], rng), mf.sample(w, world["N_test"], rng)


def train_config(d: dict) -> TrainConfig:
    """The :class:`~theorycheck.soteacher.training.TrainConfig` of a cell's (JSON) config dict."""
    d = dict(d)
    if "lr_decay_at" in d:
        d["lr_decay_at"] = tuple(d["lr_decay_at"])
    return TrainConfig(**d)


def distil_student(scfg: TrainConfig, w, train, test, teacher, seed: int) -> dict:
    """Train a KD student from ``teacher`` (a callable ``(X_batch, idx) -> logits``, see
    :mod:`~theorycheck.soteacher.distill`) with the generator ``substream(seed)``, and measure it.

    Returns
    -------
    dict: :func:`~theorycheck.soteacher.evaluation.prediction_metrics` of the student
    """
    run = train_patchnet(scfg, w, train, substream(seed), teacher=teacher)
    return evaluation.prediction_metrics(patchnet.predict_proba(run.params, train.X, scfg.head),
                                         patchnet.predict_proba(run.params, test.X, scfg.head), train, test)


def teacher_cell(cell: dict, rng: np.random.Generator) -> dict:
    """Train one teacher (or take the oracle :math:`p^*`), measure it, and optionally distil students.

    Cell keys: ``world`` (dict of :data:`WORLD_KEYS`), ``world_seed``, ``train_seed``, ``teacher``
    (TrainConfig fields, or the string ``"oracle"``), ``student`` (TrainConfig fields of the KD
    student, or None), ``student_seed``, ``early_stopped`` (also measure, and distil from, the
    best-validation-NLL checkpoint), ``robust_strength`` (augmentation strength of the robustness
    gap; default: the teacher's own), ``temper`` (temperatures of tempered copies of the final teacher).

    Returns
    -------
    dict: ``teacher`` metrics (see :func:`~theorycheck.soteacher.evaluation.network_metrics`),
    ``student`` metrics, ``teacher_es``/``student_es`` for the early-stopped checkpoint,
    ``teacher_T<t>``/``student_T<t>`` for the tempered teachers, ``best_epoch``, and ``val_nll`` (the final
    teacher's cross-entropy on the validation labels, which the claims use to choose a hyperparameter
    without looking at the test set or at :math:`p^*`).
    """
    w, train, val, test = make_data(cell["world"], cell["world_seed"])
    scfg = train_config(cell["student"]) if cell.get("student") else None
    out = {}
    if cell["teacher"] == "oracle":
        out["teacher"] = evaluation.prediction_metrics(train.pstar, test.pstar, train, test)
        if scfg is not None:
            out["student"] = distil_student(scfg, w, train, test, distill.oracle_teacher(train.pstar),
                                            cell["student_seed"])
        return out
    tcfg = train_config(cell["teacher"])
    run = train_patchnet(tcfg, w, train, substream(cell["train_seed"]), val=val)
    versions = [("", run.params)] + ([("_es", run.best_params)] if cell.get("early_stopped") else [])
    # the robustness gap of every arm is measured under the same augmentation (cell key
    # ``robust_strength``, default: the teacher's own), so that arms trained without one compare
    aug = tcfg.augment if tcfg.augment != "none" else "resample"
    strength = cell.get("robust_strength", tcfg.aug_strength)
    for tag, params in versions:
        out["teacher" + tag] = evaluation.network_metrics(params, tcfg.head, w, train, test, rng, aug=aug,
                                                          aug_strength=strength)
        if scfg is not None:
            out["student" + tag] = distil_student(scfg, w, train, test,
                                                  distill.network_teacher(params, tcfg.head), cell["student_seed"])
    for tau in cell.get("temper", []):
        # the final teacher with its output tempered, f_tau ∝ f^(1/tau): same accuracy, other error to p*
        teacher = distill.tempered(distill.network_teacher(run.params, tcfg.head), tau)
        out[f"teacher_T{tau:g}"] = evaluation.prediction_metrics(
            patchnet.softmax(teacher(train.X, None)), patchnet.softmax(teacher(test.X, None)), train, test)
        if scfg is not None:
            out[f"student_T{tau:g}"] = distil_student(scfg, w, train, test, teacher, cell["student_seed"])
    out["best_epoch"] = run.best_epoch
    out["val_nll"] = validation_nll(run.params, val.X, val.y, tcfg.head)
    return out


def quality_sign(quality: str) -> float:
    """+1 when a larger value of the student ``quality`` metric is better (``test_acc``), -1 when a
    smaller one is (``test_nll``, ``test_err``)."""
    return -1.0 if quality in ("test_nll", "test_err") else 1.0


def checkpoint_cell(cell: dict, rng: np.random.Generator) -> dict:
    """Figure-1 analogue: one standard teacher and a KD student from each of its checkpoints.

    Checkpoints: every ``every`` epochs, the last epoch before the first learning-rate decay (the
    paper's early-stopped epoch 150 of 240) and the last epoch. The best teacher is the checkpoint with
    the highest validation accuracy (expected over the label noise on the validation inputs; ties go
    to the earlier checkpoint); neither choice looks at the test set or at a student. Every checkpoint
    gets one student (seed ``student_seed``); the students of the pre-decay and best-teacher checkpoints
    are trained again with each of ``eval_seeds`` and averaged with it.

    Cell keys: as :func:`teacher_cell` plus ``every`` and ``eval_seeds``.

    Returns
    -------
    dict: lists over checkpoints ``epoch``, ``teacher`` (metrics plus ``val_acc``), ``student``
    (metrics); ``pre_decay`` and ``best_teacher`` (checkpoint indices); ``eval`` (epoch -> averaged
    student metrics of the two compared checkpoints).
    """
    w, train, val, test = make_data(cell["world"], cell["world_seed"])
    tcfg, scfg = train_config(cell["teacher"]), train_config(cell["student"])
    pre = tcfg.last_epoch_before_decay()
    run = train_patchnet(tcfg, w, train, substream(cell["train_seed"]), val=val, checkpoint_every=cell["every"],
                         checkpoint_at=(pre, tcfg.epochs))
    out = {"epoch": [], "teacher": [], "student": []}
    for epoch, params in run.checkpoints:
        out["epoch"].append(int(epoch))
        metrics = evaluation.prediction_metrics(patchnet.predict_proba(params, train.X, tcfg.head),
                                                patchnet.predict_proba(params, test.X, tcfg.head), train, test)
        metrics["val_acc"] = mf.expected_accuracy(patchnet.predict_proba(params, val.X, tcfg.head), val.pstar)
        out["teacher"].append(metrics)
        out["student"].append(distil_student(scfg, w, train, test, distill.network_teacher(params, tcfg.head),
                                             cell["student_seed"]))
    out["pre_decay"] = out["epoch"].index(pre)
    out["best_teacher"] = int(np.argmax([t["val_acc"] for t in out["teacher"]]))
    out["eval"] = {}
    for i in sorted({out["pre_decay"], out["best_teacher"]}):
        params = run.checkpoints[i][1]
        runs = [out["student"][i]] + [distil_student(scfg, w, train, test,
                                                     distill.network_teacher(params, tcfg.head), seed)
                                      for seed in cell["eval_seeds"]]
        out["eval"][str(out["epoch"][i])] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    return out


def _nll(pred, y) -> float:
    """Mean cross-entropy of labels ``y`` (N,) under predictions ``pred`` (N, K)."""
    return float(-np.mean(np.log(np.maximum(pred[np.arange(len(pred)), y], np.finfo(np.float64).tiny))))


def invariant_cell(cell: dict, rng: np.random.Generator) -> dict:
    """ERM with the invariant one-hot extractor (SoTeacher Lemmas 3.3-3.4 and Theorem 3.6): a linear head
    on :math:`e_{z_j}`, head variant B, trained by full-batch gradient descent with
    :func:`theorycheck.train.sgd`, and the exact minimiser (the label frequencies for ``m = 1``, EM for
    ``m > 1``) with its certificate of optimality (:func:`~theorycheck.soteacher.invariant.optimality_gap`).

    Cell keys: ``world`` (``s, K, d, m, sigma, dirichlet``), ``N``, ``world_seed``, ``steps``, ``lr``,
    ``em_tol`` (the EM solver's requested optimality gap, nats). The world comes from
    ``substream(world_seed)``; the data and the training from ``rng``.

    Returns
    -------
    dict: ``train_err`` of the trained head, ``closed_err`` of the exact minimiser, ``gap`` (mean l1
    distance between the two predictions on the training inputs), ``objective_gap`` (trained minus exact
    cross-entropy), ``certified_gap`` (the exact minimiser's optimality gap), ``roundoff`` (the
    float64 accuracy of a cross-entropy of this cell), ``memoriser_err``.
    """
    wd = cell["world"]
    w = mf.draw_world(wd["s"], wd["K"], wd["d"], wd["m"], wd["sigma"], substream(cell["world_seed"]),
                      dirichlet=wd["dirichlet"])
    data = mf.sample(w, cell["N"], rng)
    feats = mf.Sample(X=mf.onehot_features(data.Z, w.s), Z=data.Z, pstar=data.pstar, y=data.y)
    cfg = TrainConfig(depth=0, head="mixture", epochs=cell["steps"], batch_size=len(data), lr=cell["lr"],
                      momentum=0.9, weight_decay=0.0, lr_decay_at=())
    run = train_patchnet(cfg, w, feats, rng)
    pred = patchnet.predict_proba(run.params, feats.X, "mixture")
    if w.m == 1:
        q, counts = feature_label_frequencies(data.Z[:, 0], data.y, w.s, w.K)
        q = np.where(counts[:, None] > 0, q, 1.0 / w.K)      # unseen features: any row, here uniform
    else:
        q, _, _, _ = mixture_mle(data.Z, data.y, w.s, w.K, tol=0.0, gap_tol=cell["em_tol"], max_iter=20000)
    exact = q[data.Z].mean(axis=1)
    ce_trained, ce_exact = _nll(pred, data.y), _nll(exact, data.y)
    # a mean of N logarithms in float64 is accurate to a few eps times the largest |log|
    worst = max(1.0, float(np.max(np.abs(np.log(np.maximum(pred[np.arange(len(pred)), data.y],
                                                              np.finfo(np.float64).tiny))))))
    return {"train_err": mf.l1_error(pred, data.pstar), "closed_err": mf.l1_error(exact, data.pstar),
            "gap": mf.l1_error(pred, exact), "objective_gap": ce_trained - ce_exact,
            "certified_gap": optimality_gap(q, data.Z, data.y, w.s, w.K),
            "roundoff": 64.0 * np.finfo(np.float64).eps * worst,
            "memoriser_err": mf.memoriser_error(data.pstar, data.y)}


def chebyshev_cell(cell: dict, rng: np.random.Generator) -> dict:
    """Coverage of the Chebyshev radius (SoTeacher Lemma 3.5 analogue, ``m = 1``) over ``resamples``
    training sets of size ``N`` from one world (``substream(world_seed)``), using the closed-form ERM
    :math:`\\hat\\pi_z` (which :func:`invariant_cell` certifies as the minimiser). Memory does not grow
    with ``resamples`` (running sums).

    Cell keys: ``world`` (``s, K, d, sigma, dirichlet``), ``N``, ``world_seed``, ``resamples``, ``delta``.

    Returns
    -------
    dict
        ``covered`` (number of resamples with :math:`\\max_z\\|\\hat\\pi_z-\\pi_z\\|_2 \\le
        \\varepsilon_\\delta`), ``resamples``, ``radius`` (mean :math:`\\varepsilon_\\delta`), ``max_err``
        (mean of the max), ``variance_ratio`` and its standard error:
        :math:`n_z\\|\\hat\\pi_z-\\pi_z\\|^2/(1-\\|\\pi_z\\|^2)` averaged over seen features and resamples
        (exactly 1 in expectation), and ``variance_terms`` (how many terms that mean has).
    """
    wd = cell["world"]
    w = mf.draw_world(wd["s"], wd["K"], wd["d"], 1, wd["sigma"], substream(cell["world_seed"]),
                      dirichlet=wd["dirichlet"])
    var = t1_variance(w.label_laws)
    covered, radius, max_err = 0, 0.0, 0.0
    n_terms, total, total_sq = 0, 0.0, 0.0
    R = int(cell["resamples"])
    for _ in range(R):
        data = mf.sample(w, cell["N"], rng)
        freq, counts = feature_label_frequencies(data.Z[:, 0], data.y, w.s, w.K)
        seen = counts > 0
        err = np.linalg.norm(freq - w.label_laws, axis=1)[seen]
        r = chebyshev_radius(w.label_laws, counts, cell["delta"])
        covered += int(err.max() <= r)
        radius += r
        max_err += float(err.max())
        ratio = counts[seen] * err ** 2 / var[seen]
        n_terms += ratio.size
        total += float(ratio.sum())
        total_sq += float((ratio ** 2).sum())
    mean = total / n_terms
    sd = np.sqrt(max(0.0, (total_sq - n_terms * mean ** 2) / (n_terms - 1)))
    return {"covered": covered, "resamples": R, "radius": radius / R, "max_err": max_err / R,
            "variance_ratio": mean, "variance_ratio_se": float(sd / np.sqrt(n_terms)), "variance_terms": n_terms}
