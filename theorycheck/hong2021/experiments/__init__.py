"""Sweep cells of the Hong et al. 2021 claims, and the computations that turn their outputs into
measured numbers.

Each module holds the cell functions of some claims, public and at module level (a sweep pickles
them to worker processes), with what they need; the claim declarations in
:mod:`theorycheck.hong2021.claims` build the cells, run them with
:meth:`~theorycheck.sweep.RunContext.map` and report what these functions return.

linear
    Theorems 1 and 2 (``hong2021.thm1``, ``hong2021.thm2``): gradient flows and minimisations of the
    two-layer linear student.
lasso
    Theorem 3 (``hong2021.thm3``): pooled LASSO students on shared samples, sample-complexity
    thresholds and their growth.
relu
    Fig. 2 and Fig. 6 (``hong2021.fig2``, ``hong2021.fig6``): teachers and one trained two-layer ReLU
    student per cell, resumable within the cell; the curves and metrics drawn from them.

The submodules are imported by name (``from theorycheck.hong2021.experiments import linear``); this
package imports none of them.
"""
