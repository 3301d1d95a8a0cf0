r"""Hong et al. 2021, nonlinear experiments: what Fig. 2 (early stopping, Sec. 3.2;
:mod:`theorycheck.hong2021.claims.fig2`) and Fig. 6 (knowledge decomposition, Sec. 5.3;
:mod:`theorycheck.hong2021.claims.fig6`) share: the seeds of a repetition, validation, resource
estimates, the sweep of the student cells and the rules that decide their verdicts. Both use wide
two-layer ReLU networks, exact population test errors and the fused simulator of
:mod:`theorycheck.hong2021.relu`; the cells are in :mod:`theorycheck.hong2021.experiments.relu`.

How the verdicts are decided
----------------------------
A **repetition** replicates the paper's experiment: its own teacher, student initialisation and
samples, shared by all of its students (the paper: "all of these trained students use Xavier normal
initialization with the same random seed and the same training samples"). Every effect is a number
per repetition, a paired difference of two students of that repetition, in units of the
repetition's :math:`\mathbb E f_t^2` (the test error of predicting 0). Its mean over repetitions
gets a Student-t interval (:func:`theorycheck.stats.t_interval`) at the claim's ``level``.

* **Regime.** Both figures speak of N_s that are "not too small"; Sec. 4.2 says what too small means:
  "when N_s is too small, it simply is impossible for the student to extract any meaningful pattern
  from its training data, regardless of how good the teacher's features are". So an N_s is judged
  when the student with the best teacher of the figure (Fig. 2: the early-stopped student-teacher
  student, whose teacher is the ground truth; Fig. 6: the student of the finest decomposition, the
  smallest g) extracts a pattern: its error is below :math:`(1-\delta)\,\mathbb E f_t^2`, interval
  wholly below. Fig. 2 also leaves out an N_s where the base student is so close to the Bayes error
  that no student can beat it by the margin (:math:`(1-\delta) E_{base} \le` Bayes error).
  Unresolved N_s are shown, never judged.
* **Every judged N_s.** A criterion that must hold at every judged N_s PASSes when every interval is
  on the claim's side (an intersection-union test: no correction needed), FAILs when some N_s's
  interval at the Bonferroni level (:func:`theorycheck.stats.level_per_look` over the judged N_s)
  lies wholly on the other side, and is INCONCLUSIVE otherwise, with the repetitions an interval
  would need at the observed spread.
* The margin :math:`\delta = 0.02` is the paper's own measure of a significant improvement
  (Sec. 4.1, Fig. 3: :math:`E_{st} \le (1-\delta) E_{base}` with :math:`\delta = 0.02`).

Long runs: at paper scale a training run takes hours, so each student cell gets run settings (how
often to print progress and to save a snapshot: ``progress_s``, ``snapshot_s``; they change no number
and are not in the cell's key or seed) and a snapshot file, and an interrupted run continues within
the cell.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_choice, check_int, check_list, check_real
from ...limits import Estimate
from ...registry import Verdict
from ...stats import level_per_look, seeds_needed, t_interval
from ..experiments.relu import blas_threads
from ..relu.population import DEFAULT_BLOCK_ELEMS

__all__ = ["judge_cells", "regime"]


_SEED_WORDS = 2 ** 31 - 1

#: Largest noise level accepted: at sigma = 100 the noise is 100 times the signal's scale, so the
#: Bayes error is within 1e-4 of :math:`\mathbb E f_t^2` (nothing left to learn; the paper's levels
#: are 0.1 to 0.5), and the float32 training sums stay far from overflow.
SIGMA_MAX = 100.0


def _seeds(ctx, figure: str, rep: int) -> list[int]:
    """(teacher, student, data) seeds of repetition ``rep``, derived from the run seed."""
    return [int(s) for s in ctx.rng(figure=figure, rep=rep).integers(_SEED_WORDS, size=3)]


def _common_validate(p):
    check_int("m", p["m"], low=2)
    check_int("d", p["d"], low=1)
    check_real("sigma", p["sigma"], low=0.0, high=SIGMA_MAX)
    check_int("steps", p["steps"], low=1)
    # more evaluations than steps add nothing (the schedule holds each step once)
    check_int("n_eval", p["n_eval"], low=2, high=p["steps"] + 1)
    check_int("reps", p["reps"], low=1)
    check_choice("dtype", p["dtype"], ("float32", "float64"))
    # a fraction of 1/lambda_max: GD on the local quadratic is stable only below 2
    check_real("lr_frac", p["lr_frac"], low=0.0, high=2.0, low_open=True, high_open=True)
    check_real("stop_tol", p["stop_tol"], low=0.0)
    check_real("progress_s", p["progress_s"], low=0.0)
    check_real("snapshot_s", p["snapshot_s"], low=0.0, low_open=True)
    check_list("N_s", p["N_s"], integer=True, low=1, distinct=True)
    check_real("level", p["level"], low=0.5, high=1.0, high_open=True)
    check_real("margin", p["margin"], low=0.0, high=1.0, high_open=True)


def _cell_bytes(m: int, d: int, N: int, N_pool: int, dtype: str) -> float:
    """Bytes one student cell holds at once (a bound, within a factor of about 2).

    Host float64: teacher and initial weights, the sample pool and its teacher features; device
    (training dtype): the simulator's (N, m) buffers and first layer; float64 population-error
    blocks (:data:`~theorycheck.hong2021.relu.population.DEFAULT_BLOCK_ELEMS` entries, at least a
    row of m) and weights.
    """
    w = 4 if dtype == "float32" else 8
    host = 8.0 * (3 * m * d + 2 * N_pool * m + 3 * N_pool * d)
    device = w * (6.0 * N * m + 3.0 * m * d + N * N)
    kernel = 8.0 * (3 * max(DEFAULT_BLOCK_ELEMS, m) + 2 * m * d)
    return host + device + kernel


def _estimate(p, arms: int) -> Estimate:
    """Peak memory of the largest cell and work = training steps x student cells."""
    N_max = max(p["N_s"])
    peak = _cell_bytes(p["m"], p["d"], N_max, N_max, p["dtype"])
    sizes = {"m": p["m"], "d": p["d"], "N_s": N_max}
    cells = p["reps"] * len(p["N_s"]) * arms
    return Estimate(peak_bytes=peak, memory_param=max(sizes, key=sizes.get),
                    work=float(cells) * p["steps"], work_param="steps" if p["steps"] >= cells else "reps")


def _changed(params, claim_id: str) -> str:
    """The parameters that differ from the nearest scale of the claim (the user's overrides)."""
    from ...registry import get_claim
    scales = get_claim(claim_id).scales.values()
    diffs = min(([k for k in p if params.get(k) != p[k]] for p in scales), key=len)
    return ", ".join(diffs)


def _check_training(runs: dict, params, claim_id: str) -> None:
    """No verdict from training that failed: a run whose data-fit term ended no lower than that of
    predicting 0 on its own samples (diverged, or stuck) ends the claim with an input error naming the
    parameters the user changed."""
    worst = max(float(r["final_fit"]) for r in runs.values())
    if not worst < 1.0:
        names = _changed(params, claim_id)
        raise InputError(names or "scale",
                         f"made {claim_id}'s training fail: a student's training loss ended at {worst:.3g} times "
                         "that of predicting 0 on its own samples (no fit); use values nearer the scale's "
                         "defaults (a smaller sigma or lr_frac, or more steps)")


def _run_settings(p) -> dict:
    """The sweep's run settings of the student cells."""
    return {"progress_s": float(p["progress_s"]), "snapshot_s": float(p["snapshot_s"])}


def _map_students(ctx, fn, cells, settings, desc):
    """Sweep of student cells, each with its :func:`~theorycheck.hong2021.experiments.relu.blas_threads`
    (one thread for small GEMMs); results in the order of ``cells``."""
    out = [None] * len(cells)
    for threads in (1, None):
        idx = [i for i, c in enumerate(cells) if blas_threads(c) == threads]
        if idx:
            done = ctx.map(fn, [cells[i] for i in idx], stream="runs", settings=settings,
                           blas_threads=threads, desc=desc)
            for i, r in zip(idx, done):
                out[i] = r
    return out


def _fmt_iv(iv) -> str:
    return f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def regime(values, threshold: float, side: str, level: float) -> list[str]:
    """Per N_s: ``"in"`` when the t interval of the per-repetition ``values[:, i]`` lies wholly on
    ``side`` of ``threshold``, ``"out"`` when wholly on the other side, ``"unresolved"`` otherwise.

    Parameters
    ----------
    values : array of shape (reps, n_N), reps >= 2
    threshold : float;  side : {"below", "above"};  level : float in [0.5, 1)
    """
    v = np.asarray(values, dtype=float)
    out = []
    for i in range(v.shape[1]):
        iv = t_interval(v[:, i], level)
        on = iv.high < threshold if side == "below" else iv.low > threshold
        off = iv.low > threshold if side == "below" else iv.high < threshold
        out.append("in" if on else "out" if off else "unresolved")
    return out


def judge_cells(effect: str, values: dict, threshold: float, side: str, level: float) -> tuple[str, str]:
    """Decide an effect that must hold at every judged N_s (module docstring).

    Parameters
    ----------
    effect : str, what the per-repetition number is (for the sentence)
    values : dict N_s -> per-repetition values (at least 2 each); empty: INCONCLUSIVE
    threshold : float;  side : {"below", "above"}, the claim's side
    level : float, confidence level of each interval

    Returns
    -------
    (status, sentence)
    """
    if not values:
        return "INCONCLUSIVE", (f"{effect}: no $N_s$ is judged (none is resolved as one where the student "
                                "learns; see the regime criterion)")
    k = len(values)
    wide = level_per_look(level, k)
    parts, passes, fails, need = [], [], [], []
    for N, v in values.items():
        iv = t_interval(v, level)
        ivw = t_interval(v, wide)
        ok = iv.high < threshold if side == "below" else iv.low > threshold
        bad = ivw.low > threshold if side == "below" else ivw.high < threshold
        passes.append(ok)
        fails.append(bad)
        parts.append(f"$N_s = {N}$: {_fmt_iv(iv)}")
        if not ok and not bad:
            n = seeds_needed(v, threshold, level)
            need.append(f"$N_s = {N}$: {n if n else 'no number of'}")
    status = "PASS" if all(passes) else "FAIL" if any(fails) else "INCONCLUSIVE"
    n_reps = len(next(iter(values.values())))
    text = (f"{effect}, mean [{100 * level:g}% $t$ interval] over {n_reps} repetitions: " + "; ".join(parts)
            + f"; the claim needs every interval {side} {threshold:g}: {status}")
    if status == "FAIL":
        bad_N = [N for N, b in zip(values, fails) if b]
        text += (f" ($N_s$ = {bad_N}: wholly on the other side even at the {100 * wide:.3g}% level, "
                 f"the error rate split over the {k} values of $N_s$)")
    elif status == "INCONCLUSIVE" and need:
        text += " (repetitions an interval would need at this spread: " + ", ".join(need) + ")"
    return status, text


def _one_rep(names, reps: int) -> Verdict:
    text = rf"{reps} repetition gives no interval; run with reps $\geq 2$"
    return Verdict.from_criteria(**{n: ("INCONCLUSIVE", text, p) for n, p in names.items()})


def _paper_scale_words(p) -> str:
    """How the network differs from the paper's (d_x = 500, m = 20,000), in words."""
    return f"$d_x = {p['d']}$, $m = {p['m']}$ (the paper: 500 and 20,000)"
