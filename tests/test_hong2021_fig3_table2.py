"""hong2021.fig3 and hong2021.table2: the operating regime of student-teacher learning (Hong et al.
2021, Sec. 4). Verdicts on hand-made numbers (they must be able to fail), the paired and nested design,
the deterministic teacher regeneration, a negative control and the figures."""

import numpy as np
import pytest

from theorycheck import cli, draw_figure, get_claim, run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021 import datasets as data, mlp
from theorycheck.hong2021.claims.regime import PAPER_TABLE2
from theorycheck.hong2021.experiments import regime as H
from theorycheck.runner import resolve

FIG3 = get_claim("hong2021.fig3")
TABLE2 = get_claim("hong2021.table2")
TINY = {"hidden": [8, 8], "steps": 60, "eval_every": 10, "seeds": 2, "test_noise_draws": 1}


def _fig3_metrics(boundary, smallest_green=None, E_t=(0.2, 0.05)):
    return {"boundary_N_t": boundary, "E_t": list(E_t),
            "smallest_N_s_green": (0 if boundary[0] is None else 1) if smallest_green is None else smallest_green}


# -- verdicts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", [
    [None, 20, 40, 40, 80, None],   # red at small N_s, a rising boundary, beyond the grid at large N_s
    [None, 20, 20, 80],
])
def test_fig3_verdict_passes_on_the_papers_pattern(boundary):
    v = FIG3.verdict(_fig3_metrics(boundary), FIG3.scales["smoke"], FIG3.criteria)
    assert v.passed, v.criteria


@pytest.mark.parametrize("boundary, failing", [
    ([10, 20, 40], "too_small_N_s_no_benefit"),        # (1a): the smallest N_s is helped
    ([None, 80, 40], "boundary_rises_with_N_s"),       # (1b): the boundary falls
    ([None, 40, 40], "boundary_rises_with_N_s"),       # flat: never shows a rise
    ([None, 20, None, 40], "boundary_rises_with_N_s"), # beyond the grid, then helped again
    ([None, None, 40], "benefit_exists"),              # one green column cannot show a boundary move
    ([None, None, None], "benefit_exists"),            # nothing helps anywhere
])
def test_fig3_verdict_fails_when_a_claim_is_broken(boundary, failing):
    v = FIG3.verdict(_fig3_metrics(boundary), FIG3.scales["smoke"], FIG3.criteria)
    assert not v.passed and not v.criteria[failing][0]


def test_fig3_verdict_fails_when_teachers_do_not_improve_with_N_t():
    v = FIG3.verdict(_fig3_metrics([None, 20, 40], E_t=(0.05, 0.2)), FIG3.scales["smoke"], FIG3.criteria)
    assert not v.passed and not v.criteria["teachers_improve_with_N_t"][0]


def test_table2_verdict_accepts_the_papers_own_table():
    assert TABLE2.verdict({"min_N_t": PAPER_TABLE2["min_N_t"]}, TABLE2.scales["default"], TABLE2.criteria).passed


@pytest.mark.parametrize("min_N_t, passed", [
    ([20, 40, 40, 60, 60], True),
    ([20, 40, None, None, None], True),     # beyond the grid at high noise still rises
    ([40, 20, 60, 80, 80], False),          # decreases once
    ([20, None, 40, 60, 80], False),        # "beyond the grid" then helped again
    ([40, 40, 40, 40, 40], False),          # no rise
    ([None] * 5, False),                    # no teacher helps at all
])
def test_table2_verdict(min_N_t, passed):
    assert TABLE2.verdict({"min_N_t": min_N_t}, TABLE2.scales["default"], TABLE2.criteria).passed is passed


def test_boundary_helpers_read_none_as_beyond_the_grid():
    green = [[False, True, False],   # N_t = 5
             [True, True, False],    # N_t = 20
             [True, True, False]]    # N_t = 80
    assert H.fig3_boundary([5, 20, 80], green) == [20, 5, None]
    assert H.min_helpful_N_t([5, 20], [False, False]) is None
    assert H.non_decreasing([1, 2, None, None]) and not H.non_decreasing([None, 3])
    assert H.boundary_after_first_benefit([None, None, 20, None]) == [20, None]
    assert H.boundary_after_first_benefit([None, None]) == []


# -- design: nested subsets and noise, paired students, deterministic teachers ---------------------

def test_training_sets_and_their_noise_are_nested_in_N():
    split = data.per_class_split(data.load_digits_data(), 20, 40, np.random.default_rng(0))
    for per_seed in (False, True):
        small, large = (H.training_subset(split, n, 7, per_seed) for n in (5, 12))
        assert np.array_equal(small.reshape(10, 5), large.reshape(10, 12)[:, :5])
    assert np.array_equal(H.training_subset(split, 5, 1, False), H.training_subset(split, 5, 2, False))
    assert not np.array_equal(H.training_subset(split, 5, 1, True), H.training_subset(split, 5, 2, True))
    z_small, z_large = H.nested_noise(3, 5, 10, 4), H.nested_noise(3, 12, 10, 4)
    assert np.array_equal(z_small.reshape(10, 5, 4), z_large.reshape(10, 12, 4)[:, :5])


def test_teacher_regeneration_is_bit_identical():
    params = resolve(TABLE2, "smoke", TINY).params
    spec = {"dataset": "digits", "data_dir": None, "n_val": 20, "n_test": 40, "pool": 20, "data_seed": 11,
            "noise_unit": "pixel_std", "test_noise_draws": 1, "subset_per_seed": True}
    train = {k: params[k] for k in ("hidden", "steps", "lr", "batch_size", "momentum", "eval_every")}
    first = H.train_teacher(spec, train, 20, 4)
    assert H.train_teacher(spec, train, 20, 4) is first  # memoised within a process
    H.clear_caches()
    second = H.train_teacher(spec, train, 20, 4)
    assert first is not second
    for a, b in zip(first.params, second.params):
        np.testing.assert_array_equal(a, b)


def test_tiny_runs_are_consistent_and_figures_draw(tmp_path):
    fig3 = run_claim("hong2021.fig3", "smoke", out=tmp_path, params={**TINY, "N_s_grid": [2, 5],
                                                                     "N_t_grid": [5, 20]})
    table2 = run_claim("hong2021.table2", "smoke", out=tmp_path, params={**TINY, "N_t_grid": [5, 20],
                                                                         "sigmas": [0.1, 0.5]})
    for res in (fig3, table2):
        m = res.metrics
        assert m["teacher_regeneration_gap"] == 0.0  # students regenerate exactly the teacher cells' nets
        assert all(0.0 <= e <= 1.0 for e in list(m["E_base"]) + list(m["E_t"]))
        assert draw_figure(res, tmp_path) is not None
        assert (tmp_path / f"{res.claim}.png").stat().st_size > 0
    assert len(fig3.series["green"]) == 2 and len(fig3.series["green"][0]) == 2
    assert list(table2.series["paper"]["min_N_t"]) == [200, 300, 500, 700, 800]
    # base students are shared: the same noise level and seed give the same E_base in both claims' cells
    assert table2.metrics["noise_std_pixel"][0] == pytest.approx(0.1 * 0.376, rel=0.05)


def test_lambda_makes_the_feature_term_comparable_to_the_base_term_at_init():
    """The documented choice of lam (scale_note): the feature term of Eq. (2) is 1-5x the cross-entropy
    at initialisation on the digits (the paper's 0.001 refers to ResNet feature maps)."""
    params = resolve(FIG3, "default").params
    split = data.per_class_split(data.load_digits_data(), 20, 40, np.random.default_rng(0))
    D = data.load_digits_data()
    idx = split.subset(10)
    rng = np.random.default_rng(1)
    teacher = mlp.init_mlp([64, *params["hidden"], 10], rng)
    teacher = mlp.train_classifier(teacher, D.X[idx], D.y[idx], D.X[split.val], D.y[split.val], steps=300,
                                   lr=0.05, batch_size=32, rng=rng).params
    student = mlp.init_mlp([64, *params["hidden"], 10], rng)
    X_noisy = D.X[idx] + 0.5 * 0.376 * rng.standard_normal(D.X[idx].shape)
    base, feat = mlp.loss_terms(student, X_noisy, D.y[idx], mlp.hidden_features(teacher, D.X[idx]))
    assert 1.0 <= params["lam"] * feat / base <= 5.0


def test_negative_control_without_the_feature_term_no_teacher_helps():
    """Switch the teacher off (lam -> 0): the paired students coincide, nothing is green, and Table 2's
    verdict fails; with the scale's lam the same run finds helpful teachers."""
    on = run_claim("hong2021.table2", "smoke")
    off = run_claim("hong2021.table2", "smoke", params={"lam": 1e-9})
    assert any(v is not None for v in on.metrics["min_N_t"])
    assert list(off.metrics["min_N_t"]) == [None] * len(off.params["sigmas"])
    assert not off.passed and not off.criteria["some_teacher_helps"].ok
    # 1e-9 * O(100) feature term: the students' errors agree to far better than delta = 4%
    assert np.max(np.abs(np.array(off.series["ratio"]) - 1)) < 0.01


# -- input validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("claim, override, needle", [
    (FIG3, {"dataset": "mnist"}, "dataset"),
    (FIG3, {"N_t_grid": [20, 10]}, "strictly increasing"),
    (FIG3, {"N_t_grid": [5, 500]}, "exceeds the 114 training images"),
    (FIG3, {"N_s_grid": [5]}, "at least two"),
    (FIG3, {"lam": 0.0}, "lam"),
    (FIG3, {"hidden": []}, "hidden"),
    (TABLE2, {"sigmas": [0.3, 0.1]}, "sigmas"),
    (TABLE2, {"delta": 1.5}, "delta"),
    (TABLE2, {"dataset": "cifar10"}, "data_dir"),
    (TABLE2, {"dataset": "cifar10", "data_dir": "/no/such/folder"}, "not a folder"),
])
def test_bad_parameters_are_input_errors(claim, override, needle):
    with pytest.raises(InputError, match=needle):
        resolve(claim, "smoke", override)


def test_cli_reports_a_missing_cifar_folder_in_one_line(capsys, tmp_path):
    assert cli.main(["check", "hong2021.fig3", "--out", str(tmp_path), "--param", "dataset=cifar10",
                     "--param", f"data_dir={tmp_path / 'none'}"]) == 2
    err = capsys.readouterr().err
    assert "data_dir" in err and err.count("\n") == 1
