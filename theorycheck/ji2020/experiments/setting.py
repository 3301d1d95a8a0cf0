"""The setting the sweep cells share, and the constructions it is made of.

Common setting (reconstructed for this toolkit: the paper's settings were not available): inputs
uniform on the sphere :math:`S^{d-1}`; teacher and ground truth are kernel machines
:math:`z(x)=\\sum_j c_j\\Theta(x,u_j)` of the two-layer bias-free ReLU NTK
(:func:`theorycheck.ji2020.ntk.kernels.relu_ntk`), so they lie in the student's feature space; the
student is that network's infinite-width NTK except in
:func:`~theorycheck.ji2020.experiments.linearisation.linearisation_cell`, which trains the finite
network.

Here: the kernel-machine teacher (:func:`kernel_machine`), the teacher and nested inputs of the
risk experiments (:func:`teacher_setting`), the step size of function-space gradient descent
(:func:`step_size`) and the training targets of the converged student (:func:`targets`).
"""

from __future__ import annotations

import numpy as np

from .. import kd, ntk

__all__ = ["EPS", "kernel_machine", "step_size", "targets", "teacher_setting"]


#: Machine epsilon of float64.
EPS = np.finfo(np.float64).eps


def kernel_machine(rng: np.random.Generator, d: int, n_centres: int, c_std: float):
    """A kernel machine :math:`z(x)=\\sum_j c_j\\Theta(x,u_j)` of the NTK: the teacher and the ground truth
    of the reconstructed settings.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the centres first, then the coefficients.
    d : int
        Input dimension.
    n_centres : int
        Number of centres :math:`J`.
    c_std : float
        Standard deviation of the coefficients, :math:`c_j\\sim\\mathcal N(0, c_{std}^2)`.

    Returns
    -------
    U : ndarray of shape (n_centres, d)
        Centres :math:`u_j`, uniform on :math:`S^{d-1}`.
    c : ndarray of shape (n_centres,)
        Coefficients :math:`c_j`.
    """
    return ntk.unit_sphere(n_centres, d, rng), c_std * rng.standard_normal(n_centres)


def step_size(K: np.ndarray, rho: float, T: float, factor: float) -> float:
    """Step size of function-space gradient descent on the mean KD loss,
    :math:`\\eta = \\text{factor}\\cdot 8n/(\\lambda_{\\max}(K)\\,(\\rho/T^2+1-\\rho))`.

    The mean KD loss (Ji & Zhu 2020, poster "Problem Setup") has Hessian in the outputs at most
    :math:`(\\rho/T^2+1-\\rho)/(4n)` (:math:`\\sigma'\\le 1/4`), so the iteration
    :math:`z\\leftarrow z-\\eta K\\nabla_z\\mathcal L` is stable for
    :math:`\\eta<8n/(\\lambda_{\\max}(\\rho/T^2+1-\\rho))`; ``factor = 0.5`` is half that limit
    (:math:`0.5\\cdot 8nT^2/\\lambda_{\\max}` at :math:`\\rho=1`; the paper gives no step size).

    Parameters
    ----------
    K : ndarray of shape (n, n)
        Kernel (Gram) matrix of the training inputs.
    rho, T : float
        Soft ratio in [0, 1] and temperature > 0.
    factor : float
        Fraction of the stability limit, in (0, 1).

    Returns
    -------
    float
    """
    n = K.shape[0]
    lam = ntk.largest_eigenvalue(K)
    return factor * 8.0 * n / (lam * (rho / T ** 2 + 1.0 - rho))


def targets(z_t, y_g, rho: float, T: float) -> np.ndarray:
    """Training targets of the converged (kernel-regression) student.

    For :math:`\\rho>0` the effective logit :math:`z_{s,\\rm eff}` of Corollary 1
    (:func:`theorycheck.ji2020.kd.effective_logit`); for :math:`\\rho=0` the :math:`\\rho\\to0^+` limit of
    its direction, :math:`2y_g-1` (:math:`z_{\\rm eff}/\\ln(1/\\rho)\\to\\pm1`), which fixes every decision
    of the kernel student.

    Parameters
    ----------
    z_t, y_g : ndarray of shape (n,)
        Teacher logits and hard labels in {0, 1}.
    rho, T : float
        Soft ratio in [0, 1] and temperature > 0.

    Returns
    -------
    ndarray of shape (n,)
    """
    if rho == 0:
        return 2.0 * y_g - 1.0
    return kd.effective_logit(z_t, y_g, rho, T)


def teacher_setting(rng: np.random.Generator, *, d: int, n_centres: int, c_std: float, n_max: int,
                    n_test: int):
    """Kernel-machine teacher and the nested training / test inputs of the risk experiments
    (``ji2020.risk_bound``, ``ji2020.data_inefficiency``; reconstructed settings).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the teacher, then the training inputs, then the test inputs.
    d, n_centres : int
    c_std : float
    n_max : int
        Number of training inputs; training sets of size n are the prefixes ``X[:n]``.
    n_test : int

    Returns
    -------
    U : ndarray of shape (n_centres, d)
    c : ndarray of shape (n_centres,)
    X : ndarray of shape (n_max, d)
    Xt : ndarray of shape (n_test, d)
    """
    U, c = kernel_machine(rng, d, n_centres, c_std)
    X = ntk.unit_sphere(n_max, d, rng)
    Xt = ntk.unit_sphere(n_test, d, rng)
    return U, c, X, Xt


def _teacher_setting_of(cell, rng):
    return teacher_setting(rng, d=cell["d"], n_centres=cell["n_centres"], c_std=cell["c_std"],
                           n_max=max(cell["n_grid"]), n_test=cell["n_test"])
