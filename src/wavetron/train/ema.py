"""Exponential moving average of model weights; vocoders sample from the average.

The average is kept in float32 beside the model. Its decay warms up as
``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (TensorFlow's ExponentialMovingAverage
with ``num_updates``), so early averages are not dominated by the random initialisation.
"""
from __future__ import annotations

import torch
from torch import nn


class EMA:
    """A shadow copy of every floating-point parameter and buffer of a model.

    Args:
        model: the model whose weights are averaged (the unwrapped module, not DDP).
        decay: the decay once warmed up, e.g. 0.9999.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            name: value.detach().float().clone() for name, value in model.state_dict().items()
            if value.is_floating_point()
        }

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards the current weights of ``model``."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        state = model.state_dict()
        averaged = [self.shadow[name] for name in self.shadow]
        current = [state[name].detach().float() for name in self.shadow]
        torch._foreach_lerp_(averaged, current, 1.0 - decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged tensors, keyed like the model's state dict."""
        return self.shadow

    def load_state_dict(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        """Restore averages saved by :meth:`state_dict`; names must match the model's."""
        missing = sorted(set(self.shadow) - set(tensors))
        if missing:
            raise KeyError(f"EMA state lacks {missing[0]} (and {len(missing) - 1} more)")
        for name, value in self.shadow.items():
            value.copy_(tensors[name])
        self.updates = updates

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite the floating-point weights of ``model`` with the averages."""
        state = model.state_dict()
        for name, value in self.shadow.items():
            state[name].copy_(value.to(state[name].dtype))
