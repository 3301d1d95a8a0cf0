"""The HTML report: built from its template, grouped by paper, math typeset offline, everything
escaped, unreadable results skipped with a warning, an empty folder refused."""

import json
import re
import shutil

import pytest

from theorycheck import registry, run_claim
from theorycheck.errors import InputError
from theorycheck.registry import Claim, Metric, Paper, Verdict
from theorycheck.report import MathSVG, render_tex, tex_to_svg, write_report

from _smoke import smoke_result

EVIL = "<script>alert('x')</script>"


def _measure(params, ctx):
    return {"metrics": {"gap": float(params["gap"]), "extra": [1.0, 2.0]}, "series": {"y": [1.0, 2.0, 4.0]}}


def _verdict(metrics, params, criteria):
    g = metrics["gap"]
    status = "PASS" if g < criteria["tol"] else "FAIL" if g > 1 else "INCONCLUSIVE"
    return Verdict.from_criteria(small=(status, f"gap {g:g} against $\\delta = {criteria['tol']}$ {EVIL}",
                                        f"Theorem 1: the gap is at most $C\\delta$ {EVIL}"))


def _figure(result, fig):
    ax = fig.add_subplot()
    ax.plot(result.series["y"], "o-")


def _broken_figure(result, fig):
    raise KeyError("a series this old result does not have")


def _claim(item, gap, figure=_figure):
    return Claim(id=f"rtoy.{item}", title=f"Theorem 1 ($\\delta \\to 0$): {item} {EVIL}",
                 statement=f"For $\\mathbb E\\|W\\|_F \\le \\tfrac12$ the gap is $O(\\delta)$. {EVIL}",
                 assumptions=("$\\lambda > 0$",), method="closed form; ``ctx.map`` not used",
                 scales={s: {"gap": gap} for s in registry.SCALES}, criteria={"tol": 0.5},
                 measure=_measure, verdict=_verdict, figure=figure, key_metrics=("gap",),
                 metrics={"gap": Metric("distance $\\|W^{base} - W^{st}\\|_F$ at the smallest $\\delta$", "nats",
                                        "$\\|\\Delta W\\|$")},
                 scale_note="smoke: tiny.")


PAPER = Paper(key="rtoy", title=f"Report toy 2026 {EVIL}", bibtex="@misc{rtoy}", claim_modules=())
CLAIMS = [_claim("passes", 0.1), _claim("fails", 2.0), _claim("unsure", 0.7, figure=_broken_figure)]


@pytest.fixture
def toy_claims():
    with registry.registered(PAPER, *CLAIMS):
        yield CLAIMS


@pytest.fixture
def toy_out(toy_claims, tmp_path):
    out = tmp_path / "smoke"
    for c in toy_claims:
        run_claim(c.id, "smoke", out=out, seed=5)
    return out


def test_an_empty_folder_is_an_input_error_naming_the_command_to_run(tmp_path):
    with pytest.raises(InputError, match=r"has no saved results; run `theorycheck check --scale smoke --out .*smoke` first") as err:
        write_report(tmp_path / "smoke")
    assert err.value.param == "--out"
    with pytest.raises(InputError, match=r"run `theorycheck check --scale paper --out .*elsewhere` first"):
        write_report(tmp_path / "elsewhere", scale="paper")
    assert not (tmp_path / "smoke" / "report.html").exists()


def test_report_groups_by_paper_and_shows_statement_criteria_figure_numbers_and_run(toy_out, tmp_path, capsys):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    (nb_dir / "rtoy_passes_demo.ipynb").write_text(json.dumps({"cells": []}))
    (nb_dir / "rtoy_other.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["run_claim('rtoy.fails')"]}]}))
    page = write_report(toy_out, docs_url="https://docs.example/tc", notebooks_dir=nb_dir).read_text()
    assert page.startswith("<!doctype html>")
    section = page[page.index('id="paper-rtoy"'):]
    for c in CLAIMS:
        assert f'id="{c.id}" data-verdict=' in section
    assert 'data-verdict="PASS"' in page and 'data-verdict="FAIL"' in page and 'data-verdict="INCONCLUSIVE"' in page
    # the filter: one button per verdict with its count, and the script that hides the others
    assert re.search(r'data-filter="FAIL"[^>]*>.*?</span> 1</button>', page)
    assert "el.hidden = verdict !== \"ALL\"" in page
    # criteria as "the paper says | measured | verdict", with math typeset as SVG
    assert "<th>the paper says</th><th>measured</th><th>verdict</th>" in page
    assert "Theorem 1: the gap is at most" in page and 'class="math"' in page and "<use href=" in page
    # key numbers with meaning and unit
    assert "nats" in page and "at the smallest" in page
    # the run: seed, parameters, criteria values, backend, cells, versions and code hashes
    assert "<dt>seed</dt><dd>5</dd>" in page and "<code>gap=0.1</code>" in page and "<code>tol=0.5</code>" in page
    assert "<dt>backend</dt><dd>numpy" in page and "numpy " in page and "no sweep cells" in page
    # the figure, embedded, with its files beside the page
    assert "data:image/svg+xml;base64," in page
    assert all((toy_out / f"rtoy.passes.{ext}").exists() for ext in ("png", "pdf", "svg"))
    # a figure that cannot be drawn is reported, not fatal
    assert "could not be drawn" in page and "could not be drawn" in capsys.readouterr().err
    # links: docs page and notebooks (by name or by use of the claim's id)
    assert 'href="https://docs.example/tc/papers/rtoy.html#claim-rtoy-passes"' in page
    assert "rtoy_passes_demo.ipynb" in page.split('id="rtoy.passes"')[1].split("</article>")[0]
    assert "rtoy_other.ipynb" in page.split('id="rtoy.fails"')[1].split("</article>")[0]


def test_a_rerun_from_saved_cells_shows_the_compute_time_they_took_and_criteria_in_words(toy_out):
    path = toy_out / "rtoy.passes.json"
    saved = json.loads(path.read_text())
    saved.update(elapsed_s=0.02, cells={"run": 0, "reused": 7, "recomputed": 0, "seconds": 83.0})
    path.write_text(json.dumps(saved))
    article = write_report(toy_out).read_text().split('id="rtoy.passes"')[1].split("</article>")[0]
    assert "1 min 23 s (reused)" in article
    assert "0.0 s in this run, which reused 7 saved cells; the cells took 1 min 23 s of compute" in article
    assert "<td>small</td>" in article  # the criterion's name, not an identifier in code font

def test_everything_from_claims_and_results_is_escaped(toy_out):
    page = write_report(toy_out).read_text()
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own filter script only


def test_an_unreadable_result_is_skipped_with_a_warning_on_the_page_and_stderr(toy_out, capsys):
    (toy_out / "rtoy.fails.json").write_text("{not json")
    bad = json.loads((toy_out / "rtoy.unsure.json").read_text())
    del bad["verdict"]
    (toy_out / "rtoy.unsure.json").write_text(json.dumps(bad))
    page = write_report(toy_out).read_text()
    err = capsys.readouterr().err
    for name in ("rtoy.fails.json", "rtoy.unsure.json"):
        assert name in err and f"{name} skipped" in page
    assert "field &#39;verdict&#39; is missing" in page
    assert 'id="rtoy.passes"' in page and 'id="rtoy.fails"' not in page
    for c in CLAIMS:
        (toy_out / f"{c.id}.json").write_text("[]")
    with pytest.raises(InputError, match="has no saved results"):
        write_report(toy_out)


def test_math_is_typeset_offline_as_svg_and_unknown_latex_falls_back_to_its_source():
    svg = tex_to_svg(r"\mathbb E\|f(x)-p^*(x)\|_1 \le \tfrac12")
    assert svg.startswith("<svg") and "<path" in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    problems = []
    html = render_tex(r"a $\frac1N\sum_i x_i$ and $\notacommand{x}$ <b>", MathSVG(), problems)
    assert html.count('class="math"') == 1 and r"<code class=\"tex\">" not in html
    assert '<code class="tex">$\\notacommand{x}$</code>' in html and "&lt;b&gt;" in html
    assert problems == [r"\notacommand{x}"]
    assert render_tex(":math:`p^*` and ``code``").count("<svg") == 1 and "<code>code</code>" in render_tex("``code``")


def test_every_registered_claim_text_typesets():
    """Statements, titles, assumptions, methods, scale notes and metric meanings of every claim:
    each formula must typeset for the report (else it shows as LaTeX source)."""
    math, problems = MathSVG(), []
    for c in registry.list_claims():
        texts = [c.title, c.statement, c.method, c.scale_note, *c.assumptions]
        texts += [t for m in c.metrics.values() for t in (m.meaning, m.unit, m.label)]
        for t in texts:
            render_tex(t, math, problems)
    assert not problems, f"formulas mathtext cannot typeset: {sorted(set(problems))}"


def test_every_claims_criteria_texts_typeset_and_read_plainly_in_the_terminal(tmp_path_factory):
    """The criteria texts are written when a verdict is decided: decide each claim's verdict again from
    its smoke result and typeset every "measured" and "the paper says" text (the report's math), and
    check the terminal's plain version keeps no TeX."""
    from _smoke import all_smoke_results
    from theorycheck.registry import get_claim
    from theorycheck.tex_plain import tex_to_plain
    _, results = all_smoke_results(tmp_path_factory)
    math, problems, leftovers = MathSVG(), [], []
    for cid, result in results.items():
        verdict = get_claim(cid).verdict(dict(result.metrics), dict(result.params), dict(result.criteria_values))
        for name, outcome in verdict.criteria.items():
            for text in (outcome.text, outcome.paper or ""):
                render_tex(text, math, problems)
                if "\\" in tex_to_plain(text) or "$" in tex_to_plain(text):
                    leftovers.append(f"{cid} {name}: {tex_to_plain(text)}")
    assert not problems, f"formulas mathtext cannot typeset: {sorted(set(problems))}"
    assert not leftovers, "\n".join(leftovers)

def test_report_of_real_claims(tmp_path_factory, tmp_path):
    from _smoke import smoke_out
    for cid in ("hong2021.thm2", "ji2020.effective_logit"):
        smoke_result(cid, tmp_path_factory)
        shutil.copy(smoke_out(tmp_path_factory) / f"{cid}.json", tmp_path / f"{cid}.json")
    page = write_report(tmp_path).read_text()
    assert 'id="paper-hong2021"' in page and 'id="paper-ji2020"' in page
    assert page.count('<article class="claim"') == 2
    assert "Skipped or incomplete" not in page


def test_ctrl_c_during_report_keeps_the_previous_page_and_leaves_no_half_written_file(tmp_path_factory, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from _smoke import all_smoke_results
    folder, _ = all_smoke_results(tmp_path_factory)
    for saved in folder.glob("*.json"):
        shutil.copy(saved, tmp_path / saved.name)
    (tmp_path / "report.html").write_text("the previous report")
    proc = subprocess.Popen([sys.executable, "-m", "theorycheck", "report", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not list(tmp_path.glob("*.png")):
        time.sleep(0.05)
    assert proc.poll() is None, "the report finished before the first figure was seen"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, err  # ended by Ctrl-C's signal, after the cleanup
    assert "Traceback" not in err and "report.html is left as it was" in err, err
    assert (tmp_path / "report.html").read_text() == "the previous report"
    assert not list(tmp_path.rglob(".*.tmp")), "a half-written file was left behind"
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{png.name} is cut short"


def test_a_result_shows_its_criteria_in_a_notebook_with_math_and_in_a_terminal_without(toy_out):
    from theorycheck.runner import load_result
    result = load_result("rtoy.passes", toy_out)
    markdown = result._repr_markdown_()
    assert markdown.startswith("**rtoy.passes**: **PASS** at the smoke scale, seed 5")
    assert "- *small*: **PASS**. gap 0.1 against $\\delta = 0.5$" in markdown
    assert "*The paper says:* Theorem 1: the gap is at most $C\\delta$" in markdown
    plain = str(result)
    assert "pass: small: gap 0.1 against δ = 0.5" in plain and "$" not in plain.replace(EVIL, "")
