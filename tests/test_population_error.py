"""Exact population error of two-layer ReLU nets (arc-cosine kernel) against limits and Monte Carlo."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import norm

from theorycheck.errors import InputError
from theorycheck.hong2021.relu.population import (arccos_kernel, bayes_error, population_error,
                                         population_error_mc, relu_cross_moment,
                                         teacher_second_moment)
from theorycheck.hong2021.relu.runs import fig2_objective, fig2_problem, fig6_problem
from theorycheck.hong2021.relu.teachers import (pooled_output_weights, pooled_teacher, training_set,
                                                xavier_teacher)

EPS = np.finfo(float).eps


def test_arccos_kernel_limits():
    # theta = 0: E relu(U)^2 = a^2/2; theta = pi/2: independent, (a/sqrt(2 pi))(b/sqrt(2 pi)); theta = pi: 0
    a, b = 1.7, 0.3
    assert arccos_kernel(a, a, a * a) == pytest.approx(a * a / 2, rel=1e-15)
    assert arccos_kernel(a, b, 0.0) == pytest.approx(a * b / (2 * math.pi), rel=1e-15)
    assert arccos_kernel(a, b, -a * b) == pytest.approx(0.0, abs=1e-16)
    assert arccos_kernel(0.0, b, 0.0) == 0.0  # a zero-variance input is 0 almost surely


@settings(max_examples=10)
@given(rho=st.floats(-0.999, 0.999), a=st.floats(0.1, 3.0), b=st.floats(0.1, 3.0))
def test_arccos_kernel_matches_one_dimensional_integral(rho, a, b):
    # E[relu(aU) relu(bV)], V = rho U + sqrt(1-rho^2) W: integrate over U >= 0 the inner mean
    # E relu(mu + s W) = mu Phi(mu/s) + s phi(mu/s); the integrand is smooth, quad reaches ~1e-12
    from scipy.integrate import quad
    s = math.sqrt(1 - rho * rho)

    def integrand(u):
        mu = rho * u
        return a * u * b * (mu * norm.cdf(mu / s) + s * norm.pdf(mu / s)) * norm.pdf(u)

    value, err = quad(integrand, 0, np.inf, epsabs=1e-13, epsrel=1e-12)
    assert arccos_kernel(a, b, rho * a * b) == pytest.approx(value, rel=1e-9, abs=10 * err + 1e-14)


def _net(rng, m, d, scale=1.0):
    return rng.standard_normal((m, d)) * scale / math.sqrt(d), rng.standard_normal(m) / math.sqrt(m)


@pytest.mark.parametrize("m, d, sigma, seed", [(30, 6, 0.5, 0), (12, 3, 0.0, 1), (50, 10, 1.3, 2)])
def test_population_error_matches_monte_carlo(m, d, sigma, seed):
    rng = np.random.default_rng(seed)
    W, a = _net(rng, m, d)
    W_t, a_t = _net(rng, m + 5, d)
    exact = population_error(W, a, W_t, a_t, sigma)
    n = 100_000
    X = rng.standard_normal((n, d))
    E = sigma * rng.standard_normal((n, d))
    mc, se = population_error_mc(W, a, W_t, a_t, X, E)
    # |MC - exact| <= 5 SE fails with probability < 1e-6 for a CLT-normal mean (n = 1e5 samples)
    assert abs(mc - exact) <= 5 * se


def test_bayes_error_matches_monte_carlo_of_the_bayes_predictor():
    # Bayes predictor E[f_t | z] = sum_j a_j [mu_j Phi(mu_j/s_j) + s_j phi(mu_j/s_j)]
    rng = np.random.default_rng(3)
    m, d, sigma = 20, 5, 0.6
    W_t, a_t = _net(rng, m, d)
    c = 1 + sigma ** 2
    n = 100_000
    X = rng.standard_normal((n, d))
    Z = X + sigma * rng.standard_normal((n, d))
    mu = Z @ W_t.T / c
    s = np.sqrt(np.sum(W_t ** 2, axis=1) * sigma ** 2 / c)
    post = (mu * norm.cdf(mu / s) + s * norm.pdf(mu / s)) @ a_t
    sq = (post - np.maximum(X @ W_t.T, 0) @ a_t) ** 2
    se = sq.std(ddof=1) / math.sqrt(n)
    assert abs(sq.mean() - bayes_error(W_t, a_t, sigma)) <= 5 * se  # 5 SE: see the test above


@given(m=st.integers(1, 20), d=st.integers(1, 6), sigma=st.floats(0.05, 2.0), seed=st.integers(0, 2**32 - 1))
def test_no_student_beats_the_bayes_error(m, d, sigma, seed):
    rng = np.random.default_rng(seed)
    W_t, a_t = _net(rng, m, d)
    W, a = _net(rng, m, d)
    # any predictor's error >= Bayes error; both are sums of O(m^2) terms of size |a||a_t|, rounded
    tol = 100 * EPS * (np.sum(np.abs(a)) + np.sum(np.abs(a_t))) ** 2
    assert population_error(W, a, W_t, a_t, sigma) >= bayes_error(W_t, a_t, sigma) - tol
    # the student that copies the teacher does exactly as well as the teacher when there is no noise
    assert abs(population_error(W_t, a_t, W_t, a_t, 0.0)) <= tol


@given(m=st.integers(1, 40), d=st.integers(1, 8), block=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_row_blocks_do_not_change_the_quadratic_form(m, d, block, seed):
    rng = np.random.default_rng(seed)
    W, a = _net(rng, m, d)
    W_t, a_t = _net(rng, m + 1, d)
    full = population_error(W, a, W_t, a_t, 0.4)
    blocked = population_error(W, a, W_t, a_t, 0.4, block_elems=block)
    # the same terms summed in another order: |diff| <= (number of terms) eps max|term|-ish
    scale = (np.sum(np.abs(a)) + np.sum(np.abs(a_t))) ** 2 * max(1.0, np.max(np.sum(W ** 2, 1)) * 1.16)
    assert abs(full - blocked) <= 4 * (2 * m + 1) * EPS * scale
    # symmetric path (upper block triangle) equals the plain double sum
    sym = relu_cross_moment(W, a, W, a, 1.3, 1.3, 1.3, block_elems=block)
    plain = relu_cross_moment(W, a, W.copy(), a.copy(), 1.3, 1.3, 1.3)
    assert abs(sym - plain) <= 4 * (2 * m + 1) * EPS * scale


def test_teacher_moment_of_float32_student_is_evaluated_in_float64():
    rng = np.random.default_rng(5)
    W, a = _net(rng, 30, 4)
    e64 = population_error(W.astype(np.float32).astype(np.float64), a, W, a, 0.5)
    e32 = population_error(W.astype(np.float32), a, W, a, 0.5)
    assert e32 == e64


def test_pooled_teacher_is_the_same_function_for_every_g():
    m = 40
    ref = pooled_output_weights(m, 1)
    for g in (1, 2, 4, 5, 10, 20):
        np.testing.assert_array_equal(pooled_output_weights(m, g), ref)
    W_t, a_t = pooled_teacher(m, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(a_t, ref)
    with pytest.raises(InputError, match="even number of groups"):
        pooled_output_weights(m, 8)  # m/g = 5 groups cannot split into +1 and -1 halves


def test_xavier_teacher_variances():
    W, a = xavier_teacher(400, 100, np.random.default_rng(0))
    # sample variances of 40000 and 400 normals: relative SE sqrt(2/n) = 0.7% and 7%; allow 5 SE
    assert np.var(W) == pytest.approx(2 / 500, rel=5 * math.sqrt(2 / W.size))
    assert np.var(a) == pytest.approx(2 / 401, rel=5 * math.sqrt(2 / a.size))


def test_teacher_second_moment_bounds():
    rng = np.random.default_rng(6)
    W_t, a_t = _net(rng, 10, 4)
    tm = teacher_second_moment(W_t, a_t)
    assert tm >= bayes_error(W_t, a_t, 0.7) >= 0.0 and bayes_error(W_t, a_t, 0.0) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    ({"s_u": 0.0}, "s_u"),
    ({"s_uv": 5.0}, "s_uv"),
])
def test_cross_moment_rejects_bad_covariances(kwargs, match):
    rng = np.random.default_rng(0)
    W, a = _net(rng, 3, 2)
    args = {"s_u": 1.0, "s_v": 1.0, "s_uv": 0.5, **kwargs}
    with pytest.raises(InputError, match=match):
        relu_cross_moment(W, a, W, a, **args)


def test_population_error_rejects_bad_shapes():
    rng = np.random.default_rng(0)
    W, a = _net(rng, 3, 2)
    with pytest.raises(InputError, match="^a must have shape"):
        population_error(W, a[:2], W, a, 0.1)
    with pytest.raises(InputError, match="columns"):
        population_error(W, a, np.ones((3, 4)), a, 0.1)
    with pytest.raises(InputError, match="^W must be a non-empty"):
        population_error(np.ones((0, 2)), np.ones(0), W, a, 0.1)


# ------------------------------------------------------------------ inputs refused at the boundary
def _nan_at(arr, where=(0,)):
    out = np.array(arr, dtype=float)
    out[where] = np.nan
    return out


@pytest.mark.parametrize("call, match", [
    (lambda W, a: teacher_second_moment(_nan_at(W, (0, 0)), a), "^W_t contains non-finite"),
    (lambda W, a: teacher_second_moment(W, _nan_at(a)), "^a_t contains non-finite"),
    (lambda W, a: teacher_second_moment(np.where(W > 0, np.inf, W), a), "^W_t contains non-finite"),
    (lambda W, a: population_error(_nan_at(W, (1, 1)), a, W, a, 0.5), "^W contains non-finite"),
    (lambda W, a: population_error(W, a, W, _nan_at(a), 0.5), "^a_t contains non-finite"),
    (lambda W, a: population_error(W, a, W, a, float("nan")), "^sigma"),
    (lambda W, a: bayes_error(_nan_at(W, (0, 1)), a, 0.5), "^W_t contains non-finite"),
    (lambda W, a: relu_cross_moment(W, _nan_at(a), W, a, 1.0, 1.0, 1.0), "^alpha contains non-finite"),
    (lambda W, a: population_error_mc(W, a, W, a, np.zeros((0, 2)), np.zeros((0, 2))), "^X must have shape"),
    (lambda W, a: population_error_mc(W, a, W, a, np.zeros((1, 2)), np.zeros((1, 2))), "^X must have shape"),
    (lambda W, a: population_error_mc(W, a, W, a, _nan_at(np.zeros((5, 2)), (0, 0)), np.zeros((5, 2))),
     "^X contains non-finite"),
    (lambda W, a: population_error_mc(W, a, W, a, np.zeros((5, 2)), np.zeros((4, 2))), "^E must have"),
    (lambda W, a: population_error_mc(_nan_at(W, (0, 0)), a, W, a, np.zeros((5, 2)), np.zeros((5, 2))),
     "^W contains non-finite"),
])
def test_non_finite_or_empty_inputs_are_refused_by_name(call, match):
    # issue 14: these returned NaN (or, for an empty test set, NaN with a warning) instead of refusing
    rng = np.random.default_rng(0)
    W, a = _net(rng, 3, 2)
    with pytest.raises(InputError, match=match):
        call(W, a)


@pytest.mark.parametrize("args, match", [
    ((float("nan"), 1.0, 0.5), "^a must be finite"),
    ((1.0, float("inf"), 0.5), "^b must be finite"),
    ((1.0, 1.0, float("nan")), "^kappa must be finite"),
    ((1.0, 1.0, 1.5), "^kappa must satisfy"),
    ((0.0, 1.0, 0.1), "^kappa must satisfy"),
])
def test_arccos_kernel_refuses_what_no_gaussian_pair_has(args, match):
    # issue 14: arccos_kernel(nan, 1, .5) returned 0.0
    with pytest.raises(InputError, match=match):
        arccos_kernel(*args)
    # round-off just past |kappa| = ab (the diagonal) is still accepted and clipped
    assert arccos_kernel(1.0, 1.0, 1.0 + 1e-14) == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda W, a: xavier_teacher(4, 3, None), "^rng must be a numpy"),
    (lambda W, a: training_set(np.full_like(W, np.nan), a, 5, 0.5, np.random.default_rng(0)), "^W_t contains"),
    (lambda W, a: training_set(W, a[:2], 5, 0.5, np.random.default_rng(0)), "^a_t must have shape"),
])
def test_teachers_and_data_refuse_bad_inputs_by_name(call, match):
    W, a = xavier_teacher(6, 3, np.random.default_rng(1))
    with pytest.raises(InputError, match=match):
        call(W, a)


@pytest.mark.parametrize("call, match", [
    (lambda: fig2_problem(6, 3, 0.5, 10, 5, (1, 2, 3)), "^N must be in"),
    (lambda: fig2_problem(6, 3, 0.5, 5, 5, (1, 2)), "^seeds must be three"),
    (lambda: fig6_problem(6, 3, 0.5, 5, 5, None), "^seeds must be three"),
    (lambda: fig2_objective(float("nan"), 3), "^lam_d must be a finite"),
    (lambda: fig2_objective(1.0, 0), "^d must be in"),
])
def test_run_builders_refuse_bad_inputs_by_name(call, match):
    # a NaN lambda used to give the base loss silently; a short seed tuple a bare unpacking error
    with pytest.raises(InputError, match=match):
        call()
