"""Optimisers and learning-rate schedules.

A schedule is a pure function of the step, so resuming needs only the step number and the
learning-rate scale that the NaN guard may have lowered; both live in the checkpoint.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import TrainConfig


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or AdamW over the trainable parameters of ``model``.

    With AdamW, biases and normalisation gains (1-D tensors) get no weight decay, as is usual
    since decaying them only shrinks the scale the norm layers are meant to learn.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=tuple(config.betas), eps=config.eps,
                                weight_decay=config.weight_decay)
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr, betas=tuple(config.betas),
                             eps=config.eps)


def learning_rate(step: int, config: TrainConfig) -> float:
    """The learning rate for optimiser step ``step`` (0-based) under ``config.schedule``.

    - constant: ``lr``.
    - exponential: ``lr * decay_rate ** ((step - warmup) / decay_steps)``, floored at ``min_lr``
      (Tacotron 2 decays from 1e-3 towards 1e-5 this way).
    - noam: ``lr * min(1, sqrt(warmup / step))``: linear warm-up then inverse square root
      ("Attention is all you need", with ``lr`` as the peak).
    - cosine: half a cosine from ``lr`` after warm-up to ``min_lr`` at ``max_steps``.

    Every schedule starts with a linear warm-up over ``warmup_steps``. From each step in
    ``milestones`` on, the rate is further multiplied by ``milestone_factor`` (an annealing drop,
    as torch's MultiStepLR), floored at ``min_lr``.
    """
    drops = sum(step >= m for m in config.milestones)
    if drops:
        return max(config.min_lr, _scheduled(step, config) * config.milestone_factor ** drops)
    return _scheduled(step, config)


def _scheduled(step: int, config: TrainConfig) -> float:
    base, warmup = config.lr, config.warmup_steps
    if step < warmup:
        return base * (step + 1) / warmup
    after = step - warmup
    if config.schedule == "constant":
        return base
    if config.schedule == "exponential":
        return max(config.min_lr, base * config.decay_rate ** (after / config.decay_steps))
    if config.schedule == "noam":
        return base * math.sqrt(max(warmup, 1) / max(step + 1, 1))
    if config.schedule == "cosine":
        span = max(config.max_steps - warmup, 1)
        progress = min(after / span, 1.0)
        return config.min_lr + 0.5 * (base - config.min_lr) * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {config.schedule!r}")


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write ``lr`` into every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr
