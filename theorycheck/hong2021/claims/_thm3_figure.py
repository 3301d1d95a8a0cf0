"""The figure of ``hong2021.thm3`` (:mod:`theorycheck.hong2021.claims.thm3`): the test error over the
optimum against N_s for every g and the base student, N* against g and against s, and the N* table;
and the number format (n/a for a missing number) that the figure shares with the verdict's sentences."""

from __future__ import annotations

import math

import numpy as np

from ...plots import footnote

__all__: list[str] = []


def _fmt(x, spec=".3g"):
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


_S_MARKERS = "os^vD<>"


def _g_colors(g_values):
    """One colour per group size g, ordered (viridis, its faint yellow end left out)."""
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return {g: cmap(0.8 * i / max(1, len(g_values) - 1)) for i, g in enumerate(g_values)}


def _d_handles(d_values):
    """Legend entries for the line styles of d_x: solid the largest, dotted the others."""
    from matplotlib.lines import Line2D
    return ([Line2D([], [], color="0.3", ls="-" if d == max(d_values) else ":") for d in sorted(d_values)[::-1]],
            [f"$d_x = {d}$" for d in sorted(d_values)[::-1]])


def _figure_curves(ax, result, s, d, colors, first: bool) -> None:
    """Top row: test error over the optimum against N_s for every g and the base student."""
    from ...plots import log_ticks, place_legend
    ser, eta = result.series, result.metrics["eta"]
    N = np.asarray(ser["N_values"], dtype=float)
    curves = {(c["s"], c["d"], c["g"]): c for c in ser["curves"]}
    for g in list(ser["g_values"]) + ["base"]:
        c = curves[(s, d, g)]
        kw = ({"color": "k", "ls": "--", "marker": "s", "label": "base student (targets only)"} if g == "base"
              else {"color": colors[g], "marker": "o", "label": f"$g = {g}$"})
        ax.errorbar(N, c["mean_ratio"], yerr=c["se_ratio"], ms=3, lw=1.2, capsize=2, **kw)
    ax.axhline(1.0, color="0.45", lw=1, label="optimum $\\sigma_\\epsilon^2\\|\\beta^*\\|_2^2/(1+\\sigma_\\epsilon^2)$")
    ax.axhline(1.0 + eta, color="0.45", lw=1, ls=":", label=f"$(1+\\eta)\\times$ optimum, $\\eta = {eta:g}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_ticks(ax, "both")
    ax.set_title(f"Theorem 3: $s = {s}$, $d_x = {d}$", fontsize=9)
    ax.set_xlabel("$N_s$ (noisy training samples)")
    if first:
        ax.set_ylabel("test error / optimum")
        place_legend(ax, fontsize=6.5)


def _figure_N_star_vs_g(ax, result) -> None:
    """Bottom left: N* against g per (s, d_x); stars: the base student, drawn at g = s."""
    from matplotlib.lines import Line2D
    from ...plots import log_ticks, place_legend
    ser = result.series
    rows, s_values, d_values = ser["threshold_table"], list(ser["s_values"]), list(ser["d_values"])
    g_values = list(ser["g_values"])
    for i, s in enumerate(s_values):
        for d in d_values:
            pts = [(r["g"], r["N_star"]) for r in rows
                   if r["s"] == s and r["d"] == d and r["g"] != "base" and r["N_star"] is not None]
            base = [r["N_star"] for r in rows if r["s"] == s and r["d"] == d and r["g"] == "base"]
            if pts:
                ax.plot(*zip(*pts), marker=_S_MARKERS[i % len(_S_MARKERS)], ls="-" if d == max(d_values) else ":",
                        color=f"C{i}")
            if base and base[0] is not None:
                ax.plot([s], base, marker="*", ms=10, color=f"C{i}", ls="none")
    ref = [r["N_star"] for r in rows if r["g"] == min(g_values) and r["N_star"] is not None]
    gg = np.array([min(g_values), max(s_values)], dtype=float)
    handles = [Line2D([], [], color=f"C{i}", marker=_S_MARKERS[i % len(_S_MARKERS)]) for i in range(len(s_values))]
    labels = [f"$s = {s}$" for s in s_values]
    if ref:
        y0 = float(np.median(ref))
        ax.plot(gg, y0 * (gg / gg[0]), color="0.5", lw=0.8, ls="--")
        ax.plot(gg, y0 * (gg / gg[0]) ** 2, color="0.5", lw=0.8, ls="-.")
        handles += [Line2D([], [], color="0.5", lw=0.8, ls="--"), Line2D([], [], color="0.5", lw=0.8, ls="-.")]
        labels += ["$\\propto g$", "$\\propto g^2$"]
    dh, dl = _d_handles(d_values)
    handles += dh + [Line2D([], [], color="0.3", marker="*", ms=8, ls="none")]
    labels += dl + ["base student, at $g = s$"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_ticks(ax, "both")
    ax.set_xlabel("$g$ (teacher neurons per group)")
    ax.set_ylabel("$N^*$: $N_s$ needed for $(1+\\eta)\\times$ optimum")
    ax.set_title(f"Theorem 3: $N^*$ vs $g$ (fitted exponent {_fmt(result.metrics['slope_g'])})", fontsize=9)
    place_legend(ax, handles, labels, fontsize=6.5)


def _figure_N_star_vs_s(ax, result, colors) -> None:
    """Bottom right: N* against s for every g (independent of s) and for the base student (Omega(s))."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter
    from ...plots import log_ticks, place_legend
    ser = result.series
    rows, s_values, d_values = ser["threshold_table"], list(ser["s_values"]), list(ser["d_values"])
    g_values = list(ser["g_values"])
    for g in g_values + ["base"]:
        for d in d_values:
            pts = [(r["s"], r["N_star"]) for r in rows if r["g"] == g and r["d"] == d and r["N_star"] is not None]
            if pts:
                kw = {"color": "k", "marker": "*", "ms": 9} if g == "base" else {"color": colors[g], "marker": "o"}
                ax.plot(*zip(*pts), ls="-" if d == max(d_values) else ":", **kw)
    handles = [Line2D([], [], color=colors[g], marker="o") for g in g_values]
    handles += [Line2D([], [], color="k", marker="*", ms=8)]
    labels = [f"$g = {g}$" for g in g_values] + ["base student"]
    dh, dl = _d_handles(d_values)
    ax.set_xscale("log")
    ax.set_yscale("log")
    found = [r["N_star"] for r in rows if r["N_star"] is not None]
    if found:  # room under the lowest curve for the legend
        ax.set_ylim(min(found) / 6, max(found) * 1.4)
    log_ticks(ax, "y")
    ax.set_xticks(s_values, [str(v) for v in s_values])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("$s$ (non-zeros of $\\beta^*$)")
    ax.set_ylabel("$N^*$")
    ax.set_title("Theorem 3: $N^*$ vs $s$ (base student: $\\Omega(s)$)", fontsize=9)
    place_legend(ax, handles + dh, labels + dl, fontsize=6.5, ncols=2)


def _figure_N_star_table(ax, result) -> None:
    """The N* table, when a third column of panels leaves room for it."""
    from ...plots import table_figure
    ser = result.series
    n_max = max(ser["N_values"])
    rows = []
    for s in ser["s_values"]:
        for d in ser["d_values"]:
            vals = result.metrics[f"N_star_s{s}_d{d}"]
            rows.append([str(s), str(d)] + [f"> {n_max}" if v is None else f"{v:.0f}" for v in vals])
    header = ["$s$", "$d_x$"] + [f"$g = {g}$" if g != "base" else "base" for g in ser["columns_N_star"]]
    table_figure(ax, header, rows, title="Theorem 3: $N^*$ per $(s, d_x)$", fontsize=7)


def _figure(result, fig) -> None:
    ser, p = result.series, result.params
    s_values, d_values = list(ser["s_values"]), list(ser["d_values"])
    ncol = max(len(s_values), 2)
    fig.set_size_inches(3.3 * ncol, 6.8)
    gs = fig.add_gridspec(2, ncol)
    colors = _g_colors(list(ser["g_values"]))
    # the footnote first: the panels' legends are then placed in the final layout
    footnote(fig, "Reconstructed experiment (the paper's own runs for Theorem 3 are in its supplement, not "
                  "available): the pooled-feature LASSO student of Eq. (7) against the base LASSO student "
                  "(targets only; with $g = s$ the pooled student is the base student); "
                  f"$\\sigma_\\epsilon = {p['sigma']:g}$, {p['seeds']} seeds, error bars: standard error over "
                  "seeds; $N^*$: the $N_s$ from which the seed-mean error stays within $(1+\\eta)\\times$ optimum.")
    for j, s in enumerate(s_values):
        _figure_curves(fig.add_subplot(gs[0, j]), result, s, max(d_values), colors, j == 0)
    _figure_N_star_vs_g(fig.add_subplot(gs[1, 0]), result)
    _figure_N_star_vs_s(fig.add_subplot(gs[1, 1]), result, colors)
    if ncol > 2:
        _figure_N_star_table(fig.add_subplot(gs[1, 2:]), result)
