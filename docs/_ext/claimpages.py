"""Sphinx extension: one page per paper, generated from the claim registry at build time.

Nothing about a claim is written twice: the statement, assumptions, method and scales come from the
registered :class:`theorycheck.registry.Claim`. Figures are included when a saved result exists in
``$THEORYCHECK_DOCS_RESULTS`` (default ``results/smoke``, written by ``theorycheck run``).
"""

import os
import shutil
from pathlib import Path



def _indent(text, n=3):
    return "\n".join(" " * n + line if line else "" for line in text.splitlines())


def _write_pages(app):
    from theorycheck.papers import PAPERS
    from theorycheck.registry import list_claims
    from theorycheck.store import Store

    src = Path(app.srcdir)
    out = src / "papers"
    out.mkdir(exist_ok=True)
    results = Path(os.environ.get("THEORYCHECK_DOCS_RESULTS", src.parent / "results" / "smoke"))
    store = Store(results)
    pages = []
    for paper, info in PAPERS.items():
        title = info["title"]
        claims = list_claims(paper)
        if not claims:
            continue
        lines = [title, "=" * len(title), "",
                 f"Claims of this paper checked by theorycheck (generated from the registry).", ""]
        for c in claims:
            head = f"``{c.id}`` — {c.title}"
            lines += [head, "-" * len(head), "", "**Statement.**", "", _indent(c.statement, 0), "",
                      "**Assumptions.**", ""]
            lines += [f"* {a}" for a in c.assumptions] + [""]
            lines += ["**How it is checked.**", "", c.method, ""]
            lines += ["**Scales.**", ""]
            for scale, params in c.scales.items():
                lines.append(f"* ``{scale}``: " + ", ".join(f"``{k}={v!r}``" for k, v in params.items()))
            lines += ["", c.scale_note or "", ""]
            png = store.figure_path(c.id, "png")
            if png.exists():
                shutil.copy(png, out / png.name)
                lines += [f".. image:: {png.name}", f"   :alt: figure of {c.id}", ""]
            else:
                lines += [f"*Figure: run* ``theorycheck run`` *then rebuild the docs to include it.*", ""]
        lines += ["Cite", "----", "", ".. code-block:: bibtex", "", _indent(info["bibtex"]), ""]
        (out / f"{paper}.rst").write_text("\n".join(lines) + "\n")
        pages.append(paper)
    index = ["Papers", "======", "", ".. toctree::", "   :maxdepth: 2", ""] + [f"   {p}" for p in pages]
    (out / "index.rst").write_text("\n".join(index) + "\n")


def setup(app):
    app.connect("builder-inited", _write_pages)
    return {"parallel_read_safe": True, "version": "1"}
