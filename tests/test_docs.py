"""The documentation builds with warnings as errors (API reference and the per-paper pages)."""

from pathlib import Path

from sphinx.cmd.build import build_main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    assert build_main(["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")]) == 0
    assert (tmp_path / "html" / "papers" / "index.html").exists()
