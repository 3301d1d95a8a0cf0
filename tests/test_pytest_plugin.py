"""The pytest plug-in: `pytest --theorycheck=SCALE` turns every registered claim into a test item."""

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import scipy  # noqa: F401  imported here: the in-process pytester runs must not import C extensions anew
import sklearn  # noqa: F401

from theorycheck import registry
from theorycheck.registry import Claim, Paper, Verdict

pytest_plugins = ["pytester"]


def _measure(params, ctx):
    return {"metrics": {"value": float(params["value"])}, "series": {}}


def _verdict(metrics, params, criteria):
    v = metrics["value"]
    status = "PASS" if v > 1 else "FAIL" if v < 0 else "INCONCLUSIVE"
    return Verdict.from_criteria(positive=(status, f"value {v:g} against the band [0, 1]"),
                                 finite=(True, "value is finite"))


def _claim(item, value):
    return Claim(id=f"ptoy.{item}", title=f"toy {item}", statement="a toy", assumptions=("none",), method="m",
                 scales={s: {"value": value} for s in registry.SCALES}, measure=_measure, verdict=_verdict,
                 key_metrics=("value",), tags=("toytag",))


PAPER = Paper(key="ptoy", title="Plug-in toy 2026", bibtex="@misc{ptoy}", claim_modules=())
CLAIMS = [_claim("passes", 2.0), _claim("fails", -1.0), _claim("unsure", 0.5)]


@pytest.fixture
def toy_claims():
    with registry.registered(PAPER, *CLAIMS):
        yield CLAIMS


def test_plugin_is_registered_as_a_pytest11_entry_point():
    assert any(ep.name == "theorycheck" and ep.value == "theorycheck.pytest_plugin"
               for ep in entry_points(group="pytest11"))


def test_plugin_is_off_unless_asked(pytester, toy_claims):
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not (pytester.path / "results").exists()


def test_pass_passes_fail_fails_with_its_criteria_and_inconclusive_is_skipped(pytester, toy_claims, tmp_path):
    out = tmp_path / "out"
    result = pytester.runpytest("-p", "no:cacheprovider", "--theorycheck=smoke", "-k", "ptoy", "-rs",
                                "--theorycheck-out", str(out), "--theorycheck-seed", "7")
    result.assert_outcomes(passed=1, failed=1, skipped=1, deselected=len(registry.list_claims()) - 3)
    result.stdout.fnmatch_lines([
        "*ptoy.fails FAILS at the smoke scale (seed 7):*",
        "*positive: value -1 against the band [[]0, 1[]]*",
        "*SKIPPED*ptoy.unsure is INCONCLUSIVE at the smoke scale: positive: value 0.5 against the band*",
    ])
    assert "finite" not in result.stdout.str().split("FAILS at the smoke scale")[1].split("short test summary")[0]
    saved = json.loads((out / "ptoy.passes.json").read_text())
    assert (saved["verdict"], saved["seed"], saved["scale"]) == ("PASS", 7, "smoke")


def test_k_selects_claims_by_id_paper_and_tag_and_results_go_to_results_scale(pytester, toy_claims):
    result = pytester.runpytest("-p", "no:cacheprovider", "--theorycheck=smoke", "-k", "ptoy and passes", "-v")
    result.assert_outcomes(passed=1, deselected=len(registry.list_claims()) - 1)
    result.stdout.fnmatch_lines(["*theorycheck::ptoy.passes PASSED*"])
    assert (pytester.path / "results" / "smoke" / "ptoy.passes.json").exists()
    by_tag = pytester.runpytest("-p", "no:cacheprovider", "--theorycheck=default", "-k", "toytag and not fails "
                                "and not unsure", "--collect-only", "-q")
    by_tag.stdout.fnmatch_lines(["theorycheck::ptoy.passes", "1/* tests collected*"])


def test_a_bad_scale_is_refused(pytester):
    result = pytester.runpytest("-p", "no:cacheprovider", "--theorycheck=huge")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--theorycheck: invalid choice: 'huge'*"])


def test_installed_claims_run_as_tests_from_an_empty_folder_with_pyargs(tmp_path):
    """What a user types after `pip install theorycheck`: no test files, no conftest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "theorycheck", "--theorycheck=smoke",
                          "-k", "thm2", "-p", "no:cacheprovider", "-q"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout and "deselected" in run.stdout
    assert (tmp_path / "results" / "smoke" / "hong2021.thm2.json").exists()
