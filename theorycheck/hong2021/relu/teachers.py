r"""Teachers and training data of Hong et al. 2021, Sec. 3.2 (Fig. 2) and Sec. 5.3 (Fig. 6).

Both teachers are the ground truth (zero test error on clean inputs) and have no biases.

* Fig. 2: :math:`\widetilde W_1 \in \mathbb R^{m\times d}`, :math:`\widetilde W_2 \in \mathbb R^{1\times m}`,
  PyTorch Xavier normal, entries :math:`N(0, 2/(d+m))` and :math:`N(0, 2/(1+m))`.
* Fig. 6: :math:`\widetilde W_1` Xavier normal; with pooling :math:`P` of group size :math:`g`,
  :math:`[\widetilde W_2]_k = +1` for the first :math:`m/(2g)` groups and :math:`-1` for the rest. The
  network output :math:`\widetilde W_2 P\,\mathrm{relu}(\widetilde W_1 x) = \tilde a^T\mathrm{relu}(\widetilde W_1 x)`
  with :math:`\tilde a = P^T\widetilde W_2^T = (+1,\dots,+1,-1,\dots,-1)` (:math:`m/2` of each), the same
  function for every :math:`g` with :math:`m/g` even (the paper's remark in Sec. 5.3).

Data: :math:`x_i \sim N(0, I_d)`, :math:`\epsilon_i \sim N(0, \sigma^2 I_d)`
(:func:`theorycheck.hong2021.datasets.gaussian_inputs`); the student sees :math:`z_i = x_i + \epsilon_i`, the teacher
features are :math:`t_i = \mathrm{relu}(\widetilde W_1 x_i)` and the targets :math:`y_i = \tilde a^T t_i`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError, check_divides, check_int, check_rng
from ...nets import xavier_normal
from ..datasets import gaussian_inputs

__all__ = ["TrainingSet", "xavier_teacher", "pooled_output_weights", "pooled_teacher",
           "xavier_student", "training_set"]


def _check_teacher(W_t, a_t):
    """``W_t`` (m, d) and ``a_t`` (m,) as finite float64 arrays, or :class:`InputError` naming them."""
    W_t, a_t = np.asarray(W_t, dtype=np.float64), np.asarray(a_t, dtype=np.float64)
    if W_t.ndim != 2 or min(W_t.shape) < 1:
        raise InputError("W_t", f"must be a non-empty array of shape (m, d), got {W_t.shape}")
    if a_t.shape != (W_t.shape[0],):
        raise InputError("a_t", f"must have shape ({W_t.shape[0]},), got {a_t.shape}")
    for name, arr in (("W_t", W_t), ("a_t", a_t)):
        if not np.all(np.isfinite(arr)):
            raise InputError(name, "contains non-finite values (NaN or inf)")
    return W_t, a_t


def xavier_teacher(m: int, d: int, rng: np.random.Generator):
    """The Fig. 2 teacher: Xavier-normal :math:`\\widetilde W_1` (m, d) and :math:`\\tilde a` (m,).

    Returns
    -------
    W_t : ndarray of shape (m, d), entries N(0, 2/(d+m))
    a_t : ndarray of shape (m,), entries N(0, 2/(1+m))
    """
    m, d = check_int("m", m, low=1), check_int("d_x", d, low=1)
    W1, W2 = xavier_normal([d, m, 1], check_rng(rng))
    return W1, W2[0]


def xavier_student(m: int, d: int, rng: np.random.Generator):
    """Student initialisation (both papers' figures): Xavier normal, as :func:`xavier_teacher`."""
    return xavier_teacher(m, d, rng)


def pooled_output_weights(m: int, g: int) -> np.ndarray:
    """:math:`\\tilde a = P^T\\widetilde W_2^T` of the Fig. 6 teacher: +1 on the first m/2 neurons, -1 after.

    Parameters
    ----------
    m : int, hidden width
    g : int, group size; ``m/g`` must be even (so the +1 and -1 groups split the neurons in halves)

    Returns
    -------
    ndarray of shape (m,)
    """
    m = check_int("m", m, low=2)
    g = check_divides("g", g, "m", m)
    if (m // g) % 2:
        raise InputError("g", f"must leave an even number of groups m/g, got m/g={m // g}")
    return np.concatenate([np.ones(m // 2), -np.ones(m // 2)])


def pooled_teacher(m: int, d: int, rng: np.random.Generator):
    """The Fig. 6 teacher: Xavier-normal :math:`\\widetilde W_1` (m, d) and :math:`\\tilde a = \\pm 1` halves.

    Returns
    -------
    W_t : ndarray of shape (m, d)
    a_t : ndarray of shape (m,), :func:`pooled_output_weights` (independent of g)
    """
    m, d = check_int("m", m, low=2), check_int("d_x", d, low=1)
    if m % 2:
        raise InputError("m", f"must be even for the +-1 halves, got {m}")
    W1 = xavier_normal([d, m], check_rng(rng))[0]
    return W1, np.concatenate([np.ones(m // 2), -np.ones(m // 2)])


@dataclass(frozen=True)
class TrainingSet:
    """Noisy training data of one run.

    Attributes
    ----------
    X : ndarray (N, d), clean inputs;  E : ndarray (N, d), noise;  Z : ndarray (N, d), ``X + E``
    T : ndarray (N, m), teacher features relu(X W_t^T);  y : ndarray (N,), targets T a_t
    """

    X: np.ndarray
    E: np.ndarray
    Z: np.ndarray
    T: np.ndarray
    y: np.ndarray

    def first(self, n: int) -> "TrainingSet":
        """The first ``n`` samples (views): a run on N_s samples uses the first N_s of a pool."""
        n = check_int("n", n, low=1, high=len(self.Z))
        return TrainingSet(X=self.X[:n], E=self.E[:n], Z=self.Z[:n], T=self.T[:n], y=self.y[:n])


def training_set(W_t, a_t, N: int, sigma: float, rng: np.random.Generator) -> TrainingSet:
    """Draw N noisy samples and the teacher's features and targets (float64).

    Parameters
    ----------
    W_t : ndarray of shape (m, d);  a_t : ndarray of shape (m,)
    N : int, number of samples;  sigma : float, noise standard deviation
    rng : numpy.random.Generator
    """
    W_t, a_t = _check_teacher(W_t, a_t)
    X, E = gaussian_inputs(N, W_t.shape[1], sigma, check_rng(rng))
    T = np.maximum(X @ W_t.T, 0.0)
    return TrainingSet(X=X, E=E, Z=X + E, T=T, y=T @ a_t)
