"""A paper installed as a plug-in, the way pip would: a package and a ``.dist-info`` folder with a
``theorycheck.papers`` entry point, in a site folder to put on ``PYTHONPATH``."""

from __future__ import annotations

from pathlib import Path


def write_plugin_site(tmp_path: Path, name: str, *, init: str, cells: str, claims: str) -> Path:
    """Write package ``name`` (``__init__``, ``cells``, ``claims`` modules) and its metadata; return
    the site folder."""
    site = tmp_path / "site"
    pkg = site / name
    pkg.mkdir(parents=True)
    for module, text in (("__init__", init), ("cells", cells), ("claims", claims)):
        (pkg / f"{module}.py").write_text(text)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[theorycheck.papers]\n{name} = {name}:PAPER\n")
    return site
