"""Two-layer linear students of Hong et al. 2021 (Theorems 1 and 2): closed forms, gradient flow as
an ODE, and numerical minimisation. Pure functions of float64 arrays; the networks and losses are
those of :mod:`theorycheck.nets`.

Modules
-------
closed_forms
    :math:`W^\\star` of Eq. (5), the minimum-norm interpolator, the projector :math:`\\Pi`, the exact
    limit identity of gradient flow, exact linear test errors and the Saxe mode trajectory.
problems
    Data and teachers for the two theorems (interpolating teachers, any teacher activation).
flow
    :func:`~theorycheck.hong2021.linear.flow.gradient_flow`: ``solve_ivp`` on :math:`\\dot\\theta =
    -\\nabla \\hat L`, run until convergence to a zero-loss minimiser.
minimise
    :func:`~theorycheck.hong2021.linear.minimise.minimise_lbfgs`: L-BFGS on Eq. (1)/(2), with a certificate
    bounding the distance of the end-to-end matrix to :math:`W^\\star`.
"""

from .closed_forms import (balanced_mode_trajectory, bayes_error_linear, expected_error_min_norm,
                           expected_error_ols, gram_condition, limit_identity, linear_test_error,
                           min_norm_interpolator, ols_end_to_end, row_space_projector)
from .flow import ODE_METHODS, FlowResult, gradient_flow
from .minimise import MinimiseResult, end_to_end_certificate, minimise_lbfgs
from .problems import (TEACHER_ACTIVATIONS, Instance, interpolating_second_layer, scaled_init,
                       teacher_features, thm1_instance, thm2_instance)

__all__ = ["balanced_mode_trajectory", "bayes_error_linear", "expected_error_min_norm",
           "expected_error_ols", "gram_condition", "limit_identity", "linear_test_error",
           "min_norm_interpolator", "ols_end_to_end", "row_space_projector", "ODE_METHODS",
           "FlowResult", "gradient_flow", "MinimiseResult", "end_to_end_certificate", "minimise_lbfgs",
           "TEACHER_ACTIVATIONS", "Instance", "interpolating_second_layer", "scaled_init",
           "teacher_features", "thm1_instance", "thm2_instance"]
