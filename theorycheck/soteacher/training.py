"""Teacher and student training on mixed-feature data: the SoTeacher objective (exactly as in the official code) on
top of the toolkit's one SGD loop (:func:`theorycheck.train.sgd`) and patch networks
(:mod:`theorycheck.soteacher.patchnet`).

Per minibatch :math:`B` of (augmented) training views :math:`\\tilde x_i` in epoch :math:`e`:

.. math:: \\mathcal L(\\theta) = \\underbrace{\\gamma\\,\\mathrm{CE} + \\alpha\\,T^2\\mathrm{KL}}_{\\text{labels / KD}}
   + \\lambda_{CR}(e)\\,\\frac1{|B|}\\sum_{i\\in B}\\|f_\\theta(\\tilde x_i) - Z_i\\|_2^2
   + \\lambda_{LR}\\,\\mathcal R_{LR}(\\theta) + \\frac{\\mathrm{wd}}2\\|\\theta\\|_2^2 ,

optimised by SGD with momentum 0.9, learning rate ``lr`` decayed by ``lr_decay_rate`` after the epochs
at fractions ``lr_decay_at`` of training (the code's 150/180/210 of 240), weight decay on every
parameter (PyTorch's ``weight_decay``). Teachers use :math:`\\gamma = 1, \\alpha = 0`; SoTeacher is
``lip="l1"`` + ``cr_lambda=1`` with the ``linear`` schedule + augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import train as sgd_loop
from ..errors import InputError, check_choice, check_int, check_real
from . import patchnet
from .distill import kd_loss_and_grad
from .mixed_features import AUGMENTATIONS, MixedFeatureWorld, Sample, augment
from .regularisers import (CR_SCHEDULES, ConsistencyRegularizer, consistency_loss, lip1_penalty,
                          spectral_penalty)

__all__ = ["LIP_KINDS", "TrainConfig", "TrainRun", "batch_objective", "train_patchnet", "validation_nll"]

LIP_KINDS = ("none", "l1", "spectral")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run (network, optimiser, regularisers, loss).

    Attributes
    ----------
    hidden, depth : int, width and number of hidden ReLU layers of the per-patch MLP (``depth=0``: a
        linear head on the patch)
    head : {"pooled", "mixture"}, see :mod:`~theorycheck.soteacher.patchnet`
    epochs, batch_size : int; one epoch is ``N // batch_size`` steps
    lr, momentum, weight_decay : float
    lr_decay_at : tuple of float, fractions of ``epochs`` after which the rate is multiplied by
        ``lr_decay_rate`` (the code's 150, 180, 210 of 240 epochs)
    augment : one of :data:`~theorycheck.soteacher.mixed_features.AUGMENTATIONS`
    aug_strength : float in [0, 1], the resampling fraction of ``"resample"``
    lip : {"none", "l1", "spectral"}; ``"l1"`` is the official ``lip1Loss``
    lip_lambda : float, :math:`\\lambda_{LR}`
    cr_lambda : float, :math:`\\lambda_{CR}` (0 switches consistency off)
    cr_schedule : one of :data:`~theorycheck.soteacher.regularisers.CR_SCHEDULES`
    cr_start_frac : float, start of the ``step`` schedule as a fraction of ``epochs`` (code: 50/240)
    kd_gamma, kd_alpha, kd_T : float, label-CE weight, KD weight and temperature (students)
    """

    hidden: int = 64
    depth: int = 2
    head: str = "pooled"
    epochs: int = 60
    batch_size: int = 100
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_decay_at: tuple = (0.625, 0.75, 0.875)
    lr_decay_rate: float = 0.1
    augment: str = "none"
    aug_strength: float = 1.0
    lip: str = "none"
    lip_lambda: float = 0.0
    cr_lambda: float = 0.0
    cr_schedule: str = "linear"
    cr_start_frac: float = 50 / 240
    kd_gamma: float = 1.0
    kd_alpha: float = 0.0
    kd_T: float = 4.0

    def __post_init__(self):
        check_int("hidden", self.hidden, low=1)
        check_int("depth", self.depth, low=0)
        check_choice("head", self.head, patchnet.HEADS)
        check_int("epochs", self.epochs, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_real("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_choice("augment", self.augment, AUGMENTATIONS)
        check_real("aug_strength", self.aug_strength, low=0.0, high=1.0)
        check_choice("lip", self.lip, LIP_KINDS)
        check_real("lip_lambda", self.lip_lambda, low=0.0)
        check_real("cr_lambda", self.cr_lambda, low=0.0)
        check_choice("cr_schedule", self.cr_schedule, CR_SCHEDULES)
        check_real("cr_start_frac", self.cr_start_frac, low=0.0, high=1.0)
        if self.kd_alpha > 0 and self.head != "pooled":
            raise InputError("head", "distillation students use the pooled head")

    def sizes(self, patch_dim: int, K: int) -> list[int]:
        return [patch_dim] + [self.hidden] * self.depth + [K]

    def last_epoch_before_decay(self) -> int:
        """The last epoch trained at the full learning rate (the code's epoch 150 of 240, just before the
        first decay); ``epochs`` when the rate never decays."""
        return min([round(f * self.epochs) for f in self.lr_decay_at] + [self.epochs])

    def lr_at_epoch(self, e: int) -> float:
        """Learning rate during 1-based epoch ``e`` (``adjust_learning_rate``: decays after epochs > d)."""
        decays = sum(e > round(f * self.epochs) for f in self.lr_decay_at)
        return self.lr * self.lr_decay_rate ** decays


@dataclass
class TrainRun:
    """A finished run: final ``params``; ``best_params``/``best_epoch`` under the validation NLL (the
    code's ``best_loss`` checkpoint; equal to the final ones without a validation set);
    ``checkpoints``: list of (epoch, params); ``history``: per-epoch validation NLL."""

    params: list
    best_params: list
    best_epoch: int
    checkpoints: list = field(default_factory=list)
    history: dict = field(default_factory=dict)


def validation_nll(params, X, y, head: str) -> float:
    """Mean negative log-likelihood of labels ``y`` (N,) under the network's predictions on ``X``."""
    p = patchnet.predict_proba(params, X, head)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], np.finfo(np.float64).tiny))))


def batch_objective(params, cfg: TrainConfig, Xb, yb, *, teacher_logits=None, cr_target=None,
                    cr_weight: float = 0.0, spectral_vectors=None):
    """The objective of the module docstring on one batch, and its gradient (a pure function: the
    consistency target and the power-iteration vectors come in as arguments).

    Parameters
    ----------
    params : list of ndarray, ``[W_1..W_L, b_1..b_L]``
    cfg : TrainConfig
    Xb : ndarray of shape (B, m, D), the (augmented) batch
    yb : ndarray of shape (B,), labels
    teacher_logits : ndarray of shape (B, K) or None, needed when ``cfg.kd_alpha > 0``
    cr_target : ndarray of shape (B, K) or None, consistency targets :math:`Z_i` (None: no CR term)
    cr_weight : float, :math:`\\lambda_{CR}(e)`
    spectral_vectors : list or None, warm start of :func:`~theorycheck.soteacher.regularisers.spectral_penalty`

    Returns
    -------
    loss : float
    grads : list of ndarray, same shapes as ``params``
    probs : ndarray of shape (B, K), the predictions (for the consistency buffer)
    spectral_vectors : list or None
    """
    L = len(params) // 2
    pf = patchnet.forward(params, Xb, cfg.head)
    loss = 0.0
    g_probs = np.zeros_like(pf.probs)
    if cr_target is not None:
        loss, g_probs = consistency_loss(pf.probs, cr_target, cr_weight)
    if cfg.head == "pooled":
        v, g_logits = kd_loss_and_grad(pf.logits, yb, teacher_logits, cfg.kd_T, cfg.kd_gamma, cfg.kd_alpha)
        loss += v
        grads = patchnet.backward_logits(params, pf, g_logits + patchnet.softmax_backward(pf.probs, g_probs))
    else:
        # head variant B: cross-entropy of the averaged per-patch predictions, through the probabilities
        rows = np.arange(len(yb))
        py = np.maximum(pf.probs[rows, yb], np.finfo(np.float64).tiny)
        loss += cfg.kd_gamma * float(-np.mean(np.log(py)))
        g_probs = g_probs.copy()
        g_probs[rows, yb] -= cfg.kd_gamma / (len(yb) * py)
        grads = patchnet.backward_probs(params, pf, g_probs)
    if cfg.lip != "none" and cfg.lip_lambda > 0:
        if cfg.lip == "l1":
            v, g_lip = lip1_penalty(params[:L])
        else:
            v, g_lip, spectral_vectors = spectral_penalty(params[:L], spectral_vectors, n_iter=1)
        loss += cfg.lip_lambda * v
        for l in range(L):
            grads[l] = grads[l] + cfg.lip_lambda * g_lip[l]
    if cfg.weight_decay > 0:
        loss += 0.5 * cfg.weight_decay * sum(float(np.sum(p * p)) for p in params)
        grads = [g + cfg.weight_decay * p for g, p in zip(grads, params)]
    return loss, grads, pf.probs, spectral_vectors


def train_patchnet(config: TrainConfig, world: MixedFeatureWorld, train: Sample, rng: np.random.Generator, *,
                   val: Sample | None = None, teacher=None, checkpoint_every: int = 0,
                   checkpoint_at=(), init=None) -> TrainRun:
    """Train a patch network with the objective of the module docstring.

    Parameters
    ----------
    config : TrainConfig
    world : MixedFeatureWorld, used by the augmentations and for ``K``
    train : Sample, the training set (inputs ``X`` of shape (N, m, D), labels ``y``); ``D`` sets the
        input width (e.g. ``s`` for one-hot invariant features)
    rng : numpy.random.Generator, for the initialisation, minibatches and augmentations
    val : Sample, optional, held-out set for the early-stopping checkpoint (validation NLL)
    teacher : callable ``(X_batch, idx) -> logits``, optional; required when ``config.kd_alpha > 0``
    checkpoint_every : int, keep the parameters every this many epochs (0: none)
    checkpoint_at : sequence of int, further epochs (1-based, after the epoch) whose parameters are kept
    init : list of ndarray, optional initial parameters

    Returns
    -------
    TrainRun
    """
    cfg = config
    N, B = len(train), min(cfg.batch_size, len(train))
    spe = N // B
    steps = cfg.epochs * spe
    if cfg.kd_alpha > 0 and teacher is None:
        raise InputError("teacher", "is required when kd_alpha > 0")
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=0)
    keep_at = {check_int("checkpoint_at", e, low=1, high=cfg.epochs) for e in checkpoint_at}
    rng_init, rng_batch, rng_aug = rng.spawn(3)
    params = init if init is not None else patchnet.init_params(cfg.sizes(train.X.shape[2], world.K), rng_init)
    cr = (ConsistencyRegularizer(N, world.K, cfg.cr_lambda, cfg.cr_schedule, cfg.epochs,
                                 start_at=round(cfg.cr_start_frac * cfg.epochs))
          if cfg.cr_lambda > 0 else None)
    state = {"calls": 0, "vectors": None}

    def loss_and_grad(params, idx):
        step = state["calls"]
        state["calls"] += 1
        if cr is not None and step > 0 and step % spe == 0:
            cr.end_epoch(step // spe)              # the code's consister.step(epoch) after each epoch
        Xb = augment(world, train.X[idx], cfg.augment, rng_aug, cfg.aug_strength)
        t_logits = teacher(Xb, idx) if cfg.kd_alpha > 0 else None
        target = cr.target(idx) if cr is not None else None
        loss, grads, probs, state["vectors"] = batch_objective(
            params, cfg, Xb, train.y[idx], teacher_logits=t_logits, cr_target=target,
            cr_weight=cr.weight if cr is not None else 0.0, spectral_vectors=state["vectors"])
        if cr is not None:
            cr.update(idx, probs)                  # after the loss, with the prediction detached
        return loss, grads

    checkpoints, history = [], {"epoch": [], "val_nll": []}

    def eval_fn(params):
        epoch = history_epoch[0]
        history_epoch[0] += 1
        if epoch > 0 and ((checkpoint_every and epoch % checkpoint_every == 0) or epoch in keep_at):
            checkpoints.append((epoch, [p.copy() for p in params]))
        if val is None:
            return float(-epoch)                   # no validation set: the last epoch is "best"
        nll = validation_nll(params, val.X, val.y, cfg.head)
        history["epoch"].append(epoch)
        history["val_nll"].append(nll)
        return nll

    history_epoch = [0]
    use_eval = val is not None or checkpoint_every > 0 or bool(keep_at)
    res = sgd_loop.sgd(params, loss_and_grad, N, steps=steps,
                       lr=lambda s: cfg.lr_at_epoch(s // spe + 1), rng=rng_batch, batch_size=B,
                       eval_fn=eval_fn if use_eval else None, eval_every=spe, momentum=cfg.momentum)
    best_epoch = res.best_step // spe if use_eval else cfg.epochs
    return TrainRun(params=res.params, best_params=res.best_params if val is not None else res.params,
                    best_epoch=best_epoch, checkpoints=checkpoints, history=history)
