r"""The pooled student-teacher LASSO of Hong et al. 2021, Section 5 (Eq. (7), Theorem 3).

The student sees noisy inputs :math:`z_i = x_i + \epsilon_i`, the teacher clean ones :math:`x_i`.
The simplified student-teacher loss, Eq. (7), with the :math:`\ell_1` penalty the paper adds to the
student ("we impose an :math:`\ell_1`-regularization onto the student so that it becomes a LASSO"; its
placement is not given; the form below is our reconstruction), is

.. math::

    F(W_1) = \sum_{i=1}^{N} \big\|P\,[\sigma(W_1 z_i) - \sigma(\widetilde W_1 x_i)]\big\|_2^2
             + \sum_{j=1}^{m} \lambda_{k(j)} \|[W_1]_{j,:}\|_1 ,                          \tag{7+}

with :math:`P \in \{0,1\}^{(m/g)\times m}` summing consecutive blocks of :math:`g` neurons
(:func:`theorycheck.nets.pooling_matrix`), :math:`k(j)` the group of neuron :math:`j`, and
:math:`W_2 = \widetilde W_2` frozen (it does not enter Eq. (7); it only maps the student to its output
:math:`\widetilde W_2 P \sigma(W_1 z)`).

**Reduction (identity activation; derived for this toolkit).** Then :math:`P W_1 z_i = V z_i` with
:math:`V = P W_1` of shape (m/g, d), and :math:`\min\{\sum_{j\in G_k}\|[W_1]_j\|_1 : \sum_{j\in G_k}
[W_1]_j = v_k\} = \|v_k\|_1` (triangle inequality; equality when the neurons of a group share signs
coordinate-wise, e.g. :math:`[W_1]_j = v_k/g`). So minimising (7+) over :math:`W_1` is exactly
:math:`m/g` independent LASSO problems, one per group,

.. math::

    \min_{v_k \in \mathbb R^d}\ \sum_{i=1}^N \big(v_k^T z_i - t_{ik}\big)^2 + \lambda_k \|v_k\|_1,
    \qquad t_{ik} = \textstyle\sum_{j\in G_k} [\widetilde W_1 x_i]_j = u_k^T x_i,\quad
    u_k = [P\widetilde W_1]_{k,:}.

**Map to scikit-learn.** :class:`sklearn.linear_model.Lasso` minimises
:math:`\frac{1}{2N}\|t - Z v\|_2^2 + \alpha\|v\|_1`. Dividing the paper's group objective by
:math:`2N` gives exactly this with

.. math:: \alpha_k = \lambda_k / (2N),

and the paper's objective value is :math:`2N` times sklearn's (so is the duality gap). (With the
half-squared convention :math:`\frac12\|t-Zv\|^2 + \lambda\|v\|_1` used by benchopt the map would be
:math:`\alpha = \lambda/N`; Eq. (7) has no 1/2, hence the factor 2.)

**Gaussian picture.** For :math:`x \sim N(0, I)`, :math:`\epsilon \sim N(0,
\sigma^2 I)` and :math:`c = 1 + \sigma^2`: :math:`u_k^T x = (u_k/c)^T z + e_k` with :math:`e_k` independent
of :math:`z`, :math:`\mathrm{Var}\, e_k = \sigma_{e,k}^2 = \sigma^2\|u_k\|^2/c` and
:math:`\mathrm{Cov}\,z = cI`. Each group is an ordinary sparse regression with true coefficient
:math:`u_k/c` (as sparse as :math:`u_k`: :math:`g` non-zeros for the Theorem 3 teacher) and noise level
:math:`\sigma_{e,k}`.

**Penalty rule** (:func:`~theorycheck.hong2021.lasso.problem.theory_alpha`). :math:`\alpha_k = \kappa\,\sqrt{c}\,\sigma_{e,k}\,
\sqrt{2\log d / N}`: the size of :math:`\|Z^T e_k\|_\infty / N`, the maximum of :math:`d` centred
Gaussians of standard deviation :math:`\sqrt{c}\,\sigma_{e,k}/\sqrt N`, which is the level a LASSO
penalty must exceed for the standard error bounds (Bickel, Ritov & Tsybakov 2009 take
:math:`\kappa = 2`; :math:`\kappa=1` is the "universal threshold"). It uses the oracle noise level
(the teacher and :math:`\sigma` are known in the check); :func:`~theorycheck.hong2021.lasso.solvers.fit_group_lassos_cv` is the
data-driven alternative (:class:`sklearn.linear_model.LassoCV`).

Conventions: samples are rows (``Z`` has shape (N, d)), float64 throughout.

Modules
-------
problem
    The Theorem 3 teacher and data: :math:`\beta^*`, the teacher, the pooled targets
    :math:`u_k^T x`, the noise levels :math:`\sigma_{e,k}` and the penalty rule :func:`~theorycheck.hong2021.lasso.problem.theory_alpha`.
solvers
    :class:`~theorycheck.hong2021.lasso.solvers.LassoFit` and the per-group LASSO solvers (:class:`sklearn.linear_model.Lasso` with an
    explicit duality-gap check; :class:`sklearn.linear_model.LassoCV`).
students
    The students of Theorem 3: the pooled student of Eq. (7) through its reduction to group LASSOs
    (:class:`~theorycheck.hong2021.lasso.students.PooledStudent`, :func:`~theorycheck.hong2021.lasso.students.fit_pooled_student`) and the base student (:func:`~theorycheck.hong2021.lasso.students.fit_base_student`).
objective
    The objective (7+) for any activation and its duality-gap certificate (identity activation).
closed_forms
    Exact test errors of a linear student and the optimal (Bayes) test error.

The names are re-exported here (``from theorycheck.hong2021 import lasso; lasso.fit_pooled_student``).

References
----------
Hong, Mao, Lin, Chan (2021). Student-Teacher Learning from Clean Inputs to Noisy Inputs. CVPR.
Section 5, Eq. (7), Theorem 3.
"""

from .closed_forms import linear_test_error, optimal_test_error
from .objective import pooled_objective_dual_gap, pooled_st_objective
from .problem import (draw_sparse_beta, group_noise_std, group_targets, group_teacher_vectors,
                      theorem3_teacher, theory_alpha)
from .solvers import DEFAULT_MAX_ITER, DEFAULT_TOL, LassoFit, fit_group_lassos, fit_group_lassos_cv
from .students import PooledStudent, fit_base_student, fit_pooled_student, spread_over_groups

__all__ = ["LassoFit", "PooledStudent", "draw_sparse_beta", "theorem3_teacher", "group_teacher_vectors",
           "group_targets", "group_noise_std", "theory_alpha", "fit_group_lassos", "fit_group_lassos_cv",
           "fit_pooled_student", "fit_base_student", "pooled_st_objective", "pooled_objective_dual_gap",
           "optimal_test_error", "linear_test_error", "spread_over_groups", "DEFAULT_TOL", "DEFAULT_MAX_ITER"]
