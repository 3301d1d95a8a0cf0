"""Hong et al. 2021, Theorem 1 (claim ``hong2021.thm1``): gradient flow of the linear student as an
ODE, cross-checked against a closed-form trajectory, and the claim's verdict on good and bad numbers."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import cli, draw_figure, nets, run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021.experiments.linear import thm1_cell, thm1_setup
from theorycheck.hong2021.linear import (balanced_mode_trajectory, gradient_flow, min_norm_interpolator,
                                         row_space_projector, scaled_init, thm1_instance)
from theorycheck.registry import get_claim
from theorycheck.runner import resolve

CLAIM = "hong2021.thm1"


@pytest.fixture(scope="module")
def smoke():
    return run_claim(CLAIM, "smoke")


def test_theorem1_gap_is_linear_in_delta_at_smoke_scale(smoke):
    m = smoke.metrics
    assert smoke.passed, smoke.failed_criteria()
    assert m["n_converged"] == m["n_runs"] and m["solver_success"]
    assert m["slope"] >= 1 - smoke.criteria_values["slope_tol"]
    # C = gap / delta is bounded by ||W2b(inf)||_2 + ||W2st(inf)||_2 (digest §2.2 step 4), up to the
    # measured distance of each run to its limit
    assert m["C_over_bound_max"] <= 1.0
    assert 0 < m["C"] <= m["C_bound"]
    # the base limit approaches the minimum-norm interpolator as delta -> 0 (digest §2.2 step 5)
    assert m["base_to_min_norm_rel_at_min_delta"] <= 10 * min(smoke.params["deltas"])


_FLOW = {"sigma": 0.5, "teacher_activation": "identity", "method": "BDF", "rtol": 1e-10, "atol": 1e-12,
         "loss_tol": 1e-20, "t_max": 1e4}


@given(N=st.integers(1, 4), extra=st.integers(1, 6), m_extra=st.integers(0, 3), d_y=st.integers(1, 2),
       delta=st.sampled_from([1e-1, 1e-2, 1e-3]), lam=st.sampled_from([0.1, 1.0, 10.0]),
       seed=st.integers(0, 2**31 - 1))
def test_theorem1_gap_within_C_delta_over_random_instances(N, extra, m_extra, d_y, delta, lam, seed):
    """Theorem 1 for random sizes N_s < d_x, m >= N_s, data and starts of size delta: both flows keep
    W1 (I - Pi) = W1(0) (I - Pi), end at W = Y X^+ + W2(inf) W1(0) (I - Pi), and so differ by at most
    delta (||W2^b(inf)||_2 + ||W2^st(inf)||_2). Every tolerance is the run's own error budget: the
    integrator's rtol |W1| + atol sqrt(#W1) for the invariance, and residual / s_min(X_eps) (distance
    to the zero-loss limit) plus that invariance error for the identity and the gap."""
    cell = dict(_FLOW, N_s=N, d_x=N + extra, m=N + m_extra, d_y=d_y, delta=delta, instance_seed=seed)
    runs = [thm1_cell(dict(cell, loss="base", lam=0.0), None), thm1_cell(dict(cell, loss="st", lam=lam), None)]
    for r in runs:
        assert r["inv_err"] <= r["inv_tol"]
        assert r["ident_err"] <= r["ident_bound"]
    (b, s_) = runs
    gap = np.linalg.norm(np.asarray(b["W2"]) @ np.asarray(b["W1"]) - np.asarray(s_["W2"]) @ np.asarray(s_["W1"]))
    assert gap <= delta * (b["W2_spec"] + s_["W2_spec"]) + b["ident_bound"] + s_["ident_bound"]


def _saxe_problem(u0, seed=0, N=3, d=6, m=4, d_y=2):
    """Whitened inputs (orthonormal rows: X X^T = I_N) and an aligned, balanced start (digest §2.3)."""
    rng = np.random.default_rng(seed)
    X = np.linalg.qr(rng.standard_normal((d, N)))[0].T
    Y = rng.standard_normal((N, d_y))
    U, S, Vt = np.linalg.svd(Y.T @ X, full_matrices=False)
    R = np.linalg.qr(rng.standard_normal((m, len(S))))[0]
    return X, Y, U, S, Vt, [math.sqrt(u0) * R @ Vt, math.sqrt(u0) * U @ R.T]


def _mode_errors(res, U, S, Vt, u0):
    """|u_k numerical - u_k(t)| over the recorded times, absolute and in tolerance units."""
    err_abs, err_units = [], []
    for t, (W1, W2) in zip(res.snapshots["t"], res.snapshots["weights"]):
        u_num = np.diag(U.T @ (W2 @ W1) @ Vt.T)
        u_exact = np.array([balanced_mode_trajectory(t, s, u0) for s in S])
        err_abs.append(np.max(np.abs(u_num - u_exact)))
        err_units.append(np.max(np.abs(u_num - u_exact) / (res.atol + res.rtol * np.abs(u_exact))))
    return max(err_abs), max(err_units)


@pytest.mark.parametrize("method", ["BDF", "LSODA", "Radau"])
def test_gradient_flow_matches_closed_form_mode_trajectory(method):
    u0 = 1e-3
    X, Y, U, S, Vt, W0 = _saxe_problem(u0)
    times = np.linspace(0.0, 6.0, 31)[1:]  # through the plateau, the rise and the saturation
    res = gradient_flow(W0, X, Y, method=method, rtol=1e-10, atol=1e-12, record_times=times,
                        t_first=6.0, t_max=6.0, loss_tol=1e-300, grad_tol=1e-300)
    assert res.success and len(res.snapshots["t"]) == len(times)
    _, units = _mode_errors(res, U, S, Vt, u0)
    # Error in units of the requested tolerance (atol + rtol |u|). Each step's error is <= 1 unit in
    # the solver's RMS norm over the P state entries, so <= sqrt(P) units per entry; during the
    # growth phase an error is amplified at most by u(t)/u(t') <= s_max/u0, and it contracts after.
    P = sum(w.size for w in W0)
    assert units <= math.sqrt(P) * S.max() / u0


def test_gradient_flow_error_follows_the_requested_tolerance():
    u0 = 1e-2
    X, Y, U, S, Vt, W0 = _saxe_problem(u0, seed=1)
    times = np.linspace(0.0, 4.0, 9)[1:]
    errs = []
    for rtol, atol in ((1e-6, 1e-8), (1e-10, 1e-12)):
        res = gradient_flow(W0, X, Y, rtol=rtol, atol=atol, record_times=times, t_first=4.0, t_max=4.0,
                            loss_tol=1e-300, grad_tol=1e-300)
        errs.append(_mode_errors(res, U, S, Vt, u0)[0])
    # a tolerance-proportional integrator's global error scales with the tolerance: four decades of
    # tolerance must buy at least two decades of accuracy (a modelling error, e.g. a wrong time
    # scale or gradient factor, would not shrink at all)
    assert errs[1] <= errs[0] / 100


@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_first_layer_gradient_lies_in_the_data_span_for_any_student_activation(activation):
    # digest §2.2 step 1: dL/dW1 = (backpropagated error)^T X_eps, so W1 (I - Pi) never moves. This
    # holds for ANY student activation (the first layer sees the data only through W1 X_eps), so a
    # ReLU student is not a negative control for the invariance -- contrary to the digest's §8 note.
    rng = np.random.default_rng(5)
    inst = thm1_instance(4, 9, 5, 2, 0.5, rng, "tanh")
    W = nets.xavier_normal([9, 5, 2], rng)
    _, grads = nets.st_loss_and_grad(W, inst.X_eps, inst.Y, [inst.T], 0.7, activation)
    frozen = np.eye(9) - row_space_projector(inst.X_eps)
    assert np.linalg.norm(grads[0] @ frozen) <= 1e-12 * np.linalg.norm(grads[0])
    assert np.linalg.norm(grads[0] @ (np.eye(9) - frozen)) > 0.1 * np.linalg.norm(grads[0])


def _end_to_end(res):
    return res.weights[1] @ res.weights[0]


def test_large_delta_control_gap_is_order_one():
    # "delta sufficiently small" is needed for the bound to say anything: at delta = 1 the two
    # limits differ by a sizeable fraction of the interpolator itself, at delta = 1e-3 they do not
    inst = thm1_instance(4, 12, 6, 1, 0.5, np.random.default_rng(0))
    W_mn = np.linalg.norm(min_norm_interpolator(inst.X_eps, inst.Y))
    rel = {}
    for delta in (1.0, 1e-3):
        W0 = scaled_init([12, 6, 1], delta, np.random.default_rng(1))
        base = gradient_flow(W0, inst.X_eps, inst.Y)
        st = gradient_flow(W0, inst.X_eps, inst.Y, inst.T, 1.0)
        assert base.converged and st.converged
        rel[delta] = np.linalg.norm(_end_to_end(base) - _end_to_end(st)) / W_mn
    assert rel[1.0] >= 0.1
    assert rel[1e-3] <= 1e-2 * rel[1.0]


def test_teacher_that_cannot_interpolate_breaks_convergence_of_the_st_flow():
    # assumption (ii) broken: a rank-1 teacher cannot fit N_s = 4 samples; the ST loss then has no
    # attained minimum (the student trades feature error for ever larger W2), so its flow does not
    # converge while the base flow from the same start does
    inst = thm1_instance(4, 12, 6, 1, 0.5, np.random.default_rng(0), teacher_rank=1)
    assert inst.interpolation_residual > 0.1
    W0 = scaled_init([12, 6, 1], 1e-2, np.random.default_rng(1))
    assert gradient_flow(W0, inst.X_eps, inst.Y).converged
    short = gradient_flow(W0, inst.X_eps, inst.Y, inst.T, 1.0, t_max=256.0)
    long = gradient_flow(W0, inst.X_eps, inst.Y, inst.T, 1.0, t_max=1024.0)
    assert not long.converged and long.loss_rel > 1e-6
    assert long.loss_rel < short.loss_rel  # still creeping down, sub-exponentially
    assert np.linalg.norm(long.weights[1]) > 1.2 * np.linalg.norm(short.weights[1])


@pytest.mark.parametrize("key, value, why", [
    ("slope", 0.8, "slope"), ("slope_stderr", 0.1, "slope_resolved"), ("C_over_bound_max", 1.5, "C_bounded"),
    ("invariance_err_over_tol_max", 2.0, "invariance"), ("identity_err_over_bound_max", 1.01, "identity"),
    ("n_converged", 0, "converged"), ("solver_success", False, "converged"),
    ("teacher_residual_max", 1e-3, "teacher_interpolates"),
])
def test_verdict_fails_on_failing_numbers(smoke, key, value, why):
    claim = get_claim(CLAIM)
    metrics = dict(smoke.metrics, **{key: value})
    verdict = claim.verdict(metrics, smoke.params, smoke.criteria_values)
    assert not verdict.passed
    assert not verdict.criteria[why][0]


@pytest.mark.parametrize("override, param", [
    ({"N_s": 12}, "N_s"), ({"N_s": 0}, "N_s"), ({"deltas": [0.1, 0.0, 0.01]}, "deltas"),
    ({"deltas": [0.1, 0.01]}, "deltas"), ({"m": 3}, "m"), ({"lams": [-1.0]}, "lams"),
    ({"method": "Euler"}, "method"), ({"teacher_activation": "gelu"}, "teacher_activation"),
    ({"rtol": 0.1}, "rtol"), ({"n_instances": 0}, "n_instances"),
])
def test_bad_input_names_the_parameter(override, param):
    with pytest.raises(InputError) as info:
        resolve(get_claim(CLAIM), "smoke", override)
    assert info.value.param == param


def test_cli_refuses_n_s_not_below_d_x_in_one_line(capsys):
    assert cli.main(["check", CLAIM, "--param", "N_s=20", "--out", "/tmp/unused-thm1"]) == 2
    err = capsys.readouterr().err
    assert "N_s must be < d_x=12" in err and err.count("\n") == 1


def test_gradient_flow_stops_unsuccessful_when_its_evaluation_budget_is_spent():
    inst = thm1_instance(4, 5, 6, 1, 0.5, np.random.default_rng(0))
    W0 = scaled_init([5, 6, 1], 1e-2, np.random.default_rng(1))
    res = gradient_flow(W0, inst.X_eps, inst.Y, inst.T, 10.0, max_nfev=50)
    assert not res.success and not res.converged and "max_nfev" in res.message
    assert res.nfev == 50


def test_default_integrator_converges_on_the_instance_that_stalled_lsoda():
    inst, W0 = thm1_setup(dict(N_s=4, d_x=5, m=6, d_y=1, delta=0.01, instance_seed=594619332, sigma=0.5,
                                teacher_activation="identity"))
    res = gradient_flow(W0, inst.X_eps, inst.Y, inst.T, 10.0, t_max=1e5, max_nfev=100_000)
    assert res.success and res.converged and res.loss_rel <= 1e-20


def test_gradient_flow_refuses_bad_arguments():
    inst = thm1_instance(2, 4, 2, 1, 0.5, np.random.default_rng(0))
    W0 = scaled_init([4, 2, 1], 0.1, np.random.default_rng(1))
    with pytest.raises(InputError, match="method"):
        gradient_flow(W0, inst.X_eps, inst.Y, method="Euler")
    with pytest.raises(InputError, match="weights0"):
        gradient_flow([W0[0], W0[1].T], inst.X_eps, inst.Y)
    with pytest.raises(InputError, match=r"max_nfev must be in \[1, inf\]"):
        gradient_flow(W0, inst.X_eps, inst.Y, max_nfev=0)
    with pytest.raises(InputError, match="delta"):
        scaled_init([4, 2, 1], 0.0, np.random.default_rng(1))
    with pytest.raises(InputError, match="N_s"):
        thm1_instance(4, 4, 4, 1, 0.5, np.random.default_rng(0))


def test_figure_is_drawn_from_the_saved_result(smoke):
    fig = draw_figure(smoke)
    assert len(fig.axes) == 2
