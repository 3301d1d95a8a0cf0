"""The fused two-layer ReLU simulator: one definition of the math (nets.py), replayable training runs."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import nets
from theorycheck.backend import get_xp, resolve_dtype
from theorycheck.errors import InputError
from theorycheck.hong2021.relu.curvature import gn_matvec, top_curvature
from theorycheck.hong2021.relu.objective import Objective, eq1, eq2, eq7
from theorycheck.hong2021.relu.simulator import PrimalState, RowSpaceState, TwoLayerSimulator, choose_method
from theorycheck.hong2021.relu.training import TrainSpec, geometric_schedule, train

EPS64 = np.finfo(np.float64).eps


def _problem(rng, N, d, m):
    Z = rng.standard_normal((N, d))
    T = np.maximum(rng.standard_normal((N, d)) @ rng.standard_normal((m, d)).T, 0)
    y = rng.standard_normal(N)
    W1 = rng.standard_normal((m, d)) / np.sqrt(d)
    a = rng.standard_normal(m) / np.sqrt(m)
    return Z, T, y, W1, a


def _rounding_bound(Z, T, y, W1, a, lam, reduction):
    """Elementwise bound on |fused - reference| gradients: every entry of G^T Z is a length-N dot
    product of terms computed with O(1) roundings each, so |error| <= c (N + m) eps (|G|^T |Z|), with
    |G| <= 2 s (|r| |a|^T + lam |H - T|) (plus O(m) for the output r = H a)."""
    H = np.maximum(Z @ W1.T, 0)
    r = H @ a - y
    s = 1 / len(Z) if reduction == "mean" else 1.0
    absG = 2 * s * (np.abs(r)[:, None] * np.abs(a)[None, :] + np.abs(np.abs(H) @ np.abs(a))[:, None]
                    * np.abs(a)[None, :] + lam * (np.abs(H) + np.abs(T)))
    N, m = H.shape
    c = 8 * (N + m + Z.shape[1]) * EPS64
    gW = c * (absG.T @ np.abs(Z))
    ga = c * 2 * s * (np.abs(H).T @ (np.abs(r) + np.abs(H) @ np.abs(a) + np.abs(y)))
    loss = c * s * (np.sum((np.abs(H) @ np.abs(a) + np.abs(y)) ** 2) + lam * np.sum((np.abs(H) + np.abs(T)) ** 2))
    return loss, gW, ga


@given(N=st.integers(1, 12), d=st.integers(1, 7), m=st.integers(1, 15), lam=st.sampled_from([0.0, 0.01, 0.7, 5.0]),
       reduction=st.sampled_from(["mean", "sum"]), method=st.sampled_from(["primal", "gram"]),
       block=st.integers(1, 60), chunk=st.integers(1, 60), threads=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_fused_loss_and_gradients_equal_nets_float64(N, d, m, lam, reduction, method, block, chunk, threads,
                                                     seed):
    Z, T, y, W1, a = _problem(np.random.default_rng(seed), N, d, m)
    ob = eq2(lam, reduction=reduction) if lam > 0 else eq1(reduction=reduction)
    sim = TwoLayerSimulator(Z, T, y, W1, a, ob, dtype="float64", method=method, block_elems=block,
                            chunk_elems=chunk, threads=threads)
    parts, gW, ga = sim.loss_and_grad()
    sim.close()
    L, (gW_ref, ga_ref) = nets.st_loss_and_grad([W1, a[None, :]], Z, y[:, None], [T], lam, "relu", reduction)
    bl, bW, ba = _rounding_bound(Z, T, y, W1, a, lam, reduction)
    assert abs(parts.total - L) <= bl
    assert np.all(np.abs(gW - gW_ref) <= bW)
    assert np.all(np.abs(ga - ga_ref[0]) <= ba)


@given(k=st.integers(1, 5), g=st.integers(1, 5), N=st.integers(1, 8), d=st.integers(1, 5),
       chunk=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_eq7_pooled_loss_and_gradient_equal_nets_backward(k, g, N, d, chunk, seed):
    m = k * g
    Z, T, _, W1, a = _problem(np.random.default_rng(seed), N, d, m)
    sim = TwoLayerSimulator(Z, T, None, W1, a, eq7(g), dtype="float64", block_elems=1, chunk_elems=chunk,
                            threads=2)
    parts, gW, ga = sim.loss_and_grad()
    fwd = nets.forward([W1, a[None, :]], Z, "relu")
    D = nets.pool(fwd.hidden[0] - T, g)
    P = nets.pooling_matrix(m, g)
    gW_ref, _ = nets.backward([W1, a[None, :]], Z, fwd, np.zeros((N, 1)), [2 * D @ P / N], "relu")
    scale = 8 * (N + m + d) * EPS64
    assert parts.total == pytest.approx(np.sum(D ** 2) / N, rel=scale, abs=scale)
    bound = scale * (2 / N) * ((np.abs(D) @ P + np.abs(T) + np.abs(fwd.hidden[0])).T @ np.abs(Z))
    assert np.all(np.abs(gW - gW_ref[0]) <= bound)
    assert np.all(ga == 0)  # W2 is frozen in Eq. (7)


@pytest.mark.parametrize("method", ["primal", "gram"])
def test_steps_replay_gradient_descent_with_nets_gradients(method):
    Z, T, y, W1, a = _problem(np.random.default_rng(0), 9, 6, 11)
    sim = TwoLayerSimulator(Z, T, y, W1, a, eq2(0.3), dtype="float64", method=method, block_elems=20,
                            chunk_elems=7, threads=2)
    W, v = W1.copy(), a.copy()
    for _ in range(40):
        sim.step(0.05, 0.02)
        _, (gW, ga) = nets.st_loss_and_grad([W, v[None, :]], Z, y[:, None], [T], 0.3, "relu", "mean")
        W -= 0.05 * gW
        v -= 0.02 * ga[0]
    Wf, af = sim.weights()
    # 40 steps of a contraction-like map: rounding differences of ~1e-16 per step stay ~1e-14
    np.testing.assert_allclose(Wf, W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(af, v, rtol=0, atol=1e-12)


def test_minibatch_step_is_the_gradient_step_on_the_batch():
    Z, T, y, W1, a = _problem(np.random.default_rng(1), 12, 5, 8)
    idx = np.array([3, 7, 0, 11])
    sim = TwoLayerSimulator(Z, T, y, W1, a, eq2(0.2), dtype="float64", batch_size=4)
    sim.step(0.1, 0.1, idx=idx)
    _, (gW, ga) = nets.st_loss_and_grad([W1, a[None, :]], Z[idx], y[idx, None], [T[idx]], 0.2, "relu", "mean")
    Wf, af = sim.weights()
    np.testing.assert_allclose(Wf, W1 - 0.1 * gW, rtol=0, atol=1e-14)
    np.testing.assert_allclose(af, a - 0.1 * ga[0], rtol=0, atol=1e-14)
    # the full loss of a minibatch simulator sums its chunks: it equals the full-batch simulator's loss
    full = TwoLayerSimulator(Z, T, y, Wf, af, eq2(0.2), dtype="float64")
    assert sim.loss().total == pytest.approx(full.loss().total, rel=1e-13)
    with pytest.raises(InputError, match="minibatch size"):
        sim.step(0.1, 0.1, idx=np.arange(5))


def test_float32_training_tracks_float64():
    Z, T, y, W1, a = _problem(np.random.default_rng(2), 20, 8, 30)
    runs = {}
    for dt in ("float32", "float64"):
        sim = TwoLayerSimulator(Z, T, y, W1, a, eq2(0.5), dtype=dt)
        for _ in range(100):
            sim.step(0.02, 0.02)
        runs[dt] = sim.weights()
    # float32 rounding (6e-8 relative) accumulated over 100 contracting steps: ~1e-5 of the weights
    scale = np.max(np.abs(runs["float64"][0]))
    np.testing.assert_allclose(runs["float32"][0], runs["float64"][0], rtol=0, atol=1e-4 * scale)


def test_gram_method_is_exact_and_resyncs():
    Z, T, y, W1, a = _problem(np.random.default_rng(3), 5, 20, 16)
    assert choose_method(5, 20) == "gram" and choose_method(30, 20) == "gram" and choose_method(31, 20) == "primal"
    assert choose_method(5, 20, batch_size=2) == "primal"
    p = TwoLayerSimulator(Z, T, y, W1, a, eq2(1.0), dtype="float64", method="primal")
    g = TwoLayerSimulator(Z, T, y, W1, a, eq2(1.0), dtype="float64", method="gram")
    for _ in range(200):
        p.step(0.01, 0.01)
        g.step(0.01, 0.01)
    np.testing.assert_allclose(g.weights()[0], p.weights()[0], rtol=0, atol=1e-12)
    # the part of W1 orthogonal to the rows of Z never moves (the row-space invariance)
    Q, _ = np.linalg.qr(Z.T)
    perp = np.eye(20) - Q @ Q.T
    np.testing.assert_allclose(g.weights()[0] @ perp, W1 @ perp, rtol=0, atol=1e-13)
    assert g.loss().total == pytest.approx(p.loss().total, rel=1e-12)
    with pytest.raises(InputError, match="gram"):
        TwoLayerSimulator(Z, T, y, W1, a, eq1(), method="gram", batch_size=2)


def test_the_two_forms_are_separate_state_objects_of_one_fused_pass():
    Z, T, y, W1, a = _problem(np.random.default_rng(3), 5, 20, 16)
    p = TwoLayerSimulator(Z, T, y, W1, a, eq2(1.0), dtype="float64", method="primal", block_elems=40)
    g = TwoLayerSimulator(Z, T, y, W1, a, eq2(1.0), dtype="float64", method="gram", block_elems=40)
    assert isinstance(p.layer, PrimalState) and isinstance(g.layer, RowSpaceState)
    assert (p.method, g.method) == ("primal", "gram") and len(g.blocks) > 1
    assert set(p.state()) == {"a", "W1"}
    assert set(g.state()) == {"a", "W1_0"} | {f"{k}_{i}" for k in ("Ct", "U") for i in range(len(g.blocks))}
    # the row-space form tracks U = Z W1^T exactly as the primal form computes it
    for k, (j0, j1) in enumerate(g.blocks):
        np.testing.assert_array_equal(g.layer.preactivations(k, g.Z, None), Z @ W1[j0:j1].T)
    with pytest.raises(InputError, match="primal"):
        g.step(0.1, 0.1, idx=np.arange(2))


def test_top_curvature_is_the_largest_gauss_newton_eigenvalue():
    Z, T, y, W1, a = _problem(np.random.default_rng(4), 6, 3, 4)
    sim = TwoLayerSimulator(Z, T, y, W1, a, eq2(0.7), dtype="float64")
    m, d = W1.shape
    n = m * d + m
    cols = []
    for k in range(n):   # the GN matrix column by column
        e = np.zeros(n)
        e[k] = 1
        GV, Ga = gn_matvec(sim, e[: m * d].reshape(m, d), e[m * d:])
        cols.append(np.concatenate([GV.ravel(), Ga]))
    GN = np.array(cols).T
    np.testing.assert_allclose(GN, GN.T, atol=1e-12)
    lam = np.linalg.eigvalsh(GN)
    assert lam[0] >= -1e-12  # GN is positive semidefinite
    # power iteration from a random start after 300 iterations: within 1e-6 of the top eigenvalue
    # unless the gap is tiny (checked: ratio of the top two here is < 0.9, so error < 0.9^600)
    assert lam[-2] / lam[-1] < 0.9
    est = top_curvature(sim, np.random.default_rng(0), n_iter=300)
    assert est == pytest.approx(lam[-1], rel=1e-6)
    blockW = np.linalg.eigvalsh(GN[: m * d, : m * d])[-1]
    assert top_curvature(sim, np.random.default_rng(0), block="W1", n_iter=300) == pytest.approx(blockW, rel=1e-4)
    frozen = TwoLayerSimulator(Z, T, None, W1, a, eq7(2), dtype="float64")
    assert top_curvature(frozen, np.random.default_rng(0), block="a") == 0.0


def test_train_records_trajectory_early_stopping_and_stopping_rule():
    Z, T, y, W1, a = _problem(np.random.default_rng(5), 10, 6, 40)
    sim = TwoLayerSimulator(Z, T, y, W1, a, eq1(), dtype="float64")
    lr1 = 1 / top_curvature(sim, np.random.default_rng(0), block="W1")
    lr2 = 1 / top_curvature(sim, np.random.default_rng(0), block="a")
    evaluate = lambda W, v: float(np.sum((W - W1) ** 2))  # noqa: E731 - any scalar of the weights
    tr = train(sim, TrainSpec(steps=3000, lr_W1=lr1, lr_a=lr2, stop_tol=1e-8, keep_weights=True), evaluate)
    assert tr.steps[0] == 0 and tr.test_error[0] == 0.0 and tr.best_step == 0  # the init is the minimum
    assert tr.final_step == tr.steps[-1] and tr.final_test_error == tr.test_error[-1]
    assert tr.converged and tr.final_fit <= 1e-8 and tr.final_step < 3000
    np.testing.assert_array_equal(tr.W1_best, W1.astype(np.float64))
    np.testing.assert_array_equal(tr.W1_final, sim.weights()[0])
    # replay: the same initial weights and data give the same run, bit for bit
    sim2 = TwoLayerSimulator(Z, T, y, W1, a, eq1(), dtype="float64")
    tr2 = train(sim2, TrainSpec(steps=3000, lr_W1=lr1, lr_a=lr2, stop_tol=1e-8), evaluate)
    np.testing.assert_array_equal(tr2.test_error, tr.test_error)
    # a step size far beyond 2/lambda_max diverges and is reported, not returned as numbers
    sim3 = TwoLayerSimulator(Z, T, y, W1, a, eq1(), dtype="float64")
    with pytest.raises(FloatingPointError, match="learning rate"):
        with np.errstate(over="ignore", invalid="ignore"):
            train(sim3, TrainSpec(steps=500, lr_W1=50 * lr1, lr_a=50 * lr2, stop_tol=None), evaluate)


def test_sgd_training_needs_an_rng_and_is_reproducible():
    Z, T, y, W1, a = _problem(np.random.default_rng(6), 30, 5, 20)
    ev = lambda W, v: 0.0  # noqa: E731
    sim = TwoLayerSimulator(Z, T, None, W1, np.sign(a), eq7(2), batch_size=8)
    with pytest.raises(InputError, match="rng"):
        train(sim, TrainSpec(steps=5, lr_W1=0.01, batch_size=8), ev)
    out = []
    for _ in range(2):
        sim = TwoLayerSimulator(Z, T, None, W1, np.sign(a), eq7(2), batch_size=8)
        train(sim, TrainSpec(steps=50, lr_W1=0.01, batch_size=8), ev, rng=np.random.default_rng(1))
        out.append(sim.weights()[0])
    np.testing.assert_array_equal(out[0], out[1])


def test_geometric_schedule():
    s = geometric_schedule(1000, 30)
    assert s[0] == 0 and s[-1] == 1000 and np.all(np.diff(s) > 0) and len(s) <= 30
    assert list(geometric_schedule(0, 5)) == [0]


@pytest.mark.parametrize("kwargs, match", [
    ({"W1": np.ones((4, 3))}, "W1"),
    ({"a": np.ones(5)}, "a must have shape"),
    ({"T": None}, "T must have shape"),
    ({"y": np.ones(2)}, "y must have shape"),
    ({"Z": np.full((6, 2), np.nan)}, "non-finite"),
    ({"objective": eq7(3)}, "g must divide"),
    ({"dtype": "float16"}, "dtype"),
    ({"method": "fast"}, "method"),
    ({"backend": "jax"}, "backend"),
])
def test_bad_inputs_raise_input_errors(kwargs, match):
    rng = np.random.default_rng(0)
    args = dict(zip(("Z", "T", "y", "W1", "a"), _problem(rng, 6, 2, 4)))
    args["objective"] = eq2(0.1)
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        TwoLayerSimulator(**args)


def test_objective_and_backend_validation():
    with pytest.raises(InputError, match="nothing to fit"):
        Objective(base_weight=0.0, lam=0.0)
    assert (eq1().name, eq2(0.1).name, eq7(2).name) == ("eq1", "eq2", "eq7")
    assert resolve_dtype("float32") == np.float32
    assert get_xp("numpy") is np
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="CuPy"):
            get_xp("cupy")


def test_relu_step_benchmark_reports_step_gemm_and_ratio(capsys):
    from theorycheck import cli
    assert cli.main(["bench", "relu-step", "--m", "40", "--d", "6", "--n", "9", "--dtype", "float64",
                     "--repeat", "2", "--compare-methods", "--json"]) == 0
    import json
    res = json.loads(capsys.readouterr().out)
    for key in ("seconds_per_step", "gemm_seconds", "ratio", "naive_ratio", "method", "dtype", "m", "d", "n",
                "seconds_per_step_primal", "ratio_primal"):
        assert key in res
    assert res["method"] == "gram" and res["ratio"] > 0 and res["dtype"] == "float64"
    assert cli.main(["bench", "relu-step", "--m", "0"]) == 2


@pytest.mark.parametrize("method", ["primal", "gram"])
def test_state_round_trip_continues_training_identically_and_bad_state_is_refused(method):
    Z, T, y, W1, a = _problem(np.random.default_rng(3), 12, 20, 16)
    sims = [TwoLayerSimulator(Z, T, y, W1, a, eq2(0.1), dtype="float64", method=method) for _ in range(2)]
    for _ in range(3):
        sims[0].step(0.01, 0.01)
    sims[1].set_state(sims[0].state())
    for s in sims:
        s.step(0.01, 0.01)
    for u, v in zip(sims[0].weights(), sims[1].weights()):
        assert np.array_equal(u, v)
    bad = sims[0].state()
    bad["a"] = bad["a"][:-1]
    with pytest.raises(InputError, match="state array 'a' has shape"):
        sims[1].set_state(bad)
    with pytest.raises(InputError, match="state has no array"):
        sims[1].set_state({})


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": -1}, "steps"),
    ({"lr_W1": -0.1}, "lr_W1"),
    ({"check_every": 0}, "check_every"),
    ({"drop_factor": 0.0}, "drop_factor"),
    ({"eval_steps": [0, 11]}, "eval_steps"),
    ({"batch_size": 0}, "batch_size"),
])
def test_train_spec_refuses_bad_values(kwargs, match):
    with pytest.raises(InputError, match=match):
        TrainSpec(**{"steps": 10, "lr_W1": 0.1, **kwargs})
    spec = TrainSpec(steps=10, lr_W1=0.1, eval_steps=[5, 0, 5, 10], lr_drops=1)
    assert spec.eval_steps == (0, 5, 10) and spec.drop_steps() == [5]
