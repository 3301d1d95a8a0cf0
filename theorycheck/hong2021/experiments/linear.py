"""Experiments of Hong et al. 2021, Theorems 1 and 2 (claims ``hong2021.thm1``, ``hong2021.thm2``):
the two-layer linear student trained to zero loss with the base loss (1) or the student-teacher loss
(2).

Sweep cells (module level, ``fn(cell, rng) -> dict``):

* :func:`thm1_cell`: one gradient flow of Theorem 1 from the start :math:`W_i(0) = \\delta\\hat W_i`,
  with the checks of the reconstructed proof on its end point;
* :func:`thm2_cell`: the lowest-loss L-BFGS minimiser of Theorem 2 over a few starts, compared with
  :math:`W^\\star` of Eq. (5).

Both run many small matrix products: the claims run them with one BLAS thread each
(``blas_threads=1``). The mathematics is :mod:`theorycheck.hong2021.linear`; this module only
assembles runs and reduces their outputs to the numbers the claims report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from ... import nets
from ...errors import InputError
from ...seeding import substream
from ..linear import closed_forms as cf
from ..linear.flow import gradient_flow
from ..linear.minimise import minimise_lbfgs
from ..linear.problems import (Instance, interpolating_second_layer, scaled_init, teacher_features,
                               thm1_instance, thm2_instance)

__all__ = ["instance_seeds", "thm1_setup", "thm1_cell", "Thm1Gaps", "thm1_gaps", "Thm1LimitFits",
           "thm1_limit_fits", "thm1_base_limit", "THM2_CONTROLS", "control_key", "thm2_case",
           "thm2_cell"]

_EPS = float(np.finfo(float).eps)


def instance_seeds(ctx, n: int, tag: str) -> list[int]:
    """``n`` instance seeds from the direct streams ``ctx.rng(instance=k, tag=tag)``.

    Every run that shares an instance (the base and student-teacher runs, every delta or lambda)
    receives the same integer seed, so they see the same data, teacher and start.

    Parameters
    ----------
    ctx : theorycheck.sweep.RunContext
    n : int
        Number of instances.
    tag : str
        Names the claim's family of instances (``"thm1"``, ``"thm2"``, ``"thm2-controls"``).

    Returns
    -------
    list of int, length n, each in ``[0, 2**63)``
    """
    return [int(ctx.rng(instance=k, tag=tag).integers(2 ** 63)) for k in range(n)]


# ----------------------------------------------------------------------------------------------
# Theorem 1
# ----------------------------------------------------------------------------------------------
def thm1_setup(cell: dict) -> tuple[Instance, list[np.ndarray]]:
    """The instance and the start of a Theorem 1 run (Hong et al. 2021, Theorem 1, Eq. (4)).

    Both depend only on ``cell["instance_seed"]`` and the sizes, so the base and ST runs (and every
    delta) share data, teacher and direction :math:`\\hat W`: the data and teacher come from
    ``substream(instance_seed, 0)``, the start from ``substream(instance_seed, 1)``.

    Parameters
    ----------
    cell : dict
        ``N_s, d_x, m, d_y, sigma, teacher_activation, delta, instance_seed``.

    Returns
    -------
    inst : Instance
        :func:`~theorycheck.hong2021.linear.problems.thm1_instance`: ``X_eps`` (N_s, d_x), ``Y``
        (N_s, d_y), teacher features ``T`` (N_s, m).
    W0 : list of ndarray
        :math:`W_1(0)` (m, d_x) and :math:`W_2(0)` (d_y, m), each of Frobenius norm ``delta``.
    """
    seed = int(cell["instance_seed"])
    inst = thm1_instance(cell["N_s"], cell["d_x"], cell["m"], cell["d_y"], cell["sigma"],
                         substream(seed, 0), cell["teacher_activation"])
    W0 = scaled_init([cell["d_x"], cell["m"], cell["d_y"]], cell["delta"], substream(seed, 1))
    return inst, W0


def thm1_cell(cell: dict, rng) -> dict:
    """One gradient flow of Theorem 1: the base loss (1) if ``cell["loss"] == "base"``, else the ST
    loss (2) with weight ``cell["lam"]``, integrated until ``loss/loss(0) <= cell["loss_tol"]``.

    Besides the end point it checks two steps of the proof, as reconstructed for this toolkit (the
    paper's proof is in its supplement, which was not available):

    * the invariance :math:`W_1(t)(I-\\Pi) = W_1(0)(I-\\Pi)` (step 1), to one step's error budget
      ``inv_tol = rtol |W_1| + atol sqrt(#entries)``: the integrators update the state by linear
      combinations of right-hand-side values, all of which satisfy it, so only round-off or a
      gradient not of the form :math:`GX_\\epsilon` can break it;
    * the identity :math:`W(\\infty) = YX^+ + W_2(\\infty)W_1(0)(I-\\Pi)` (step 3) at the final time,
      to ``ident_bound = ||residual|| / s_min(X_eps) + ||W_2||_2 inv_err`` (plus round-off).

    Parameters
    ----------
    cell : dict
        :func:`thm1_setup`'s keys and ``loss`` ("base" or "st"), ``lam``, ``method``, ``rtol``,
        ``atol``, ``loss_tol``, ``t_max``.
    rng : numpy.random.Generator
        Unused: all randomness comes from ``instance_seed`` (shared by paired runs).

    Returns
    -------
    dict
        ``W1`` (m, d_x), ``W2`` (d_y, m), solver diagnostics (``loss_rel``, ``grad_rel``,
        ``converged``, ``success``, ``message``, ``nfev``, ``njev``, ``nlu``, ``t``, ``wall_s``),
        ``inv_err``, ``inv_tol``, ``ident_err``, ``ident_bound``, ``W2_spec`` (:math:`\\|W_2\\|_2`)
        and ``teacher_residual``.
    """
    inst, W0 = thm1_setup(cell)
    st = cell["loss"] == "st"
    res = gradient_flow(W0, inst.X_eps, inst.Y, inst.T if st else None, cell["lam"] if st else 0.0,
                        method=cell["method"], rtol=cell["rtol"], atol=cell["atol"],
                        loss_tol=cell["loss_tol"], t_max=cell["t_max"])
    W1, W2 = res.weights
    d = inst.X_eps.shape[1]
    frozen = np.eye(d) - cf.row_space_projector(inst.X_eps)
    inv_err = float(np.linalg.norm((W1 - W0[0]) @ frozen))
    inv_tol = cell["rtol"] * float(np.linalg.norm(W1)) + cell["atol"] * math.sqrt(W1.size)
    # ||W Pi - Y X^+|| <= ||residual|| / s_min(X_eps) and ||W2 (W1 - W1(0))(I-Pi)|| <= ||W2|| inv_err
    W = W2 @ W1
    resid = float(np.sqrt(nets.base_loss([W1, W2], inst.X_eps, inst.Y, "identity")))
    s_min = float(np.linalg.svd(inst.X_eps, compute_uv=False)[-1])
    ident_err = float(np.linalg.norm(W - cf.limit_identity(inst.X_eps, inst.Y, W2, W0[0])))
    ident_bound = resid / s_min + float(np.linalg.norm(W2, 2)) * inv_err + 1e3 * _EPS * (
        1.0 + float(np.linalg.norm(W)))
    return {"W1": W1, "W2": W2, "loss_rel": res.loss_rel, "grad_rel": res.grad_rel,
            "converged": res.converged, "success": res.success, "message": res.message,
            "nfev": res.nfev, "njev": res.njev, "nlu": res.nlu, "t": res.t, "wall_s": res.wall_s,
            "inv_err": inv_err, "inv_tol": inv_tol, "ident_err": ident_err, "ident_bound": ident_bound,
            "W2_spec": float(np.linalg.norm(W2, 2)), "teacher_residual": inst.interpolation_residual}


@dataclass(frozen=True)
class Thm1Gaps:
    """Gaps between the base and ST end points of Theorem 1, arrays of shape (instances, lams, deltas).

    Attributes
    ----------
    gap : ndarray
        :math:`\\|W_L^{base}(\\infty) - W_L^{st}(\\infty)\\|_F`.
    bound : ndarray
        :math:`\\|W_2^b(\\infty)\\|_2 + \\|W_2^{st}(\\infty)\\|_2`: gap/delta is at most this
        (step 4 of the reconstructed proof) up to ``slack``.
    slack : ndarray
        Sum of the two runs' ``ident_bound``: how far each end point may be from its exact limit.
    """

    gap: np.ndarray
    bound: np.ndarray
    slack: np.ndarray


def _end_to_end(run: dict) -> np.ndarray:
    return np.asarray(run["W2"]) @ np.asarray(run["W1"])


def thm1_gaps(runs: dict, seeds, lams, deltas) -> Thm1Gaps:
    """Gap table of Theorem 1 from the outputs of :func:`thm1_cell`.

    Parameters
    ----------
    runs : dict
        ``(instance_seed, delta, loss, lam) -> thm1_cell output``; base runs have ``lam = 0.0``.
    seeds, lams, deltas : sequences of length n_I, n_L, n_D

    Returns
    -------
    Thm1Gaps, arrays of shape (n_I, n_L, n_D)
    """
    shape = (len(seeds), len(lams), len(deltas))
    gap, bound, slack = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, s in enumerate(seeds):
        for k, delta in enumerate(deltas):
            b = runs[(s, delta, "base", 0.0)]
            for j, lam in enumerate(lams):
                r = runs[(s, delta, "st", lam)]
                gap[i, j, k] = float(np.linalg.norm(_end_to_end(b) - _end_to_end(r)))
                bound[i, j, k] = b["W2_spec"] + r["W2_spec"]
                slack[i, j, k] = b["ident_bound"] + r["ident_bound"]
    return Thm1Gaps(gap, bound, slack)


@dataclass(frozen=True)
class Thm1LimitFits:
    """Log-log fits of the gap against delta on the smallest deltas (Theorem 1's limit
    :math:`\\delta \\to 0`), one per (instance, lambda); arrays of shape (n_I, n_L).

    Attributes
    ----------
    deltas : list of float
        The fitted deltas (the ``fit_last`` smallest), decreasing.
    slope, slope_se : ndarray
        Least-squares slope of :math:`\\ln` gap against :math:`\\ln\\delta` and its standard error
        :math:`\\sqrt{\\mathrm{SSR}/((n-2)S_{xx})}`.
    t_quantile : float
        :math:`t_{n-2}` at the two-sided ``level`` (n = number of fitted deltas).
    slack_shift : ndarray
        The most the end points' distance from their limits can move the slope:
        :math:`\\sum_k |c_k|\\,(-\\ln(1 - \\varepsilon_k))`, with :math:`c_k = (x_k - \\bar x)/S_{xx}` the
        weights of the least-squares slope and :math:`\\varepsilon_k` = slack / gap at delta k (a
        relative error :math:`\\varepsilon` of the gap moves its logarithm by at most
        :math:`-\\ln(1-\\varepsilon)`); infinite when some :math:`\\varepsilon_k \\ge 1/2`.
    tol : ndarray
        Half-width of the slope's interval: ``t_quantile * slope_se + slack_shift``.
    C_limit : ndarray
        gap / delta at the smallest delta: the estimate of Theorem 1's constant C.
    """

    deltas: list
    slope: np.ndarray
    slope_se: np.ndarray
    t_quantile: float
    slack_shift: np.ndarray
    tol: np.ndarray
    C_limit: np.ndarray

    @property
    def low(self) -> np.ndarray:
        return self.slope - self.tol

    @property
    def high(self) -> np.ndarray:
        return self.slope + self.tol


def thm1_limit_fits(deltas, gap, slack, fit_last: int = 3, level: float = 0.95) -> Thm1LimitFits:
    """Fit gap against delta on log-log axes over the ``fit_last`` smallest deltas, per (instance,
    lambda), with a tolerance derived from the fit itself (:class:`Thm1LimitFits`).

    Theorem 1 bounds the gap by :math:`C\\delta` "with delta sufficiently small": at larger delta the
    limiting second layers still move with delta (gap/delta = C + O(delta)), so only the smallest
    decades test the statement. The tolerance is the fit's own standard error times the t quantile
    (it measures the curvature left in the window) plus the shift the end points' distance from their
    limits can cause.

    Parameters
    ----------
    deltas : sequence of float, length n_D (any order)
    gap, slack : ndarray of shape (n_I, n_L, n_D), in the order of ``deltas``
        :class:`Thm1Gaps` ``gap`` and ``slack``.
    fit_last : int >= 3
        Number of smallest deltas fitted (3 is the fewest that leave a standard error).
    level : float in [0.5, 1)
        Two-sided level of the t quantile.

    Returns
    -------
    Thm1LimitFits
    """
    deltas = np.asarray(deltas, dtype=np.float64)
    gap = np.asarray(gap, dtype=np.float64)
    slack = np.asarray(slack, dtype=np.float64)
    if deltas.ndim != 1 or gap.ndim != 3 or gap.shape[2] != deltas.size or slack.shape != gap.shape:
        raise InputError("gap", f"and slack must have shape (instances, lambdas, {deltas.size}); got "
                                f"{gap.shape}, {slack.shape}")
    if not (np.all(np.isfinite(deltas)) and np.all(deltas > 0) and np.all(np.isfinite(gap))
            and np.all(gap >= 0) and np.all(np.isfinite(slack)) and np.all(slack >= 0)):
        raise InputError("gap", "deltas must be positive and gap, slack finite and >= 0")
    fit_last = int(fit_last)
    if not 3 <= fit_last <= deltas.size:
        raise InputError("fit_last", f"must be in [3, {deltas.size}] (the number of deltas), got {fit_last}")
    idx = np.argsort(deltas)[:fit_last][::-1]  # the smallest deltas, largest first
    x = np.log(deltas[idx])
    c = (x - x.mean()) / float(np.sum((x - x.mean()) ** 2))
    tiny = float(np.finfo(float).tiny)
    n_inst, n_lam = gap.shape[:2]
    slope, se, shift = np.zeros((n_inst, n_lam)), np.zeros((n_inst, n_lam)), np.zeros((n_inst, n_lam))
    for i in range(n_inst):
        for j in range(n_lam):
            g, sl = gap[i, j, idx], slack[i, j, idx]
            # least squares written out (scipy's linregress gives no standard error for an exact fit)
            y = np.log(np.maximum(g, tiny))
            slope[i, j] = float(np.dot(c, y))
            resid = y - y.mean() - slope[i, j] * (x - x.mean())
            se[i, j] = math.sqrt(float(np.dot(resid, resid)) / (fit_last - 2) / float(np.sum((x - x.mean()) ** 2)))
            with np.errstate(over="ignore", divide="ignore"):  # a vanishing gap: eps = inf, handled
                eps = np.divide(sl, g, out=np.full_like(g, np.inf), where=g > 0)
            # a relative error eps < 1 of the gap moves ln(gap) by at most -ln(1 - eps); past 1/2
            # the end points do not resolve the gap at all
            shift[i, j] = (float(np.sum(np.abs(c) * -np.log1p(-eps))) if np.all(eps < 0.5)
                           else float("inf"))
    tq = float(st.t.ppf(0.5 + float(level) / 2, fit_last - 2))
    C_limit = gap[:, :, idx[-1]] / deltas[idx[-1]]
    return Thm1LimitFits([float(d) for d in deltas[idx]], slope, se, tq, shift, tq * se + shift, C_limit)


def thm1_base_limit(common: dict, seeds, delta: float, base_runs: dict) -> tuple[list, list]:
    """Where the base flow ends for the smallest start (steps 4-5 of the reconstructed proof).

    As :math:`\\delta \\to 0` the base limit approaches the minimum-norm interpolator
    :math:`YX^+`, and its second layer becomes balanced, :math:`\\|W_2^b(\\infty)\\|_2 \\to
    \\sqrt{\\|YX^+\\|_2}`.

    Parameters
    ----------
    common : dict
        The sizes of :func:`thm1_setup` (without ``instance_seed`` and ``delta``).
    seeds : sequence of int
        Instance seeds.
    delta : float
        The smallest delta of the sweep.
    base_runs : dict
        ``instance_seed -> thm1_cell output`` of the base run at ``delta``.

    Returns
    -------
    rel_dist : list of float
        :math:`\\|W^b - YX^+\\|_F / \\|YX^+\\|_F` per instance.
    balance : list of float
        :math:`\\|W_2^b\\|_2 / \\sqrt{\\|YX^+\\|_2}` per instance.
    """
    rel_dist, balance = [], []
    for s in seeds:
        inst, _ = thm1_setup(dict(common, instance_seed=s, delta=delta))
        b = base_runs[s]
        W_mn = cf.min_norm_interpolator(inst.X_eps, inst.Y)
        rel_dist.append(float(np.linalg.norm(_end_to_end(b) - W_mn) / np.linalg.norm(W_mn)))
        balance.append(b["W2_spec"] / math.sqrt(np.linalg.norm(W_mn, 2)))
    return rel_dist, balance


# ----------------------------------------------------------------------------------------------
# Theorem 2
# ----------------------------------------------------------------------------------------------
#: Negative controls: each breaks one assumption of Theorem 2.
THM2_CONTROLS = ("teacher not interpolating", "m below rank(W*)", "duplicated samples", "ReLU student")


def control_key(kind: str) -> str:
    """Metric name of a Theorem 2 control's gap, e.g. ``control_gap_m_below_rank``."""
    slug = kind.lower().replace("(w*)", "").replace(" ", "_").strip("_")
    return f"control_gap_{slug}"


def thm2_case(cell: dict) -> Instance:
    """Data and teacher of one Theorem 2 case, deterministic in ``cell["rep_seed"]``
    (drawn from ``substream(rep_seed, 0)``).

    Cases (``cell["kind"]``): ``"narrow"`` (the theorem's setting,
    :func:`~theorycheck.hong2021.linear.problems.thm2_instance`); ``"wide"`` (linear truth
    :math:`y = Bx` and a teacher of width ``m_wide >= N_s`` made to interpolate exactly); and the
    controls of :data:`THM2_CONTROLS`: a teacher that does not interpolate (label noise), rank-3
    targets with a width-1 teacher, duplicated samples (rank :math:`X_\\epsilon < d_x`), and a
    plain instance for the ReLU student.

    Parameters
    ----------
    cell : dict
        ``kind, N_s, d_x, m, d_y, m_wide, sigma, teacher_activation, label_noise, rep_seed``.

    Returns
    -------
    Instance
        ``X_eps`` (N_s, d_x), ``Y`` (N_s, d_y'), teacher features ``T`` (N_s, m'), where d_y' = 3
        and m' = 1 for the rank control.
    """
    rng = substream(int(cell["rep_seed"]), 0)
    kind, N, d, sigma = cell["kind"], cell["N_s"], cell["d_x"], cell["sigma"]
    if kind == "narrow":
        return thm2_instance(N, d, cell["m"], cell["d_y"], sigma, rng, cell["teacher_activation"])
    if kind == "wide":  # linear truth y = Bx, wide teacher (m >= N_s) made to interpolate exactly
        X = rng.standard_normal((N, d))
        X_eps = X + sigma * rng.standard_normal((N, d))
        B = rng.standard_normal((cell["d_y"], d)) / math.sqrt(d)
        Y = X @ B.T
        W1_t = nets.xavier_normal([d, cell["m_wide"]], rng)[0]
        T = teacher_features(W1_t, X, cell["teacher_activation"])
        W2_t, res = interpolating_second_layer(T, Y)
        return Instance(X, X_eps, Y, W1_t, W2_t, T, cell["teacher_activation"], res, B)
    if kind == "teacher not interpolating":
        return thm2_instance(N, d, cell["m"], cell["d_y"], sigma, rng, "identity",
                             label_noise=cell["label_noise"])
    if kind == "m below rank(W*)":
        # rank-3 targets from a width-3 teacher; the width-1 student and teacher keep its first unit
        inst = thm2_instance(N, d, 3, 3, sigma, rng, "identity")
        T1 = inst.T[:, :1]
        W2_1 = np.linalg.lstsq(T1, inst.Y, rcond=None)[0].T
        res = float(np.linalg.norm(T1 @ W2_1.T - inst.Y) / np.linalg.norm(inst.Y))
        return type(inst)(inst.X, inst.X_eps, inst.Y, inst.W1_t[:1], W2_1, T1, "identity", res, None)
    if kind == "duplicated samples":
        return thm2_instance(N, d, cell["m"], cell["d_y"], sigma, rng, "identity", duplicate_to=d - 2)
    if kind == "ReLU student":
        return thm2_instance(N, d, cell["m"], cell["d_y"], sigma, rng, "identity")
    raise AssertionError(kind)


def thm2_cell(cell: dict, rng: np.random.Generator) -> dict:
    """Minimise Eq. (1) (``cell["loss"] == "base"``) or Eq. (2) for one Theorem 2 case with L-BFGS
    from ``n_restarts`` starts (``init_scale`` times Xavier, drawn from ``rng``); keep the lowest loss
    and compare its end-to-end matrix with :math:`W^\\star = YX_\\epsilon^T(X_\\epsilon
    X_\\epsilon^T)^{-1}` of Eq. (5).

    A rank-deficient :math:`X_\\epsilon` (duplicated samples) has no unique minimiser: it starts at
    the standard (Xavier) scale to expose it and is compared with the minimum-norm least-squares
    solution. The ReLU student is compared on its predictions on the training inputs.

    Parameters
    ----------
    cell : dict
        :func:`thm2_case`'s keys and ``loss``, ``lam``, ``n_restarts``, ``init_scale``,
        ``gtol``, ``maxiter``.
    rng : numpy.random.Generator
        The cell's generator (the starts).

    Returns
    -------
    dict
        ``mismatch`` (relative distance to :math:`W^\\star`), ``certificate`` (its a-posteriori
        bound, :func:`~theorycheck.hong2021.linear.minimise.end_to_end_certificate`), ``kappa``
        (cond of :math:`X_\\epsilon^TX_\\epsilon`), optimiser diagnostics (``grad_rel``, ``loss``,
        ``loss0``, ``restart_losses``, ``nit``, ``nfev``, ``success``, ``message``, ``wall_s``) and
        ``teacher_residual``.
    """
    inst = thm2_case(cell)
    kind = cell["kind"]
    m = {"wide": cell["m_wide"], "m below rank(W*)": 1}.get(kind, cell["m"])
    d_y = inst.Y.shape[1]
    act = "relu" if kind == "ReLU student" else "identity"
    scale = 1.0 if kind == "duplicated samples" else cell["init_scale"]
    st = cell["loss"] == "st"
    best, losses = None, []
    for _ in range(cell["n_restarts"]):
        W0 = [scale * W for W in nets.xavier_normal([cell["d_x"], m, d_y], rng)]
        res = minimise_lbfgs(W0, inst.X_eps, inst.Y, inst.T if st else None, cell["lam"] if st else 0.0,
                             act, gtol=cell["gtol"], maxiter=cell["maxiter"])
        losses.append(res.loss)
        if best is None or res.loss < best.loss:
            best = res
    W1, W2 = best.weights
    if kind == "duplicated samples":  # Eq. (5) is undefined; compare with the min-norm LS solution
        W_star, kappa = cf.min_norm_interpolator(inst.X_eps, inst.Y), float("inf")
    else:
        W_star, kappa = cf.ols_end_to_end(inst.X_eps, inst.Y), cf.gram_condition(inst.X_eps)
    if act == "identity":
        mismatch = float(np.linalg.norm(W2 @ W1 - W_star) / np.linalg.norm(W_star))
    else:  # relative distance of the predictions on the training inputs
        ref = inst.X_eps @ W_star.T
        pred = nets.forward([W1, W2], inst.X_eps, act).out
        mismatch = float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))
    return {"mismatch": mismatch, "certificate": best.certificate, "kappa": kappa,
            "grad_rel": best.grad_rel, "loss": best.loss, "loss0": best.loss0,
            "restart_losses": losses, "nit": best.nit, "nfev": best.nfev, "success": best.success,
            "message": best.message, "wall_s": best.wall_s, "teacher_residual": inst.interpolation_residual}
