r"""The training objectives of Hong et al. 2021 for a two-layer ReLU student, in one parameterised form.

With samples as rows (:math:`z_i = x_i + \epsilon_i`, teacher features :math:`t_i =
\mathrm{relu}(\widetilde W_1 x_i)`), student :math:`h_i = \mathrm{relu}(W_1 z_i)`,
:math:`o_i = a^T h_i` (:math:`a = W_2^T`), the simulator minimises

.. math::

   L(W_1, a) = s \sum_{i=1}^{N} \Big[\beta\,(o_i - y_i)^2 + \lambda\,\|P(h_i - t_i)\|_2^2\Big],
   \qquad s = 1/N \text{ (``reduction="mean"``) or } 1 \text{ (``"sum"``)},

where :math:`P` sums consecutive groups of :math:`g` neurons (:func:`theorycheck.nets.pooling_matrix`).
Special cases (:func:`eq1`, :func:`eq2`, :func:`eq7`):

* Eq. (1), base loss: :math:`\beta = 1, \lambda = 0`, both layers trained.
* Eq. (2), student-teacher loss: :math:`\beta = 1`, :math:`\lambda > 0`, :math:`g = 1`.
* Eq. (7), simplified loss of Sec. 5.1: :math:`\beta = 0, \lambda = 1`, group size :math:`g`, and
  :math:`W_2 = \widetilde W_2` frozen (``train_W2=False``).

The paper writes sums; ``reduction="mean"`` divides by :math:`N` (equivalent to scaling the learning
rate by :math:`1/N`) so that step sizes do not depend on the sample size.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InputError, check_choice, check_int, check_real

__all__ = ["Objective", "eq1", "eq2", "eq7"]


@dataclass(frozen=True)
class Objective:
    """Weights of the two terms of the objective (module docstring) and which layers train.

    Attributes
    ----------
    base_weight : float
        :math:`\\beta \\ge 0`, weight of the target term Eq. (1).
    lam : float
        :math:`\\lambda \\ge 0`, weight of the (pooled) feature-difference term.
    g : int
        Pooling group size; 1 is the unpooled feature term of Eq. (2).
    train_W2 : bool
        Whether the output weights :math:`a` are trained (Eq. (1), (2)) or frozen (Eq. (7)).
    reduction : {"mean", "sum"}
        :math:`s = 1/N` or :math:`s = 1`.
    """

    base_weight: float = 1.0
    lam: float = 0.0
    g: int = 1
    train_W2: bool = True
    reduction: str = "mean"

    def __post_init__(self):
        check_real("base_weight", self.base_weight, low=0.0)
        check_real("lam", self.lam, low=0.0)
        check_int("g", self.g, low=1)
        check_choice("reduction", self.reduction, ("mean", "sum"))
        if self.base_weight == 0 and self.lam == 0:
            raise InputError("lam", "and base_weight are both 0: the objective has nothing to fit")

    @property
    def name(self) -> str:
        """``"eq1"``, ``"eq2"``, ``"eq7"`` for the paper's losses, else ``"custom"``."""
        if self.lam == 0 and self.train_W2:
            return "eq1"
        if self.base_weight > 0 and self.g == 1 and self.train_W2:
            return "eq2"
        if self.base_weight == 0 and not self.train_W2:
            return "eq7"
        return "custom"


def eq1(*, reduction: str = "mean") -> Objective:
    """Base loss, Hong et al. 2021 Eq. (1), both layers trainable."""
    return Objective(base_weight=1.0, lam=0.0, g=1, train_W2=True, reduction=reduction)


def eq2(lam: float, *, train_W2: bool = True, reduction: str = "mean") -> Objective:
    """Student-teacher loss, Hong et al. 2021 Eq. (2): Eq. (1) + ``lam`` * feature difference."""
    return Objective(base_weight=1.0, lam=check_real("lam", lam, low=0.0), g=1, train_W2=train_W2,
                     reduction=reduction)


def eq7(g: int, *, reduction: str = "mean") -> Objective:
    """Simplified student-teacher loss, Hong et al. 2021 Eq. (7): pooled features, :math:`W_2` frozen."""
    return Objective(base_weight=0.0, lam=1.0, g=check_int("g", g, low=1), train_W2=False,
                     reduction=reduction)
