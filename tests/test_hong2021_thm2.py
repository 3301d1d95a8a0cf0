"""Hong et al. 2021, Theorem 2 (claim ``hong2021.thm2``): numerical minimisers of the base loss (1)
and the ST loss (2) share the end-to-end matrix W* of Eq. (5); breaking an assumption breaks it."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import draw_figure, nets, run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021.experiments.linear import THM2_CONTROLS, control_key
from theorycheck.hong2021.linear import (Instance, end_to_end_certificate, gram_condition, minimise_lbfgs,
                                         ols_end_to_end, thm2_instance)
from theorycheck.registry import get_claim
from theorycheck.runner import resolve

CLAIM = "hong2021.thm2"
GRAD_TOL = 1e-9  # required end-to-end gradient ratio ||G|| / ||G(0)|| (see theorycheck.hong2021.linear.minimise)


@pytest.fixture(scope="module")
def smoke():
    return run_claim(CLAIM, "smoke")


def _minimise(inst, m, lam, rng, activation="identity", restarts=2, scale=0.01):
    """Lowest-loss L-BFGS result over ``restarts`` small starts (as the claim does)."""
    d, d_y = inst.X_eps.shape[1], inst.Y.shape[1]
    best = None
    for _ in range(restarts):
        W0 = [scale * W for W in nets.xavier_normal([d, m, d_y], rng)]
        res = minimise_lbfgs(W0, inst.X_eps, inst.Y, inst.T if lam > 0 else None, lam, activation)
        best = res if best is None or res.loss < best.loss else best
    return best


def _rel(res, W_star):
    W1, W2 = res.weights
    return np.linalg.norm(W2 @ W1 - W_star) / np.linalg.norm(W_star)


@given(d=st.integers(1, 4), extra=st.integers(0, 8), d_y=st.integers(1, 3), m_extra=st.integers(0, 3),
       act=st.sampled_from(["identity", "tanh", "relu"]), lam=st.sampled_from([0.1, 1.0, 10.0]),
       seed=st.integers(0, 2**32 - 1))
def test_theorem2_base_and_st_minimisers_equal_closed_form(d, extra, d_y, m_extra, act, lam, seed):
    rng = np.random.default_rng(seed)
    m = d_y + m_extra  # m >= d_y >= rank(W*)
    inst = thm2_instance(d + extra, d, m, d_y, 0.5, rng, act)
    W_star = ols_end_to_end(inst.X_eps, inst.Y)
    if np.linalg.norm(W_star) == 0:  # a ReLU teacher can be silent on every sample: nothing to check
        return
    kappa = gram_condition(inst.X_eps)
    for lam_ in (0.0, lam):
        res = _minimise(inst, m, lam_, rng)
        # the optimiser reached the required end-to-end accuracy ...
        assert res.certificate <= kappa * GRAD_TOL
        # ... so ||W - W*|| / ||W*|| <= kappa * ||G||/||G(0)|| <= kappa * GRAD_TOL (round-off of the
        # closed form and of G: O(kappa^2 eps), negligible here)
        assert _rel(res, W_star) <= res.certificate + 1e2 * kappa ** 2 * np.finfo(float).eps


@given(d=st.integers(1, 5), extra=st.integers(0, 6), d_y=st.integers(1, 3), scale=st.floats(1e-6, 1.0),
       seed=st.integers(0, 2**32 - 1))
def test_certificate_bounds_the_distance_to_w_star(d, extra, d_y, scale, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((d + extra, d)), rng.standard_normal((d + extra, d_y))
    W_star = ols_end_to_end(X, Y)
    W = W_star + scale * np.linalg.norm(W_star) * rng.standard_normal(W_star.shape)
    kappa = gram_condition(X)
    # exact inequality; both sides carry O(kappa^2 eps) round-off
    assert _rel_matrix(W, W_star) <= end_to_end_certificate(W, X, Y) + 1e2 * kappa ** 2 * np.finfo(float).eps


def _rel_matrix(W, W_star):
    return np.linalg.norm(W - W_star) / np.linalg.norm(W_star)


def test_theorem2_claim_passes_and_every_control_differs(smoke):
    # a deterministic theorem check: it must pass
    m = smoke.metrics
    assert smoke.passed, smoke.failed_criteria() or smoke.inconclusive_criteria()
    assert m["max_mismatch"] <= m["tol"]
    for name in THM2_CONTROLS:
        assert m[control_key(name)] > m["control_threshold"] > m["tol"]


def test_teacher_that_does_not_interpolate_moves_only_the_st_minimiser():
    rng = np.random.default_rng(11)
    inst = thm2_instance(16, 4, 2, 2, 0.5, rng, "identity", label_noise=0.5)
    assert inst.interpolation_residual > 0.1
    W_star = ols_end_to_end(inst.X_eps, inst.Y)
    kappa = gram_condition(inst.X_eps)
    base, st_ = _minimise(inst, 2, 0.0, rng), _minimise(inst, 2, 1.0, rng)
    assert _rel(base, W_star) <= kappa * GRAD_TOL  # the base loss never sees the teacher
    assert st_.certificate <= 1.0 and _rel(st_, W_star) > 1e3 * kappa * GRAD_TOL


def test_width_below_rank_gives_the_reduced_rank_regression_not_w_star():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((20, 5))
    inst_Y = X @ rng.standard_normal((5, 3))  # rank-3 targets, d_y = 3
    inst = Instance(X, X, inst_Y, np.zeros((1, 5)), np.zeros((3, 1)), np.zeros((20, 1)), "identity", 1.0)
    W_star = ols_end_to_end(X, inst_Y)
    res = _minimise(inst, 1, 0.0, rng)
    # with m = 1 the base minimiser is reduced-rank regression: W* projected on the top right
    # singular vector b_1 of the fitted values X W*^T (Izenman 1975)
    b1 = np.linalg.svd(X @ W_star.T)[2][0]
    W_rrr = np.outer(b1, b1) @ W_star
    W = res.weights[1] @ res.weights[0]
    assert np.linalg.norm(W - W_rrr) <= 1e-5 * np.linalg.norm(W_rrr)
    assert _rel(res, W_star) > 0.1


def test_duplicated_samples_leave_the_minimiser_undetermined():
    rng = np.random.default_rng(13)
    inst = thm2_instance(12, 5, 3, 1, 0.5, rng, "identity", duplicate_to=3)
    assert np.linalg.matrix_rank(inst.X_eps) == 3
    with pytest.raises(InputError, match="rank d_x"):
        ols_end_to_end(inst.X_eps, inst.Y)
    # two starts at the standard scale reach different zero-gradient end-to-end matrices
    a = _minimise(inst, 3, 0.0, rng, restarts=1, scale=1.0)
    b = _minimise(inst, 3, 0.0, rng, restarts=1, scale=1.0)
    Wa, Wb = (r.weights[1] @ r.weights[0] for r in (a, b))
    assert np.linalg.norm(Wa - Wb) > 0.05 * np.linalg.norm(Wa)
    assert np.allclose(inst.X_eps @ Wa.T, inst.X_eps @ Wb.T, atol=1e-6)  # same fit on the data


@pytest.mark.parametrize("key, value, why", [
    ("max_mismatch_over_tol", 2.0, "minimisers_equal_W_star"),
    ("e2e_grad_rel_max", 1e-3, "optimiser_converged"),
    ("mismatch_minus_certificate_max", 1e-6, "within_certificate"),
    ("teacher_residual_max", 1e-3, "teacher_interpolates"),
    ("control_gap_relu_student", 1e-9, "control: ReLU student"),
    ("control_gap_duplicated_samples", 0.0, "control: duplicated samples"),
])
def test_verdict_fails_on_failing_numbers(smoke, key, value, why):
    verdict = get_claim(CLAIM).verdict(dict(smoke.metrics, **{key: value}), smoke.params, smoke.criteria_values)
    assert verdict.status == "FAIL" and verdict.criteria[why].status == "FAIL"
    assert verdict.criteria[why].paper  # every criterion says what the paper states


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_theorem2_passes_at_other_seeds(seed):
    res = run_claim(CLAIM, "smoke", seed=seed)
    assert res.passed, res.failed_criteria() or res.inconclusive_criteria()


@pytest.mark.parametrize("override, param", [("sigma=1e300", "sigma"), ("n_reps=100000000", "n_reps"),
                                             ("m_wide=1000000", "m_wide")])
def test_cli_refuses_huge_or_overflowing_parameters_before_computing(capsys, tmp_path, override, param):
    from theorycheck import cli
    assert cli.main(["check", CLAIM, "--param", override, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{param} " in err


def test_minimiser_and_certificate_refuse_non_finite_or_mismatched_arrays():
    inst = thm2_instance(8, 3, 2, 1, 0.5, np.random.default_rng(0))
    W0 = nets.xavier_normal([3, 2, 1], np.random.default_rng(1))
    Y_nan = inst.Y.copy()
    Y_nan[1, 0] = np.inf
    with pytest.raises(InputError, match="Y"):
        minimise_lbfgs(W0, inst.X_eps, Y_nan)
    with pytest.raises(InputError, match="weights0"):
        minimise_lbfgs([W0[0], W0[1].T], inst.X_eps, inst.Y)
    with pytest.raises(InputError, match="W"):
        end_to_end_certificate(np.ones((2, 3)), inst.X_eps, inst.Y)
    with pytest.raises(InputError, match="rng"):
        thm2_instance(8, 3, 2, 1, 0.5, None)


@pytest.mark.parametrize("override, param", [
    ({"N_s": 3}, "N_s"), ({"m": 1}, "m"), ({"m_wide": 10}, "m_wide"), ({"lams": [0.0]}, "lams"),
    ({"teacher_activations": ["softplus"]}, "teacher_activations"), ({"d_x": 2}, "d_x"),
    ({"grad_tol": 0.0}, "grad_tol"), ({"n_restarts": 0}, "n_restarts"),
])
def test_bad_input_names_the_parameter(override, param):
    with pytest.raises(InputError) as info:
        resolve(get_claim(CLAIM), "smoke", override)
    assert info.value.param == param


def test_minimiser_refuses_bad_arguments():
    inst = thm2_instance(8, 3, 2, 1, 0.5, np.random.default_rng(0))
    W0 = nets.xavier_normal([3, 2, 1], np.random.default_rng(1))
    with pytest.raises(InputError, match="gtol"):
        minimise_lbfgs(W0, inst.X_eps, inst.Y, gtol=0.0)
    with pytest.raises(InputError, match="lam"):
        minimise_lbfgs(W0, inst.X_eps, inst.Y, inst.T, lam=-1.0)
    with pytest.raises(InputError, match="N_s"):
        thm2_instance(2, 3, 2, 1, 0.5, np.random.default_rng(0))


def test_figure_is_drawn_from_the_saved_result(smoke):
    fig = draw_figure(smoke)
    assert len(fig.axes) == 1
