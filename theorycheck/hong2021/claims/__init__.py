"""The claims of Hong, Mao, Lin, Chan 2021: one module per claim, each declaring its parameters per
scale, criteria, validation, measurement, verdict and figure and registering its
:class:`~theorycheck.registry.Claim`. The sweep cells are in :mod:`theorycheck.hong2021.experiments`.

thm1
    ``hong2021.thm1``: Theorem 1, gradient flows of the base and student-teacher losses end within
    C delta of each other (N_s < d_x).
thm2
    ``hong2021.thm2``: Theorem 2, their global minimisers share W* (N_s >= d_x).
thm3
    ``hong2021.thm3``: Theorem 3, N_s ~ g^2 log d_x samples suffice for the pooled-feature LASSO student.
fig2
    ``hong2021.fig2``: Fig. 2, early-stopped student-teacher learning beats zero-loss and base learning.
fig6
    ``hong2021.fig6``: Fig. 6, the student's test error grows with the pooling group size g.
fig3
    ``hong2021.fig3``: Fig. 3, the (N_t, N_s) operating regime of student-teacher learning.
table2
    ``hong2021.table2``: Table 2, the teacher must know more (larger N_t) as the noise grows.
_relu_common
    What fig2 and fig6 share: seeds of a repetition, validation, estimates, the student sweep and
    the rules that decide their verdicts.
_regime_common
    What fig3 and table2 share: one cell protocol, the grid measurement, the decisions of its cells
    and shapes, the notes on the substitute data.
_thm3_figure
    The figure of thm3.
_drawing
    Drawing idioms shared by the figures.
"""

__all__: list[str] = []
