"""Minibatch SGD step sizes of the Fig. 6 runs (Hong et al. 2021, Sec. 5.3): capped by the stiffest
minibatch's curvature, because with B << d the full-batch step diverges (as it did at the paper's
d = 500, B = 16)."""

import numpy as np
import pytest

from theorycheck.hong2021.relu.objective import eq7
from theorycheck.hong2021.relu.runs import (RunSpec, fig6_objective, fig6_problem, minibatch_curvature,
                                            run_student, step_sizes)
from theorycheck.hong2021.relu.simulator import TwoLayerSimulator
from theorycheck.hong2021.relu.training import TrainSpec, train

M, D, N, B = 64, 200, 200, 4          # d / B = 50, as at the paper's d = 500, B = 16 (31)


def _problem():
    return fig6_problem(M, D, 0.3, N, N, (1, 2, 3))


def _sim(problem, **kw):
    data = problem.data
    return TwoLayerSimulator(data.Z, data.T, data.y, problem.W_0, problem.a_0, eq7(1), dtype="float64", **kw)


def test_minibatch_curvature_exceeds_full_batch_by_about_d_over_B():
    problem = _problem()
    _, _, full = step_sizes(_sim(problem), np.random.default_rng(0), 1.0)
    batch = minibatch_curvature(problem, eq7(1), B, np.random.default_rng(0), dtype="float64")
    ratio = batch["curv_W1_batch"] / full["curv_W1"]
    # B rows of squared norm ~ d make a row-mean Gram with top eigenvalue ~ d / B: the ratio is of order
    # d / B (about 21 here). Above 4, the full-batch step 0.5 / curv_W1 exceeds the minibatch stability
    # limit 2 / curv_W1_batch, which is what made the paper-scale run diverge.
    assert ratio > 4.0, ratio


def _sgd(lr_W1, steps=60):
    sim = _sim(_problem(), batch_size=B)
    spec = TrainSpec(steps=steps, lr_W1=lr_W1, eval_steps=[0, steps], batch_size=B, stop_tol=None)
    return train(sim, spec, lambda W, a: 0.0, rng=np.random.default_rng(5))


def test_full_batch_step_diverges_with_small_minibatches_and_the_capped_step_does_not():
    problem = _problem()
    lr_full, _, _ = step_sizes(_sim(problem), np.random.default_rng(0), 0.5)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _sgd(lr_full)
    batch = minibatch_curvature(problem, eq7(1), B, np.random.default_rng(0), dtype="float64")
    traj = _sgd(min(lr_full, 1.0 / batch["curv_W1_batch"]))
    assert traj.train_total[-1] < traj.train_total[0]


def test_fig6_student_run_caps_the_sgd_step_by_the_stiffest_minibatch():
    spec = RunSpec(objective=fig6_objective(1), steps=30, n_eval=3, lr_frac=0.5, batch_size=B, lr_drops=2,
                   dtype="float64")
    out = run_student(_problem(), spec, np.random.default_rng(7))
    assert out["lr_W1"] == pytest.approx(min(out["lr_W1_uncapped"], 1.0 / out["curv_W1_batch"]))
    assert out["lr_W1"] < out["lr_W1_uncapped"]
