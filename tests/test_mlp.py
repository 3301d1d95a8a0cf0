"""The MLP classifier of theorycheck.hong2021.mlp: Eq. (2) for classification, its gradient, the step
schedule and early stopping."""

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from theorycheck import nets
from theorycheck.errors import InputError
from theorycheck.hong2021 import mlp


def _problem(seed, d, hidden, K, N, with_teacher):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp([d, *hidden, K], rng)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in params]  # non-zero biases too
    X = rng.standard_normal((N, d))
    y = rng.integers(0, K, N)
    teacher = [np.abs(rng.standard_normal((N, h))) for h in hidden] if with_teacher else None
    return rng, params, X, y, teacher


def _pre_signs(params, X):
    W, b = mlp.split_params(params)
    return [np.sign(u) for u in nets.forward(W, X, "relu", biases=b).pre]


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 6), h1=st.integers(1, 6), h2=st.integers(1, 6),
       K=st.integers(2, 4), N=st.integers(1, 7), lam=st.sampled_from([0.0, 0.1, 3.0]),
       with_teacher=st.booleans())
def test_eq2_gradient_matches_central_differences(seed, d, h1, h2, K, N, lam, with_teacher):
    rng, params, X, y, teacher = _problem(seed, d, [h1, h2], K, N, with_teacher)
    loss, grads = mlp.loss_and_grad(params, X, y, teacher, lam)
    v = [rng.standard_normal(p.shape) for p in params]
    eps = 1e-5
    plus = [p + eps * w for p, w in zip(params, v)]
    minus = [p - eps * w for p, w in zip(params, v)]
    # the loss is smooth only while no ReLU pre-activation changes sign along the segment
    assume(all(np.array_equal(a, b) for a, b in zip(_pre_signs(plus, X), _pre_signs(minus, X))))
    assume(all(np.array_equal(a, b) for a, b in zip(_pre_signs(plus, X), _pre_signs(params, X))))
    fd = (mlp.loss_and_grad(plus, X, y, teacher, lam)[0] - mlp.loss_and_grad(minus, X, y, teacher, lam)[0]) / (2 * eps)
    exact = sum(float(np.sum(g * w)) for g, w in zip(grads, v))
    # central differences: truncation eps^2 |f'''| / 6 (the loss is piecewise quadratic-exponential with
    # O(1)..O(10) third derivatives along a unit-variance direction: <= 1e-8) plus rounding
    # 2 * 1e-16 |f| / eps (|f| <= ~100 here: <= 2e-9); 1e-6 relative + 1e-7 absolute covers both
    # with two orders of margin.
    assert abs(fd - exact) <= 1e-6 * abs(exact) + 1e-7, (fd, exact)


def test_loss_is_cross_entropy_plus_lam_times_feature_term():
    _, params, X, y, teacher = _problem(3, 5, [4, 3], 3, 6, True)
    base, feat = mlp.loss_terms(params, X, y, teacher)
    ce, _ = nets.softmax_cross_entropy(mlp.logits(params, X), y)
    hs = mlp.hidden_features(params, X)
    by_hand = sum(float(np.sum((s - t) ** 2)) for s, t in zip(hs, teacher)) / len(X)
    assert base == ce
    assert feat == pytest.approx(by_hand, rel=1e-14)  # same sums in another order: a few ulps
    loss, _ = mlp.loss_and_grad(params, X, y, teacher, 0.7)
    assert loss == pytest.approx(base + 0.7 * feat, rel=1e-14)


def test_feature_term_vanishes_when_student_reproduces_teacher_features():
    _, params, X, y, _ = _problem(5, 4, [5, 5], 3, 8, False)
    teacher = mlp.hidden_features(params, X)
    l0, g0 = mlp.loss_and_grad(params, X, y, None, 0.0)
    l1, g1 = mlp.loss_and_grad(params, X, y, teacher, 10.0)
    assert l1 == l0
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)  # the teacher term adds exact zeros


def test_step_schedule_divides_by_ten_at_one_and_two_thirds():
    lr = mlp.step_lr(0.3, 300)
    assert [lr(0), lr(99), lr(100), lr(199), lr(200), lr(299)] == pytest.approx(
        [0.3, 0.3, 0.03, 0.03, 0.003, 0.003], rel=1e-15)
    with pytest.raises(InputError, match="lr"):
        mlp.step_lr(0.0, 10)


def test_early_stopping_keeps_the_best_validation_weights_and_is_reproducible():
    rng = np.random.default_rng(0)
    # two Gaussian blobs: learnable in a few steps
    X = np.concatenate([rng.standard_normal((40, 3)) + 2, rng.standard_normal((40, 3)) - 2])
    y = np.repeat([0, 1], 40)
    p0 = mlp.init_mlp([3, 8, 8, 2], np.random.default_rng(1))
    kw = dict(steps=60, lr=0.1, batch_size=16, eval_every=5)
    a = mlp.train_classifier(p0, X, y, X, y, rng=np.random.default_rng(2), **kw)
    b = mlp.train_classifier(p0, X, y, X, y, rng=np.random.default_rng(2), **kw)
    assert a.val_error == mlp.error_rate(a.params, X, y)  # the returned weights are the best ones
    assert a.val_error <= a.final_val_error
    assert a.val_error <= 0.05  # separated blobs (means 2*sqrt(3) apart): near-perfect
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_init_and_shapes_are_validated():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="hidden layer"):
        mlp.init_mlp([3, 2], rng)
    params = mlp.init_mlp([3, 4, 2], rng)
    assert [p.shape for p in params] == [(4, 3), (2, 4), (4,), (2,)]
    X, y = rng.standard_normal((5, 3)), np.zeros(5, int)
    with pytest.raises(InputError, match="teacher_hidden"):
        mlp.loss_and_grad(params, X, y, [np.zeros((5, 3))], 1.0)
    with pytest.raises(InputError, match="lam"):
        mlp.loss_and_grad(params, X, y, None, -1.0)


@pytest.mark.parametrize("call, needle", [
    (lambda p, X, y: mlp.loss_and_grad(p, X * np.nan, y), "X_noisy"),
    (lambda p, X, y: mlp.loss_and_grad(p, X[:, :2], y), "X_noisy"),
    (lambda p, X, y: mlp.loss_and_grad(p, X[:0], y[:0]), "X_noisy"),
    (lambda p, X, y: mlp.loss_and_grad(p, X, y + 5), "labels"),
    (lambda p, X, y: mlp.loss_and_grad(p, X, y[:3]), "labels"),
    (lambda p, X, y: mlp.loss_and_grad(p, X, y.astype(float)), "labels"),
    (lambda p, X, y: mlp.loss_and_grad([q + np.inf for q in p], X, y), "params"),
    (lambda p, X, y: mlp.loss_and_grad(p[:3], X, y), "params"),
    (lambda p, X, y: mlp.loss_and_grad(p, X, y, [np.full((5, 4), np.nan)], 1.0), "teacher_hidden"),
    (lambda p, X, y: mlp.loss_terms(p, X, y, np.zeros((5, 4))), "teacher_hidden"),
    (lambda p, X, y: mlp.error_rate(p, X + np.inf, y), "X"),
    (lambda p, X, y: mlp.error_rate(p, X, y[:2]), "labels"),
    (lambda p, X, y: mlp.hidden_features(p, X.T), "X"),
    (lambda p, X, y: mlp.logits(p, np.zeros((0, 3))), "X"),
    (lambda p, X, y: mlp.train_classifier(p, X, y[:4], X, y, steps=3, lr=0.1, batch_size=2,
                                          rng=np.random.default_rng(0)), "y_train"),
    (lambda p, X, y: mlp.train_classifier(p, X, y, X * np.nan, y, steps=3, lr=0.1, batch_size=2,
                                          rng=np.random.default_rng(0)), "X_val"),
    (lambda p, X, y: mlp.train_classifier(p, X, y, X, y, steps=3, lr=0.1, batch_size=2, lam=-1.0,
                                          rng=np.random.default_rng(0)), "lam"),
])
def test_public_functions_refuse_bad_inputs_naming_the_argument(call, needle):
    """Issue 14: shapes, finiteness, emptiness and label ranges are checked at the boundary, so a bad
    argument is an InputError naming it, never a deep crash or a NaN result."""
    rng = np.random.default_rng(0)
    params = mlp.init_mlp([3, 4, 2], rng)
    X, y = rng.standard_normal((5, 3)), np.array([0, 1, 0, 1, 1])
    with pytest.raises(InputError, match=needle):
        call(params, X, y)
