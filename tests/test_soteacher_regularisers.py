"""The SoTeacher regularisers (ported from the official code), the patch networks, the KD loss and the
full training objective: values against their definitions and gradients against finite differences."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck.errors import InputError

from theorycheck.soteacher import distill, mixed_features as mf, patchnet
from theorycheck.soteacher.regularisers import (ConsistencyRegularizer, consistency_loss, cr_weight,
                                                lip1_penalty, lipschitz_bound, spectral_penalty)
from theorycheck.soteacher.training import TrainConfig, batch_objective

H = 1e-6  # central-difference step; truncation error O(H^2 * third derivative), rounding O(eps / H)


def _fd(f, arrays, rng, n_entries=6):
    """Central differences of scalar f at random entries of each array; returns (idx, fd) per array."""
    out = []
    for a in arrays:
        entries = [tuple(rng.integers(0, s) for s in a.shape) for _ in range(n_entries)]
        vals = []
        for e in entries:
            old = a[e]
            a[e] = old + H
            up = f()
            a[e] = old - H
            down = f()
            a[e] = old
            vals.append((up - down) / (2 * H))
        out.append((entries, np.array(vals)))
    return out


# -- Lipschitz regulariser -----------------------------------------------------------------------
def test_lip1_penalty_is_the_sum_of_max_absolute_column_sums():
    W1 = np.array([[1.0, -2.0], [3.0, 0.5]])      # column sums 4, 2.5 -> 4
    W2 = np.array([[-1.0, 1.0, 0.25]])             # 1, 1, 0.25 -> 1
    value, grads = lip1_penalty([W1, W2])
    assert value == 5.0
    np.testing.assert_array_equal(grads[0], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(grads[1], [[-1.0, 0.0, 0.0]])  # first arg-max on a tie


@given(seed=st.integers(0, 2 ** 32 - 1), n_out=st.integers(1, 6), n_in=st.integers(2, 6))
def test_lip1_penalty_gradient_matches_finite_differences_away_from_kinks(seed, n_out, n_in):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_out, n_in))
    col = np.abs(W).sum(axis=0)
    top2 = np.sort(col)[-2:]
    # a kink lies where the arg-max column changes or an entry of it crosses 0; stay 1e3 steps away
    if top2[1] - top2[0] < 1e3 * H * n_out or np.abs(W).min() < 1e3 * H:
        return
    _, (g,) = lip1_penalty([W])
    (entries, fd), = _fd(lambda: lip1_penalty([W])[0], [W], rng)
    # piecewise linear: central differences are exact up to rounding, |value| ~ n_out -> 1e-8
    np.testing.assert_allclose(fd, [g[e] for e in entries], atol=1e-8)


@given(seed=st.integers(0, 2 ** 32 - 1), n_out=st.integers(2, 6), n_in=st.integers(2, 6))
def test_spectral_penalty_value_and_gradient(seed, n_out, n_in):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_out, n_in))
    sv = np.linalg.svd(W, compute_uv=False)
    if sv[0] - sv[1] < 1e-2:  # the top singular value is differentiable only where it is simple
        return
    value, (g,), vecs = spectral_penalty([W], None, n_iter=0)
    assert value == pytest.approx(sv[0], rel=1e-12)
    (entries, fd), = _fd(lambda: spectral_penalty([W], None, n_iter=0)[0], [W], rng)
    # smooth with curvature ~ 1/(sigma1 - sigma2) <= 100: FD error ~ H^2 * 100 + 1e-16 / H -> 1e-8
    np.testing.assert_allclose(fd, [g[e] for e in entries], atol=1e-7)


def test_power_iteration_converges_to_the_top_singular_value():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 5))
    vecs = [rng.standard_normal(5)]
    for _ in range(200):
        value, _, vecs = spectral_penalty([W], vecs, n_iter=1)
    assert value == pytest.approx(np.linalg.norm(W, 2), rel=1e-10)


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_lipschitz_bounds_dominate_the_network_on_random_pairs(seed):
    rng = np.random.default_rng(seed)
    params = patchnet.init_params([4, 7, 5, 3], rng)
    params[3] += rng.standard_normal(7)  # biases do not change the constant
    W, _ = patchnet.split(params)
    u, v = rng.standard_normal((50, 1, 4)), rng.standard_normal((50, 1, 4))
    gu = patchnet.forward(params, u).patch_logits[:, 0]
    gv = patchnet.forward(params, v).patch_logits[:, 0]
    l2 = np.linalg.norm(gu - gv, axis=1) / np.linalg.norm(u - v, axis=2)[:, 0]
    l1 = np.abs(gu - gv).sum(axis=1) / np.abs(u - v).sum(axis=2)[:, 0]
    assert l2.max() <= lipschitz_bound(W, "spectral") * (1 + 1e-12)
    assert l1.max() <= lipschitz_bound(W, "l1") * (1 + 1e-12)


# -- consistency regulariser ---------------------------------------------------------------------
def test_cr_weight_schedules_match_the_official_code():
    E, lam = 240, 1.0
    # weight_schedule(e) is called after epoch e and used during epoch e + 1
    assert cr_weight(9, E, lam, "linear") == pytest.approx(10 / 240)
    assert cr_weight(49, E, lam, "step", start_at=50) == 0.0
    assert cr_weight(50, E, lam, "step", start_at=50) == 1.0
    u = 120 / 240
    assert cr_weight(119, E, lam, "cycle") == pytest.approx(np.sqrt(1 - (1 - u) ** 2))
    assert cr_weight(119, E, lam, "cosine") == pytest.approx(np.cos((1 - u) * np.pi / 2))
    assert cr_weight(239, E, lam, "cosine") == pytest.approx(1.0)
    assert cr_weight(5, E, 0.3, "constant") == 0.3


def test_consistency_buffer_is_the_codes_running_mean():
    n, K, E = 3, 2, 5
    reg = ConsistencyRegularizer(n, K, 1.0, "linear", E)
    idx = np.arange(n)
    preds = [np.random.default_rng(e).dirichlet(np.ones(K), size=n) for e in range(E)]
    for e in range(1, E + 1):
        value, grad = reg.loss_and_grad(preds[e - 1], idx)
        if e == 1:
            assert value == 0.0 and not grad.any()   # no target during epoch 1
        reg.end_epoch(e)
        # after epoch e: weight 2/(e+1) on epoch 1 and 1/(e+1) on each later one (sum 1)
        w = np.full(e, 1.0 / (e + 1))
        w[0] = 2.0 / (e + 1) if e > 1 else 1.0
        np.testing.assert_allclose(reg.buffer, sum(wi * p for wi, p in zip(w, preds[:e])), atol=1e-14)
    # the code evaluates the schedule once more after the last epoch: lambda (E+1)/E, never used
    assert reg.counter == E + 1 and reg.weight == pytest.approx((E + 1) / E)


def test_consistency_loss_is_the_summed_squared_error_and_its_gradient():
    rng = np.random.default_rng(0)
    p, z = rng.random((4, 3)), rng.random((4, 3))
    value, grad = consistency_loss(p, z, 0.7)
    assert value == pytest.approx(0.7 * np.sum((p - z) ** 2) / 4)
    (entries, fd), = _fd(lambda: consistency_loss(p, z, 0.7)[0], (p,), rng)
    np.testing.assert_allclose(fd, [grad[e] for e in entries], atol=1e-8)  # quadratic: FD exact to rounding


# -- patch networks, KD, full objective ------------------------------------------------------------
@pytest.mark.parametrize("head", ["pooled", "mixture"])
def test_patchnet_gradients_match_finite_differences(head):
    rng = np.random.default_rng(1)
    params = patchnet.init_params([3, 5, 4], rng)
    params[2] += 0.1 * rng.standard_normal(5)
    X = rng.standard_normal((6, 2, 3))
    c = rng.standard_normal((6, 4))

    def f():
        return float((patchnet.forward(params, X, head).probs * c).sum())
    pf = patchnet.forward(params, X, head)
    grads = patchnet.backward_probs(params, pf, c)
    for (entries, fd), g in zip(_fd(f, params, rng), grads):
        # smooth except at ReLU kinks, which random data avoids with probability 1 at H = 1e-6
        np.testing.assert_allclose(fd, [g[e] for e in entries], atol=1e-7)


def test_kd_loss_value_and_gradient():
    rng = np.random.default_rng(2)
    s, t = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    T = 3.0
    loss, grad = distill.kd_loss_and_grad(s, y, t, T, 0.5, 0.5)
    pt, ps = patchnet.softmax(t / T), patchnet.softmax(s / T)
    kl = np.sum(pt * (np.log(pt) - np.log(ps))) / 5
    ce = -np.mean(np.log(patchnet.softmax(s)[np.arange(5), y]))
    assert loss == pytest.approx(0.5 * ce + 0.5 * T * T * kl, rel=1e-12)
    (entries, fd), = _fd(lambda: distill.kd_loss_and_grad(s, y, t, T, 0.5, 0.5)[0], [s], rng)
    np.testing.assert_allclose(fd, [grad[e] for e in entries], atol=1e-8)
    assert distill.kd_loss_and_grad(t, y, t, T, 0.0, 1.0)[0] == pytest.approx(0.0, abs=1e-12)


def test_tempered_teacher_keeps_the_argmax():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((10, 4))
    t = distill.tempered(lambda X, idx: logits, 2.5)
    np.testing.assert_array_equal(t(None, None).argmax(axis=1), logits.argmax(axis=1))


@pytest.mark.parametrize("head, lip, kd", [("mixture", "l1", False), ("pooled", "spectral", True),
                                            ("pooled", "l1", False)])
def test_full_soteacher_objective_gradient_matches_finite_differences(head, lip, kd):
    rng = np.random.default_rng(4)
    cfg = TrainConfig(hidden=5, depth=1, head=head, lip=lip, lip_lambda=0.1, cr_lambda=1.0,
                      weight_decay=1e-2, kd_gamma=0.5 if kd else 1.0, kd_alpha=0.5 if kd else 0.0, kd_T=2.0)
    params = patchnet.init_params([3, 5, 4], rng)
    params[2] += 0.1 * rng.standard_normal(5)
    X = rng.standard_normal((6, 2, 3))
    y = rng.integers(0, 4, 6)
    target = rng.dirichlet(np.ones(4), size=6)
    t_logits = rng.standard_normal((6, 4)) if kd else None
    vecs = [np.linalg.svd(W)[2][0] for W in params[:2]]

    def f():
        # n_iter=1 from fixed converged vectors: the penalty is the top singular value at this point
        return batch_objective(params, cfg, X, y, teacher_logits=t_logits, cr_target=target, cr_weight=0.8,
                               spectral_vectors=[np.linalg.svd(W)[2][0] for W in params[:2]])[0]
    loss, grads, _, _ = batch_objective(params, cfg, X, y, teacher_logits=t_logits, cr_target=target,
                                        cr_weight=0.8, spectral_vectors=vecs)
    if lip == "l1":  # stay away from the l1 kinks: unique arg-max columns with a margin
        for W in params[:2]:
            top2 = np.sort(np.abs(W).sum(axis=0))[-2:]
            assert top2[1] - top2[0] > 1e3 * H * W.shape[0]
    for (entries, fd), g in zip(_fd(f, params, rng), grads):
        np.testing.assert_allclose(fd, [g[e] for e in entries], atol=1e-7)


# -- public boundary: named errors, never NaN --------------------------------------------------------
@pytest.mark.parametrize("call, needle", [
    (lambda: lip1_penalty([]), "weights"),
    (lambda: lip1_penalty([np.array([[1.0, np.nan]])]), "weights"),
    (lambda: lip1_penalty(np.ones((2, 2))), "weights"),
    (lambda: spectral_penalty([np.ones(3)]), "weights"),
    (lambda: spectral_penalty([np.ones((2, 2))], vectors=[]), "vectors"),
    (lambda: lipschitz_bound([np.full((2, 2), np.inf)]), "weights"),
    (lambda: consistency_loss(np.ones((2, 3)), np.ones((3, 3)), 1.0), "target"),
    (lambda: consistency_loss(np.full((2, 3), np.nan), np.ones((2, 3)), 1.0), "probs"),
    (lambda: consistency_loss(np.ones((2, 3)), np.ones((2, 3)), float("nan")), "weight"),
    (lambda: cr_weight(-1, 10, 1.0, "linear"), "e"),
    (lambda: distill.kd_loss_and_grad(np.full((2, 3), np.nan), [0, 1], None, 4.0, 1.0, 0.0), "student_logits"),
    (lambda: distill.kd_loss_and_grad(np.zeros((2, 3)), [0, 3], None, 4.0, 1.0, 0.0), "labels"),
    (lambda: distill.kd_loss_and_grad(np.zeros((2, 3)), [0, 1], None, 4.0, 0.5, 0.5), "teacher_logits"),
    (lambda: distill.kd_loss_and_grad(np.zeros((2, 3)), [0, 1], np.zeros((2, 2)), 4.0, 0.5, 0.5), "teacher_logits"),
    (lambda: distill.probs_to_logits([0.5, np.nan]), "p"),
    (lambda: patchnet.predict_proba(patchnet.init_params([2, 3], np.random.default_rng(0)),
                                    np.full((1, 1, 2), np.nan)), "X"),
])
def test_public_functions_name_the_bad_argument(call, needle):
    with pytest.raises(InputError, match=needle):
        call()
