"""hong2021.fig2 and hong2021.fig6: the verdict rules on synthetic numbers (PASS, FAIL, INCONCLUSIVE),
a reduced smoke run that completes and decides (any verdict), the JSON contract, resource estimates
and bad inputs."""

import warnings

import numpy as np
import pytest

from theorycheck import cli, draw_figure, get_claim, load_result, run_claim
from theorycheck.errors import InputError
from theorycheck.registry import VERDICTS
from theorycheck.runner import resolve

# Reduced smoke settings (the test-time budget): two repetitions, fewer lambdas / group sizes.
FIG2_SMALL = {"N_s": [40], "lam_d": [1.0, 100.0], "reps": 2}
FIG6_SMALL = {"g": [1, 5, 20, 200], "N_s": [80], "steps": 1500, "reps": 2}


@pytest.fixture(scope="module")
def fig2_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig2")
    return run_claim("hong2021.fig2", "smoke", out=out, params=FIG2_SMALL), out


@pytest.fixture(scope="module")
def fig6_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig6")
    return run_claim("hong2021.fig6", "smoke", out=out, params=FIG6_SMALL), out


# ------------------------------------------------------------------ runs complete and decide
def test_fig2_smoke_run_completes_and_decides(fig2_result):
    res, out = fig2_result
    assert res.verdict in VERDICTS
    assert set(res.criteria) == {"regime", "beats_zero_loss", "beats_base", "no_gain_without_early_stopping",
                                 "reached_zero_loss"}
    assert all(c.status in VERDICTS and c.detail and c.paper for c in res.criteria.values())
    m, s = res.metrics, res.series
    assert m["reps"] == 2 and list(m["N_s"]) == [40]
    for key in ("early_stopped_rel", "zero_loss_rel", "base_rel", "final_fit", "lam_d_chosen"):
        assert np.shape(m[key]) == (2, 1), key
    # the early-stopped error is the minimum along the same run: never above its end-of-training error
    assert np.all(np.asarray(m["early_stopped_rel"]) <= np.asarray(m["zero_loss_rel"]))
    assert all(0 < b < 1 for b in m["bayes_rel"])
    for key in ("N_s", "early_stopped", "zero_loss", "base", "lambda"):
        assert len(s[key]) == 1
    assert all(e >= s["bayes_error"] for e in s["early_stopped"])   # no student beats the Bayes error
    assert "exact" in s["test_error_kind"] and "seconds_per_step_max" not in m
    assert res.cells["run"] == 2 * (1 + 3)  # per repetition: a teacher cell + (N_s, lambda) cells incl. base
    saved = load_result("hong2021.fig2", out)
    assert saved.series["N_s"] == s["N_s"] and saved.metrics == res.metrics
    assert draw_figure(saved, out) is not None and (out / "hong2021.fig2.png").exists()


def test_fig2_rerun_reuses_every_cell(fig2_result):
    _, out = fig2_result
    again = run_claim("hong2021.fig2", "smoke", out=out, params=FIG2_SMALL)
    assert {k: again.cells[k] for k in ("run", "reused", "recomputed")} == {"run": 0, "reused": 8, "recomputed": 0}


def test_fig2_more_repetitions_reuse_the_first_ones(fig2_result):
    # a repetition's seeds depend on its index only: adding repetitions recomputes only the new ones
    _, out = fig2_result
    more = run_claim("hong2021.fig2", "smoke", out=out, params={**FIG2_SMALL, "reps": 3})
    assert (more.cells["run"], more.cells["reused"]) == (4, 8)


def test_fig6_smoke_run_completes_and_decides(fig6_result):
    res, out = fig6_result
    assert res.verdict in VERDICTS
    assert set(res.criteria) == {"regime", "grows_with_g", "finest_beats_coarsest"}
    s, m = res.series, res.metrics
    assert list(s["g"]) == FIG6_SMALL["g"] and list(s["N_s"]) == [80]
    assert len(s["test_error"]) == 1 and len(s["test_error"][0]) == 4
    assert len(s["test_error_final"][0]) == 4 and len(s["targets_only"]) == 1
    assert np.shape(m["early_stopped_rel"]) == (2, 1, 4) and np.shape(m["spearman_early_stopped_reps"]) == (2, 1)
    assert all(-1 <= r <= 1 for row in m["spearman_early_stopped_reps"] for r in row)
    assert draw_figure(res, out) is not None and (out / "hong2021.fig6.png").exists()


# ------------------------------------------------------------------ the verdict rules, synthetic numbers
def _fig2_metrics(es, zl, base, *, fit=1e-5, bayes=0.1, N_s=(40, 80)):
    """Per-repetition metrics in units of E f_t^2 from arrays of shape (reps, len(N_s))."""
    es, zl, base = (np.broadcast_to(np.asarray(x, float), np.shape(es)) for x in (es, zl, base))
    R = es.shape[0]
    return {"N_s": list(N_s), "reps": R, "early_stopped_rel": es.tolist(), "zero_loss_rel": zl.tolist(),
            "base_rel": base.tolist(), "final_fit": np.full(es.shape, fit).tolist(), "bayes_rel": [bayes] * R}


def _jitter(center, reps=6, n=2, sd=0.01, seed=0):
    return center + sd * np.random.default_rng(seed).standard_normal((reps, n))


def _fig2_verdict(metrics, **criteria):
    claim = get_claim("hong2021.fig2")
    r = resolve(claim, "smoke", criteria)
    return claim.verdict(metrics, r.params, r.criteria)


def _statuses(v):
    return {k: c.status for k, c in v.criteria.items()}


def test_fig2_pass_on_numbers_that_show_the_paper_s_pattern():
    v = _fig2_verdict(_fig2_metrics(_jitter(0.5), _jitter(0.7, seed=1), _jitter(0.6, seed=2)))
    assert v.status == "PASS", v.criteria
    assert "[40, 80] (judged)" in v.criteria["regime"].text


@pytest.mark.parametrize("zl, base, failing", [
    (0.5, 0.6, "beats_zero_loss"),                 # early stopping gains less than the 2% margin
    (0.7, 0.5, "beats_base"),                      # no better than the base student
    (0.5 * 0.6, 0.6, "no_gain_without_early_stopping"),   # the zero-loss student alone beats base by far
])
def test_fig2_fail_when_an_interval_lies_wholly_on_the_other_side(zl, base, failing):
    es = _jitter(0.5, sd=0.002)
    v = _fig2_verdict(_fig2_metrics(es, es * 0 + zl, base))
    assert v.status == "FAIL" and _statuses(v)[failing] == "FAIL", v.criteria
    assert "other side" in v.criteria[failing].text


def test_fig2_inconclusive_when_the_interval_straddles_the_threshold():
    rng = np.random.default_rng(3)
    es = np.full((4, 2), 0.5)
    base = es / 0.98 + 0.1 * rng.standard_normal((4, 2))    # E_ES - 0.98 E_base: mean ~0, large spread
    v = _fig2_verdict(_fig2_metrics(es, 0.8, base))
    assert _statuses(v)["beats_base"] == "INCONCLUSIVE" and v.status == "INCONCLUSIVE", v.criteria
    assert "repetitions an interval would need" in v.criteria["beats_base"].text


def test_fig2_judges_only_the_n_s_where_the_student_learns():
    es = _jitter(0.5)
    es[:, 0] = 1.2 + 0.01 * es[:, 0]                 # N_s = 40: worse than predicting 0 (too small)
    zl = es / 0.98 + 0.001                         # ... where it would FAIL beats_zero_loss if judged
    zl[:, 1] = 0.7
    base = np.array([[1.3, 0.6]] * 6)
    v = _fig2_verdict(_fig2_metrics(es, zl, base))
    assert v.status == "PASS", v.criteria
    assert "too small: [40]" in v.criteria["regime"].text and "$N_s = 40$" not in v.criteria["beats_zero_loss"].text
    # nothing learnable anywhere: every criterion INCONCLUSIVE, never FAIL
    v = _fig2_verdict(_fig2_metrics(_jitter(1.3), 1.5, 1.4))
    assert v.status == "INCONCLUSIVE" and _statuses(v)["regime"] == "INCONCLUSIVE"
    assert "FAIL" not in _statuses(v).values()


def test_fig2_base_at_the_bayes_error_leaves_no_room_and_is_not_judged():
    es = _jitter(0.2)
    v = _fig2_verdict(_fig2_metrics(es, 0.3, _jitter(0.2, sd=0.002, seed=4), bayes=0.199))
    assert "too large: [40, 80]" in v.criteria["regime"].text and v.status == "INCONCLUSIVE"


def test_fig2_zero_loss_not_reached_is_inconclusive_and_one_repetition_decides_nothing():
    v = _fig2_verdict(_fig2_metrics(_jitter(0.5), 0.7, 0.6, fit=0.05))
    assert _statuses(v)["reached_zero_loss"] == "INCONCLUSIVE" and v.status == "INCONCLUSIVE"
    assert "raise steps" in v.criteria["reached_zero_loss"].text
    v = _fig2_verdict(_fig2_metrics(_jitter(0.5, reps=1), 0.7, 0.6))
    assert set(_statuses(v).values()) == {"INCONCLUSIVE"} and "reps $\\geq 2$" in v.criteria["beats_base"].text


def test_fig2_a_stricter_margin_is_an_exploratory_criterion():
    claim = get_claim("hong2021.fig2")
    r = resolve(claim, "smoke", {"margin": 0.5})
    assert r.exploratory == ("margin",) and r.params == resolve(claim, "smoke").params
    v = claim.verdict(_fig2_metrics(_jitter(0.5), _jitter(0.7, seed=1), _jitter(0.6, seed=2)), r.params, r.criteria)
    assert v.status != "PASS"


def _fig6_metrics(es, *, g=(1, 2, 5, 10, 20), N_s=(80, 160)):
    """es: (reps, len(N_s), len(g)) errors in units of E f_t^2; Spearman per repetition from them."""
    from theorycheck.stats import spearman
    es = np.asarray(es, float)
    rho = [[spearman(list(g), es[r, i]) for i in range(es.shape[1])] for r in range(es.shape[0])]
    return {"N_s": list(N_s), "g": list(g), "reps": es.shape[0], "early_stopped_rel": es.tolist(),
            "spearman_early_stopped_reps": rho}


def _fig6_verdict(metrics):
    claim = get_claim("hong2021.fig6")
    r = resolve(claim, "smoke")
    return claim.verdict(metrics, r.params, r.criteria)


def _rising(reps=5, lo=0.2, hi=0.8, noise=0.02, n_N=2, n_g=5, seed=0):
    rng = np.random.default_rng(seed)
    curve = np.linspace(lo, hi, n_g)
    return curve + noise * rng.standard_normal((reps, n_N, n_g))


def test_fig6_pass_when_the_error_grows_with_g():
    v = _fig6_verdict(_fig6_metrics(_rising()))
    assert v.status == "PASS", v.criteria


def test_fig6_fail_when_the_error_falls_with_g():
    v = _fig6_verdict(_fig6_metrics(_rising(lo=0.8, hi=0.2)))
    assert v.status == "FAIL"
    assert _statuses(v) == {"regime": "PASS", "grows_with_g": "FAIL", "finest_beats_coarsest": "FAIL"}


def test_fig6_inconclusive_on_a_flat_noisy_curve_and_when_n_s_is_too_small():
    v = _fig6_verdict(_fig6_metrics(_rising(lo=0.5, hi=0.5, noise=0.05)))
    assert _statuses(v)["grows_with_g"] == "INCONCLUSIVE" and v.status == "INCONCLUSIVE", v.criteria
    # the g = 1 student learns nothing at N_s = 80: only N_s = 160 is judged, where the error falls
    es = _rising(lo=0.2, hi=0.8)
    es[:, 0, :] = _rising(lo=1.2, hi=0.9, n_N=1)[:, 0, :]
    v = _fig6_verdict(_fig6_metrics(es))
    assert v.status == "PASS" and "too small: [80]" in v.criteria["regime"].text
    v = _fig6_verdict(_fig6_metrics(_rising(lo=1.2, hi=1.3)))
    assert v.status == "INCONCLUSIVE" and "FAIL" not in _statuses(v).values()


def test_judge_cells_passes_by_intersection_and_fails_at_the_bonferroni_level():
    from theorycheck.hong2021.claims._relu_common import judge_cells
    from theorycheck.stats import t_interval
    below = np.array([-1.0, -1.1, -0.9, -1.05])
    assert judge_cells("e", {1: below, 2: below - 1}, 0.0, "below", 0.95)[0] == "PASS"
    assert judge_cells("e", {1: below, 2: -below}, 0.0, "below", 0.95)[0] == "FAIL"
    # above 0 at the 95% level but not at the 97.5% (Bonferroni over 2 N_s) level: not a FAIL
    v = np.array([0.3, 1.0, 1.7, 1.0])
    assert t_interval(v, 0.95).low > 0 and t_interval(v, 0.975).low < 0
    assert judge_cells("e", {1: below, 2: v}, 0.0, "below", 0.95)[0] == "INCONCLUSIVE"
    assert judge_cells("e", {}, 0.0, "below", 0.95)[0] == "INCONCLUSIVE"


# ------------------------------------------------------------------ bad inputs, resources, broken training
@pytest.mark.parametrize("cid, param, value, match", [
    ("hong2021.fig2", "lam_d", [0.0, 1.0], "lam_d must be positive"),
    ("hong2021.fig2", "N_s", [0], "N_s"),
    ("hong2021.fig2", "N_s", [40, 40], "N_s"),
    ("hong2021.fig2", "dtype", "float16", "dtype"),
    ("hong2021.fig2", "sigma", 1e300, "^sigma"),
    ("hong2021.fig2", "sigma", float("nan"), "^sigma"),
    ("hong2021.fig2", "n_eval", 10 ** 9, "^n_eval"),
    ("hong2021.fig2", "reps", 0, "^reps"),
    ("hong2021.fig2", "level", 1.0, "^level"),
    ("hong2021.fig6", "g", [1, 3, 5], "m/g even"),
    ("hong2021.fig6", "g", [1, 2], "at least 3"),
    ("hong2021.fig6", "sigma", -0.1, "^sigma"),
])
def test_bad_parameters_raise_input_errors(cid, param, value, match):
    with pytest.raises(InputError, match=match):
        resolve(get_claim(cid), "smoke", {param: value})


def test_cli_rejects_bad_parameter_in_one_line(capsys, tmp_path):
    assert cli.main(["check", "hong2021.fig6", "--param", "g=[1,3,5]", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "m/g even" in err and err.count("\n") == 1


@pytest.mark.parametrize("cid, args, name", [
    ("hong2021.fig2", ["m=100000000"], "m"),          # issue 14: asked for 14.9 GiB at once
    ("hong2021.fig6", ["m=100000000", "g=[1,2,5]"], "m"),
    ("hong2021.fig2", ["N_s=[100000000]"], "N_s"),
    ("hong2021.fig2", ["steps=100000000000"], "steps"),
])
def test_a_huge_size_is_refused_before_anything_is_allocated(cid, args, name, capsys, tmp_path):
    argv = ["check", cid, "--out", str(tmp_path)]
    for a in args:
        argv += ["--param", a]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[-1].split("error: ", 1)[1].startswith(f"{name} ")
    assert not (tmp_path / "cells").exists() or not any((tmp_path / "cells").rglob("*.json"))


def test_the_estimate_grows_with_the_sizes_and_the_scales_fit_a_small_machine():
    from theorycheck.limits import GiB
    for cid in ("hong2021.fig2", "hong2021.fig6"):
        claim = get_claim(cid)
        est = {s: claim.estimate(resolve(claim, s).params) for s in ("smoke", "default", "paper")}
        assert est["smoke"].peak_bytes < est["default"].peak_bytes < est["paper"].peak_bytes < 4 * GiB
        assert est["paper"].work < 1e9


def test_sigma_that_overflows_is_refused_naming_sigma_without_warnings(capsys, tmp_path):
    # issue 14: `fig2 sigma=1e300` spilled RuntimeWarnings and named an internal variable (lr_W1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(["check", "hong2021.fig2", "--param", "sigma=1e300", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sigma must be in" in err and "lr_W1" not in err


def test_training_that_fails_to_fit_ends_with_an_input_error_naming_the_changed_parameter():
    from theorycheck.hong2021.claims._relu_common import _check_training
    params = {**resolve(get_claim("hong2021.fig2"), "smoke").params, "sigma": 50.0}
    good = {(0, 40, 0.0): {"final_fit": 1e-6}}
    _check_training(good, params, "hong2021.fig2")
    with pytest.raises(InputError, match=r"^sigma made hong2021.fig2's training fail.*1\.3 times"):
        _check_training({**good, (0, 40, 1.0): {"final_fit": 1.3}}, params, "hong2021.fig2")


# ------------------------------------------------------------------ declarations
def test_every_scale_is_valid_and_paper_scale_has_paper_sizes():
    for cid in ("hong2021.fig2", "hong2021.fig6"):
        claim = get_claim(cid)
        for scale in ("smoke", "default", "paper"):
            assert resolve(claim, scale).params["reps"] >= 2
        paper = claim.scales["paper"]
        assert (paper["m"], paper["d"]) == (20000, 500)
    assert get_claim("hong2021.fig2").scales["paper"]["sigma"] == 0.5
    assert np.isclose(get_claim("hong2021.fig6").scales["paper"]["sigma"] ** 2, 0.09)


def test_criteria_are_the_paper_s_margin_and_a_confidence_level():
    assert dict(get_claim("hong2021.fig2").criteria) == {"level": 0.95, "margin": 0.02, "fit_max": 1e-3}
    assert dict(get_claim("hong2021.fig6").criteria) == {"level": 0.95, "margin": 0.02}


def test_user_facing_text_has_no_internal_words():
    import re
    for cid in ("hong2021.fig2", "hong2021.fig6"):
        c = get_claim(cid)
        text = " ".join([c.title, c.statement, *c.assumptions, c.method, c.scale_note,
                         *(m.meaning for m in c.metrics.values())])
        assert not re.search(r"digest|\[R\]|\[P\]|\[OURS\]|\[V\]|§|ctx\.|progress_s|snapshot_s|_mid\b", text)
        assert all(k in c.metrics for k in c.key_metrics)
