"""hong2021.fig2 and hong2021.fig6: run at (reduced) smoke scale, JSON contract, verdicts that can fail."""

import numpy as np
import pytest

from theorycheck import cli, draw_figure, get_claim, load_result, run_claim
from theorycheck.errors import InputError
from theorycheck.runner import resolve

# Reduced smoke settings (the test-time budget): fewer lambdas / group sizes, the smoke sizes.
FIG2_SMALL = {"N_s": [40], "lam_d": [1.0, 100.0]}
FIG6_SMALL = {"g": [1, 5, 20, 200], "N_s": [80], "steps": 1500}


@pytest.fixture(scope="module")
def fig2_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig2")
    return run_claim("hong2021.fig2", "smoke", out=out, params=FIG2_SMALL), out


@pytest.fixture(scope="module")
def fig6_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig6")
    return run_claim("hong2021.fig6", "smoke", out=out, params=FIG6_SMALL), out


def test_fig2_smoke_shows_the_early_stopping_effect(fig2_result):
    res, out = fig2_result
    s = res.series
    for key in ("N_s", "early_stopped", "zero_loss", "base", "lambda"):
        assert len(s[key]) == len(s["N_s"]) == 1
    assert res.passed, res.criteria
    # the numbers behind the verdict: early-stopped ST below the zero-loss network and the base student
    assert all(e < z and e < b for e, z, b in zip(s["early_stopped"], s["zero_loss"], s["base"]))
    # negative control (the caption of Fig. 2): without early stopping the ST student does not beat base
    assert all(z > 0.98 * b for z, b in zip(s["zero_loss"], s["base"]))
    assert all(e >= s["bayes_error"] for e in s["early_stopped"])
    assert "exact" in s["test_error_kind"]
    assert res.cells["run"] == 1 + 3  # one teacher cell + (N_s, lambda) cells incl. base
    saved = load_result("hong2021.fig2", out)
    assert saved.series["N_s"] == s["N_s"] and saved.metrics == res.metrics
    assert draw_figure(saved, out) is not None and (out / "hong2021.fig2.png").exists()


def test_fig2_rerun_reuses_every_cell(fig2_result):
    _, out = fig2_result
    again = run_claim("hong2021.fig2", "smoke", out=out, params=FIG2_SMALL)
    assert dict(again.cells) == {"run": 0, "reused": 4, "recomputed": 0}


def test_fig6_smoke_error_grows_with_g(fig6_result):
    res, out = fig6_result
    s = res.series
    assert list(s["g"]) == FIG6_SMALL["g"] and list(s["N_s"]) == [80]
    assert len(s["test_error"]) == 1 and len(s["test_error"][0]) == 4
    assert len(s["test_error_final"][0]) == 4 and len(s["targets_only"]) == 1
    assert res.passed, res.criteria
    assert draw_figure(res, out) is not None and (out / "hong2021.fig6.png").exists()
    errs = s["test_error"][0]
    assert errs[0] == min(errs) and errs[-1] > 1.25 * errs[0]


def _fig2_metrics(**over):
    m = {"mid_N_s": [40, 80], "es_over_zero_loss_mid": [0.8, 0.9], "es_over_base_mid": [0.9, 0.9],
         "zero_loss_over_base_mid": [1.1, 1.0], "max_final_fit_mid": 1e-5}
    m.update(over)
    return m


@pytest.mark.parametrize("over, failing", [
    ({}, None),
    ({"es_over_zero_loss_mid": [0.8, 0.99]}, "beats_zero_loss"),     # inside the 2% margin
    ({"es_over_base_mid": [1.01, 0.9]}, "beats_base"),
    ({"zero_loss_over_base_mid": [0.9, 1.0]}, "needs_early_stopping"),
    ({"max_final_fit_mid": 0.5}, "reached_zero_loss"),
])
def test_fig2_verdict_fails_on_failing_numbers(over, failing):
    claim = get_claim("hong2021.fig2")
    r = resolve(claim, "smoke")
    v = claim.verdict(_fig2_metrics(**over), r.params, r.criteria)
    assert v.passed is (failing is None)
    if failing:
        assert not v.criteria[failing][0]


@pytest.mark.parametrize("over, failing", [
    ({}, None),
    ({"spearman_early_stopped": [0.9, 0.3]}, "grows_with_g"),
    ({"g1_lowest_large": [True, False]}, "smallest_g_best"),
    ({"growth_largest_N": 1.1}, "effect_size"),
])
def test_fig6_verdict_fails_on_failing_numbers(over, failing):
    claim = get_claim("hong2021.fig6")
    r = resolve(claim, "smoke")
    m = {"large_N_s": [80, 160], "spearman_early_stopped": [0.9, 0.95], "g1_lowest_large": [True, True],
         "growth_largest_N": 2.0}
    m.update(over)
    v = claim.verdict(m, r.params, r.criteria)
    assert v.passed is (failing is None)
    if failing:
        assert not v.criteria[failing][0]


@pytest.mark.parametrize("cid, param, value, match", [
    ("hong2021.fig2", "lam_d", [0.0, 1.0], "lam_d must be positive"),
    ("hong2021.fig2", "mid_range", [10, 20], "contains no N_s"),
    ("hong2021.fig2", "N_s", [0], "N_s"),
    ("hong2021.fig2", "dtype", "float16", "dtype"),
    ("hong2021.fig6", "g", [1, 3, 5], "m/g even"),
    ("hong2021.fig6", "g", [1, 2], "at least 3"),
    ("hong2021.fig6", "min_N_over_d", 100.0, "leaves no N_s"),
])
def test_bad_parameters_raise_input_errors(cid, param, value, match):
    with pytest.raises(InputError, match=match):
        resolve(get_claim(cid), "smoke", {param: value})


def test_cli_rejects_bad_parameter_in_one_line(capsys, tmp_path):
    assert cli.main(["check", "hong2021.fig6", "--param", "g=[1,3,5]", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "m/g even" in err and err.count("\n") == 1


def test_every_scale_is_valid_and_paper_scale_has_paper_sizes():
    for cid in ("hong2021.fig2", "hong2021.fig6"):
        claim = get_claim(cid)
        for scale in ("smoke", "default", "paper"):
            resolve(claim, scale)
        paper = claim.scales["paper"]
        assert (paper["m"], paper["d"]) == (20000, 500)
    assert get_claim("hong2021.fig2").scales["paper"]["sigma"] == 0.5
    assert np.isclose(get_claim("hong2021.fig6").scales["paper"]["sigma"] ** 2, 0.09)


def test_verdict_thresholds_are_criteria_the_same_at_every_scale():
    assert dict(get_claim("hong2021.fig2").criteria) == {"margin": 0.02, "fit_max": 1e-3}
    assert dict(get_claim("hong2021.fig6").criteria) == {"rho_min": 0.6, "growth_min": 0.25}
    # a stricter criterion can turn the verdict; the override is marked exploratory
    claim = get_claim("hong2021.fig6")
    r = resolve(claim, "smoke", {"growth_min": 1.5})
    assert r.exploratory == ("growth_min",) and r.params == resolve(claim, "smoke").params
    m = {"large_N_s": [80, 160], "spearman_early_stopped": [0.9, 0.95], "g1_lowest_large": [True, True],
         "growth_largest_N": 2.0}
    assert not claim.verdict(m, r.params, r.criteria).criteria["effect_size"][0]
