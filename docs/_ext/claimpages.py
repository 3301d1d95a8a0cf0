"""Sphinx extension: the pages generated from the claim registry and the saved results.

Generated pages go to the build directory, never into ``docs/``
----------------------------------------------------------------
Sphinx reads every document from one source directory. Pages made at build time (one per paper, the
figure gallery, the notebooks, autosummary's API pages) would have to be written into ``docs/``,
which fails on a read-only checkout and leaves generated files beside the sources. Instead, when the
configuration is read (``config-inited``, before Sphinx looks for documents) this extension builds
a *source overlay* inside the build's doctree directory (``<doctreedir>/_theorycheck_sources``): a
copy of ``docs/`` (files rewritten only when they change, so incremental builds stay incremental)
plus the generated pages, the figures and the notebooks, and points Sphinx's source directory at
it. ``conf.py`` and its paths stay where they are (``confdir``). Nothing is written outside the
output folders given to ``sphinx-build``.

What is generated
-----------------
* ``papers/<key>``: one page per installed paper (the ``theorycheck.papers`` entry points, so a
  paper from another package gets its page too). Each claim: statement (math rendered), assumptions,
  how it is checked, thresholds fixed before the run, its measured numbers with meaning and unit,
  and, when a saved result is there, its verdict, its criteria as "the paper says | measured |
  verdict" and its figure, plus links to its notebooks.
* ``gallery``: every figure.
* ``notebooks/``: the repository's notebooks, rendered by myst-nb with their outputs (executed at
  build time and cached in the build directory; ``-D nb_execution_mode=off`` skips execution).
* The directive ``.. theorycheck-verdicts::`` (used on the landing page): the verdict table.

Results are read from ``theorycheck_results`` (``$THEORYCHECK_DOCS_RESULTS``, default
``results/smoke`` beside ``docs/``, written by ``theorycheck run``). A figure is copied from there
when its PNG is newer than its result, else drawn from the result into the overlay.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

OVERLAY = "_theorycheck_sources"
#: Names in docs/ that the overlay generates (a stale copy left in docs/ by an older build is ignored).
GENERATED = {"papers", "api", "notebooks", "gallery.rst", "_build"}


# -- reStructuredText from the toolkit's texts -----------------------------------------------------

_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$|:math:`([^`]+)`|``(.+?)``")
_RST_SPECIAL = re.compile(r"([\\*`|_])")


def rst_inline(text) -> str:
    """One line of reStructuredText for a claim's text: ``$...$`` becomes ``:math:``, ````code````
    stays literal, everything else is escaped (no accidental emphasis, references or roles)."""
    text = " ".join(str(text or "").split())
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(_escape(text[pos:m.start()]))
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if m.group(3) is not None:
            markup = f"``{m.group(3)}``"
        else:
            markup = f":math:`{(m.group(1) or m.group(2)).strip().replace('`', chr(39))}`"
        # inline markup must start after a space or opening punctuation and end before a space or
        # closing punctuation; an escaped space (removed from the output) separates it otherwise
        out.append(("" if before in _OPENERS else "\\ ") + markup + ("" if after in _CLOSERS else "\\ "))
        pos = m.end()
    out.append(_escape(text[pos:]))
    return "".join(out).strip() or "\\ "


_OPENERS = set(" -:/'\"<([{")
_CLOSERS = set(" -.,:;!?\\/'\")]}>")


def _escape(text: str) -> str:
    return _RST_SPECIAL.sub(r"\\\1", text.replace("\\$", "$"))


def rst_paragraphs(text) -> list[str]:
    """Paragraphs (blank-line separated in ``text``) as reStructuredText lines."""
    lines = []
    for para in re.split(r"\n\s*\n", str(text or "").strip()):
        if para.strip():
            line = rst_inline(para)
            if re.match(r"^([-+*#]|\d+[.)]|\(\w\)|\.\.)\s", line):  # not a list or a directive
                line = "\\" + line
            lines += [line, ""]
    return lines


def _title(text: str, char: str) -> list[str]:
    return [text, char * max(len(text), 4), ""]


def _table(header, rows, widths=None) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :class: tc-table"]
    if widths:
        lines.append("   :widths: " + " ".join(str(w) for w in widths))
    lines.append("")
    for row in [header, *rows]:
        for k, cell in enumerate(row):
            lines.append(("   * - " if k == 0 else "     - ") + (cell if cell.strip() else "\\ "))
    return lines + [""]


def _value(v) -> str:
    from theorycheck.report import format_metric
    return rst_inline(format_metric(v))


def _unit(u: str) -> str:
    return "" if u in ("", "1") else rst_inline(u)


def claim_label(claim_id: str) -> str:
    """The label of a claim's section (its HTML id is the same, as the report links it)."""
    from theorycheck.report import docs_anchor
    return docs_anchor(claim_id)


# -- results and figures ---------------------------------------------------------------------------

def _results_dir(app) -> Path:
    configured = app.config.theorycheck_results or os.environ.get("THEORYCHECK_DOCS_RESULTS")
    return Path(configured) if configured else Path(app.confdir).parent / "results" / "smoke"


def _configured_results(config) -> Path:
    """The results folder, as :func:`build_overlay` resolved it into the configuration."""
    return Path(config.theorycheck_results)


def load_results(folder: Path) -> dict:
    """``claim id -> Result`` of every readable result of a registered claim in ``folder``."""
    from theorycheck.errors import InputError
    from theorycheck.registry import list_claims
    from theorycheck.runner import load_result
    from theorycheck.store import Store

    known = {c.id for c in list_claims()}
    found = {}
    for cid in Store(folder).saved_ids():
        if cid in known:
            try:
                found[cid] = load_result(cid, folder)
            except InputError as exc:
                logger.info(f"theorycheck docs: {exc}; left out")
    return found


def _figure(result, results: Path, target: Path) -> bool:
    """Put ``result``'s figure at ``target`` (copied if saved and up to date, else drawn)."""
    from theorycheck import plots
    from theorycheck.store import Store

    saved, json_path = Store(results).figure_path(result.claim, "png"), Store(results).result_path(result.claim)
    if saved.exists() and saved.stat().st_mtime >= json_path.stat().st_mtime:
        _copy(saved, target)
        return True
    try:
        fig = plots.draw_figure(result)
    except Exception as exc:  # a stale result the figure function cannot read: no figure, no crash
        logger.info(f"theorycheck docs: the figure of {result.claim} could not be drawn ({exc})")
        return False
    if fig is None:
        return False
    data = plots.png_bytes(fig, dpi=200)
    if not target.exists() or target.read_bytes() != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return True


# -- pages -----------------------------------------------------------------------------------------

def paper_page(paper, results=None, figures: dict | None = None, notebooks: dict | None = None) -> str:
    """The reStructuredText page of ``paper``: every claim with its statement, criteria, numbers,
    figure and notebooks.

    ``results`` maps claim ids to saved results (or is a :class:`~theorycheck.store.Store` to read
    them from), ``figures`` maps claim ids to image paths relative to the page, ``notebooks`` claim
    ids to notebook names.
    """
    from theorycheck.registry import list_claims
    from theorycheck.store import Store

    if isinstance(results, Store):
        results = load_results(results.root)
    results, figures, notebooks = results or {}, figures or {}, notebooks or {}

    lines = [f".. _paper-{paper.key}:", "", *_title(rst_inline(paper.title), "="),
             "The claims of this paper that theorycheck checks, each with the numbers that decide it. "
             "Statements quote or paraphrase the paper; where the check reconstructs a detail the paper "
             "does not give, the claim says so.", ""]
    for c in list_claims(paper.key):
        res = results.get(c.id)
        lines += [f".. _{claim_label(c.id)}:", "", *_title(f"``{c.id}``: {rst_inline(c.title)}", "-")]
        if res is not None:
            lines += [f"Verdict at the {res.scale} scale: :verdict:`{res.verdict}` (seed {res.seed}"
                      + (", exploratory" if res.exploratory else "") + ").", ""]
        lines += [".. rst-class:: tc-statement", "", *rst_paragraphs(c.statement)]
        if res is not None and res.criteria:
            lines += [f"**Criteria**, as decided at the {res.scale} scale:", ""]
            lines += _table(["criterion", "the paper says", "measured", "verdict"],
                            [[rst_inline(k.replace("_", " ")), rst_inline(o.paper) if o.paper else "*not quoted*",
                              rst_inline(o.detail), f":verdict:`{o.status}`"] for k, o in res.criteria.items()],
                            [14, 30, 46, 10])
        if c.id in figures:
            lines += [f".. figure:: {figures[c.id]}", f"   :alt: figure of {c.id}", "   :width: 100%", "",
                      f"   Drawn from the saved {res.scale} result (seed {res.seed}).", ""]
        elif res is None:
            lines += ["*No saved result yet: run* ``theorycheck run`` *and rebuild the docs to show the "
                      "verdict, the measured numbers and the figure.*", ""]
        if c.metrics:
            header = ["quantity", "meaning", "unit"] + ([f"{res.scale} value"] if res is not None else [])
            rows = []
            for name, m in c.metrics.items():
                row = [rst_inline(m.label or name) + (" (key)" if name in c.key_metrics else ""),
                       rst_inline(m.meaning), _unit(m.unit)]
                if res is not None:
                    row.append(_value(res.metrics[name]) if name in res.metrics else "")
                rows.append(row)
            lines += ["**Measured numbers.**", "", *_table(header, rows, [18, 52, 12, 18][:len(header)])]
        lines += ["**How it is checked.**", "", *rst_paragraphs(c.method)]
        if c.assumptions:
            lines += ["**Assumptions.**", ""] + [f"* {rst_inline(a)}" for a in c.assumptions] + [""]
        if c.criteria:
            lines += ["**Thresholds and tolerances**, fixed before the run (a ``--param`` override makes "
                      "the result exploratory):", ""]
            lines += [f"* ``{k} = {v!r}``" for k, v in c.criteria.items()] + [""]
        lines += ["**Scales.**", ""]
        for scale, params in c.scales.items():
            lines.append(f"* ``{scale}``: " + (", ".join(f"``{k}={v!r}``" for k, v in params.items()) or "no parameters"))
        lines += ["", *rst_paragraphs(c.scale_note)]
        if notebooks.get(c.id):
            lines += ["**Notebook:** " + ", ".join(f":doc:`/notebooks/{nb}`" for nb in notebooks[c.id]), ""]
    lines += [*_title("Cite", "-"), ".. code-block:: bibtex", ""]
    lines += ["   " + line if line else "" for line in paper.bibtex.splitlines()] + [""]
    return "\n".join(lines) + "\n"


def gallery_page(papers, results: dict, figures: dict) -> str:
    """Every figure, grouped by paper, each linking to its claim."""
    from theorycheck.registry import list_claims

    lines = [*_title("Figure gallery", "="),
             "Every claim's figure, drawn from its saved result; click a title for the claim's statement "
             "and criteria.", ""]
    if not figures:
        lines += ["*No saved results were found when these docs were built: run* ``theorycheck run`` "
                  "*and rebuild them.*", ""]
        return "\n".join(lines) + "\n"
    for paper in papers:
        shown = [c for c in list_claims(paper.key) if c.id in figures]
        if not shown:
            continue
        lines += [*_title(rst_inline(paper.title), "-"), ".. container:: tc-gallery", ""]
        for c in shown:
            res = results[c.id]
            lines += [f"   .. figure:: {figures[c.id]}", f"      :alt: figure of {c.id}", "",
                      f"      :verdict:`{res.verdict}` :ref:`{c.id} <{claim_label(c.id)}>`: "
                      f"{rst_inline(c.title)}", ""]
    return "\n".join(lines) + "\n"


def verdict_table(results: dict, folder: Path) -> list[str]:
    """reStructuredText of the verdict table of ``results`` (claim id -> Result), or of a note saying
    how to make results when there is none."""
    from theorycheck.registry import get_claim

    if not results:
        return [f"No saved results were found in ``{folder.name}/`` when these docs were built. "
                "Run ``theorycheck run`` (every claim at the smoke scale, a minute or two) and "
                "rebuild the docs to see the verdict of every claim here.", ""]
    scales = sorted({r.scale for r in results.values()})
    counts = {v: sum(r.verdict == v for r in results.values()) for v in ("PASS", "FAIL", "INCONCLUSIVE")}
    lines = [f"Verdicts of the saved results ({', '.join(scales)} scale): "
             f"{counts['PASS']} pass, {counts['FAIL']} fail, {counts['INCONCLUSIVE']} inconclusive "
             f"of {len(results)}.", ""]
    rows = []
    for cid, res in sorted(results.items()):
        claim = get_claim(cid)
        numbers = []
        for k in claim.key_metrics:
            if k not in res.metrics:
                continue
            m = claim.metrics.get(k)
            unit = _unit(m.unit) if m else ""
            numbers.append(f"{rst_inline(m.label if m and m.label else k)} = {_value(res.metrics[k])}"
                           + (f" {unit}" if unit else ""))
        rows.append([f":ref:`{cid} <{claim_label(cid)}>`", rst_inline(claim.title),
                     f":verdict:`{res.verdict}`" + ("\\*" if res.exploratory else ""), "; ".join(numbers)])
    return lines + _table(["claim", "what is checked", "verdict", "key numbers"], rows, [18, 40, 10, 32])


class VerdictTable(SphinxDirective):
    """``.. theorycheck-verdicts::``: every saved verdict, or a note when there is none."""

    has_content = False

    def run(self):
        folder = _configured_results(self.config)
        self.env.note_dependency(str(folder))
        results = load_results(folder)
        for cid in results:
            self.env.note_dependency(str(folder / f"{cid}.json"))
        node = nodes.container(classes=["tc-verdicts"])
        self.state.nested_parse(StringList(verdict_table(results, folder), source="<theorycheck-verdicts>"),
                                self.content_offset, node)
        return [node]


def verdict_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:verdict:`PASS``` -> a coloured verdict badge."""
    status = text.strip().upper()
    return [nodes.inline(rawtext, status, classes=["tc-verdict", f"tc-{status.lower()}"])], []


# -- the overlay -----------------------------------------------------------------------------------

def _copy(src: Path, dst: Path) -> None:
    if dst.exists() and filecmp.cmp(src, dst, shallow=False):
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def _write(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return  # unchanged: Sphinx does not read it again
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def build_overlay(app, config) -> None:
    """Make the source overlay (see the module docstring) and point Sphinx at it."""
    from theorycheck.registry import list_papers
    from theorycheck.report import notebooks_for

    source = Path(app.srcdir)
    overlay = Path(app.doctreedir) / OVERLAY
    if source == overlay:
        return
    written: set[Path] = set()

    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if (rel.parts[0] in GENERATED or any(p.startswith(".") or p == "__pycache__" for p in rel.parts)
                or not path.is_file()):
            continue
        _copy(path, overlay / rel)
        written.add(overlay / rel)

    results_dir = _results_dir(app)
    config.theorycheck_results = str(results_dir)  # resolved once, read by the verdict table
    results = load_results(results_dir)
    figures = {}
    for cid, res in results.items():
        target = overlay / "papers" / "figures" / f"{cid}.png"
        if _figure(res, results_dir, target):
            figures[cid] = f"figures/{cid}.png"
            written.add(target)

    nb_source = Path(config.theorycheck_notebooks or Path(app.confdir).parent / "notebooks")
    notebooks = {}
    nb_names = []
    if nb_source.is_dir():
        for nb in sorted(nb_source.glob("*.ipynb")):
            _copy(nb, overlay / "notebooks" / nb.name)
            written.add(overlay / "notebooks" / nb.name)
            nb_names.append(nb.stem)

    papers = list_papers()
    from theorycheck.registry import list_claims
    for paper in papers:
        for c in list_claims(paper.key):
            notebooks[c.id] = [nb.stem for nb in notebooks_for(c.id, nb_source if nb_source.is_dir() else None)]
        path = overlay / "papers" / f"{paper.key}.rst"
        _write(path, paper_page(paper, results, figures, notebooks))
        written.add(path)
    index = [*_title("Papers", "="), "One page per paper; each claim with its statement, criteria, measured "
             "numbers and figure.", "", ".. toctree::", "   :maxdepth: 1", ""] + [f"   {p.key}" for p in papers]
    _write(overlay / "papers" / "index.rst", "\n".join(index) + "\n")
    written.add(overlay / "papers" / "index.rst")
    gallery = {cid: f"papers/{path}" for cid, path in figures.items()}
    _write(overlay / "gallery.rst", gallery_page(papers, results, gallery))
    written.add(overlay / "gallery.rst")
    nb_index = [*_title("Notebooks", "="),
                "Worked examples that call the public API; shown with the outputs of their last execution. "
                "Run them yourself with Jupyter from the repository's ``notebooks/`` folder.", ""]
    nb_index += ([".. toctree::", "   :maxdepth: 1", ""] + [f"   {n}" for n in nb_names] if nb_names
                 else ["*No notebooks were found beside the docs.*"])
    _write(overlay / "notebooks" / "index.rst", "\n".join(nb_index) + "\n")
    written.add(overlay / "notebooks" / "index.rst")

    for path in sorted(overlay.rglob("*"), reverse=True):  # files this build no longer makes
        rel = path.relative_to(overlay)
        if path.is_file() and path not in written and rel.parts[0] != "api":
            path.unlink()

    app.srcdir = overlay
    if "nb_execution_cache_path" in config and not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(Path(app.doctreedir) / "jupyter_cache")


def setup(app):
    app.add_config_value("theorycheck_results", None, "env")
    app.add_config_value("theorycheck_notebooks", None, "env")
    app.connect("config-inited", build_overlay, priority=100)
    app.add_directive("theorycheck-verdicts", VerdictTable)
    app.add_role("verdict", verdict_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
