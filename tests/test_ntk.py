"""Closed-form ReLU NTK and arc-cosine kernels, the empirical NTK of the network of theorycheck.nets,
kernel regression / linearised gradient descent, and the memory guard."""

from functools import partial

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import nets
from theorycheck.errors import InputError
from theorycheck.ji2020 import kd, ntk

EPS = np.finfo(float).eps
seeds = st.integers(0, 2 ** 32 - 1)
# arccos near u = +-1 turns a rounding error of a few eps in u into theta ~ sqrt(2 * 4 eps) ~ 4e-8,
# and every kernel here is 1-Lipschitz in theta on the sphere: off-diagonal identities hold to 1e-7
THETA_TOL = 1e-7


@given(n=st.integers(1, 12), d=st.integers(2, 12), seed=seeds)
def test_ntk_sphere_identities(n, d, seed):
    X = ntk.unit_sphere(n, d, np.random.default_rng(seed))
    K = ntk.relu_ntk(X)
    assert np.allclose(np.diag(K), 1.0, rtol=0, atol=4 * EPS)           # exact diagonal
    assert np.allclose(np.diag(ntk.relu_ntk(X, -X)), 0.0, atol=THETA_TOL)  # Theta(x, -x) = 0
    assert np.allclose(np.diag(ntk.relu_ntk(X, X)), 1.0, atol=THETA_TOL)   # cross form, via arccos
    assert np.all(np.abs(K) <= 1 + 4 * EPS)  # Cauchy-Schwarz: |Theta(x,y)| <= sqrt(Theta(x,x) Theta(y,y))


@given(n=st.integers(1, 15), d=st.integers(1, 8), seed=seeds, layers=st.sampled_from(ntk.LAYERS),
       sigma_w=st.floats(0.3, 3.0), beta=st.floats(0.0, 2.0))
def test_ntk_gram_is_symmetric_psd(n, d, seed, layers, sigma_w, beta):
    rng = np.random.default_rng(seed)
    X = ntk.augment_bias(rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0, (n, 1)), beta)
    K = ntk.relu_ntk(X, layers=layers, sigma_w=sigma_w)
    assert np.array_equal(K, K.T)
    # eigenvalues of a PSD matrix computed in floating point: >= -n * eps * ||K|| (backward error)
    # plus the arccos rounding of the entries, THETA_TOL * scale per entry
    scale = np.max(np.abs(np.diag(K)))
    assert np.linalg.eigvalsh(K)[0] >= -(n * 8 * EPS + n * THETA_TOL) * scale
    assert np.allclose(np.diag(K), ntk.relu_ntk_diag(X, layers=layers, sigma_w=sigma_w), rtol=1e-15)


@given(n=st.integers(1, 10), d=st.integers(1, 6), seed=seeds, sigma_w=st.floats(0.3, 3.0))
def test_ntk_is_first_plus_second_layer_and_scales(n, d, seed, sigma_w):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n + 1, d))
    both = ntk.relu_ntk(X, Y, sigma_w=sigma_w)
    first = ntk.relu_ntk(X, Y, layers="first", sigma_w=sigma_w)
    second = ntk.relu_ntk(X, Y, layers="second", sigma_w=sigma_w)
    assert np.allclose(both, first + second, rtol=1e-14, atol=1e-14)
    # second layer = sigma_w^2 k_1 / 2, first layer = x.y k_0 / 2 (Cho & Saul 2009)
    assert np.allclose(second, sigma_w ** 2 * ntk.arccos_kernel(X, Y, order=1) / 2, rtol=1e-13, atol=1e-14)
    assert np.allclose(first, (X @ Y.T) * ntk.arccos_kernel(X, Y, order=0) / 2, rtol=1e-13, atol=1e-14)
    # homogeneity: Theta(c x, y) = c Theta(x, y) for c > 0
    assert np.allclose(ntk.relu_ntk(2.5 * X, Y, sigma_w=sigma_w), 2.5 * both, rtol=1e-13, atol=1e-13)


def test_arccos_kernels_are_gaussian_expectations():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3))
    W = rng.standard_normal((400_000, 3))
    H = X @ W.T
    mc0 = ((H > 0).astype(float) @ (H > 0).T) / len(W)
    mc1 = (np.maximum(H, 0) @ np.maximum(H, 0).T) / len(W)
    # Monte Carlo: |error| <= 5 standard errors, SE = std(per-sample product) / sqrt(M)
    se0 = 0.5 / np.sqrt(len(W))
    se1 = np.sqrt(np.mean((np.maximum(H, 0)[:, None, :] * np.maximum(H, 0)[None, :, :]) ** 2, axis=2)
                  / len(W))
    assert np.all(np.abs(mc0 - ntk.arccos_kernel(X, order=0) / 2) <= 5 * se0)
    assert np.all(np.abs(mc1 - ntk.arccos_kernel(X, order=1) / 2) <= 5 * se1)


def test_tangent_features_are_the_gradients_of_nets_network():
    """The NTK parameterisation lives in nets' layout: dF/dW from nets.backward, dF/da = sqrt(m) dF/dW2."""
    rng = np.random.default_rng(1)
    d, m, n = 4, 6, 5
    w = ntk.init_ntk_network(d, m, rng, antisymmetric=False)
    X = rng.standard_normal((n, d))
    phi = ntk.ntk_features(w, X)
    for i in range(n):
        fwd = nets.forward(w, X[i:i + 1])
        (gW, gW2), _ = nets.backward(w, X[i:i + 1], fwd, np.ones((1, 1)))
        grad_a = gW2[0] / np.sqrt(m)       # f = W2 h, W2 = a / sqrt(m)  =>  df/da = h / sqrt(m)
        assert np.allclose(phi[i], np.concatenate([gW.ravel(), grad_a]), rtol=1e-14, atol=1e-15)
    assert np.allclose(phi @ phi.T, ntk.empirical_ntk(w, X), rtol=1e-13, atol=1e-15)
    for layers, cols in (("first", slice(0, m * d)), ("second", slice(m * d, None))):
        assert np.allclose(ntk.empirical_ntk(w, X, layers=layers), phi[:, cols] @ phi[:, cols].T, atol=1e-14)


@given(n=st.integers(2, 8), d=st.integers(2, 6), seed=seeds, sigma_w=st.floats(0.5, 2.0),
       beta=st.floats(0.0, 1.0))
def test_empirical_ntk_converges_to_analytic_at_one_over_sqrt_m(n, d, seed, sigma_w, beta):
    rng = np.random.default_rng(seed)
    X = ntk.augment_bias(rng.standard_normal((n, d)), beta)  # beta > 0: a trained first-layer bias
    K = ntk.relu_ntk(X, sigma_w=sigma_w)
    for m in (512, 8192):
        w = ntk.init_ntk_network(d + 1, m, rng, sigma_w=sigma_w)
        err = np.linalg.norm(ntk.empirical_ntk(w, X) - K)
        # the tolerance is the predicted Monte Carlo RMS (per-neuron variance / (m/2) pairs, which
        # scales as 1/sqrt(m)) times 5: the squared error is a sum of a few chi-square-like terms
        assert err <= 5 * ntk.empirical_ntk_sampling_error(w, X)


def test_empirical_ntk_error_is_consistent_with_monte_carlo_and_not_a_wrong_constant():
    rng = np.random.default_rng(7)
    X = ntk.unit_sphere(20, 5, rng)
    K = ntk.relu_ntk(X)
    w = ntk.init_ntk_network(5, 20000, rng)
    mc = ntk.empirical_ntk_sampling_error(w, X)
    assert np.linalg.norm(ntk.empirical_ntk(w, X) - K) <= 5 * mc
    # the Arora/Jacot convention (2x this kernel) is far outside the Monte Carlo band (4x its width)
    assert np.linalg.norm(ntk.empirical_ntk(w, X) - 2 * K) > 20 * mc


def test_antisymmetric_initialisation_gives_zero_output_and_refuses_odd_width():
    rng = np.random.default_rng(2)
    w = ntk.init_ntk_network(3, 10, rng)
    X = rng.standard_normal((7, 3))
    assert np.max(np.abs(ntk.ntk_forward(w, X))) <= 1e-15 * np.max(np.abs(ntk.ntk_readout(w)))
    with pytest.raises(InputError, match="even"):
        ntk.init_ntk_network(3, 7, rng)
    with pytest.raises(InputError, match="antisymmetric pairing"):
        ntk.empirical_ntk_sampling_error(ntk.init_ntk_network(3, 10, rng, antisymmetric=False), X)


def test_ntk_gradient_descent_is_gradient_descent_on_W_and_a():
    """One step through nets + train.sgd equals the NTK-parameterisation update written by hand."""
    rng = np.random.default_rng(3)
    d, m, n, lr = 3, 8, 5, 0.7
    w0 = ntk.init_ntk_network(d, m, rng)
    X = rng.standard_normal((n, d))
    z_t, y_g = rng.standard_normal(n), rng.integers(0, 2, n).astype(float)
    lg = partial(kd.kd_loss_and_grad, z_t=z_t, y_g=y_g, rho=0.6, T=2.0)
    w1 = ntk.ntk_gradient_descent(w0, X, lg, lr=lr, steps=1, rng=rng)
    W, a = w0[0], ntk.ntk_readout(w0)
    _, g = lg(ntk.ntk_forward(w0, X))
    pre = X @ W.T
    dW = ((g[:, None] * (pre > 0) * a).T @ X) / np.sqrt(m)        # sum_n g_n a_r 1{w_r x_n > 0} x_n / sqrt(m)
    da = (g @ np.maximum(pre, 0)) / np.sqrt(m)                     # sum_n g_n relu(w_r x_n) / sqrt(m)
    assert np.allclose(w1[0], W - lr * dW, rtol=1e-14, atol=1e-15)
    assert np.allclose(ntk.ntk_readout(w1), a - lr * da, rtol=1e-14, atol=1e-15)
    # freezing a layer leaves it untouched
    assert np.array_equal(ntk.ntk_gradient_descent(w0, X, lg, lr=lr, steps=1, rng=rng, layers="first")[1], w0[1])
    assert np.array_equal(ntk.ntk_gradient_descent(w0, X, lg, lr=lr, steps=1, rng=rng, layers="second")[0], w0[0])


@given(n=st.integers(2, 8), seed=seeds, rho=st.floats(0.0, 1.0), steps=st.integers(1, 30))
def test_kernel_gradient_descent_is_gradient_descent_of_the_linear_model(n, seed, rho, steps):
    rng = np.random.default_rng(seed)
    w = ntk.init_ntk_network(3, 6, rng)
    X = rng.standard_normal((n, 3))
    phi = ntk.ntk_features(w, X)
    z_t, y_g = 2 * rng.standard_normal(n), rng.integers(0, 2, n).astype(float)
    grad = kd.kd_mean_grad_fn(z_t, y_g, rho, 2.0)
    lr = 0.5
    gd = ntk.kernel_gradient_descent(phi @ phi.T, grad, lr=lr, steps=steps, snapshots=[0, steps])
    theta = np.zeros(phi.shape[1])  # explicit weights of f_lin = phi . theta
    for _ in range(steps):
        theta -= lr * phi.T @ grad(phi @ theta)
    assert np.allclose(gd.z, phi @ theta, rtol=1e-10, atol=1e-12)
    assert np.allclose(phi.T @ gd.coef, theta, rtol=1e-10, atol=1e-12)
    assert np.array_equal(gd.snapshots[0], np.zeros(n)) and np.array_equal(gd.snapshots[steps], gd.coef)


@given(n=st.integers(1, 30), d=st.integers(2, 6), k=st.integers(1, 3), seed=seeds)
def test_kernel_regression_interpolates_and_gives_the_weight_norm(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = ntk.augment_bias(ntk.unit_sphere(n, d, rng), 0.5)  # bias: strictly PD kernel
    K = ntk.relu_ntk(X)
    z = rng.standard_normal((n, k))
    lam = 1e-8
    fit = ntk.kernel_regression(K, z, diag_reg=lam, with_cond=True)
    # nugget kernel: K gamma = z - lam gamma exactly; rounding ~ cond * eps * |z|
    assert np.allclose(K @ fit.coef, z - lam * fit.coef, atol=fit.cond * 64 * EPS * np.max(np.abs(z)))
    A = K + lam * np.eye(n)
    assert np.allclose(fit.weight_norm_sq(), np.einsum("ik,ik->k", z, np.linalg.solve(A, z)),
                       rtol=fit.cond * 64 * EPS)


def test_kernel_regression_refuses_indefinite_matrix():
    with pytest.raises(InputError, match="not positive definite"):
        ntk.kernel_regression(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2), diag_reg=0.0)


def test_memory_guard_refuses_before_allocating():
    X = np.ones((60_000, 3))  # a 60000^2 float64 Gram matrix would need 26.8 GiB
    with pytest.raises(InputError, match=r"memory_budget would be exceeded.*26\.82 GiB > budget 2\.00 GiB"):
        ntk.relu_ntk(X)
    with pytest.raises(InputError, match="memory_budget"):
        ntk.arccos_kernel(X[:100], order=1, memory_budget=1000)
    w = ntk.init_ntk_network(3, 2_000_000, np.random.default_rng(0))
    with pytest.raises(InputError, match="activations"):
        ntk.empirical_ntk(w, X[:200])
    assert ntk.check_kernel_memory(100, 100) == 80_000


def test_blocked_kernel_equals_unblocked(monkeypatch):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((37, 4)), rng.standard_normal((11, 4))
    full = ntk.relu_ntk(X, Y)
    monkeypatch.setattr(ntk.kernels, "BLOCK_BYTES", 8 * 6 * 11 * 5)  # 5 rows per block
    assert np.array_equal(ntk.relu_ntk(X, Y), full)


@pytest.mark.parametrize("call, name", [
    (lambda: ntk.unit_sphere(3, 2, None), "rng"),
    (lambda: ntk.unit_sphere(3, 2, 7), "rng"),
    (lambda: ntk.init_ntk_network(2, 4, None), "rng"),
    (lambda: ntk.arccos_kernel(np.array([[np.nan, 1.0]]), order=1), "X"),
    (lambda: ntk.relu_ntk(np.ones((2, 3)), np.ones((2, 4))), "Y"),
    (lambda: ntk.relu_ntk(np.empty((0, 3))), "X"),
    (lambda: ntk.kernel_regression(np.array([[np.nan]]), np.ones(1)), "K"),
    (lambda: ntk.kernel_regression(np.eye(2), np.array([1.0, np.inf])), "z"),
    (lambda: ntk.kernel_regression(np.empty((0, 0)), np.ones(0)), "K"),
    (lambda: ntk.largest_eigenvalue(np.ones((2, 3))), "K"),
    (lambda: ntk.kernel_gradient_descent(np.array([[np.nan]]), lambda z: z, lr=1.0, steps=1), "K"),
    (lambda: ntk.kernel_gradient_descent(np.eye(2), lambda z: z, lr=1.0, steps=1, coef0=np.ones(3)), "coef0"),
    (lambda: ntk.kernel_gradient_descent(np.eye(2), None, lr=1.0, steps=1), "grad_z"),
    (lambda: ntk.ntk_gradient_descent(ntk.init_ntk_network(2, 4, np.random.default_rng(0)), np.ones((3, 2)),
                                      lambda z: (0.0, z), lr=-1.0, steps=1, rng=np.random.default_rng(0)), "lr"),
])
def test_public_functions_refuse_bad_inputs_naming_the_argument(call, name):
    """Issue 14: a clear error naming the argument at the public boundary, never a deep crash or a
    NaN result."""
    with pytest.raises(InputError) as err:
        call()
    assert err.value.param == name
