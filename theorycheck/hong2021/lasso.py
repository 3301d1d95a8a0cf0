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

**Penalty rule** (:func:`theory_alpha`). :math:`\alpha_k = \kappa\,\sqrt{c}\,\sigma_{e,k}\,
\sqrt{2\log d / N}`: the size of :math:`\|Z^T e_k\|_\infty / N`, the maximum of :math:`d` centred
Gaussians of standard deviation :math:`\sqrt{c}\,\sigma_{e,k}/\sqrt N`, which is the level a LASSO
penalty must exceed for the standard error bounds (Bickel, Ritov & Tsybakov 2009 take
:math:`\kappa = 2`; :math:`\kappa=1` is the "universal threshold"). It uses the oracle noise level
(the teacher and :math:`\sigma` are known in the check); :func:`fit_group_lassos_cv` is the
data-driven alternative (:class:`sklearn.linear_model.LassoCV`).

Conventions: samples are rows (``Z`` has shape (N, d)), float64 throughout.

References
----------
Hong, Mao, Lin, Chan (2021). Student-Teacher Learning from Clean Inputs to Noisy Inputs. CVPR.
Section 5, Eq. (7), Theorem 3.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV

from .. import nets
from ..errors import InputError, check_divides, check_int, check_real

__all__ = ["LassoFit", "PooledStudent", "draw_sparse_beta", "theorem3_teacher", "group_teacher_vectors",
           "group_targets", "group_noise_std", "theory_alpha", "fit_group_lassos", "fit_group_lassos_cv",
           "fit_pooled_student", "fit_base_student", "pooled_st_objective", "pooled_objective_dual_gap",
           "optimal_test_error", "linear_test_error", "spread_over_groups"]

#: Default solver settings (set explicitly, never sklearn's defaults): the coordinate-descent stop rule
#: is ``dual_gap_ <= tol * ||t||^2 / N`` (sklearn's Notes), i.e. a gap of at most ``2 tol`` relative to
#: the objective at v = 0, :math:`\|t\|^2/(2N)`.
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 100_000


@dataclass(frozen=True)
class LassoFit:
    """Solutions and diagnostics of ``k`` independent LASSO problems sharing one design ``Z``.

    Attributes
    ----------
    coef : ndarray of shape (k, d)
        Row ``j``: minimiser of :math:`\\frac{1}{2N}\\|T_{:,j} - Z v\\|^2 + \\alpha_j \\|v\\|_1`.
    alpha : ndarray of shape (k,)
        sklearn's :math:`\\alpha_j` (paper's :math:`\\lambda_j = 2N\\alpha_j`).
    dual_gap : ndarray of shape (k,)
        sklearn's ``dual_gap_`` (in the units of sklearn's objective); 0 for an all-zero target.
    gap_bound : ndarray of shape (k,)
        The solver's own stop level ``tol * ||T_{:,j}||^2 / N``.
    n_iter : ndarray of int, shape (k,)
        sklearn's ``n_iter_``.
    tol, max_iter : float, int
        The solver settings used.
    """

    coef: np.ndarray
    alpha: np.ndarray
    dual_gap: np.ndarray
    gap_bound: np.ndarray
    n_iter: np.ndarray
    tol: float
    max_iter: int

    @property
    def converged(self) -> bool:
        """Every gap is within its bound and no fit ran out of iterations."""
        return bool(np.all(self.dual_gap <= self.gap_bound) and np.all(self.n_iter < self.max_iter))

    @property
    def max_relative_gap(self) -> float:
        """Largest ``dual_gap / (||t||^2 / (2N))``: the gap relative to the objective at v = 0.

        The stop rule guarantees ``<= 2 tol`` for a converged fit.
        """
        scale = self.gap_bound / self.tol / 2.0  # ||t||^2 / (2N)
        rel = np.divide(self.dual_gap, scale, out=np.zeros_like(self.dual_gap), where=scale > 0)
        return float(rel.max(initial=0.0))


@dataclass(frozen=True)
class PooledStudent:
    """A student trained with Eq. (7) + l1 penalty (identity activation, :math:`W_2=\\widetilde W_2`).

    Attributes
    ----------
    V : ndarray of shape (m/g, d)
        Pooled first layer :math:`P W_1` (the only part of :math:`W_1` Eq. (7) sees).
    W1 : ndarray of shape (m, d)
        A minimiser of (7+) in :math:`W_1`: :math:`v_k/g` on every neuron of group k.
    w : ndarray of shape (d,)
        End-to-end predictor :math:`(\\widetilde W_2 P W_1)^T = (\\widetilde W_2 V)^T`.
    fit : LassoFit
        The per-group LASSO fits and their diagnostics.
    g : int
    """

    V: np.ndarray
    W1: np.ndarray
    w: np.ndarray
    fit: LassoFit
    g: int


# -- input checks at the public boundary ---------------------------------------------------------
def _array(name: str, a, ndim: int) -> np.ndarray:
    """``a`` as a non-empty, finite float64 array with ``ndim`` dimensions, or :class:`InputError`."""
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(name, f"must be an array of numbers, got {type(a).__name__}") from None
    if a.ndim != ndim or a.size == 0:
        raise InputError(name, f"must be a non-empty {ndim}-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(name, "must contain only finite numbers")
    return a


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng", f"must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


# -- teacher and data ----------------------------------------------------------------------------
def draw_sparse_beta(d: int, s: int, rng: np.random.Generator) -> np.ndarray:
    """Ground truth of Theorem 3: :math:`\\beta^*` with i.i.d. N(0, 1) entries on its first ``s``
    coordinates and zeros elsewhere (the paper fixes only the support, "without loss of generality").

    Returns
    -------
    ndarray of shape (d,)
    """
    d = check_int("d_x", d, low=1)
    s = check_int("s", s, low=1, high=d)
    rng = _check_rng(rng)
    beta = np.zeros(d)
    beta[:s] = rng.standard_normal(s)
    return beta


def theorem3_teacher(beta: np.ndarray, s: int, g: int):
    """The teacher of Hong et al. 2021, Theorem 3: :math:`m = s`, :math:`[\\widetilde W_1]_{ii} =
    \\beta^*_i` for :math:`i \\le s` (zero elsewhere), :math:`[\\widetilde W_2]_k = 1` for
    :math:`k \\le s/g`. Its output :math:`\\widetilde W_2 P \\widetilde W_1 x = \\beta^{*T}x` has zero
    test error on clean inputs (assumption (i)).

    Parameters
    ----------
    beta : ndarray of shape (d,), supported on the first ``s`` coordinates
    s : int, sparsity and hidden width m
    g : int, group size; must divide ``s``

    Returns
    -------
    W1_teacher : ndarray of shape (s, d)
    W2_teacher : ndarray of shape (1, s // g)
    """
    beta = _array("beta", beta, 1)
    d = beta.size
    s = check_int("s", s, low=1, high=d)
    g = check_divides("g", g, "s", s)
    if np.any(beta[s:] != 0):
        raise InputError("beta", f"must be zero outside its first s={s} coordinates")
    W1 = np.zeros((s, d))
    W1[np.arange(s), np.arange(s)] = beta[:s]
    return W1, np.ones((1, s // g))


def group_teacher_vectors(W1_teacher: np.ndarray, g: int) -> np.ndarray:
    """:math:`U = P\\widetilde W_1`, shape (m/g, d): group k's pooled teacher feature is
    :math:`u_k^T x` (identity activation). For the Theorem 3 teacher, :math:`u_k = \\beta^*_{G_k}`."""
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    g = check_divides("g", g, "m", W1_teacher.shape[0])
    return nets.pool(W1_teacher.T, g).T


def group_targets(X_clean: np.ndarray, W1_teacher: np.ndarray, g: int, activation: str = "identity"):
    """Pooled teacher features :math:`T = \\sigma(X\\widetilde W_1^T) P^T`, the targets in Eq. (7).

    Parameters
    ----------
    X_clean : ndarray of shape (N, d)
    W1_teacher : ndarray of shape (m, d)
    g : int, divides m
    activation : {"identity", "relu"}

    Returns
    -------
    ndarray of shape (N, m // g)
    """
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    X_clean = _array("X_clean", X_clean, 2)
    if X_clean.shape[1] != W1_teacher.shape[1]:
        raise InputError("X_clean", f"must have d = {W1_teacher.shape[1]} columns (those of W1_teacher), "
                                    f"got {X_clean.shape}")
    g = check_divides("g", g, "m", W1_teacher.shape[0])
    dummy_W2 = np.zeros((1, W1_teacher.shape[0]))
    H = nets.forward([W1_teacher, dummy_W2], X_clean, activation).hidden[0]
    return nets.pool(H, g)


def group_noise_std(U: np.ndarray, sigma: float) -> np.ndarray:
    """:math:`\\sigma_{e,k} = \\sigma\\|u_k\\|/\\sqrt{1+\\sigma^2}`: the standard deviation of the part of
    :math:`u_k^T x` that no function of :math:`z = x + \\epsilon` explains (x ~ N(0, I),
    eps ~ N(0, sigma^2 I)).

    Parameters
    ----------
    U : ndarray of shape (k, d), rows :math:`u_k`
    sigma : float, noise standard deviation

    Returns
    -------
    ndarray of shape (k,)
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    U = _array("U", np.atleast_2d(U), 2)
    return sigma * np.linalg.norm(U, axis=1) / np.sqrt(1.0 + sigma ** 2)


def theory_alpha(noise_std, N: int, d: int, sigma: float, kappa: float = 1.0) -> np.ndarray:
    """Penalty rule :math:`\\alpha_k = \\kappa\\sqrt{1+\\sigma^2}\\,\\sigma_{e,k}\\sqrt{2\\log d/N}`
    (sklearn units; the paper's :math:`\\lambda_k = 2N\\alpha_k`).

    Why this level: :math:`\\|Z^T e_k\\|_\\infty/N` concentrates at
    :math:`\\sqrt{1+\\sigma^2}\\,\\sigma_{e,k}\\sqrt{2\\log d/N}` (each :math:`z` column has variance
    :math:`1+\\sigma^2`), and the LASSO error bounds behind Theorem 3 need :math:`\\alpha` of this order
    (:math:`\\kappa = 2` in Bickel, Ritov & Tsybakov 2009; :math:`\\kappa = 1` the universal threshold).

    Parameters
    ----------
    noise_std : ndarray of shape (k,), :math:`\\sigma_{e,k}` (see :func:`group_noise_std`)
    N : int, samples
    d : int, input dimension (>= 2)
    sigma : float, input-noise standard deviation
    kappa : float > 0

    Returns
    -------
    ndarray of shape (k,)
    """
    N = check_int("N_s", N, low=1)
    d = check_int("d_x", d, low=2)
    sigma = check_real("sigma", sigma, low=0.0)
    sigma = check_real("sigma", sigma, high=1e150)
    kappa = check_real("kappa", kappa, low=0.0, low_open=True, high=1e150)
    noise_std = _array("noise_std", np.atleast_1d(noise_std), 1)
    if np.any(noise_std < 0):
        raise InputError("noise_std", "must be >= 0")
    return kappa * np.sqrt(1.0 + sigma ** 2) * noise_std * np.sqrt(2.0 * np.log(d) / N)


# -- solvers -------------------------------------------------------------------------------------
def _check_design(Z, T):
    Z = _array("Z", Z, 2)
    T = np.asarray(T, dtype=np.float64)
    T = _array("T", T[:, None] if T.ndim == 1 else T, 2)
    if T.shape[0] != Z.shape[0]:
        raise InputError("T", f"must have shape ({Z.shape[0]}, k) to match Z of shape {Z.shape}, got {T.shape}")
    return Z, T


def fit_group_lassos(Z: np.ndarray, T: np.ndarray, alpha, *, tol: float = DEFAULT_TOL,
                     max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """Solve :math:`\\min_v \\frac{1}{2N}\\|T_{:,j} - Zv\\|^2 + \\alpha_j\\|v\\|_1` for every column j
    with :class:`sklearn.linear_model.Lasso` (coordinate descent, no intercept, one shared Gram matrix).

    Convergence is checked explicitly: each ``dual_gap_`` and ``n_iter_`` is recorded and compared with
    the solver's stop level ``tol * ||T_{:,j}||^2 / N`` (:attr:`LassoFit.converged`). sklearn's
    ``ConvergenceWarning`` is suppressed here *because* that check replaces it.

    Parameters
    ----------
    Z : ndarray of shape (N, d), the student's noisy inputs
    T : ndarray of shape (N, k), one target per column
    alpha : float or ndarray of shape (k,), each > 0
    tol : float, sklearn's ``tol`` (set explicitly)
    max_iter : int

    Returns
    -------
    LassoFit
    """
    Z, T = _check_design(Z, T)
    N, d = Z.shape
    k = T.shape[1]
    try:
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (k,)).copy()
    except (TypeError, ValueError):
        raise InputError("alpha", f"must be a number or an array of shape ({k},), got {np.shape(alpha)}") from None
    if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise InputError("alpha", f"must be finite and > 0, got {alpha}")
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    Zf = np.asfortranarray(Z)
    gram = Zf.T @ Zf
    coef = np.zeros((k, d))
    gaps = np.zeros(k)
    n_iter = np.zeros(k, dtype=int)
    bound = tol * np.sum(T * T, axis=0) / N
    for j in range(k):
        t = np.ascontiguousarray(T[:, j])
        if not np.any(t):  # an all-zero target: v = 0 is the exact minimiser
            continue
        model = Lasso(alpha=float(alpha[j]), fit_intercept=False, precompute=gram, copy_X=False,
                      tol=tol, max_iter=max_iter, selection="cyclic")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # replaced by the explicit gap check
            model.fit(Zf, t, check_input=False)
        coef[j] = model.coef_
        gaps[j] = float(model.dual_gap_)
        n_iter[j] = int(model.n_iter_)
    if not np.all(np.isfinite(coef)):
        raise FloatingPointError("LASSO returned non-finite coefficients")
    return LassoFit(coef=coef, alpha=alpha, dual_gap=gaps, gap_bound=bound, n_iter=n_iter, tol=tol,
                    max_iter=max_iter)


def fit_group_lassos_cv(Z: np.ndarray, T: np.ndarray, *, n_folds: int = 5, n_alphas: int = 50,
                        tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """As :func:`fit_group_lassos`, with each :math:`\\alpha_j` chosen by ``n_folds``-fold
    cross-validation (:class:`sklearn.linear_model.LassoCV`, unshuffled folds: samples are i.i.d.).

    The recorded gap and iteration count are those of the final refit at the chosen alpha; the path
    fits inside the CV are not gap-checked (their warnings are suppressed).

    Returns
    -------
    LassoFit
    """
    Z, T = _check_design(Z, T)
    N, d = Z.shape
    n_folds = check_int("n_folds", n_folds, low=2, high=N)
    n_alphas = check_int("n_alphas", n_alphas, low=2)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    k = T.shape[1]
    coef, alpha, gaps = np.zeros((k, d)), np.zeros(k), np.zeros(k)
    n_iter = np.zeros(k, dtype=int)
    bound = tol * np.sum(T * T, axis=0) / N
    for j in range(k):
        t = T[:, j]
        if not np.any(t):
            alpha[j] = np.inf
            continue
        model = LassoCV(alphas=n_alphas, cv=n_folds, fit_intercept=False, tol=tol, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Z, t)
        coef[j], alpha[j] = model.coef_, model.alpha_
        gaps[j], n_iter[j] = float(model.dual_gap_), int(model.n_iter_)
    return LassoFit(coef=coef, alpha=alpha, dual_gap=gaps, gap_bound=bound, n_iter=n_iter, tol=tol,
                    max_iter=max_iter)


def spread_over_groups(V: np.ndarray, g: int) -> np.ndarray:
    """:math:`W_1` with :math:`[W_1]_j = v_{k(j)}/g`: satisfies :math:`PW_1 = V` and
    :math:`\\|W_1\\|_1 = \\|V\\|_1`, so it minimises (7+) whenever V minimises the grouped problems.

    Parameters
    ----------
    V : ndarray of shape (m/g, d)
    g : int

    Returns
    -------
    ndarray of shape (m, d)
    """
    g = check_int("g", g, low=1)
    return np.repeat(_array("V", V, 2) / g, g, axis=0)


def fit_pooled_student(X_noisy: np.ndarray, X_clean: np.ndarray, W1_teacher: np.ndarray,
                       W2_teacher: np.ndarray, g: int, *, sigma: float | None = None,
                       penalty: str = "theory", kappa: float = 1.0, tol: float = DEFAULT_TOL,
                       max_iter: int = DEFAULT_MAX_ITER) -> PooledStudent:
    """Minimise Eq. (7) + l1 penalty over :math:`W_1` (identity activation, :math:`W_2 =
    \\widetilde W_2` frozen) through its exact reduction to :math:`m/g` group LASSOs (module docstring).

    Parameters
    ----------
    X_noisy : ndarray of shape (N, d), rows :math:`x_i + \\epsilon_i`
    X_clean : ndarray of shape (N, d), rows :math:`x_i` (the teacher's inputs)
    W1_teacher : ndarray of shape (m, d)
    W2_teacher : ndarray of shape (1, m/g)
    g : int, group size; divides m
    sigma : float, input-noise standard deviation (needed by ``penalty="theory"``)
    penalty : {"theory", "cv"}
        ``"theory"``: :func:`theory_alpha` with the oracle :math:`\\sigma_{e,k}`;
        ``"cv"``: :func:`fit_group_lassos_cv`.
    kappa : float, multiplier of the theory rule
    tol, max_iter : solver settings

    Returns
    -------
    PooledStudent
    """
    W1_teacher = _array("W1_teacher", W1_teacher, 2)
    m, d = W1_teacher.shape
    g = check_divides("g", g, "m", m)
    W2_teacher = _array("W2_teacher", W2_teacher, 2)
    if W2_teacher.shape != (1, m // g):
        raise InputError("W2_teacher", f"must have shape (1, {m // g}), got {W2_teacher.shape}")
    Z = _array("X_noisy", X_noisy, 2)
    X_clean = _array("X_clean", X_clean, 2)
    if Z.shape != X_clean.shape or Z.shape[1] != d:
        raise InputError("X_noisy", f"and X_clean must both have shape (N, {d}), got {Z.shape}, "
                                    f"{np.shape(X_clean)}")
    T = group_targets(X_clean, W1_teacher, g, "identity")
    if penalty == "theory":
        if sigma is None:
            raise InputError("sigma", "is needed by the theory penalty")
        sigma = check_real("sigma", sigma, low=0.0, low_open=True)
        noise = group_noise_std(group_teacher_vectors(W1_teacher, g), sigma)
        alpha = theory_alpha(noise, Z.shape[0], d, sigma, kappa)
        alpha = np.where(noise > 0, alpha, 1.0)  # zero groups have zero targets: alpha is unused
        fit = fit_group_lassos(Z, T, alpha, tol=tol, max_iter=max_iter)
    elif penalty == "cv":
        fit = fit_group_lassos_cv(Z, T, tol=tol, max_iter=max_iter)
    else:
        raise InputError("penalty", f"must be one of theory, cv; got {penalty!r}")
    V = fit.coef
    return PooledStudent(V=V, W1=spread_over_groups(V, g), w=(W2_teacher @ V)[0], fit=fit, g=g)


def fit_base_student(X_noisy: np.ndarray, y: np.ndarray, alpha: float, *, tol: float = DEFAULT_TOL,
                     max_iter: int = DEFAULT_MAX_ITER) -> LassoFit:
    """The base student with the same l1 penalty: LASSO on the targets only,
    :math:`\\min_w \\frac{1}{2N}\\|y - Zw\\|^2 + \\alpha\\|w\\|_1` (Eq. (1) + penalty, linear model).

    For the Theorem 3 teacher with :math:`g = s` this is the pooled student itself (one group whose
    target is :math:`\\beta^{*T}x = y`).

    Parameters
    ----------
    X_noisy : ndarray of shape (N, d)
    y : ndarray of shape (N,)
    alpha : float > 0 (sklearn units)

    Returns
    -------
    LassoFit with one row
    """
    return fit_group_lassos(X_noisy, np.asarray(y, dtype=np.float64).reshape(-1, 1), alpha, tol=tol,
                            max_iter=max_iter)


# -- objective of Eq. (7) and a certificate for it ------------------------------------------------
def _group_penalty(lam, k: int) -> np.ndarray:
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (k,))
    if np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise InputError("lam", f"must be finite and >= 0, got {lam}")
    return lam


def pooled_st_objective(W1: np.ndarray, X_noisy: np.ndarray, X_clean: np.ndarray,
                        W1_teacher: np.ndarray, g: int, lam=0.0, activation: str = "identity") -> float:
    """Eq. (7) of Hong et al. 2021 plus the group-weighted l1 penalty (7+), for any activation:

    :math:`\\sum_i \\|P[\\sigma(W_1 z_i) - \\sigma(\\widetilde W_1 x_i)]\\|^2 + \\sum_j
    \\lambda_{k(j)}\\|[W_1]_j\\|_1` (sum over samples; the paper's units).

    Hidden features come from :func:`theorycheck.nets.forward`, pooling from
    :func:`theorycheck.nets.pool`.

    Parameters
    ----------
    W1, W1_teacher : ndarray of shape (m, d)
    X_noisy, X_clean : ndarray of shape (N, d)
    g : int, divides m
    lam : float or ndarray of shape (m/g,), per-group penalty :math:`\\lambda_k \\ge 0`
    activation : {"identity", "relu"}

    Returns
    -------
    float
    """
    W1 = _array("W1", W1, 2)
    m = W1.shape[0]
    g = check_divides("g", g, "m", m)
    if np.shape(W1_teacher) != W1.shape:
        raise InputError("W1_teacher", f"must have shape {W1.shape}, got {np.shape(W1_teacher)}")
    X_noisy = _array("X_noisy", X_noisy, 2)
    if X_noisy.shape[1] != W1.shape[1] or np.shape(X_clean) != X_noisy.shape:
        raise InputError("X_noisy", f"and X_clean must both have shape (N, {W1.shape[1]}), got "
                                    f"{X_noisy.shape}, {np.shape(X_clean)}")
    lam = _group_penalty(lam, m // g)
    dummy_W2 = np.zeros((1, m))
    H_student = nets.forward([W1, dummy_W2], X_noisy, activation).hidden[0]
    T = group_targets(X_clean, W1_teacher, g, activation)
    R = nets.pool(H_student, g) - T
    l1 = np.abs(W1).sum(axis=1).reshape(m // g, g).sum(axis=1)
    return float(np.sum(R * R) + np.dot(lam, l1))


def pooled_objective_dual_gap(W1: np.ndarray, Z: np.ndarray, T: np.ndarray, g: int, lam) -> float:
    r"""Duality gap of (7+) with identity activation at :math:`W_1`: a certified upper bound on
    :math:`F(W_1) - \min F` (paper units).

    With :math:`R = Z W_1^T P^T - T` (N, m/g), Fenchel duality for :math:`\min_W \|A(W) - T\|^2 +
    \sum_j \lambda_{k(j)}\|W_j\|_1`, :math:`A(W) = Z W^T P^T`, gives the dual function
    :math:`D(\theta) = -\langle\theta, T\rangle - \|\theta\|^2/4` on
    :math:`\{\theta : \|[A^*\theta]_j\|_\infty \le \lambda_{k(j)}\ \forall j\}`, with
    :math:`A^*\theta = P^T\theta^T Z` (m, d): every neuron of group k sees :math:`Z^T\theta_{:,k}`. The
    constraint separates over groups, so the dual point is :math:`\theta_{:,k} = 2R_{:,k}\,s_k`,
    :math:`s_k = \min(1, \lambda_k/\|Z^T 2R_{:,k}\|_\infty)` (the construction sklearn uses per
    problem). The gap :math:`F(W_1) - D(\theta)` is 0 exactly at a minimiser.

    Parameters
    ----------
    W1 : ndarray of shape (m, d)
    Z : ndarray of shape (N, d), noisy inputs
    T : ndarray of shape (N, m/g), pooled teacher features (:func:`group_targets`)
    g : int
    lam : float or ndarray of shape (m/g,), each > 0

    Returns
    -------
    float >= 0 (up to round-off)
    """
    W1 = _array("W1", W1, 2)
    m = W1.shape[0]
    g = check_divides("g", g, "m", m)
    Z, T = _check_design(Z, T)
    if Z.shape[1] != W1.shape[1] or T.shape[1] != m // g:
        raise InputError("T", f"must have shape (N, m/g) = ({Z.shape[0]}, {m // g}) and Z (N, {W1.shape[1]}); "
                              f"got {T.shape}, {Z.shape}")
    lam = _group_penalty(lam, m // g)
    if np.any(lam <= 0):
        raise InputError("lam", "must be > 0 for a duality-gap certificate")
    R = nets.pool(Z @ W1.T, g) - T
    primal = float(np.sum(R * R) + np.dot(lam, np.abs(W1).sum(axis=1).reshape(m // g, g).sum(axis=1)))
    theta = 2.0 * R
    col_max = np.abs(Z.T @ theta).max(axis=0)  # ||Z^T theta_k||_inf per group, shape (m/g,)
    scale = np.minimum(1.0, np.divide(lam, col_max, out=np.ones_like(lam), where=col_max > 0))
    theta = theta * scale
    dual = float(-np.sum(theta * T) - np.sum(theta * theta) / 4.0)
    return primal - dual


# -- closed-form test errors ----------------------------------------------------------------------
def optimal_test_error(beta: np.ndarray, sigma: float) -> float:
    """Bayes error for :math:`y = \\beta^T x` from :math:`z = x + \\epsilon`, :math:`x\\sim N(0,I)`,
    :math:`\\epsilon \\sim N(0,\\sigma^2 I)`: :math:`\\sigma^2\\|\\beta\\|^2/(1+\\sigma^2)`
    (Hong et al. 2021, below Theorem 3: "the optimal test error").

    Parameters
    ----------
    beta : ndarray of shape (d,)
    sigma : float >= 0
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    beta = _array("beta", beta, 1)
    return float(sigma ** 2 / (1.0 + sigma ** 2) * np.dot(beta, beta))


def linear_test_error(w: np.ndarray, beta: np.ndarray, sigma: float) -> float:
    """Exact test error of a linear student, Eq. (3)/(8) form:
    :math:`\\mathbb E(w^T(x+\\epsilon) - \\beta^T x)^2 = c\\|w - \\beta/c\\|^2 + \\sigma^2\\|\\beta\\|^2/c`,
    :math:`c = 1 + \\sigma^2` (x ~ N(0, I), eps ~ N(0, sigma^2 I) independent).

    Derivation: the error is :math:`\\|w-\\beta\\|^2 + \\sigma^2\\|w\\|^2`; completing the square in w
    gives the form above.

    Parameters
    ----------
    w : ndarray of shape (d,), end-to-end student :math:`(\\widetilde W_2 P W_1)^T`
    beta : ndarray of shape (d,)
    sigma : float >= 0
    """
    sigma = check_real("sigma", sigma, low=0.0, high=1e150)
    w = _array("w", w, 1)
    beta = _array("beta", beta, 1)
    if w.shape != beta.shape:
        raise InputError("w", f"must have the shape of beta {beta.shape}, got {w.shape}")
    c = 1.0 + sigma ** 2
    diff = w - beta / c
    return float(c * np.dot(diff, diff) + optimal_test_error(beta, sigma))
