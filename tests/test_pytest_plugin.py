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


def _copy_sources(dst):
    """The package's sources without build outputs, results or version control (pip builds in a copy,
    so a read-only checkout works and nothing is written into the repository)."""
    import shutil
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    ignore = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "results", "_build",
                                    ".hypothesis", "*.pyc")
    for name in ("setup.cfg", "pyproject.toml", "README.md", "theorycheck"):
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dst / name)


def test_the_plugin_runs_the_claims_in_a_fresh_venv_with_the_package_installed(tmp_path):
    """Issue #13: `pip install theorycheck` into a new virtual environment, then `pytest --theorycheck=smoke
    -k thm` from an empty folder runs the three theorem claims as test items.

    The venv sees the system's site-packages for the dependencies (numpy, scipy, ...: no download), but
    theorycheck itself is installed into the venv by pip, built from a copy of the sources; the test
    checks that the venv's copy is the one imported.
    """
    import xml.etree.ElementTree as ET
    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    src.mkdir(), work.mkdir()
    _copy_sources(src)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV"))}
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                          str(src)], env=env, capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    where = subprocess.run([python, "-c", "import theorycheck; print(theorycheck.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    run = subprocess.run([python, "-m", "pytest", "--theorycheck=smoke", "-k", "thm", "-p", "no:cacheprovider",
                          "-q", "--junitxml", str(tmp_path / "junit.xml")],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    # The verdicts are the experiments' business: the test asks only that each claim ran as a test item
    # and ended as a pass, a failure with its criteria, or a skip (INCONCLUSIVE) -- never an error.
    assert run.returncode in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), run.stdout + run.stderr
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    ran = {case.get("name"): [child.tag for child in case] for case in cases}
    assert sorted(ran) == ["hong2021.thm1", "hong2021.thm2", "hong2021.thm3"], run.stdout
    assert not any("error" in tags for tags in ran.values()), run.stdout
    assert (work / "results" / "smoke" / "hong2021.thm1.json").exists()
