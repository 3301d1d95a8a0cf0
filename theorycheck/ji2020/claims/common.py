"""What the Ji & Zhu (2020) claims share: the note on their settings, the ranges in which their
physical parameters are meaningful in double precision, the bound on the teacher's logits, the
interval criteria and the resource estimates."""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_real
from ...seeding import substream
from ...stats import judge, t_interval
from .. import ntk

__all__ = ["PAPER_NOTE", "T_RANGE", "LOGIT_OVER_T_MAX", "LOGIT_OVER_T_MIN", "check_temperature", "check_teacher_logits",
           "interval_criterion", "kernel_bytes", "MFLOP", "binary_task_seeds", "kernel_machine_has_boundary"]

#: Appended to every claim's ``scale_note``.
PAPER_NOTE = ("Only the paper's abstract, poster and reviews could be read: its experimental settings "
              "(architecture, widths, sample sizes, grids) were not recovered, so every scale uses "
              "settings reconstructed for this toolkit, and the claim says which.")

#: Temperatures accepted by every claim. The paper's temperatures are of order one (the settings
#: reconstructed here use T in {1, 2, 5}); below 0.01 the soft label sigma(z_t / T) of any teacher
#: logit above 0.4 rounds to a hard label, and above 100 the soft term rho / T of the loss is a
#: hundredth of the hard one, so the distillation loss degenerates at either end.
T_RANGE = (0.01, 100.0)

#: Largest abs(z_t) / T a teacher may reach. The loss keeps full precision through sigma(-z_t / T),
#: which underflows beyond abs(z_t) / T = 745; the effective-logit solver's bracket search needs a margin
#: below that.
LOGIT_OVER_T_MAX = 600.0

#: Smallest useful bound on abs(z_t) / T: below it every soft label sigma(z_t / T) is 1/2 to eight digits
#: and the teacher carries no information the loss can resolve.
LOGIT_OVER_T_MIN = 1e-8

#: Work units of :class:`theorycheck.limits.Estimate` for these claims: millions of floating-point
#: operations.
MFLOP = 1e6


def check_temperature(name: str, T) -> float:
    """``T`` inside :data:`T_RANGE`, else :class:`InputError` naming ``name`` and the reason."""
    lo, hi = T_RANGE
    try:
        return check_real(name, T, low=lo, high=hi)
    except InputError:
        raise InputError(name, f"must be a temperature in [{lo:g}, {hi:g}], got {T!r}: outside it the soft "
                               "labels sigma(z_t / T) are hard labels (T small) or the soft term is "
                               "negligible (T large) in double precision") from None


def check_teacher_logits(data_seeds, *, d: int, n_centres: int, c_std: float, T: float,
                         diag_reg: float = 0.0) -> float:
    """Refuse a teacher whose logits could leave the range the loss resolves, before any cell runs.

    Each seed's teacher is the kernel machine the cells draw first from ``substream(data_seed)``
    (:func:`theorycheck.ji2020.experiments.setting.kernel_machine`): :math:`z_t(x)=\\phi(x)^\\top w_t` with
    :math:`\\|w_t\\|^2=c^\\top(\\Theta_{UU}+\\lambda I)c`. On the unit sphere :math:`\\|\\phi(x)\\|^2=1+\\lambda`, so by
    Cauchy-Schwarz :math:`|z_t(x)|\\le\\|w_t\\|\\sqrt{1+\\lambda}` everywhere, and the same bound holds for
    every projection of :math:`w_t` (an interpolating teacher).

    Returns
    -------
    float
        The largest bound :math:`\\max\\|w_t\\|\\sqrt{1+\\lambda}/T` over the seeds.

    Raises
    ------
    InputError
        Naming ``c_std`` when the bound exceeds :data:`LOGIT_OVER_T_MAX` or is below
        :data:`LOGIT_OVER_T_MIN`.
    """
    from ..experiments.setting import kernel_machine
    worst = 0.0
    for ds in data_seeds:
        U, c = kernel_machine(substream(int(ds)), d, n_centres, c_std)
        with np.errstate(over="ignore", invalid="ignore"):
            norm_sq = float(c @ ((ntk.relu_ntk(U) + diag_reg * np.eye(n_centres)) @ c))
            bound = float(np.sqrt(norm_sq * (1.0 + diag_reg))) / T
        if not np.isfinite(bound) or bound > LOGIT_OVER_T_MAX:
            size = f"{bound:.3g}" if np.isfinite(bound) else "beyond the floating-point range"
            raise InputError("c_std", f"is too large: c_std={c_std:g} gives teacher logits up to |z_t| / T = {size} "
                                      f"(T={T:g}), above {LOGIT_OVER_T_MAX:g}, where sigma(-z_t / T) underflows; "
                                      "lower c_std or raise T")
        if bound < LOGIT_OVER_T_MIN:
            raise InputError("c_std", f"is too small: c_std={c_std:g} gives teacher logits of at most |z_t| / T = "
                                      f"{bound:.3g} (T={T:g}), below {LOGIT_OVER_T_MIN:g}, where every soft label is "
                                      "1/2 to eight digits; raise c_std")
        worst = max(worst, bound)
    return worst


def interval_criterion(effect: str, values, threshold: float, side: str, level: float, paper: str,
                       where: str = "") -> tuple:
    """An empirical criterion ``(status, sentence, paper_says)`` from per-seed effects: a Student-t
    interval at ``level`` (:func:`theorycheck.stats.t_interval`), decided against ``threshold``
    (:func:`theorycheck.stats.judge`); ``where`` names the setting (e.g. "on the reconstructed
    definition of data inefficiency")."""
    values = np.asarray(values, dtype=float)
    interval = t_interval(values, level)
    status, text = judge(effect, interval, threshold, side, values)
    return status, text + (f" ({where})" if where else ""), paper


def kernel_bytes(*shapes) -> float:
    """Bytes of float64 matrices of the given (rows, cols) shapes held together."""
    return float(sum(8.0 * r * c for r, c in shapes))


def binary_task_seeds(ctx, part: str, count: int, has_boundary) -> tuple[list[int], int]:
    """``count`` data seeds whose ground truth has a decision boundary, and how many draws had none.

    The poster's problem is "binary classification with ground truth decision boundary"
    :math:`y_g = 1\\{f_g(x) > 0\\}`. A kernel-machine ground truth can keep one sign over the whole
    sphere (its kernel is non-negative), and such a draw is not a binary classification problem:
    every student is then exactly right and every effect zero. Draws are taken in order from the
    direct stream ``part`` of the run seed and kept when ``has_boundary(data_seed)`` says both classes
    occur among the points the cell draws; the rule is part of the setting, fixed before any run.

    Raises
    ------
    InputError
        Naming ``c_std`` if hardly any draw has a boundary (a setting that cannot pose the problem).
    """
    seeds, rejected, k = [], 0, 0
    while len(seeds) < count:
        ds = int(ctx.rng(part=part, seed=k).integers(0, 2 ** 62))
        k += 1
        if has_boundary(ds):
            seeds.append(ds)
        else:
            rejected += 1
            if rejected > 10 * count + 20:
                raise InputError("c_std", f"gives a ground truth without a decision boundary in {rejected} of {k} "
                                          "draws: the setting does not pose a binary classification problem")
    return seeds, rejected


def kernel_machine_has_boundary(data_seed: int, *, d: int, n_centres: int, c_std: float, point_counts) -> bool:
    """Whether the kernel-machine ground truth drawn first from ``substream(data_seed)`` takes both
    signs on the points a cell draws next (``point_counts``: the sizes of the successive draws of
    points on the sphere, all of which are checked)."""
    from ..experiments.setting import kernel_machine
    rng = substream(int(data_seed))
    U, c = kernel_machine(rng, d, n_centres, c_std)
    pos = neg = False
    for n in point_counts:
        z = ntk.relu_ntk(ntk.unit_sphere(int(n), d, rng), U) @ c
        pos, neg = pos or bool(np.any(z > 0)), neg or bool(np.any(z < 0))
    return pos and neg
