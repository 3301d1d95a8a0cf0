"""Drawing idioms shared by the SoTeacher figures: readable names of the teacher arms, their colours,
a dot plot of per-arm means with the arms' names on the y axis."""

from __future__ import annotations

import re

import numpy as np
from matplotlib.lines import Line2D

from ... import plots

#: What the abbreviations in the arms' names stand for (a legend title).
ABBREVIATIONS = "LR: Lipschitz regularisation; CR: consistency regularisation"

#: Colours of the kinds of teacher (Okabe-Ito; grey for the baselines without augmentation).
KIND_COLOURS = {"no augmentation": "#999999", "augmentation": plots.PALETTE[0], "SoTeacher": plots.PALETTE[2],
                "early-stopped / tempered": plots.PALETTE[4], "oracle": plots.PALETTE[6]}

#: error to p* on the training inputs, in the notation of the claims' statements
ERR_TO_P_STAR = r"$\frac{1}{N}\sum_i\|f(x_i)-p^*(x_i)\|_1$"


def arm_label(name: str, table: dict) -> str:
    """A readable name for a teacher arm: ``table`` first, then the tempered standard teacher
    ``standard-T<T>``, else the name itself."""
    if name in table:
        return table[name]
    tempered = re.fullmatch(r"standard-T(.+)", name)
    return f"standard, temperature {tempered.group(1)}" if tempered else name


def dot_rows(ax, labels, means, stds, colours, *, show_labels: bool = True):
    """Means (dots) and standard deviations (bars) of several arms, one row each, the first on top; with
    ``show_labels=False`` the rows are unnamed (a panel sharing its y axis with a named one)."""
    y = np.arange(len(labels))[::-1]
    for yi, mean, sd, c in zip(y, means, stds, colours):
        ax.errorbar(mean, yi, xerr=sd, fmt="o", ms=5, color=c, elinewidth=1)
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", labelleft=show_labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.grid(False, axis="y")
    return y


def kind_handles(kinds):
    """Legend handles (dot) for the kinds of teacher present, in the order of :data:`KIND_COLOURS`."""
    kinds = set(kinds)
    present = [k for k in KIND_COLOURS if k in kinds]
    return [Line2D([], [], ls="", marker="o", ms=5, color=KIND_COLOURS[k]) for k in present], present
