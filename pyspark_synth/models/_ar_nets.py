"""Networks of the autoregressive model: token embeddings, masked per-column regressors, a history GRU.

Every sub-column (token) s has a regressor: a two-layer MLP whose input is the context vector and
the embeddings of the tokens that come before s in the column order (the others are masked out),
and a head giving s's logits. All regressors run as one batched matrix product; the mask is one
(sub-columns x embedding width) matrix per training batch, so any column order (fixed, or random
per batch so that any subset of columns can condition sampling) costs the same.

Parameters are created without touching torch's global random state (built on the meta device,
then initialised from a `torch.Generator`); dropout draws from a generator too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pyspark_synth.models.layers import build_module

__all__ = ["embedding_dim", "TokenEmbeddings", "ContextEncoder", "Regressors", "History", "position_features",
           "hash_uniforms", "pick_tokens", "resolve_device", "default_threads", "build", "visibility"]

POSITION_FEATURES = 4


def embedding_dim(vocab: int) -> int:
    """Width of a token's embedding, growing slowly with its vocabulary (at most 64)."""
    return int(max(1, min(vocab, 64, max(4, round(3 * vocab ** 0.3)))))


def _uniform_(t: torch.Tensor, bound: float, g: torch.Generator) -> None:
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=g)


class TokenEmbeddings(nn.Module):
    """One embedding table per sub-column; `forward` concatenates a row's embeddings."""

    def __init__(self, sizes: Sequence[int], dims: Sequence[int]) -> None:
        super().__init__()
        self.sizes, self.dims = [int(v) for v in sizes], [int(d) for d in dims]
        self.tables = nn.ParameterList([nn.Parameter(torch.empty(v, d)) for v, d in zip(self.sizes, self.dims,
                                                                                       strict=True)])
        self.width = int(sum(self.dims))

    def init(self, g: torch.Generator) -> None:
        with torch.no_grad():
            for t in self.tables:
                t.normal_(0.0, 1.0, generator=g)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.sizes:
            return tokens.new_zeros((tokens.shape[0], 0), dtype=torch.float32)
        return torch.cat([t[tokens[:, s]] for s, t in enumerate(self.tables)], dim=1)

    def one(self, s: int, tokens: torch.Tensor) -> torch.Tensor:
        return self.tables[s][tokens]


class ContextEncoder(nn.Module):
    """Context tokens (the parent's columns) to one vector: embeddings, a linear layer and a ReLU."""

    def __init__(self, sizes: Sequence[int], width: int) -> None:
        super().__init__()
        self.embeddings = TokenEmbeddings(sizes, [embedding_dim(v) for v in sizes])
        self.weight = nn.Parameter(torch.empty(self.embeddings.width, width))
        self.bias = nn.Parameter(torch.empty(width))
        self.width = int(width)

    def init(self, g: torch.Generator) -> None:
        self.embeddings.init(g)
        bound = 1.0 / math.sqrt(max(1, self.embeddings.width))
        _uniform_(self.weight, bound, g)
        _uniform_(self.bias, bound, g)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.relu(self.embeddings(tokens) @ self.weight + self.bias)


def _dropout(x: torch.Tensor, p: float, g: torch.Generator | None) -> torch.Tensor:
    if g is None or p <= 0:
        return x
    keep = torch.rand(x.shape, generator=g, device=x.device) >= p
    return x * keep / (1.0 - p)


class Regressors(nn.Module):
    """A masked two-layer MLP and a head per sub-column, batched over the sub-columns.

    Args:
        sizes: Vocabulary of each sub-column.
        emb_dims: Embedding width of each sub-column.
        ctx_dim: Width of the context vector (0: none).
        hidden: Width of each regressor's hidden layers.
    """

    def __init__(self, sizes: Sequence[int], emb_dims: Sequence[int], ctx_dim: int, hidden: int) -> None:
        super().__init__()
        s, e, h = len(sizes), int(sum(emb_dims)), int(hidden)
        self.sizes, self.ctx_dim, self.hidden, self.width = [int(v) for v in sizes], int(ctx_dim), h, e
        self.w_in = nn.Parameter(torch.empty(s, e, h))
        self.w_ctx = nn.Parameter(torch.empty(s, max(1, ctx_dim), h))
        self.b_in = nn.Parameter(torch.empty(s, h))
        self.w_mid = nn.Parameter(torch.empty(s, h, h))
        self.b_mid = nn.Parameter(torch.empty(s, h))
        self.heads = nn.ParameterList([nn.Parameter(torch.empty(h, v)) for v in self.sizes])
        self.head_bias = nn.ParameterList([nn.Parameter(torch.empty(v)) for v in self.sizes])

    def init(self, g: torch.Generator, log_prior: Sequence[np.ndarray] | None = None) -> None:
        """Uniform fan-in initialisation; heads start at the tokens' log frequencies when given."""
        fan = max(1, self.width // 2 + self.ctx_dim)
        _uniform_(self.w_in, 1.0 / math.sqrt(fan), g)
        _uniform_(self.w_ctx, 1.0 / math.sqrt(fan), g)
        _uniform_(self.b_in, 1.0 / math.sqrt(fan), g)
        _uniform_(self.w_mid, 1.0 / math.sqrt(self.hidden), g)
        _uniform_(self.b_mid, 1.0 / math.sqrt(self.hidden), g)
        with torch.no_grad():
            for i, (w, b) in enumerate(zip(self.heads, self.head_bias, strict=True)):
                _uniform_(w, 1.0 / math.sqrt(self.hidden), g)
                if log_prior is not None:
                    b.copy_(torch.as_tensor(log_prior[i], dtype=b.dtype))
                else:
                    b.zero_()

    def hidden_all(self, emb: torch.Tensor, ctx: torch.Tensor | None, vis: torch.Tensor, *,
                   dropout: float = 0.0, g: torch.Generator | None = None) -> torch.Tensor:
        """Hidden states of every sub-column's regressor, shape (S, B, hidden); `vis` is (S, E)."""
        s, e, h = self.w_in.shape
        w = (self.w_in * vis[:, :, None]).permute(1, 0, 2).reshape(e, s * h)
        x = (emb @ w).view(-1, s, h).transpose(0, 1)
        if ctx is not None and self.ctx_dim:
            x = x + (ctx @ self.w_ctx.permute(1, 0, 2).reshape(self.ctx_dim, s * h)).view(-1, s, h).transpose(0, 1)
        x = _dropout(F.relu(x + self.b_in[:, None, :]), dropout, g)
        return x + F.relu(torch.baddbmm(self.b_mid[:, None, :], x, self.w_mid))

    def hidden_one(self, i: int, emb: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
        """Hidden state of sub-column i's regressor while sampling: the tokens not drawn yet have zero
        embeddings in `emb`, which is what the training mask does, so no mask is needed."""
        x = emb @ self.w_in[i]
        if ctx is not None and self.ctx_dim:
            x = x + ctx @ self.w_ctx[i]
        x = F.relu(x + self.b_in[i])
        return x + F.relu(x @ self.w_mid[i] + self.b_mid[i])

    def logits(self, i: int, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.heads[i] + self.head_bias[i]

    def nll(self, tokens: torch.Tensor, emb: torch.Tensor, ctx: torch.Tensor | None, vis: torch.Tensor, *,
            dropout: float = 0.0, g: torch.Generator | None = None) -> torch.Tensor:
        """Negative log-likelihood of each row (summed over its sub-columns), shape (B,)."""
        hid = self.hidden_all(emb, ctx, vis, dropout=dropout, g=g)
        total = emb.new_zeros(tokens.shape[0])
        for i in range(len(self.sizes)):
            total = total + F.cross_entropy(self.logits(i, hid[i]), tokens[:, i], reduction="none")
        return total


def visibility(owner: Sequence[int], dims: Sequence[int], position: np.ndarray, device: torch.device) -> torch.Tensor:
    """The (S, E) mask: sub-column s sees the tokens of columns placed before its own column, and the
    earlier tokens of its own column.

    Args:
        owner: The column (index) of each sub-column.
        dims: Embedding width of each sub-column.
        position: Place of each column in the order (a permutation of 0..C-1, or any ranks).
        device: Where the mask lives.
    """
    own = np.asarray(owner, dtype=np.int64)
    pos = np.asarray(position, dtype=np.float64)[own]
    idx = np.arange(len(own))
    sees = (pos[None, :] < pos[:, None]) | ((own[None, :] == own[:, None]) & (idx[None, :] < idx[:, None]))
    wide = np.repeat(sees, np.asarray(dims, dtype=np.int64), axis=1).astype(np.float32)
    return torch.from_numpy(wide).to(device)


def position_features(t: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Features of child t of a sequence of `length`: log position, log children left, first, last."""
    t = t.to(torch.float32)
    left = length.to(torch.float32) - 1.0 - t
    return torch.stack([torch.log1p(t) / 4.0, torch.log1p(left.clamp_min(0)) / 4.0, (t == 0).float(),
                        (left <= 0).float()], dim=-1)


class History(nn.Module):
    """The sequence part: a GRU over the previous children (their embeddings and positions), started
    from the parent's context, and a layer turning (context, history, position) into the context
    vector of the next child's regressors.

    Args:
        row_width: Width of a child's concatenated token embeddings.
        ctx_dim: Width of the parent's context vector (0: none).
        hidden: Width of the GRU state.
        out: Width of the step's context vector.
    """

    def __init__(self, row_width: int, ctx_dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.row_width, self.ctx_dim, self.hidden, self.out = int(row_width), int(ctx_dim), int(hidden), int(out)
        self.gru = nn.GRU(self.row_width + POSITION_FEATURES, self.hidden, batch_first=True)
        self.w_h0 = nn.Parameter(torch.empty(max(1, ctx_dim), hidden))
        self.b_h0 = nn.Parameter(torch.empty(hidden))
        self.w_step = nn.Parameter(torch.empty(ctx_dim + hidden + POSITION_FEATURES, out))
        self.b_step = nn.Parameter(torch.empty(out))

    def init(self, g: torch.Generator) -> None:
        bound = 1.0 / math.sqrt(self.hidden)
        for p in self.gru.parameters():
            _uniform_(p, bound, g)
        _uniform_(self.w_h0, 1.0 / math.sqrt(max(1, self.ctx_dim)), g)
        _uniform_(self.b_h0, bound, g)
        fan = self.ctx_dim + self.hidden + POSITION_FEATURES
        _uniform_(self.w_step, 1.0 / math.sqrt(fan), g)
        _uniform_(self.b_step, 1.0 / math.sqrt(fan), g)

    def start(self, ctx: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
        """Initial GRU state, shape (1, n, hidden)."""
        if ctx is None or not self.ctx_dim:
            return torch.tanh(self.b_h0).expand(n, -1).unsqueeze(0).contiguous()
        return torch.tanh(ctx @ self.w_h0 + self.b_h0).unsqueeze(0)

    def step_context(self, ctx: torch.Tensor | None, state: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        parts = [ctx, state, feats] if ctx is not None and self.ctx_dim else [state, feats]
        return F.relu(torch.cat(parts, dim=-1) @ self.w_step + self.b_step)


def build(factory: type[nn.Module], *args: object) -> nn.Module:
    """Build a module on the CPU without touching the global random state (initialise it afterwards,
    then move it to its device: initial weights are the same on every device)."""
    return build_module(lambda: factory(*args))


# ----------------------------------------------------------------------------- sampling helpers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def hash_uniforms(seed: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform numbers in [0, 1) fixed by (seed, keys): a counter-based generator (splitmix64).

    Each row's draw depends only on its own keys (row index, sub-column, ...), so the rows of a
    request do not depend on how it is split into chunks.
    """
    h = _mix(np.asarray([int(seed) & (2**64 - 1)], dtype=np.uint64))
    for k in keys:
        h = _mix(h ^ np.asarray(k, dtype=np.int64).astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def pick_tokens(logits: torch.Tensor, u: np.ndarray, *, temperature: float = 1.0,
                banned: Sequence[int] = ()) -> torch.Tensor:
    """Draw one token per row by inverting the softmax's CDF at `u` (banned tokens are never drawn)."""
    x = logits.to(torch.float64)
    if temperature != 1.0:
        x = x / temperature
    if banned:
        x[:, list(banned)] = -torch.inf
    cum = torch.softmax(x, dim=1).cumsum(dim=1)
    v = torch.as_tensor(u, dtype=torch.float64, device=x.device)[:, None] * cum[:, -1:]
    return torch.searchsorted(cum, v, right=True).squeeze(1).clamp_max(x.shape[1] - 1)


def default_threads() -> int:
    """Threads for these small matrix products: half the cores this process may use, at most 4, and
    never more than torch is set to (a Spark worker sets 1).

    Torch's threads meet at a barrier several times per operation; on a machine whose cores are
    busy with other work a waiting thread stalls all of them (measured here: two threads on two
    shared cores made a training step 20-50x slower than one thread), while the gain of more
    threads on these small products is modest. Half the cores leaves room for the rest.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2, torch.get_num_threads()))


def resolve_device(device: str | None) -> torch.device:
    """`device`, or a GPU when one is present (else the CPU)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
