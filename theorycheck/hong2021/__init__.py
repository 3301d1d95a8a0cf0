"""Hong, Mao, Lin, Chan 2021, "Student-Teacher Learning from Clean Inputs to Noisy Inputs" (CVPR).

The paper's mathematics and experiments, and its claims:

linear/
    Two-layer linear students (Theorems 1 and 2): closed forms, gradient flow, minimisation.
lasso/
    The linear-regression view of Theorem 3 (Eq. (7)): group LASSO students and teachers.
relu/
    Wide two-layer ReLU networks (Fig. 2 and Fig. 6): exact population error, the simulator,
    training.
mlp, datasets
    The MLP of the operating-regime experiments (Fig. 3, Table 2) and its data.
experiments/
    Sweep cells of the claims (module-level functions).
claims/
    The claim declarations, one module per claim: measurement, verdict, figure.
"""

from ..registry import Paper

__all__ = ["PAPER"]

PAPER = Paper(
    key="hong2021",
    title="Hong, Mao, Lin, Chan 2021 — Student-Teacher Learning from Clean Inputs to Noisy Inputs",
    bibtex="""@inproceedings{hong2021student,
  title     = {Student-Teacher Learning from Clean Inputs to Noisy Inputs},
  author    = {Hong, Guanzhe and Mao, Zhiyuan and Lin, Xiaojun and Chan, Stanley H.},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {12075--12084},
  year      = {2021},
  note      = {arXiv:2103.07600}
}""",
    claim_modules=("theorycheck.hong2021.claims.thm1", "theorycheck.hong2021.claims.thm2",
                   "theorycheck.hong2021.claims.thm3", "theorycheck.hong2021.claims.fig2",
                   "theorycheck.hong2021.claims.fig6", "theorycheck.hong2021.claims.fig3",
                   "theorycheck.hong2021.claims.table2", "theorycheck.hong2021.relu.bench"),
)
