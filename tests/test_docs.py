"""The documentation builds with warnings as errors, offline, without writing into docs/.

One build, with the session's smoke results (shared with the figure and report tests): the landing
page's verdict table, one page per paper with figures and rendered math, the gallery, the notebooks
(not executed here: the test suite executes them with nbmake) and the API reference.
"""

import sys
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

from _smoke import all_smoke_results

DOCS = Path(__file__).resolve().parent.parent / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import claimpages  # noqa: E402


def _sources():
    """Every file under docs/ with its size and modification time (bytecode caches aside)."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in DOCS.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    results, _ = all_smoke_results(tmp_path_factory)
    out = tmp_path_factory.mktemp("docs") / "html"
    before = _sources()
    code = build_main(["-W", "--keep-going", "-q", "-b", "html", "-D", "nb_execution_mode=off",
                       "-D", f"theorycheck_results={results}", str(DOCS), str(out)])
    assert code == 0
    assert _sources() == before, "the docs build wrote into docs/"
    return out


def test_landing_page_has_the_quick_start_and_the_verdict_table(built):
    index = (built / "index.html").read_text()
    assert "theorycheck run" in index and "python -m pytest" in index
    assert "hong2021.thm1" in index and 'class="tc-verdict tc-' in index
    assert index.count("papers/hong2021.html#claim-") >= 7  # every claim links to its section
    assert "atomic_write" not in index  # the API's names stay on the API pages


def test_paper_pages_have_statements_with_math_criteria_numbers_and_figures(built):
    page = (built / "papers" / "hong2021.html").read_text()
    assert 'id="claim-hong2021-thm1"' in page  # the anchor the report links to
    assert "the paper says" in page and "Thresholds and tolerances" in page and "Measured numbers" in page
    assert '<span class="math notranslate nohighlight">' in page  # statements' $...$ as MathJax math
    assert page.count("<img") >= 7 and "_images/hong2021.thm1.png" in page


def test_math_is_rendered_by_a_bundled_mathjax(built):
    page = (built / "papers" / "hong2021.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js"' in page and "cdn.jsdelivr" not in page
    assert (built / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert (built / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_gallery_notebooks_and_api_pages(built):
    gallery = (built / "gallery.html").read_text()
    assert gallery.count("<img") >= 17
    notebooks = sorted(p.stem for p in (built / "notebooks").glob("*.html") if p.stem != "index")
    assert notebooks == sorted(p.stem for p in (DOCS.parent / "notebooks").glob("*.ipynb"))
    assert (built / "api" / "theorycheck.plots.html").exists() and (built / "api" / "theorycheck.report.html").exists()
    assert "--backend" in (built / "usage.html").read_text()  # no smart dashes


def test_pages_without_results_say_how_to_make_them():
    from theorycheck.registry import get_paper
    assert "No saved results" in " ".join(claimpages.verdict_table({}, Path("results/smoke")))
    assert "No saved result yet" in claimpages.paper_page(get_paper("ji2020"), {}, {}, {})
    assert "No saved results" in claimpages.gallery_page([get_paper("ji2020")], {}, {})


def test_claim_texts_become_safe_restructuredtext():
    assert claimpages.rst_inline("a *b* |c| d_ `e`") == r"a \*b\* \|c\| d\_ \`e\`"
    assert claimpages.rst_inline(r"gap$/\delta$s and ``x_1``. ($a$)") == r"gap\ :math:`/\delta`\ s and ``x_1``. (:math:`a`)"
    assert claimpages.rst_paragraphs("- not a list")[0].startswith("\\-")
