"""The HTML report: one self-contained page with every saved verdict, grouped by paper.

The page is built from a Jinja2 template shipped with the package (``templates/report.html.j2``).
For each claim it shows the statement (math rendered), its criteria as "the paper says | measured |
verdict", its figure (redrawn from the saved result, embedded as SVG; the PNG, PDF and SVG files lie
beside the page), its key numbers with their meaning and unit, the run's metadata (seed, parameters,
criteria values, backend, cells, versions and code hashes, time) and links to the claim's docs page
and notebooks. Buttons filter the claims by verdict (a few lines of inline JavaScript).

The page needs no network: math is rendered here, with matplotlib's mathtext, into inline SVG paths
(no MathJax or KaTeX download, no fonts to fetch, the same renderer as the figures' labels), and
everything else is inline. Every string from a claim or a result is escaped.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from markupsafe import Markup, escape

from .errors import InputError
from .registry import SCALES, get_claim, list_claims, list_papers
from .store import Store, atomic_write_bytes

__all__ = ["write_report", "render_report", "format_metric", "render_tex", "tex_to_svg", "MathSVG",
           "notebooks_for", "docs_anchor"]


def format_metric(value, max_items: int = 8) -> str:
    """Compact text for a metric value (numbers to 4 significant digits, at most ``max_items`` items
    of a list or mapping)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        more = ", …]" if len(value) > max_items else "]"
        return "[" + ", ".join(format_metric(v, max_items) for v in value[:max_items]) + more
    if isinstance(value, dict):
        items = list(value.items())
        more = ", …}" if len(items) > max_items else "}"
        return "{" + ", ".join(f"{k}: {format_metric(v, max_items)}" for k, v in items[:max_items]) + more
    return str(value)


# -- math: LaTeX between $...$ to inline SVG, offline -----------------------------------------------

# LaTeX that mathtext does not know, mapped to what it does (the rendering is the same or close).
_TEX_FIXES = [
    (r"\\[td]frac(?![a-zA-Z])", r"\\frac"), (r"\\le(?![a-zA-Z])", r"\\leq"), (r"\\ge(?![a-zA-Z])", r"\\geq"),
    (r"\\ne(?![a-zA-Z])", r"\\neq"), (r"\\[lr]Vert(?![a-zA-Z])", r"\\Vert"), (r"\\[lr]vert(?![a-zA-Z])", r"|"),
    (r"\\(?:display|text|script)style(?![a-zA-Z])", ""), (r"\\[bB]ig{1,2}[lr]?(?![a-zA-Z])", ""),
    (r"\\operatorname\*", r"\\operatorname"), (r"\\mathop(?![a-zA-Z])", r""),
    (r"\\textrm(?![a-zA-Z])", r"\\mathrm"), (r"\\textbf(?![a-zA-Z])", r"\\mathbf"),
    (r"\\textit(?![a-zA-Z])", r"\\mathit"), (r"\\(?:boldsymbol|bm)(?![a-zA-Z])", r"\\mathbf"),
    (r"\\mathscr(?![a-zA-Z])", r"\\mathcal"), (r"\\implies(?![a-zA-Z])", r"\\Rightarrow"),
    (r"\\iff(?![a-zA-Z])", r"\\Leftrightarrow"), (r"\\coloneqq(?![a-zA-Z])", r":="),
    (r"\\(?:underbrace|overbrace)(?![a-zA-Z])", r""),
]

# Commands whose arguments mathtext needs in braces (LaTeX takes one token without them: \mathbb E).
_ARGS = {"frac": 2, "binom": 2, "sqrt": 1, "mathbb": 1, "mathbf": 1, "mathrm": 1, "mathcal": 1, "mathit": 1,
         "mathsf": 1, "mathtt": 1, "mathfrak": 1, "operatorname": 1, "hat": 1, "bar": 1, "tilde": 1,
         "widetilde": 1, "widehat": 1, "vec": 1, "dot": 1, "ddot": 1, "overline": 1, "acute": 1,
         "grave": 1, "breve": 1, "check": 1, "text": 1}

_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$")
_RST_MATH = re.compile(r":math:`([^`]+)`")
_CODE = re.compile(r"``(.+?)``")


def _brace_arguments(tex: str) -> str:
    """``\\mathbb E`` -> ``\\mathbb{E}``, ``\\frac12`` -> ``\\frac{1}{2}``: one-token arguments in braces."""
    out, i, n = [], 0, len(tex)

    def token(j):
        """End of the token starting at ``j`` (after spaces), and its start."""
        while j < n and tex[j] == " ":
            j += 1
        if j >= n:
            return j, j
        if tex[j] == "\\":
            k = j + 1
            while k < n and tex[k].isalpha():
                k += 1
            return j, max(k, j + 2)
        return j, j + 1

    while i < n:
        if tex[i] == "\\":
            k = i + 1
            while k < n and tex[k].isalpha():
                k += 1
            name = tex[i + 1:k]
            out.append(tex[i:max(k, i + 2)])
            i = max(k, i + 2)
            for _ in range(_ARGS.get(name, 0)):
                j, end = token(i)
                if j >= n or tex[j] == "{":
                    break  # a braced argument is copied as it is (and processed like the rest)
                if tex[j] == "[":
                    break  # \sqrt[n]{x}: leave to mathtext
                out.append("{" + tex[j:end] + "}")
                i = end
        else:
            out.append(tex[i])
            i += 1
    return "".join(out)


def _mathtext(tex: str) -> str:
    for pattern, repl in _TEX_FIXES:
        tex = re.sub(pattern, repl, tex)
    return _brace_arguments(tex)


def _fmt(x: float) -> str:
    """A coordinate with one decimal (1/1000 of an em: finer than any screen), short."""
    s = f"{round(float(x), 1):.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s in ("-0", "0") else s


def _path_d(verts, codes) -> str:
    """SVG path data of a matplotlib path given in y-up coordinates (SVG's y points down)."""
    from matplotlib.path import Path as MplPath
    if not len(codes):
        return ""
    letters = {MplPath.MOVETO: "M", MplPath.LINETO: "L", MplPath.CURVE3: "Q", MplPath.CURVE4: "C"}
    parts = []
    for points, code in MplPath(verts, codes).iter_segments(simplify=False, curves=True):
        if code == MplPath.CLOSEPOLY:
            parts.append("Z")
        elif code in letters:
            parts.append(letters[code] + " ".join(f"{_fmt(x)} {_fmt(-y)}" for x, y in points.reshape(-1, 2)))
    return "".join(parts)


class MathSVG:
    """Typesets LaTeX formulas as inline SVG with matplotlib's mathtext (Computer Modern), offline.

    Each glyph's outline is written once per page (:meth:`defs`) and placed with ``<use>``, so a
    page of hundreds of formulas stays small; with ``standalone=True`` every formula carries its
    own outlines. Sizes are in ``em`` (a formula scales with the text around it) and the baseline
    sits on the text's baseline.
    """

    #: Formulas are drawn this much larger than the text's em: Computer Modern looks smaller than
    #: the sans-serif text around it at the same size.
    SCALE = 1.12

    def __init__(self, standalone: bool = False, prefix: str = "tcg"):
        self.standalone = standalone
        self.prefix = prefix
        self._glyph_ids: dict = {}
        self._glyph_paths: dict = {}
        self._cache: dict = {}

    def svg(self, tex: str) -> Markup | None:
        """The formula ``tex`` (without dollars) as SVG, or ``None`` if mathtext cannot typeset it."""
        if tex not in self._cache:
            self._cache[tex] = self._typeset(tex)
        return self._cache[tex]

    def _typeset(self, tex: str):
        import matplotlib
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        source = f"${_mathtext(tex)}$"
        ttp = TextToPath()  # glyph outlines at ttp.FONT_SCALE (100) units per em
        try:
            with matplotlib.rc_context({"mathtext.fontset": "cm"}):
                width, height, depth, _, _ = ttp.mathtext_parser.parse(source, ttp.DPI, FontProperties(size=100))
                glyphs, new_map, rects = ttp.get_glyphs_mathtext(FontProperties(), source)
        except Exception:  # mathtext raises ValueError and pyparsing errors for LaTeX it does not know
            return None
        for key, (verts, codes) in new_map.items():
            if key not in self._glyph_ids:
                self._glyph_ids[key] = f"{self.prefix}{len(self._glyph_ids)}"
                self._glyph_paths[key] = _path_d(verts, codes)
        body = []
        for key, x, y, scale in glyphs:
            place = f"translate({_fmt(x)} {_fmt(-y)})" + (f" scale({scale:.4g})" if abs(scale - 1) > 1e-6 else "")
            if self.standalone:
                body.append(f'<path transform="{place}" d="{self._glyph_paths[key]}"/>')
            else:
                body.append(f'<use href="#{self._glyph_ids[key]}" transform="{place}"/>')
        for verts, _codes in rects:
            (x0, y0), (_, y1), (x1, _) = verts[0], verts[1], verts[2]
            body.append(f'<rect x="{_fmt(min(x0, x1))}" y="{_fmt(-max(y0, y1))}" width="{_fmt(abs(x1 - x0))}" '
                        f'height="{_fmt(abs(y1 - y0))}"/>')
        label = escape(tex)
        em = self.SCALE / 100  # outlines are at 100 units per em
        return Markup(
            f'<svg class="math" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
            f'width="{width * em:.3f}em" height="{height * em:.3f}em" '
            f'viewBox="0 {_fmt(depth - height)} {_fmt(width)} {_fmt(height)}" '
            f'style="vertical-align:{-depth * em:.3f}em"><title>{label}</title>'
            f'<g fill="currentColor">{"".join(body)}</g></svg>')

    def defs(self) -> Markup:
        """The glyph outlines the page's formulas use (put once in the page; empty if standalone)."""
        if self.standalone or not self._glyph_paths:
            return Markup("")
        paths = "".join(f'<path id="{self._glyph_ids[k]}" d="{d}"/>' for k, d in self._glyph_paths.items())
        return Markup('<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" aria-hidden="true" '
                      f'style="position:absolute"><defs>{paths}</defs></svg>')


def tex_to_svg(tex: str) -> Markup | None:
    """A self-contained inline SVG of the LaTeX formula ``tex`` (without dollars), or ``None`` if
    matplotlib's mathtext cannot typeset it."""
    return MathSVG(standalone=True).svg(tex)


def render_tex(text: str, math: MathSVG | None = None, problems: list | None = None) -> Markup:
    """HTML for a string of the toolkit's texts: math between ``$...$`` (or in ``:math:`...```) as
    inline SVG (typeset by ``math``; standalone if not given), ````code```` as code, everything else
    escaped. A formula mathtext cannot typeset is shown as its LaTeX source (and added to ``problems``).
    """
    math = math or MathSVG(standalone=True)
    text = _RST_MATH.sub(lambda m: f"${m.group(1)}$", str(text or ""))
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(_code_and_escape(text[pos:m.start()]))
        svg = math.svg(m.group(1).strip())
        if svg is None:
            if problems is not None:
                problems.append(m.group(1))
            out.append(Markup('<code class="tex">${}$</code>').format(m.group(1)))
        else:
            out.append(svg)
        pos = m.end()
    out.append(_code_and_escape(text[pos:]))
    return Markup("").join(out)


def _code_and_escape(text: str) -> Markup:
    out, pos = [], 0
    for m in _CODE.finditer(text):
        out.append(escape(text[pos:m.start()].replace("\\$", "$")))
        out.append(Markup("<code>{}</code>").format(m.group(1)))
        pos = m.end()
    out.append(escape(text[pos:].replace("\\$", "$")))
    return Markup("").join(out)


# -- what the page shows of each claim -------------------------------------------------------------

@dataclass
class _Links:
    docs: str | None
    notebooks: list


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min"


def _time_texts(elapsed_s: float, cells) -> tuple[str, str]:
    """(short, long) time of a result. A rerun that reuses saved cells takes next to nothing, so the
    compute time the cells took when they were made is what the reader wants; both are stated."""
    elapsed, reused = float(elapsed_s), int(cells.get("reused", 0))
    if not reused:
        return _elapsed(elapsed), f"{_elapsed(elapsed)} (measured in this run)"
    made = float(cells.get("seconds", 0.0))
    return (f"{_elapsed(max(made, elapsed))} (reused)",
            f"{_elapsed(elapsed)} in this run, which reused {reused} saved cells; the cells took "
            f"{_elapsed(made)} of compute when they were made")


def _cells_text(cells) -> str:
    run, reused, recomputed = (int(cells.get(k, 0)) for k in ("run", "reused", "recomputed"))
    if run + reused == 0:
        return "no sweep cells (computed directly)"
    parts = []
    if run - recomputed:
        parts.append(f"computed {run - recomputed}")
    if reused:
        parts.append(f"reused {reused} (read back from the folder)")
    if recomputed:
        parts.append(f"recomputed {recomputed} (their code changed)")
    return ", ".join(parts)


def _unit(unit: str) -> str:
    return "" if unit in ("", "1") else unit


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return target.resolve().as_uri()


def _find_docs(out: Path, docs_url: str | None) -> str | None:
    if docs_url is None:
        docs_url = os.environ.get("THEORYCHECK_DOCS_URL") or None
    if docs_url is not None:
        return docs_url.rstrip("/")
    for base in (Path.cwd() / "docs" / "_build" / "html", Path.cwd() / "docs" / "_build"):
        if (base / "papers" / "index.html").exists():
            return _relative(base, out.resolve())
    return None


def _find_notebooks(notebooks_dir) -> Path | None:
    if notebooks_dir is not None:
        return Path(notebooks_dir) if Path(notebooks_dir).is_dir() else None
    for base in (Path.cwd() / "notebooks", Path(__file__).resolve().parent.parent / "notebooks"):
        if base.is_dir():
            return base
    return None


def notebooks_for(claim_id: str, notebooks_dir) -> list[Path]:
    """Notebooks of ``notebooks_dir`` about ``claim_id``: named ``<paper>_…`` and either naming the
    claim's item (``hong2021_thm1_…`` for ``hong2021.thm1``) or using its id in their code."""
    if notebooks_dir is None:
        return []
    paper, _, item = claim_id.partition(".")
    found = []
    for nb in sorted(Path(notebooks_dir).glob(f"{paper}_*.ipynb")):
        words = nb.stem.split("_")[1:]
        if item in words or "_".join(words).startswith(item.replace(".", "_")):
            found.append(nb)
            continue
        try:
            cells = json.loads(nb.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue
        code = "".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        if re.search(rf"""["']{re.escape(claim_id)}["']""", code):
            found.append(nb)
    return found


def docs_anchor(claim_id: str) -> str:
    """The HTML id of a claim's section on its paper's docs page."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")


def _claim_view(claim, result, figure, links: _Links, math: MathSVG, problems: list) -> dict:
    def tex(text):
        return render_tex(text, math, problems)

    metrics = result.metrics
    declared = dict(claim.metrics)

    def row(name):
        m = declared.get(name)
        return {"name": name, "label": tex(m.label if m and m.label else name),
                "value": format_metric(metrics[name]) if name in metrics else None,
                "unit": tex(_unit(m.unit) if m else ""), "meaning": tex(m.meaning if m else "")}

    elapsed, elapsed_long = _time_texts(result.elapsed_s, result.cells)
    key_rows = [row(k) for k in claim.key_metrics]
    other_rows = [row(k) for k in [*declared, *metrics] if k not in claim.key_metrics and k in metrics]
    other_rows = list({r["name"]: r for r in other_rows}.values())
    criteria = [{"name": name, "paper": tex(c.paper) if c.paper else "",
                 "measured": tex(c.detail), "status": c.status}
                for name, c in result.criteria.items()]
    versions = {k: v for k, v in result.versions.items() if not k.startswith("code:")}
    code = {k[len("code:"):]: v for k, v in result.versions.items() if k.startswith("code:")}
    return {
        "id": claim.id, "anchor": claim.id, "title": tex(claim.title),
        "verdict": result.verdict, "exploratory": list(result.exploratory),
        "statement": tex(claim.statement),
        "assumptions": [tex(a) for a in claim.assumptions],
        "method": tex(claim.method), "scale_note": tex(claim.scale_note),
        "criteria": criteria, "key_rows": key_rows, "other_rows": other_rows,
        "key_summary": [(r["label"], format_metric(metrics[r["name"]], 4), r["unit"]) for r in key_rows
                        if r["name"] in metrics],
        "figure": figure, "scale": result.scale, "seed": result.seed,
        "params": [(k, format_metric(v)) for k, v in result.params.items()],
        "criteria_values": [(k, format_metric(v), k in result.exploratory) for k, v in result.criteria_values.items()],
        "backend": result.backend, "backend_requested": result.backend_requested,
        "cells": _cells_text(result.cells), "elapsed": elapsed, "elapsed_long": elapsed_long,
        "versions": list(versions.items()), "code": list(code.items()),
        "docs": f"{links.docs}/papers/{claim.paper}.html#{docs_anchor(claim.id)}" if links.docs else None,
        "notebooks": links.notebooks,
    }


def _figure_view(result, out: Path, warn) -> dict | None:
    from . import plots
    try:
        fig = plots.draw_figure(result, out)
    except Exception as exc:  # a figure function that cannot read this result must not sink the page
        warn(f"{result.claim}: its figure could not be drawn from the saved result ({type(exc).__name__}: {exc})")
        return {"src": None, "files": [], "error": f"{type(exc).__name__}: {exc}"}
    if fig is None:
        return None
    store = Store(out)
    svg = store.figure_path(result.claim, "svg").read_bytes()
    return {"src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
            "files": [(ext.upper(), store.figure_path(result.claim, ext).name) for ext in plots.FORMATS],
            "error": None}


def _hint(out: Path, scale: str | None) -> str:
    if scale is None and out.name in SCALES:
        scale = out.name
    command = "theorycheck check" + (f" --scale {scale}" if scale else "")
    default = Path("results") / scale if scale else None
    if default is None or out.resolve() != default.resolve():
        command += f" --out {out}"
    return command


def render_report(out, *, scale: str | None = None, docs_url: str | None = None, notebooks_dir=None,
                  warn=None) -> str:
    """The report's HTML for the results saved in ``out`` (figures are drawn and saved there).

    Raises :class:`~theorycheck.errors.InputError` when ``out`` holds no readable result.
    """
    import jinja2
    from .runner import load_result, recheck
    from .version import __version__

    out = Path(out)
    warnings: list[str] = []

    def _warn(message: str) -> None:
        warnings.append(message)
        (warn or (lambda m: print(f"theorycheck: warning: {m}", file=sys.stderr)))(message)

    store = Store(out)
    saved = store.saved_ids()
    papers = {p.key: p for p in list_papers()}
    known = {c.id for c in list_claims()}
    results = {}
    for cid in saved:
        if cid not in known:
            _warn(f"{store.result_path(cid)} skipped: no installed paper declares the claim {cid!r}")
            continue
        try:
            results[cid] = load_result(cid, out)
        except InputError as exc:
            _warn(f"{store.result_path(cid)} skipped: {exc}")
            continue
        mismatch = recheck(results[cid])
        if mismatch:  # a hand-edited or stale file: the page shows what the numbers give
            _warn(f"{store.result_path(cid)}: {mismatch}; the report shows the verdict its numbers give")
            again = get_claim(cid).verdict(dict(results[cid].metrics), dict(results[cid].params),
                                           dict(results[cid].criteria_values)) if "give" in mismatch else None
            if again is not None:
                results[cid] = results[cid].replace(
                    verdict=again.status,
                    criteria={k: {"status": c.status, "detail": c.text, "paper": c.paper}
                              for k, c in again.criteria.items()})
    if not results:
        raise InputError("--out", f"{out} has no saved results; run `{_hint(out, scale)}` first")

    docs = _find_docs(out, docs_url)
    nb_dir = _find_notebooks(notebooks_dir)
    problems: list[str] = []
    math = MathSVG()
    sections = []
    for key in sorted({r.paper for r in results.values()}):
        claims = []
        for cid in sorted(c for c in results if results[c].paper == key):
            claim, result = get_claim(cid), results[cid]
            nbs = [{"name": nb.name, "href": _relative(nb, out.resolve()),
                    "docs": f"{docs}/notebooks/{nb.stem}.html" if docs else None}
                   for nb in notebooks_for(cid, nb_dir)]
            figure = _figure_view(result, out, _warn)
            claims.append(_claim_view(claim, result, figure, _Links(docs, nbs), math, problems))
        paper = papers.get(key)
        sections.append({"key": key, "title": paper.title if paper else key, "claims": claims,
                         "docs": f"{docs}/papers/{key}.html" if docs else None})
    for tex in sorted(set(problems)):
        _warn(f"the formula ${tex}$ could not be typeset; it is shown as LaTeX source")
    counts = {v: sum(r.verdict == v for r in results.values()) for v in ("PASS", "FAIL", "INCONCLUSIVE")}
    env = jinja2.Environment(loader=jinja2.PackageLoader("theorycheck", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(
        papers=sections, counts=counts, total=len(results), warnings=warnings, out=str(out),
        scales=sorted({r.scale for r in results.values()}, key=lambda s: SCALES.index(s) if s in SCALES else 9),
        written=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), version=__version__, docs=docs,
        math_defs=math.defs())


def write_report(out, *, scale: str | None = None, docs_url: str | None = None, notebooks_dir=None) -> Path:
    """Write ``out/report.html`` from the results saved in ``out``; each figure is redrawn from its
    result and saved beside it (PNG 300 dpi, PDF, SVG).

    Parameters
    ----------
    out : path-like
        The output folder of a run (``results/<scale>`` by default).
    scale : str, optional
        Named in the hint when the folder holds no result (default: the folder's name, if a scale).
    docs_url : str, optional
        Where the built HTML docs are, to link each claim to its page (default:
        ``$THEORYCHECK_DOCS_URL``, else ``docs/_build[/html]`` under the working folder if built).
    notebooks_dir : path-like, optional
        Where the notebooks are (default: ``notebooks/`` under the working folder or the source tree).

    Raises
    ------
    InputError
        ``out`` holds no saved result (the CLI exits 2). A result file that cannot be read is skipped
        with a warning on the page and on stderr.
    """
    html = render_report(out, scale=scale, docs_url=docs_url, notebooks_dir=notebooks_dir)
    path = Store(out).report_path()
    atomic_write_bytes(path, html.encode())
    return path
