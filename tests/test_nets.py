"""The shared network code: Eq. (1)-(2) gradients against finite differences, pooling of Eq. (7)."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import nets
from theorycheck.errors import InputError


@given(depth=st.integers(2, 4), width=st.integers(1, 6), d=st.integers(1, 5), n=st.integers(1, 6),
       act=st.sampled_from(["identity", "relu"]), seed=st.integers(0, 2**32 - 1))
def test_st_loss_gradient_matches_central_differences(depth, width, d, n, act, seed):
    rng = np.random.default_rng(seed)
    sizes = [d] + [width] * (depth - 1) + [2]
    W = nets.xavier_normal(sizes, rng)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, 2))
    teacher = nets.forward(nets.xavier_normal(sizes, rng), X, "relu").hidden
    lam = 0.7
    _, grads = nets.st_loss_and_grad(W, X, Y, teacher, lam, act)
    h = 1e-6
    for l in range(depth):
        E = rng.standard_normal(W[l].shape)
        plus = [w.copy() for w in W]; plus[l] += h * E
        minus = [w.copy() for w in W]; minus[l] -= h * E
        fd = (nets.st_loss(plus, X, Y, teacher, lam, act) - nets.st_loss(minus, X, Y, teacher, lam, act)) / (2 * h)
        an = float(np.sum(grads[l] * E))
        # central differences: O(h^2) truncation for smooth losses; a ReLU kink inside [-h, h] is a
        # measure-zero event for continuous data. Round-off ~ eps*|loss|/h.
        scale = 1.0 + abs(nets.st_loss(W, X, Y, teacher, lam, act))
        assert abs(fd - an) <= 1e-6 * scale * (1 + np.sum(np.abs(E)))


def test_feature_loss_sums_every_hidden_layer():
    rng = np.random.default_rng(0)
    W = nets.xavier_normal([3, 4, 5, 1], rng)
    X = rng.standard_normal((7, 3))
    f = nets.forward(W, X, "relu")
    zeros = [np.zeros_like(h) for h in f.hidden]
    assert nets.feature_loss(f.hidden, zeros) == pytest.approx(sum(np.sum(h ** 2) for h in f.hidden))


@given(k=st.integers(1, 6), g=st.integers(1, 6), n=st.integers(1, 4), seed=st.integers(0, 1000))
def test_pooling_matrix_sums_exactly_g_consecutive_neurons(k, g, n, seed):
    m = k * g
    P = nets.pooling_matrix(m, g)
    assert P.shape == (k, m)
    assert np.all(P.sum(axis=1) == g) and np.all(P.sum(axis=0) == 1)
    # integer-valued features: every sum is exact, so pooling and P must agree bit for bit
    H = np.random.default_rng(seed).integers(-1000, 1000, (n, m)).astype(float)
    np.testing.assert_array_equal(nets.pool(H, g), H @ P.T)


@pytest.mark.parametrize("g", [0, -2, 3])
def test_pooling_rejects_bad_group_size(g):
    with pytest.raises(InputError, match="g must"):
        nets.pooling_matrix(10, g)


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(1)
    Z, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    loss, grad = nets.softmax_cross_entropy(Z, y)
    E, h = rng.standard_normal(Z.shape), 1e-6
    fd = (nets.softmax_cross_entropy(Z + h * E, y)[0] - nets.softmax_cross_entropy(Z - h * E, y)[0]) / (2 * h)
    assert fd == pytest.approx(np.sum(grad * E), abs=1e-8)
