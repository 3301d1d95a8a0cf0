"""The five SoTeacher claims: they run end to end (tiny overrides of the smoke scale), their figures draw
from the saved results, their verdicts fail on numbers that contradict the claim, and bad parameters
are refused."""

import numpy as np
import pytest

from theorycheck import draw_figure, get_claim, load_result, run_claim
from theorycheck.errors import InputError
from theorycheck.stats import loglog_fit, paired, spearman

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
    assert r.claim == cid and r.scale == "smoke" and r.criteria
    assert set(get_claim(cid).key_metrics) <= set(r.metrics)
    for v in r.metrics.values():
        if isinstance(v, float):
            assert np.isfinite(v)
    fig = draw_figure(load_result(cid, out), out)
    assert fig is not None and (out / f"{cid}.png").exists()


def _verdict(r, metrics=None):
    """The claim's verdict on ``metrics`` (default: the result's own) at the result's parameters and criteria."""
    return get_claim(r.claim).verdict(dict(r.metrics if metrics is None else metrics), r.params, r.criteria_values)


def _fails(r, **changed):
    """Whether the verdict fails once the metrics ``changed`` are replaced."""
    return not _verdict(r, dict(r.metrics, **changed)).passed


def test_invariant_verdict_fails_without_decay_memoriser_negative_control(results):
    """Negative control (digest T1): an unconstrained memoriser (no invariant extractor) has an error
    that does not shrink with N; fed to the verdict in place of ERM's, the rate criterion must fail."""
    _, res = results
    r = res["soteacher.invariant_erm"]
    m = dict(r.metrics)
    s = r.series
    memo = np.array(s["memoriser_m1"])
    fit = loglog_fit(s["N"], memo)
    assert abs(fit.slope) < 0.1                 # the memoriser does not learn p*
    m["slope_m1"], m["slope_se_m1"] = fit.slope, fit.slope_se
    m["err_largestN_m1_mean"] = float(memo[-1])
    crit = _verdict(r, m).criteria
    assert not crit["rate_m1"][0] and not crit["beats_memoriser_m1"][0]


def test_invariant_verdict_fails_on_broken_bound_and_variance(results):
    _, res = results
    r = res["soteacher.invariant_erm"]
    assert _fails(r, chebyshev_coverage=1 - 2 * r.params["delta"])
    assert _fails(r, variance_ratio=1.5, variance_ratio_se=0.01)
    assert _fails(r, gap_max_m1=1.0)


def test_lipschitz_verdict_fails_without_gain_or_without_u_shape(results):
    _, res = results
    r = res["soteacher.lipschitz"]
    for key in ("l1_gain_positive", "l1_underfit_rise_positive"):
        assert _fails(r, **{key: 0.5})
    assert _fails(r, l1_spearman_lip_err=-0.2, l1_branch_points=4)


def test_consistency_verdict_fails_when_cr_does_not_help(results):
    _, res = results
    r = res["soteacher.consistency"]
    for key in ("cr_gain_positive", "robust_gain_positive", "sot_gain_vs_lr_positive"):
        assert _fails(r, **{key: 0.0})
    assert _fails(r, **{"schedule_gain[linear]": -0.01})


def test_distill_verdict_fails_and_reports_the_early_stopping_baseline(results):
    _, res = results
    r = res["soteacher.distill"]
    assert _fails(r, gain_vs_standard_positive=0.5)
    assert _fails(r, rho_difference=-0.1)
    # the early-stopped comparison is always in the verdict text, whichever way it goes
    text = " ".join(t for _, t in _verdict(r).criteria.values())
    assert "early-stopped" in text and "tempered" in text
    assert isinstance(r.metrics["beats_early_stopped"], bool)
    assert {"standard-es", "standard-T2", "oracle"} <= set(r.series["arms"])


def test_checkpoints_verdict_fails_when_best_teacher_is_best_student(results):
    _, res = results
    r = res["soteacher.checkpoints"]
    assert _fails(r, best_student_advantage_positive=0.0)
    assert _fails(r, rho_difference=0.0)


def test_criteria_are_the_verdicts_thresholds(results):
    """The thresholds come from the claim's criteria: relaxing one turns the same numbers into a pass."""
    _, res = results
    r = res["soteacher.lipschitz"]
    m = dict(r.metrics, l1_gain_positive=0.5)
    claim = get_claim("soteacher.lipschitz")
    assert not claim.verdict(m, r.params, r.criteria_values).criteria["l1_lowers_error"][0]
    relaxed = dict(r.criteria_values, min_positive_fraction=0.5)
    assert claim.verdict(m, r.params, relaxed).criteria["l1_lowers_error"][0]
    r = res["soteacher.invariant_erm"]
    m = dict(r.metrics, variance_ratio=1 + 4 * r.metrics["variance_ratio_se"])
    claim = get_claim("soteacher.invariant_erm")
    assert not claim.verdict(m, r.params, r.criteria_values).criteria["variance_identity"][0]
    relaxed = dict(r.criteria_values, variance_n_se=5.0)
    assert claim.verdict(m, r.params, relaxed).criteria["variance_identity"][0]


@pytest.mark.parametrize("cid, params, needle", [
    ("soteacher.lipschitz", {"l1_grid": [0.1, 0.2, 0.3]}, "l1_grid"),
    ("soteacher.lipschitz", {"lip_kinds": ["l2"]}, "lip_kinds"),
    ("soteacher.consistency", {"schedules": ["cosine"]}, "schedules"),
    ("soteacher.distill", {"quality": "f1"}, "quality"),
    ("soteacher.distill", {"n_seeds": 1}, "n_seeds"),
    ("soteacher.checkpoints", {"every": 39}, "every"),
    ("soteacher.invariant_erm", {"delta": 1.5}, "delta"),
    ("soteacher.invariant_erm", {"N_values": [100, 200]}, "N_values"),
    ("soteacher.invariant_erm", {"N_values": [400, 200, 800]}, "N_values"),
    ("soteacher.invariant_erm", {"slope_tol": -0.1}, "slope_tol"),
    ("soteacher.lipschitz", {"rho_min": 1.5}, "rho_min"),
    ("soteacher.distill", {"min_positive_fraction": 0.0}, "min_positive_fraction"),
    ("soteacher.distill", {"teacher_temperatures": [2.0, -1.0]}, "teacher_temperatures"),
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
    fit = loglog_fit(N, 2.0 * N ** -0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12) and fit.slope_se < 1e-10
