"""Neural tangent kernel of the two-layer ReLU network: closed forms, the empirical kernel of a finite
network, kernel regression and linearised (kernel) gradient descent, with a memory guard.

Modules
-------
kernels
    The infinite-width kernels in closed form: arc-cosine kernels and the ReLU NTK, in row blocks.
network
    The finite network in NTK parameterisation (:mod:`theorycheck.nets` layout): initialisation,
    forward pass, gradient descent, tangent features, the empirical NTK.
linearised
    Kernel regression and kernel gradient descent: the linearised student in function space.
inputs
    Points on the sphere, the bias coordinate, and the checks of points, generators and matrices.
memory
    The memory guard: an allocation above the budget is refused before it is made.
"""

from .inputs import augment_bias, unit_sphere
from .kernels import BLOCK_BYTES, LAYERS, arccos_kernel, relu_ntk, relu_ntk_diag
from .linearised import (KernelFit, KernelGD, kernel_gradient_descent, kernel_regression,
                         largest_eigenvalue)
from .memory import MEMORY_BUDGET_BYTES, check_kernel_memory
from .network import (empirical_ntk, empirical_ntk_sampling_error, init_ntk_network, ntk_features,
                      ntk_forward, ntk_gradient_descent, ntk_readout)

__all__ = ["MEMORY_BUDGET_BYTES", "BLOCK_BYTES", "LAYERS", "check_kernel_memory", "augment_bias",
           "arccos_kernel", "relu_ntk", "relu_ntk_diag", "init_ntk_network", "ntk_readout", "ntk_forward",
           "ntk_gradient_descent", "ntk_features", "empirical_ntk", "empirical_ntk_sampling_error",
           "KernelFit", "kernel_regression", "largest_eigenvalue", "KernelGD", "kernel_gradient_descent",
           "unit_sphere"]
