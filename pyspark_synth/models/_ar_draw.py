"""Drawing rows of tokens from the autoregressive regressors fast: the first layer as table look-ups.

A regressor's first layer is linear in the embeddings of the tokens drawn before it, and each
embedding is a row of a small table, so `embedding(t) @ w_in[i]` is a row of a table that can be
computed once per token: `T[s][t, i] = tables[s][t] @ w_in[i][rows of s]`. Drawing then sums, for
each regressor, one row per token already drawn (`F.embedding_bag`) instead of multiplying the
whole (mostly zero) embedding vector by `w_in[i]`; the hidden layer and the head stay matrix
products. Temperature and banned tokens are folded into the heads once per draw.

A row's tokens are computed from its own uniforms and context only (look-ups, sums in a fixed
order, row-wise matrix products); the Spark kernel still draws each block in one call of its own, so
its rows never depend on how blocks are laid out over partitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from pyspark_synth.models._ar_nets import Regressors, TokenEmbeddings
    from pyspark_synth.models._ar_train import TableEncoding

__all__ = ["TokenDrawer"]


class TokenDrawer:
    """The tables of one fitted network for drawing tokens in one column order.

    Built once per `sample()` call (a few milliseconds), then `draw` is called for each chunk of
    rows (or each step of a sequence).

    Args:
        embeddings: The token embeddings.
        regressors: The per-token regressors.
        enc: The table's encoding (sub-columns of each learned column).
        order: Learned-column indexes in drawing order (fixed columns first).
        temperature: Divides the logits.
        banned: Tokens never drawn, per sub-column.
        fixed: {learned column: its tokens} set instead of drawn (conditions).
    """

    def __init__(self, embeddings: TokenEmbeddings, regressors: Regressors, enc: TableEncoding,
                 order: Sequence[int], *, temperature: float, banned: list[list[int]],
                 fixed: dict[int, list[int]] | None = None) -> None:
        fixed = fixed or {}
        self.embeddings, self.regressors = embeddings, regressors
        self.n_sub = len(enc.sizes)
        self.device = regressors.w_in.device
        # sub-columns in drawing order, and the fixed token of each (None: drawn)
        self.seq: list[int] = [s for j in order for s in enc.subs[j]]
        self.fixed: list[int | None] = [fixed[j][k] if j in fixed else None
                                        for j in order for k in range(len(enc.subs[j]))]
        sizes = [int(v) for v in enc.sizes]
        offsets = np.concatenate([[0], np.cumsum(enc.dims)]).astype(int)
        with torch.no_grad():
            w_in = regressors.w_in.detach()  # (S, E, h)
            # T[s] (V_s, S, h): what token v of sub-column s adds to every regressor's first layer
            lookups = [torch.einsum("vd,idh->vih", embeddings.tables[s].detach(),
                                    w_in[:, offsets[s]:offsets[s + 1], :]) for s in range(self.n_sub)]
            # regressor k (in drawing order) sums its first-layer bias and one row per earlier step
            # j < k of a table stacking [b_in[seq[k]], T[seq[0]][:, seq[k]], ..., T[seq[k-1]][:, seq[k]]];
            # step j's token t is row base[j] + t (row 0 is the bias, column 0 of the bags)
            v_seq = [sizes[s] for s in self.seq]
            self.base = [int(b) for b in np.concatenate([[1], 1 + np.cumsum(v_seq)[:-1]])] if v_seq else []
            self.bags: list[torch.Tensor] = []
            for k, s in enumerate(self.seq):
                parts = [regressors.b_in[s].detach()[None, :]] + [lookups[self.seq[j]][:, s, :] for j in range(k)]
                self.bags.append(torch.cat(parts).contiguous())
            t = float(temperature)
            self.heads, self.head_bias = [], []
            for s in range(self.n_sub):
                w, b = regressors.heads[s].detach(), regressors.head_bias[s].detach()
                if t != 1.0:
                    w, b = w / t, b / t
                b = b.clone()
                if banned[s]:
                    b[list(banned[s])] = -torch.inf
                self.heads.append(w.contiguous())
                self.head_bias.append(b)

    def draw(self, ctx: torch.Tensor | None, u: np.ndarray, n: int,
             embeddings: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Draw `n` rows of tokens; returns (tokens in sub-column order, their embeddings or None).

        Args:
            ctx: The context vector of each row, or None.
            u: (n, >= number of sub-columns) uniforms; column s draws sub-column s.
            n: Rows.
            embeddings: Also return the rows' concatenated token embeddings (sub-column order).
        """
        reg, dev = self.regressors, self.device
        if not self.n_sub:
            tok = torch.zeros((n, 0), dtype=torch.long, device=dev)
            return tok, (self.embeddings(tok) if embeddings else None)
        uu = torch.as_tensor(np.asarray(u)[:, :self.n_sub], dtype=torch.float64, device=dev).T.contiguous()
        # each row's bag: column 0 the bias row, column k + 1 the row of the token drawn at step k
        idx = torch.zeros((n, len(self.seq) + 1), dtype=torch.long, device=dev)
        ctx_part = None
        if ctx is not None and reg.ctx_dim:
            s_, c_, h_ = reg.w_ctx.shape
            ctx_part = (ctx @ reg.w_ctx.permute(1, 0, 2).reshape(c_, s_ * h_)).view(n, s_, h_)
        picked: list[torch.Tensor] = [torch.empty(0)] * self.n_sub
        for k, s in enumerate(self.seq):
            x = F.embedding_bag(idx[:, :k + 1], self.bags[k], mode="sum")
            if ctx_part is not None:
                x += ctx_part[:, s, :]
            x.relu_()
            hid = torch.addmm(reg.b_mid[s], x, reg.w_mid[s]).relu_().add_(x)
            fixed = self.fixed[k]
            if fixed is None:
                t = _pick(torch.addmm(self.head_bias[s], hid, self.heads[s]), uu[s])
            else:
                t = torch.full((n,), fixed, dtype=torch.long, device=dev)
            picked[s] = t
            torch.add(t, self.base[k], out=idx[:, k + 1])
        tok = torch.stack(picked, dim=1)
        return tok, (self.embeddings(tok) if embeddings else None)


def _pick(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One token per row by inverting the CDF of softmax(logits) at `u` (-inf logits are never drawn)."""
    e = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
    cum = torch.cumsum(e, dim=1, dtype=torch.float64)
    v = (u * cum[:, -1])[:, None]
    return torch.searchsorted(cum, v, right=True).squeeze_(1).clamp_max_(logits.shape[1] - 1)
