"""What every Ji & Zhu (2020) claim says about its settings."""

__all__ = ["PAPER_NOTE"]

#: Appended to every claim's ``scale_note``.
PAPER_NOTE = ("The paper's own experimental settings (architecture, widths, sample sizes, grids) were "
              "not recovered; every scale here uses the digest's reconstructed settings (§4).")
