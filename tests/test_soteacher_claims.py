"""The five SoTeacher claims: they run end to end (tiny overrides of the smoke scale), their figures draw
from the saved results, their verdicts fail on numbers that contradict the claim, and bad parameters
are refused."""

import copy

import numpy as np
import pytest

from theorycheck import draw_figure, get_claim, load_result, run_claim
from theorycheck.errors import InputError
from theorycheck.soteacher.stats import loglog_slope, paired, spearman

TINY_NET = {"N": 200, "N_val": 200, "N_test": 500, "epochs": 5, "batch_size": 50, "hidden": 16}
TINY = {
    "soteacher.invariant_erm": {"N_values": [100, 400, 1600], "n_seeds": 2, "resamples": 50, "steps": 150},
    "soteacher.lipschitz": {**TINY_NET, "l1_grid": [0.0, 0.03, 0.3]},
    "soteacher.consistency": {**TINY_NET, "schedules": ["linear"]},
    "soteacher.distill": {**TINY_NET, "student_hidden": 8},
    "soteacher.checkpoints": {**TINY_NET, "student_hidden": 8, "every": 1},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("soteacher")
    return out, {cid: run_claim(cid, "smoke", out=out, params=params) for cid, params in TINY.items()}


@pytest.mark.parametrize("cid", sorted(TINY))
def test_claim_runs_saves_and_draws(results, cid):
    out, res = results
    r = res[cid]
    assert r["claim"] == cid and r["scale"] == "smoke" and r["criteria"]
    assert set(get_claim(cid).key_metrics) <= set(r["metrics"])
    for v in r["metrics"].values():
        if isinstance(v, float):
            assert np.isfinite(v)
    fig = draw_figure(load_result(cid, out), out)
    assert fig is not None and (out / f"{cid}.png").exists()


def _fails(cid, metrics, params):
    return not get_claim(cid).verdict(metrics, params).passed


def test_invariant_verdict_fails_without_decay_memoriser_negative_control(results):
    """Negative control (digest T1): an unconstrained memoriser (no invariant extractor) has an error
    that does not shrink with N; fed to the verdict in place of ERM's, the rate criterion must fail."""
    _, res = results
    r = res["soteacher.invariant_erm"]
    m = copy.deepcopy(r["metrics"])
    s = r["series"]
    memo = np.array(s["memoriser_m1"])
    slope, se = loglog_slope(s["N"], memo)
    assert abs(slope) < 0.1                     # the memoriser does not learn p*
    m["slope_m1"], m["slope_se_m1"] = slope, se
    m["err_largestN_m1_mean"] = float(memo[-1])
    crit = get_claim("soteacher.invariant_erm").verdict(m, r["params"]).criteria
    assert not crit["rate_m1"][0] and not crit["beats_memoriser_m1"][0]


def test_invariant_verdict_fails_on_broken_bound_and_variance(results):
    _, res = results
    r = res["soteacher.invariant_erm"]
    m = dict(r["metrics"], chebyshev_coverage=1 - 2 * r["params"]["delta"])
    assert _fails("soteacher.invariant_erm", m, r["params"])
    m = dict(r["metrics"], variance_ratio=1.5, variance_ratio_se=0.01)
    assert _fails("soteacher.invariant_erm", m, r["params"])
    m = dict(r["metrics"], gap_max_m1=1.0)
    assert _fails("soteacher.invariant_erm", m, r["params"])


def test_lipschitz_verdict_fails_without_gain_or_without_u_shape(results):
    _, res = results
    r = res["soteacher.lipschitz"]
    for key in ("l1_gain_positive", "l1_underfit_rise_positive"):
        m = dict(r["metrics"], **{key: 0.5})
        assert _fails("soteacher.lipschitz", m, r["params"])
    m = dict(r["metrics"], l1_spearman_lip_err=-0.2, l1_branch_points=4)
    assert _fails("soteacher.lipschitz", m, r["params"])


def test_consistency_verdict_fails_when_cr_does_not_help(results):
    _, res = results
    r = res["soteacher.consistency"]
    for key in ("cr_gain_positive", "robust_gain_positive", "sot_gain_vs_lr_positive"):
        assert _fails("soteacher.consistency", dict(r["metrics"], **{key: 0.0}), r["params"])
    assert _fails("soteacher.consistency", dict(r["metrics"], **{"schedule_gain[linear]": -0.01}), r["params"])


def test_distill_verdict_fails_and_reports_the_early_stopping_baseline(results):
    _, res = results
    r = res["soteacher.distill"]
    assert _fails("soteacher.distill", dict(r["metrics"], gain_vs_standard_positive=0.5), r["params"])
    m = dict(r["metrics"], rho_difference=-0.1)
    assert _fails("soteacher.distill", m, r["params"])
    # the early-stopped comparison is always in the verdict text, whichever way it goes
    text = " ".join(t for _, t in get_claim("soteacher.distill").verdict(r["metrics"], r["params"]).criteria.values())
    assert "early-stopped" in text and "tempered" in text
    assert isinstance(r["metrics"]["beats_early_stopped"], bool)
    assert {"standard-es", "standard-T2", "oracle"} <= set(r["series"]["arms"])


def test_checkpoints_verdict_fails_when_best_teacher_is_best_student(results):
    _, res = results
    r = res["soteacher.checkpoints"]
    assert _fails("soteacher.checkpoints", dict(r["metrics"], best_student_advantage_positive=0.0), r["params"])
    assert _fails("soteacher.checkpoints", dict(r["metrics"], rho_difference=0.0), r["params"])


@pytest.mark.parametrize("cid, params, needle", [
    ("soteacher.lipschitz", {"l1_grid": [0.1, 0.2, 0.3]}, "l1_grid"),
    ("soteacher.lipschitz", {"lip_kinds": ["l2"]}, "lip_kinds"),
    ("soteacher.consistency", {"schedules": ["cosine"]}, "schedules"),
    ("soteacher.distill", {"quality": "f1"}, "quality"),
    ("soteacher.distill", {"n_seeds": 1}, "n_seeds"),
    ("soteacher.checkpoints", {"every": 39}, "every"),
    ("soteacher.invariant_erm", {"delta": 1.5}, "delta"),
    ("soteacher.invariant_erm", {"N_values": [100, 200]}, "N_values"),
])
def test_bad_parameters_are_refused(cid, params, needle):
    with pytest.raises(InputError, match=needle):
        run_claim(cid, "smoke", params=params)


def test_stats_helpers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0          # no ranking information, not NaN
    mean, se = paired([3.0, 4.0, 5.0], [1.0, 1.0, 1.0])
    assert mean == 3.0 and se == pytest.approx(1.0 / np.sqrt(3))
    N = np.array([100.0, 400.0, 1600.0])
    slope, se = loglog_slope(N, 2.0 * N ** -0.5)
    assert slope == pytest.approx(-0.5, abs=1e-12) and se < 1e-10
