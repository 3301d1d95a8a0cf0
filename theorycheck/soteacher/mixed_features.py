"""The mixed-feature data model of SoTeacher (Dong, Liu, Shang, ICLR 2024, Def. 3.1), in the toolkit's
formalisation (the paper's exact definition was not available verbatim; this one is reconstructed to
match what is known of it), its label-preserving augmentations, and the Bayes references.

The world
---------
There are :math:`s` latent features :math:`z \\in [s]` and :math:`K` classes. Feature :math:`z` has a
label law :math:`\\pi_z \\in \\Delta^K` and a patch law :math:`D_z = N(\\mu_z, \\sigma^2 I_d)` on the
signal coordinates, so :math:`\\mathbb E\\|x - \\mu_z\\|^2 = \\nu_z = d\\sigma^2` (the paper's finite
variance assumption :math:`\\mathrm{Var}[X \\mid z] \\le \\nu_z`). An input is :math:`m` patches:
:math:`z_1, \\dots, z_m \\sim U[s]` i.i.d., :math:`x_j \\sim D_{z_j}`. Each patch also carries
``nuisance_dim`` coordinates :math:`\\eta_j \\sim N(0, \\tau^2 I)` that no label depends on;
they are the handle of the augmentations. The true label distribution is

.. math:: p^*(x) = \\frac1m \\sum_{j=1}^m \\pi_{z_j}, \\qquad y \\mid x \\sim \\mathrm{Cat}(p^*(x)).

Arrays: inputs ``X`` of shape (N, m, d + nuisance_dim) (patch ``j`` of input ``i`` is ``X[i, j]``),
latent features ``Z`` of shape (N, m) (ints), ``pstar`` of shape (N, K), labels ``y`` of shape (N,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, check_choice, check_int, check_real
from ._checks import finite_array, int_array, probability_rows, same_shape

__all__ = ["MixedFeatureWorld", "Sample", "AUGMENTATIONS", "draw_world", "sample", "true_label_distribution",
           "bayes_posterior", "expected_accuracy", "expected_cross_entropy", "l1_error",
           "memoriser_error", "memoriser_error_expected", "augment", "onehot_features"]


@dataclass(frozen=True)
class MixedFeatureWorld:
    """One mixed-feature distribution.

    Attributes
    ----------
    means : ndarray of shape (s, d), patch means :math:`\\mu_z`
    label_laws : ndarray of shape (s, K), rows :math:`\\pi_z` on the simplex
    sigma : float, patch noise standard deviation (:math:`\\nu_z = d\\sigma^2`)
    m : int, patches per input
    nuisance_dim : int, label-free coordinates appended to every patch
    tau : float, standard deviation of the nuisance coordinates
    """

    means: np.ndarray
    label_laws: np.ndarray
    sigma: float
    m: int
    nuisance_dim: int = 0
    tau: float = 1.0

    @property
    def s(self) -> int:
        return self.means.shape[0]

    @property
    def d(self) -> int:
        return self.means.shape[1]

    @property
    def K(self) -> int:
        return self.label_laws.shape[1]

    @property
    def patch_dim(self) -> int:
        """Width of one patch row: signal ``d`` plus ``nuisance_dim``."""
        return self.d + self.nuisance_dim


@dataclass(frozen=True)
class Sample:
    """A drawn data set: ``X`` (N, m, patch_dim), ``Z`` (N, m) ints, ``pstar`` (N, K), ``y`` (N,) ints."""

    X: np.ndarray
    Z: np.ndarray
    pstar: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def draw_world(s: int, K: int, d: int, m: int, sigma: float, rng: np.random.Generator, *,
               dirichlet: float = 0.4, nuisance_dim: int = 0, tau: float = 1.0) -> MixedFeatureWorld:
    """Draw a world: :math:`\\mu_z \\sim N(0, I_d)`, :math:`\\pi_z \\sim \\mathrm{Dir}(a \\mathbf 1_K)`.

    Parameters
    ----------
    s, K, d, m : int, features, classes, signal dimension, patches per input
    sigma : float >= 0, patch noise
    rng : numpy.random.Generator
    dirichlet : float > 0, concentration :math:`a` of the label laws (small: peaked :math:`\\pi_z`)
    nuisance_dim : int >= 0
    tau : float >= 0

    Returns
    -------
    MixedFeatureWorld
    """
    s = check_int("s", s, low=1)
    K = check_int("K", K, low=2)
    d = check_int("d", d, low=1)
    m = check_int("m", m, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    dirichlet = check_real("dirichlet", dirichlet, low=0.0, low_open=True)
    nuisance_dim = check_int("nuisance_dim", nuisance_dim, low=0)
    tau = check_real("tau", tau, low=0.0)
    means = rng.standard_normal((s, d))
    laws = rng.dirichlet(np.full(K, dirichlet), size=s)
    # Dirichlet draws with a < 1 can underflow to exact zeros; keep every law strictly positive so
    # that log p* and the cross-entropy references stay finite (the floor moves no law by > 1e-12).
    laws = np.maximum(laws, 1e-12)
    laws /= laws.sum(axis=1, keepdims=True)
    return MixedFeatureWorld(means=means, label_laws=laws, sigma=sigma, m=m, nuisance_dim=nuisance_dim,
                             tau=tau)


def true_label_distribution(world: MixedFeatureWorld, Z) -> np.ndarray:
    """:math:`p^*(x) = \\frac1m\\sum_j \\pi_{z_j}` (Def. 3.1 analogue).

    Parameters
    ----------
    Z : ndarray of shape (N, m), latent features of each patch

    Returns
    -------
    ndarray of shape (N, K)
    """
    Z = int_array("Z", Z, ndim=2, low=0, high=world.s)
    if Z.shape[1] != world.m:
        raise InputError("Z", f"must have shape (N, {world.m}), got {Z.shape}")
    return world.label_laws[Z].mean(axis=1)


def sample(world: MixedFeatureWorld, N: int, rng: np.random.Generator) -> Sample:
    """Draw ``N`` inputs, their true label distributions and labels :math:`y \\sim \\mathrm{Cat}(p^*(x))`.

    Returns
    -------
    Sample
    """
    N = check_int("N", N, low=1)
    Z = rng.integers(0, world.s, size=(N, world.m))
    signal = world.means[Z] + world.sigma * rng.standard_normal((N, world.m, world.d))
    nuisance = world.tau * rng.standard_normal((N, world.m, world.nuisance_dim))
    X = np.concatenate([signal, nuisance], axis=2)
    pstar = true_label_distribution(world, Z)
    # inverse-CDF draw of one categorical per row
    u = rng.random((N, 1))
    y = np.minimum((pstar.cumsum(axis=1) < u).sum(axis=1), world.K - 1)
    return Sample(X=X, Z=Z, pstar=pstar, y=y)


def bayes_posterior(world: MixedFeatureWorld, X) -> np.ndarray:
    """Bayes posterior :math:`P(y \\mid x) = \\frac1m \\sum_j \\sum_z P(z \\mid x_j)\\, \\pi_z`.

    The patches' features are i.i.d. uniform and the patch laws are independent given the features,
    so :math:`P(z_j = z \\mid x) \\propto \\exp(-\\|x_j - \\mu_z\\|^2 / 2\\sigma^2)` patch by patch (the
    nuisance coordinates carry no information). It equals :math:`p^*(x)` when the patch laws do not
    overlap; otherwise it is the best any learner can do, and its distance to :math:`p^*` is the floor
    of the error to :math:`p^*`.

    Parameters
    ----------
    X : ndarray of shape (N, m, patch_dim)

    Returns
    -------
    ndarray of shape (N, K)
    """
    X = finite_array("X", X, ndim=3)
    if X.shape[1:] != (world.m, world.patch_dim):
        raise InputError("X", f"must have shape (N, {world.m}, {world.patch_dim}), got {X.shape}")
    if world.sigma == 0:
        raise InputError("sigma", "must be > 0 for the Bayes posterior (sigma = 0 gives p* exactly)")
    sig = X[..., :world.d]
    sq = ((sig[:, :, None, :] - world.means[None, None]) ** 2).sum(axis=3)  # (N, m, s)
    logits = -sq / (2.0 * world.sigma ** 2)
    logits -= logits.max(axis=2, keepdims=True)
    r = np.exp(logits)
    r /= r.sum(axis=2, keepdims=True)
    return (r @ world.label_laws).mean(axis=1)


def l1_error(pred, pstar) -> float:
    """Error to the true label distribution, :math:`\\frac1N\\sum_i \\|f(x_i) - p^*(x_i)\\|_1`
    (the quantity the paper bounds on the training inputs).

    Parameters
    ----------
    pred, pstar : ndarray of shape (N, K)
    """
    pred, pstar = _pred_pstar(pred, pstar)
    return float(np.abs(pred - pstar).sum(axis=1).mean())


def _pred_pstar(pred, pstar):
    """Both as finite, non-empty (N, K) arrays of the same shape, or an InputError naming the culprit."""
    pstar = finite_array("pstar", pstar, ndim=2)
    pred = finite_array("pred", pred, ndim=2)
    same_shape("pred", pred, "pstar", pstar)
    return pred, pstar


def expected_accuracy(pred, pstar) -> float:
    """Accuracy averaged over the label noise: :math:`\\frac1N\\sum_i p^*_{\\arg\\max f(x_i)}(x_i)`.

    It is the expectation of the test accuracy given the test inputs, without the
    :math:`O(1/\\sqrt N)` noise of drawn labels. ``pred = bayes_posterior(...)`` gives the Bayes accuracy.
    """
    pred, pstar = _pred_pstar(pred, pstar)
    return float(pstar[np.arange(len(pstar)), pred.argmax(axis=1)].mean())


def expected_cross_entropy(pred, pstar) -> float:
    """Test cross-entropy averaged over the label noise: :math:`-\\frac1N\\sum_i\\sum_k p^*_k \\log f_k`.

    ``pred`` must be strictly positive where ``pstar`` is (softmax outputs are).
    """
    pred, pstar = _pred_pstar(pred, pstar)
    if np.any(pred < 0):
        raise InputError("pred", "must hold probabilities (non-negative)")
    return float(-(pstar * _safe_log(pred)).sum(axis=1).mean())


def _safe_log(p):
    """log with a floor at the smallest normal float, so an underflowed softmax entry gives -708,
    not -inf (the entry's true value is positive)."""
    return np.log(np.maximum(p, np.finfo(np.float64).tiny))


def memoriser_error(pstar, y) -> float:
    """Error to :math:`p^*` of a memoriser that outputs the one-hot label on each training input:
    :math:`\\frac1N\\sum_i \\|e_{y_i} - p^*(x_i)\\|_1 = \\frac2N\\sum_i (1 - p^*_{y_i}(x_i))`."""
    pstar = probability_rows("pstar", pstar)
    y = int_array("y", y, ndim=1, low=0, high=pstar.shape[1])
    if y.shape != (len(pstar),):
        raise InputError("y", f"must have shape ({len(pstar)},), got {y.shape}")
    return float(2.0 * (1.0 - pstar[np.arange(len(pstar)), y]).mean())


def memoriser_error_expected(world: MixedFeatureWorld) -> float:
    """Expectation of :func:`memoriser_error`, in closed form:
    :math:`2(1 - \\mathbb E\\|p^*\\|_2^2)` with, for uniform features,
    :math:`\\mathbb E\\|p^*\\|^2 = \\frac1m\\overline{\\|\\pi_z\\|^2} + (1-\\frac1m)\\|\\bar\\pi\\|^2`.
    It does not shrink with N."""
    pis = world.label_laws
    mean_sq = float((pis ** 2).sum(axis=1).mean())
    sq_mean = float((pis.mean(axis=0) ** 2).sum())
    return 2.0 * (1.0 - (mean_sq / world.m + (1.0 - 1.0 / world.m) * sq_mean))


#: augmentation name -> what it does to the patches; every one leaves Z, hence p*, unchanged
AUGMENTATIONS = ("none", "resample", "flip")


def augment(world: MixedFeatureWorld, X, kind: str, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A label-preserving view :math:`\\gamma(x)` (Def. 3.8 analogue).

    * ``"none"``: :math:`x` itself.
    * ``"resample"``: the nuisance coordinates of every patch are partly redrawn,
      :math:`\\eta' = \\sqrt{1-\\rho^2}\\,\\eta + \\rho\\,\\xi`, :math:`\\xi \\sim N(0, \\tau^2 I)`, with
      :math:`\\rho` = ``strength`` (the analogue of a random crop: a new view correlated with the old
      one; :math:`\\rho = 1` draws them afresh). The law of :math:`\\eta'` is that of :math:`\\eta`, so the
      augmented input has exactly the law of an input with the same features.
    * ``"flip"``: the nuisance block of each patch is negated with probability 1/2 (the analogue of a
      horizontal flip; the nuisance law is symmetric).

    Neither touches the signal coordinates or the latent features, so :math:`p^*(\\gamma(x)) = p^*(x)`.

    Parameters
    ----------
    X : ndarray of shape (N, m, patch_dim)
    kind : one of :data:`AUGMENTATIONS`
    rng : numpy.random.Generator
    strength : float in [0, 1], :math:`\\rho` of ``"resample"`` (ignored otherwise)

    Returns
    -------
    ndarray of shape (N, m, patch_dim), a new array
    """
    check_choice("augment", kind, AUGMENTATIONS)
    rho = check_real("aug_strength", strength, low=0.0, high=1.0)
    X = finite_array("X", X, ndim=3).copy()
    d, dn = world.d, world.nuisance_dim
    if kind != "none" and dn > 0 and X.shape[2] != world.patch_dim:
        raise InputError("X", f"must have shape (N, m, {world.patch_dim}), got {X.shape}")
    if kind == "none" or dn == 0:
        return X
    if kind == "resample":
        fresh = world.tau * rng.standard_normal(X.shape[:2] + (dn,))
        X[..., d:] = np.sqrt(1.0 - rho * rho) * X[..., d:] + rho * fresh
    else:
        signs = np.where(rng.random(X.shape[:2] + (1,)) < 0.5, -1.0, 1.0)
        X[..., d:] *= signs
    return X


def onehot_features(Z, s: int) -> np.ndarray:
    """The invariant oracle extractor of Def. 3.2: :math:`\\phi(x_j) = e_{z_j}`.

    Parameters
    ----------
    Z : ndarray of shape (N, m) of ints in [0, s)

    Returns
    -------
    ndarray of shape (N, m, s)
    """
    s = check_int("s", s, low=1)
    Z = int_array("Z", Z, low=0, high=s)
    return np.eye(s)[Z]
