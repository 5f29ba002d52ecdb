"""CTGAN network pieces: residual generator, PacGAN critic, entity-embedding input, seeded noise ops."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from pyspark_synth.transformers.base import Span

__all__ = [
    "SpanEncoder",
    "Residual",
    "Generator",
    "Critic",
    "build_module",
    "init_parameters",
    "gumbel_softmax",
    "activate",
    "gradient_penalty",
    "embedding_size",
]


def embedding_size(n_categories: int) -> int:
    """Width of a learned entity embedding for a column with `n_categories` values (fastai's rule)."""
    return int(min(50, max(2, round(1.6 * n_categories**0.56))))


def build_module(factory: Callable[[], nn.Module]) -> nn.Module:
    """Build a module without touching torch's global random state (parameters left uninitialised).

    The module is created on the meta device, moved to CPU as empty tensors, and batch-norm
    statistics are reset. Call `init_parameters` (fit) or `load_state_dict` (load) afterwards.
    """
    with torch.device("meta"):
        module = factory()
    module = module.to_empty(device="cpu")
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.reset_parameters()  # ones/zeros and running stats: no randomness
    return module


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default initialisation of Linear layers and N(0, 1) embeddings, from `generator`."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    bound = 1 / math.sqrt(m.weight.shape[1]) if m.weight.shape[1] > 0 else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, SpanEncoder):
                for w in m.weights:
                    nn.init.normal_(w, 0.0, 1.0, generator=generator)


class SpanEncoder(nn.Module):
    """Turn an activation-layout row (scalars, one-hots or probabilities) into a dense vector.

    Embedding spans are mapped by the soft lookup `probs @ weights` (a one-hot picks one row, a
    softmax mixes rows, so gradients reach both the weights and the probabilities); all other
    columns pass through unchanged.

    Args:
        spans: The layout (from a TableTransformer).
    """

    def __init__(self, spans: Sequence[Span]) -> None:
        super().__init__()
        passthrough: list[int] = []
        self.embedding_slices: list[tuple[int, int]] = []
        sizes: list[tuple[int, int]] = []
        start = 0
        for s in spans:
            if s.kind == "embedding":
                self.embedding_slices.append((start, start + s.dim))
                sizes.append((s.dim, embedding_size(s.dim)))
            else:
                passthrough.extend(range(start, start + s.dim))
            start += s.dim
        self.in_dim = start
        self._passthrough_list = passthrough
        self._passthrough: torch.Tensor | None = None  # built on first use (modules start on the meta device)
        self.all_passthrough = len(self.embedding_slices) == 0
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(n, d)) for n, d in sizes])
        self.out_dim = len(passthrough) + sum(d for _, d in sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.all_passthrough:
            return x
        if self._passthrough is None or self._passthrough.device != x.device:
            self._passthrough = torch.tensor(self._passthrough_list, dtype=torch.long, device=x.device)
        parts = [x.index_select(1, self._passthrough)]
        for (a, b), w in zip(self.embedding_slices, self.weights, strict=True):
            parts.append(x[:, a:b] @ w)
        return torch.cat(parts, dim=1)


def _cond_encoder(cond_spans: Sequence[Span] | None) -> SpanEncoder | None:
    """The conditional vector's encoder, or None when it has no high-cardinality block to embed."""
    if cond_spans is None or not any(s.kind == "embedding" for s in cond_spans):
        return None
    return SpanEncoder(cond_spans)


class Residual(nn.Module):
    """CTGAN's residual block: Linear, BatchNorm, ReLU, and the input concatenated to the output."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """Residual generator: (noise, conditional vector, encoded context) -> raw outputs (logits/pre-tanh).

    Args:
        noise_dim: Width of the Gaussian noise.
        cond_dim: Width of the conditional vector.
        context_spans: Layout of the parent context (None without context).
        hidden: Widths of the residual blocks.
        out_dim: Width of the output (TableTransformer.output_dim).
        cond_spans: Layout of the conditional vector (one block per discrete column); its
            high-cardinality blocks go through entity embeddings, so a column with thousands of
            values adds an embedding's width to the input, not one slot per value. None feeds
            the one-hot vector as it is (models saved before this option).
    """

    def __init__(self, noise_dim: int, cond_dim: int, context_spans: Sequence[Span] | None,
                 hidden: Sequence[int], out_dim: int, cond_spans: Sequence[Span] | None = None) -> None:
        super().__init__()
        self.context = SpanEncoder(context_spans) if context_spans else None
        self.cond = _cond_encoder(cond_spans)
        cond_width = self.cond.out_dim if self.cond is not None else cond_dim
        dim = noise_dim + cond_width + (self.context.out_dim if self.context is not None else 0)
        blocks = []
        for h in hidden:
            blocks.append(Residual(dim, h))
            dim += h
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, out_dim)

    def forward(self, z: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        parts = [z, self.cond(cond) if self.cond is not None else cond]
        if self.context is not None:
            parts.append(self.context(context))
        return self.out(self.blocks(torch.cat(parts, dim=1)))


class Critic(nn.Module):
    """WGAN-GP critic with PacGAN: `pac` rows are scored together; dropout draws from a given generator.

    Args:
        spans: Layout of the table rows (embedding spans go through entity embeddings).
        cond_dim: Width of the conditional vector.
        context_spans: Layout of the parent context (None without context).
        hidden: Widths of the hidden layers.
        pac: Rows per pack; the batch size must be a multiple of it.
        dropout: Dropout rate of the hidden layers.
        cond_spans: Layout of the conditional vector (see `Generator`); None: one-hot as it is.
    """

    def __init__(self, spans: Sequence[Span], cond_dim: int, context_spans: Sequence[Span] | None,
                 hidden: Sequence[int], pac: int = 10, dropout: float = 0.5,
                 cond_spans: Sequence[Span] | None = None) -> None:
        super().__init__()
        self.pac = pac
        self.dropout = dropout
        self.rows = SpanEncoder(spans)
        self.context = SpanEncoder(context_spans) if context_spans else None
        self.cond = _cond_encoder(cond_spans)
        cond_width = self.cond.out_dim if self.cond is not None else cond_dim
        dim = (self.rows.out_dim + cond_width + (self.context.out_dim if self.context is not None else 0)) * pac
        self.layers = nn.ModuleList()
        for h in hidden:
            self.layers.append(nn.Linear(dim, h))
            dim = h
        self.out = nn.Linear(dim, 1)

    def encode(self, x: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The per-row input of the critic (dense rows, conditional vector, dense context)."""
        parts = [self.rows(x), self.cond(cond) if self.cond is not None else cond]
        if self.context is not None:
            parts.append(self.context(context))
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, context: torch.Tensor | None = None, *,
                generator: torch.Generator | None = None) -> torch.Tensor:
        h = self.encode(x, cond, context)
        h = h.reshape(-1, h.shape[1] * self.pac)
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            if self.training and self.dropout > 0:
                keep = torch.rand(h.shape, generator=generator) >= self.dropout
                h = h * keep / (1.0 - self.dropout)
        return self.out(h)


def gumbel_softmax(logits: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """Gumbel-softmax relaxation with noise from `generator` (torch's version uses global state)."""
    u = torch.rand(logits.shape, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
    return F.softmax((logits - torch.log(-torch.log(u))) / tau, dim=1)


def activate(raw: torch.Tensor, spans: Sequence[Span], *, tau: float = 0.2,
             generator: torch.Generator) -> torch.Tensor:
    """Apply tanh to scalar spans and Gumbel-softmax to the others (training-time activations)."""
    parts, start = [], 0
    for s in spans:
        block = raw[:, start:start + s.dim]
        parts.append(torch.tanh(block) if s.activation == "tanh" else gumbel_softmax(block, tau, generator))
        start += s.dim
    return torch.cat(parts, dim=1)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor,
                     context: torch.Tensor | None, generator: torch.Generator, lambda_: float = 10.0,
                     ) -> torch.Tensor:
    """WGAN-GP penalty on points between real and fake rows (one mixing weight per pack, as in CTGAN)."""
    pac = critic.pac
    alpha = torch.rand(real.shape[0] // pac, 1, 1, generator=generator).expand(-1, pac, 1).reshape(-1, 1)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(mixed, cond, context, generator=generator)
    grads = torch.autograd.grad(scores.sum(), mixed, create_graph=True)[0]
    grads = grads.reshape(-1, pac * real.shape[1])
    return lambda_ * ((grads.norm(2, dim=1) - 1) ** 2).mean()
