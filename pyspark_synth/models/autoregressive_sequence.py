"""The autoregressive model's sequential mode: a parent's children generated as one sequence.

For each parent the model first draws the sequence's length (the number of children, a token of
its own conditioned on the parent's context: zero-child parents and long tails are learned like
any other value), then the children one after the other: a GRU carries what came before (the
previous children's tokens and their positions), and each child's columns are drawn column by
column as in the flat model, given the parent's context, the history and the child's position and
the children left. Child counts, the order of children and the correlations between siblings all
come from one model fitted by likelihood.

Pure pandas/torch; the relational layer joins parents and children (`group` gives each child's
parent as an index into the parents' context rows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, SerializationError
from pyspark_synth.metadata import Table
from pyspark_synth.models._ar_base import ARBase, torch_gen
from pyspark_synth.models._ar_codecs import NumericCodec, codec_from_state
from pyspark_synth.models._ar_nets import (
    ContextEncoder,
    History,
    Regressors,
    TokenEmbeddings,
    build,
    embedding_dim,
    hash_uniforms,
    pick_tokens,
    position_features,
    resolve_device,
    visibility,
)
from pyspark_synth.models._ar_train import TableEncoding, auto_learning_rate, train
from pyspark_synth.models._archive import pack, unpack
from pyspark_synth.models.base import register_backend
from pyspark_synth.seeds import derive_seed, resolve_seed

__all__ = ["SequentialAutoregressiveModel"]

_log = get_logger("pyspark_synth.models.autoregressive")
_KIND = "autoregressive_sequential"
_PARENT_CHUNK = 2048  # parents per batch in sample(); results never depend on it
_LENGTH = "__children__"
_LENGTH_EXACT = 20  # counts with more distinct values: exact frequent counts, quantile bins for the tail


class _SeqNet(nn.Module):
    def __init__(self, sizes: list[int], dims: list[int], ctx_sizes: list[int], len_sizes: list[int],
                 context_size: int, hidden: int, history: int) -> None:
        super().__init__()
        ctx_dim = context_size if ctx_sizes else 0
        self.embeddings = TokenEmbeddings(sizes, dims)
        self.context = ContextEncoder(ctx_sizes, context_size) if ctx_sizes else None
        self.history = History(self.embeddings.width, ctx_dim, history, context_size)
        self.regressors = Regressors(sizes, dims, context_size, hidden)
        len_dims = [embedding_dim(v) for v in len_sizes]
        self.len_embeddings = TokenEmbeddings(len_sizes, len_dims)
        self.len_regressors = Regressors(len_sizes, len_dims, ctx_dim, hidden)

    def init(self, g: torch.Generator, log_prior: list[np.ndarray], len_prior: list[np.ndarray]) -> None:
        self.embeddings.init(g)
        if self.context is not None:
            self.context.init(g)
        self.history.init(g)
        self.regressors.init(g, log_prior)
        self.len_embeddings.init(g)
        self.len_regressors.init(g, len_prior)


@register_backend("autoregressive_sequential")
class SequentialAutoregressiveModel(ARBase):
    """Children of each parent as one sequence: how many, in which order, with which values.

    Takes the hyper-parameters of `AutoregressiveModel`, with the same meaning, except that
    `batch_size` counts child rows plus one length token per parent (default 256),
    `max_training_rows` bounds the child rows through a random subset of whole parents, and `condition_share`
    is not used (sequences are drawn in the fixed column order; "random" trains random orders).
    Besides:

    Args:
        history_size: Width of the GRU state that carries the previous children.
        max_sequence_window: Only a parent's first this many children train the row model (the
            length token always sees the true count); longer sequences are drawn past it by the
            same recurrence.
    """

    name = "autoregressive_sequential"
    _PARAMS: ClassVar[tuple[str, ...]] = (*ARBase._PARAMS, "history_size", "max_sequence_window")

    def __init__(self, metadata: Table | None = None, *, epochs: int | None = None, batch_size: int | None = None,
                 seed: int | None = None, max_training_seconds: float | None = None,
                 max_training_rows: int = 200_000, validation_share: float = 0.1, early_stopping_patience: int = 4,
                 column_order: str | Sequence[str] = "data", condition_share: float = 0.0,
                 hidden_size: int = 64, context_size: int = 32, dropout: float = 0.1,
                 learning_rate: float | None = None, weight_decay: float = 0.0, ema_decay: float | None = 0.99,
                 rare_threshold: int = 5,
                 max_bins: int = 32, fine_bins: int = 16, exact_limit: int = 100, device: str | None = None,
                 num_threads: int | None = None, history_size: int = 64, max_sequence_window: int = 256) -> None:
        super().__init__(metadata, epochs=epochs, batch_size=batch_size, seed=seed,
                         max_training_seconds=max_training_seconds, max_training_rows=max_training_rows,
                         validation_share=validation_share, early_stopping_patience=early_stopping_patience,
                         column_order=column_order, condition_share=condition_share, hidden_size=hidden_size,
                         context_size=context_size, dropout=dropout, learning_rate=learning_rate,
                         weight_decay=weight_decay, ema_decay=ema_decay, rare_threshold=rare_threshold,
                         max_bins=max_bins,
                         fine_bins=fine_bins, exact_limit=exact_limit, device=device, num_threads=num_threads)
        self.history_size = history_size
        self.max_sequence_window = max_sequence_window

    # -------------------------------------------------------------------- fit
    def fit(self, children: pd.DataFrame, *, group: np.ndarray | Any = None, parent_context: pd.DataFrame | None = None,
            num_parents: int | None = None, table_name: str | None = None, seed: int | None = None,
            progress_bar: bool = False) -> SequentialAutoregressiveModel:
        """Learn the children of each parent; returns self.

        Args:
            children: The child rows (in each parent's order: the sequence order is learned).
            group: For each child row, the index (0..P-1) of its parent in `parent_context`.
            parent_context: One row per parent (parents with no children included), or None.
            num_parents: P when `parent_context` is None (default: the largest index in group + 1;
                without context, zero-child parents exist only through this number).
            table_name: Name used in logs and the progress bar.
            seed: Overrides the constructor's seed for this fit.
            progress_bar: Show a tqdm progress bar.

        Raises:
            DataError: Bad frames, a group index out of range or of the wrong length.
        """
        self._check_params()
        name = table_name or (self.metadata.name if self.metadata is not None else "table")
        w = f"SequentialAutoregressiveModel.fit('{name}')"
        if not isinstance(children, pd.DataFrame) or not len(children.columns):
            raise DataError(f"{w}: children must be a pandas DataFrame with columns, got {type(children).__name__}")
        if group is None:
            raise DataError(f"{w}: give group= (for each child row, the index of its parent): this model learns a "
                            "child table's children as one sequence per parent and cannot fit a table on its own. "
                            "In a database, fit_database(..., sequential={'" + name + "'}) fits it from the parents")
        grp = np.asarray(group)
        if grp.shape != (len(children),) or (len(grp) and not np.issubdtype(grp.dtype, np.integer)):
            raise DataError(f"{w}: group must be an integer array with one parent index per child row "
                            f"({len(children)}), got shape {grp.shape} and dtype {grp.dtype}")
        if parent_context is not None:
            if not isinstance(parent_context, pd.DataFrame):
                raise DataError(f"{w}: parent_context must be a DataFrame (one row per parent) or None")
            p = len(parent_context)
            if num_parents is not None and num_parents != p:
                raise DataError(f"{w}: num_parents={num_parents} but parent_context has {p} rows")
        else:
            p = int(num_parents) if num_parents is not None else (int(grp.max()) + 1 if len(grp) else 0)
        if p == 0:
            raise DataError(f"{w}: there are no parents to learn from (empty parent_context and group)")
        if len(grp) and (grp.min() < 0 or grp.max() >= p):
            raise DataError(f"{w}: group indexes must be in [0, {p}) (rows of parent_context); "
                            f"found {int(grp.min())}..{int(grp.max())}")
        with self._threads():
            return self._fit(children, grp.astype(np.int64), parent_context, p, name,
                             resolve_seed(seed if seed is not None else self.seed), progress_bar)

    def _fit(self, children: pd.DataFrame, grp: np.ndarray, parent_context: pd.DataFrame | None, p: int, name: str,
             seed_: int, progress_bar: bool) -> SequentialAutoregressiveModel:
        start = time.perf_counter()
        if len(children) > self.max_training_rows:  # a random subset of whole parents, children included
            perm = np.random.default_rng(derive_seed(seed_, "rows")).permutation(p)
            keep = np.sort(perm[np.cumsum(np.bincount(grp, minlength=p)[perm]) <= self.max_training_rows])
            new_index = np.full(p, -1, dtype=np.int64)
            new_index[keep] = np.arange(len(keep))
            rows = new_index[grp] >= 0
            children, grp = children[rows], new_index[grp[rows]]
            parent_context = parent_context.iloc[keep] if parent_context is not None else None
            p = len(keep)
        order_rows = np.argsort(grp, kind="stable")
        kids = children.iloc[order_rows].reset_index(drop=True)
        lengths = np.bincount(grp, minlength=p).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.encoding_ = TableEncoding.fit(kids, self.metadata, rare_threshold=self.rare_threshold,
                                           max_bins=self.max_bins, fine_bins=self.fine_bins,
                                           exact_limit=self.exact_limit, protect=True)
        ctx_tokens = self._fit_context(parent_context, seed_)
        self.length_codec_ = NumericCodec(1, self.max_bins, self.fine_bins, _LENGTH_EXACT).fit(
            pd.Series(lengths, name=_LENGTH))
        enc = self.encoding_
        tokens = enc.encode(kids) if len(kids) else np.zeros((0, len(enc.sizes)), dtype=np.int64)
        len_tokens = self.length_codec_.encode(pd.Series(lengths))
        self.order_ = self._order(enc)
        self.device_ = resolve_device(self.device)
        self.seed_, self.n_rows_, self.n_parents_ = seed_, len(kids), p
        self._build(derive_seed(seed_, "init"), enc.log_prior(tokens) if len(tokens) else None,
                    _prior(len_tokens, self.length_codec_.sizes))
        self.fitted_ = True
        rng = np.random.default_rng(derive_seed(seed_, "split"))
        train_p, val_p = self._split(p, rng)
        batch = int(self.batch_size) if self.batch_size else 256
        lr = float(self.learning_rate) if self.learning_rate else auto_learning_rate(batch)
        data = _SeqData(tokens, ctx_tokens, len_tokens, lengths, offsets, min(self.max_sequence_window,
                                                                              max(1, int(lengths.max()))))
        report = self._train(data, train_p, val_p, batch, lr, name, progress_bar)
        self.history_ = report.pop("history")
        self.fit_report_ = {
            "backend": _KIND, **report, "seconds": time.perf_counter() - start, "parents_trained": len(train_p),
            "parents_validation": len(val_p), "child_rows": len(kids), "batch_size": batch, "learning_rate": lr,
            "column_order": [enc.learned_columns[j] for j in self.order_],
            "children_per_parent": {"mean": float(lengths.mean()), "zero_share": float(np.mean(lengths == 0)),
                                    "max": int(lengths.max())},
            "length_encoding": self.length_codec_.report(), "columns": enc.report(), "rare_values": enc.rare_report(),
            "rare_threshold": self.rare_threshold, "parameters": int(sum(q.numel() for q in self.net_.parameters())),
            "device": str(self.device_), "threads": torch.get_num_threads(), "seed": seed_}
        _log.info("autoregressive.sequential.fit.done", table=name, seconds=round(self.fit_report_["seconds"], 2),
                  epochs=report["epochs"], stop_reason=report["stop_reason"])
        return self

    def _build(self, init_seed: int | None, log_prior: list[np.ndarray] | None,
               len_prior: list[np.ndarray] | None) -> None:
        enc, cenc = self.encoding_, self.context_encoding_
        ctx_sizes = cenc.sizes if cenc is not None else []
        net = build(_SeqNet, enc.sizes, enc.dims, ctx_sizes, self.length_codec_.sizes, self.context_size,
                    self.hidden_size, self.history_size)
        if init_seed is not None:
            net.init(torch_gen(init_seed), log_prior or [np.zeros(v) for v in enc.sizes], len_prior or [])
        self.net_ = net.to(self.device_)
        self.net_.eval()

    def _train(self, data: _SeqData, train_p: np.ndarray, val_p: np.ndarray, batch: int, lr: float, name: str,
               progress_bar: bool) -> dict[str, Any]:
        enc, dev, net = self.encoding_, self.device_, self.net_
        rng = np.random.default_rng(derive_seed(self.seed_, "batches"))
        g = torch_gen(derive_seed(self.seed_, "dropout"), dev)
        tok = torch.from_numpy(data.tokens).to(dev)
        ctx = torch.from_numpy(data.ctx_tokens).to(dev) if data.ctx_tokens is not None else None
        len_tok = torch.from_numpy(data.len_tokens).to(dev)
        fixed_vis = visibility(enc.owner, enc.dims, self._positions(self.order_, None), dev)
        len_vis = visibility([0] * len(self.length_codec_.sizes), net.len_embeddings.dims, np.zeros(1), dev)
        random_order = self.column_order == "random"

        def batches(epoch: int):  # noqa: ANN202 - generator
            for parents in data.buckets(train_p, batch, rng):
                vis = visibility(enc.owner, enc.dims, self._positions(self.order_, rng), dev) if random_order \
                    else fixed_vis
                yield parents, vis

        def loss(b: tuple[np.ndarray, torch.Tensor], training: bool) -> tuple[torch.Tensor, int]:
            parents, vis = b
            drop, gen = (self.dropout, g) if training else (0.0, None)
            pt = torch.from_numpy(parents).to(dev)
            c = net.context(ctx[pt]) if net.context is not None else None
            lt = len_tok[pt]
            total = net.len_regressors.nll(lt, net.len_embeddings(lt), c, len_vis, dropout=drop, g=gen).sum()
            rows, owner, step = data.window(parents)
            if not enc.sizes:  # a table of keys only (a link table): the sequence is its length
                return total, len(parents)
            if len(rows):
                t_rows = tok[torch.from_numpy(rows).to(dev)]
                emb = net.embeddings(t_rows)
                states = self._states(emb, owner, step, data.lengths[parents], c)
                own = torch.from_numpy(owner).to(dev)
                feats = position_features(torch.from_numpy(step).to(dev),
                                          torch.from_numpy(data.lengths[parents][owner]).to(dev))
                z = net.history.step_context(c[own] if c is not None else None, states, feats)
                total = total + net.regressors.nll(t_rows, emb, z, vis, dropout=drop, g=gen).sum()
            return total, len(parents) + len(rows)

        validation = [(parents, fixed_vis) for parents in data.buckets(val_p, 4 * batch, None)]
        return train(net, loss=loss, batches=batches, validation=validation, epochs=self.epochs,
                     max_seconds=self.max_training_seconds, learning_rate=lr, weight_decay=self.weight_decay,
                     patience=self.early_stopping_patience, name=name, progress_bar=progress_bar,
                     ema_decay=self.ema_decay)

    def _states(self, emb: torch.Tensor, owner: np.ndarray, step: np.ndarray, lengths_np: np.ndarray,
                c: torch.Tensor | None) -> torch.Tensor:
        """GRU state before each child row (training): run over each parent's padded sequence."""
        net, dev = self.net_, self.device_
        n_par, width = len(lengths_np), int(step.max()) + 1
        lengths = torch.from_numpy(lengths_np).to(dev)
        x = emb.new_zeros((n_par, width, emb.shape[1]))
        own_t, step_t = torch.from_numpy(owner).to(dev), torch.from_numpy(step).to(dev)
        nxt = step_t + 1 < width
        x[own_t[nxt], step_t[nxt] + 1] = emb[nxt]  # child t feeds the state of child t + 1
        pos = torch.arange(width, device=dev)[None, :].expand(n_par, -1)
        feats = position_features(pos, lengths[:, None].expand(-1, width))
        out, _ = net.history.gru(torch.cat([x, feats], dim=-1), net.history.start(c, n_par, dev))
        return out[own_t, step_t]

    # ----------------------------------------------------------------- sample
    def sample(self, parent_context: pd.DataFrame | None = None, *, num_parents: int | None = None,
               seed: int | None = None, temperature: float = 1.0, enforce_constraints: bool = True,
               lengths: np.ndarray | Sequence[int] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """Generate the children of `num_parents` parents (or of each `parent_context` row).

        Args:
            parent_context: One row per parent (needed when the model was fitted with context).
            num_parents: How many parents (default: `len(parent_context)`).
            seed: Seed of this draw; the same (parents, seed) always gives the same children.
            temperature: Divides the logits (lengths and values): below 1 sharper, above 1 flatter.
            enforce_constraints: Repair rows so the metadata's constraints hold.
            lengths: Each parent's number of children, when it is already drawn (by
                `sample_lengths`, possibly with another seed): only the children are drawn. With
                the seed of `sample_lengths` the rows are those of a draw without `lengths`.

        Returns:
            (children, parent): the child rows (each parent's children together, in sequence
            order) and, per row, the index of its parent (0..num_parents-1).

        Raises:
            NotFittedError: The model is not fitted.
            DataError: No way to know the number of parents, missing or misaligned context, or
                `lengths` not one non-negative integer per parent.
        """
        n, ctx_tokens, seed_ = self._sample_args(parent_context, num_parents, seed, temperature)
        given = None
        if lengths is not None:
            given = np.asarray(lengths)
            if given.shape != (n,) or (n and (not np.issubdtype(given.dtype, np.integer) or given.min() < 0)):
                raise DataError(f"SequentialAutoregressiveModel.sample: lengths must be one non-negative integer per "
                                f"parent ({n}), got shape {given.shape} and dtype {given.dtype}")
            given = given.astype(np.int64)
        with self._threads(), torch.inference_mode():
            tokens, u_bins, parent = self._draw(n, ctx_tokens, seed_, float(temperature), given)
        out = self.encoding_.decode(tokens, u_bins)
        return self._constraints(out, seed_, enforce_constraints), parent

    def sample_lengths(self, parent_context: pd.DataFrame | None = None, *, num_parents: int | None = None,
                       seed: int | None = None, temperature: float = 1.0) -> np.ndarray:
        """Each parent's number of children, as `sample` with the same arguments draws them.

        Only the length part of the model runs (no child is drawn), so several candidate draws of
        the counts are cheap; `sample(..., lengths=...)` then draws the children of the one kept.

        Returns:
            An int64 array with one count per parent.

        Raises:
            NotFittedError: The model is not fitted.
            DataError: As `sample`.
        """
        n, ctx_tokens, seed_ = self._sample_args(parent_context, num_parents, seed, temperature)
        useed = derive_seed(seed_, "sample")
        out = []
        with self._threads(), torch.inference_mode():
            for a in range(0, n, _PARENT_CHUNK):
                b = min(n, a + _PARENT_CHUNK)
                out.append(self._chunk_lengths(a, b, self._chunk_context(ctx_tokens, a, b), useed, float(temperature)))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _sample_args(self, parent_context: pd.DataFrame | None, num_parents: int | None, seed: int | None,
                     temperature: float) -> tuple[int, np.ndarray | None, int]:
        """(parents, their context tokens, the resolved seed), after checking the arguments."""
        self._check_fitted()
        if parent_context is None and num_parents is None:
            raise DataError("SequentialAutoregressiveModel.sample: give parent_context= (one row per parent) "
                            "or num_parents=")
        n = len(parent_context) if num_parents is None else num_parents
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DataError(f"SequentialAutoregressiveModel.sample: num_parents must be a non-negative int, got {n!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise DataError(f"SequentialAutoregressiveModel.sample: temperature must be > 0, got {temperature!r}")
        return int(n), self._context_tokens(parent_context, int(n), "parent"), resolve_seed(seed)

    def _chunk_context(self, ctx_tokens: np.ndarray | None, a: int, b: int) -> torch.Tensor | None:
        net = self.net_
        return net.context(torch.from_numpy(ctx_tokens[a:b]).to(self.device_)) if net.context is not None else None

    def _chunk_lengths(self, a: int, b: int, c: torch.Tensor | None, useed: int, temperature: float) -> np.ndarray:
        """The numbers of children of parents a..b-1 (their uniforms are keyed by the parent index)."""
        pid = np.arange(a, b, dtype=np.int64)
        u_len = hash_uniforms(useed, -1, pid[:, None], np.arange(len(self.length_codec_.sizes) + 1)[None, :])
        len_tok = self._draw_lengths(c, u_len, b - a, temperature)
        return np.maximum(0, self.length_codec_.decode_float(len_tok, u_len[:, -1])).astype(np.int64)

    def _draw(self, n: int, ctx_tokens: np.ndarray | None, seed_: int, temperature: float,
              given: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        enc, net, dev = self.encoding_, self.net_, self.device_
        n_sub, n_col = len(enc.sizes), len(enc.learned)
        useed = derive_seed(seed_, "sample")
        drawer = self._drawer(self.order_, temperature) if n_sub else None
        all_tokens, all_parent, all_step = [], [], []
        for a in range(0, n, _PARENT_CHUNK):
            b = min(n, a + _PARENT_CHUNK)
            pid = np.arange(a, b, dtype=np.int64)
            c = self._chunk_context(ctx_tokens, a, b)
            lengths = self._chunk_lengths(a, b, c, useed, temperature) if given is None else given[a:b]
            if not n_sub:  # a table of keys only: its rows are the lengths' positions, nothing to draw
                total = int(lengths.sum())
                all_tokens.append(np.zeros((total, 0), dtype=np.int64))
                all_parent.append(np.repeat(pid, lengths))
                all_step.append(np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths))
                continue
            state = net.history.start(c, b - a, dev)
            prev = torch.zeros((b - a, net.embeddings.width), device=dev)
            for t in range(int(lengths.max()) if len(lengths) else 0):
                act = np.flatnonzero(lengths > t)
                at = torch.from_numpy(act).to(dev)
                feats = position_features(torch.full((len(act),), t, device=dev),
                                          torch.from_numpy(lengths[act]).to(dev))
                out, h = net.history.gru(torch.cat([prev[at], feats], dim=-1)[:, None, :], state[:, at])
                state[:, at] = h
                z = net.history.step_context(c[at] if c is not None else None, out[:, 0], feats)
                u = hash_uniforms(useed, pid[act][:, None], t, np.arange(n_sub)[None, :])
                tok, emb = drawer.draw(z, u, len(act), embeddings=True)
                prev[at] = emb
                all_tokens.append(tok.cpu().numpy())
                all_parent.append(pid[act])
                all_step.append(np.full(len(act), t, dtype=np.int64))
        if not all_tokens:
            return np.zeros((0, n_sub), dtype=np.int64), np.zeros((0, n_col)), np.zeros(0, dtype=np.int64)
        tokens, parent, step = np.concatenate(all_tokens), np.concatenate(all_parent), np.concatenate(all_step)
        order = np.lexsort((step, parent))
        tokens, parent, step = tokens[order], parent[order], step[order]
        u_bins = hash_uniforms(useed, -2, parent[:, None], step[:, None], np.arange(n_col)[None, :])
        return tokens, u_bins, parent

    def _draw_lengths(self, c: torch.Tensor | None, u: np.ndarray, n: int, temperature: float) -> np.ndarray:
        net, dev = self.net_, self.device_
        emb = torch.zeros((n, net.len_embeddings.width), device=dev)
        tok = torch.zeros((n, len(self.length_codec_.sizes)), dtype=torch.long, device=dev)
        offsets = np.concatenate([[0], np.cumsum(net.len_embeddings.dims)]).astype(int)
        for s in range(len(self.length_codec_.sizes)):
            logits = net.len_regressors.logits(s, net.len_regressors.hidden_one(s, emb, c))
            t = pick_tokens(logits, u[:, s], temperature=temperature)
            tok[:, s] = t
            emb[:, offsets[s]:offsets[s + 1]] = net.len_embeddings.one(s, t)
        return tok.cpu().numpy()

    # ------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """The fitted model as a pickle-free archive (config JSON, codec state, network weights)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        lcfg, larr = self.length_codec_.state()
        arrays.update({f"len.{k}": v for k, v in larr.items()})
        config = {"params": self.get_params(), "metadata": self._metadata_json(), **self._encodings_state(arrays),
                  "length_codec": lcfg, "order": self.order_, "seed": self.seed_, "n_rows": self.n_rows_,
                  "n_parents": self.n_parents_, "fit_report": self.fit_report_, "history": self.history_}
        for k, v in self.net_.state_dict().items():
            arrays[f"net.{k}"] = v.detach().cpu().numpy()
        return pack(_KIND, config, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> SequentialAutoregressiveModel:
        """Rebuild a fitted model from `to_bytes()` output (no code runs while loading).

        Raises:
            SerializationError: The bytes are not a sequential autoregressive archive or are corrupt.
            ModelVersionError: The archive was written by a newer, incompatible library.
        """
        header, arrays = unpack(data, expected_kind=_KIND, where="SequentialAutoregressiveModel")
        cfg = header["config"]
        try:
            metadata = Table.model_validate(cfg["metadata"]) if cfg["metadata"] is not None else None
            obj = cls(metadata, **cfg["params"])
            obj._load_encodings(cfg, arrays)
            obj.length_codec_ = codec_from_state(cfg["length_codec"], {k[4:]: v for k, v in arrays.items()
                                                                       if k.startswith("len.")})
            obj.order_ = [int(j) for j in cfg["order"]]
            obj.device_ = resolve_device(obj.device)
            obj._build(None, None, None)
            state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("net.")}
            obj.net_.load_state_dict(state, strict=True)
            obj.seed_, obj.n_rows_, obj.n_parents_ = cfg["seed"], cfg["n_rows"], cfg["n_parents"]
            obj.fit_report_, obj.history_ = dict(cfg["fit_report"]), list(cfg["history"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise SerializationError(
                f"SequentialAutoregressiveModel archive (library {header.get('library_version')}) could not be "
                f"rebuilt: {exc}. It may be corrupt or from an incompatible pyspark_synth version; refit it."
            ) from exc
        obj.fitted_ = True
        return obj

    def __repr__(self) -> str:
        table = self.metadata.name if self.metadata is not None else None
        return f"SequentialAutoregressiveModel(table={table!r}, fitted={self.is_fitted})"


def _prior(tokens: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return [np.log((np.bincount(tokens[:, s], minlength=v) + 0.5) / (len(tokens) + 0.5 * v))
            for s, v in enumerate(sizes)]


class _SeqData:
    """Training sequences: child tokens sorted by parent, each parent's offset and length."""

    def __init__(self, tokens: np.ndarray, ctx_tokens: np.ndarray | None, len_tokens: np.ndarray,
                 lengths: np.ndarray, offsets: np.ndarray, window: int) -> None:
        self.tokens, self.ctx_tokens, self.len_tokens = tokens, ctx_tokens, len_tokens
        self.lengths, self.offsets, self.max_window = lengths, offsets, int(window)
        self.used = np.minimum(lengths, self.max_window)

    def buckets(self, parents: np.ndarray, rows: int, rng: np.random.Generator | None) -> list[np.ndarray]:
        """Batches of parents of similar length holding about `rows` child rows plus one length each."""
        if not len(parents):
            return []
        jitter = rng.random(len(parents)) if rng is not None else np.zeros(len(parents))
        ordered = parents[np.lexsort((jitter, self.used[parents]))]
        cost = np.cumsum(self.used[ordered] + 1)
        cut = np.searchsorted(cost, np.arange(rows, int(cost[-1]) + rows, rows), side="right")
        out = [b for b in np.split(ordered, np.unique(np.clip(cut, 1, len(ordered)))[:-1]) if len(b)]
        if rng is not None:
            out = [out[i] for i in rng.permutation(len(out))]
        return out

    def window(self, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(child row index, its parent's position in `parents`, its step) of the trained children."""
        used = self.used[parents]
        owner = np.repeat(np.arange(len(parents)), used)
        start = np.repeat(np.cumsum(used) - used, used)
        step = np.arange(int(used.sum())) - start
        rows = self.offsets[parents][owner] + step
        return rows.astype(np.int64), owner.astype(np.int64), step.astype(np.int64)
