"""The mixed-feature data model, its augmentations, the Bayes references and the invariant-extractor
minimisers of SoTeacher (the toolkit's reconstruction of the paper's Def. 3.1 and Lemmas 3.3-3.5), and the
checks at their public boundary."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck.errors import InputError
from theorycheck.soteacher import mixed_features as mf
from theorycheck.soteacher.invariant import (chebyshev_radius, feature_label_frequencies, mixture_gradient,
                                             mixture_mle, optimality_gap, t1_variance)
from theorycheck.soteacher.training import TrainConfig, train_patchnet
from theorycheck.soteacher import patchnet


def _world(seed, s=6, K=4, d=3, m=3, sigma=0.3, dn=2, a=0.5):
    return mf.draw_world(s, K, d, m, sigma, np.random.default_rng(seed), dirichlet=a, nuisance_dim=dn)


@given(s=st.integers(1, 8), K=st.integers(2, 6), m=st.integers(1, 5), seed=st.integers(0, 2 ** 32 - 1))
def test_true_label_distribution_is_the_mean_of_the_patch_laws(s, K, m, seed):
    w = mf.draw_world(s, K, 2, m, 0.2, np.random.default_rng(seed))
    data = mf.sample(w, 7, np.random.default_rng(seed + 1))
    expected = np.stack([w.label_laws[data.Z[i]].sum(axis=0) / m for i in range(7)])
    np.testing.assert_allclose(data.pstar, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(data.pstar.sum(axis=1), 1.0, atol=1e-12)
    assert data.X.shape == (7, m, 2) and data.y.min() >= 0 and data.y.max() < K


def test_labels_are_drawn_from_pstar():
    w = _world(0)
    data = mf.sample(w, 40000, np.random.default_rng(1))
    resid = np.eye(w.K)[data.y] - data.pstar         # mean zero, per-entry variance <= 1/4
    se = 0.5 / np.sqrt(len(data))
    assert np.all(np.abs(resid.mean(axis=0)) < 5 * se)


def test_patches_have_the_feature_means_and_variance_nu():
    w = _world(2, sigma=0.4)
    data = mf.sample(w, 20000, np.random.default_rng(3))
    dev = data.X[..., :w.d] - w.means[data.Z]
    n = dev.shape[0] * dev.shape[1]
    # E||x - mu_z||^2 = nu = d sigma^2; the per-patch squared norm has sd sigma^2 sqrt(2d)
    nu_hat = (dev ** 2).sum(axis=2).mean()
    assert abs(nu_hat - w.d * w.sigma ** 2) < 5 * w.sigma ** 2 * np.sqrt(2 * w.d / n)


@pytest.mark.parametrize("kind", ["resample", "flip"])
def test_augmentations_leave_signal_and_pstar_unchanged(kind):
    w = _world(4)
    data = mf.sample(w, 50, np.random.default_rng(5))
    Xa = mf.augment(w, data.X, kind, np.random.default_rng(6), strength=0.7)
    np.testing.assert_array_equal(Xa[..., :w.d], data.X[..., :w.d])
    assert not np.array_equal(Xa[..., w.d:], data.X[..., w.d:])
    np.testing.assert_array_equal(mf.true_label_distribution(w, data.Z), data.pstar)


def test_resample_keeps_the_nuisance_law_and_has_correlation_sqrt_one_minus_rho2():
    w = _world(7, dn=4)
    data = mf.sample(w, 20000, np.random.default_rng(8))
    rho = 0.6
    Xa = mf.augment(w, data.X, "resample", np.random.default_rng(9), strength=rho)
    eta, eta2 = data.X[..., w.d:].ravel(), Xa[..., w.d:].ravel()
    n = eta.size
    # variance of N(0, tau^2) samples: SE tau^2 sqrt(2/n); correlation SE ~ 1/sqrt(n)
    assert abs(eta2.var() - w.tau ** 2) < 5 * np.sqrt(2 / n)
    assert abs(np.corrcoef(eta, eta2)[0, 1] - np.sqrt(1 - rho ** 2)) < 5 / np.sqrt(n)
    np.testing.assert_array_equal(mf.augment(w, data.X, "resample", np.random.default_rng(0), 0.0), data.X)


def test_bayes_posterior_tends_to_pstar_when_patches_separate():
    w = _world(10, sigma=1e-3)
    data = mf.sample(w, 200, np.random.default_rng(11))
    post = mf.bayes_posterior(w, data.X)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)
    # with sigma = 1e-3 and unit-scale separated means the wrong-feature weights are exp(-O(1e5))
    assert mf.l1_error(post, data.pstar) < 1e-12


def test_bayes_accuracy_beats_any_other_rule_on_average():
    w = _world(12, sigma=0.8)
    data = mf.sample(w, 5000, np.random.default_rng(13))
    bayes = mf.expected_accuracy(mf.bayes_posterior(w, data.X), data.pstar)
    blurred = mf.bayes_posterior(w, data.X) + 0.3 * np.random.default_rng(14).random((len(data), w.K))
    assert bayes >= mf.expected_accuracy(blurred, data.pstar)
    assert bayes <= mf.expected_accuracy(data.pstar, data.pstar) + 1e-12  # knowing z is no worse


def test_memoriser_error_closed_form_matches_monte_carlo():
    w = _world(15, m=4)
    data = mf.sample(w, 50000, np.random.default_rng(16))
    per = 2 * (1 - data.pstar[np.arange(len(data)), data.y])
    assert abs(mf.memoriser_error(data.pstar, data.y) - mf.memoriser_error_expected(w)) < \
        5 * per.std() / np.sqrt(len(per))


def test_invalid_inputs_are_refused():
    w = _world(0)
    with pytest.raises(InputError, match="augment"):
        mf.augment(w, np.zeros((1, w.m, w.patch_dim)), "crop", np.random.default_rng(0))
    with pytest.raises(InputError, match="aug_strength"):
        mf.augment(w, np.zeros((1, w.m, w.patch_dim)), "resample", np.random.default_rng(0), 1.5)
    with pytest.raises(InputError, match="Z"):
        mf.true_label_distribution(w, np.zeros((3, w.m + 1), dtype=int))
    with pytest.raises(InputError, match="delta"):
        chebyshev_radius(w.label_laws, np.ones(w.s), 0.0)


# -- invariant extractor (Lemmas 3.3-3.5) ---------------------------------------------------------------
def test_feature_label_frequencies_toy():
    z = np.array([0, 0, 0, 1, 1])
    y = np.array([2, 2, 0, 1, 1])
    freq, counts = feature_label_frequencies(z, y, 3, 3)
    np.testing.assert_array_equal(counts, [3, 2, 0])
    np.testing.assert_allclose(freq, [[1 / 3, 0, 2 / 3], [0, 1, 0], [0, 0, 0]])


def test_t1_variance_identity_by_enumeration():
    # n * E||pi_hat - pi||^2 = 1 - ||pi||^2 for the mean of n one-hot draws (exact, n = 1)
    pi = np.array([0.5, 0.3, 0.2])
    exact = sum(p * np.sum((np.eye(3)[k] - pi) ** 2) for k, p in enumerate(pi))
    assert exact == pytest.approx(t1_variance(pi[None])[0], abs=1e-15)


@given(seed=st.integers(0, 2 ** 32 - 1), s=st.integers(2, 6), K=st.integers(2, 5))
def test_mixture_mle_is_the_frequencies_for_one_patch(seed, s, K):
    rng = np.random.default_rng(seed)
    Z = rng.integers(0, s, (60, 1))
    y = rng.integers(0, K, 60)
    q, loglik, _, converged = mixture_mle(Z, y, s, K)
    freq, counts = feature_label_frequencies(Z[:, 0], y, s, K)
    assert converged
    seen = counts > 0
    # EM's fixed point for m = 1 is reached in one step; the start is mixed with 1/K, so after one step
    # q equals the frequencies up to rounding
    np.testing.assert_allclose(q[seen], freq[seen], atol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_mixture_mle_beats_random_feasible_mixtures(seed):
    rng = np.random.default_rng(seed)
    s, K, m = 4, 3, 3
    Z = rng.integers(0, s, (80, m))
    y = rng.integers(0, K, 80)
    q, loglik, _, converged = mixture_mle(Z, y, s, K, tol=1e-13)
    assert converged
    for _ in range(20):
        r = rng.dirichlet(np.ones(K), size=s)
        other = float(np.mean(np.log(r[Z, y[:, None]].mean(axis=1))))
        # concave objective: EM's limit is the global maximum (up to its stopping tolerance)
        assert other <= loglik + 1e-9


def test_trained_erm_head_on_invariant_features_equals_the_frequencies():
    w = mf.draw_world(5, 3, 2, 1, 0.2, np.random.default_rng(0), dirichlet=2.0)
    data = mf.sample(w, 400, np.random.default_rng(1))
    feats = mf.Sample(X=mf.onehot_features(data.Z, w.s), Z=data.Z, pstar=data.pstar, y=data.y)
    cfg = TrainConfig(depth=0, head="mixture", epochs=400, batch_size=400, lr=1.0, weight_decay=0.0,
                      lr_decay_at=())
    run = train_patchnet(cfg, w, feats, np.random.default_rng(2))
    pred = patchnet.predict_proba(run.params, feats.X, "mixture")
    freq, counts = feature_label_frequencies(data.Z[:, 0], data.y, w.s, w.K)
    assert counts.min() > 0 and freq.min() > 0      # the minimiser is attained (no empty class)
    # strongly convex per feature once every class is seen: GD converges linearly; 400 momentum steps
    # at this curvature leave < 1e-6
    np.testing.assert_allclose(pred, freq[data.Z[:, 0]], atol=1e-6)


def test_chebyshev_radius_covers_at_least_one_minus_delta():
    w = mf.draw_world(8, 4, 2, 1, 0.2, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    delta, hits, R = 0.2, 0, 300
    for _ in range(R):
        data = mf.sample(w, 200, rng)
        freq, counts = feature_label_frequencies(data.Z[:, 0], data.y, w.s, w.K)
        seen = counts > 0
        err = np.linalg.norm(freq - w.label_laws, axis=1)[seen].max()
        hits += err <= chebyshev_radius(w.label_laws, counts, delta)
    # the bound promises >= 1 - delta; allow 4 binomial SE below it
    assert hits / R >= 1 - delta - 4 * np.sqrt(delta * (1 - delta) / R)


# -- certificate of optimality ---------------------------------------------------------------------
@given(seed=st.integers(0, 2 ** 32 - 1), s=st.integers(2, 6), K=st.integers(2, 5))
def test_label_frequencies_have_zero_optimality_gap_for_one_patch(seed, s, K):
    """Lemma 3.3 for m = 1: every observed entry of the gradient at the frequencies is n_z / N, so the
    Frank-Wolfe gap vanishes up to round-off."""
    rng = np.random.default_rng(seed)
    Z = rng.integers(0, s, (50, 1))
    y = rng.integers(0, K, 50)
    freq, counts = feature_label_frequencies(Z[:, 0], y, s, K)
    q = np.where(counts[:, None] > 0, freq, 1.0 / K)
    assert optimality_gap(q, Z, y, s, K) <= 64 * np.finfo(float).eps
    g = mixture_gradient(q, Z, y, s, K)
    np.testing.assert_allclose(g[freq > 0], np.repeat(counts / 50, K).reshape(s, K)[freq > 0], rtol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_optimality_gap_bounds_the_distance_to_the_maximum(seed):
    """Concavity: for any feasible q, max loglik - loglik(q) <= gap(q); EM's value is at most the maximum,
    so it obeys the same bound. EM itself is certified within its requested gap."""
    rng = np.random.default_rng(seed)
    s, K, m = 4, 3, 3
    Z = rng.integers(0, s, (80, m))
    y = rng.integers(0, K, 80)
    q_star, best, _, converged = mixture_mle(Z, y, s, K, tol=0.0, gap_tol=1e-7, max_iter=50000)
    assert converged and optimality_gap(q_star, Z, y, s, K) <= 1e-7
    for _ in range(10):
        q = rng.dirichlet(np.ones(K), size=s)
        ll = float(np.mean(np.log(q[Z, y[:, None]].mean(axis=1))))
        assert best - ll <= optimality_gap(q, Z, y, s, K) + 1e-12


def test_mixture_mle_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    s, K, m = 3, 3, 2
    Z = rng.integers(0, s, (40, m))
    y = rng.integers(0, K, 40)
    q = rng.dirichlet(np.ones(K), size=s)
    g = mixture_gradient(q, Z, y, s, K)

    def ll(q):
        return float(np.mean(np.log(q[Z, y[:, None]].mean(axis=1))))
    h = 1e-6
    for z, k in [(0, 0), (1, 2), (2, 1)]:
        e = np.zeros_like(q)
        e[z, k] = h
        assert (ll(q + e) - ll(q - e)) / (2 * h) == pytest.approx(g[z, k], rel=1e-6)


# -- public boundary: named errors, never NaN --------------------------------------------------------
NAN_PSTAR = np.array([[0.5, np.nan], [0.5, 0.5]])


@pytest.mark.parametrize("call, needle", [
    (lambda: mf.l1_error(NAN_PSTAR, np.full((2, 2), 0.5)), "pred"),
    (lambda: mf.l1_error(np.full((2, 2), 0.5), np.full((3, 2), 0.5)), "pred"),
    (lambda: mf.l1_error(np.zeros((0, 2)), np.zeros((0, 2))), "pstar"),
    (lambda: mf.expected_accuracy(np.full((2, 2), 0.5), NAN_PSTAR), "pstar"),
    (lambda: mf.expected_cross_entropy(-np.ones((2, 2)), np.full((2, 2), 0.5)), "pred"),
    (lambda: mf.memoriser_error(np.full((2, 2), 0.5), [0, 2]), "y"),
    (lambda: mf.memoriser_error(NAN_PSTAR, [0, 1]), "pstar"),
    (lambda: mf.onehot_features(np.array([[0.5]]), 3), "Z"),
    (lambda: mf.true_label_distribution(_world(0), np.full((2, 3), -1)), "Z"),
    (lambda: mf.bayes_posterior(_world(0), np.full((1, 3, 5), np.nan)), "X"),
    (lambda: mf.augment(_world(0), np.full((1, 3, 5), np.inf), "resample", np.random.default_rng(0)), "X"),
    (lambda: feature_label_frequencies([0, 1], [0, 5], 2, 3), "y"),
    (lambda: feature_label_frequencies([], [], 2, 3), "z"),
    (lambda: feature_label_frequencies([0, 1.5], [0, 1], 2, 3), "z"),
    (lambda: t1_variance(np.array([[0.5, np.nan]])), "label_laws"),
    (lambda: t1_variance(np.array([[0.5, 0.6]])), "label_laws"),
    (lambda: chebyshev_radius(np.full((2, 2), 0.5), [1.0, np.nan], 0.1), "counts"),
    (lambda: chebyshev_radius(np.full((2, 2), 0.5), [1.0, 2.0, 3.0], 0.1), "counts"),
    (lambda: mixture_mle(np.zeros((0, 2), dtype=int), np.zeros(0, dtype=int), 2, 2), "Z"),
    (lambda: mixture_mle(np.zeros((3, 2), dtype=int), np.zeros(4, dtype=int), 2, 2), "y"),
    (lambda: optimality_gap(np.full((2, 2), np.nan), np.zeros((3, 1), dtype=int), np.zeros(3, dtype=int), 2, 2), "q"),
    (lambda: optimality_gap(np.array([[1.0, 0.0], [0.5, 0.5]]), np.zeros((3, 1), dtype=int), np.ones(3, dtype=int),
                            2, 2), "q"),
])
def test_public_functions_name_the_bad_argument(call, needle):
    with pytest.raises(InputError, match=needle):
        call()
