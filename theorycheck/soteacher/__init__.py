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
    Module-level sweep cells.
stats
    Mean ± std, paired differences, Spearman, log-log slopes.
"""
