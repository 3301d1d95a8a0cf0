"""The KD loss of Ji & Zhu (2020) and its effective student logit (Corollary 1): the solver against
the loss, its closed forms, limits and implicit derivatives."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.special import expit

from theorycheck.errors import InputError
from theorycheck.ji2020 import kd

EPS = np.finfo(float).eps

rhos = st.floats(0.01, 1.0)
temps = st.floats(0.2, 10.0)
seeds = st.integers(0, 2 ** 32 - 1)


def _problem(seed, n, scale=6.0):
    rng = np.random.default_rng(seed)
    z_t = scale * rng.standard_normal(n)
    y_g = rng.integers(0, 2, n).astype(float)
    return z_t, y_g


@given(n=st.integers(1, 8), rho=st.floats(0.0, 1.0), T=temps, seed=seeds)
def test_kd_gradient_matches_central_differences_of_the_loss(n, rho, T, seed):
    z_t, y_g = _problem(seed, n)
    z_s = 4.0 * np.random.default_rng(seed + 1).standard_normal(n)
    loss, grad = kd.kd_loss_and_grad(z_s, z_t, y_g, rho, T)
    h = 1e-5
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        fd = (kd.kd_loss(z_s + e, z_t, y_g, rho, T) - kd.kd_loss(z_s - e, z_t, y_g, rho, T)) / (2 * h)
        # truncation h^2 |l'''| / 6 <= h^2 (1/T^3 + 1) / 60; round-off ~ eps * loss / h
        tol = h ** 2 * (1 / T ** 3 + 1) / 6 + 16 * EPS * (1 + loss) / h
        assert abs(fd - grad[i]) <= tol
    # the closure used in hot loops computes the same gradient
    assert np.allclose(kd.kd_mean_grad_fn(z_t, y_g, rho, T)(z_s), grad, rtol=1e-15, atol=0)


@given(n=st.integers(1, 50), rho=rhos, T=temps, seed=seeds)
def test_effective_logit_is_the_unique_root_and_the_loss_minimiser(n, rho, T, seed):
    z_t, y_g = _problem(seed, n)
    res = kd.solve_effective_logit(z_t, y_g, rho, T)
    assert res.converged.all()
    # the root is found to xtol = 1e-14 relative: |F| <= F'(z) * |dz| + rounding of F's two terms
    slope = kd.kd_logit_grad_slope(res.z, rho, T)
    assert np.all(res.residual <= slope * 4e-14 * (1 + np.abs(res.z)) + 8 * EPS * (rho / T + 1 - rho))
    # F is strictly increasing, so a sign change around z proves uniqueness
    step = 1e-6 * (1 + np.abs(res.z))
    assert np.all(kd.kd_logit_grad(res.z - step, z_t, y_g, rho, T) < 0)
    assert np.all(kd.kd_logit_grad(res.z + step, z_t, y_g, rho, T) > 0)
    for i in range(min(n, 3)):  # and the per-sample loss is minimal there
        args = (z_t[i:i + 1], y_g[i:i + 1], rho, T)
        here = kd.kd_loss(res.z[i:i + 1], *args)
        rise = slope[i] * 1e-6 / 2      # l(z +- s) - l(z) ~ F'(z) s^2 / 2 with s = 1e-3
        for s in (-1e-3, 1e-3):
            there = kd.kd_loss(res.z[i:i + 1] + s, *args)
            assert there >= here * (1 - 8 * EPS)            # never below, up to rounding of the loss
            if rise > 64 * EPS * here:                       # and visibly above when resolvable
                assert there > here


@given(rho=rhos, T=temps, y=st.sampled_from([0.0, 1.0]), seed=seeds)
def test_effective_logit_strictly_increasing_in_teacher_logit(rho, T, y, seed):
    z_t = np.sort(np.random.default_rng(seed).uniform(-10, 10, 200))
    z, dz_dzt, _ = kd.effective_logit_sensitivities(z_t, np.full(z_t.size, y), rho, T)
    # dz/dz_t = rho sigma'(z_t/T) / (T^2 F'(z)) > 0 always ...
    assert np.all(dz_dzt > 0)
    # ... but can be ~1e-20 in the tails (rho small, |z_t|/T large): there z_eff is flat to rounding.
    # Strict increase is required wherever the predicted step exceeds the solver's 1e-14 tolerance.
    rounding = 4e-14 * (1 + np.abs(z[1:]))
    predicted = np.minimum(dz_dzt[:-1], dz_dzt[1:]) * np.diff(z_t)
    assert np.all(np.diff(z) >= -rounding)
    assert np.all(np.diff(z)[predicted > 10 * rounding] > 0)


@given(n=st.integers(1, 50), rho=rhos, seed=seeds, soft=st.booleans())
def test_effective_logit_T1_closed_form(n, rho, seed, soft):
    z_t, y_g = _problem(seed, n)
    if soft:  # y_g in [0, 1] is allowed too
        y_g = np.random.default_rng(seed).uniform(0, 1, n)
    z = kd.effective_logit(z_t, y_g, rho, 1.0)
    # solver: 1e-14 relative step; closed form: two logs, a few eps each
    assert np.allclose(z, kd.effective_logit_T1(z_t, y_g, rho), rtol=1e-12, atol=1e-12)


@given(n=st.integers(1, 50), T=temps, seed=seeds)
def test_effective_logit_rho1_is_teacher_logit(n, T, seed):
    z_t, y_g = _problem(seed, n)
    assert np.allclose(kd.effective_logit(z_t, y_g, 1.0, T), z_t, rtol=1e-13, atol=1e-13)


def test_rho0_has_no_finite_root_and_is_refused():
    with pytest.raises(InputError, match="rho = 0 .*no finite effective logit"):
        kd.effective_logit(np.array([1.0]), np.array([1.0]), 0.0, 2.0)
    # the closed form exhibits the divergence the solver refuses
    assert np.all(np.isinf(kd._logit_mix(np.array([1.0, -1.0]), np.array([1.0, 0.0]), 0.0)))


@pytest.mark.parametrize("bad", [dict(rho=-0.1), dict(rho=1.5), dict(T=0.0), dict(T=np.nan)])
def test_solver_rejects_bad_parameters(bad):
    args = dict(rho=0.5, T=1.0) | bad
    with pytest.raises(InputError):
        kd.effective_logit(np.zeros(3), np.ones(3), **args)
    with pytest.raises(InputError, match="y_g"):
        kd.effective_logit(np.zeros(2), np.array([0.0, 2.0]), 0.5, 1.0)
    with pytest.raises(InputError, match="z_t"):
        kd.effective_logit(np.array([np.nan]), np.array([1.0]), 0.5, 1.0)


def test_solver_handles_extreme_logits_and_temperatures():
    z_t = np.array([-300.0, -40.0, 0.0, 40.0, 300.0])
    for rho, T in [(1e-6, 0.1), (0.5, 0.05), (0.3, 50.0), (0.999, 1.0)]:
        for y in (0.0, 1.0):
            res = kd.solve_effective_logit(z_t, np.full(5, y), rho, T)
            assert res.converged.all() and np.all(np.isfinite(res.z))
            assert np.all(res.residual <= 1e-12)


@given(rho=st.floats(0.02, 0.98), T=temps)
def test_jump_half_width_T1_formula_and_growth(rho, T):
    assert kd.jump_half_width(rho, 1.0) == pytest.approx(np.log((2 - rho) / rho), rel=1e-13, abs=1e-13)
    z0 = kd.jump_half_width(rho, T)
    assert z0 > 0
    assert kd.jump_half_width(rho, 1.2 * T) > z0          # grows with T
    assert kd.jump_half_width(0.8 * rho, T) > z0          # grows as rho falls
    assert kd.jump_half_width(1.0, T) == 0.0              # no jump for pure soft labels


def test_jump_half_width_diverges_like_log_2T_over_rho():
    # exact rearrangement: z_0 = ln(2T(1-rho)/rho) - ln(1 - 2 sigma(-z_0/T)) + ln(1 - sigma(-z_0)),
    # so z_0 - ln(2T/rho) -> 0 as rho -> 0, with corrections O(e^{-z_0/T} + rho)
    for T in (0.5, 1.0):
        for rho in (1e-6, 1e-9):
            assert kd.jump_half_width(rho, T) == pytest.approx(np.log(2 * T / rho), abs=1e-4)
    gaps = [kd.jump_half_width(rho, 5.0) - np.log(10.0 / rho) for rho in (1e-3, 1e-6, 1e-9, 1e-12)]
    assert all(g > 0 for g in gaps) and all(b < a for a, b in zip(gaps, gaps[1:]))  # T = 5: slower
    z0 = kd.jump_half_width(1e-9, 5.0)
    exact = np.log(10 * (1 - 1e-9) / 1e-9) - np.log(1 - 2 * expit(-z0 / 5)) + np.log(1 - expit(-z0))
    assert z0 == pytest.approx(exact, rel=1e-13)


@given(n=st.integers(1, 20), rho=st.floats(0.05, 0.95), T=temps, seed=seeds)
def test_implicit_derivatives_match_central_differences(n, rho, T, seed):
    z_t, y_g = _problem(seed, n, scale=4.0)
    z, dzt, drho = kd.effective_logit_sensitivities(z_t, y_g, rho, T)
    h = 1e-5
    fd_zt = (kd.effective_logit(z_t + h, y_g, rho, T) - kd.effective_logit(z_t - h, y_g, rho, T)) / (2 * h)
    fd_rho = (kd.effective_logit(z_t, y_g, rho + h, T) - kd.effective_logit(z_t, y_g, rho - h, T)) / (2 * h)
    # central differences: truncation O(h^2 |z'''|) with |z'''| = O(1e2) in the tails; round-off
    # 2e-14 |z| / h from the solver's tolerance
    tol_zt = 1e-7 + 4e-14 * (1 + np.abs(z)) / h
    assert np.all(np.abs(fd_zt - dzt) <= tol_zt + 1e-6 * np.abs(dzt))
    assert np.all(np.abs(fd_rho - drho) <= tol_zt + 1e-5 * np.abs(drho))


@given(n=st.integers(1, 20), T=temps, seed=seeds)
def test_sensitivity_at_rho1_is_the_implicit_derivative(n, T, seed):
    z_t, y_g = _problem(seed, n, scale=4.0)
    _, _, drho = kd.effective_logit_sensitivities(z_t, y_g, 1.0, T)
    delta = kd.sensitivity_at_rho1(z_t, y_g, T)
    assert np.allclose(delta, -drho, rtol=1e-12, atol=0)
    # hard labels pull the logit towards the label: delta has the sign of y_g - sigma(z_t)
    assert np.all(np.sign(delta) == np.sign(y_g - expit(z_t)))


def test_bce_with_logits_is_finite_for_huge_logits():
    z = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    h = kd.bce_with_logits(np.array([1.0, 1.0, 0.5, 0.0, 0.0]), z)
    assert np.all(np.isfinite(h))
    assert h[0] == pytest.approx(1e4) and h[2] == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("call, name", [
    (lambda: kd.kd_logit_grad(np.nan, 0.0, 1.0, 0.5, 1.0), "z_s"),
    (lambda: kd.kd_logit_grad(0.0, np.inf, 1.0, 0.5, 1.0), "z_t"),
    (lambda: kd.kd_logit_grad(0.0, 0.0, np.nan, 0.5, 1.0), "y_g"),
    (lambda: kd.kd_logit_grad_slope(np.nan, 0.5, 1.0), "z_s"),
    (lambda: kd.bce_with_logits(0.5, np.nan), "z"),
    (lambda: kd.bce_with_logits(1.5, 0.0), "p"),
    (lambda: kd.kd_loss([], [], [], 0.5, 1.0), "z_s"),
    (lambda: kd.effective_logit(np.array([]), np.array([]), 0.5, 1.0), "z_t"),
    (lambda: kd.sensitivity_at_rho1(np.nan, 1.0, 1.0), "z_t"),
    (lambda: kd.jump_half_width(0.5, np.inf), "T"),
])
def test_public_functions_refuse_bad_inputs_naming_the_argument(call, name):
    """Issue 14: a clear error naming the argument, never a NaN result."""
    with pytest.raises(InputError) as err:
        call()
    assert err.value.param == name
