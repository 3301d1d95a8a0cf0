"""The claims of SoTeacher (Dong, Liu, Shang, ICLR 2024): does a Lipschitz, transformation-robust teacher
approximate the true label distribution of its training inputs, and does that make it a better teacher?
One module per claim, each declaring its scales, criteria, validation, measurement, verdict and figure
and registering its :class:`~theorycheck.registry.Claim`; all on the mixed-feature data model of
:mod:`theorycheck.soteacher.mixed_features`.

invariant_erm
    ``soteacher.invariant_erm``: the invariant-extractor case (Lemmas 3.3-3.5, Theorem 3.6).
lipschitz
    ``soteacher.lipschitz``: Lipschitz control of the teacher (Theorem 3.9, the LR half).
consistency
    ``soteacher.consistency``: augmentation + consistency regularisation, and the CR schedules
    (Theorem 3.9, the robustness half; Figure 2c).
distill
    ``soteacher.distill``: distillation from Standard / early-stopped / tempered / LR / CR / SoTeacher /
    oracle teachers, judged on student accuracy (Tables 1-2 analogue, with the reviewers' early-stopping
    baseline).
checkpoints
    ``soteacher.checkpoints``: students from checkpoints along standard training (Figure 1 analogue).
common
    The settings, seeds, validation, interval decisions and resource estimates the claims share.

The paper's Sections 3-5 were not available verbatim: the theorem statements checked here are the
toolkit's reconstruction of them (built to match the paper's claims); the method (Lipschitz and
consistency regularisers, schedules, KD loss) is exact from the official code. The computations are in
:mod:`theorycheck.soteacher.experiments`.
"""

__all__: list[str] = []
