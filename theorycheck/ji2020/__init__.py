"""Ji & Zhu 2020, "Knowledge Distillation in Wide Neural Networks: Risk Bound, Data Efficiency and
Imperfect Teacher" (NeurIPS).

ntk/
    Wide networks in the NTK regime: kernels, the finite network, linearised training and kernel
    regression.
kd
    The distillation loss, its effective logit (Corollary 1) and the risk bound.
experiments/
    Sweep cells of the claims (module-level functions), one module per claim, and the setting
    they share.
claims/
    The claim declarations, one module per claim: scales, criteria, validation, measurement,
    verdict, figure.
"""

from ..registry import Paper

__all__ = ["PAPER"]

PAPER = Paper(
    key="ji2020",
    title="Ji & Zhu 2020 — Knowledge Distillation in Wide Neural Networks",
    bibtex="""@inproceedings{ji2020knowledge,
  title     = {Knowledge Distillation in Wide Neural Networks: Risk Bound, Data Efficiency and Imperfect Teacher},
  author    = {Ji, Guangda and Zhu, Zhanxing},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  volume    = {33},
  year      = {2020},
  note      = {arXiv:2010.10090}
}""",
    claim_modules=("theorycheck.ji2020.claims.effective_logit", "theorycheck.ji2020.claims.linearisation",
                   "theorycheck.ji2020.claims.risk_bound", "theorycheck.ji2020.claims.data_inefficiency",
                   "theorycheck.ji2020.claims.imperfect_teacher"),
)
