"""hong2021.fig3 and hong2021.table2: the operating regime of student-teacher learning (Hong et al.
2021, Sec. 4). Verdicts on hand-made per-seed numbers for PASS, FAIL and INCONCLUSIVE, the cell
decisions and the exact shape rule over colourings of unresolved cells, the one cell protocol shared
by both claims, the paired and nested design, refusals (bad parameters, collapsed training, resource
estimates) and a run that completes and decides (any verdict)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theorycheck import cli, draw_figure, get_claim, run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021 import datasets as data
from theorycheck.hong2021.claims.table2 import PAPER_TABLE2
from theorycheck.hong2021.experiments import regime as H
from theorycheck.registry import VERDICTS
from theorycheck.runner import resolve

FIG3 = get_claim("hong2021.fig3")
TABLE2 = get_claim("hong2021.table2")
TINY = {"hidden": [8, 8], "steps": 60, "eval_every": 10, "seeds": 2, "test_noise_draws": 1, "n_test": 50,
        "n_val": 20, "lams": [0.001, 1.0]}

# ------------------------------------------------------------------------------------------------
# verdicts on hand-made numbers
# ------------------------------------------------------------------------------------------------
#: a fixed zero-mean pattern over 6 seeds: per-seed numbers = mean + scale * pattern
_Z = np.array([-1.0, 1.0, -0.5, 0.5, -0.25, 0.25])
_Z2 = np.array([0.5, -0.5, 1.0, -1.0, 0.25, -0.25])
_RATIO = {"g": 0.90, "r": 1.00}


def _metrics(pattern, E_base, delta, E_t=(0.6, 0.4, 0.3)):
    """Per-seed metrics whose cells decide as ``pattern`` says: rows = N_t (top string = smallest N_t),
    characters = columns; g green (E_st = 0.9 E_base), r red (E_st = E_base), u unresolved (E_st =
    (1 - delta) E_base + zero-mean noise: the effect's interval straddles 0)."""
    E_base_seeds = [list(b + 0.002 * _Z) for b in E_base]
    E_st = []
    for row in pattern:
        cells = []
        for j, ch in enumerate(row):
            base = np.asarray(E_base_seeds[j])
            ratio = (1.0 - delta) if ch == "u" else _RATIO[ch]
            cells.append(list(ratio * base + (0.01 if ch == "u" else 0.0005) * _Z2))
        E_st.append(cells)
    E_t_seeds = [list(e + 0.01 * _Z) for e in E_t[:len(pattern)]]
    return {"E_t_per_seed": E_t_seeds, "E_base_per_seed": E_base_seeds, "E_st_tuned_per_seed": E_st,
            "E_st_paper_per_seed": [[list(np.asarray(E_base_seeds[j]) * 1.01) for j in range(len(E_base))]
                                    for _ in pattern]}


def _fig3(pattern, E_base=(0.87, 0.7, 0.6, 0.5), E_t=(0.6, 0.4, 0.3)):
    params = {**FIG3.scales["default"], "N_t_grid": [16, 64, 256][:len(pattern)],
              "N_s_grid": [1, 4, 16, 64][:len(pattern[0])]}
    v = FIG3.verdict(_metrics(pattern, E_base[:len(pattern[0])], FIG3.criteria["delta"], E_t), params, FIG3.criteria)
    return v, {k: c.status for k, c in v.criteria.items()}


def test_fig3_verdict_passes_on_the_papers_pattern():
    v, s = _fig3(["rgrr",
                  "rggr",
                  "rggg"])
    assert v.status == "PASS", v.criteria
    assert "not judged: the same rule at the paper's $\\lambda = 0.001$" in v.criteria["boundary_rises_with_N_s"].text
    assert all(c.paper for c in v.criteria.values())  # every criterion says what the paper says


@pytest.mark.parametrize("pattern, E_base, E_t, criterion, status", [
    (["grrr", "rggr", "rggg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "too_small_N_s_no_benefit", "FAIL"),
    (["rgrr", "uggr", "rggg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "too_small_N_s_no_benefit", "INCONCLUSIVE"),
    # no column near chance: the substitute never reaches (1a), which is INCONCLUSIVE, never FAIL
    (["rgrr", "rggr", "rggg"], (0.5, 0.45, 0.4, 0.35), (0.6, 0.4, 0.3), "too_small_N_s_no_benefit", "INCONCLUSIVE"),
    (["rrgr", "rggr", "ggrg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "boundary_rises_with_N_s", "FAIL"),   # falls
    # flat on the grid: a rise may lie between two grid values of N_t, so it is not a contradiction
    (["rggg", "rggg", "rggg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "boundary_rises_with_N_s", "INCONCLUSIVE"),
    (["rrur", "rggr", "rggg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "boundary_rises_with_N_s", "INCONCLUSIVE"),
    (["rrrg", "rrrg", "rrrg"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "boundary_rises_with_N_s", "INCONCLUSIVE"),
    (["rrrr", "rrrr", "rrrr"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "benefit_exists", "FAIL"),
    (["rrrr", "rrur", "rrrr"], (0.87, 0.7, 0.6, 0.5), (0.6, 0.4, 0.3), "benefit_exists", "INCONCLUSIVE"),
    (["rgrr", "rggr", "rggg"], (0.87, 0.7, 0.6, 0.5), (0.3, 0.4, 0.6), "teachers_improve_with_N_t", "FAIL"),
])
def test_fig3_criteria_decide_each_outcome(pattern, E_base, E_t, criterion, status):
    v, s = _fig3(pattern, E_base, E_t)
    assert s[criterion] == status, v.criteria[criterion].text
    assert v.status == ("FAIL" if "FAIL" in s.values() else "INCONCLUSIVE" if "INCONCLUSIVE" in s.values()
                        else "PASS")


def test_fig3_1a_needs_a_teacher_that_helps_elsewhere():
    """An all-red cannot-learn column says nothing about N_s when no teacher helps anywhere."""
    v, s = _fig3(["rrrr", "rrrr", "rrrr"])
    assert s["too_small_N_s_no_benefit"] == "INCONCLUSIVE"


def _table2(pattern, N_t_grid=(16, 64, 256)):
    params = {**TABLE2.scales["default"], "N_t_grid": list(N_t_grid),
              "sigmas": [0.1, 0.2, 0.3, 0.4, 0.5][:len(pattern[0])]}
    m = _metrics(pattern, [0.5] * len(pattern[0]), TABLE2.criteria["delta"], E_t=[0.3] * len(pattern))
    v = TABLE2.verdict(m, params, TABLE2.criteria)
    return v, {k: c.status for k, c in v.criteria.items()}


def test_table2_verdict_accepts_the_papers_own_table():
    N_t = [100, 200, 300, 400, 500, 600, 700, 800]
    pattern = ["".join("g" if n >= m else "r" for m in PAPER_TABLE2["min_N_t"]) for n in N_t]
    v, s = _table2(pattern, N_t)
    assert v.status == "PASS", v.criteria


@pytest.mark.parametrize("pattern, status", [
    (["grr", "ggr", "ggg"], "PASS"),
    (["grr", "grr", "grr"], "PASS"),            # beyond the grid at high noise still rises
    (["rgr", "ggr", "ggg"], "FAIL"),            # decreases once (64 -> 16)
    (["rgr", "rgr", "rgg"], "FAIL"),            # no teacher at sigma 0.1, then one helps: a decrease
    (["ggg", "ggg", "ggg"], "INCONCLUSIVE"),    # flat on the grid: a rise may hide between grid values
    (["rur", "ggr", "ggg"], "INCONCLUSIVE"),    # the unresolved cell decides
    (["rrr", "rrr", "rrr"], "INCONCLUSIVE"),    # nothing helps: the shape is untestable
])
def test_table2_shape(pattern, status):
    v, s = _table2(pattern)
    assert s["min_N_t_rises_with_sigma"] == status, v.criteria["min_N_t_rises_with_sigma"].text


def test_table2_some_teacher_helps_fails_when_every_cell_is_red():
    v, s = _table2(["rrr", "rrr", "rrr"])
    assert s["some_teacher_helps"] == "FAIL" and v.status == "FAIL"


# ------------------------------------------------------------------------------------------------
# cell decisions and the shape rule
# ------------------------------------------------------------------------------------------------

def test_cell_decision_reads_the_interval_of_the_paired_effect():
    base = 0.5 + 0.01 * _Z
    assert H.cell_decision(0.9 * base, base, 0.02, 0.95)[0] == "green"
    assert H.cell_decision(1.0 * base, base, 0.02, 0.95)[0] == "red"
    assert H.cell_decision(0.98 * base + 0.01 * _Z2, base, 0.02, 0.95)[0] == "unresolved"
    status, iv, ratio = H.cell_decision(0.9 * base, base, 0.02, 0.95)
    assert iv.estimate == pytest.approx(-0.08 * 0.5, rel=1e-12) and ratio == pytest.approx(0.9)


def test_column_regime_compares_the_base_error_with_chance():
    assert H.column_regime(0.87 + 0.002 * _Z, 10, 0.9, 0.95)[0] == "no_pattern"
    assert H.column_regime(0.60 + 0.002 * _Z, 10, 0.9, 0.95)[0] == "learns"
    assert H.column_regime(0.81 + 0.05 * _Z, 10, 0.9, 0.95)[0] == "unresolved"
    assert H.chance_error(10) == pytest.approx(0.9)


def test_rises_reads_inf_as_beyond_the_grid():
    inf = np.inf
    assert H.rises([inf, 20, 40, 40, 80, inf]) == "rise"
    assert H.rises([inf, 80, 40]) == "violation" and H.rises([inf, 40, 40]) == "flat"
    assert H.rises([inf, 20, inf, 40]) == "violation" and H.rises([inf, inf, 40]) == "untestable"
    assert H.rises([inf, 40], skip_leading=False) == "violation"
    assert H.rises([20, inf], skip_leading=False) == "rise"
    assert H.boundary_candidates(["red", "unresolved", "green", "unresolved"], [5, 10, 20, 40]) == {10.0, 20.0}
    assert H.boundary_candidates(["red", "unresolved"], [5, 10]) == {10.0, inf}


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), rows=st.integers(1, 4), cols=st.integers(1, 4),
       skip=st.booleans())
def test_shape_outcomes_equal_brute_force_over_colourings(seed, rows, cols, skip):
    """The dynamic programme gives exactly the outcomes of every colouring of the unresolved cells."""
    rng = np.random.default_rng(seed)
    N_t = [5, 10, 20, 40][:rows]
    status = rng.choice(["green", "red", "unresolved"], size=(rows, cols))
    cands = [H.boundary_candidates(status[:, j], N_t) for j in range(cols)]
    unresolved = list(zip(*np.nonzero(status == "unresolved")))
    brute = set()
    for colours in itertools.product(["green", "red"], repeat=len(unresolved)):
        s = status.copy()
        for (i, j), c in zip(unresolved, colours):
            s[i, j] = c
        b = [min([N_t[i] for i in range(rows) if s[i, j] == "green"], default=np.inf) for j in range(cols)]
        brute.add(H.rises(b, skip))
    assert H.shape_outcomes(cands, skip) == brute


# ------------------------------------------------------------------------------------------------
# design: one protocol, nested subsets and noise, paired students, deterministic teachers
# ------------------------------------------------------------------------------------------------

def test_training_sets_and_their_noise_are_nested_in_N():
    split = data.per_class_split(data.load_digits_data(), 20, 40, np.random.default_rng(0))
    for per_seed in (False, True):
        small, large = (H.training_subset(split, n, 7, per_seed) for n in (5, 12))
        assert np.array_equal(small.reshape(10, 5), large.reshape(10, 12)[:, :5])
    assert np.array_equal(H.training_subset(split, 5, 1, False), H.training_subset(split, 5, 2, False))
    assert not np.array_equal(H.training_subset(split, 5, 1, True), H.training_subset(split, 5, 2, True))
    z_small, z_large = H.nested_noise(3, 5, 10, 4), H.nested_noise(3, 12, 10, 4)
    assert np.array_equal(z_small.reshape(10, 5, 4), z_large.reshape(10, 12, 4)[:, :5])


def test_protocol_seeds_depend_on_the_run_seed_only():
    assert H.replicate_seeds(3, 5)[:2] == H.replicate_seeds(3, 2)  # more seeds extend, never change
    assert H.replicate_seeds(3, 2) != H.replicate_seeds(4, 2)
    assert H.data_seed(3) == H.data_seed(3) != H.data_seed(4)


def test_teacher_regeneration_is_bit_identical():
    params = resolve(TABLE2, "smoke", {**TINY, "dataset": "digits", "n_test": 40, "N_t_grid": [5, 20]}).params
    spec = H.data_spec(params, 11)
    train = H.train_spec(params)
    first = H.train_teacher(spec, train, 20, 4)
    assert H.train_teacher(spec, train, 20, 4) is first  # memoised within a process
    H.clear_caches()
    second = H.train_teacher(spec, train, 20, 4)
    assert first is not second
    for a, b in zip(first.params, second.params):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("regime")
    fig3 = run_claim("hong2021.fig3", "smoke", out=out, params={**TINY, "N_s_grid": [2, 5], "N_t_grid": [5, 20]})
    table2 = run_claim("hong2021.table2", "smoke", out=out, params={**TINY, "N_t_grid": [5, 20], "N_s": 5,
                                                                    "sigmas": [0.1, 0.5]})
    return out, fig3, table2


def test_tiny_runs_complete_decide_and_draw(tiny_runs):
    out, fig3, table2 = tiny_runs
    for res in (fig3, table2):
        assert res.verdict in VERDICTS  # any verdict: the test pins the run, not the science
        m = res.metrics
        assert m["teacher_regeneration_gap"] == 0.0  # students regenerate exactly the teacher cells' nets
        assert all(0.0 <= e <= 1.0 for e in list(m["E_base"]) + list(m["E_t"]))
        assert draw_figure(res, out) is not None
        assert (out / f"{res.claim}.png").stat().st_size > 0
    assert np.shape(fig3.metrics["E_st_tuned_per_seed"]) == (2, 2, 2)
    assert list(table2.series["paper"]["min_N_t"]) == [200, 300, 500, 700, 800]
    # the tuned lambda is one of the grid, chosen per cell and seed
    assert set(np.ravel(fig3.metrics["lam_tuned_per_seed"])) <= {0.001, 1.0}


def test_one_protocol_identical_settings_give_identical_cells(tiny_runs):
    """Fig. 3's column (N_s=5, sigma=0.5) and Table 2's column sigma=0.5 at N_s=5 are the same cells:
    the same seeds, data and functions give the same numbers to the last bit."""
    _, fig3, table2 = tiny_runs
    f, t = fig3.metrics, table2.metrics
    assert f["E_base_per_seed"][1] == t["E_base_per_seed"][1]
    assert f["E_t_per_seed"] == t["E_t_per_seed"]
    for key in ("E_st_tuned_per_seed", "E_st_paper_per_seed", "lam_tuned_per_seed"):
        assert [row[1] for row in f[key]] == [row[1] for row in t[key]]
    assert t["noise_std"][1] == f["noise_std"]


def test_negative_control_without_the_feature_term_no_teacher_helps():
    """Switch the teacher off (lambda -> 0): the paired students nearly coincide and no cell can be green."""
    off = run_claim("hong2021.table2", "smoke", params={**TINY, "lams": [1e-9], "lam_paper": 1e-9,
                                                        "N_t_grid": [5, 20], "N_s": 5, "sigmas": [0.1, 0.5]})
    E_st = np.asarray(off.metrics["E_st_tuned_per_seed"])
    E_base = np.asarray(off.metrics["E_base_per_seed"])
    # 1e-9 times an O(100) feature term: the students' errors agree far better than delta = 4%
    assert np.max(np.abs(E_st - E_base[None])) < 0.01
    assert "0 green" in off.criteria["some_teacher_helps"].detail
    assert off.criteria["some_teacher_helps"].status != "PASS"


# ------------------------------------------------------------------------------------------------
# refusals: bad parameters, collapsed training, resource estimates
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("claim, override, needle", [
    (FIG3, {"dataset": "mnist"}, "dataset"),
    (FIG3, {"N_t_grid": [20, 10]}, "strictly increasing"),
    (FIG3, {"N_t_grid": [5, 5000]}, "at most 2048"),
    (FIG3, {"dataset": "digits", "n_test": 40, "n_val": 20, "N_t_grid": [5, 500]}, "exceeds the 114 training"),
    (FIG3, {"N_s_grid": [5]}, "at least two"),
    (FIG3, {"lams": [0.0, 1.0]}, "lams"),
    (FIG3, {"lam_paper": 0.5}, "lam_paper"),
    (FIG3, {"seeds": 1}, "seeds"),
    (FIG3, {"hidden": []}, "hidden"),
    (FIG3, {"chance_fraction": 1.5}, "chance_fraction"),
    (TABLE2, {"sigmas": [0.3, 0.1]}, "sigmas"),
    (TABLE2, {"delta": 1.5}, "delta"),
    (TABLE2, {"level": 1.0}, "level"),
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


@pytest.mark.parametrize("claim, lr", [("hong2021.fig3", "1000"), ("hong2021.table2", "1e6")])
def test_collapsed_training_is_an_input_error_naming_lr_not_a_verdict(claim, lr, tmp_path, capsys):
    """Issue 14: a learning rate that kills training gave 'contradicted' (exit 1); it must be exit 2
    naming lr with a remedy."""
    grid = {"N_s_grid": [2, 5]} if claim.endswith("fig3") else {"N_s": 5, "sigmas": [0.1, 0.5]}
    argv = ["check", claim, "--out", str(tmp_path), "--no-progress", "--param", f"lr={lr}",
            "--param", "N_t_grid=[5,20]", *[a for k, v in {**TINY, **grid}.items()
                                              for a in ("--param", f"{k}={v!r}".replace(" ", ""))]]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "lr" in err and "collapse" in err and "lower it" in err and err.count("\n") == 1


def test_collapse_rule_separates_dead_from_small_networks():
    dead = [{"best_step": 0, "majority_share": 1.0, "E_t": 0.9}] * 3
    constant = [{"best_step": 40, "majority_share": 1.0, "E_t": 0.9}] * 3
    small = [{"best_step": 40, "majority_share": 0.2, "E_t": 0.8}] * 3
    assert "initial weights" in H.collapse(dead, 10)
    assert "one class" in H.collapse(constant, 10)
    assert H.collapse(small, 10) is None


@pytest.mark.parametrize("claim, param, value", [
    ("hong2021.fig3", "hidden", "[100000,100000]"),
    ("hong2021.fig3", "n_test", "100000000"),
    ("hong2021.table2", "seeds", "100000000"),
    ("hong2021.fig3", "N_s_grid", "[1,100000000]"),
    ("hong2021.table2", "N_t_grid", "[1,100000000]"),
])
def test_huge_sizes_are_refused_before_anything_is_allocated(claim, param, value, tmp_path, capsys, monkeypatch):
    def boom(*a, **k):  # nothing may be trained or generated
        raise AssertionError("work started")
    monkeypatch.setattr(H, "teacher_cell", boom)
    monkeypatch.setattr(data, "synthetic_teacher_task", boom)
    assert cli.main(["check", claim, "--out", str(tmp_path), "--no-progress", "--param", f"{param}={value}"]) == 2
    err = capsys.readouterr().err
    assert param in err and err.count("\n") == 1


def test_estimate_of_the_default_scale_is_modest():
    for claim in (FIG3, TABLE2):
        e = claim.estimate(claim.scales["default"])
        assert e.peak_bytes < 2 ** 30 and e.work < 1e9
