"""SoTeacher (Dong, Liu, Shang, ICLR 2024) in theorycheck: the mixed-feature data model, the official
Lipschitz and consistency regularisers, patch networks on :mod:`theorycheck.nets`, teacher and KD-student
training on :func:`theorycheck.train.sgd`, and the sweep cells of the ``soteacher.*`` claims.

Modules
-------
mixed_features
    World, sampling, :math:`p^*`, label-preserving augmentations, Bayes references.
invariant
    The invariant-extractor case: label frequencies, EM mixture MLE, Chebyshev radius.
regularisers
    ``lip1Loss`` (and a spectral variant), the consistency regulariser and its schedules.
patchnet
    Patch-shared MLP heads (pooled logits / averaged per-patch predictions) over ``nets.forward``.
training
    The SoTeacher objective and the training loop.
distill
    KD loss (gamma CE + alpha T^2 KL) and teacher callables (network, oracle, tempered).
evaluation
    Errors to :math:`p^*`, accuracies, Lipschitz estimates, robustness gap.
experiments
    The sweep cells (module level).
summaries
    From the cells' outputs to a claim's metrics and series.
claims/
    The claim declarations, one module per claim: scales, criteria, validation, measurement, verdict,
    figure.
"""

from ..registry import Paper

__all__ = ["PAPER"]

PAPER = Paper(
    key="soteacher",
    title="Dong, Liu, Shang — Toward Student-Oriented Teacher Network Training (SoTeacher)",
    bibtex="""@inproceedings{dong2024soteacher,
  title     = {Toward Student-Oriented Teacher Network Training for Knowledge Distillation},
  author    = {Dong, Chengyu and Liu, Liyuan and Shang, Jingbo},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024},
  note      = {arXiv:2206.06661}
}""",
    claim_modules=("theorycheck.soteacher.claims.invariant_erm", "theorycheck.soteacher.claims.lipschitz",
                   "theorycheck.soteacher.claims.consistency", "theorycheck.soteacher.claims.distill",
                   "theorycheck.soteacher.claims.checkpoints"),
)
