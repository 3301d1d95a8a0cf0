"""Problem instances for the linear-student theorems of Hong et al. 2021 (Theorems 1 and 2).

A teacher is a 2-layer network :math:`\\widetilde W_2\\,\\tilde\\sigma(\\widetilde W_1 x)` evaluated on the
*clean* inputs; its hidden features :math:`T = \\tilde\\sigma(\\widetilde W_1 X)` enter the ST loss (2).
Any teacher activation is allowed by the theorems; the features are computed from
:func:`theorycheck.nets.forward`'s pre-activations, so no second network code exists.

Shapes follow :mod:`theorycheck.nets`: ``X`` (N, d_x) rows, ``W1_t`` (m, d_x), ``W2_t`` (d_y, m),
``T`` (N, m), ``Y`` (N, d_y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import nets
from ...errors import InputError, check_choice, check_int, check_real, check_rng
from .closed_forms import _as_matrix

__all__ = ["TEACHER_ACTIVATIONS", "teacher_features", "interpolating_second_layer", "Instance",
           "thm1_instance", "thm2_instance", "scaled_init"]

#: teacher activations: any function is allowed by Theorems 1-2 (paper, end of Sec. 3.1)
TEACHER_ACTIVATIONS = {"identity": lambda u: u, "relu": lambda u: np.maximum(u, 0.0), "tanh": np.tanh}


def teacher_features(W1_t, X, activation: str = "identity") -> np.ndarray:
    """Teacher hidden features on clean inputs, :math:`T = \\tilde\\sigma(\\widetilde W_1 x_i)` (Eq. (2)).

    Parameters
    ----------
    W1_t : ndarray of shape (m, d_x)
    X : ndarray of shape (N, d_x), clean inputs
    activation : {"identity", "relu", "tanh"}

    Returns
    -------
    ndarray of shape (N, m)
    """
    act = TEACHER_ACTIVATIONS[check_choice("teacher_activation", activation, TEACHER_ACTIVATIONS)]
    W1_t = _as_matrix("W1_t", W1_t)
    X = _as_matrix("X", X)
    if X.shape[1] != W1_t.shape[1]:
        raise InputError("X", f"must have d_x = {W1_t.shape[1]} columns (those of W1_t), got {X.shape}")
    # nets.forward with a dummy 1-output head gives the first pre-activation X @ W1_t.T
    pre = nets.forward([W1_t, np.zeros((1, W1_t.shape[0]))], X, "identity").pre[0]
    return act(pre)


def interpolating_second_layer(T, Y) -> tuple[np.ndarray, float]:
    """Minimum-norm :math:`\\widetilde W_2` with :math:`\\widetilde W_2 T^T = Y^T` (teacher interpolation).

    Parameters
    ----------
    T : ndarray of shape (N, m), teacher features; exact interpolation needs rank N (so m >= N)
    Y : ndarray of shape (N, d_y)

    Returns
    -------
    W2_t : ndarray of shape (d_y, m)
    residual : float, :math:`\\|T \\widetilde W_2^T - Y\\|_F / \\|Y\\|_F` (round-off size when rank(T) = N)
    """
    T = _as_matrix("T", T)
    Y = _as_matrix("Y", Y)
    if Y.shape[0] != T.shape[0]:
        raise InputError("Y", f"must have {T.shape[0]} rows (one per row of T), got {Y.shape}")
    if T.shape[1] < T.shape[0]:
        raise InputError("m", f"must be >= N_s={T.shape[0]} for a teacher that interpolates arbitrary "
                              f"targets, got m={T.shape[1]}")
    W2_t = (np.linalg.pinv(T) @ Y).T
    return W2_t, _relative_residual(T @ W2_t.T, Y)


def _relative_residual(pred, Y) -> float:
    """``||pred - Y||_F / ||Y||_F``, defined as the absolute residual when Y = 0 (e.g. a ReLU
    teacher silent on every sample)."""
    err = float(np.linalg.norm(pred - Y))
    scale = float(np.linalg.norm(Y))
    return err / scale if scale > 0 else err


@dataclass(frozen=True)
class Instance:
    """One training set with its teacher.

    Attributes
    ----------
    X : ndarray (N, d_x), clean inputs
    X_eps : ndarray (N, d_x), noisy inputs :math:`x_i + \\epsilon_i` (what the student sees)
    Y : ndarray (N, d_y), clean targets
    W1_t, W2_t : ndarray (m, d_x), (d_y, m), teacher weights
    T : ndarray (N, m), teacher features on clean inputs
    teacher_activation : str
    interpolation_residual : float, :math:`\\|T\\widetilde W_2^T - Y\\|_F/\\|Y\\|_F`
    B : ndarray (d_y, d_x) or None, the linear ground truth when targets are :math:`y = Bx`
    """

    X: np.ndarray
    X_eps: np.ndarray
    Y: np.ndarray
    W1_t: np.ndarray
    W2_t: np.ndarray
    T: np.ndarray
    teacher_activation: str
    interpolation_residual: float
    B: np.ndarray | None = None


def _gaussian(N, d, sigma, rng):
    X = rng.standard_normal((N, d))
    return X, X + sigma * rng.standard_normal((N, d))


def thm1_instance(N: int, d: int, m: int, d_y: int, sigma: float, rng: np.random.Generator,
                  teacher_activation: str = "identity", teacher_rank: int | None = None) -> Instance:
    """Theorem 1 setting: :math:`N_s < d_x`, linear ground truth, a teacher that interpolates the clean data.

    Targets :math:`y = Bx` with :math:`B_{ij} \\sim N(0, 1/d_x)`; :math:`x\\sim N(0, I)`,
    :math:`\\epsilon\\sim N(0,\\sigma^2 I)`. The teacher's first layer is Xavier-normal and its second
    layer is the minimum-norm solution of :math:`\\widetilde W_2 T^T = Y^T` (exact since m >= N), so
    the teacher attains zero clean training loss, i.e. minimises it (Theorem 1, assumption (ii)).

    Negative control: ``teacher_rank = r < N`` gives the teacher a rank-r first layer (the Xavier
    matrix truncated to its top r singular values), so its features have rank <= r < N and its
    least-squares second layer cannot interpolate: assumption (ii) fails, the ST loss (2) then has
    a positive minimum and its flow no longer interpolates the data.

    Parameters
    ----------
    N : int, 1 <= N < d
    d : int, input dimension d_x
    m : int >= N, hidden width of student and teacher
    d_y : int >= 1
    sigma : float >= 0, input-noise standard deviation
    rng : numpy.random.Generator
    teacher_activation : {"identity", "relu", "tanh"}
    teacher_rank : int or None, rank of the teacher's first layer (None: full)

    Returns
    -------
    Instance
    """
    d = check_int("d_x", d, low=2)
    N = check_int("N_s", N, low=1, high=d - 1)
    m = check_int("m", m, low=N)
    d_y = check_int("d_y", d_y, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    rng = check_rng(rng)
    X, X_eps = _gaussian(N, d, sigma, rng)
    B = rng.standard_normal((d_y, d)) / np.sqrt(d)
    Y = X @ B.T
    W1_t = nets.xavier_normal([d, m], rng)[0]
    if teacher_rank is not None:
        r = check_int("teacher_rank", teacher_rank, low=1, high=min(m, d))
        U, s, Vt = np.linalg.svd(W1_t, full_matrices=False)
        W1_t = (U[:, :r] * s[:r]) @ Vt[:r]
    T = teacher_features(W1_t, X, teacher_activation)
    W2_t, res = interpolating_second_layer(T, Y)
    return Instance(X, X_eps, Y, W1_t, W2_t, T, teacher_activation, res, B)


def thm2_instance(N: int, d: int, m: int, d_y: int, sigma: float, rng: np.random.Generator,
                  teacher_activation: str = "identity", label_noise: float = 0.0,
                  duplicate_to: int | None = None) -> Instance:
    """Theorem 2 setting: :math:`N_s \\ge d_x`, targets produced by the teacher (so it interpolates).

    A width-m teacher with m < N_s cannot interpolate arbitrary targets, so the targets are the
    teacher's outputs on the clean inputs, :math:`Y = \\tilde\\sigma(X\\widetilde W_1^T)\\widetilde W_2^T`:
    the teacher interpolates by construction (residual 0). Both teacher layers are Xavier-normal.

    Negative controls:

    * ``label_noise > 0`` adds :math:`N(0, \\text{label\\_noise}^2 \\cdot \\mathrm{mean}(Y^2))` to the
      targets, so the teacher no longer interpolates (:math:`\\widetilde W_2 T^T \\ne Y^T`);
    * ``duplicate_to = k < d`` draws only k distinct samples (inputs, noise and targets) and repeats
      them to N rows, so :math:`X_\\epsilon` has rank k < d_x although N >= d_x.

    Parameters
    ----------
    N : int >= d
    d : int >= 1
    m : int >= 1
    d_y : int >= 1
    sigma : float >= 0
    rng : numpy.random.Generator
    teacher_activation : {"identity", "relu", "tanh"}
    label_noise : float >= 0
    duplicate_to : int or None

    Returns
    -------
    Instance
    """
    d = check_int("d_x", d, low=1)
    N = check_int("N_s", N, low=d)
    m = check_int("m", m, low=1)
    d_y = check_int("d_y", d_y, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    label_noise = check_real("label_noise", label_noise, low=0.0)
    rng = check_rng(rng)
    W1_t, W2_t = nets.xavier_normal([d, m, d_y], rng)
    if duplicate_to is None:
        X, X_eps = _gaussian(N, d, sigma, rng)
    else:
        k = check_int("duplicate_to", duplicate_to, low=1, high=N)
        Xk, Xk_eps = _gaussian(k, d, sigma, rng)
        rows = np.arange(N) % k
        X, X_eps = Xk[rows], Xk_eps[rows]
    T = teacher_features(W1_t, X, teacher_activation)
    Y = T @ W2_t.T
    if label_noise > 0:
        noise = rng.standard_normal(Y.shape) * label_noise * np.sqrt(np.mean(Y ** 2))
        if duplicate_to is not None:  # duplicated samples carry identical targets
            noise = noise[np.arange(N) % duplicate_to]
        Y = Y + noise
    res = _relative_residual(T @ W2_t.T, Y)
    return Instance(X, X_eps, Y, W1_t, W2_t, T, teacher_activation, res, None)


def scaled_init(sizes, delta: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Small initialisation of Theorem 1: :math:`W_i(0) = \\delta \\hat W_i`, :math:`\\|\\hat W_i\\|_F = 1`.

    The directions :math:`\\hat W_i` are Xavier-normal matrices normalised to unit Frobenius norm, so
    :math:`\\|W_i(0)\\|_F = \\delta` for every layer (assumption (i) with equality). Calling twice with
    generators in the same state gives the same directions, so different ``delta`` share :math:`\\hat W`.

    Parameters
    ----------
    sizes : sequence of int, ``(d_x, m, d_y)``
    delta : float > 0
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray, shapes (m, d_x) and (d_y, m)
    """
    delta = check_real("delta", delta, low=0.0, low_open=True)
    rng = check_rng(rng)
    if isinstance(sizes, (str, bytes)) or len(sizes) != 3:
        raise InputError("sizes", f"must be (d_x, m, d_y), got {sizes!r}")
    sizes = [check_int("sizes", v, low=1) for v in sizes]
    return [delta * W / np.linalg.norm(W) for W in nets.xavier_normal(sizes, rng)]
