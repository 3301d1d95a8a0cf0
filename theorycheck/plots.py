"""Figures: the toolkit's style, saving, layout helpers and a layout check. Figures are drawn only
from saved results (:class:`~theorycheck.result.Result`).

Nothing here switches matplotlib's backend: figures are :class:`matplotlib.figure.Figure` objects
not managed by pyplot, so drawing one in a notebook leaves the notebook's backend (and its inline
images) alone, and saving works without a display.

The style (``style/theorycheck.mplstyle``, shipped with the package) is applied around drawing *and*
saving by :func:`style`: grid, spines, legends, fonts, a colour-blind-safe colour cycle (Okabe-Ito)
and 300 dpi PNG files. :func:`draw_figure` writes PNG (300 dpi), PDF and SVG (vector).

Helpers for figure functions: :func:`place_legend` (a legend that covers no data),
:func:`log_ticks` (readable log-axis ticks), :func:`table_figure` (a table such as "the paper vs
measured"). :func:`layout_problems` lists overlapping text, text cut off at the figure's edge and
legends that cover data; the test suite runs it on every claim's figure.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.style
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

from .store import atomic_write_bytes

__all__ = ["STYLE_PATH", "PALETTE", "PASS_COLOR", "FAIL_COLOR", "INCONCLUSIVE_COLOR", "FORMATS",
           "style", "new_figure", "stamp", "save", "png_bytes", "draw_figure", "place_legend",
           "log_ticks", "legend_below", "footnote", "table_figure", "layout_problems", "text_overlaps", "clipped_text",
           "legends_over_data"]

#: The style sheet applied by :func:`style`.
STYLE_PATH = Path(__file__).resolve().parent / "style" / "theorycheck.mplstyle"

#: Okabe & Ito's colour-blind-safe palette, in the order of the style's colour cycle.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

#: Verdict colours (from the same palette: told apart with every common colour-vision deficiency).
PASS_COLOR = "#009E73"
FAIL_COLOR = "#D55E00"
INCONCLUSIVE_COLOR = "#E69F00"
VERDICT_COLORS = {"PASS": PASS_COLOR, "FAIL": FAIL_COLOR, "INCONCLUSIVE": INCONCLUSIVE_COLOR}

#: File formats :func:`draw_figure` writes: PNG at the style's 300 dpi, PDF and SVG as vectors.
FORMATS = ("png", "pdf", "svg")

# Fixed metadata: equal figures give equal files (no creation date in PDF/SVG).
_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}


def style():
    """Context manager applying the toolkit's style sheet (:data:`STYLE_PATH`).

    Wrap both the drawing and the saving of a figure in it: matplotlib reads most settings when an
    artist is created and some (resolution, font embedding) when a file is written.
    """
    return matplotlib.style.context(STYLE_PATH)


class _JupyterFigure(Figure):
    """A matplotlib :class:`~matplotlib.figure.Figure` that shows itself in Jupyter.

    Figures here are not managed by pyplot, so they need no backend; in a notebook the last
    expression ``draw_figure(result)`` is displayed as a PNG (drawn at twice the screen resolution)
    whether or not pyplot's inline backend has been activated.
    """

    def _repr_png_(self):
        width, height = self.get_size_inches() * self.dpi
        return png_bytes(self, dpi=2 * self.dpi), {"width": int(round(width)), "height": int(round(height))}


def new_figure(width: float = 7.0, height: float = 3.6) -> Figure:
    """A blank figure in the toolkit's style (constrained layout), not attached to pyplot.

    Artists added later take the style only inside :func:`style` (as :func:`draw_figure` does).
    """
    with style():
        return _JupyterFigure(figsize=(width, height), layout="constrained")


def stamp(fig: Figure, result) -> None:
    """Put the claim id, scale, seed and verdict of ``result`` (a Result) above the figure, right."""
    color = VERDICT_COLORS.get(result.verdict, INCONCLUSIVE_COLOR)
    fig.suptitle(f"{result.claim}  [{result.scale}, seed {result.seed}]  {result.verdict}",
                 fontsize=8, color=color, x=0.995, ha="right")


_stamp = stamp


def _figure_bytes(fig: Figure, fmt: str, dpi: float | None = None) -> bytes:
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format=fmt, dpi=dpi if dpi is not None else "figure" if fmt != "png" else None,
                    metadata=_METADATA.get(fmt))
    return buf.getvalue()


def save(fig: Figure, path, dpi: float | None = None) -> None:
    """Save ``fig`` to ``path`` (format from the suffix: png, pdf, svg), atomically, in the style
    (PNG at 300 dpi unless ``dpi`` is given)."""
    path = Path(path)
    atomic_write_bytes(path, _figure_bytes(fig, path.suffix.lstrip(".").lower(), dpi))


def png_bytes(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes (300 dpi unless ``dpi`` is given)."""
    return _figure_bytes(fig, "png", dpi)


def draw_figure(result, out=None, *, stamp: bool = True, formats=FORMATS):
    """Draw a claim's figure from a saved :class:`~theorycheck.result.Result`.

    Parameters
    ----------
    result : Result
    out : path-like, optional
        Output folder: the figure is saved there as ``<id>.png`` (300 dpi), ``<id>.pdf`` and
        ``<id>.svg`` (see ``formats``).
    stamp : bool
        Put the claim id, scale, seed and verdict above the figure (off for a figure going into a
        paper).
    formats : tuple of str
        Which of :data:`FORMATS` to write into ``out``.

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` if the claim has no figure.
    """
    from .registry import get_claim
    from .store import Store
    claim = get_claim(result.claim)
    if claim.figure is None:
        return None
    with style():
        fig = new_figure()
        claim.figure(result, fig)
        if stamp:
            _stamp(fig, result)
        for ax in fig.axes:  # ticks are made lazily; make them here so they take the style's sizes
            for axis in (ax.xaxis, ax.yaxis):
                axis.majorTicks[0], axis.minorTicks[0]
    if out is not None:
        store = Store(out)
        for ext in formats:
            save(fig, store.figure_path(claim.id, ext))
    return fig


# -- helpers for figure functions ------------------------------------------------------------------

_INSIDE = ("upper right", "upper left", "lower left", "lower right", "center right", "center left",
           "upper center", "lower center")


def place_legend(ax, *args, where: str = "auto", **kwargs):
    """Add a legend to ``ax`` that covers none of its data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    *args, **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.legend` (handles, labels, ``ncols``, ``title``, ...).
    where : {"auto", "right", "below", "above"}
        ``"auto"`` tries the corners and edges inside the axes and keeps the first where the legend
        covers no line, marker, bar, band or image (nor any other text); if there is none, the
        legend goes outside on the right. The others put it outside the axes on that side.
        Call it once everything else of the figure is drawn (the test draws the figure).

    Returns
    -------
    matplotlib.legend.Legend
    """
    outside = {"right": dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0),
               "below": dict(loc="upper center", bbox_to_anchor=(0.5, -0.18), borderaxespad=0.0),
               "above": dict(loc="lower center", bbox_to_anchor=(0.5, 1.02), borderaxespad=0.0)}
    if where not in ("auto", *outside):
        raise ValueError(f"where must be 'auto', 'right', 'below' or 'above', got {where!r}")
    if where != "auto":
        return ax.legend(*args, **{**outside[where], **kwargs})
    fig = ax.get_figure(root=True) if _takes_root(ax) else ax.figure
    for loc in _INSIDE:
        legend = ax.legend(*args, loc=loc, **kwargs)
        with style():
            renderer = _draw(fig)
        box = legend.get_window_extent(renderer)
        if not _covered_artists(box.shrunk(1, 1), ax, renderer) and not any(
                _intersect(box, b) for _, b in _texts(fig, renderer, skip=legend)):
            return legend
    return ax.legend(*args, **{**outside["right"], **kwargs})


def _takes_root(ax) -> bool:
    import inspect
    try:
        return "root" in inspect.signature(ax.get_figure).parameters
    except (TypeError, ValueError):
        return False


def log_ticks(ax, axis: str = "both", *, base: float = 10.0, max_labels: int = 6) -> None:
    """Readable ticks on a log-scaled axis (sets the log scale if it is not set).

    Labels go on powers of ``base`` only (as :math:`10^{-2}`, at most ``max_labels`` of them),
    minor ticks stay unlabelled; an axis spanning less than two decades is labelled at 1, 2 and 5
    times the powers of ten instead (every integer multiple below 0.7 decade), in plain numbers.
    Call it after the data are plotted.
    """
    axes = {"x": (ax.xaxis,), "y": (ax.yaxis,), "both": (ax.xaxis, ax.yaxis)}
    if axis not in axes:
        raise ValueError(f"axis must be 'x', 'y' or 'both', got {axis!r}")
    for a in axes[axis]:
        if a.get_scale() != "log":
            (ax.set_xscale if a is ax.xaxis else ax.set_yscale)("log", base=base)
        lo, hi = sorted(a.get_view_interval())
        decades = np.log(hi / lo) / np.log(base) if lo > 0 and hi > 0 else np.inf
        if decades < 2:
            subs = (1.0, 2.0, 5.0) if decades >= 0.7 else tuple(float(k) for k in range(1, 10))
            a.set_major_locator(ticker.LogLocator(base=base, subs=subs, numticks=max_labels))
            a.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
        else:
            a.set_major_locator(ticker.LogLocator(base=base, numticks=max_labels))
            a.set_major_formatter(ticker.LogFormatterSciNotation(base=base))
        a.set_minor_locator(ticker.LogLocator(base=base, subs="auto", numticks=12))
        a.set_minor_formatter(ticker.NullFormatter())


def legend_below(fig, handles=None, labels=None, *, ncols: int = 4, **kwargs):
    """One legend for all panels of ``fig``, under them (constrained layout makes room for it).

    Without ``handles``, the first entry of each label over all axes, in drawing order.
    """
    if handles is None:
        handles, labels = [], []
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, **kwargs)


def footnote(fig, text: str, fontsize: float = 7.0) -> None:
    """A short grey note under all panels (the setting, what differs from the paper), wrapped to the
    figure's width without breaking a ``$...$`` formula; constrained layout makes room for it."""
    import textwrap
    width = max(40, int(fig.get_figwidth() * 72 / (0.52 * fontsize)))
    parts = text.split("$")  # odd parts are mathtext: never broken across lines
    glued = "$".join(q.replace(" ", "\0") if k % 2 else q for k, q in enumerate(parts))
    lines = [line.replace("\0", " ") for line in textwrap.wrap(glued, width)]
    fig.supxlabel("\n".join(lines), fontsize=fontsize, color="0.3")


def table_figure(target, header, rows, *, title: str | None = None, row_status=None,
                 col_align=None, fontsize: float = 8.0):
    """Draw a table (for instance "the paper says | measured") on a figure or an axes.

    Parameters
    ----------
    target : matplotlib.figure.Figure or matplotlib.axes.Axes
        A figure (one axes is added for the table) or an axes to draw into (its frame is hidden).
    header : sequence of str
        Column titles (mathtext allowed: ``"$N_t$"``).
    rows : sequence of sequence
        Cell values; numbers are shown with 4 significant digits.
    title : str, optional
    row_status : sequence of {"PASS", "FAIL", "INCONCLUSIVE", None}, optional
        Tints each row with its verdict colour.
    col_align : sequence of {"left", "center", "right"}, optional
        Alignment per column (default: text left, numbers right).

    Returns
    -------
    matplotlib.table.Table
    """
    from matplotlib.colors import to_rgba
    ax = target.add_subplot() if isinstance(target, Figure) else target
    ax.set_axis_off()
    text = [[_cell(v) for v in row] for row in rows]
    ncols = len(header)
    if any(len(r) != ncols for r in text):
        raise ValueError(f"every row needs {ncols} cells (one per column of the header)")
    if col_align is None:
        col_align = ["right" if rows and all(_is_number(r[j]) for r in rows) else "left" for j in range(ncols)]
    table = ax.table(cellText=text or None, colLabels=list(header), loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    table.auto_set_column_width(list(range(ncols)))
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        cell.set_linewidth(0.5)
        cell.PAD = 0.06
        cell.get_text().set_horizontalalignment("center" if r == 0 else col_align[c])
        if r == 0:
            cell.set_facecolor("#eeeeee")
            cell.get_text().set_fontweight("bold")
        elif row_status is not None and row_status[r - 1] in VERDICT_COLORS:
            cell.set_facecolor(to_rgba(VERDICT_COLORS[row_status[r - 1]], 0.18))
        cell.set_height(cell.get_height() * 1.15)
    if title:
        ax.set_title(title)
    return table


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


# -- layout check ----------------------------------------------------------------------------------

def _draw(fig):
    """Draw ``fig`` (constrained layout runs) and return the renderer its text was measured with."""
    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _text_box(t, renderer):
    if not (t.get_visible() and t.get_text().strip()):
        return None
    box = t.get_window_extent(renderer)
    return box if box.width > 0 and box.height > 0 else None


def _all_figures(fig):
    yield fig
    for sub in getattr(fig, "subfigs", ()):
        yield from _all_figures(sub)


def _texts(fig, renderer, skip=None):
    """``(name, bbox)`` of every piece of text a reader sees: titles, axis labels, drawn tick labels,
    offset texts, annotations, table cells, legends (one box each), figure texts."""
    out, seen = [], set()

    def add(name, t):
        if id(t) in seen:
            return
        seen.add(id(t))
        box = _text_box(t, renderer)
        if box is not None:
            out.append((name, box))

    for f in _all_figures(fig):
        for attr, what in (("_suptitle", "suptitle"), ("_supxlabel", "supxlabel"), ("_supylabel", "supylabel")):
            if getattr(f, attr, None) is not None:
                add(what, getattr(f, attr))
        for i, t in enumerate(f.texts):
            add(f"figure text {t.get_text()!r}", t)
        for i, leg in enumerate(f.legends):
            if leg.get_visible() and leg is not skip:
                out.append((f"figure legend {i}", leg.get_window_extent(renderer)))
    for k, ax in enumerate(fig.get_axes()):
        if not ax.get_visible():
            continue
        where = f"axes {k}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        for t, what in ((ax.title, "title"), (ax._left_title, "left title"), (ax._right_title, "right title")):
            add(f"{where} {what} {t.get_text()!r}", t)
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not (ax.axison and axis.get_visible()):  # set_axis_off() hides ticks and labels
                continue
            add(f"{where} {name} label {axis.label.get_text()!r}", axis.label)
            add(f"{where} {name} offset text {axis.offsetText.get_text()!r}", axis.offsetText)
            for tick in axis._update_ticks():
                for lab in (tick.label1, tick.label2):
                    if lab.get_visible():
                        add(f"{where} {name} tick label {lab.get_text()!r}", lab)
        for t in ax.texts:
            add(f"{where} text {t.get_text()!r}", t)
        for table in ax.tables:
            for (r, c), cell in table.get_celld().items():
                add(f"{where} table cell ({r}, {c}) {cell.get_text().get_text()!r}", cell.get_text())
        leg = ax.get_legend()
        if leg is not None and leg.get_visible() and leg is not skip:
            out.append((f"{where} legend", leg.get_window_extent(renderer)))
    return out


_TOL = 0.5  # points: boxes that touch within this are not overlapping


def _intersect(a, b, tol_px: float = 0.7) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol_px) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol_px)


def text_overlaps(fig, renderer=None) -> list[str]:
    """Pairs of text artists of ``fig`` whose boxes overlap (as drawn, after layout)."""
    renderer = renderer or _draw(fig)
    tol = _TOL * fig.dpi / 72
    items = _texts(fig, renderer)
    problems = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (na, a), (nb, b) = items[i], items[j]
            if _intersect(a, b, tol):
                problems.append(f"text overlaps: {na} and {nb}")
    return problems


def clipped_text(fig, renderer=None) -> list[str]:
    """Text of ``fig`` that reaches past the figure's edge (cut off in the saved file)."""
    renderer = renderer or _draw(fig)
    tol = _TOL * fig.dpi / 72
    edge = fig.bbox
    return [f"text cut off at the figure's edge: {name}" for name, b in _texts(fig, renderer)
            if b.x0 < edge.x0 - tol or b.y0 < edge.y0 - tol or b.x1 > edge.x1 + tol or b.y1 > edge.y1 + tol]


def _segments(path_display):
    """Split a display-space path's vertices at NaNs into runs of finite points."""
    v = np.asarray(path_display, dtype=float)
    ok = np.isfinite(v).all(axis=1)
    runs, start = [], None
    for k, good in enumerate(ok):
        if good and start is None:
            start = k
        elif not good and start is not None:
            runs.append(v[start:k])
            start = None
    if start is not None:
        runs.append(v[start:])
    return runs


def _points_in(points, box) -> bool:
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    p = p[np.isfinite(p).all(axis=1)]
    return bool(np.any((p[:, 0] > box.x0) & (p[:, 0] < box.x1) & (p[:, 1] > box.y0) & (p[:, 1] < box.y1)))


def _artist_name(kind, artist) -> str:
    label = str(artist.get_label() or "")
    return f"{kind} {label!r}" if label and not label.startswith("_") else f"unlabelled {kind}"


def _covered_artists(box, ax, renderer) -> list[str]:
    """Data artists of ``ax`` that ``box`` (display coordinates) covers, within the axes' clip box."""
    region = Bbox.intersection(box, ax.bbox)
    if region is None or region.width <= 0 or region.height <= 0:
        return []
    hits = []
    pt = ax.figure.dpi / 72
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        name = _artist_name("line", line)
        if line.get_marker() not in (None, "None", "none", "", " "):
            r = line.get_markersize() * pt / 2
            if _points_in(xy, region.expanded(1, 1).padded(r)):
                hits.append(name)
                continue
        if line.get_linestyle() not in ("None", "none", "", " "):
            if any(len(run) > 1 and MplPath(run).intersects_bbox(region, filled=False) or
                   len(run) == 1 and _points_in(run, region) for run in _segments(xy)):
                hits.append(name)
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        name = _artist_name(type(coll).__name__, coll)
        offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        if type(coll).__name__ == "PathCollection" and len(offsets):
            xy = coll.get_offset_transform().transform(offsets)
            sizes = coll.get_sizes()
            r = (np.sqrt(np.max(sizes)) if len(sizes) else 6.0) * pt / 2
            if _points_in(xy, region.padded(r)):
                hits.append(name)
            continue
        filled = type(coll).__name__ != "LineCollection"
        trans = coll.get_transform()
        for path in coll.get_paths():
            dpath = trans.transform_path(path)
            if len(dpath.vertices) and dpath.intersects_bbox(region, filled=filled):
                hits.append(name)
                break
    owner = {id(p): c for c in ax.containers for p in c if hasattr(p, "get_window_extent")}
    for patch in ax.patches:
        b = Bbox.intersection(patch.get_window_extent(renderer), region) if patch.get_visible() else None
        if b is not None and b.width > 0.5 and b.height > 0.5:
            name = _artist_name("bar" if id(patch) in owner else type(patch).__name__, owner.get(id(patch), patch))
            if name not in hits:
                hits.append(name)
    for im in ax.images:
        b = Bbox.intersection(im.get_window_extent(renderer), region)
        if im.get_visible() and b is not None and b.width > 0.5 and b.height > 0.5:
            hits.append("image")
    return hits


def legends_over_data(fig, renderer=None) -> list[str]:
    """Legends of ``fig`` whose box covers plotted data (lines, markers, bands, bars, images) of any
    of its axes."""
    renderer = renderer or _draw(fig)
    legends = [(f"axes {k} legend", leg) for k, ax in enumerate(fig.get_axes())
               if (leg := ax.get_legend()) is not None and leg.get_visible()]
    legends += [(f"figure legend {i}", leg) for f in _all_figures(fig) for i, leg in enumerate(f.legends)
                if leg.get_visible()]
    problems = []
    for name, leg in legends:
        box = leg.get_window_extent(renderer).shrunk(1, 1)
        for k, ax in enumerate(fig.get_axes()):
            hit = _covered_artists(box, ax, renderer)
            if hit:
                title = f" ({ax.get_title()!r})" if ax.get_title() else ""
                problems.append(f"legend covers data: {name} over {', '.join(hit)} of axes {k}{title}")
    return problems


def layout_problems(fig) -> list[str]:
    """Everything that makes ``fig`` hard to read: overlapping text, text cut off at the figure's
    edge, legends over data. An empty list means none was found."""
    with style():
        renderer = _draw(fig)
        return text_overlaps(fig, renderer) + clipped_text(fig, renderer) + legends_over_data(fig, renderer)
