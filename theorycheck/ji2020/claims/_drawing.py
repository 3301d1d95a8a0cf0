"""Drawing idioms shared by the Ji & Zhu figures: the paper's notation for axis labels and legend
entries, one colour per soft ratio across panels (the legend under the panels is plots.legend_below)."""

from __future__ import annotations

from ... import plots

#: Axis labels in the paper's notation.
RHO_AXIS = r"soft ratio $\rho$"
N_AXIS = r"training samples $n$"
ZT_AXIS = r"teacher logit $z_t$"


def rho_text(rho) -> str:
    r"""``$\rho=0.5$``."""
    return rf"$\rho={float(rho):g}$"


def rho_colours(rhos) -> dict:
    """One colour of the colour-blind-safe palette per soft ratio (black is kept for references)."""
    palette = [c for c in plots.PALETTE if c != "#000000"]
    return {float(r): palette[k % len(palette)] for k, r in enumerate(rhos)}
