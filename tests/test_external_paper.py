"""A paper outside the package plugs in through the ``theorycheck.papers`` entry-point group.

The test writes a tiny installed distribution (a package and its ``.dist-info`` with an
``entry_points.txt``, which is what ``pip install`` leaves behind) into a temporary folder, puts it on
``PYTHONPATH`` and drives the real command line in a fresh interpreter: the toy paper is listed,
checked, drawn, reported and documented without a line changed in ``theorycheck/``, and editing its
cell function recomputes its saved cells.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from _plugin_site import write_plugin_site

TOY_INIT = '''
"""A toy paper: the mean of n standard normal draws is within 4 standard errors of 0."""
from theorycheck.registry import Paper

PAPER = Paper(key="toypaper", title="Toy, Example 2026 — A paper outside theorycheck",
              bibtex="@misc{toy2026, title={A paper outside theorycheck}, year={2026}}",
              claim_modules=("toypaper.claims",))
'''

TOY_CELLS = '''
"""The toy paper's sweep cell."""


def draw_cell(cell, rng):
    return {"x": float(rng.standard_normal())}
'''

TOY_CLAIMS = '''
"""The toy paper's one claim."""
import numpy as np

from theorycheck.registry import Claim, Verdict, register
from toypaper.cells import draw_cell


def measure(params, ctx):
    out = ctx.map(draw_cell, [{"i": i} for i in range(params["n"])], stream="draws")
    xs = np.array([o["x"] for o in out])
    return {"metrics": {"mean": float(xs.mean()), "se": float(xs.std(ddof=1) / np.sqrt(len(xs)))},
            "series": {"x": xs.tolist()}}


def verdict(metrics, params, criteria):
    k = criteria["k_se"]
    return Verdict.from_criteria(centred=(abs(metrics["mean"]) <= k * metrics["se"],
                                          f"|mean| {abs(metrics['mean']):.3g} <= {k} SE"))


def figure(result, fig):
    fig.add_subplot().hist(result.series["x"])


register(Claim(id="toypaper.mean", title="The mean of normal draws is near 0",
               statement="Example 1: the sample mean of n draws of N(0, 1) tends to 0.",
               assumptions=("independent draws",), method="n draws; |mean| <= k_se standard errors.",
               scales={"smoke": {"n": 4}, "default": {"n": 40}, "paper": {"n": 400}},
               criteria={"k_se": 4.0}, measure=measure, verdict=verdict, figure=figure,
               key_metrics=("mean",)))
'''


@pytest.fixture
def toy_site(tmp_path):
    return write_plugin_site(tmp_path, "toypaper", init=TOY_INIT, cells=TOY_CELLS, claims=TOY_CLAIMS)


def _run(site, *args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    env.pop("THEORYCHECK_DEBUG", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_an_external_paper_is_listed_checked_drawn_reported_and_recomputed_after_an_edit(toy_site, tmp_path):
    out = tmp_path / "out"
    tc = ["-m", "theorycheck"]
    listed = _run(toy_site, *tc, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "toypaper.mean" in listed.stdout and "hong2021.thm1" in listed.stdout

    first = _run(toy_site, *tc, "check", "toypaper.mean", "--out", str(out), "--no-progress", cwd=tmp_path)
    assert first.returncode in (0, 1, 4), first.stderr  # a verdict, whichever it is
    assert "computed 4 cells" in first.stdout
    again = _run(toy_site, *tc, "check", "toypaper.mean", "--out", str(out), "--no-progress", cwd=tmp_path)
    assert "reused 4 cells" in again.stdout

    # editing the user's cell function (not a line of theorycheck) recomputes its cells
    cells = toy_site / "toypaper" / "cells.py"
    cells.write_text(cells.read_text().replace('"x": float(rng.standard_normal())',
                                               '"x": float(rng.standard_normal()) + 0.0'))
    edited = _run(toy_site, *tc, "check", "toypaper.mean", "--out", str(out), "--no-progress", cwd=tmp_path)
    assert "recomputed 4 (code changed)" in edited.stdout, edited.stdout + edited.stderr

    assert _run(toy_site, *tc, "figure", "toypaper.mean", "--out", str(out), cwd=tmp_path).returncode == 0
    assert (out / "toypaper.mean.png").exists()
    assert _run(toy_site, *tc, "report", "--out", str(out), cwd=tmp_path).returncode == 0
    assert "toypaper.mean" in (out / "report.html").read_text()
    cite = _run(toy_site, *tc, "cite", "toypaper.mean", cwd=tmp_path)
    assert "toy2026" in cite.stdout


def test_an_external_paper_gets_its_docs_page(toy_site, tmp_path):
    ext = Path(__file__).resolve().parent.parent / "docs" / "_ext"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ext)!r})
        from claimpages import paper_page
        from theorycheck.registry import get_paper
        from theorycheck.store import Store
        print(paper_page(get_paper("toypaper"), Store({str(tmp_path / "none")!r})))
    """)
    page = _run(toy_site, "-c", script, cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert "toypaper.mean" in page.stdout and "Example 1" in page.stdout and "k_se = 4.0" in page.stdout


def test_a_broken_external_paper_is_left_out_with_a_warning(toy_site, tmp_path):
    (toy_site / "toypaper" / "claims.py").write_text("raise ImportError('a missing dependency of the plug-in')\n")
    listed = _run(toy_site, "-m", "theorycheck", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "hong2021.thm1" in listed.stdout and "toypaper" not in listed.stdout
    assert "paper 'toypaper' could not be loaded" in listed.stderr
    check = _run(toy_site, "-m", "theorycheck", "check", "toypaper.mean", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert check.returncode == 3 and "a missing dependency of the plug-in" in check.stderr
