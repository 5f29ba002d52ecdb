"""Drawing tokens with `TokenDrawer`: the tokens are the training network's conditionals inverted at
the uniforms (any order, context, conditions, temperature, banned tokens), and a model keeps its
drawer until its weights change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pyspark_synth.models._ar_base import draw_tokens, torch_gen
from pyspark_synth.models._ar_draw import TokenDrawer
from pyspark_synth.models._ar_nets import (
    Regressors,
    TokenEmbeddings,
    build,
    hash_uniforms,
    pick_tokens,
    visibility,
)
from pyspark_synth.models.autoregressive import AutoregressiveModel


class _Enc:
    """The token layout `TokenDrawer` reads from a `TableEncoding`: sub-columns of each column."""

    def __init__(self, col_sizes: list[list[int]]) -> None:
        self.sizes = [v for c in col_sizes for v in c]
        self.dims = [3 + (v % 4) for v in self.sizes]
        self.owner = [j for j, c in enumerate(col_sizes) for _ in c]
        self.subs, start = [], 0
        for c in col_sizes:
            self.subs.append(list(range(start, start + len(c))))
            start += len(c)


def _net(enc: _Enc, ctx_dim: int, seed: int) -> tuple[TokenEmbeddings, Regressors]:
    emb = build(TokenEmbeddings, enc.sizes, enc.dims)
    reg = build(Regressors, enc.sizes, enc.dims, ctx_dim, 16)
    g = torch_gen(seed)
    emb.init(g)
    # spread-out heads, so the conditionals are far from uniform and every choice matters
    reg.init(g, [np.linspace(-2.0, 2.0, v) for v in enc.sizes])
    with torch.no_grad():
        for w in reg.heads:
            w.mul_(4.0)
    return emb, reg


def _expected(emb: TokenEmbeddings, reg: Regressors, enc: _Enc, order: list[int], ctx: torch.Tensor | None,
              tok: torch.Tensor, u: np.ndarray, temperature: float, banned: list[list[int]]) -> torch.Tensor:
    """Each sub-column's token from the training path (`hidden_all` under the order's visibility mask,
    given the drawn tokens) inverted at its uniform."""
    pos = np.empty(len(order))
    pos[order] = np.arange(len(order))
    vis = visibility(enc.owner, enc.dims, pos, torch.device("cpu"))
    hid = reg.hidden_all(emb(tok), ctx, vis)
    return torch.stack([pick_tokens(reg.logits(s, hid[s]), u[:, s], temperature=temperature, banned=banned[s])
                        for s in range(len(enc.sizes))], dim=1)


@pytest.mark.parametrize(("ctx_dim", "temperature", "seed"), [(0, 1.0, 0), (5, 0.7, 1), (3, 1.6, 2)])
def test_tokens_are_the_trained_conditionals_inverted(ctx_dim, temperature, seed):
    enc = _Enc([[6, 4], [9], [2], [5, 3], [12]])
    emb, reg = _net(enc, ctx_dim, seed)
    order = list(np.random.default_rng(seed).permutation(len(enc.subs)))
    banned = [[] for _ in enc.sizes]
    banned[2] = [8]  # a pooled rare value: never drawn
    n = 700
    u = hash_uniforms(seed, np.arange(n)[:, None], np.arange(len(enc.sizes))[None, :])
    ctx = torch.randn(n, ctx_dim, generator=torch_gen(seed)) if ctx_dim else None
    with torch.inference_mode():
        drawer = TokenDrawer(emb, reg, enc, order, temperature=temperature, banned=banned)
        tok, vectors = drawer.draw(ctx, u, n, embeddings=True)
        assert torch.equal(tok, _expected(emb, reg, enc, order, ctx, tok, u, temperature, banned))
        assert torch.equal(vectors, emb(tok))
        assert not (tok[:, 2] == 8).any()
        assert len(torch.unique(tok[:, 2])) > 4  # the draws do spread over the vocabulary
        # the one-off helper is the same draw
        again, _ = draw_tokens(emb, reg, enc, order, ctx, u, n, temperature=temperature, banned=banned)
        assert torch.equal(tok, again)
        # a row's tokens do not depend on the rows drawn with it
        part, _ = drawer.draw(ctx[100:137] if ctx is not None else None, u[100:137], 37)
        assert torch.equal(part, tok[100:137])


def test_fixed_columns_come_first_and_condition_the_rest():
    enc = _Enc([[6, 4], [9], [5]])
    emb, reg = _net(enc, 0, 3)
    n = 500
    u = hash_uniforms(4, np.arange(n)[:, None], np.arange(len(enc.sizes))[None, :])
    banned = [[] for _ in enc.sizes]
    fixed = {2: [3]}
    order = [2, 0, 1]
    with torch.inference_mode():
        tok, _ = TokenDrawer(emb, reg, enc, order, temperature=1.0, banned=banned, fixed=fixed).draw(None, u, n)
        assert (tok[:, 3] == 3).all()
        expected = _expected(emb, reg, enc, order, None, tok, u, 1.0, banned)
        assert torch.equal(tok[:, :3], expected[:, :3])
        other, _ = TokenDrawer(emb, reg, enc, order, temperature=1.0, banned=banned, fixed={2: [0]}).draw(None, u, n)
        assert not torch.equal(other[:, :3], tok[:, :3])  # the condition is seen by the later columns


def test_a_model_keeps_its_drawer_until_its_weights_change():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 300), "b": rng.normal(size=300)})
    m = AutoregressiveModel(epochs=1, seed=0, hidden_size=8, max_bins=4, fine_bins=2).fit(data)
    first = m.sample(50, seed=1)
    drawer = m._drawer_cache[1]
    pd.testing.assert_frame_equal(first, m.sample(50, seed=1))
    assert m._drawer_cache[1] is drawer  # one drawer for every block of a partition
    m.sample(50, seed=1, temperature=0.5)
    assert m._drawer_cache[1] is not drawer
    pd.testing.assert_frame_equal(first, m.sample(50, seed=1))
    drawer = m._drawer_cache[1]
    with torch.no_grad():  # new weights (a refit or a weight load) are seen by the next draw
        m.net_.regressors.head_bias[0].copy_(torch.tensor([9.0, -9.0, -9.0][: len(m.net_.regressors.head_bias[0])]))
    changed = m.sample(50, seed=1)
    assert m._drawer_cache[1] is not drawer
    assert (changed["a"] == m.encoding_.codecs[0].categories_[0]).all()
