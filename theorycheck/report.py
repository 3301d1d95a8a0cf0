"""One self-contained HTML page: every saved verdict, its measured numbers and its figure."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from .registry import get_claim, list_claims
from .store import Store, atomic_write_bytes

__all__ = ["write_report", "format_metric"]


def format_metric(value) -> str:
    """Compact text for a metric value (numbers to 4 significant digits)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_metric(v) for v in value[:8]) + (", …]" if len(value) > 8 else "]")
    return str(value)


def write_report(out) -> "Path":
    """Write ``out/report.html`` from the saved results in ``out``; figures are redrawn from them."""
    from . import plots
    from .runner import load_result

    store = Store(out)
    known = {c.id for c in list_claims()}
    ids = [i for i in store.saved_ids() if i in known]
    rows, sections, results = [], [], {}
    for cid in ids:
        result = load_result(cid, out)
        results[cid] = result
        claim = get_claim(cid)
        badge = f'<span class="{result.verdict.lower()}">{result.verdict}</span>'
        keym = ", ".join(f"{k}={format_metric(result.metrics[k])}" for k in claim.key_metrics
                         if k in result.metrics)
        rows.append(f'<tr><td><a href="#{cid}">{cid}</a></td><td>{badge}</td><td>{html.escape(keym)}</td>'
                    f'<td>{result.elapsed_s:.1f} s</td></tr>')
        fig = plots.draw_figure(result, out)
        img = ""
        if fig is not None:
            img = f'<img alt="figure of {cid}" src="data:image/png;base64,{base64.b64encode(plots.png_bytes(fig)).decode()}">'
        crit = "".join(f'<li class="{c.status.lower()}">{html.escape(name)}: '
                       f'{html.escape(c.detail)}</li>' for name, c in result.criteria.items())
        metrics = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(format_metric(v))}</td></tr>"
                          for k, v in result.metrics.items())
        sections.append(
            f'<section id="{cid}"><h2>{cid}: {html.escape(claim.title)} {badge}</h2>'
            f'<p class="stmt">{html.escape(claim.statement)}</p>'
            f'<p><b>How it is checked.</b> {html.escape(claim.method)}</p>'
            f'<p><b>Scale.</b> {html.escape(result.scale)}. {html.escape(claim.scale_note)}</p>'
            f'<ul>{crit}</ul>{img}<details><summary>measured numbers</summary><table>{metrics}</table>'
            f'</details></section>')
    n_pass = sum(1 for r in results.values() if r.passed)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>theorycheck report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse}}td{{border:1px solid #ddd;padding:2px 8px;font-size:90%}}
.pass{{color:#2a9d4b;font-weight:bold}}.fail{{color:#c0392b;font-weight:bold}}
.inconclusive{{color:#b7791f;font-weight:bold}}img{{max-width:100%}}
.stmt{{background:#f6f6f6;padding:.5em}}</style></head><body>
<h1>theorycheck report</h1><p>{n_pass} of {len(ids)} claims pass. Results from <code>{html.escape(str(out))}</code>, written {stamp}.</p>
<table><tr><th>claim</th><th>verdict</th><th>key numbers</th><th>time</th></tr>{''.join(rows)}</table>
{''.join(sections)}</body></html>"""
    path = store.report_path()
    atomic_write_bytes(path, page.encode())
    return path
