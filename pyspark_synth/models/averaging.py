"""Polyak averaging of a torch module's weights, shared by the neural backends."""

from __future__ import annotations

import torch

__all__ = ["WeightAverage"]


class WeightAverage:
    """Exponential moving average of a module's floating-point state (weights and batch-norm statistics).

    Weights oscillate around a good solution from one step to the next (a GAN's generator most of
    all); sampling from the average of recent weights (Polyak averaging) gives steadier, better
    samples for the same steps.
    """

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.live = [t for t in module.state_dict().values() if t.dtype.is_floating_point]
        self.shadow = [t.detach().clone() for t in self.live]
        self.steps = 0

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))  # short memory while training starts
        torch._foreach_mul_(self.shadow, d)
        torch._foreach_add_(self.shadow, self.live, alpha=1.0 - d)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the live and averaged values (call twice to restore)."""
        for a, b in zip(self.live, self.shadow, strict=True):
            tmp = a.clone()
            a.copy_(b)
            b.copy_(tmp)
