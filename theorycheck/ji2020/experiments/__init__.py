"""Sweep cells of the Ji & Zhu (2020) claims, and the constructions they share.

Every cell is a module-level function ``cell_fn(cell: dict, rng) -> dict`` run by
:meth:`theorycheck.sweep.RunContext.map` (the claims in :mod:`theorycheck.ji2020.claims` build the
cells and turn their outputs into metrics). Cells receive their random data through an integer
``cell["data_seed"]``, drawn once per seed by the claim's measurement from a direct stream
(``ctx.rng(part=..., seed=...)``), and build their generator with
:func:`theorycheck.seeding.substream`: several cells then share one teacher and one data set (one
teacher, many widths or soft ratios), and the run seed enters every cell's key. Only
:func:`~theorycheck.ji2020.experiments.linearisation.linearisation_cell` also draws from its own cell
generator ``rng`` (network initialisation).

The cells' work is elementwise arithmetic, matrix-vector products and factorisations of at most a
few thousand rows; the claims run them with one BLAS thread each (``blas_threads=1``) and get their
parallelism from running cells side by side (``--jobs``).

Modules
-------
setting
    The reconstructed setting the cells share: kernel-machine teachers on the sphere, nested data,
    the step size and the training targets.
effective_logit
    ``ji2020.effective_logit`` (Corollary 1): the effective logit and its jump.
linearisation
    ``ji2020.linearisation`` (Corollary 2): the finite network against its linearisations.
risk_bound
    ``ji2020.risk_bound`` (Result 1): transfer risk and its bound.
data_inefficiency
    ``ji2020.data_inefficiency`` (Result 2): soft and hard students, early-stopped teachers.
imperfect_teacher
    ``ji2020.imperfect_teacher`` (Result 3): the soft ratio of an imperfect teacher.

Their public names are re-exported here.

References
----------
Ji, G. and Zhu, Z. (2020). Knowledge Distillation in Wide Neural Networks: Risk Bound, Data
Efficiency and Imperfect Teacher. NeurIPS 33 (poster: Corollaries 1-2, Results 1-3).
"""

from .data_inefficiency import hard_student_cell, soft_students_cell, teacher_time_cell
from .effective_logit import effective_logit_cell, half_jump_reference
from .imperfect_teacher import cos_alpha_terms, imperfect_teacher_cell
from .linearisation import kernel_limit_cell, linearisation_cell, linearisation_data
from .risk_bound import risk_cell
from .setting import EPS, kernel_machine, step_size, targets, teacher_setting

__all__ = ["EPS", "kernel_machine", "step_size", "targets", "half_jump_reference", "linearisation_data",
           "teacher_setting", "cos_alpha_terms", "effective_logit_cell", "linearisation_cell",
           "kernel_limit_cell", "risk_cell", "soft_students_cell", "hard_student_cell",
           "teacher_time_cell", "imperfect_teacher_cell"]
