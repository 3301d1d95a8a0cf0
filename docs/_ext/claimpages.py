"""Sphinx extension: one page per paper, generated from the claim registry at build time.

Nothing about a claim is written twice: the statement, assumptions, method, scales and criteria come
from the registered :class:`theorycheck.registry.Claim`; the papers are the installed ones (the
``theorycheck.papers`` entry points), so a paper in another package gets its page too. Figures are included when a saved result exists in
``$THEORYCHECK_DOCS_RESULTS`` (default ``results/smoke``, written by ``theorycheck run``).
"""

import os
import shutil
from pathlib import Path



def _indent(text, n=3):
    return "\n".join(" " * n + line if line else "" for line in text.splitlines())


def paper_page(paper, store, figures_out=None) -> str:
    """The reStructuredText page of ``paper`` (a :class:`theorycheck.registry.Paper`).

    Figures saved in ``store`` are copied to ``figures_out`` and shown when it is given.
    """
    from theorycheck.registry import list_claims

    title = paper.title
    lines = [title, "=" * len(title), "",
             "Claims of this paper checked by theorycheck (generated from the registry).", ""]
    for c in list_claims(paper.key):
        head = f"``{c.id}`` — {c.title}"
        lines += [head, "-" * len(head), "", "**Statement.**", "", _indent(c.statement, 0), "",
                  "**Assumptions.**", ""]
        lines += [f"* {a}" for a in c.assumptions] + [""]
        lines += ["**How it is checked.**", "", c.method, ""]
        if c.criteria:
            lines += ["**Criteria** (fixed before the run).", ""]
            lines += [f"* ``{k} = {v!r}``" for k, v in c.criteria.items()] + [""]
        lines += ["**Scales.**", ""]
        for scale, params in c.scales.items():
            lines.append(f"* ``{scale}``: " + ", ".join(f"``{k}={v!r}``" for k, v in params.items()))
        lines += ["", c.scale_note or "", ""]
        png = store.figure_path(c.id, "png")
        if figures_out is not None and png.exists():
            shutil.copy(png, Path(figures_out) / png.name)
            lines += [f".. image:: {png.name}", f"   :alt: figure of {c.id}", ""]
        else:
            lines += ["*Figure: run* ``theorycheck run`` *then rebuild the docs to include it.*", ""]
    lines += ["Cite", "----", "", ".. code-block:: bibtex", "", _indent(paper.bibtex), ""]
    return "\n".join(lines) + "\n"


def _write_pages(app):
    from theorycheck.registry import list_papers
    from theorycheck.store import Store

    src = Path(app.srcdir)
    out = src / "papers"
    out.mkdir(exist_ok=True)
    results = Path(os.environ.get("THEORYCHECK_DOCS_RESULTS", src.parent / "results" / "smoke"))
    store = Store(results)
    pages = []
    for paper in list_papers():
        (out / f"{paper.key}.rst").write_text(paper_page(paper, store, out))
        pages.append(paper.key)
    index = ["Papers", "======", "", ".. toctree::", "   :maxdepth: 2", ""] + [f"   {p}" for p in pages]
    (out / "index.rst").write_text("\n".join(index) + "\n")


def setup(app):
    app.connect("builder-inited", _write_pages)
    return {"parallel_read_safe": True, "version": "1"}
