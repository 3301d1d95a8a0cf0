"""What a reader of an executed notebook sees: every cell that draws shows its figure (once), and the
C·δ notebook's sliders work with ipywidgets and fall back to a static figure without it.

nbmake (the test command) checks that the notebooks run; these tests look at their outputs. The
notebook is copied into a temporary folder and executed there with nbclient (the kernel's working
directory is that folder and the notebooks run their claims with ``out=None``), so nothing is
written into the repository; the tests check that the notebooks folder and the repository's top
level are unchanged. The kernel imports the theorycheck of this checkout (its root goes first on
the kernel's ``PYTHONPATH``) and starts with Jupyter's default matplotlib backend, as in a notebook
server (an ``MPLBACKEND`` of the test process is not passed on).
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
C_DELTA = NOTEBOOKS / "hong2021_thm1_C_delta.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# A top-level statement (not a definition, not a comment) that makes a figure: the toolkit's
# draw_figure / new_figure, a notebook's own ``..._figure(`` helper, or pyplot's subplots / figure.
# Each such statement must show exactly one PNG: none means the figure was only made (or only
# saved), two means it was shown twice (a pyplot figure both flushed and returned, for instance).
_MAKES_FIGURE = re.compile(r"^(?!def |class |#)\S.*?(\w*_figure\(|\bplt\.(subplots|figure)\()")


def _figures_expected(cell) -> int:
    return sum(1 for line in cell.source.splitlines() if _MAKES_FIGURE.match(line))


def _pngs(outputs) -> int:
    return sum(1 for o in outputs if "image/png" in o.get("data", {}))


def _text(outputs) -> str:
    return "".join(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                   for o in outputs)


def _snapshot():
    """Names, sizes and modification times under notebooks/, and the repository's top-level names."""
    files = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in NOTEBOOKS.rglob("*") if p.is_file()}
    return files, sorted(p.name for p in ROOT.iterdir())


def _execute(path: Path, tmp_path: Path, *, first=None, last=None, keep=None):
    """Execute a copy of the notebook at ``path`` in ``tmp_path``; return the executed notebook.

    ``first`` / ``last``: code put in a cell before / after the notebook's cells. ``keep``: a
    predicate on the notebook's cells; only the cells it keeps are executed."""
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    cells = [c for c in nb.cells if keep is None or keep(c)]
    nb.cells = ([nbformat.v4.new_code_cell(first)] if first else []) + cells + (
        [nbformat.v4.new_code_cell(last)] if last else [])
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    before = _snapshot()
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    assert _snapshot() == before, "executing the notebook wrote into the repository"
    return nb


def _check_figures(nb) -> list:
    """Every code cell shows as many PNGs as it makes figures; returns the cells that draw."""
    drawing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        expected, shown = _figures_expected(cell), _pngs(cell.outputs)
        assert shown == expected, (f"cell {i} makes {expected} figure(s) but shows {shown} PNG(s):\n"
                                   f"{cell.source[:300]}")
        if expected:
            drawing.append(cell)
    assert drawing, "no cell of the notebook draws"
    return drawing


def _explorer_cells(nb):
    """The C·δ notebook's explorer (section 3): the cell that draws the default figure and the
    sliders' cell (the one importing ipywidgets), which follow the section's heading."""
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## 3. Explore" in c.source)
    sliders = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "import ipywidgets" in c.source)
    assert start + 2 == sliders, "the explorer is expected as: heading cell, default figure, sliders"
    return nb.cells[start + 1], nb.cells[sliders]


# Moves the four sliders (the last one below N_s, so the width is raised); the redraw times are printed
# for whoever reads the test's output, never asserted (no timing assertions in tests).
MOVE_SLIDERS = """
import json as _json, time as _time
_redraw_s = []
for _name, _value in [("delta", 1e-2), ("lam", 10.0), ("ratio", 0.8), ("m", 4)]:
    _t = _time.perf_counter()
    sliders[_name].value = _value
    _redraw_s.append(_time.perf_counter() - _t)
print("REDRAW_S", _json.dumps(_redraw_s))
"""


def test_c_delta_notebook_with_ipywidgets_shows_the_static_figure_then_working_sliders(tmp_path):
    pytest.importorskip("ipywidgets")
    nb = _execute(C_DELTA, tmp_path, last=MOVE_SLIDERS)
    _check_figures(nb)
    static, sliders = _explorer_cells(nb)
    assert _pngs(static.outputs) == 1  # the default figure, a plain output: shown in the docs and by nbmake
    assert [o.output_type for o in sliders.outputs] == ["display_data"]
    assert WIDGET_VIEW in sliders.outputs[0].data and "pip install" not in _text(sliders.outputs)
    # the figure under the sliders, after four redraws: one PNG, no traceback
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    areas = [m["state"].get("outputs", []) for m in state.values() if m["model_name"] == "OutputModel"]
    assert len(areas) == 1
    assert [o["output_type"] for o in areas[0]] == ["display_data"] and "image/png" in areas[0][0]["data"]
    redraw_s = json.loads(_text(nb.cells[-1].outputs).split("REDRAW_S", 1)[1])
    print("redraw seconds:", [round(t, 2) for t in redraw_s])
    assert len(redraw_s) == 4, redraw_s  # every slider move ran its callback


def test_c_delta_notebook_without_ipywidgets_draws_the_static_figure_and_says_how_to_get_sliders(tmp_path):
    # A first cell makes `import ipywidgets` fail. Only the imports and the explorer's two code cells
    # run: the rest of the notebook does not use ipywidgets (nbmake and the test above run it all).
    nb = nbformat.read(C_DELTA, as_version=4)
    imports = next(c for c in nb.cells if c.cell_type == "code")
    run = {imports.source, *(c.source for c in _explorer_cells(nb))}
    nb = _execute(C_DELTA, tmp_path, first="import sys\nsys.modules['ipywidgets'] = None",
                  keep=lambda c: c.cell_type == "code" and c.source in run)
    assert len(nb.cells) == 4
    _check_figures(nb)
    static, sliders = nb.cells[2], nb.cells[3]
    assert _pngs(static.outputs) == 1
    assert [o.output_type for o in sliders.outputs] == ["stream"]
    assert "pip install ipywidgets" in _text(sliders.outputs)
    assert "widgets" not in nb.metadata
