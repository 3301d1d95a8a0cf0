r"""Exact population test error of two-layer ReLU networks under Gaussian inputs and input noise.

Setting (Hong et al. 2021, Sec. 3.2 and 5.3): clean input :math:`x \sim N(0, I_d)`, noise
:math:`\epsilon \sim N(0, \sigma^2 I_d)` independent, the student sees :math:`z = x + \epsilon`, the
teacher (the ground truth) sees :math:`x`. Networks have no biases and a linear output:

.. math::  f_s(z) = a^T \mathrm{relu}(W z), \qquad f_t(x) = \tilde a^T \mathrm{relu}(\widetilde W x).

The test error of Eq. (3) with square loss, :math:`\mathbb E (f_s(x+\epsilon) - f_t(x))^2`, is a
quadratic form in the output weights whose kernel is the arc-cosine kernel of degree 1 (Cho & Saul
2009). For zero-mean jointly Gaussian :math:`U, V` with :math:`\mathrm{Var}\,U = a^2`,
:math:`\mathrm{Var}\,V = b^2`, :math:`\mathrm{Cov}(U, V) = \kappa`, :math:`\rho = \kappa/(ab)`:

.. math::

   \mathbb E[\mathrm{relu}(U)\mathrm{relu}(V)] = \frac{ab}{2\pi}\, J(\rho), \qquad
   J(\rho) = \sqrt{1-\rho^2} + \rho\,(\pi - \arccos\rho)

(the same as :math:`\frac{1}{2\pi}(\sqrt{a^2b^2-\kappa^2} + \kappa(\pi-\theta))` with
:math:`\theta = \arccos\rho`, divided through by :math:`ab`). The code evaluates :math:`J` because it
is bounded (:math:`0 \le J \le \pi`) with bounded derivative :math:`J'(\rho) = \pi - \arccos\rho`, so
an error :math:`\delta` in :math:`\rho` moves :math:`J` by at most :math:`\pi\delta`; the factor
:math:`1-\rho^2` is formed as :math:`(1-\rho)(1+\rho)` to keep the diagonal (:math:`\rho \approx 1`)
accurate.

Covariances (input covariance ``s`` times the weight inner product):

=================  ========================  ========================  ===========
pair               variance of first          variance of second         covariance
=================  ========================  ========================  ===========
student-student    :math:`c\|u\|^2`          :math:`c\|v\|^2`          :math:`c\,u^Tv`
student-teacher    :math:`c\|u\|^2`          :math:`\|v\|^2`           :math:`u^Tv`
teacher-teacher    :math:`\|u\|^2`           :math:`\|v\|^2`           :math:`u^Tv`
=================  ========================  ========================  ===========

with :math:`c = 1 + \sigma^2`. Then

.. math::  \mathbb E(f_s - f_t)^2 = a^T K_{ss} a - 2 a^T K_{st} \tilde a + \tilde a^T K_{tt} \tilde a.

Everything here is float64 (the closed-form policy of :mod:`theorycheck.backend`) and works on NumPy
or CuPy arrays alike (the namespace is taken from the weights). Kernels are never formed whole: they
are reduced in row blocks of at most ``block_elems`` entries, so memory stays bounded at any width
(at ``m = 20000`` a full kernel would be 3.2 GB).

References
----------
Hong, Mao, Lin, Chan. Student-Teacher Learning from Clean Inputs to Noisy Inputs. CVPR 2021
(Eq. (3); Sec. 3.2, 5.3). Cho, Saul. Kernel Methods for Deep Learning. NeurIPS 2009.
Derived for theorycheck, not taken from the paper: the paper reports test errors but not how it
computed them.
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import CLOSED_FORM_DTYPE, to_numpy, xp_of
from ...errors import InputError, check_int, check_real

__all__ = ["arccos_kernel", "relu_cross_moment", "teacher_second_moment", "population_error",
           "bayes_error", "population_error_mc", "DEFAULT_BLOCK_ELEMS"]

#: Largest kernel block held in memory at once (entries; 4e6 float64 = 32 MB per temporary).
DEFAULT_BLOCK_ELEMS = 4_000_000


def arccos_kernel(a, b, kappa):
    r""":math:`\mathbb E[\mathrm{relu}(U)\mathrm{relu}(V)]` for zero-mean jointly Gaussian ``U, V``.

    Parameters
    ----------
    a, b : array_like, standard deviations of ``U`` and ``V`` (>= 0)
    kappa : array_like, covariance of ``U`` and ``V``, :math:`|\kappa| \le ab`; broadcast together with
        ``a, b``. Every input must be finite (:class:`~theorycheck.errors.InputError` otherwise).

    Returns
    -------
    ndarray
        :math:`\frac{ab}{2\pi}(\sqrt{1-\rho^2} + \rho(\pi-\arccos\rho))`, :math:`\rho=\kappa/(ab)`;
        0 where ``a*b == 0`` (a zero-variance ReLU input is 0 almost surely).

    References
    ----------
    Cho & Saul (2009), arc-cosine kernel of degree 1.
    """
    a, b, kappa = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(kappa, float))
    for name, x in (("a", a), ("b", b), ("kappa", kappa)):
        if not np.all(np.isfinite(x)):
            raise InputError(name, f"must be finite, got {x!r}")
    if np.any(a < 0) or np.any(b < 0):
        raise InputError("a, b", "standard deviations must be >= 0")
    ab = a * b
    # |kappa| <= ab for any Gaussian pair; a relative 1e-9 is left for round-off (clipped below)
    if np.any(np.abs(kappa) > ab * (1 + 1e-9) + 1e-300):
        raise InputError("kappa", "must satisfy |kappa| <= a*b (a covariance of two Gaussians with standard "
                                  "deviations a and b)")
    safe = np.where(ab > 0, ab, 1.0)
    rho = _clip_correlation(np, np.where(ab > 0, kappa / safe, 0.0))
    return np.where(ab > 0, ab / (2 * np.pi) * _J(np, rho), 0.0)


def _clip_correlation(xp, rho, out=None):
    """Round-off can push a cosine just outside [-1, 1] (e.g. the diagonal); arccos needs it inside."""
    return xp.clip(rho, -1.0, 1.0, out=out)


def _J(xp, rho):
    r""":math:`J(\rho) = \sqrt{(1-\rho)(1+\rho)} + \rho(\pi - \arccos\rho)` (allocating version)."""
    return xp.sqrt((1.0 - rho) * (1.0 + rho)) + rho * (np.pi - xp.arccos(rho))


def _J_inplace(xp, rho, t1, t2):
    """:func:`_J` of ``rho`` written into ``t1`` with ``t2`` as scratch (``rho`` is left intact)."""
    xp.subtract(1.0, rho, out=t1)
    xp.add(1.0, rho, out=t2)
    xp.multiply(t1, t2, out=t1)
    xp.sqrt(t1, out=t1)
    xp.arccos(rho, out=t2)
    xp.subtract(np.pi, t2, out=t2)
    xp.multiply(t2, rho, out=t2)
    xp.add(t1, t2, out=t1)
    return t1


def _as_f64(xp, W):
    return xp.asarray(W, dtype=CLOSED_FORM_DTYPE)


def _check_pair(U, alpha, name_U, name_alpha):
    """A layer ``U`` (m, d) with m, d >= 1 and its output weights ``alpha`` (m,), all finite."""
    if U.ndim != 2 or U.shape[0] < 1 or U.shape[1] < 1:
        raise InputError(name_U, f"must be a non-empty 2-D array (m, d), got shape {U.shape}")
    if alpha.shape != (U.shape[0],):
        raise InputError(name_alpha, f"must have shape ({U.shape[0]},), got {alpha.shape}")
    xp = xp_of(U)
    if not bool(xp.all(xp.isfinite(U))):
        raise InputError(name_U, "contains non-finite values (NaN or inf)")
    if not bool(xp.all(xp.isfinite(alpha))):
        raise InputError(name_alpha, "contains non-finite values (NaN or inf)")


def _net(xp, W, a, name_W: str, name_a: str):
    """``W``, ``a`` as float64 arrays of namespace ``xp``, checked by :func:`_check_pair`."""
    W64, a64 = _as_f64(xp, W), _as_f64(xp, a)
    _check_pair(W64, a64, name_W, name_a)
    return W64, a64


def relu_cross_moment(U, alpha, V, beta, s_u: float, s_v: float, s_uv: float, *,
                      block_elems: int = DEFAULT_BLOCK_ELEMS) -> float:
    r"""Exact :math:`\sum_{ij}\alpha_i\beta_j\,\mathbb E[\mathrm{relu}(u_i^T p)\,\mathrm{relu}(v_j^T q)]`.

    ``p, q`` are zero-mean Gaussian vectors with :math:`\mathrm{Cov}(p) = s_u I`,
    :math:`\mathrm{Cov}(q) = s_v I`, :math:`\mathrm{Cov}(p, q) = s_{uv} I`. Equals
    :math:`\alpha^T K \beta` with :math:`K_{ij} = \frac{\sqrt{s_u s_v}}{2\pi}\|u_i\|\|v_j\|J(\rho_{ij})`,
    :math:`\rho_{ij} = \frac{s_{uv}}{\sqrt{s_u s_v}}\cos\angle(u_i, v_j)` (module docstring).

    Parameters
    ----------
    U : array of shape (m_u, d), rows :math:`u_i` (NumPy or CuPy; any float dtype)
    alpha : array of shape (m_u,)
    V : array of shape (m_v, d), or the same object as ``U``
    beta : array of shape (m_v,)
    s_u, s_v : float > 0, input variances of the two sides
    s_uv : float, cross-covariance, :math:`|s_{uv}| \le \sqrt{s_u s_v}`
    block_elems : int
        Kernel entries held at once; the reduction runs over row blocks of ``U``. When ``V is U``,
        ``alpha is beta`` and ``s_u == s_v == s_uv``, only the upper block triangle is formed.

    Returns
    -------
    float
    """
    xp = xp_of(U)
    s_u = check_real("s_u", s_u, low=0.0, low_open=True)
    s_v = check_real("s_v", s_v, low=0.0, low_open=True)
    s_uv = check_real("s_uv", s_uv)
    if abs(s_uv) > math.sqrt(s_u * s_v) * (1 + 1e-12):
        raise InputError("s_uv", f"must satisfy |s_uv| <= sqrt(s_u s_v) = {math.sqrt(s_u * s_v):g}, got {s_uv:g}")
    block_elems = check_int("block_elems", block_elems, low=1)
    symmetric = V is U and beta is alpha and s_u == s_v == s_uv
    U64 = _as_f64(xp, U)
    V64 = U64 if V is U else _as_f64(xp, V)
    a64, b64 = _as_f64(xp, alpha), _as_f64(xp, beta)
    _check_pair(U64, a64, "U", "alpha")
    _check_pair(V64, b64, "V", "beta")
    if U64.shape[1] != V64.shape[1]:
        raise InputError("V", f"must have {U64.shape[1]} columns like U, got {V64.shape[1]}")
    nu = xp.sqrt(xp.einsum("ij,ij->i", U64, U64))
    nv = nu if V is U else xp.sqrt(xp.einsum("ij,ij->i", V64, V64))
    # 1/norm with zero rows mapped to 0: their cosine becomes 0 and their weight alpha*norm is 0.
    inv_u = xp.where(nu > 0, 1.0 / xp.where(nu > 0, nu, 1.0), 0.0)
    inv_v = inv_u if V is U else xp.where(nv > 0, 1.0 / xp.where(nv > 0, nv, 1.0), 0.0)
    wu, wv = a64 * nu, b64 * nv
    r = s_uv / math.sqrt(s_u * s_v)
    m_u, m_v = U64.shape[0], V64.shape[0]
    rows = max(1, min(m_u, block_elems // max(m_v, 1)))
    total = 0.0
    flat = [xp.empty(rows * m_v, dtype=CLOSED_FORM_DTYPE) for _ in range(3)]
    for i0 in range(0, m_u, rows):
        i1 = min(m_u, i0 + rows)
        j0 = i0 if symmetric else 0  # upper block triangle only: K is symmetric
        shape = (i1 - i0, m_v - j0)  # contiguous views, so matmul writes in place
        C, t1, t2 = (f[: shape[0] * shape[1]].reshape(shape) for f in flat)
        xp.matmul(U64[i0:i1], V64[j0:].T, out=C)
        xp.multiply(C, (r * inv_u[i0:i1])[:, None], out=C)
        xp.multiply(C, inv_v[None, j0:], out=C)
        _clip_correlation(xp, C, out=C)
        J = _J_inplace(xp, C, t1, t2)
        rowsum = J @ wv[j0:]
        if symmetric:
            # blocks right of the diagonal block count twice; the diagonal block is symmetric itself
            diag = J[:, : i1 - i0] @ wv[i0:i1]
            rowsum = 2.0 * rowsum - diag
        total += float(wu[i0:i1] @ rowsum)
    return math.sqrt(s_u * s_v) / (2.0 * math.pi) * total


def teacher_second_moment(W_t, a_t, *, block_elems: int = DEFAULT_BLOCK_ELEMS) -> float:
    r""":math:`\mathbb E f_t(x)^2 = \tilde a^T K_{tt} \tilde a` for :math:`x \sim N(0, I)`.

    Parameters
    ----------
    W_t : array of shape (m_t, d), teacher first layer :math:`\widetilde W_1`
    a_t : array of shape (m_t,), teacher output weights :math:`\widetilde W_2` (or
        :math:`P^T \widetilde W_2^T` for the pooled teacher of Sec. 5.3)
    """
    W_t, a_t = _net(xp_of(W_t), W_t, a_t, "W_t", "a_t")
    return relu_cross_moment(W_t, a_t, W_t, a_t, 1.0, 1.0, 1.0, block_elems=block_elems)


def population_error(W, a, W_t, a_t, sigma: float, *, teacher_moment: float | None = None,
                     block_elems: int = DEFAULT_BLOCK_ELEMS) -> float:
    r"""Exact test error of Eq. (3), :math:`\mathbb E(a^T\mathrm{relu}(W(x+\epsilon)) - \tilde a^T\mathrm{relu}(\widetilde W x))^2`.

    Hong et al. 2021, Eq. (3) with square loss and the Gaussian model of Sec. 3.2/5.3; the closed form
    of the module docstring (our derivation).

    Parameters
    ----------
    W : array of shape (m, d), student first layer (any float dtype; evaluated in float64)
    a : array of shape (m,), student output weights
    W_t : array of shape (m_t, d), teacher first layer
    a_t : array of shape (m_t,), teacher output weights
    sigma : float >= 0, noise standard deviation :math:`\sigma_\epsilon`
    teacher_moment : float, optional
        :func:`teacher_second_moment` of the teacher, if already known (it does not change during
        training; passing it saves a third of the work).
    block_elems : int, kernel entries held at once

    Returns
    -------
    float, >= 0 up to round-off

    Notes
    -----
    Cost :math:`O((m^2 + m m_t) d)` flops plus :math:`m^2/2 + m m_t` arccos evaluations.
    """
    sigma = check_real("sigma", sigma, low=0.0)
    xp = xp_of(W)
    W, a = _net(xp, W, a, "W", "a")
    W_t, a_t = _net(xp, W_t, a_t, "W_t", "a_t")
    if W_t.shape[1] != W.shape[1]:
        raise InputError("W_t", f"must have {W.shape[1]} columns like W, got {W_t.shape[1]}")
    c = 1.0 + sigma * sigma
    ss = relu_cross_moment(W, a, W, a, c, c, c, block_elems=block_elems)
    st = relu_cross_moment(W, a, W_t, a_t, c, 1.0, 1.0, block_elems=block_elems)
    tt = teacher_second_moment(W_t, a_t, block_elems=block_elems) if teacher_moment is None \
        else check_real("teacher_moment", teacher_moment, low=0.0)
    err = ss - 2.0 * st + tt
    if not math.isfinite(err):
        raise FloatingPointError(f"population error is {err}; the weights contain non-finite values")
    return err


def bayes_error(W_t, a_t, sigma: float, *, block_elems: int = DEFAULT_BLOCK_ELEMS) -> float:
    r"""Bayes (minimum possible) test error for predicting :math:`f_t(x)` from :math:`z = x + \epsilon`.

    :math:`\mathbb E\,\mathrm{Var}(f_t(x)\mid z) = \mathbb E f_t^2 - \mathbb E(\mathbb E[f_t\mid z])^2`.
    Two independent posterior draws :math:`x, x'` given :math:`z` are each :math:`N(0, I)` with
    :math:`\mathrm{Cov}(x, x') = \mathrm{Cov}(\mathbb E[x\mid z]) = I/(1+\sigma^2)`, so
    :math:`\mathbb E(\mathbb E[f_t\mid z])^2 = \tilde a^T K' \tilde a` with the arc-cosine kernel at
    cross-covariance :math:`1/(1+\sigma^2)` (our derivation; for a linear teacher this reduces to
    :math:`\sigma^2\|\beta\|^2/(1+\sigma^2)`, the "optimal error" quoted after Theorem 3).

    Parameters
    ----------
    W_t : array of shape (m_t, d)
    a_t : array of shape (m_t,)
    sigma : float >= 0

    Returns
    -------
    float
    """
    sigma = check_real("sigma", sigma, low=0.0)
    W_t, a_t = _net(xp_of(W_t), W_t, a_t, "W_t", "a_t")
    tt = teacher_second_moment(W_t, a_t, block_elems=block_elems)
    cond = relu_cross_moment(W_t, a_t, W_t, a_t, 1.0, 1.0, 1.0 / (1.0 + sigma * sigma),
                             block_elems=block_elems)
    return tt - cond


def population_error_mc(W, a, W_t, a_t, X, E) -> tuple[float, float]:
    r"""Monte Carlo estimate of the test error of Eq. (3) and its standard error.

    Parameters
    ----------
    W, a, W_t, a_t : as in :func:`population_error`
    X : array of shape (n, d), n >= 2, clean test inputs :math:`x_j` (finite)
    E : array of shape (n, d), test noise :math:`\epsilon_j` (finite)

    Returns
    -------
    mean : float, :math:`\frac1n\sum_j (f_s(x_j+\epsilon_j) - f_t(x_j))^2`
    se : float, standard error of the mean (sample std / sqrt(n))
    """
    xp = xp_of(W)
    W, a = _net(xp, W, a, "W", "a")
    W_t, a_t = _net(xp, W_t, a_t, "W_t", "a_t")
    Xd = xp.asarray(X, dtype=CLOSED_FORM_DTYPE)
    Ed = xp.asarray(E, dtype=CLOSED_FORM_DTYPE)
    if Xd.ndim != 2 or Xd.shape[0] < 2 or Xd.shape[1] != W.shape[1]:
        raise InputError("X", f"must have shape (n, {W.shape[1]}) with n >= 2 test points, got {Xd.shape}")
    if Ed.shape != Xd.shape:
        raise InputError("E", f"must have the shape of X {Xd.shape}, got {Ed.shape}")
    if W_t.shape[1] != W.shape[1]:
        raise InputError("W_t", f"must have {W.shape[1]} columns like W, got {W_t.shape[1]}")
    for name, arr in (("X", Xd), ("E", Ed)):
        if not bool(xp.all(xp.isfinite(arr))):
            raise InputError(name, "contains non-finite values (NaN or inf)")
    fs = xp.maximum((Xd + Ed) @ W.T, 0.0) @ a
    ft = xp.maximum(Xd @ W_t.T, 0.0) @ a_t
    sq = to_numpy((fs - ft) ** 2)
    n = len(sq)
    se = float(sq.std(ddof=1) / math.sqrt(n))
    return float(sq.mean()), se
