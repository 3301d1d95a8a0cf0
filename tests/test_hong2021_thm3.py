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
def test_thm3_smoke_completes_with_a_verdict_and_reports_thresholds(smoke_result):
    res = smoke_result
    assert res.verdict in ("PASS", "FAIL", "INCONCLUSIVE")  # an experiment: any verdict, never pinned
    m, p = res.metrics, res.params
    for s in p["s_values"]:
        for d in p["d_values"]:
            row = m[f"N_star_s{s}_d{d}"]
            assert len(row) == len(p["g_values"]) + 1
            assert all(v is None or v > 0 for v in row)
    table = res.series["threshold_table"]
    assert {(r["s"], r["d"], r["g"]) for r in table} == {
        (s, d, g) for s in p["s_values"] for d in p["d_values"] for g in [*p["g_values"], "base"]}
    # every criterion carries an interval or a tolerance and what the paper says
    for name, c in res.criteria.items():
        assert c.paper, name
    for name in ("threshold_grows_with_g", "threshold_within_g2_logd", "threshold_independent_of_s",
                 "base_grows_with_s", "threshold_logarithmic_in_d"):
        assert "95% bootstrap" in res.criteria[name].detail, res.criteria[name].detail
    # the solver's convergence is deterministic: it is asserted
    assert m["all_converged"] and m["max_rel_gap"] <= m["gap_bound"]
    assert res.criteria["lasso_converged"].ok
    fig = draw_figure(res)
    assert len(fig.axes) >= 4


def _synthetic_metrics(smoke_result, b_g=1.0, b_s=0.0, b_base=1.0, d_power=None, noise=0.05, small_g_at_max=None,
                       d_values=None, seeds=8, seed=0):
    """Error ratios of a LASSO-like learning curve, 1 + K g^b_g s^b_s L(d) / N (base: K s^b_base L(d) / N),
    with per-seed multiplicative noise on the excess; L(d) = log d, or d^d_power when given."""
    p = dict(smoke_result.params)
    d_values = list(d_values or p["d_values"])
    p["d_values"] = d_values
    N = np.asarray(p["N_values"], dtype=float)
    rng = np.random.default_rng(seed)
    K = 2.0
    table = []
    for s in p["s_values"]:
        for d in d_values:
            L = np.log(d) if d_power is None else d ** d_power / 10
            for g in [*p["g_values"], "base"]:
                scale = K * (s ** b_base if g == "base" else g ** b_g * s ** b_s) * L
                excess = scale / N[:, None] * np.exp(noise * rng.standard_normal((N.size, seeds)))
                ratio = 1.0 + excess
                if small_g_at_max is not None and g == min(p["g_values"]):
                    ratio[-1] = small_g_at_max + 0.01 * rng.standard_normal(seeds)
                table.append({"s": s, "d": d, "g": g, "ratio": ratio.tolist()})
    m = dict(smoke_result.metrics, ratio_table=table, base_censored=0,
             slope_s_per_g=[b_s] * len(p["g_values"]))
    return m, p


@pytest.mark.parametrize("change, criterion, status", [
    ({}, None, "PASS"),
    ({"b_g": 3.0}, "threshold_within_g2_logd", "FAIL"),
    ({"b_g": 2.0, "noise": 0.6}, "threshold_within_g2_logd", "INCONCLUSIVE"),
    ({"b_g": -0.5}, "threshold_grows_with_g", "FAIL"),
    ({"b_s": 1.0}, "threshold_independent_of_s", "FAIL"),
    ({"b_base": 0.0}, "base_grows_with_s", "FAIL"),
    ({"d_power": 1.0}, "threshold_logarithmic_in_d", "FAIL"),
    ({"d_values": [200]}, "threshold_logarithmic_in_d", "INCONCLUSIVE"),
    ({"small_g_at_max": 1.6}, "small_g_reaches_optimum", "FAIL"),
    ({"small_g_at_max": 1.25}, "small_g_reaches_optimum", "INCONCLUSIVE"),
])
def test_thm3_verdict_on_synthetic_learning_curves(smoke_result, change, criterion, status):
    m, p = _synthetic_metrics(smoke_result, **change)
    verdict = get_claim(CLAIM).verdict(m, p, smoke_result.criteria_values)
    if criterion is None:
        assert verdict.status == "PASS", {k: c.text for k, c in verdict.criteria.items() if c.status != "PASS"}
    else:
        assert verdict.criteria[criterion].status == status, verdict.criteria[criterion].text


def test_thm3_reports_which_rate_in_g_the_data_support(smoke_result):
    claim = get_claim(CLAIM)
    for b_g, words in ((1.0, r"support $N^* \sim g \log d_x$ over $g^2"),
                       (2.0, r"support $N^* \sim g^2 \log d_x$ over $g \log")):
        m, p = _synthetic_metrics(smoke_result, b_g=b_g, noise=0.02)
        text = claim.verdict(m, p, smoke_result.criteria_values).criteria["threshold_within_g2_logd"].text
        assert words in text, text


@pytest.mark.parametrize("change, failing", [
    ({"max_rel_gap": 1e-3}, "lasso_converged"),
    ({"all_converged": False}, "lasso_converged"),
])
def test_thm3_verdict_fails_on_unconverged_lasso(smoke_result, change, failing):
    verdict = get_claim(CLAIM).verdict({**smoke_result.metrics, **change}, smoke_result.params,
                                       smoke_result.criteria_values)
    assert verdict.status == "FAIL" and verdict.criteria[failing].status == "FAIL"


@pytest.mark.parametrize("override, needle", [
    ({"g_values": [1, 3]}, "g must divide s=4, got g=3"),
    ({"g_values": [0, 1]}, r"g must be in \[1"),
    ({"g_values": [2, 2]}, "g_values needs at least two distinct g"),
    ({"s_values": [8, 8]}, "s_values needs at least two distinct s"),
    ({"s_values": [8, 128]}, "s must be <= d_x"),
    ({"N_values": [40, 20]}, "N_values must be at least two increasing"),
    ({"seeds": 1}, "seeds must be in"),
    ({"sigma": 0.0}, "sigma must be in"),
    ({"sigma": 1e300}, r"sigma must be < 1/sqrt\(eta\)"),
    ({"penalty": "oracle"}, "penalty must be one of"),
    ({"eta": -1.0}, "eta must be in"),
    ({"level": 1.0}, "level must be in"),
])
def test_thm3_bad_parameters_are_input_errors(override, needle):
    with pytest.raises(InputError, match=needle):
        resolve(get_claim(CLAIM), "smoke", override)


def test_thm3_cli_bad_g_is_one_line_exit_2(capsys, tmp_path):
    assert cli.main(["check", CLAIM, "--param", "g_values=[1,3]", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "g must divide s=4, got g=3" in err and err.count("\n") == 1


@pytest.mark.parametrize("override, param", [("seeds=100000000", "seeds"), ("N_values=[20,1000000000]", "N_values"),
                                             ("sigma=1e300", "sigma")])
def test_thm3_cli_refuses_huge_or_overflowing_parameters_before_computing(capsys, tmp_path, override, param):
    assert cli.main(["check", CLAIM, "--param", override, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{param} " in err
