"""Binary knowledge-distillation loss of Ji & Zhu (2020) and its effective student logit.

Conventions
-----------
* Logits are real arrays; ``sigma`` is the logistic function, :math:`H(p, q) = -p\\log q-(1-p)\\log(1-q)`.
* The per-sample loss is (Ji & Zhu 2020, poster "Problem Setup"; no :math:`T^2` factor)

  .. math:: \\ell = \\rho\\,H(\\sigma(z_t/T), \\sigma(z_s/T)) + (1-\\rho)\\,H(y_g, \\sigma(z_s)),

  with soft ratio :math:`\\rho\\in[0,1]`, temperature :math:`T>0`, teacher logit :math:`z_t`, hard
  label :math:`y_g\\in[0,1]` (usually :math:`\\{0,1\\}`) and student logit :math:`z_s`.
* :func:`kd_loss` is the **mean** over samples, :math:`\\mathcal L = \\frac1N\\sum_n\\ell_n`.
* Differences of sigmoids are evaluated as :math:`\\sigma(a)-\\sigma(b)=\\sigma(a)\\sigma(-b)-\\sigma(-a)\\sigma(b)`
  and :math:`\\sigma(z)-y=(1-y)\\sigma(z)-y\\sigma(-z)`, which keep full relative accuracy in the tails
  (where the effective logit of a confident sample lives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..errors import InputError, check_int, check_real

__all__ = ["sigmoid", "bce_with_logits", "kd_loss", "kd_logit_grad", "kd_loss_and_grad", "kd_mean_grad_fn",
           "kd_logit_grad_slope", "EffectiveLogit", "solve_effective_logit", "effective_logit",
           "effective_logit_T1", "effective_logit_sensitivities", "sensitivity_at_rho1",
           "jump_half_width"]


def sigmoid(z):
    """Logistic function :math:`\\sigma(z) = 1/(1+e^{-z})`, overflow-free (``scipy.special.expit``)."""
    return expit(z)


def _dsigmoid(u):
    """:math:`\\sigma'(u) = \\sigma(u)\\sigma(-u)`, accurate in both tails."""
    return expit(u) * expit(-u)


def _sigmoid_diff(a, b):
    """:math:`\\sigma(a) - \\sigma(b)` without cancellation in the tails."""
    return expit(a) * expit(-b) - expit(-a) * expit(b)


def _sigmoid_minus(z, y):
    """:math:`\\sigma(z) - y` for :math:`y\\in[0,1]`, accurate when both are close to 0 or 1."""
    return (1.0 - y) * expit(z) - y * expit(-z)


def _softplus(z):
    return np.logaddexp(0.0, z)


def bce_with_logits(p, z):
    """Binary cross-entropy :math:`H(p, \\sigma(z)) = p\\,\\mathrm{softplus}(-z) + (1-p)\\,\\mathrm{softplus}(z)`.

    Parameters
    ----------
    p : array_like, target probabilities in [0, 1]
    z : array_like, logits (broadcast against ``p``)

    Returns
    -------
    ndarray, elementwise cross-entropy (finite for every finite ``z``).
    """
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise InputError("p", "must lie in [0, 1] (probabilities; no NaN)")
    z = _check_logits("z", z)
    return p * _softplus(-z) + (1.0 - p) * _softplus(z)


def _check_rho_T(rho, T, *, rho_open_low=False):
    rho = check_real("rho", rho, low=0.0, high=1.0, low_open=rho_open_low)
    T = check_real("T", T, low=0.0, low_open=True)
    return rho, T


def _check_logits(name, z):
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        raise InputError(name, "must not be empty")
    if not np.all(np.isfinite(z)):
        raise InputError(name, "must be finite (no NaN or inf)")
    return z


def _check_labels(y):
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        raise InputError("y_g", "must not be empty")
    if not np.all((y >= 0.0) & (y <= 1.0)):
        raise InputError("y_g", "must lie in [0, 1]")
    return y


def kd_loss(z_s, z_t, y_g, rho: float, T: float) -> float:
    """Mean KD loss of Ji & Zhu (2020), poster "Problem Setup":
    :math:`\\frac1N\\sum_n \\rho H(\\sigma(z_{t,n}/T), \\sigma(z_{s,n}/T)) + (1-\\rho) H(y_{g,n}, \\sigma(z_{s,n}))`.

    Parameters
    ----------
    z_s, z_t : array_like of shape (N,), student and teacher logits
    y_g : array_like of shape (N,), hard labels in [0, 1]
    rho : float in [0, 1], soft ratio
    T : float > 0, temperature

    Returns
    -------
    float
    """
    rho, T = _check_rho_T(rho, T)
    z_s, z_t, y_g = _check_logits("z_s", z_s), _check_logits("z_t", z_t), _check_labels(y_g)
    ell = rho * _soft_cross_entropy(z_t / T, z_s / T) + (1.0 - rho) * bce_with_logits(y_g, z_s)
    return float(np.mean(ell))


def _soft_cross_entropy(a, b):
    """:math:`H(\\sigma(a), \\sigma(b))` from both logits: :math:`1-\\sigma(a)` is taken as :math:`\\sigma(-a)`,
    which keeps the loss of a confident teacher (:math:`\\sigma(a)` rounding to 1) accurate."""
    return expit(a) * _softplus(-b) + expit(-a) * _softplus(b)


def kd_logit_grad(z_s, z_t, y_g, rho: float, T: float):
    """Per-sample gradient :math:`\\partial\\ell_n/\\partial z_{s,n}` (Ji & Zhu 2020, Corollary 1, Eq. 1):

    .. math:: F(z_s) = \\frac{\\rho}{T}\\big(\\sigma(z_s/T)-\\sigma(z_t/T)\\big) + (1-\\rho)\\big(\\sigma(z_s)-y_g\\big).

    Parameters
    ----------
    z_s, z_t, y_g : array_like, broadcast together
    rho : float in [0, 1]
    T : float > 0

    Returns
    -------
    ndarray, the broadcast shape of the inputs.
    """
    rho, T = _check_rho_T(rho, T)
    return _F(_check_logits("z_s", z_s), _check_logits("z_t", z_t), _check_labels(y_g), rho, T)


def kd_logit_grad_slope(z_s, rho: float, T: float):
    """:math:`F'(z_s) = \\frac{\\rho}{T^2}\\sigma'(z_s/T) + (1-\\rho)\\sigma'(z_s) > 0`: the per-sample loss is
    strictly convex in the student logit, so the effective logit is unique."""
    rho, T = _check_rho_T(rho, T)
    return _dF(_check_logits("z_s", z_s), rho, T)


def kd_loss_and_grad(z_s, z_t, y_g, rho: float, T: float):
    """Mean KD loss (:func:`kd_loss`) and its gradient with respect to the student logits.

    Returns
    -------
    loss : float
    grad : ndarray of shape (N,), :math:`\\partial\\mathcal L/\\partial z_{s,n} = F(z_{s,n})/N`
    """
    z_s = _check_logits("z_s", z_s)
    loss = kd_loss(z_s, z_t, y_g, rho, T)
    return loss, kd_logit_grad(z_s, z_t, y_g, rho, T) / z_s.size


def kd_mean_grad_fn(z_t, y_g, rho: float, T: float):
    """A closure ``z -> dL/dz`` for the mean KD loss on fixed targets, validated once.

    For inner loops (kernel gradient descent runs 10^4 steps): the arguments are checked here, the
    returned function does only the arithmetic of :func:`kd_logit_grad` divided by N.

    Parameters
    ----------
    z_t : array_like of shape (N,), teacher logits
    y_g : array_like of shape (N,), hard labels in [0, 1]
    rho : float in [0, 1] (0: plain logistic regression on the hard labels)
    T : float > 0

    Returns
    -------
    callable ndarray of shape (N,) -> ndarray of shape (N,)
    """
    rho, T = _check_rho_T(rho, T)
    z_t, y_g = np.broadcast_arrays(_check_logits("z_t", z_t), _check_labels(y_g))
    z_t, y_g = z_t.astype(np.float64).copy(), y_g.astype(np.float64).copy()
    N = z_t.size
    if rho == 0.0:  # plain logistic loss: skip the soft term (hot loop of hard-label training)
        def grad(z):
            return _sigmoid_minus(z, y_g) / N
    else:
        def grad(z):
            return _F(z, z_t, y_g, rho, T) / N

    return grad


def _F(z, z_t, y_g, rho, T):
    return rho / T * _sigmoid_diff(z / T, z_t / T) + (1.0 - rho) * _sigmoid_minus(z, y_g)


def _dF(z, rho, T):
    return rho / T ** 2 * _dsigmoid(z / T) + (1.0 - rho) * _dsigmoid(z)


@dataclass(frozen=True)
class EffectiveLogit:
    """Result of :func:`solve_effective_logit`.

    Attributes
    ----------
    z : ndarray, the effective student logits :math:`z_{s,\\mathrm{eff}}`
    residual : ndarray, :math:`|F(z)|` at the returned root
    n_iter : int, safeguarded-Newton iterations used (the slowest element)
    converged : ndarray of bool, step below ``xtol`` (or an exact zero of ``F``)
    bracket : tuple of ndarray, final ``(lo, hi)`` with ``F(lo) <= 0 <= F(hi)``
    """

    z: np.ndarray
    residual: np.ndarray
    n_iter: int
    converged: np.ndarray
    bracket: tuple


def solve_effective_logit(z_t, y_g, rho: float, T: float, *, xtol: float = 1e-14,
                          maxiter: int = 100) -> EffectiveLogit:
    """Effective student logit of Ji & Zhu (2020), Corollary 1: the root of :math:`F(z)=0` (see
    :func:`kd_logit_grad`), vectorised over samples.

    A wide student fits every training point to the minimiser of its own per-sample loss, which is
    the unique root of the strictly increasing :math:`F`. The root lies between :math:`z_t` (where the
    soft term vanishes) and :math:`\\mathrm{logit}(y_g)` (where the hard term vanishes).

    Algorithm: a bracket ``[lo, hi]`` with ``F(lo) <= 0 <= F(hi)`` is grown from ``z_t`` by doubling
    steps, then safeguarded Newton iterations (``rtsafe``: a Newton step that leaves the bracket or
    does not halve the previous step is replaced by bisection) shrink it until the step is below
    ``xtol * (1 + |z|)``.

    Parameters
    ----------
    z_t : array_like, teacher logits (finite)
    y_g : array_like, hard labels in [0, 1] (broadcast against ``z_t``)
    rho : float in (0, 1]
        Soft ratio. ``rho = 0`` (hard labels only) has no finite root when ``y_g`` is 0 or 1: the
        student logit diverges, so it is refused with :class:`~theorycheck.errors.InputError`.
    T : float > 0, temperature
    xtol : float, relative step tolerance
    maxiter : int

    Returns
    -------
    EffectiveLogit
    """
    rho, T = _check_rho_T(rho, T)
    if rho == 0.0:
        raise InputError("rho", "must be in (0, 1]: rho = 0 (hard labels only) has no finite effective "
                                "logit, the student logit diverges to +-inf; train for a finite time "
                                "instead (theorycheck.ji2020.ntk.kernel_gradient_descent)")
    xtol = check_real("xtol", xtol, low=0.0, low_open=True)
    maxiter = check_int("maxiter", maxiter, low=1)
    z_t, y_g = np.broadcast_arrays(_check_logits("z_t", z_t), _check_labels(y_g))
    z_t, y_g = z_t.astype(np.float64), y_g.astype(np.float64)

    # bracket: F(z_t) = (1-rho)(sigma(z_t)-y_g) tells on which side of z_t the root lies
    f_t = _F(z_t, z_t, y_g, rho, T)
    lo = np.where(f_t <= 0, z_t, z_t - max(1.0, T))
    hi = np.where(f_t >= 0, z_t, z_t + max(1.0, T))
    step = np.full_like(z_t, max(1.0, T))
    for _ in range(64):
        need_lo = _F(lo, z_t, y_g, rho, T) > 0
        need_hi = _F(hi, z_t, y_g, rho, T) < 0
        if not (need_lo.any() or need_hi.any()):
            break
        step = np.where(need_lo | need_hi, 2.0 * step, step)
        lo = np.where(need_lo, lo - step, lo)
        hi = np.where(need_hi, hi + step, hi)
    else:  # F is bounded away from 0 at +-inf for rho > 0; reaching this means |z_t|/T is absurd
        raise InputError("z_t", "is too large for a finite bracket (|z_t|/T must be < ~700)")

    # initial guess: the T = 1 closed form evaluated at z_t/T, clipped into the bracket
    z = np.clip(_logit_mix(z_t / T, y_g, rho), lo, hi)
    dx_old = hi - lo
    converged = np.zeros(z.shape, dtype=bool)
    n_iter = 0
    for n_iter in range(1, maxiter + 1):
        f = _F(z, z_t, y_g, rho, T)
        lo = np.where(f < 0, z, lo)
        hi = np.where(f > 0, z, hi)
        df = _dF(z, rho, T)
        tiny = np.finfo(np.float64).tiny
        newton = z - f / np.maximum(df, tiny)
        bisect = 0.5 * (lo + hi)
        # a Newton step rounding to z itself is accepted (it is the converged root), hence <=, >=
        use_bisect = ~((newton >= lo) & (newton <= hi)) | (np.abs(newton - z) > 0.5 * np.abs(dx_old))
        z_new = np.where(use_bisect, bisect, newton)
        z_new = np.where(converged | (f == 0), z, z_new)
        dx = z_new - z
        converged = converged | (f == 0) | (np.abs(dx) <= xtol * (1.0 + np.abs(z)))
        dx_old = np.where(converged, dx_old, dx)
        z = z_new
        if converged.all():
            break
    residual = np.abs(_F(z, z_t, y_g, rho, T))
    return EffectiveLogit(z=z, residual=residual, n_iter=n_iter, converged=converged, bracket=(lo, hi))


def effective_logit(z_t, y_g, rho: float, T: float, **kw):
    """:math:`z_{s,\\mathrm{eff}}(z_t, y_g; \\rho, T)` of Ji & Zhu (2020), Corollary 1, as an array.

    Same arguments as :func:`solve_effective_logit`; raises ``RuntimeError`` if any element did not
    converge (never observed: the safeguard guarantees bracket shrinkage).
    """
    res = solve_effective_logit(z_t, y_g, rho, T, **kw)
    if not res.converged.all():
        raise RuntimeError(f"effective logit: {int((~res.converged).sum())} elements did not converge "
                           f"in {res.n_iter} iterations")
    return res.z


def _logit_mix(z_t, y_g, rho):
    """:math:`\\mathrm{logit}(\\rho\\sigma(z_t) + (1-\\rho)y_g)`, computed as :math:`\\log p - \\log(1-p)` with
    both :math:`p` and :math:`1-p` formed without cancellation (may be +-inf when rho = 0)."""
    p = rho * expit(z_t) + (1.0 - rho) * y_g
    q = rho * expit(-z_t) + (1.0 - rho) * (1.0 - y_g)
    with np.errstate(divide="ignore"):  # rho = 0 and y_g in {0, 1}: the documented +-inf limit
        return np.log(p) - np.log(q)


def effective_logit_T1(z_t, y_g, rho: float):
    """Closed form at :math:`T=1` (Ji & Zhu 2020, Corollary 1 with T = 1; derived for this toolkit):
    :math:`z_{s,\\mathrm{eff}} = \\mathrm{logit}\\big(\\rho\\,\\sigma(z_t) + (1-\\rho)\\,y_g\\big)`.

    Parameters
    ----------
    z_t, y_g : array_like, broadcast together
    rho : float in (0, 1]
    """
    rho = check_real("rho", rho, low=0.0, high=1.0, low_open=True)
    return _logit_mix(_check_logits("z_t", z_t), _check_labels(y_g), rho)


def effective_logit_sensitivities(z_t, y_g, rho: float, T: float):
    """Implicit derivatives of :math:`z = z_{s,\\mathrm{eff}}` (implicit-function theorem on :math:`F=0`):

    .. math::
        \\frac{\\partial z}{\\partial z_t} = \\frac{\\rho T^{-2}\\sigma'(z_t/T)}{F'(z)},\\qquad
        \\frac{\\partial z}{\\partial\\rho} = -\\frac{T^{-1}(\\sigma(z/T)-\\sigma(z_t/T)) - (\\sigma(z)-y_g)}{F'(z)}.

    Derived for this toolkit; not a formula printed in the paper.

    Returns
    -------
    z, dz_dzt, dz_drho : ndarray, the broadcast shape of ``z_t`` and ``y_g``
    """
    z = effective_logit(z_t, y_g, rho, T)
    z_t, y_g = np.broadcast_arrays(np.asarray(z_t, dtype=np.float64), np.asarray(y_g, dtype=np.float64))
    dF = _dF(z, rho, T)
    dz_dzt = rho / T ** 2 * _dsigmoid(z_t / T) / dF
    dF_drho = _sigmoid_diff(z / T, z_t / T) / T - _sigmoid_minus(z, y_g)
    return z, dz_dzt, -dF_drho / dF


def sensitivity_at_rho1(z_t, y_g, T: float):
    """:math:`\\partial z_{s,\\mathrm{eff}}/\\partial(1-\\rho)` at :math:`\\rho=1` (derived for this toolkit from
    Corollary 1):

    .. math:: \\delta = \\frac{T^2\\,(y_g - \\sigma(z_t))}{\\sigma'(z_t/T)}.

    Large where the teacher is confidently wrong: this is how hard labels correct the teacher.
    """
    T = check_real("T", T, low=0.0, low_open=True)
    z_t, y_g = _check_logits("z_t", z_t), _check_labels(y_g)
    return -T ** 2 * _sigmoid_minus(z_t, y_g) / _dsigmoid(z_t / T)


def jump_half_width(rho, T: float):
    """Half of the jump of :math:`z_{s,\\mathrm{eff}}(z_t)` at :math:`z_t=0` for a perfect teacher
    (:math:`y_g = 1[z_t>0]`): :math:`z_0` solving :math:`\\frac{\\rho}{T}(\\sigma(z/T)-\\tfrac12)+(1-\\rho)(\\sigma(z)-1)=0`
    (derived for this toolkit); at :math:`T=1`, :math:`z_0=\\ln\\frac{2-\\rho}{\\rho}`. The jump is
    :math:`z_{\\mathrm{eff}}(0^+)-z_{\\mathrm{eff}}(0^-) = 2z_0` (the two branches are mirror images).

    Parameters
    ----------
    rho : float in (0, 1]
    T : float > 0

    Returns
    -------
    float
    """
    return float(effective_logit(0.0, 1.0, rho, T))
