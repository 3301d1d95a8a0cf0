"""The claims of Ji & Zhu (NeurIPS 2020), "Knowledge Distillation in Wide Neural Networks: Risk Bound,
Data Efficiency and Imperfect Teacher": one module per claim, each declaring its scales, criteria,
validation, measurement, verdict and figure and registering its :class:`~theorycheck.registry.Claim`.

effective_logit
    ``ji2020.effective_logit``: Corollary 1, the effective student logit and its jump at z_t = 0.
linearisation
    ``ji2020.linearisation``: Corollary 2, the wide network follows its NTK linearisation.
risk_bound
    ``ji2020.risk_bound``: Result 1, the transfer risk bound R_n <= p(pi/2 - alpha_n).
data_inefficiency
    ``ji2020.data_inefficiency``: Result 2, soft labels and early-stopped teachers.
imperfect_teacher
    ``ji2020.imperfect_teacher``: Result 3, the optimal soft ratio of an imperfect teacher is below 1.
common
    What the claims share: the note on their settings, parameter ranges, interval criteria.

Only the abstract, the poster and the reviews of the paper could be read: the effective logit
(Corollary 1), the linearised student (Corollary 2), the form of the risk bound and the qualitative
findings are the paper's; the precise conventions of the bound, the definition of data inefficiency,
the derivative formula's normalisation and every experimental setting are reconstructed for this
toolkit, and each claim says so where it uses them. The computations are in
:mod:`theorycheck.ji2020.experiments`.
"""

__all__: list[str] = []
