"""The pooled student-teacher LASSO of Hong et al. 2021, Section 5: closed forms, the reduction of
Eq. (7) to per-group LASSOs, solver diagnostics and input checks."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st
from scipy.optimize import minimize

from theorycheck import nets
from theorycheck.hong2021 import lasso
from theorycheck.hong2021.datasets import gaussian_inputs
from theorycheck.errors import InputError

EPS = np.finfo(np.float64).eps


# -- closed forms ---------------------------------------------------------------------------------
def _symbolic_setup(dim):
    beta = sp.Matrix(sp.symbols(f"b1:{dim + 1}", real=True))
    w = sp.Matrix(sp.symbols(f"w1:{dim + 1}", real=True))
    sigma = sp.symbols("sigma", positive=True)
    # error w^T(x + eps) - beta^T x = a^T [x; eps] with a = [w - beta; w]; Cov[x; eps] = diag(I, sigma^2 I)
    a = sp.Matrix.vstack(w - beta, w)
    C = sp.diag(sp.eye(dim), sigma ** 2 * sp.eye(dim))
    risk = sp.expand((a.T * C * a)[0, 0])
    return beta, w, sigma, risk


def test_optimal_test_error_derived_symbolically_by_minimising_over_w():
    dim = 3
    beta, w, sigma, risk = _symbolic_setup(dim)
    sol = sp.solve([sp.diff(risk, wi) for wi in w], list(w), dict=True)
    assert len(sol) == 1  # strictly convex quadratic: one stationary point, the minimiser
    w_star = sp.Matrix([sol[0][wi] for wi in w])
    assert sp.simplify(w_star - beta / (1 + sigma ** 2)) == sp.zeros(dim, 1)  # Bayes predictor beta/c
    minimum = sp.simplify(risk.subs(sol[0]))
    expected = sigma ** 2 * (beta.T * beta)[0, 0] / (1 + sigma ** 2)
    assert sp.simplify(minimum - expected) == 0
    # the library's number agrees with the symbolic minimum at a random point
    rng = np.random.default_rng(0)
    b, s = rng.standard_normal(dim), 0.7
    sym_value = float(minimum.subs({**dict(zip(beta, b)), sigma: s}))
    assert lasso.optimal_test_error(b, s) == pytest.approx(sym_value, rel=1e-14)


def test_optimal_test_error_equals_gaussian_conditional_variance():
    dim = 3
    beta, _, sigma, _ = _symbolic_setup(dim)
    # Var(beta^T x | z) = beta^T (Sigma_x - Sigma_x (Sigma_x + sigma^2 I)^-1 Sigma_x) beta, Sigma_x = I
    I = sp.eye(dim)
    cond_cov = I - I * (I + sigma ** 2 * I).inv() * I
    var = sp.simplify((beta.T * cond_cov * beta)[0, 0])
    assert sp.simplify(var - sigma ** 2 * (beta.T * beta)[0, 0] / (1 + sigma ** 2)) == 0


def test_linear_test_error_formula_is_the_expected_squared_error_identically():
    beta, w, sigma, risk = _symbolic_setup(3)
    c = 1 + sigma ** 2
    d = w - beta / c
    closed = c * (d.T * d)[0, 0] + sigma ** 2 * (beta.T * beta)[0, 0] / c
    assert sp.simplify(closed - risk) == 0


@given(d=st.integers(1, 8), sigma=st.floats(0.0, 2.0), seed=st.integers(0, 2 ** 32 - 1))
def test_linear_test_error_matches_monte_carlo(d, sigma, seed):
    rng = np.random.default_rng(seed)
    beta, w = rng.standard_normal(d), rng.standard_normal(d)
    n = 20_000
    X, E = gaussian_inputs(n, d, sigma, rng)
    sq = ((X + E) @ w - X @ beta) ** 2
    se = sq.std(ddof=1) / np.sqrt(n)
    exact = lasso.linear_test_error(w, beta, sigma)
    # the sample mean of n i.i.d. squared Gaussians is within 5 standard errors except with
    # probability < 1e-6 (CLT; n = 20000 makes the chi-square skew negligible at this level)
    assert abs(sq.mean() - exact) <= 5 * se + 1e-12 * exact


def test_linear_test_error_is_optimal_at_beta_over_c():
    rng = np.random.default_rng(1)
    beta, sigma = rng.standard_normal(5), 0.4
    c = 1 + sigma ** 2
    assert lasso.linear_test_error(beta / c, beta, sigma) == pytest.approx(lasso.optimal_test_error(beta, sigma),
                                                                          rel=1e-15, abs=0)
    assert lasso.linear_test_error(beta, beta, sigma) > lasso.optimal_test_error(beta, sigma)


# -- the teacher of Theorem 3 and pooling -----------------------------------------------------------
@given(k=st.integers(1, 5), g=st.integers(1, 5), extra=st.integers(0, 4), seed=st.integers(0, 2 ** 32 - 1))
def test_theorem3_teacher_pools_exactly_g_coordinates_of_beta_per_group(k, g, extra, seed):
    s = k * g
    rng = np.random.default_rng(seed)
    beta = lasso.draw_sparse_beta(s + extra, s, rng)
    W1t, W2t = lasso.theorem3_teacher(beta, s, g)
    assert W1t.shape == (s, s + extra) and W2t.shape == (1, k)
    U = lasso.group_teacher_vectors(W1t, g)
    assert U.shape == (k, s + extra)
    for j in range(k):  # group j holds exactly beta on coordinates jg .. (j+1)g - 1 (exact: one term per entry)
        expect = np.zeros(s + extra)
        expect[j * g:(j + 1) * g] = beta[j * g:(j + 1) * g]
        np.testing.assert_array_equal(U[j], expect)
    np.testing.assert_array_equal(nets.pooling_matrix(s, g) @ W1t, U)
    # the teacher's output W2~ P W1~ x is beta^T x (zero test error, assumption (i))
    np.testing.assert_allclose((W2t @ U)[0], beta, rtol=0, atol=g * EPS * np.abs(beta).max())


@pytest.mark.parametrize("g, needle", [(4, "g must divide s=6, got g=4"), (0, r"g must be in \[1"),
                                       (-3, r"g must be in \[1"), (7, "g must divide s=6")])
def test_bad_group_size_is_an_input_error_naming_g(g, needle):
    beta = np.r_[np.ones(6), np.zeros(2)]
    with pytest.raises(InputError, match=needle):
        lasso.theorem3_teacher(beta, 6, g)
    X = np.ones((3, 8))
    with pytest.raises(InputError, match=needle.replace("s=6", "m=6")):
        lasso.fit_pooled_student(X, X, np.eye(6, 8), np.ones((1, 1)), g, sigma=0.3)


def test_pooled_objective_uses_pooled_features_for_any_activation():
    rng = np.random.default_rng(3)
    m, g, d, N = 6, 3, 4, 5
    W1, W1t = rng.standard_normal((m, d)), rng.standard_normal((m, d))
    X, E = gaussian_inputs(N, d, 0.5, rng)
    P = nets.pooling_matrix(m, g)
    lam = np.array([0.3, 0.7])
    for act, f in (("identity", lambda u: u), ("relu", lambda u: np.maximum(u, 0))):
        R = (f((X + E) @ W1.T) - f(X @ W1t.T)) @ P.T
        direct = np.sum(R ** 2) + lam @ (P @ np.abs(W1).sum(axis=1))
        # same sums in a different order: agreement to a few ulps of the largest term
        assert lasso.pooled_st_objective(W1, X + E, X, W1t, g, lam, act) == pytest.approx(direct, rel=1e-13)


# -- the reduction of Eq. (7) to per-group LASSOs -----------------------------------------------------
def _direct_minimise_eq7(Z, T, g, m, lam):
    """Reference solver on W1 itself (no grouping) for
    sum_i ||P W1 z_i - t_i||^2 + sum_j lam_{k(j)} ||W1_j||_1.

    SLSQP on the bound-constrained QP in W1 = A - B (A, B >= 0), then exact coordinate descent over
    the entries of W1 until the problem's duality gap is below 1e-10 F(0) (or 5000 sweeps).
    Coordinate (j, l): minimise ||r_k + z_l (w - w_old)||^2 + lam_k |w| over w, i.e.
    w = soft(w_old ||z_l||^2 - z_l^T r_k, lam_k / 2) / ||z_l||^2.
    """
    N, d = Z.shape
    lam_rows = np.repeat(lam, g)[:, None] * np.ones((m, d))

    def fun(x):
        A, B = x[:m * d].reshape(m, d), x[m * d:].reshape(m, d)
        W = A - B
        R = nets.pool(Z @ W.T, g) - T
        G = np.repeat(2.0 * R.T @ Z, g, axis=0)
        return float(np.sum(R * R) + np.sum(lam_rows * (A + B))), np.r_[(G + lam_rows).ravel(),
                                                                        (-G + lam_rows).ravel()]

    res = minimize(fun, np.zeros(2 * m * d), jac=True, method="SLSQP", bounds=[(0, None)] * (2 * m * d),
                   options={"maxiter": 2000, "ftol": 1e-16})
    W = (res.x[:m * d] - res.x[m * d:]).reshape(m, d)
    target = 1e-10 * float(np.sum(T * T))
    R = nets.pool(Z @ W.T, g) - T
    col_sq = np.sum(Z * Z, axis=0)
    for _ in range(5000):
        if lasso.pooled_objective_dual_gap(W, Z, T, g, lam) <= target:
            break
        for j in range(m):
            k = j // g
            for l in range(d):
                old = W[j, l]
                rho = old * col_sq[l] - Z[:, l] @ R[:, k]
                new = np.sign(rho) * max(abs(rho) - lam[k] / 2, 0.0) / col_sq[l]
                if new != old:
                    R[:, k] += Z[:, l] * (new - old)
                    W[j, l] = new
    return W


@given(d=st.integers(2, 5), k=st.integers(1, 3), g=st.integers(1, 3), N=st.integers(2, 16),
       frac=st.floats(0.05, 0.8), seed=st.integers(0, 2 ** 32 - 1))
def test_eq7_reduction_matches_direct_minimisation_over_W1(d, k, g, N, frac, seed):
    rng = np.random.default_rng(seed)
    m = k * g
    W1t = rng.standard_normal((m, d))  # any teacher: the reduction does not need Theorem 3's
    X, E = gaussian_inputs(N, d, 0.5, rng)
    Z = X + E
    T = lasso.group_targets(X, W1t, g)
    # a penalty between 5% and 80% of the level that zeroes each group (sklearn alpha_max = ||Z^T t||_inf / N)
    alpha = frac * np.abs(Z.T @ T).max(axis=0) / N
    fit = lasso.fit_group_lassos(Z, T, alpha, tol=1e-12, max_iter=100_000)
    assert fit.converged
    lam = 2 * N * fit.alpha  # paper units (module docstring: alpha = lambda / (2N))
    W1_grouped = lasso.spread_over_groups(fit.coef, g)
    W1_direct = _direct_minimise_eq7(Z, T, g, m, lam)

    F_grouped = lasso.pooled_st_objective(W1_grouped, Z, X, W1t, g, lam)
    F_direct = lasso.pooled_st_objective(W1_direct, Z, X, W1t, g, lam)
    gap_grouped = lasso.pooled_objective_dual_gap(W1_grouped, Z, T, g, lam)
    gap_direct = lasso.pooled_objective_dual_gap(W1_direct, Z, T, g, lam)
    scale = float(np.sum(T * T))  # F(0): every objective value and gap here is below it
    # round-off of one evaluation of F or of a gap: primal and dual are sums of N k + m d terms, each a
    # length-d dot product (relative error (d + 2) eps), of size <= 4 F(0) (|R| <= |T| near a minimiser)
    rnd = 8 * scale * (N * k + m * d) * (d + 2) * EPS
    # both are certified near-minimisers; the grouped one within sklearn's own bound (2N x its gaps)
    assert gap_grouped <= 2 * N * fit.dual_gap.sum() + rnd
    assert gap_direct <= 1e-9 * scale  # the reference solver converged (a guard, not a tolerance)
    # hence the two minima agree within the sum of the certificates
    assert abs(F_grouped - F_direct) <= gap_grouped + gap_direct + 2 * rnd
    # penalty placement: the grouped W1 keeps ||W1||_1 = ||P W1||_1 (triangle inequality is tight)
    assert np.abs(W1_grouped).sum() == pytest.approx(np.abs(fit.coef).sum(), rel=1e-14, abs=1e-300)
    # pooled first layers: the objective in V is mu-strongly convex, mu = 2 lambda_min(Z^T Z), so
    # ||V - V*||^2 <= 2 (F(V) - F*) / mu <= 2 gap / mu for each solution
    mu = 2 * np.linalg.eigvalsh(Z.T @ Z)[0]
    if mu > 1e-6 * np.linalg.norm(Z, 2) ** 2:
        V_direct = nets.pooling_matrix(m, g) @ W1_direct
        bound = np.sqrt(2 * max(gap_grouped, rnd) / mu) + np.sqrt(2 * max(gap_direct, rnd) / mu)
        assert np.linalg.norm(V_direct - fit.coef) <= bound


def test_pooled_student_with_g_equal_s_is_the_base_student():
    """Negative control of the decomposition: g = s pools everything into one feature, the target."""
    rng = np.random.default_rng(4)
    d, s, N, sigma = 30, 6, 80, 0.3
    beta = lasso.draw_sparse_beta(d, s, rng)
    X, E = gaussian_inputs(N, d, sigma, rng)
    W1t, W2t = lasso.theorem3_teacher(beta, s, s)
    pooled = lasso.fit_pooled_student(X + E, X, W1t, W2t, s, sigma=sigma, tol=1e-12)
    alpha = lasso.theory_alpha(lasso.group_noise_std(beta[None, :], sigma), N, d, sigma)
    base = lasso.fit_base_student(X + E, X @ beta, alpha, tol=1e-12)
    assert pooled.fit.converged and base.converged
    assert pooled.fit.alpha[0] == pytest.approx(base.alpha[0], rel=1e-15)
    # the two targets differ only by summation order (<= s eps |beta||x| per sample); both fits are
    # certified to gap <= tol ||t||^2/N; strong convexity (N > d) turns each gap into a distance
    # sqrt(2 gap / mu_sk), mu_sk = lambda_min(Z^T Z)/N in sklearn's objective
    Z = X + E
    mu = np.linalg.eigvalsh(Z.T @ Z)[0] / N
    dy = np.linalg.norm(lasso.group_targets(X, W1t, s)[:, 0] - X @ beta)
    bound = (np.sqrt(2 * pooled.fit.gap_bound[0] / mu) + np.sqrt(2 * base.gap_bound[0] / mu)
             + dy * np.linalg.norm(Z, 2) / (N * mu))
    assert np.linalg.norm(pooled.w - base.coef[0]) <= bound


# -- solver settings and diagnostics -------------------------------------------------------------
def test_unconverged_fit_is_flagged_without_a_warning():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((40, 60))
    t = Z[:, :5] @ rng.standard_normal(5)
    fit = lasso.fit_group_lassos(Z, t, 1e-4, tol=1e-14, max_iter=2)  # tests run with warnings as errors
    assert not fit.converged
    assert fit.n_iter[0] == 2 and fit.max_relative_gap > 2 * fit.tol
    good = lasso.fit_group_lassos(Z, t, 1e-4, tol=1e-10, max_iter=100_000)
    assert good.converged and good.max_relative_gap <= 2e-10


def test_sklearn_alpha_map_reproduces_the_hand_solvable_lasso():
    # one feature, z = [-1, 0, 1], t = z: sklearn's objective (1/6)||t - zv||^2 + alpha|v| has minimiser
    # v = 1 - 1.5 alpha (soft-threshold of <z,t>/N = 2/3 at alpha, divided by ||z||^2/N = 2/3)
    Z = np.array([[-1.0], [0.0], [1.0]])
    for alpha, v in ((0.1, 0.85), (0.5, 0.25), (1.0, 0.0)):
        fit = lasso.fit_group_lassos(Z, Z[:, 0], alpha, tol=1e-12)
        assert fit.coef[0, 0] == pytest.approx(v, abs=1e-10)
        # the paper's objective (sum of squares + lambda |v|, lambda = 2 N alpha) has the same minimiser
        lam = 2 * 3 * alpha
        grid = np.linspace(-0.5, 1.5, 20001)
        paper = ((Z[:, 0][:, None] - Z @ grid[None, :]) ** 2).sum(axis=0) + lam * np.abs(grid)
        assert grid[np.argmin(paper)] == pytest.approx(v, abs=1e-4)  # grid spacing 1e-4


def test_theory_alpha_is_the_noise_correlation_level():
    rng = np.random.default_rng(6)
    d, N, sigma, reps = 400, 200, 0.3, 50
    beta = np.zeros(d)
    beta[:4] = 1.0
    noise = lasso.group_noise_std(beta[None, :], sigma)[0]
    alpha = lasso.theory_alpha([noise], N, d, sigma)[0]
    corr = np.empty((reps, d))
    for rep in range(reps):
        X, E = gaussian_inputs(N, d, sigma, rng)
        Z = X + E
        e = X @ beta - Z @ beta / (1 + sigma ** 2)  # the part of beta^T x no function of z explains
        corr[rep] = Z.T @ e / N
    # (Z^T e / N)_j are centred with sd sqrt(1+sigma^2) sigma_e / sqrt(N) = alpha / sqrt(2 log d):
    # 20000 values; the shared ||e||^2/N of a repetition moves the sd by ~ sqrt(1/(2N)) = 5% per rep,
    # i.e. 5%/sqrt(50) = 0.7% overall, so 5% is > 5 standard errors
    sd = alpha / np.sqrt(2 * np.log(d))
    assert abs(corr.std() / sd - 1) <= 0.05
    # the max over d coordinates: E max_j |g_j| <= sqrt(2 log 2d) sd (Gaussian maximal inequality)
    mx = np.abs(corr).max(axis=1) / alpha
    assert mx.mean() <= np.sqrt(np.log(2 * d) / np.log(d)) + 5 * mx.std(ddof=1) / np.sqrt(reps)
    assert mx.mean() >= 0.75  # and it is of that order (about 0.87 sqrt(2 log d) sd at d = 400)


def test_cross_validated_penalty_converges_and_beats_predicting_zero():
    rng = np.random.default_rng(7)
    d, s, g, N, sigma = 20, 4, 2, 60, 0.3
    beta = lasso.draw_sparse_beta(d, s, rng)
    X, E = gaussian_inputs(N, d, sigma, rng)
    W1t, W2t = lasso.theorem3_teacher(beta, s, g)
    st_cv = lasso.fit_pooled_student(X + E, X, W1t, W2t, g, penalty="cv")
    assert st_cv.fit.converged and np.all(st_cv.fit.alpha > 0)
    assert lasso.linear_test_error(st_cv.w, beta, sigma) < lasso.linear_test_error(np.zeros(d), beta, sigma)
    with pytest.raises(InputError, match="penalty must be one of"):
        lasso.fit_pooled_student(X + E, X, W1t, W2t, g, sigma=sigma, penalty="oracle")
    with pytest.raises(InputError, match="sigma is needed"):
        lasso.fit_pooled_student(X + E, X, W1t, W2t, g)


# -- inputs checked at the public boundary (issue 14): a clear error, never NaN or a deep crash ----
def test_public_functions_refuse_non_finite_empty_or_mismatched_inputs():
    rng = np.random.default_rng(8)
    beta = lasso.draw_sparse_beta(6, 2, rng)
    bad = np.array([np.nan, 1.0, 0, 0, 0, 0])
    with pytest.raises(InputError, match="w must contain only finite numbers"):
        lasso.linear_test_error(bad, beta, 0.3)
    with pytest.raises(InputError, match="beta"):
        lasso.optimal_test_error(bad, 0.3)
    with pytest.raises(InputError, match="Z must be a non-empty"):
        lasso.fit_group_lassos(np.zeros((0, 3)), np.zeros((0, 1)), 0.1)
    with pytest.raises(InputError, match="T must be a non-empty"):
        lasso.fit_group_lassos(np.ones((4, 3)), np.zeros((4, 0)), 0.1)
    with pytest.raises(InputError, match="alpha"):
        lasso.fit_group_lassos(np.ones((4, 3)), np.ones((4, 2)), [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="rng"):
        lasso.draw_sparse_beta(6, 2, None)
    with pytest.raises(InputError, match="beta"):
        lasso.theorem3_teacher(bad, 2, 1)
    with pytest.raises(InputError, match="U"):
        lasso.group_noise_std(np.array([[np.inf, 0.0]]), 0.3)
    with pytest.raises(InputError, match="noise_std"):
        lasso.theory_alpha([np.nan], 10, 6, 0.3)
    with pytest.raises(InputError, match="X_clean"):
        lasso.group_targets(np.ones((3, 5)), np.eye(2, 6), 1)
    W1t, W2t = lasso.theorem3_teacher(beta, 2, 1)
    X, E = gaussian_inputs(10, 6, 0.3, rng)
    with pytest.raises(InputError, match="X_noisy"):
        lasso.fit_pooled_student(X[:, :5] + E[:, :5], X, W1t, W2t, 1, sigma=0.3)
    with pytest.raises(InputError, match="X_noisy"):
        lasso.fit_pooled_student(np.full((10, 6), np.nan), X, W1t, W2t, 1, sigma=0.3)
