"""Hostile input, generated: the command line answers 0, 1, 2 or 4 with at most one line of error and
never an internal error (3) or a traceback; the public API raises a named error or returns finite
numbers.

Hypothesis draws the inputs. The default profile tries a few dozen per test (CI);
``THEORYCHECK_FUZZ=heavy`` multiplies them by ten for a hunt by hand.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from theorycheck import cli
from theorycheck.errors import InputError
from theorycheck.registry import list_claims

HEAVY = os.environ.get("THEORYCHECK_FUZZ") == "heavy"
CLI_EXAMPLES = 400 if HEAVY else 40
API_EXAMPLES = 500 if HEAVY else 50
FUZZ = settings(max_examples=CLI_EXAMPLES, deadline=None, derandomize=not HEAVY, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

CLAIMS = {c.id: c for c in list_claims()}

#: values a careless or hostile user types (numbers at the edges of float64, wrong types, nesting)
HOSTILE = st.one_of(
    st.sampled_from([0, -1, 1, 2 ** 63, -2 ** 63, 10 ** 12, 1e300, -1e300, 1e-300, float("nan"), float("inf"),
                     -float("inf"), 0.5, True, None, "", "x", "nan", [], [0], [-1.0], [1e300], [[1]], {}, {"a": 1},
                     "1e999", "()", "[1,", "__import__('os')"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.text(max_size=12),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
)


def _param_text(value) -> str:
    return value if isinstance(value, str) else repr(value)


def _assert_clean(code: int, err: str) -> None:
    assert code in (0, 1, 2, 4), f"exit {code}: {err}"
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        lines = [line for line in err.splitlines() if not line.startswith("theorycheck: warning:")]
        assert len(lines) == 1, err


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


#: claims whose smoke run takes about a second: a hostile value they accept is run for real
FAST = {"hong2021.thm1", "hong2021.thm2", "ji2020.effective_logit", "ji2020.imperfect_teacher",
        "ji2020.risk_bound", "ji2020.linearisation"}


def _input_layer_only(claim, scale, ctx, overrides=None, memory_budget=None):
    """``runner.evaluate`` up to the point where hostile input must have been caught (validation and the
    resource estimate), then a stand-in result: used for the claims too slow to run per example."""
    from theorycheck import runner
    from theorycheck.limits import check_estimate
    resolved = runner.resolve(claim, scale, overrides)
    if claim.estimate is not None:
        check_estimate(claim.id, claim.estimate(resolved.params), ctx.jobs, memory_budget)
    return runner.Result(claim=claim.id, paper=claim.paper, title=claim.title, statement=claim.statement,
                         scale=scale, verdict="INCONCLUSIVE", criteria={}, metrics={}, series={},
                         params=resolved.params, criteria_values=resolved.criteria,
                         exploratory=resolved.exploratory, seed=ctx.seed, backend="numpy",
                         backend_requested="numpy", elapsed_s=0.0, cells=dict(ctx.stats), versions={})


@FUZZ
@given(claim=st.sampled_from(sorted(CLAIMS)), data=st.data())
def test_a_hostile_parameter_is_refused_or_checked_never_an_internal_error(claim, data, out, capsys):
    """One parameter (or criterion) of a claim set to a hostile value. The fast claims run for real
    (within a 2 GiB memory budget); the others are taken through validation and their resource
    estimate, where a hostile value must be caught, without the hours a value at the edge could ask."""
    from theorycheck import runner
    c = CLAIMS[claim]
    key = data.draw(st.sampled_from(sorted([*c.scales["smoke"], *c.criteria])), label="key")
    value = data.draw(HOSTILE, label="value")
    with pytest.MonkeyPatch.context() as mp:
        if claim not in FAST:
            mp.setattr(runner, "evaluate", _input_layer_only)
        code = cli.main(["check", claim, "--out", str(out), "--no-progress", "-q", "--memory-budget", "2G",
                         "--param", f"{key}={_param_text(value)}"])
    _assert_clean(code, capsys.readouterr().err)


OPTION_VALUES = {
    "--scale": st.sampled_from(["smoke", "huge", "", "/tmp/x", "SMOKE", "paper "]),
    "--jobs": st.one_of(st.integers(-5, 10 ** 6).map(str), st.sampled_from(["x", "1.5", ""])),
    "--seed": st.one_of(st.integers(-2 ** 65, 2 ** 65).map(str), st.sampled_from(["x", "1e3"])),
    "--backend": st.sampled_from(["numpy", "cupy", "torch", ""]),
    "--scheduler": st.sampled_from(["bogus", "tcp://", "udp://1.2.3.4:1", ""]),
    "--memory-budget": st.sampled_from(["1G", "0", "-1", "nan", "inf", "x", "1e-9", ""]),
    "--out": st.sampled_from(["", "/dev/null", "/proc/x", "/", "a" * 300]),
}


@FUZZ
@given(option=st.sampled_from(sorted(OPTION_VALUES)), data=st.data())
def test_a_hostile_option_is_refused_in_one_line_never_an_internal_error(option, data, capsys, tmp_path_factory,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    value = data.draw(OPTION_VALUES[option], label="value")
    argv = ["check", "ji2020.effective_logit", "--no-progress", "-q", option, value]
    if option != "--out":
        argv += ["--out", str(tmp_path_factory.mktemp("o"))]
    code = cli.main(argv)
    _assert_clean(code, capsys.readouterr().err)


@FUZZ
@given(argv=st.lists(st.sampled_from(["list", "check", "run", "figure", "report", "bench", "cite", "--paper",
                                      "nosuch", "hong2021", "--scale", "x", "--param", "=", "a=b", ":=1",
                                      "hong2021.thm9", "-q", "-v", "--strict", "--json", "--help-me"]),
                     min_size=1, max_size=5))
def test_any_word_salad_on_the_command_line_is_a_clean_exit(argv, capsys, tmp_path_factory, monkeypatch):
    if argv[0] in ("run", "check") and not {"x", "nosuch", "=", "a=b", ":=1", "hong2021.thm9", "--help-me",
                                             "--json", "hong2021", "--paper", "--param"} & set(argv[1:]):
        argv = argv + ["--scale", "x"]  # never start a whole run from a salad
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    code = cli.main(argv)
    _assert_clean(code, capsys.readouterr().err)


# ------------------------------------------------------------------------------------------ API
API_FUZZ = settings(max_examples=API_EXAMPLES, deadline=None, derandomize=not HEAVY, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

ARRAYS = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=6),
    st.just([]), st.just([[1.0, np.nan]]), st.just(np.full(3, np.inf)), st.just(np.zeros((0, 2))),
)


def _api_calls():
    from theorycheck import stats
    return {
        "stats.t_interval": lambda a: stats.t_interval(a),
        "stats.loglog_fit": lambda a: stats.loglog_fit(np.arange(1, len(np.ravel(a)) + 1), a),
        "stats.spearman": lambda a: stats.spearman(a, np.arange(len(np.ravel(a)))),
        "stats.mean_std": lambda a: stats.mean_std(a),
        "stats.paired": lambda a: stats.paired(a, np.zeros_like(np.asarray(a, dtype=float))),
    }


@API_FUZZ
@given(name=st.sampled_from(sorted(_api_calls())), a=ARRAYS)
def test_the_public_statistics_raise_a_named_error_or_return_finite_numbers(name, a):
    try:
        with np.errstate(all="raise"):
            out = _api_calls()[name](a)
    except InputError:
        return
    values = [out] if np.isscalar(out) else [v for v in np.ravel(np.asarray(
        [getattr(out, f) for f in ("estimate", "low", "high", "slope", "slope_se")
         if hasattr(out, f)] if not isinstance(out, tuple) else out, dtype=float))]
    assert all(math.isfinite(float(v)) for v in values), (name, a, out)
