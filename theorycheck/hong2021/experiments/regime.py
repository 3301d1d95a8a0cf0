"""Sweep cells of the operating-regime claims, Hong et al. 2021 Sec. 4 (``hong2021.fig3``,
``hong2021.table2``), and the pure functions that turn their outputs into the figure's grid.

Every training run is one sweep cell:

* a **teacher cell** (:func:`teacher_cell`) per (N_t, seed): trained on N_t clean images per class,
  early-stopped on clean validation images; it records the teacher's clean test error E_t;
* a **student cell** (:func:`student_cell`) per (N_s, sigma, seed) with the base loss of Eq. (1),
  and per (N_t, N_s, sigma, seed) with Eq. (2). A student cell regenerates its teacher
  deterministically (:func:`train_teacher`: same data, seeds and settings as the teacher cell;
  memoised per process), so cells stay independent and resumable.

Cell parameters (built by :func:`teacher_cells` and :func:`student_cells`): ``data`` is the data
spec of :func:`data_spec`, ``train`` the SGD settings of :func:`train_spec`, ``seed`` a replicate
seed drawn by the claim from ``ctx.rng``. The cells ignore the sweep's ``rng``: all randomness of a
replicate comes from its seed, split by :func:`theorycheck.seeding.substream` into the streams
below, so the base and Eq. (2) students of a seed share their images, noise, initial weights and
minibatch order (common random numbers), and test and validation noise (from the data seed) are
shared by all students.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from ...errors import InputError, check_int
from ...seeding import substream
from .. import datasets, mlp

__all__ = ["SYNTHETIC", "data_spec", "train_spec", "teacher_cells", "student_cells", "teacher_cell",
           "student_cell", "task", "noise_std", "nested_noise", "training_subset", "train_teacher",
           "clear_caches", "teacher_errors", "regeneration_gap", "paired_summary", "paired_grid",
           "non_decreasing", "min_helpful_N_t", "fig3_boundary", "boundary_after_first_benefit"]

#: the synthetic teacher-labelled task: x ~ N(0, I_32), 10 classes from a random 32-64-10 ReLU network
SYNTHETIC = {"d": 32, "width": 64, "n_classes": 10}

# Tags of the independent substreams of one seed (never reuse a tag for another purpose): replicate
# seeds feed the initial weights, minibatch order, training noise and subset order; the data seed
# feeds the test and validation noise, the split and the synthetic task.
_TEACHER_INIT, _STUDENT_INIT, _BATCHES, _TRAIN_NOISE, _TEST_NOISE, _VAL_NOISE, _SPLIT, _TASK, _POOL = range(9)
_TRAIN_KEYS = ("hidden", "steps", "lr", "batch_size", "momentum", "eval_every")


# ------------------------------------------------------------------------------------------------
# cell parameters
# ------------------------------------------------------------------------------------------------

def data_spec(params, data_seed: int, pool: int) -> dict:
    """The data of a run as a cell parameter: data set, held-out sizes, noise unit, ``pool`` (the
    largest N per class the run uses) and the ``data_seed`` of the split and the shared noise."""
    spec = {"dataset": params["dataset"], "data_dir": params["data_dir"], "n_val": params["n_val"],
            "n_test": params["n_test"], "pool": int(pool), "data_seed": int(data_seed),
            "noise_unit": params["noise_unit"], "test_noise_draws": params["test_noise_draws"],
            "subset_per_seed": bool(params["subset_per_seed"])}
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
    return [{"data": spec, "train": train, "N_t": n, "seed": s} for s in seeds for n in N_t_grid]


def _student(spec, train, N_s, sigma, seed, lam, N_t=None):
    return {"data": spec, "train": train, "N_s": int(N_s), "sigma": float(sigma), "seed": seed,
            "lam": float(lam) if N_t is not None else 0.0,
            "teacher": None if N_t is None else {"N_t": int(N_t)}}


def student_cells(spec: dict, train: dict, seeds, columns, N_t_grid, lam: float) -> list[dict]:
    """The :func:`student_cell` parameters of a grid: for every seed, a base student (Eq. (1)) per
    column, then for every seed and N_t an Eq. (2) student per column (grouped by teacher, so a worker
    reuses its memoised teacher).

    Parameters
    ----------
    columns : sequence of (N_s, sigma)
        The grid's columns: N_s varies in Fig. 3, sigma in Table 2.
    """
    cells = [_student(spec, train, ns, sg, s, lam) for s in seeds for ns, sg in columns]
    cells += [_student(spec, train, ns, sg, s, lam, nt) for s in seeds for nt in N_t_grid for ns, sg in columns]
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
        D = datasets.synthetic_teacher_task(spec["pool"] + spec["n_val"] + spec["n_test"], SYNTHETIC["d"],
                                            SYNTHETIC["n_classes"], SYNTHETIC["width"],
                                            substream(spec["data_seed"], _TASK))
    split = datasets.per_class_split(D, spec["n_val"], spec["n_test"], substream(spec["data_seed"], _SPLIT))
    if split.max_per_class < spec["pool"]:
        raise InputError("N_t", f"grid needs {spec['pool']} training images per class; {D.name} has "
                                f"{split.max_per_class} after n_val={spec['n_val']}, n_test={spec['n_test']}")
    pool_rows = split.pool[:, :spec["pool"]].ravel()
    pixel_std = float(np.std(D.X[pool_rows]))
    return D, split, pixel_std


def task(spec: dict):
    """The data of a :func:`data_spec`, memoised per process.

    Returns
    -------
    data : ClassificationData
    split : PerClassSplit, fixed by the data seed
    pixel_std : float, standard deviation of the pixels of the training pool's first ``pool`` images
        per class
    """
    return _task_cached(json.dumps(spec, sort_keys=True))


def noise_std(spec: dict, sigma: float) -> float:
    """Noise standard deviation on the [0, 1] pixel scale: ``sigma`` times the pool's pixel standard
    deviation (``noise_unit="pixel_std"``, as for per-channel normalised inputs) or ``sigma`` itself."""
    return sigma * (task(spec)[2] if spec["noise_unit"] == "pixel_std" else 1.0)


def nested_noise(seed: int, n_per_class: int, n_classes: int, d: int) -> np.ndarray:
    """Standard normal noise for the nested training set with ``n_per_class`` images per class
    (class-major rows, as :meth:`PerClassSplit.subset`): the epsilon_i of Hong et al. 2021 Eq. (1),
    fixed per training image. Class k's rows come from their own stream, so the noise of the first N
    images of a class is the same for every larger N.

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
    and shared by the teacher and both students of that seed), so seed averages also average over
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
    return _teacher_cached(json.dumps([spec, train, N_t, seed], sort_keys=True))


def clear_caches() -> None:
    """Forget the memoised teachers and data of this process (the next call recomputes them)."""
    _teacher_cached.cache_clear()
    _task_cached.cache_clear()


# ------------------------------------------------------------------------------------------------
# cells
# ------------------------------------------------------------------------------------------------

def teacher_cell(cell: dict, rng) -> dict:
    """One teacher f_t(N_t) (Hong et al. 2021 Table 1): its clean test error ``E_t``, validation error
    and early-stopping step."""
    del rng  # a teacher is a function of the cell's seeds, so student cells can regenerate it
    spec = cell["data"]
    D, split, _ = task(spec)
    res = train_teacher(spec, cell["train"], cell["N_t"], cell["seed"])
    return {"E_t": mlp.error_rate(res.params, D.X[split.test], D.y[split.test]),
            "val_error": res.val_error, "best_step": res.best_step}


def student_cell(cell: dict, rng) -> dict:
    """One student: f_base(N_s) (``teacher`` None, Hong et al. 2021 Eq. (1)) or f_st(N_t, N_s)
    (Eq. (2) with weight ``lam``).

    Returns its test error on noisy test inputs (``test_error``: a mean over ``test_noise_draws``
    noise draws, the Monte Carlo form of Eq. (3) with the 0-1 loss), its validation error and
    early-stopping step, and for f_st the ratio of the feature term to the base term at
    initialisation (``feature_ratio_at_init``) and the regenerated teacher's clean test error
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
    X_test, y_test = D.X[split.test], D.y[split.test]
    test_noise = substream(spec["data_seed"], _TEST_NOISE).standard_normal(
        (spec["test_noise_draws"], len(split.test), d))
    p0 = mlp.init_mlp(_sizes(spec, train), substream(seed, _STUDENT_INIT))
    out = {}
    teacher_hidden, lam = None, 0.0
    if cell["teacher"] is not None:
        t = train_teacher(spec, train, cell["teacher"]["N_t"], seed)
        teacher_hidden = mlp.hidden_features(t.params, X)  # teacher features on the CLEAN inputs
        lam = cell["lam"]
        base0, feat0 = mlp.loss_terms(p0, X_noisy, y, teacher_hidden)
        out["feature_ratio_at_init"] = lam * feat0 / base0
        out["teacher_E_t"] = mlp.error_rate(t.params, X_test, y_test)
    res = _train(train, p0, X_noisy, y, X_val, D.y[split.val], substream(seed, _BATCHES, N_s, 1),
                 teacher_hidden, lam)
    out["test_error"] = float(np.mean([mlp.error_rate(res.params, X_test + std * z, y_test)
                                       for z in test_noise]))
    out["val_error"] = res.val_error
    out["best_step"] = res.best_step
    return out


# ------------------------------------------------------------------------------------------------
# from cell outputs to the grid (pure)
# ------------------------------------------------------------------------------------------------

def teacher_errors(cells, outs, N_t_grid) -> list[float]:
    """Seed-averaged clean test error E_t per N_t of the grid, from the teacher cells and outputs."""
    E_t = {n: [] for n in N_t_grid}
    for c, o in zip(cells, outs):
        E_t[c["N_t"]].append(o["E_t"])
    return [float(np.mean(E_t[n])) for n in N_t_grid]


def regeneration_gap(teacher_cells, teacher_outs, student_cells, student_outs) -> float:
    """Largest absolute difference between a regenerated teacher's E_t and its teacher cell's (0 when
    regeneration is exact)."""
    E_t = {(c["N_t"], c["seed"]): o["E_t"] for c, o in zip(teacher_cells, teacher_outs)}
    gaps = [abs(o["teacher_E_t"] - E_t[(c["teacher"]["N_t"], c["seed"])])
            for c, o in zip(student_cells, student_outs) if c["teacher"] is not None]
    return float(max(gaps, default=0.0))


def paired_summary(E_st, E_base, delta: float) -> dict:
    """One cell (N_t, N_s) of Fig. 3 from paired per-seed errors.

    Parameters
    ----------
    E_st, E_base : sequences of float of shape (seeds,), the Eq. (2) and base students' test errors
    delta : float, the relative margin of Hong et al. 2021 Eq. (6)

    Returns
    -------
    dict
        ``E_st`` and ``E_base`` (seed means), ``ratio`` E_st/E_base, ``green`` (Eq. (6):
        E_st <= (1 - delta) E_base) and ``ratio_se``, the paired standard error of the ratio over
        seeds (for information: the paper reports the averages only; 0 for one seed).
    """
    E_st, E_base = np.asarray(E_st), np.asarray(E_base)
    mean_st, mean_base = float(E_st.mean()), float(E_base.mean())
    se = float(np.std(E_st - E_base, ddof=1) / np.sqrt(len(E_st)) / mean_base) if len(E_st) > 1 else 0.0
    return {"E_st": mean_st, "E_base": mean_base, "ratio": mean_st / mean_base,
            "green": bool(mean_st <= (1.0 - delta) * mean_base), "ratio_se": se}


def paired_grid(cells, outs, seeds, N_t_grid, columns, delta: float) -> list[list[dict]]:
    """:func:`paired_summary` of every (N_t, column) of the grid from the student cells of
    :func:`student_cells` and their outputs: ``grid[i][j]`` is N_t = ``N_t_grid[i]``, column
    ``columns[j]`` = (N_s, sigma)."""
    base = {(c["N_s"], c["sigma"], c["seed"]): o["test_error"]
            for c, o in zip(cells, outs) if c["teacher"] is None}
    st = {(c["teacher"]["N_t"], c["N_s"], c["sigma"], c["seed"]): o["test_error"]
          for c, o in zip(cells, outs) if c["teacher"] is not None}
    cols = [(int(ns), float(sg)) for ns, sg in columns]
    return [[paired_summary([st[(nt, ns, sg, s)] for s in seeds], [base[(ns, sg, s)] for s in seeds], delta)
             for ns, sg in cols] for nt in N_t_grid]


def non_decreasing(values) -> bool:
    """True when ``values`` never decrease; ``None`` stands for "beyond the grid" (+infinity)."""
    v = [np.inf if x is None else x for x in values]
    return all(a <= b for a, b in zip(v[:-1], v[1:]))


def min_helpful_N_t(N_t_grid, green_column):
    """Smallest N_t of the grid whose cell is green (E_st <= (1 - delta) E_base, Eq. (6)), or None if
    none is: the paper's "minimum training samples N_t required" (Table 2) and the lower boundary of
    the green region of a Fig. 3 column."""
    for n, g in zip(N_t_grid, green_column):
        if g:
            return int(n)
    return None


def fig3_boundary(N_t_grid, green) -> list:
    """Lower boundary of the green region per column; ``green[i][j]`` is cell (N_t[i], column j)."""
    return [min_helpful_N_t(N_t_grid, [row[j] for row in green]) for j in range(len(green[0]))]


def boundary_after_first_benefit(boundary) -> list:
    """The Fig. 3 boundary from the first N_s column with a green cell on (the columns before it are the
    regime (1a) of "too small N_s"); an all-red column after it reads as "beyond the grid" (None)."""
    first = next((j for j, b in enumerate(boundary) if b is not None), len(boundary))
    return list(boundary[first:])
