"""The cell protocol of the operating-regime claims, Hong et al. 2021 Sec. 4 (``hong2021.fig3`` and
``hong2021.table2``), and the pure functions that turn its outputs into the coloured grid.

**One protocol for both claims.** Fig. 3 varies N_s at sigma = 0.5 and Table 2 varies sigma at a
fixed N_s; both are grids of (N_t, (N_s, sigma)) cells built here by the same functions from the same
seeds. The replicate seeds and the data seed derive from the run seed and the protocol's own name
(:func:`replicate_seeds`, :func:`data_seed`), not from the claim, and the data of a run do not
depend on the grid (the synthetic task has a fixed pool, the noise scale is measured on the whole
training pool), so a cell with the same settings in the two claims gives the same numbers.

Every training run belongs to one sweep cell:

* a **teacher cell** (:func:`teacher_cell`) per (N_t, seed): trained on N_t clean images per class,
  early-stopped on clean validation images; it records the teacher's clean test error E_t;
* a **base cell** (:func:`student_cell` with ``teacher`` None) per (N_s, sigma, seed): the base loss
  of Eq. (1);
* a **student-teacher cell** per (N_t, N_s, sigma, seed): one student with Eq. (2) for each lambda
  of ``lams`` (the paper's 0.001 and the decades above it). The cell regenerates its teacher
  deterministically (:func:`train_teacher`, memoised per process), so cells stay independent and
  resumable.

The cells ignore the sweep's ``rng``: all randomness of a replicate comes from its seed, split by
:func:`theorycheck.seeding.substream` into the streams below, so the base student and every
Eq. (2) student of a seed share their images, noise, initial weights and minibatch order (common
random numbers), and the test and validation noise (from the data seed) is shared by all students.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from ...errors import check_int
from ...seeding import cell_rng, substream
from ...stats import t_interval
from .. import datasets, mlp

__all__ = ["SYNTHETIC", "PROTOCOL", "replicate_seeds", "data_seed", "data_spec", "train_spec",
           "teacher_cells", "student_cells", "teacher_cell", "student_cell", "task", "noise_std",
           "nested_noise", "training_subset", "train_teacher", "clear_caches", "collect_grid",
           "regeneration_gap", "collapse", "cell_decision", "column_regime", "boundary_candidates",
           "shape_outcomes", "rises", "non_decreasing", "chance_error", "decide_grid"]

#: The synthetic teacher-labelled task: x ~ N(0, I_32), 10 classes from a random 32-64-10 ReLU
#: network; ``pool`` images per class for training (the largest N it allows), drawn once per data
#: seed whatever the grid, so the data never depend on which claim asks.
SYNTHETIC = {"d": 32, "width": 64, "n_classes": 10, "pool": 2048}

#: Name of the seed streams shared by the two claims of the protocol.
PROTOCOL = "hong2021.regime"

# Tags of the independent substreams of one seed (never reuse a tag for another purpose): replicate
# seeds feed the initial weights, minibatch order, training noise and subset order; the data seed
# feeds the test and validation noise, the split and the synthetic task.
_TEACHER_INIT, _STUDENT_INIT, _BATCHES, _TRAIN_NOISE, _TEST_NOISE, _VAL_NOISE, _SPLIT, _TASK, _POOL = range(9)
_TRAIN_KEYS = ("hidden", "steps", "lr", "batch_size", "momentum", "eval_every")


# ------------------------------------------------------------------------------------------------
# seeds and cell parameters
# ------------------------------------------------------------------------------------------------

def replicate_seeds(run_seed: int, n: int) -> list[int]:
    """The seeds of replicates 0..n-1 of a run: functions of the run seed and :data:`PROTOCOL` only,
    so both claims (and a run with more seeds) share their first replicates."""
    return [int(cell_rng(run_seed, PROTOCOL, {"role": "replicate", "index": r}).integers(2 ** 62))
            for r in range(check_int("seeds", n, low=1))]


def data_seed(run_seed: int) -> int:
    """The seed of a run's data split, synthetic task and test and validation noise."""
    return int(cell_rng(run_seed, PROTOCOL, {"role": "data"}).integers(2 ** 62))


def data_spec(params, seed: int) -> dict:
    """The data of a run as a cell parameter: data set, held-out sizes, noise unit, test noise draws,
    the subset protocol and the ``seed`` of :func:`data_seed`. Independent of the grid."""
    spec = {"dataset": params["dataset"], "data_dir": params["data_dir"], "n_val": params["n_val"],
            "n_test": params["n_test"], "data_seed": int(seed), "noise_unit": params["noise_unit"],
            "test_noise_draws": params["test_noise_draws"], "subset_per_seed": bool(params["subset_per_seed"])}
    if params["dataset"] == "cifar10":
        spec["data_dir"] = str(params["data_dir"])
    return spec


def train_spec(params) -> dict:
    """The SGD settings shared by teachers and students (``hidden`` widths, ``steps``, ``lr``,
    ``batch_size``, ``momentum``, ``eval_every``)."""
    train = {k: params[k] for k in _TRAIN_KEYS}
    train["hidden"] = [int(h) for h in params["hidden"]]
    return train


def teacher_cells(spec: dict, train: dict, seeds, N_t_grid) -> list[dict]:
    """One :func:`teacher_cell` per (seed, N_t), seed-major."""
    return [{"data": spec, "train": train, "N_t": int(n), "seed": s} for s in seeds for n in N_t_grid]


def _base(spec, train, N_s, sigma, seed):
    return {"data": spec, "train": train, "N_s": int(N_s), "sigma": float(sigma), "seed": seed, "teacher": None}


def _st(spec, train, N_s, sigma, seed, N_t, lams):
    return {"data": spec, "train": train, "N_s": int(N_s), "sigma": float(sigma), "seed": seed,
            "teacher": {"N_t": int(N_t)}, "lams": [float(v) for v in lams]}


def student_cells(spec: dict, train: dict, seeds, columns, N_t_grid, lams) -> list[dict]:
    """The :func:`student_cell` parameters of a grid: for every seed a base student (Eq. (1)) per
    column, then for every seed and N_t an Eq. (2) cell per column (grouped by teacher, so a worker
    reuses its memoised teacher), each training one student per lambda of ``lams``.

    Parameters
    ----------
    columns : sequence of (N_s, sigma)
        The grid's columns: N_s varies in Fig. 3, sigma in Table 2.
    """
    cells = [_base(spec, train, ns, sg, s) for s in seeds for ns, sg in columns]
    cells += [_st(spec, train, ns, sg, s, nt, lams) for s in seeds for nt in N_t_grid for ns, sg in columns]
    return cells


# ------------------------------------------------------------------------------------------------
# data of one run (memoised per process: cells of one run share it)
# ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _task_cached(spec_json: str):
    spec = json.loads(spec_json)
    if spec["dataset"] == "digits":
        D = datasets.load_digits_data()
    elif spec["dataset"] == "cifar10":
        D = datasets.load_cifar10(spec["data_dir"])
    else:
        D = datasets.synthetic_teacher_task(SYNTHETIC["pool"] + spec["n_val"] + spec["n_test"], SYNTHETIC["d"],
                                            SYNTHETIC["n_classes"], SYNTHETIC["width"],
                                            substream(spec["data_seed"], _TASK))
    split = datasets.per_class_split(D, spec["n_val"], spec["n_test"], substream(spec["data_seed"], _SPLIT))
    pixel_std = float(np.std(D.X[split.pool.ravel()]))
    return D, split, pixel_std


def task(spec: dict):
    """The data of a :func:`data_spec`, memoised per process.

    Returns
    -------
    data : ClassificationData
    split : PerClassSplit, fixed by the data seed
    pixel_std : float, standard deviation of the inputs over the whole training pool
    """
    return _task_cached(json.dumps(spec, sort_keys=True))


def noise_std(spec: dict, sigma: float) -> float:
    """Noise standard deviation on the data's own input scale: ``sigma`` times the training pool's
    input standard deviation (``noise_unit="pixel_std"``, as for per-channel normalised inputs) or
    ``sigma`` itself (``"pixel"``)."""
    return sigma * (task(spec)[2] if spec["noise_unit"] == "pixel_std" else 1.0)


def nested_noise(seed: int, n_per_class: int, n_classes: int, d: int) -> np.ndarray:
    """Standard normal noise for the nested training set with ``n_per_class`` images per class
    (class-major rows, as :meth:`PerClassSplit.subset`): the :math:`\\epsilon_i` of Hong et al. 2021
    Eq. (1), fixed per training image. Class k's rows come from their own stream, so the noise of the
    first N images of a class is the same for every larger N.

    Returns
    -------
    ndarray of shape (n_classes * n_per_class, d)
    """
    return np.concatenate([substream(seed, _TRAIN_NOISE, k).standard_normal((n_per_class, d))
                           for k in range(n_classes)])


def training_subset(split, n_per_class: int, seed: int, per_seed: bool) -> np.ndarray:
    """Row indices of the nested training set with ``n_per_class`` images per class (class-major).

    ``per_seed=False`` is the paper's protocol: one subset per N for every seed (the first N of the
    split's pool order). ``per_seed=True`` gives each seed its own order of the pool (still nested in N
    and shared by the teacher and the students of that seed), so seed averages also average over
    which images were drawn.

    Returns
    -------
    ndarray of int, shape (K * n_per_class,)
    """
    if not per_seed:
        return split.subset(n_per_class)
    n = check_int("N", n_per_class, low=1, high=split.max_per_class)
    return np.concatenate([row[substream(seed, _POOL, k).permutation(len(row))[:n]]
                           for k, row in enumerate(split.pool)])


def _sizes(spec: dict, train: dict) -> list[int]:
    D = task(spec)[0]
    return [D.X.shape[1], *train["hidden"], D.n_classes]


def _train(train, params0, X, y, X_val, y_val, rng, teacher_hidden=None, lam=0.0):
    # through the module attribute, so a test can wrap every training run of the protocol
    return mlp.train_classifier(params0, X, y, X_val, y_val, steps=train["steps"], lr=train["lr"],
                                batch_size=train["batch_size"], momentum=train["momentum"],
                                eval_every=train["eval_every"], rng=rng,
                                teacher_hidden=teacher_hidden, lam=lam)


@lru_cache(maxsize=32)
def _teacher_cached(key: str):
    spec, train, N_t, seed = json.loads(key)
    D, split, _ = task(spec)
    idx = training_subset(split, N_t, seed, spec["subset_per_seed"])
    p0 = mlp.init_mlp(_sizes(spec, train), substream(seed, _TEACHER_INIT))
    res = _train(train, p0, D.X[idx], D.y[idx], D.X[split.val], D.y[split.val],
                 substream(seed, _BATCHES, N_t, 0))
    for p in res.params:
        p.setflags(write=False)  # shared by the cells of this process
    return res


def train_teacher(spec: dict, train: dict, N_t: int, seed: int) -> mlp.TrainedClassifier:
    """The teacher f_t(N_t) of Hong et al. 2021 Table 1: trained on ``N_t`` clean images per class and
    early-stopped on clean validation images. A deterministic function of its arguments, memoised
    (read-only weights), so the student cells of one process train each teacher once."""
    return _teacher_cached(json.dumps([spec, train, int(N_t), seed], sort_keys=True))


def clear_caches() -> None:
    """Forget the memoised teachers and data of this process (the next call recomputes them)."""
    _teacher_cached.cache_clear()
    _task_cached.cache_clear()


def _majority_share(params, X) -> float:
    """Share of the inputs assigned to the most frequent predicted class (1.0: a constant classifier)."""
    pred = np.argmax(mlp.logits(params, X), axis=1)
    return float(np.bincount(pred).max() / len(pred))


# ------------------------------------------------------------------------------------------------
# cells
# ------------------------------------------------------------------------------------------------

def teacher_cell(cell: dict, rng) -> dict:
    """One teacher f_t(N_t) (Hong et al. 2021 Table 1): its clean test error ``E_t``, validation error,
    early-stopping step and the share of its most frequent prediction (a collapse diagnostic)."""
    del rng  # a teacher is a function of the cell's seeds, so student cells can regenerate it
    spec = cell["data"]
    D, split, _ = task(spec)
    res = train_teacher(spec, cell["train"], cell["N_t"], cell["seed"])
    return {"E_t": mlp.error_rate(res.params, D.X[split.test], D.y[split.test]),
            "val_error": res.val_error, "best_step": res.best_step,
            "majority_share": _majority_share(res.params, D.X[split.test])}


def student_cell(cell: dict, rng) -> dict:
    """One base student f_base(N_s) (``teacher`` None, Hong et al. 2021 Eq. (1)) or the Eq. (2)
    students f_st(N_t, N_s), one per lambda of ``lams``.

    Returns the test error on noisy test inputs (``test_error``: a mean over ``test_noise_draws``
    noise draws, the Monte Carlo form of Eq. (3) with the 0-1 loss), the validation error (noisy
    validation inputs) and early-stopping step: scalars for the base student (with the noise standard
    deviation ``noise_std`` on the data's input scale and ``majority_share``), lists over ``lams``
    for f_st, which also records the ratio of the feature term to the base term at initialisation
    (``feature_ratio_at_init``, per lambda) and the regenerated teacher's clean test error
    (``teacher_E_t``, a cross-check against the teacher cell).
    """
    del rng  # all randomness of a replicate comes from its seed, shared by f_base and f_st (paired)
    spec, train, seed, N_s = cell["data"], cell["train"], cell["seed"], cell["N_s"]
    D, split, _ = task(spec)
    std = noise_std(spec, cell["sigma"])
    idx = training_subset(split, N_s, seed, spec["subset_per_seed"])
    X, y = D.X[idx], D.y[idx]
    d = X.shape[1]
    X_noisy = X + std * nested_noise(seed, N_s, D.n_classes, d)
    X_val = D.X[split.val] + std * substream(spec["data_seed"], _VAL_NOISE).standard_normal((len(split.val), d))
    y_val = D.y[split.val]
    X_test, y_test = D.X[split.test], D.y[split.test]
    test_noise = substream(spec["data_seed"], _TEST_NOISE).standard_normal(
        (spec["test_noise_draws"], len(split.test), d))
    p0 = mlp.init_mlp(_sizes(spec, train), substream(seed, _STUDENT_INIT))

    def fit(teacher_hidden=None, lam=0.0):
        res = _train(train, p0, X_noisy, y, X_val, y_val, substream(seed, _BATCHES, N_s, 1), teacher_hidden, lam)
        err = float(np.mean([mlp.error_rate(res.params, X_test + std * z, y_test) for z in test_noise]))
        return res, err

    if cell["teacher"] is None:
        res, err = fit()
        return {"test_error": err, "val_error": res.val_error, "best_step": res.best_step,
                "majority_share": _majority_share(res.params, X_test + std * test_noise[0]), "noise_std": std}
    t = train_teacher(spec, train, cell["teacher"]["N_t"], seed)
    teacher_hidden = mlp.hidden_features(t.params, X)  # teacher features on the CLEAN inputs
    base0, feat0 = mlp.loss_terms(p0, X_noisy, y, teacher_hidden)
    out = {"test_error": [], "val_error": [], "best_step": [], "feature_ratio_at_init": [],
           "teacher_E_t": mlp.error_rate(t.params, X_test, y_test)}
    for lam in cell["lams"]:
        res, err = fit(teacher_hidden, lam)
        out["test_error"].append(err)
        out["val_error"].append(res.val_error)
        out["best_step"].append(res.best_step)
        out["feature_ratio_at_init"].append(lam * feat0 / base0)
    return out


# ------------------------------------------------------------------------------------------------
# from cell outputs to the grid (pure)
# ------------------------------------------------------------------------------------------------

def collect_grid(t_cells, t_outs, s_cells, s_outs, seeds, N_t_grid, columns, lams) -> dict:
    """Per-seed numbers of a grid from the cells and their outputs.

    A cell may have fewer seeds than ``seeds`` (cells that got no second look): its innermost list
    holds the seeds it has, always the first ones of ``seeds`` (pair ``E_st[..][i][j]`` with the first
    ``len(E_st[..][i][j])`` entries of ``E_base[j]``).

    Returns
    -------
    dict of nested lists (seed is always the last index)
        ``E_t[i][s]`` teacher N_t_grid[i]; ``E_base[j][s]`` column j; ``E_st[k][i][j][s]`` and
        ``val_st[k][i][j][s]`` the Eq. (2) student with lams[k]; ``E_st_tuned[i][j][s]`` the one whose
        lambda has the lowest validation error (ties: the smaller lambda) and ``lam_tuned[i][j][s]``
        that lambda; ``feature_ratio_at_init[k]`` the median over cells of lambda_k times the feature
        term over the base term at initialisation.
    """
    pos = {s: r for r, s in enumerate(seeds)}
    rows = {int(n): i for i, n in enumerate(N_t_grid)}
    cols = {(int(ns), float(sg)): j for j, (ns, sg) in enumerate(columns)}
    R, I, J, K = len(seeds), len(N_t_grid), len(columns), len(lams)
    E_t = np.full((I, R), np.nan)
    for c, o in zip(t_cells, t_outs):
        E_t[rows[c["N_t"]], pos[c["seed"]]] = o["E_t"]
    E_base = np.full((J, R), np.nan)
    E_st = np.full((K, I, J, R), np.nan)
    val_st = np.full((K, I, J, R), np.nan)
    ratios = [[] for _ in range(K)]
    for c, o in zip(s_cells, s_outs):
        j, r = cols[(c["N_s"], c["sigma"])], pos[c["seed"]]
        if c["teacher"] is None:
            E_base[j, r] = o["test_error"]
        else:
            i = rows[c["teacher"]["N_t"]]
            E_st[:, i, j, r] = o["test_error"]
            val_st[:, i, j, r] = o["val_error"]
            for k, v in enumerate(o["feature_ratio_at_init"]):
                ratios[k].append(v)
    present = ~np.isnan(val_st[0])
    best = np.argmin(np.where(present[None], val_st, 0.0), axis=0)  # the first (smallest) lambda on ties
    tuned = np.take_along_axis(E_st, best[None], axis=0)[0]
    lam_tuned = np.where(present, np.asarray(lams, float)[best], np.nan)
    return {"E_t": _ragged(E_t), "E_base": _ragged(E_base), "E_st": _ragged(E_st), "val_st": _ragged(val_st),
            "E_st_tuned": _ragged(tuned), "lam_tuned": _ragged(lam_tuned),
            "feature_ratio_at_init": [float(np.median(v)) if v else 0.0 for v in ratios]}


def _ragged(a: np.ndarray) -> list:
    """Nested lists of ``a`` with the missing (NaN) seeds of the last axis left out."""
    if a.ndim == 1:
        return [float(x) for x in a if not np.isnan(x)]
    return [_ragged(x) for x in a]


def regeneration_gap(teacher_cells, teacher_outs, student_cells, student_outs) -> float:
    """Largest absolute difference between a regenerated teacher's E_t and its teacher cell's (0 when
    regeneration is exact)."""
    E_t = {(c["N_t"], c["seed"]): o["E_t"] for c, o in zip(teacher_cells, teacher_outs)}
    gaps = [abs(o["teacher_E_t"] - E_t[(c["teacher"]["N_t"], c["seed"])])
            for c, o in zip(student_cells, student_outs)
            if c["teacher"] is not None and (c["teacher"]["N_t"], c["seed"]) in E_t]
    return float(max(gaps, default=0.0))


def chance_error(n_classes: int) -> float:
    """Error of a guess on a balanced test set: 1 - 1/K."""
    return 1.0 - 1.0 / n_classes


def collapse(outs, n_classes: int) -> str | None:
    """Why a set of trained networks (teacher or base cells of the largest N) says that training did
    not happen, or None: most of them kept their initial weights (early stopping chose step 0) or
    predict a single class for nearly every test input (a dead or diverged network). A network that
    learns anything leaves step 0 on its validation data, so neither happens in a working run, however
    small."""
    n = len(outs)
    kept = sum(o["best_step"] == 0 for o in outs)
    constant = sum(o["majority_share"] >= 0.95 for o in outs)
    err = float(np.mean([o.get("E_t", o.get("test_error")) for o in outs]))
    if 2 * kept > n:
        return (f"{kept} of {n} networks kept their initial weights (no step improved the validation "
                f"error; error {err:.3f}, chance {chance_error(n_classes):.3f})")
    if 2 * constant > n:
        return (f"{constant} of {n} networks predict one class for 95% of the test inputs (error "
                f"{err:.3f}, chance {chance_error(n_classes):.3f})")
    return None


def cell_decision(E_st, E_base, delta: float, level: float):
    """Decide one cell of the grid from paired per-seed errors (Hong et al. 2021 Eq. (6)).

    The per-seed effect is :math:`E_{st} - (1 - \\delta) E_{base}` (both students of a seed share
    data, noise, initialisation and minibatch order); its Student-t interval at ``level`` decides:
    ``green`` when it lies below 0 (the teacher helps by the margin delta), ``red`` when above,
    ``unresolved`` otherwise.

    Returns
    -------
    status : str
    interval : theorycheck.stats.Interval of the effect
    ratio : float, mean E_st over mean E_base (for display)
    """
    E_st, E_base = np.asarray(E_st, float), np.asarray(E_base, float)
    effect = E_st - (1.0 - delta) * E_base
    iv = t_interval(effect, level)
    status = "green" if iv.high < 0 else "red" if iv.low > 0 else "unresolved"
    return status, iv, float(E_st.mean() / E_base.mean()) if E_base.mean() > 0 else 1.0


def column_regime(E_base, n_classes: int, fraction: float, level: float):
    """Whether the base student of a column "cannot extract any meaningful pattern" (Hong et al. 2021
    Sec. 4.2): ``no_pattern`` when the t interval of its error over seeds lies at or above ``fraction``
    times the chance error, ``learns`` when it lies below, ``unresolved`` otherwise.

    Returns
    -------
    status : str
    interval : theorycheck.stats.Interval of E_base
    """
    iv = t_interval(np.asarray(E_base, float), level)
    bar = fraction * chance_error(n_classes)
    return ("no_pattern" if iv.low >= bar else "learns" if iv.high < bar else "unresolved"), iv


def boundary_candidates(status_column, N_t_grid) -> set:
    """The values the lower boundary of the green region (lowest green N_t) can take in one column
    when each unresolved cell may be either colour; ``inf`` stands for "no green cell" (beyond the
    grid)."""
    out = set()
    for n, s in zip(N_t_grid, status_column):
        if s == "green":
            out.add(float(n))
            return out
        if s == "unresolved":
            out.add(float(n))
    out.add(np.inf)
    return out


def rises(values, skip_leading: bool = True) -> str:
    """Hong et al. 2021's shape "moves upward" on one fully coloured sequence of boundaries (one per
    column, ``inf`` = no green cell).

    A boundary measured on a grid is only known to lie between two grid values, so a sequence that
    stays on one grid value may still rise between them: only a decrease contradicts the shape.
    With ``skip_leading`` (Fig. 3, question (1b): "away from the regime in (1a)") the columns before
    the first one with a green cell are left out; without it (Table 2) every column counts, so a noise
    level where no teacher helps followed by one where a teacher does is a decrease.

    Returns
    -------
    ``"rise"`` when the sequence never decreases and ends strictly higher than it starts;
    ``"flat"`` when it never decreases and ends where it starts (the grid cannot show a rise);
    ``"violation"`` when it decreases somewhere; ``"untestable"`` when no column has a green cell or
    fewer than two columns remain.
    """
    v = [float(x) for x in values]
    first = next((j for j, x in enumerate(v) if np.isfinite(x)), None)
    if first is None:
        return "untestable"
    tail = v[first:] if skip_leading else v
    if len(tail) < 2:
        return "untestable"
    if not all(a <= b for a, b in zip(tail, tail[1:])):
        return "violation"
    return "rise" if tail[-1] > tail[0] else "flat"


def shape_outcomes(candidates, skip_leading: bool = True) -> set:
    """The outcomes of :func:`rises` over every way of colouring the unresolved cells, given each
    column's :func:`boundary_candidates`. Exact, by dynamic programming over the columns (the number
    of colourings can be large): the state is (first value, last value, never decreased so far,
    columns counted (capped at 2), some value finite)."""
    states = {None}  # None: nothing counted yet (leading columns without a green cell are skipped)
    for cand in candidates:
        nxt = set()
        for st in states:
            for x in cand:
                finite = bool(np.isfinite(x))
                if st is None:
                    nxt.add(None if skip_leading and not finite else (x, x, True, 1, finite))
                else:
                    first, last, mono, length, any_finite = st
                    nxt.add((first, x, mono and last <= x, min(length + 1, 2), any_finite or finite))
        states = nxt
    out = set()
    for st in states:
        if st is None or not st[4] or st[3] < 2:
            out.add("untestable")
        else:
            first, last, mono, _, _ = st
            out.add("violation" if not mono else "rise" if last > first else "flat")
    return out


def non_decreasing(values) -> bool:
    """True when ``values`` never decrease; ``None`` or ``inf`` stands for "beyond the grid"."""
    v = [np.inf if x is None else float(x) for x in values]
    return all(a <= b for a, b in zip(v[:-1], v[1:]))


def decide_grid(E_st, E_base, delta: float, level: float) -> dict:
    """:func:`cell_decision` of every cell of a grid.

    Parameters
    ----------
    E_st : nested list of shape (n_N_t, n_columns, seeds), the Eq. (2) students' test errors (a cell
        may have fewer seeds: it is paired with the first ones of its column's base students)
    E_base : nested list of shape (n_columns, seeds), the base students' test errors

    Returns
    -------
    dict of nested lists of shape (n_N_t, n_columns)
        ``status`` (green / red / unresolved), ``effect``, ``low``, ``high`` (the effect
        :math:`E_{st} - (1-\\delta) E_{base}` and its interval), ``ratio`` (mean E_st / mean E_base)
        and ``seeds`` (how many seeds decided the cell).
    """
    out = {k: [] for k in ("status", "effect", "low", "high", "ratio", "seeds")}
    for row in E_st:
        cells = [cell_decision(row[j], E_base[j][:len(row[j])], delta, level) for j in range(len(E_base))]
        out["seeds"].append([len(row[j]) for j in range(len(E_base))])
        out["status"].append([c[0] for c in cells])
        out["effect"].append([c[1].estimate for c in cells])
        out["low"].append([c[1].low for c in cells])
        out["high"].append([c[1].high for c in cells])
        out["ratio"].append([c[2] for c in cells])
    return out
