"""Knowledge-distillation students (Hinton et al. 2015) as the SoTeacher code trains them
(RepDistiller's ``train_distill`` + ``DistillKL``, exactly as in the official code).

Student loss per batch :math:`B` (``helper/loops.py``; :math:`\\beta = 0` for plain KD):

.. math:: \\gamma\\,\\frac1{|B|}\\sum_i \\mathrm{CE}(s_i, y_i)
          + \\alpha\\,\\frac{T^2}{|B|}\\sum_i \\mathrm{KL}\\big(\\sigma(t_i/T)\\,\\|\\,\\sigma(s_i/T)\\big),

with student logits :math:`s`, teacher logits :math:`t` on the same (augmented) batch. ``run_student.sh``
uses :math:`\\gamma = \\alpha = 0.5`, :math:`T = 4`; :math:`\\gamma = 0, \\alpha = 1, T = 1` is the clean
"soft labels only" arm.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import nets
from ..errors import InputError, check_real
from ._checks import finite_array, int_array, same_shape
from . import patchnet

__all__ = ["kd_loss_and_grad", "network_teacher", "oracle_teacher", "probs_to_logits", "tempered"]


def kd_loss_and_grad(student_logits, labels, teacher_logits, T: float, gamma: float, alpha: float):
    """The KD objective above and its gradient with respect to the student logits.

    Parameters
    ----------
    student_logits : ndarray of shape (B, K)
    labels : ndarray of shape (B,), ints
    teacher_logits : ndarray of shape (B, K) or None (then ``alpha`` must be 0)
    T : float > 0, temperature
    gamma, alpha : float >= 0, weights of the label CE and of the KL term

    Returns
    -------
    loss : float
    grad : ndarray of shape (B, K)

    Notes
    -----
    :math:`T^2\\,\\mathrm{KL}(p_t \\| \\sigma(s/T))` has gradient :math:`T\\,(\\sigma(s/T) - p_t)` in
    :math:`s` (the :math:`T^2` factor keeps the soft-target gradients' scale independent of :math:`T`).
    """
    T = check_real("kd_T", T, low=0.0, low_open=True)
    gamma = check_real("kd_gamma", gamma, low=0.0)
    alpha = check_real("kd_alpha", alpha, low=0.0)
    student_logits = finite_array("student_logits", student_logits, ndim=2)
    labels = int_array("labels", labels, ndim=1, low=0, high=student_logits.shape[1])
    if labels.shape != (len(student_logits),):
        raise InputError("labels", f"must have shape ({len(student_logits)},), got {labels.shape}")
    if alpha > 0:
        if teacher_logits is None:
            raise InputError("teacher_logits", "are required when kd_alpha > 0")
        teacher_logits = finite_array("teacher_logits", teacher_logits, ndim=2)
        same_shape("teacher_logits", teacher_logits, "student_logits", student_logits)
    loss, grad = 0.0, np.zeros_like(student_logits)
    if gamma > 0:
        ce, g = nets.softmax_cross_entropy(student_logits, labels)
        loss += gamma * ce
        grad += gamma * g
    if alpha > 0:
        p_t = patchnet.softmax(teacher_logits / T)
        ce, g = nets.softmax_cross_entropy(student_logits / T, p_t)
        entropy = -float((p_t * np.log(np.maximum(p_t, np.finfo(np.float64).tiny))).sum()) / len(p_t)
        loss += alpha * T * T * (ce - entropy)
        grad += alpha * T * g
    return loss, grad


def probs_to_logits(p) -> np.ndarray:
    """Logits :math:`\\log p` of a probability vector (floored at the smallest normal float)."""
    p = finite_array("p", p)
    if np.any(p < 0):
        raise InputError("p", "must hold probabilities (non-negative)")
    return np.log(np.maximum(p, np.finfo(np.float64).tiny))


def network_teacher(params, head: str) -> Callable:
    """Teacher callable ``(X_batch, idx) -> logits`` of a trained patch network (the mixture head's
    logits are :math:`\\log f(x)`, so that :math:`\\sigma(t/T)` is the tempered prediction)."""
    def teacher(X, idx):
        pf = patchnet.forward(params, X, head)
        return pf.logits if head == "pooled" else probs_to_logits(pf.probs)
    return teacher


def oracle_teacher(pstar) -> Callable:
    """The ideal teacher of the paper's analysis: logits :math:`\\log p^*(x_i)` of the training input
    (``pstar`` of shape (N, K); augmentations leave :math:`p^*` unchanged)."""
    logits = probs_to_logits(np.asarray(pstar))

    def teacher(X, idx):
        return logits[idx]
    return teacher


def tempered(teacher: Callable, tau: float) -> Callable:
    """The teacher with logits divided by ``tau`` (predictions :math:`\\propto f^{1/\\tau}`): the same
    arg-max, hence the same accuracy, but a softer (``tau > 1``) or sharper output; the "teacher
    temperature tuning" baseline the reviewers asked for."""
    tau = check_real("tau", tau, low=0.0, low_open=True)

    def teacher_tau(X, idx):
        return teacher(X, idx) / tau
    return teacher_tau
