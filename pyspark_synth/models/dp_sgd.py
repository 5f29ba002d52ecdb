"""DP-SGD for the neural backends: Poisson batches, per-sample clipped gradients, Gaussian noise, accounting.

Dependency-free (torch.func, no opacus): a step draws a Poisson batch (each training row joins
with probability `q = batch_size / rows`), computes every row's gradient with
`torch.func.vmap(torch.func.grad(...))`, clips each to norm `C`, sums them, adds Gaussian noise of
standard deviation `sigma * C` and divides by the expected batch size `q * rows`; the optimiser
then steps on that gradient as usual (what it does with it is post-processing). The spent
(epsilon, delta) comes from the RDP accountant of `privacy.dp` for the steps actually taken.

Only the row's own loss may touch its data: a backend gives `private_step` a function of
(parameters, one row's tensors) whose value depends on no other training row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from pyspark_synth.privacy.dp import (
    NOT_COVERED,
    check_dp_settings,
    default_delta,
    epsilon_spent,
    noise_for_epsilon,
)
from pyspark_synth.privacy.dp_stats import DPStatistics

__all__ = ["DPSGD", "planned_steps"]


class DPSGD:
    """The DP-SGD state of one fit: its noise, sampling rate, clipping norm and the steps taken.

    Args:
        settings: `epsilon`, `delta` (None: `privacy.dp.default_delta`), `noise_multiplier`
            (None: the smallest one that keeps `steps` steps within `epsilon`), `max_grad_norm`.
        rows: Training rows.
        batch_size: Expected rows per step.
        steps: Steps the fit plans (the noise is calibrated for them).
        where: The caller, for messages.
        statistics: The DP statistics the encoders were fitted from (`privacy.dp_stats`), or None:
            their RDP is added to the steps' and their selection delta taken from `delta`, so the
            noise is calibrated, and the epsilon reported, for the whole fit.
    """

    def __init__(self, settings: Mapping[str, Any], *, rows: int, batch_size: int, steps: int, where: str,
                 statistics: DPStatistics | None = None) -> None:
        s = check_dp_settings(settings, where)
        self.rows = int(rows)
        self.q = min(1.0, max(1, int(batch_size)) / max(1, self.rows))
        self.planned = max(1, int(steps))
        self.delta = s["delta"] if s["delta"] is not None else default_delta(self.rows)
        self.statistics = statistics
        self._extra = statistics.rdp() if statistics is not None else None
        self._delta_rdp = self.delta - (statistics.delta_selection if statistics is not None else 0.0)
        self.max_grad_norm = s["max_grad_norm"]
        self.target = s["epsilon"]
        self.noise_multiplier = (s["noise_multiplier"] if s["noise_multiplier"] is not None
                                 else noise_for_epsilon(self.target, self.q, self.planned, self._delta_rdp,
                                                        extra_rdp=self._extra))
        self.steps = 0

    @property
    def steps_per_epoch(self) -> int:
        """Steps of one expected pass over the rows (1 / q)."""
        return max(1, int(round(1.0 / self.q)))

    def batch(self, rng: np.random.Generator) -> np.ndarray:
        """A Poisson batch: the rows (indexes) that join this step, each with probability q."""
        return np.flatnonzero(rng.random(self.rows) < self.q)

    def private_step(self, module: torch.nn.Module, row_loss: Callable[..., torch.Tensor],
                     inputs: Sequence[torch.Tensor | None], in_dims: Sequence[int | None],
                     generator: torch.Generator) -> None:
        """Set `module`'s gradients to the clipped, noised mean gradient of the batch in `inputs`.

        Args:
            module: The trained network (its parameters that require gradients).
            row_loss: `row_loss(params, *one_row_inputs)`: the loss of one row (a scalar).
            inputs: The batch's tensors (rows along dimension 0 where `in_dims` says 0) and shared ones.
            in_dims: 0 for per-row inputs, None for inputs every row shares.
            generator: Seeds the noise.
        """
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        params = {n: p.detach() for n, p in named}
        rows = next((int(x.shape[0]) for x, d in zip(inputs, in_dims, strict=True) if d == 0 and x is not None), 0)
        sums: dict[str, torch.Tensor] = {}
        if rows:
            grads = torch.func.vmap(torch.func.grad(row_loss), in_dims=(None, *in_dims))(params, *inputs)
            norms = torch.sqrt(sum(g.reshape(rows, -1).pow(2).sum(1) for g in grads.values()))
            factor = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
            sums = {n: torch.einsum("b,b...->...", factor, g) for n, g in grads.items()}
        scale = self.noise_multiplier * self.max_grad_norm
        expected = self.q * self.rows
        for n, p in named:
            noise = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype) * scale
            total = sums[n] + noise if n in sums else noise
            p.grad = (total / expected).detach()
        self.steps += 1

    def report(self) -> dict[str, Any]:
        """The spent budget and the settings (stored in the spec's `model_report`)."""
        eps, order = epsilon_spent(self.q, self.noise_multiplier, self.steps, self._delta_rdp, extra_rdp=self._extra)
        sgd = epsilon_spent(self.q, self.noise_multiplier, self.steps, self._delta_rdp)[0]
        return {"epsilon": eps, "delta": self.delta, "target_epsilon": self.target, "epsilon_dp_sgd_alone": sgd,
                "statistics": self.statistics.report() if self.statistics is not None else None,
                "noise_multiplier": self.noise_multiplier, "max_grad_norm": self.max_grad_norm,
                "sample_rate": self.q, "steps": self.steps, "rdp_order": order, "accountant": "rdp",
                "mechanism": "DP-SGD (Poisson sampling, per-sample clipping, Gaussian noise)",
                "not_covered": list(NOT_COVERED)}


def planned_steps(epochs: int, rows: int, batch_size: int) -> int:
    """Steps of `epochs` expected passes over `rows` rows at `batch_size` rows a step."""
    return max(1, int(epochs) * max(1, int(round(rows / max(1, batch_size)))))

