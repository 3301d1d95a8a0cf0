"""The five SoTeacher claims: they run end to end and decide (tiny overrides of the smoke scale; any of
PASS, FAIL, INCONCLUSIVE), their figures draw from the saved results, their verdict functions give PASS,
FAIL and INCONCLUSIVE on synthetic per-seed numbers, only the invariant-extractor theorem checks are
asserted to pass, bad parameters are refused and oversized runs are refused before anything is
allocated."""

import numpy as np
import pytest

from theorycheck import cli, draw_figure, get_claim, load_result, run_claim
from theorycheck.errors import InputError
from theorycheck.registry import VERDICTS
from theorycheck.soteacher.claims.common import check_not_collapsed
from theorycheck.stats import loglog_fit, paired, spearman

TINY_NET = {"N": 200, "N_val": 200, "N_test": 500, "epochs": 5, "batch_size": 50, "hidden": 16}
TINY = {
    "soteacher.invariant_erm": {"N_values": [100, 400, 1600], "n_seeds": 3, "resamples": 50, "steps": 150},
    "soteacher.lipschitz": {**TINY_NET, "l1_grid": [0.0, 0.03, 0.3]},
    "soteacher.consistency": {**TINY_NET, "schedules": ["linear"], "n_seeds": 2},
    "soteacher.distill": {**TINY_NET, "student_hidden": 8, "n_seeds": 2},
    "soteacher.checkpoints": {**TINY_NET, "student_hidden": 8, "every": 1, "n_seeds": 2},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("soteacher")
    return out, {cid: run_claim(cid, "smoke", out=out, params=params) for cid, params in TINY.items()}


@pytest.mark.parametrize("cid", sorted(TINY))
def test_claim_runs_decides_saves_and_draws(results, cid):
    out, res = results
    r = res[cid]
    assert r.claim == cid and r.scale == "smoke" and r.criteria
    assert r.verdict in VERDICTS
    assert all(c.status in VERDICTS and c.paper for c in r.criteria.values())
    claim = get_claim(cid)
    assert set(claim.key_metrics) <= set(r.metrics)
    assert set(claim.key_metrics) <= set(claim.metrics)          # every key metric says what it means
    for v in r.metrics.values():
        if isinstance(v, float):
            assert np.isfinite(v)
    fig = draw_figure(load_result(cid, out), out)
    assert fig is not None and (out / f"{cid}.png").exists()


def test_invariant_theorem_checks_pass(results):
    """The deterministic checks of Lemmas 3.3-3.5 (certified minimiser, variance identity) hold at
    every seed; they are theorem checks, so a test may require them."""
    _, res = results
    r = res["soteacher.invariant_erm"]
    for name in ("minimiser_m1", "minimiser_m4", "variance_identity"):
        assert r.criteria[name].status == "PASS", r.criteria[name].detail


# ------------------------------------------------------------------------------------------------
# verdict functions on synthetic per-seed numbers
# ------------------------------------------------------------------------------------------------
def _verdict(r, **changed):
    """The claim's verdict on the result's metrics with ``changed`` replaced (synthetic numbers)."""
    m = dict(r.metrics, **changed)
    return get_claim(r.claim).verdict(m, r.params, r.criteria_values)


def _status(r, name, **changed):
    return _verdict(r, **changed).criteria[name].status


UP = [0.10, 0.11, 0.12, 0.10, 0.11, 0.12, 0.10, 0.11]        # clearly above 0
DOWN = [-v for v in UP]                                     # clearly below 0
MIXED = [0.10, -0.12, 0.05, -0.04, 0.11, -0.09, 0.02, -0.03]  # straddles 0


@pytest.mark.parametrize("values, expected", [(UP, "PASS"), (DOWN, "FAIL"), (MIXED, "INCONCLUSIVE")])
def test_lipschitz_gain_is_decided_by_its_interval(results, values, expected):
    r = results[1]["soteacher.lipschitz"]
    assert _status(r, "l1_lowers_error", l1_gain_values=values) == expected
    assert _status(r, "l1_underfits", l1_underfit_rise_values=values) == expected


def test_lipschitz_branch_correlation_needs_enough_points(results):
    r = results[1]["soteacher.lipschitz"]
    n = len(r.metrics["l1_branch_rho_all"])
    assert _status(r, "l1_error_follows_L", l1_branch_rho_all=[1.0] * n, l1_branch_len_values=[3] * n) == "PASS"
    assert _status(r, "l1_error_follows_L", l1_branch_rho_all=[-1.0] * n, l1_branch_len_values=[3] * n) == "FAIL"
    # branches of 2 points (Spearman +-1 by construction) do not count: nothing to decide
    assert _status(r, "l1_error_follows_L", l1_branch_rho_all=[1.0] * n,
                   l1_branch_len_values=[2] * n) == "INCONCLUSIVE"


@pytest.mark.parametrize("values, expected", [(UP, "PASS"), (DOWN, "FAIL"), (MIXED, "INCONCLUSIVE")])
def test_consistency_effects_are_decided_by_their_intervals(results, values, expected):
    r = results[1]["soteacher.consistency"]
    for crit, key in (("cr_lowers_error", "cr_gain"), ("cr_lowers_robust_gap", "robust_gain"),
                      ("soteacher_below_lr", "sot_gain_vs_lr"), ("soteacher_below_aug_lr", "sot_gain_vs_auglr")):
        assert _status(r, crit, **{key + "_values": values}) == expected
    assert _status(r, "every_schedule_helps", **{"schedule_gain[linear]_values": values}) == expected


def test_distill_is_judged_on_accuracy_only_in_the_responsive_regime(results):
    r = results[1]["soteacher.distill"]
    assert r.params["quality"] == "test_acc"
    for values, expected in ((UP, "PASS"), (DOWN, "FAIL"), (MIXED, "INCONCLUSIVE")):
        v = _verdict(r, oracle_gain_vs_standard_values=UP, gain_vs_standard_values=values, rho_difference_values=values)
        assert v.criteria["student_responds_to_teacher"].status == "PASS"
        assert v.criteria["soteacher_student_better"].status == expected
        assert v.criteria["quality_follows_teacher_err"].status == expected
    # a substitute where the student does not respond to its teacher decides nothing, and never FAILs
    for regime in (DOWN, MIXED):
        v = _verdict(r, oracle_gain_vs_standard_values=regime, gain_vs_standard_values=DOWN,
                     rho_difference_values=DOWN)
        assert {c.status for c in v.criteria.values()} == {"INCONCLUSIVE"}
        assert "substitute" in v.criteria["soteacher_student_better"].text
    # the reviewers' baselines and the secondary cross-entropy are always reported
    text = _verdict(r).criteria["soteacher_student_better"].text
    assert "early-stopped" in text and "tempered" in text and "cross-entropy" in text
    assert isinstance(r.metrics["beats_early_stopped"], bool)
    assert {"standard-es", "standard-T2", "oracle"} <= set(r.series["arms"])


def test_checkpoints_needs_the_figure_1_regime_and_enough_seeds(results):
    r = results[1]["soteacher.checkpoints"]
    eight = {"teacher_late_rise_values": UP, "rho_difference_values": UP}
    for values, expected in ((UP, "PASS"), (DOWN, "FAIL"), (MIXED, "INCONCLUSIVE")):
        v = _verdict(r, pre_decay_advantage_values=values, **eight)
        assert v.criteria["teacher_accuracy_rises_late"].status == "PASS"
        assert v.criteria["best_teacher_not_best_student"].status == expected
        v = _verdict(r, rho_difference_values=values, teacher_late_rise_values=UP, pre_decay_advantage_values=UP)
        assert v.criteria["student_follows_teacher_err"].status == expected
    # teacher accuracy flat after the pre-decay checkpoint: the regime is not reached, never FAIL
    v = _verdict(r, teacher_late_rise_values=[0.0] * 8, pre_decay_advantage_values=DOWN, rho_difference_values=DOWN)
    assert {c.status for c in v.criteria.values()} == {"INCONCLUSIVE"}
    assert "regime is not reached" in v.criteria["best_teacher_not_best_student"].text
    # fewer seeds than the criteria ask: nothing is decided
    v = _verdict(r, teacher_late_rise_values=UP[:4], pre_decay_advantage_values=DOWN[:4],
                 rho_difference_values=DOWN[:4])
    assert {c.status for c in v.criteria.values()} == {"INCONCLUSIVE"}


def test_invariant_rate_window_memoriser_chebyshev_and_identities(results):
    r = results[1]["soteacher.invariant_erm"]
    assert _status(r, "rate_m1", slope_m1_values=[-0.50, -0.52, -0.48, -0.51]) == "PASS"
    assert _status(r, "rate_m1", slope_m1_values=[0.01, -0.01, 0.0, 0.02]) == "FAIL"
    assert _status(r, "rate_m1", slope_m1_values=[-0.5, -0.1, -0.9, -0.3]) == "INCONCLUSIVE"
    assert _status(r, "beats_memoriser_m1", memoriser_log_ratio_m1_values=[-2.0, -2.1, -1.9]) == "PASS"
    assert _status(r, "beats_memoriser_m1", memoriser_log_ratio_m1_values=[0.5, 0.6, 0.4]) == "FAIL"
    n = len(r.metrics["chebyshev_covered"])
    assert _status(r, "chebyshev", chebyshev_covered=[200] * n, chebyshev_resamples=[200] * n) == "PASS"
    assert _status(r, "chebyshev", chebyshev_covered=[150] * n, chebyshev_resamples=[200] * n) == "FAIL"
    assert _status(r, "chebyshev", chebyshev_covered=[180] * n, chebyshev_resamples=[200] * n) == "INCONCLUSIVE"
    # deterministic checks: an uncertified minimiser, a trained head below the minimum, a broken identity
    assert _status(r, "minimiser_m4", certified_gap_max_m4=10 * r.params["em_tol"]) == "FAIL"
    assert _status(r, "minimiser_m1", below_minimum_m1=1e-6) == "FAIL"
    assert _status(r, "variance_identity", variance_ratio=1.5, variance_ratio_se=0.01) == "FAIL"


def test_invariant_memoriser_negative_control(results):
    """An unconstrained memoriser has an error that does not shrink with N: fed to the rate criterion in
    place of the minimiser's slopes, it fails."""
    r = results[1]["soteacher.invariant_erm"]
    memo = np.array(r.series["memoriser_m1"])
    fit = loglog_fit(r.series["N"], memo)
    assert abs(fit.slope) < 0.1
    slopes = [fit.slope + d for d in (-0.01, 0.0, 0.01)]
    assert _status(r, "rate_m1", slope_m1_values=slopes) == "FAIL"


def test_criteria_set_the_decisions(results):
    """The confidence level and window come from the claim's criteria: changing one changes the decision."""
    r = results[1]["soteacher.invariant_erm"]
    m = dict(r.metrics, slope_m1_values=[-0.70, -0.80, -0.66])
    claim = get_claim(r.claim)
    assert claim.verdict(m, r.params, r.criteria_values).criteria["rate_m1"].status == "INCONCLUSIVE"
    wider = dict(r.criteria_values, rate_window=0.4)
    assert claim.verdict(m, r.params, wider).criteria["rate_m1"].status == "PASS"
    r = results[1]["soteacher.lipschitz"]
    m = dict(r.metrics, l1_gain_values=[0.05, 0.04, 0.045])
    claim = get_claim(r.claim)
    assert claim.verdict(m, r.params, r.criteria_values).criteria["l1_lowers_error"].status == "PASS"
    strict = dict(r.criteria_values, level=0.999)
    assert claim.verdict(m, r.params, strict).criteria["l1_lowers_error"].status == "INCONCLUSIVE"


# ------------------------------------------------------------------------------------------------
# bad input, oversized runs, collapsed training
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cid, params, needle", [
    ("soteacher.lipschitz", {"l1_grid": [0.1, 0.2, 0.3]}, "l1_grid"),
    ("soteacher.lipschitz", {"lip_kinds": ["l2"]}, "lip_kinds"),
    ("soteacher.lipschitz", {"lip_kinds": "l1"}, "lip_kinds"),
    ("soteacher.lipschitz", {"branch_min": 2}, "branch_min"),
    ("soteacher.consistency", {"schedules": ["cosine"]}, "schedules"),
    ("soteacher.consistency", {"schedules": "linear"}, "schedules"),
    ("soteacher.distill", {"quality": "f1"}, "quality"),
    ("soteacher.distill", {"n_seeds": 1}, "n_seeds"),
    ("soteacher.distill", {"level": 1.0}, "level"),
    ("soteacher.distill", {"teacher_temperatures": [2.0, -1.0]}, "teacher_temperatures"),
    ("soteacher.checkpoints", {"every": 39}, "every"),
    ("soteacher.checkpoints", {"min_seeds": 1}, "min_seeds"),
    ("soteacher.invariant_erm", {"delta": 1.5}, "delta"),
    ("soteacher.invariant_erm", {"N_values": [100, 200]}, "N_values"),
    ("soteacher.invariant_erm", {"N_values": [400, 200, 800]}, "N_values"),
    ("soteacher.invariant_erm", {"rate_window": -0.1}, "rate_window"),
    ("soteacher.invariant_erm", {"em_tol": 0.0}, "em_tol"),
])
def test_bad_parameters_are_refused(cid, params, needle):
    with pytest.raises(InputError, match=needle):
        run_claim(cid, "smoke", params=params)


@pytest.mark.parametrize("cid, param, value", [
    ("soteacher.invariant_erm", "resamples", 10 ** 9),      # issue 14: ran without bound
    ("soteacher.invariant_erm", "N_chebyshev", 10 ** 12),
    ("soteacher.invariant_erm", "n_seeds", 10 ** 9),
    ("soteacher.lipschitz", "epochs", 10 ** 9),
    ("soteacher.consistency", "N_test", 10 ** 10),
    ("soteacher.distill", "n_seeds", 10 ** 8),
    ("soteacher.distill", "hidden", 10 ** 8),
    ("soteacher.checkpoints", "eval_students", 10 ** 9),
])
def test_oversized_runs_are_refused_before_anything_runs(cid, param, value, tmp_path, capsys):
    code = cli.main(["check", cid, "--out", str(tmp_path), "--no-progress", "-q", "--param", f"{param}={value}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert param in err and "Traceback" not in err
    assert not (tmp_path / "cells").exists() or not any((tmp_path / "cells").rglob("*.json"))


def test_a_collapsed_teacher_gives_no_verdict():
    ok = {"spread": 0.1, "test_acc": 0.4, "chance_acc": 0.3}
    scales = get_claim("soteacher.distill").scales
    check_not_collapsed(dict(scales["smoke"]), scales, [ok], "teacher")
    with pytest.raises(InputError, match="lr.*collapse"):
        check_not_collapsed(dict(scales["smoke"], lr=1e3), scales, [ok, dict(ok, spread=0.0)], "teacher")
    with pytest.raises(InputError, match="scale made the teacher collapse"):
        check_not_collapsed(dict(scales["smoke"]), scales, [dict(ok, spread=1e-9, test_acc=0.3)], "teacher")
    check_not_collapsed(dict(scales["smoke"]), scales, [dict(ok, test_acc=0.2)], "teacher")   # under-trained


def test_stats_helpers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0          # no ranking information, not NaN
    mean, se = paired([3.0, 4.0, 5.0], [1.0, 1.0, 1.0])
    assert mean == 3.0 and se == pytest.approx(1.0 / np.sqrt(3))
    N = np.array([100.0, 400.0, 1600.0])
    fit = loglog_fit(N, 2.0 * N ** -0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12) and fit.slope_se < 1e-10
