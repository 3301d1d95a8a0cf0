"""Shared matplotlib style and helpers. Figures are drawn only from saved result dicts."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and remote machines have no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .store import atomic_write_bytes  # noqa: E402

__all__ = ["new_figure", "stamp", "save", "png_bytes", "draw_figure", "PASS_COLOR", "FAIL_COLOR"]

PASS_COLOR = "#2a9d4b"
FAIL_COLOR = "#c0392b"
INCONCLUSIVE_COLOR = "#b7791f"

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 130,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
}


def new_figure(width: float = 7.0, height: float = 3.6) -> Figure:
    """A blank figure in the toolkit's style (not attached to pyplot's global state)."""
    with plt.rc_context(_STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def stamp(fig: Figure, result) -> None:
    """Put the claim id, scale, seed and verdict of ``result`` (a Result) in the figure's corner."""
    color = {"PASS": PASS_COLOR, "FAIL": FAIL_COLOR}.get(result.verdict, INCONCLUSIVE_COLOR)
    fig.suptitle(f"{result.claim}  [{result.scale}, seed {result.seed}]  {result.verdict}",
                 fontsize=9, color=color, x=0.99, ha="right")


def save(fig: Figure, path: Path) -> None:
    """Save ``fig`` to ``path`` (format from the suffix), atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip("."))
    atomic_write_bytes(Path(path), buf.getvalue())


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def draw_figure(result, out=None):
    """Draw a claim's figure from a saved :class:`~theorycheck.result.Result`; save PNG and PDF into
    ``out`` if given. Returns the matplotlib ``Figure`` (or ``None`` if the claim has no figure)."""
    from .registry import get_claim
    from .store import Store
    claim = get_claim(result.claim)
    if claim.figure is None:
        return None
    fig = new_figure()
    claim.figure(result, fig)
    stamp(fig, result)
    if out is not None:
        store = Store(out)
        for ext in ("png", "pdf"):
            save(fig, store.figure_path(claim.id, ext))
    return fig
