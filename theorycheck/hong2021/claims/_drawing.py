"""Drawing idioms shared by the Hong et al. 2021 figures: the
green / red / unresolved cell grid of Fig. 3 and Table 2, and the names of the data sets in words."""

from __future__ import annotations

from ...plots import FAIL_COLOR, PASS_COLOR

__all__ = ["cell_grid", "cell_grid_handles", "dataset_words"]

def cell_grid(ax, xs, ys, status, ratio, *, ms: float = 8.0) -> None:
    """The paper's Fig. 3 marks: a green dot where :math:`E_{st} \\le (1-\\delta)E_{base}`, a red cross where
    not, an open grey circle where the interval leaves it open; each cell labelled with
    :math:`E_{st}/E_{base}` above it. ``status[i][j]`` and ``ratio[i][j]`` belong to ``(xs[j], ys[i])``."""
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            st = status[i][j]
            if st == "green":
                ax.plot(x, y, "o", color=PASS_COLOR, ms=ms)
            elif st == "red":
                ax.plot(x, y, "x", color=FAIL_COLOR, ms=ms - 1, mew=2)
            else:
                ax.plot(x, y, "o", mfc="none", color="0.45", ms=ms, mew=1.2)
            ax.annotate(f"{ratio[i][j]:.2f}", (x, y), textcoords="offset points", xytext=(0, ms / 2 + 3),
                        ha="center", va="bottom", fontsize=7, color="0.25")


def cell_grid_handles(delta: float) -> tuple[list, list]:
    """Legend handles and labels for :func:`cell_grid`."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="none", marker="o", color=PASS_COLOR, ms=6),
               Line2D([], [], ls="none", marker="x", color=FAIL_COLOR, ms=6, mew=2),
               Line2D([], [], ls="none", marker="o", mfc="none", color="0.45", ms=6, mew=1.2)]
    labels = [f"$E_{{st}} \\leq (1-{delta:g})\\,E_{{base}}$", f"$E_{{st}} > (1-{delta:g})\\,E_{{base}}$",
              "unresolved (interval spans the margin)"]
    return handles, labels


def dataset_words(params) -> str:
    """The data set a regime experiment ran on, in words."""
    return {"synthetic": "a synthetic teacher-labelled task", "digits": "scikit-learn digits",
            "cifar10": "CIFAR-10 with a small MLP"}[params["dataset"]]
