"""The claim hong2021.thm3 (Theorem 3 with the pooled LASSO student): its analysis helpers, its
verdict on failing numbers, its negative control, input checks and the smoke run."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck import cli, draw_figure, get_claim, run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021.experiments.lasso import crossing_threshold, fit_common_slope
from theorycheck.runner import resolve

CLAIM = "hong2021.thm3"


@pytest.fixture(scope="module")
def smoke_result():
    return run_claim(CLAIM, "smoke", seed=0)


# -- analysis helpers -------------------------------------------------------------------------------
def test_crossing_threshold_interpolates_in_log_log():
    # excess 2, 0.5, 0.1 at N = 10, 100, 1000; eta = 0.25 crosses between 100 and 1000 where
    # log excess falls linearly in log N: N* = 100 * 10^(ln 2 / ln 5)
    n_star, low = crossing_threshold([10, 100, 1000], [3.0, 1.5, 1.1], 0.25)
    assert n_star == pytest.approx(100 * 10 ** (np.log(2) / np.log(5)), rel=1e-12) and not low


def test_crossing_threshold_requires_staying_below_and_flags_censoring():
    # dips below at N = 100 but rises above again at 1000: the threshold is after the last excursion
    n_star, _ = crossing_threshold([10, 100, 1000, 10000], [3.0, 1.1, 1.5, 1.1], 0.25)
    assert n_star > 1000
    assert crossing_threshold([10, 100], [3.0, 2.0], 0.25) == (None, False)  # never reached
    assert crossing_threshold([10, 100], [1.1, 1.05], 0.25) == (10.0, True)  # reached already


@given(n_groups=st.integers(1, 4), n_per=st.integers(2, 5), b=st.floats(-3, 3), seed=st.integers(0, 2 ** 32 - 1))
def test_fit_common_slope_recovers_slope_with_separate_intercepts(n_groups, n_per, b, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, n_groups * n_per)
    groups = np.repeat(np.arange(n_groups), n_per)
    y = rng.normal(0, 10, n_groups)[groups] + b * x
    slope = fit_common_slope(x, y, groups.tolist())
    # exact data: error is round-off of sums of O(n) terms of size |y| (<= ~40), relative to sum (x - mean)^2
    assert slope == pytest.approx(b, abs=1e-10 * (1 + np.abs(y).max()))
    assert fit_common_slope(np.ones(4), np.arange(4.0), [0, 0, 1, 1]) is None  # no spread in x


# -- the claim ------------------------------------------------------------------------------------
def test_thm3_smoke_passes_and_reports_thresholds(smoke_result):
    res = smoke_result
    assert res.passed, res.failed_criteria()
    m, p = res.metrics, res.params
    for s in p["s_values"]:
        for d in p["d_values"]:
            row = m[f"N_star_s{s}_d{d}"]
            assert len(row) == len(p["g_values"]) + 1
            assert all(v is None or v > 0 for v in row)
    table = res.series["threshold_table"]
    assert {(r["s"], r["d"], r["g"]) for r in table} == {
        (s, d, g) for s in p["s_values"] for d in p["d_values"] for g in [*p["g_values"], "base"]}
    assert m["all_converged"] and m["max_rel_gap"] <= m["gap_bound"]
    fig = draw_figure(res)
    assert len(fig.axes) >= 4


def test_thm3_negative_control_undecomposed_teacher_grows_with_s(smoke_result):
    """g = s (the base student: one pooled feature = the target) is the undecomposed teacher; the
    flatness-in-s criterion applied to it must fail, and it needs more samples than g = 1."""
    m, p = smoke_result.metrics, smoke_result.params
    assert m["slope_s_base"] > smoke_result.criteria_values["max_slope_s"]
    for s in p["s_values"]:
        for d in p["d_values"]:
            row = m[f"N_star_s{s}_d{d}"]
            assert row[-1] is None or row[-1] > 3 * row[0]


@pytest.mark.parametrize("change, failing", [
    ({"slope_g": 0.1}, "threshold_grows_with_g"),
    ({"slope_g": 3.0, "slope_g_se": 0.1}, "threshold_within_g2_logd"),
    ({"max_abs_slope_s": 0.9}, "threshold_flat_in_s"),
    ({"slope_s_base": 0.1}, "base_grows_with_s"),
    ({"small_g_reached": False}, "small_g_reaches_optimum"),
    ({"max_rel_gap": 1e-3}, "lasso_converged"),
    ({"all_converged": False}, "lasso_converged"),
    ({"slope_g": None}, "threshold_grows_with_g"),
])
def test_thm3_verdict_fails_on_failing_numbers(smoke_result, change, failing):
    claim = get_claim(CLAIM)
    metrics = {**smoke_result.metrics, **change}
    verdict = claim.verdict(metrics, smoke_result.params, smoke_result.criteria_values)
    assert not verdict.passed
    assert not verdict.criteria[failing][0]


@pytest.mark.parametrize("override, needle", [
    ({"g_values": [1, 3]}, "g must divide s=8, got g=3"),
    ({"g_values": [0, 1]}, r"g must be in \[1"),
    ({"g_values": [2, 2]}, "g_values needs at least two distinct g"),
    ({"s_values": [8, 8]}, "s_values needs at least two distinct s"),
    ({"s_values": [8, 128]}, "s must be <= d_x"),
    ({"N_values": [40, 20]}, "N_values must be at least two increasing"),
    ({"seeds": 1}, "seeds must be in"),
    ({"sigma": 0.0}, "sigma must be in"),
    ({"penalty": "oracle"}, "penalty must be one of"),
    ({"eta": -1.0}, "eta must be in"),
])
def test_thm3_bad_parameters_are_input_errors(override, needle):
    with pytest.raises(InputError, match=needle):
        resolve(get_claim(CLAIM), "smoke", override)


def test_thm3_cli_bad_g_is_one_line_exit_2(capsys, tmp_path):
    assert cli.main(["check", CLAIM, "--param", "g_values=[1,3]", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "g must divide s=8, got g=3" in err and err.count("\n") == 1


def test_thm3_fails_when_the_sample_grid_is_too_small():
    """Measured numbers, not typed in: with N_s <= 20 no g gets within (1 + eta) of the optimum."""
    res = run_claim(CLAIM, "smoke", params={"N_values": [10, 14, 20], "seeds": 2})
    assert not res.passed
    assert not res.criteria["small_g_reaches_optimum"].ok
