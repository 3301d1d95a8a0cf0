"""Hong et al. 2021, Section 4 (Message II): the operating regime of student-teacher learning; what
its two claims, :mod:`theorycheck.hong2021.claims.fig3` and :mod:`theorycheck.hong2021.claims.table2`,
share: validation, resource estimates, the grid measurement, the decisions of its cells and shapes,
and the notes on the substitute.

``hong2021.fig3``: on a grid of teacher sizes N_t and student sizes N_s (images per class), where does a
student trained with the feature-difference loss of Eq. (2) beat the same student trained with the base
loss of Eq. (1) by a relative margin delta (Fig. 3)? ``hong2021.table2``: at a fixed N_s, how many clean
images N_t must the teacher have seen to help, as the input noise sigma grows (Table 2)?

The paper trains ResNet-18 on CIFAR-10 for 300 epochs; here small ReLU MLPs
(:mod:`theorycheck.hong2021.mlp`) are trained with NumPy, by default on a synthetic teacher-labelled
task (Gaussian inputs, labels of a random ReLU network), on which the student ranges from "cannot
extract any pattern" (error near chance at one image per class) to learning well; scikit-learn's
digits and CIFAR-10 from a local folder are the alternatives (:mod:`theorycheck.hong2021.datasets`).
Both claims use one cell protocol (:mod:`theorycheck.hong2021.experiments.regime`): the same cell
functions, the same seeds, the same data, so a configuration common to the two grids gives the same
numbers in both.

Every cell (N_t, column) is decided from the paired per-seed effect
:math:`E_{st} - (1-\\delta) E_{base}` and its Student-t interval: green, red or unresolved. The shapes
(the boundary rises with N_s; the minimum N_t rises with sigma) are decided over every way of
colouring the unresolved cells, so that no unresolved cell decides a shape.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError, check_choice, check_grid, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Metric
from ...stats import level_per_look
from .. import datasets
from ..experiments import regime as experiments

__all__ = ["PAPER_LAMBDA", "DATASETS", "NOISE_UNITS", "RESNET18_STAGE_NEURONS"]

DATASETS = ("synthetic", "digits", "cifar10")
NOISE_UNITS = ("pixel_std", "pixel")
#: Hong et al. 2021 Sec. 4.1: "we fix the hyper-parameter lambda in (2) to 0.001 for all training instances"
PAPER_LAMBDA = 0.001
#: Neurons of the four stage outputs of ResNet-18 on a 32x32 input (64*32*32 + 128*16*16 + 256*8*8 +
#: 512*4*4), over which the paper's feature term is summed
RESNET18_STAGE_NEURONS = 122880
_K = 10  # classes of every data set here


def _validate_common(params):
    check_choice("dataset", params["dataset"], DATASETS)
    check_choice("noise_unit", params["noise_unit"], NOISE_UNITS)
    check_choice("subset_per_seed", params["subset_per_seed"], (True, False))
    if params["dataset"] == "cifar10":
        datasets.load_cifar10(params["data_dir"])  # a missing or malformed folder is an InputError now
    check_list("hidden", params["hidden"], integer=True, low=1)
    check_int("steps", params["steps"], low=3)
    check_real("lr", params["lr"], low=0.0, low_open=True)
    check_int("batch_size", params["batch_size"], low=1)
    check_real("momentum", params["momentum"], low=0.0, high=1.0, high_open=True)
    check_int("eval_every", params["eval_every"], low=1)
    check_int("n_val", params["n_val"], low=1)
    check_int("n_test", params["n_test"], low=1)
    check_int("test_noise_draws", params["test_noise_draws"], low=1)
    check_int("seeds", params["seeds"], low=2)  # an interval over seeds needs two
    check_int("extra_seeds", params["extra_seeds"], low=0)
    lams = check_grid("lams", params["lams"], low=0.0, low_open=True)
    check_real("lam_paper", params["lam_paper"], low=0.0, low_open=True)
    if params["lam_paper"] not in lams:
        raise InputError("lam_paper", f"must be one of lams {lams} (its students are trained with the others), "
                                      f"got {params['lam_paper']}")
    check_real("delta", params["delta"], low=0.0, high=1.0, low_open=True, high_open=True)
    check_real("level", params["level"], low=0.5, high=1.0, high_open=True)


def _check_pool(params, name: str, largest: int) -> None:
    """Refuse an N larger than the training images per class left after n_val and n_test are held out."""
    if params["dataset"] == "synthetic":
        if largest > experiments.SYNTHETIC["pool"]:
            raise InputError(name, f"synthetic task: at most {experiments.SYNTHETIC['pool']} images per class, "
                                   f"got {largest}")
        return
    D = datasets.load_digits_data() if params["dataset"] == "digits" else datasets.load_cifar10(params["data_dir"])
    held = params["n_val"] + params["n_test"]
    counts = np.bincount(D.y, minlength=D.n_classes)
    if D.heldout.all():
        available = int(counts.min()) - held
        if available < 1:
            raise InputError("n_test", f"+ n_val = {held} leaves no training images in a class of {D.name} "
                                       f"(the smallest class has {int(counts.min())})")
    else:
        available = int(np.bincount(D.y[~D.heldout], minlength=D.n_classes).min())
        if np.bincount(D.y[D.heldout], minlength=D.n_classes).min() < held:
            raise InputError("n_test", f"+ n_val = {held} exceeds the held-out images of a class")
    if largest > available:
        raise InputError(name, f"largest N = {largest} exceeds the {available} training images per class "
                               f"of {D.name} left after n_val={params['n_val']} and n_test={params['n_test']}")


def _input_dim(params) -> int:
    return {"synthetic": experiments.SYNTHETIC["d"], "digits": 64, "cifar10": 3072}[params["dataset"]]


def _estimate(params, largest_N: int, n_columns: int, n_rows: int, columns_param: str) -> Estimate:
    """Peak memory of one cell and the work of the whole grid (multiply-adds of training and
    evaluation, in millions)."""
    d, hidden = _input_dim(params), [int(h) for h in params["hidden"]]
    sizes = [d, *hidden, _K]
    n_weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    n_test, n_val, draws = params["n_test"] * _K, params["n_val"] * _K, params["test_noise_draws"]
    if params["dataset"] == "synthetic":
        per_class = experiments.SYNTHETIC["pool"] + params["n_val"] + params["n_test"]
        data = 5.0 * per_class * _K * d * 8  # generated in chunks of four times the task, plus the task
    else:
        data = {"digits": 1797.0, "cifar10": 60000.0}[params["dataset"]] * d * 9
    width = sum(hidden) + _K
    terms = {  # bytes held at once by one cell, by the parameter that drives them
        "hidden": 6.0 * n_weights * 8,  # weights, momentum, best copy, gradients
        "n_test": ((draws + 2.0) * d + 3.0 * width) * n_test * 8,  # test noise, noisy inputs, activations
        "test_noise_draws": 0.0,
        "dataset": data,
        "N_t_grid": 3.0 * largest_N * _K * (d + width) * 8,  # a training set, its noise and features
    }
    if draws > 100:  # many draws of test noise drive that term rather than the test set
        terms["test_noise_draws"], terms["n_test"] = terms["n_test"], 3.0 * width * n_test * 8
    peak = sum(terms.values())
    memory_param = max(terms, key=terms.get)
    networks = (params["seeds"] + params["extra_seeds"]) * (n_rows + n_columns
                                                            + n_rows * n_columns * len(params["lams"]))
    per_step = 6.0 * params["batch_size"] * n_weights
    per_eval = 2.0 * n_val * n_weights
    per_network = params["steps"] * per_step + params["steps"] / params["eval_every"] * per_eval \
        + 2.0 * draws * n_test * n_weights
    work = networks * per_network / 1e6
    # name what drives the work: the factor furthest above its usual size
    factors = {"seeds": params["seeds"] / 10, "extra_seeds": params["extra_seeds"] / 10,
               "steps": params["steps"] / 2000,
               "lams": len(params["lams"]) / 4, "hidden": n_weights / 1e4,
               "N_t_grid": n_rows / 10, columns_param: n_columns / 10, "n_test": n_test * draws / 1e5}
    return Estimate(peak_bytes=peak, memory_param=memory_param, work=work,
                    work_param=max(factors, key=factors.get))


def _refuse_collapse(params, outs, what: str) -> None:
    """No verdict from training that did not happen: name the learning rate and the way out."""
    why = experiments.collapse(outs, _K)
    if why is not None:
        raise InputError("lr", f"= {params['lr']:g} made training collapse ({what}: {why}); use a learning rate "
                               f"at which the networks learn (the scales use 0.05): lower it if it is larger, "
                               f"raise it or add steps if it is smaller")


def _cell_level(params, criteria) -> float:
    """Level of each cell's interval: the pre-registered level, split over the looks (Bonferroni) when
    unresolved cells get a second look with ``extra_seeds`` more seeds."""
    return level_per_look(criteria["level"], 2 if params["extra_seeds"] > 0 else 1)


def _second_look(params, g, criteria, N_t_grid, columns) -> tuple[set, set]:
    """Cells (i, j) unresolved at the first look, in either lambda setting, and the columns whose base
    students need the extra seeds (those cells' columns, and columns whose cannot-learn regime is
    unresolved)."""
    level = _cell_level(params, criteria)
    cells = set()
    for key in ("E_st_tuned", "E_st"):
        E_st = g[key] if key == "E_st_tuned" else g[key][list(params["lams"]).index(params["lam_paper"])]
        grid = experiments.decide_grid(E_st, g["E_base"], criteria["delta"], level)
        cells |= {(i, j) for i in range(len(N_t_grid)) for j in range(len(columns))
                  if grid["status"][i][j] == "unresolved"}
    cols = {j for _, j in cells}
    if "chance_fraction" in criteria:
        cols |= {j for j, e in enumerate(g["E_base"])
                 if experiments.column_regime(e, _K, criteria["chance_fraction"], level)[0] == "unresolved"}
    return cells, cols


def _measure_grid(params, ctx, N_t_grid, columns, criteria) -> dict:
    """Train the teachers and the paired students of a grid (N_t rows, (N_s, sigma) columns) with the
    shared cell protocol and return the per-seed numbers.

    First look: every cell with ``seeds`` seeds. Second look (when ``extra_seeds`` > 0): the cells
    still unresolved at the first look (at the level split over two looks) get ``extra_seeds`` more,
    the next replicate seeds of the same protocol. Which cells get them is decided with the claim's
    pre-registered ``criteria`` (an overridden criterion changes the verdict, not this choice)."""
    spec = experiments.data_spec(params, experiments.data_seed(ctx.seed))
    train = experiments.train_spec(params)
    seeds = experiments.replicate_seeds(ctx.seed, params["seeds"] + params["extra_seeds"])
    first, more = seeds[:params["seeds"]], seeds[params["seeds"]:]
    t_cells = experiments.teacher_cells(spec, train, first, N_t_grid)
    t_outs = ctx.map(experiments.teacher_cell, t_cells, stream="teachers", blas_threads=1,
                     desc=f"{ctx.claim_id} teachers")
    _refuse_collapse(params, [o for c, o in zip(t_cells, t_outs) if c["N_t"] == N_t_grid[-1]],
                     f"teachers with N_t={N_t_grid[-1]}")
    s_cells = experiments.student_cells(spec, train, first, columns, N_t_grid, params["lams"])
    s_outs = ctx.map(experiments.student_cell, s_cells, stream="students", blas_threads=1,
                     desc=f"{ctx.claim_id} students")
    last = (int(columns[-1][0]), float(columns[-1][1]))
    _refuse_collapse(params, [o for c, o in zip(s_cells, s_outs) if c["teacher"] is None
                              and (c["N_s"], c["sigma"]) == last], "base students of the last column")
    if more:
        g = experiments.collect_grid(t_cells, t_outs, s_cells, s_outs, first, N_t_grid, columns, params["lams"])
        cells, cols = _second_look(params, g, criteria, N_t_grid, columns)
        extra = [c for s in more for j, (ns, sg) in enumerate(columns) if j in cols
                 for c in experiments.student_cells(spec, train, [s], [(ns, sg)], [], params["lams"])]
        extra += [c for s in more for i, nt in enumerate(N_t_grid) for j, (ns, sg) in enumerate(columns)
                  if (i, j) in cells
                  for c in experiments.student_cells(spec, train, [s], [(ns, sg)], [nt], params["lams"])
                  if c["teacher"] is not None]
        if extra:
            s_cells = s_cells + extra
            s_outs = s_outs + ctx.map(experiments.student_cell, extra, stream="students", blas_threads=1,
                                      desc=f"{ctx.claim_id} second look")
    g = experiments.collect_grid(t_cells, t_outs, s_cells, s_outs, seeds, N_t_grid, columns, params["lams"])
    k_paper = list(params["lams"]).index(params["lam_paper"])
    noise = {(c["N_s"], c["sigma"]): o["noise_std"] for c, o in zip(s_cells, s_outs) if c["teacher"] is None}
    return {
        "E_t_per_seed": g["E_t"], "E_base_per_seed": g["E_base"],
        "E_st_paper_per_seed": g["E_st"][k_paper], "E_st_tuned_per_seed": g["E_st_tuned"],
        "lam_tuned_per_seed": g["lam_tuned"],
        "E_t": [float(np.mean(r)) for r in g["E_t"]], "E_base": [float(np.mean(r)) for r in g["E_base"]],
        "chance_error": experiments.chance_error(_K),
        "feature_ratio_at_init": g["feature_ratio_at_init"],
        "teacher_regeneration_gap": experiments.regeneration_gap(t_cells, t_outs, s_cells, s_outs),
        "noise_std": [float(noise[(int(ns), float(sg))]) for ns, sg in columns],
    }


_GRID_METRICS = {
    "E_t_per_seed": Metric("clean test error $E_t$ of the teacher $f_t(N_t)$, per $N_t$ (rows) and seed",
                           "fraction of test inputs", "$E_t$ per seed"),
    "E_base_per_seed": Metric("noisy-input test error $E_{base}(N_s)$ of the base student, Eq. (1), per "
                              "column and seed", "fraction of test inputs", "$E_{base}$ per seed"),
    "E_st_paper_per_seed": Metric("noisy-input test error $E_{st}(N_t, N_s)$ of the student trained with "
                                  "Eq. (2) at the paper's $\\lambda = 0.001$, per $N_t$, column and seed",
                                  "fraction of test inputs", r"$E_{st}$ (the paper's $\lambda$) per seed"),
    "E_st_tuned_per_seed": Metric("noisy-input test error $E_{st}(N_t, N_s)$ of the Eq. (2) student whose "
                                  "$\\lambda$ had the lowest validation error, per $N_t$, column and seed",
                                  "fraction of test inputs", r"$E_{st}$ (tuned $\lambda$) per seed"),
    "lam_tuned_per_seed": Metric("the $\\lambda$ chosen on validation data, per $N_t$, column and seed",
                                 "1", r"tuned $\lambda$"),
    "E_t": Metric("clean test error $E_t$ of the teacher, mean over seeds, per $N_t$",
                  "fraction of test inputs", "$E_t$"),
    "E_base": Metric("noisy-input test error $E_{base}$ of the base student, mean over seeds, per column",
                     "fraction of test inputs", "$E_{base}$"),
    "chance_error": Metric("error of a guess on the balanced test set, $1 - 1/K$", "fraction of test inputs",
                           "chance"),
    "feature_ratio_at_init": Metric("$\\lambda$ times the feature term over the cross-entropy term of Eq. (2) at "
                                    "initialisation, median over cells, per $\\lambda$", "1",
                                    "feature/base at init"),
    "teacher_regeneration_gap": Metric("largest difference between a teacher's $E_t$ in its own cell and "
                                       "regenerated inside a student's cell (0: exact)",
                                       "fraction of test inputs", "regeneration gap"),
    "noise_std": Metric("standard deviation of the input noise $\\epsilon$ on the data's input scale, per "
                        "column", "input units", r"std of $\epsilon$"),
}


def _where(settings: str, params) -> str:
    if settings == "tuned":
        return (rf"at the tuned $\lambda$ (per cell and seed, the one of {list(params['lams'])} with the lowest "
                f"validation error)")
    return rf"at the paper's $\lambda = {params['lam_paper']:g}$"


def _grid(metrics, params, criteria, settings: str) -> dict:
    key = "E_st_tuned_per_seed" if settings == "tuned" else "E_st_paper_per_seed"
    level = _cell_level(params, criteria)
    return {**experiments.decide_grid(metrics[key], metrics["E_base_per_seed"], criteria["delta"], level),
            "level": level}


def _seed_range(grid) -> str:
    n = sorted({x for row in grid["seeds"] for x in row})
    return f"{n[0]}" if len(n) == 1 else f"{n[0]} or {n[-1]}"


def _counts(status_rows) -> str:
    flat = [s for row in status_rows for s in row]
    return f"{flat.count('green')} green, {flat.count('red')} red, {flat.count('unresolved')} unresolved"


def _benefit(grid, params, settings, substitute) -> tuple[str, str]:
    flat = [s for row in grid["status"] for s in row]
    if "green" in flat:
        status = "PASS"
    elif flat and all(s == "red" for s in flat):
        status = "FAIL"
    else:
        status = "INCONCLUSIVE"
    best = min((grid["high"][i][j], i, j) for i in range(len(grid["high"])) for j in range(len(grid["high"][0])))
    return status, (f"{_where(settings, params)} on the {substitute}: cells {_counts(grid['status'])} "
                    f"($t$ intervals at {100 * grid['level']:.4g}% per cell over {_seed_range(grid)} seeds); the "
                    rf"most helpful cell has $E_{{st}} - (1-\delta)E_{{base}}$ = "
                    f"{grid['effect'][best[1]][best[2]]:+.4f} "
                    f"[{grid['low'][best[1]][best[2]]:+.4f}, {grid['high'][best[1]][best[2]]:+.4f}]: {status}")


def _shape(grid, N_t_grid, columns, labels, skip_leading, settings, params, substitute, what):
    cands = [experiments.boundary_candidates([row[j] for row in grid["status"]], N_t_grid) for j in columns]
    outcomes = experiments.shape_outcomes(cands, skip_leading)
    status = ("PASS" if outcomes == {"rise"} else "FAIL" if outcomes == {"violation"} else "INCONCLUSIVE")

    def fmt(c):
        vals = ["beyond the grid" if not math.isfinite(x) else f"{int(x)}" for x in sorted(c)]
        return vals[0] if len(vals) == 1 else "one of {" + ", ".join(vals) + "}"
    parts = "; ".join(f"{labels[j]}: {fmt(c)}" for j, c in zip(columns, cands))
    why = {"PASS": "it rises under every colouring of the unresolved cells",
           "FAIL": "it decreases under every colouring of the unresolved cells",
           "INCONCLUSIVE": ("the grid shows the boundary in fewer than two columns"
                            if outcomes == {"untestable"} else
                            "it stays on one grid value, so any rise lies between the grid's $N_t$ values"
                            if outcomes == {"flat"} else
                            "the unresolved cells decide whether it rises")}[status]
    return status, f"{_where(settings, params)} on the {substitute}: {what} {parts}; {why}: {status}"


def _substitute(params) -> str:
    return {"synthetic": "synthetic teacher-labelled substitute", "digits": "digits substitute",
            "cifar10": "CIFAR-10 MLP substitute"}[params["dataset"]]


_SCALE_NOTE_COMMON = (
    "Reconstruction, not the paper's experiment: ResNet-18 on CIFAR-10 for 300 epochs is replaced by a "
    "ReLU MLP trained with NumPy SGD (momentum 0.9, minibatch 32, a fixed number of steps with the paper's "
    "schedule scaled down: the learning rate divided by 10 at 1/3 and 2/3 of training; the network with the "
    "best validation error is kept, as in Sec. 4.1). The paper does not give batch size or momentum. "
    "Default data: a synthetic teacher-labelled task (inputs $x \\sim N(0, I_{32})$, 10 balanced classes "
    "labelled by a random 32-64-10 ReLU network), chosen because on it the student spans the regimes the "
    "paper speaks about: with one image per class its error is within 10% of chance ('cannot extract any "
    "meaningful pattern'), with hundreds it learns; a test set of 1000 inputs per class. On scikit-learn's "
    "$8 \\times 8$ digits even one noisy image per class brings the error to about half of chance, so "
    "question (1a) cannot be posed there. The feature term of Eq. (2) is on every hidden layer (the paper: "
    "the output of each ResNet stage), a mean over samples and a sum over neurons. The paper's "
    "$\\lambda = 0.001$ multiplies a sum over the 122,880 neurons of ResNet-18's stage outputs; our MLP has "
    "128 hidden neurons, so at $\\lambda = 0.001$ the feature term is a much smaller share of the loss than "
    "in the paper. Each Eq. (2) cell therefore trains one student per $\\lambda$ in a grid of decades from "
    "the paper's value (0.001, 0.01, 0.1, 1; keeping $\\lambda$ times the number of neurons fixed would give "
    "about 1): the verdict uses the student whose $\\lambda$ has the lowest validation error (noisy "
    "validation inputs, chosen per cell and seed, never on test data), and every criterion also reports the "
    "paper's $\\lambda = 0.001$. Noise: $\\sigma_\\epsilon$ is in units of the training pool's input "
    "standard deviation (1 on the synthetic task; ``noise_unit='pixel'`` for the raw input scale); the paper "
    "does not say on which scale it adds noise. Subsets: each seed draws its own nested subsets "
    "(``subset_per_seed=True``); the paper used one subset per $N$ for all seeds "
    "(``subset_per_seed=False``). ``dataset='digits'`` or ``'cifar10'`` with ``data_dir=`` a folder of the "
    "CIFAR-10 python batches run the same check; their $N$ grids and ``n_test`` must then be set with "
    "``--param``.")


def _common_scale(**over):
    base = {"dataset": "synthetic", "data_dir": None, "noise_unit": "pixel_std", "subset_per_seed": True,
            "hidden": [64, 64], "steps": 1000, "lr": 0.05, "batch_size": 32, "momentum": 0.9,
            "eval_every": 20, "n_val": 100, "n_test": 1000, "test_noise_draws": 2, "seeds": 8, "extra_seeds": 8,
            "lams": [0.001, 0.01, 0.1, 1.0], "lam_paper": PAPER_LAMBDA}
    base.update(over)
    return base


def _regime_note(result, grid) -> str:
    """How the measured cells were obtained and decided (for the footnotes of Fig. 3 and Table 2)."""
    p = result.params
    seeds = f"{p['seeds']}" + (f" (+{p['extra_seeds']} for unresolved cells)" if p["extra_seeds"] else "")
    return (f"{seeds} seeds, $\\lambda$ tuned per cell; a cell is decided by the {100 * grid['level']:.4g}% t "
            f"interval of $E_{{st}} - (1-\\delta)E_{{base}}$ over seeds; numbers at the marks: $E_{{st}}/E_{{base}}$ "
            f"(seed means).")


def _log2_grid_axis(ax, axis: str, values) -> None:
    """A log2 axis labelled with the grid's own values."""
    getattr(ax, f"set_{axis}scale")("log", base=2)
    getattr(ax, f"set_{axis}ticks")(list(values), [str(v) for v in values])
