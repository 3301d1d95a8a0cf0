"""Closed forms of theorycheck.hong2021.linear (Hong et al. 2021, Theorems 1-2) against
independent references: numpy least squares, projector algebra, sympy, Monte Carlo."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from theorycheck.errors import InputError
from theorycheck.hong2021.linear import closed_forms as cf

EPS = np.finfo(float).eps


def _data(seed, N, d, d_y):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, d)), rng.standard_normal((N, d_y))


@given(d=st.integers(1, 6), extra=st.integers(0, 12), d_y=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_ols_end_to_end_is_the_least_squares_solution(d, extra, d_y, seed):
    X, Y = _data(seed, d + extra, d, d_y)
    W = cf.ols_end_to_end(X, Y)
    assert W.shape == (d_y, d)
    ref = np.linalg.lstsq(X, Y, rcond=None)[0].T
    kappa = cf.gram_condition(X)
    # two backward-stable solvers of the same normal equations differ by O(kappa * eps) relative;
    # the Cholesky route squares the conditioning of X, hence kappa (= cond(X)^2), with a factor
    # 100 for the dimension-dependent constants of the error bounds
    assert np.linalg.norm(W - ref) <= 100 * kappa * EPS * max(np.linalg.norm(ref), 1e-300) + 1e-300
    # first-order optimality of Eq. (5): the residual is orthogonal to every input direction
    G = (X @ W.T - Y).T @ X
    assert np.linalg.norm(G) <= 100 * kappa * EPS * np.linalg.norm(Y.T @ X) + 1e-300


def test_ols_end_to_end_refuses_rank_deficient_inputs():
    X, Y = _data(0, 3, 5, 1)
    with pytest.raises(InputError, match="N_s >= d_x"):
        cf.ols_end_to_end(X, Y)
    Xdup = np.repeat(X, 3, axis=0)  # 9 rows, rank 3 < d_x = 5
    with pytest.raises(InputError, match="X_eps must have rank d_x"):
        cf.ols_end_to_end(Xdup, np.repeat(Y, 3, axis=0))
    with pytest.raises(InputError, match="Y must have 3 rows"):
        cf.ols_end_to_end(np.ones((3, 2)) + np.eye(3, 2), np.ones((4, 1)))


@given(N=st.integers(1, 5), gap=st.integers(1, 8), d_y=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_min_norm_interpolator_interpolates_with_rows_in_data_span(N, gap, d_y, seed):
    d = N + gap
    X, Y = _data(seed, N, d, d_y)
    W = cf.min_norm_interpolator(X, Y)
    Pi = cf.row_space_projector(X)
    kappa = cf.gram_condition(X)
    scale = np.linalg.norm(Y) / np.linalg.svd(X, compute_uv=False)[-1]
    # interpolation X W^T = Y, and minimum norm <=> W (I - Pi) = 0; errors O(kappa eps) relative
    assert np.linalg.norm(X @ W.T - Y) <= 100 * kappa * EPS * np.linalg.norm(Y)
    assert np.linalg.norm(W - W @ Pi) <= 100 * kappa * EPS * scale
    # the paper's formula Y X_eps^+ with X_eps^+ = (X_eps^T X_eps)^{-1} X_eps^T (samples as columns)
    paper = Y.T @ np.linalg.solve(X @ X.T, X)
    assert np.linalg.norm(W - paper) <= 100 * kappa * EPS * scale


@given(N=st.integers(1, 7), d=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_row_space_projector_is_the_orthogonal_projector_onto_the_samples(N, d, seed):
    X, _ = _data(seed, N, d, 1)
    Pi = cf.row_space_projector(X)
    r = min(N, d)  # Gaussian rows: full rank almost surely
    assert np.allclose(Pi, Pi.T, atol=10 * EPS * d)
    assert np.allclose(Pi @ Pi, Pi, atol=100 * EPS * d)
    assert np.trace(Pi) == pytest.approx(r, abs=100 * EPS * d)
    assert np.allclose(X @ Pi, X, atol=100 * EPS * d * np.abs(X).max() * cf.gram_condition(X) ** 0.5)


def test_limit_identity_reduces_to_min_norm_when_start_lies_in_the_data_span():
    X, Y = _data(1, 3, 7, 2)
    Pi = cf.row_space_projector(X)
    rng = np.random.default_rng(2)
    W1_0 = rng.standard_normal((4, 7)) @ Pi  # no frozen component
    W2 = rng.standard_normal((2, 4))
    assert np.allclose(cf.limit_identity(X, Y, W2, W1_0), cf.min_norm_interpolator(X, Y), atol=1e-12)
    # and with a frozen component it adds exactly W2 W1(0)(I - Pi)
    W1_0b = rng.standard_normal((4, 7))
    expected = cf.min_norm_interpolator(X, Y) + W2 @ W1_0b @ (np.eye(7) - Pi)
    assert np.allclose(cf.limit_identity(X, Y, W2, W1_0b), expected, atol=1e-12)
    with pytest.raises(InputError, match="W2_inf"):
        cf.limit_identity(X, Y, W2[:, :3], W1_0)


def test_balanced_mode_trajectory_solves_the_mode_ode_symbolically():
    t, s, u0 = sp.symbols("t s u0", positive=True)
    u = s * sp.exp(4 * s * t) / (sp.exp(4 * s * t) - 1 + s / u0)  # the Saxe et al. mode trajectory
    assert sp.simplify(sp.diff(u, t) - 4 * u * (s - u)) == 0
    assert sp.simplify(u.subs(t, 0) - u0) == 0
    assert sp.limit(u, t, sp.oo) == s
    f = sp.lambdify((t, s, u0), u, "numpy")
    ts = np.array([0.0, 0.1, 1.0, 3.0])
    # the implementation divides through by e^{4st}: same function, no overflow at large t
    assert np.allclose(cf.balanced_mode_trajectory(ts, 1.3, 1e-3), f(ts, 1.3, 1e-3), rtol=1e-13)
    assert cf.balanced_mode_trajectory(1e4, 1.3, 1e-3) == pytest.approx(1.3, rel=1e-15)
    with pytest.raises(InputError, match="t must be"):
        cf.balanced_mode_trajectory(-1.0, 1.0, 0.1)
    with pytest.raises(InputError, match="u0"):
        cf.balanced_mode_trajectory(1.0, 1.0, 0.0)


def test_linear_test_error_matches_monte_carlo_and_bayes_error_is_its_minimum():
    rng = np.random.default_rng(3)
    d, d_y, sigma, n = 5, 2, 0.5, 200_000
    B = rng.standard_normal((d_y, d))
    W = rng.standard_normal((d_y, d))
    X = rng.standard_normal((n, d))
    Z = X + sigma * rng.standard_normal((n, d))
    losses = np.sum((Z @ W.T - X @ B.T) ** 2, axis=1)
    exact = cf.linear_test_error(W, B, sigma)
    # Monte Carlo: 5 standard errors (a false failure has probability < 1e-6)
    assert abs(losses.mean() - exact) <= 5 * losses.std() / np.sqrt(n)
    c = 1 + sigma ** 2
    bayes = cf.bayes_error_linear(B, sigma)
    assert cf.linear_test_error(B / c, B, sigma) == pytest.approx(bayes, rel=1e-13)
    for _ in range(5):  # any other linear student is worse
        assert cf.linear_test_error(B / c + 0.1 * rng.standard_normal(B.shape), B, sigma) > bayes


@pytest.mark.parametrize("regime", ["min_norm", "ols"])
def test_expected_test_errors_match_monte_carlo_over_training_sets(regime):
    rng = np.random.default_rng(4)
    sigma, reps = 0.5, 3000
    d, N = (12, 5) if regime == "min_norm" else (4, 12)
    beta = rng.standard_normal((1, d))
    errs = np.empty(reps)
    for k in range(reps):
        X = rng.standard_normal((N, d))
        Z = X + sigma * rng.standard_normal((N, d))
        Y = X @ beta.T
        W = cf.min_norm_interpolator(Z, Y) if regime == "min_norm" else cf.ols_end_to_end(Z, Y)
        errs[k] = cf.linear_test_error(W, beta, sigma)
    formula = (cf.expected_error_min_norm if regime == "min_norm" else cf.expected_error_ols)(
        N, d, float(np.sum(beta ** 2)), sigma)
    # 5 standard errors of the mean over training sets
    assert abs(errs.mean() - formula) <= 5 * errs.std() / np.sqrt(reps)


def test_expected_error_formulas_name_their_bad_inputs():
    with pytest.raises(InputError, match="N_s"):
        cf.expected_error_min_norm(9, 10, 1.0, 0.5)  # needs N < d - 1
    with pytest.raises(InputError, match="N_s"):
        cf.expected_error_ols(11, 10, 1.0, 0.5)  # needs N > d + 1
    with pytest.raises(InputError, match="sigma"):
        cf.linear_test_error(np.ones((1, 2)), np.ones((1, 2)), -1.0)
    with pytest.raises(InputError, match="X_eps"):
        cf.gram_condition(np.array([[np.nan, 1.0]]))
