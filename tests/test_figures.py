"""Figures: style, files and readability.

Every registered claim's figure is drawn from its smoke result (one run per claim per session, shared
with the report and docs tests) and must have no overlapping text, no text cut off at the figure's
edge and no legend over data. The layout check itself is tested on figures made to fail it.
"""

import struct

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from theorycheck import plots, registry
from theorycheck.registry import Claim, Paper, Verdict
from theorycheck.result import Result

from _smoke import smoke_result

CLAIM_IDS = [c.id for c in registry.list_claims()]


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_figure_has_no_overlapping_text_clipped_text_or_legend_over_data(claim_id, tmp_path_factory):
    result = smoke_result(claim_id, tmp_path_factory)
    fig = plots.draw_figure(result)
    assert fig is not None, f"{claim_id} draws no figure"
    problems = plots.layout_problems(fig)
    assert not problems, f"{claim_id}:\n  " + "\n  ".join(problems)


# -- the layout check on figures made to fail it ---------------------------------------------------

def _fig(w=4.0, h=3.0):
    with plots.style():
        return Figure(figsize=(w, h), layout="constrained")


def test_layout_check_finds_overlapping_tick_labels():
    with plots.style():
        fig = _fig(2.0, 2.0)
        ax = fig.add_subplot()
        ax.bar(range(6), np.arange(6) + 1.0)
        ax.set_xticks(range(6), [f"a long method name {i}" for i in range(6)])
    problems = plots.layout_problems(fig)
    assert any("tick label" in p and "overlaps" in p for p in problems)


def test_layout_check_finds_a_legend_over_a_line_and_not_one_beside_it():
    x = np.linspace(0, 1, 50)
    with plots.style():
        fig = _fig()
        ax = fig.add_subplot()
        ax.plot(x, np.full_like(x, 0.9), label="high line")
        ax.plot(x, x * 0.1, label="low line")
        ax.set_ylim(0, 1)
        ax.legend(loc="upper right")
    assert any("legend covers data" in p and "high line" in p for p in plots.layout_problems(fig))
    with plots.style():
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    assert plots.layout_problems(fig) == []


def test_layout_check_finds_a_legend_over_markers_bars_and_bands():
    with plots.style():
        fig = _fig()
        ax1, ax2 = fig.subplots(1, 2)
        ax1.scatter([0.9], [0.9], label="point")
        ax1.fill_between([0, 1], [0, 0], [0.2, 0.2], label="band")
        ax1.set(xlim=(0, 1), ylim=(0, 1))
        ax1.legend(loc="upper right")
        ax2.bar([0, 1], [1.0, 0.2], label="bars")
        ax2.legend(loc="upper left")
    problems = plots.legends_over_data(fig)
    assert any("axes 0 legend" in p and "point" in p for p in problems)
    assert any("axes 1 legend" in p and "bars" in p for p in problems)


def test_layout_check_finds_a_title_cut_off_at_the_edge():
    with plots.style():
        fig = Figure(figsize=(2.0, 2.0))  # no constrained layout: the long title runs past the edge
        ax = fig.add_subplot()
        ax.set_title("a title far too long for a figure two inches wide")
    assert any("cut off" in p and "title" in p for p in plots.layout_problems(fig))


def test_place_legend_avoids_data_and_goes_outside_when_the_axes_are_full():
    x = np.linspace(0, 1, 50)
    with plots.style():
        fig = _fig()
        ax = fig.add_subplot()
        ax.plot(x, np.full_like(x, 0.95), label="top")
        ax.plot(x, 1 - x, label="diagonal")
        ax.set_ylim(0, 1)
        plots.place_legend(ax)
    assert plots.layout_problems(fig) == []
    with plots.style():
        full = _fig()
        ax = full.add_subplot()
        for y in np.linspace(0.02, 0.98, 25):
            ax.plot(x, np.full_like(x, y), color="0.5", label=f"{y:.2f}" if y < 0.1 else None)
        ax.set_ylim(0, 1)
        legend = plots.place_legend(ax)
    assert legend.get_bbox_to_anchor().x0 > ax.bbox.x1 - 1  # outside, right of the axes
    assert plots.layout_problems(full) == []


def test_log_ticks_are_readable_on_a_short_and_on_a_long_range():
    for lo, hi in ((20.0, 300.0), (1e-4, 1e2)):
        with plots.style():
            fig = _fig(2.5, 2.0)
            ax = fig.add_subplot()
            ax.plot([lo, hi], [1, 2])
            ax.set_xscale("log")
            plots.log_ticks(ax, "x")
        assert plots.text_overlaps(fig) == [], (lo, hi)
        labels = [t.get_text() for t in ax.xaxis.get_majorticklabels() if t.get_text()]
        assert len(labels) >= 2, (lo, hi, labels)


def test_table_figure_draws_paper_versus_measured_without_overlaps():
    with plots.style():
        fig = _fig(4.0, 1.6)
        table = plots.table_figure(fig, ["$N_s$", "the paper says", "measured", "verdict"],
                                   [[10, "50", 48.0, "PASS"], [100, "below 20", 31.5, "FAIL"]],
                                   title="Table 2, paper vs measured", row_status=["PASS", "FAIL"])
    assert table.get_celld()[(2, 2)].get_text().get_text() == "31.5"
    assert plots.layout_problems(fig) == []


# -- style and files ------------------------------------------------------------------------------

def _toy_measure(params, ctx):
    return {"metrics": {"mean": 1.0}, "series": {"x": [1.0, 2.0, 3.0]}}


def _toy_figure(result, fig):
    ax = fig.add_subplot()
    ax.plot(result.series["x"], "o-", label="x")
    plots.place_legend(ax)


TOY_PAPER = Paper(key="figtoy", title="Figure toy 2026", bibtex="@misc{figtoy}", claim_modules=())
TOY = Claim(id="figtoy.claim", title="toy", statement="a toy", assumptions=("none",), method="mean",
            scales={"smoke": {"n": 3}, "default": {"n": 5}, "paper": {"n": 8}},
            measure=_toy_measure, verdict=lambda m, p, c: Verdict.from_criteria(ok=(True, "ok")),
            figure=_toy_figure, key_metrics=("mean",))


@pytest.fixture
def toy_claim():
    with registry.registered(TOY_PAPER, TOY):
        yield TOY


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_draw_figure_writes_300_dpi_png_pdf_and_svg_in_the_style_without_touching_the_backend(toy_claim, tmp_path):
    from theorycheck import run_claim
    backend_before = matplotlib.rcParams._get_backend_or_none()
    result = run_claim(TOY.id)
    fig = plots.draw_figure(result, tmp_path)
    assert matplotlib.rcParams._get_backend_or_none() == backend_before
    assert _png_size((tmp_path / "figtoy.claim.png").read_bytes()) == (2100, 1080)  # 7 x 3.6 in at 300 dpi
    assert (tmp_path / "figtoy.claim.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in (tmp_path / "figtoy.claim.svg").read_bytes()[:1000]
    ax = fig.axes[0]
    assert ax.xaxis.get_gridlines()[0].get_visible()  # the style's grid, on an axes made in the figure function
    assert not ax.spines["top"].get_visible() and not ax.get_legend().get_frame_on()
    assert ax.get_lines()[0].get_color().lower() == plots.PALETTE[0].lower()
    assert fig.get_suptitle().startswith("figtoy.claim")
    assert plots.draw_figure(result, stamp=False).get_suptitle() == ""
    first = (tmp_path / "figtoy.claim.svg").read_bytes()
    plots.draw_figure(result, tmp_path)
    assert (tmp_path / "figtoy.claim.svg").read_bytes() == first  # no date in the files: equal figures, equal bytes


def test_importing_plots_sets_no_backend():
    import subprocess
    import sys
    code = ("import matplotlib, theorycheck.plots as p; from theorycheck import result; "
            "print(matplotlib.rcParams._get_backend_or_none())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "MPLBACKEND": ""})
    assert out.stdout.strip() == "None"


def test_stamp_uses_the_verdict_colour():
    res = Result(claim="figtoy.claim", paper="figtoy", title="t", statement="s", scale="smoke", verdict="FAIL",
                 criteria={}, metrics={}, series={}, params={}, criteria_values={}, exploratory=(), seed=3,
                 backend="numpy", backend_requested="numpy", elapsed_s=0.0, cells={}, versions={})
    fig = plots.new_figure()
    plots.stamp(fig, res)
    assert "seed 3" in fig.get_suptitle() and fig._suptitle.get_color() == plots.FAIL_COLOR


def test_a_drawn_figure_shows_itself_in_jupyter_without_pyplot(toy_claim):
    from IPython.core.formatters import DisplayFormatter
    from theorycheck import run_claim
    fig = plots.draw_figure(run_claim(TOY.id))
    data, metadata = DisplayFormatter().format(fig)
    assert _png_size(data["image/png"]) == (1400, 720)  # twice the screen resolution ...
    assert metadata["image/png"] == {"width": 700, "height": 360}  # ... shown at the figure's size
