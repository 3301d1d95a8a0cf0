"""The two regularisers SoTeacher adds to ERM, ported exactly from the official code
(``shwinshaker/SoTeacher`` @ 0148005: ``helper/lip_util.py::lip1Loss`` and
``helper/consist_util.py::ConsistencyRegularizer``), plus a labelled spectral
variant of the Lipschitz term.

Weights follow :mod:`theorycheck.nets` (and PyTorch): ``W`` of shape (n_out, n_in), the layer maps
:math:`h \\mapsto W h`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, check_choice, check_int, check_real
from ._checks import finite_array, same_shape

__all__ = ["lip1_penalty", "spectral_penalty", "lipschitz_bound", "CR_SCHEDULES", "cr_weight",
           "consistency_loss", "ConsistencyRegularizer"]


def lip1_penalty(weights):
    """Lipschitz regulariser of the official code for linear layers,
    :math:`\\mathcal R_{LR} = \\sum_l \\|W_l\\|_{1\\to1} = \\sum_l \\max_j \\sum_i |W_{l,ij}|`
    (``lip1Loss``: ``module.weight.abs().sum(dim=0).max()`` per linear layer, summed over layers).

    :math:`\\|W\\|_{1\\to1}` is the largest absolute column sum, the operator norm induced by
    :math:`\\ell_1`. The per-layer norms are **summed**, not multiplied (the product would bound the
    network's :math:`\\ell_1` Lipschitz constant; the sum is the code's surrogate pushing every factor
    down). Biases are not penalised, as in the code.

    Parameters
    ----------
    weights : list of ndarray, ``weights[l]`` of shape (n_out, n_in)

    Returns
    -------
    value : float
    grads : list of ndarray, a subgradient: :math:`\\mathrm{sign}(W_{l,:j^*})` on the arg-max column
        :math:`j^*` of each layer, zero elsewhere (the gradient wherever the arg-max is unique and no
        entry of that column is 0).
    """
    value, grads = 0.0, []
    for W in _weights(weights):
        col = np.abs(W).sum(axis=0)
        j = int(col.argmax())
        value += float(col[j])
        g = np.zeros_like(W)
        g[:, j] = np.sign(W[:, j])
        grads.append(g)
    return value, grads


def _weights(weights) -> list:
    """``weights`` as a non-empty list of finite, non-empty 2-D arrays (or an InputError)."""
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)) or not weights:
        raise InputError("weights", "must be a non-empty list of 2-D weight matrices")
    return [finite_array(f"weights[{l}]", W, ndim=2) for l, W in enumerate(weights)]


def _top_singular(W, v, n_iter: int):
    """``n_iter`` power-iteration steps on :math:`W^\\top W` from ``v``; returns (sigma, u, v)."""
    for _ in range(n_iter):
        u = W @ v
        u /= np.linalg.norm(u)
        v = W.T @ u
        v /= np.linalg.norm(v)
    u = W @ v
    sigma = float(np.linalg.norm(u))
    return sigma, u / sigma, v


def spectral_penalty(weights, vectors=None, n_iter: int = 1):
    """Spectral variant of the Lipschitz term (a labelled alternative, not in the official
    code): :math:`\\sum_l \\sigma_{\\max}(W_l)`, gradient :math:`u_l v_l^\\top` (top singular pair).

    The singular pairs come from ``n_iter`` power-iteration steps warm-started at ``vectors`` (the
    right singular vectors of the previous call), as spectral normalisation does in practice; with
    ``vectors=None`` they start from an exact SVD.

    Parameters
    ----------
    weights : list of ndarray of shape (n_out, n_in)
    vectors : list of ndarray of shape (n_in,), or None
    n_iter : int >= 0

    Returns
    -------
    value : float
    grads : list of ndarray
    vectors : list of ndarray, pass back on the next call
    """
    n_iter = check_int("n_iter", n_iter, low=0)
    weights = _weights(weights)
    if vectors is not None and (not isinstance(vectors, (list, tuple)) or len(vectors) != len(weights)):
        raise InputError("vectors", f"must be None or a list of {len(weights)} vectors")
    if vectors is None:
        vectors = [np.linalg.svd(W)[2][0] for W in weights]
    value, grads, new_vectors = 0.0, [], []
    for W, v in zip(weights, vectors):
        if not np.any(W):
            raise InputError("weights", "a layer is all zeros; its top singular pair is undefined")
        sigma, u, v = _top_singular(W, v, n_iter)
        value += sigma
        grads.append(np.outer(u, v))
        new_vectors.append(v)
    return value, grads, new_vectors


def lipschitz_bound(weights, norm: str = "spectral") -> float:
    """Upper bound on the Lipschitz constant of one patch's logit map :math:`g`:
    :math:`\\prod_l \\|W_l\\|` (ReLU is 1-Lipschitz coordinatewise, biases do not matter).

    Parameters
    ----------
    weights : list of ndarray
    norm : {"spectral", "l1"}
        ``"spectral"``: :math:`\\ell_2 \\to \\ell_2` (largest singular value);
        ``"l1"``: :math:`\\ell_1 \\to \\ell_1` (largest absolute column sum, the code's per-layer term).
    """
    check_choice("norm", norm, ("spectral", "l1"))
    out = 1.0
    for W in _weights(weights):
        out *= float(np.linalg.norm(W, 2)) if norm == "spectral" else float(np.abs(W).sum(axis=0).max())
    return out


#: consistency-weight schedules of ``consist_util.py`` (``None`` in the code: the constant weight)
CR_SCHEDULES = ("constant", "linear", "step", "cycle", "cosine")


def cr_weight(e: int, epochs: int, max_weight: float, schedule: str, start_at: int = 50) -> float:
    """Consistency weight ``weight_schedule(e)`` of the official code, for 1-based epoch ``e``
    (``ConsistencyRegularizer.__get_weight_schedule``).

    The code calls ``step(e)`` at the **end** of epoch ``e``, so this value is the weight used during
    epoch ``e + 1``. With :math:`u = (e+1)/E`:

    * ``linear``: :math:`\\lambda u` (so epoch ``e`` trains with :math:`\\lambda e/E`);
    * ``step``: 0 while ``e < start_at``, then :math:`\\lambda`;
    * ``cycle``: :math:`\\lambda\\sqrt{1 - (1-u)^2}`;
    * ``cosine``: :math:`\\lambda\\cos((1-u)\\pi/2)`;
    * ``constant``: :math:`\\lambda` (the code's ``scheduler=None``).
    """
    check_choice("schedule", schedule, CR_SCHEDULES)
    epochs = check_int("epochs", epochs, low=1)
    e = check_int("e", e, low=0)
    max_weight = check_real("max_weight", max_weight, low=0.0)
    u = (e + 1) / epochs
    if schedule == "linear":
        return max_weight * u
    if schedule == "step":
        return 0.0 if e < start_at else max_weight
    if schedule == "cycle":
        return max_weight * float(np.sqrt(max(0.0, 1.0 - (1.0 - u) ** 2)))
    if schedule == "cosine":
        return max_weight * float(np.cos((1.0 - u) * np.pi / 2.0))
    return max_weight


def consistency_loss(probs, target, weight: float):
    """Consistency loss on a batch, :math:`\\lambda\\frac1{|B|}\\sum_i\\|p_i - Z_i\\|_2^2` (the code's
    ``alpha * mse_soft``: ``MSELoss(mean) * K`` is the squared error summed over classes, batch-averaged).

    Parameters
    ----------
    probs, target : ndarray of shape (B, K)
    weight : float, :math:`\\lambda`

    Returns
    -------
    value : float
    grad : ndarray of shape (B, K), d value / d probs (the target is a constant)
    """
    probs = finite_array("probs", probs, ndim=2)
    target = finite_array("target", target, ndim=2)
    same_shape("target", target, "probs", probs)
    weight = check_real("weight", weight, low=0.0)
    diff = probs - target
    B = len(probs)
    return weight * float((diff ** 2).sum()) / B, (2.0 * weight / B) * diff


class ConsistencyRegularizer:
    """Temporal-ensemble consistency regulariser, a line-by-line port of the official
    ``ConsistencyRegularizer``.

    State: a buffer :math:`Z \\in \\mathbb R^{N\\times K}` (zeros at start) indexed by training example,
    the current weight :math:`\\lambda_{CR}` and a counter :math:`c` (the code's ``self.epoch``: 0 during
    epoch 1, then ``e`` during epoch ``e``). For a batch :math:`B` with predictions
    :math:`p_i = \\mathrm{softmax}(f(\\tilde x_i))` on augmented views:

    1. loss :math:`\\lambda_{CR}\\frac1{|B|}\\sum_{i\\in B}\\|p_i - Z_i\\|_2^2` against the **current**
       :math:`Z_i` (``mse_soft``: ``MSELoss(mean) * K``), and zero while :math:`c = 0` (epoch 1);
    2. then :math:`Z_i \\leftarrow (1-\\tau) Z_i + \\tau p_i` with the prediction detached and
       :math:`\\tau = 1/(1+c)`.

    After epoch :math:`e` the buffer is the running mean of past epochs' predictions with weight
    :math:`2/(e+1)` on epoch 1 and :math:`1/(e+1)` on each later one (the code's off-by-one), not an
    exponential moving average.

    Parameters
    ----------
    n : int, training-set size
    K : int, classes
    max_weight : float >= 0, :math:`\\lambda_{CR}` (``consist_alpha``)
    schedule : one of :data:`CR_SCHEDULES`
    epochs : int, total epochs :math:`E`
    start_at : int, first epoch of the ``step`` schedule
    """

    def __init__(self, n: int, K: int, max_weight: float, schedule: str, epochs: int, start_at: int = 50):
        self.buffer = np.zeros((check_int("n", n, low=1), check_int("K", K, low=1)))
        self.max_weight = check_real("cr_lambda", max_weight, low=0.0)
        self.schedule = check_choice("cr_schedule", schedule, CR_SCHEDULES)
        self.epochs = check_int("epochs", epochs, low=1)
        self.start_at = check_int("start_at", start_at, low=0)
        self.weight = self.max_weight
        self.counter = 0

    def loss_and_grad(self, probs, idx):
        """Loss on a batch and its gradient with respect to ``probs``; updates the buffer.

        Parameters
        ----------
        probs : ndarray of shape (B, K), predictions on the augmented batch
        idx : ndarray of shape (B,), training-example ids (no repeats)

        Returns
        -------
        value : float
        grad : ndarray of shape (B, K), d value / d probs
        """
        target = self.target(idx)
        if target is not None:
            value, grad = consistency_loss(probs, target, self.weight)
        else:
            value, grad = 0.0, np.zeros_like(probs)
        self.update(idx, probs)
        return value, grad

    def target(self, idx):
        """The batch's targets :math:`Z_i` (a copy), or None during epoch 1 (the code's ``epoch > 0`` guard)."""
        return self.buffer[idx].copy() if self.counter > 0 else None

    def update(self, idx, probs) -> None:
        """Running-mean update :math:`Z_i \\leftarrow (1-\\tau) Z_i + \\tau p_i`, :math:`\\tau = 1/(1+c)`."""
        tau = 1.0 / (1.0 + self.counter)
        self.buffer[idx] = (1.0 - tau) * self.buffer[idx] + tau * probs

    def end_epoch(self, e: int) -> None:
        """The code's ``step(epoch)``, called after epoch ``e`` (1-based): next weight and counter."""
        self.weight = cr_weight(e, self.epochs, self.max_weight, self.schedule, self.start_at)
        self.counter = e + 1
