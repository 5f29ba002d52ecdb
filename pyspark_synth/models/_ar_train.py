"""Shared machinery of the autoregressive models: a table's codecs and token layout, and the training loop."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from pyspark_synth._log import get_logger
from pyspark_synth.models._ar_codecs import Codec, codec_from_state, codec_kind, make_codec
from pyspark_synth.models._ar_nets import embedding_dim
from pyspark_synth.models.averaging import WeightAverage
from pyspark_synth.transformers.table import check_unique_columns

if TYPE_CHECKING:
    from pyspark_synth.metadata import Table
    from pyspark_synth.models.data_parallel import DataParallel
    from pyspark_synth.privacy.dp_stats import DPStatistics

__all__ = ["TableEncoding", "train", "auto_batch_size", "auto_learning_rate"]

_log = get_logger("pyspark_synth.models.autoregressive")


class TableEncoding:
    """The codecs of a table's columns, in column order, and the token layout they make.

    Attributes:
        columns: Every column, in order (learned or not).
        learned: Indexes (into `codecs`) of the columns that have tokens.
        sizes: Vocabulary of each sub-column (token), learned columns in column order.
        owner: For each sub-column, the index into `learned` of its column.
        dims: Embedding width of each sub-column.
    """

    def __init__(self, codecs: list[Codec], *, dp: bool = False) -> None:
        self.codecs = codecs
        self.dp = bool(dp)  # fitted from DP statistics: nothing below may read the rows' tokens
        self.columns = [c.column for c in codecs]
        self.learned = [i for i, c in enumerate(codecs) if c.sizes]
        self.sizes: list[int] = []
        self.owner: list[int] = []
        self.subs: list[list[int]] = []
        for j, i in enumerate(self.learned):
            start = len(self.sizes)
            self.sizes.extend(self.codecs[i].sizes)
            self.owner.extend([j] * len(self.codecs[i].sizes))
            self.subs.append(list(range(start, len(self.sizes))))
        self.dims = [embedding_dim(v) for v in self.sizes]

    @property
    def learned_columns(self) -> list[str]:
        return [self.columns[i] for i in self.learned]

    @staticmethod
    def _declared(metadata: Table | None) -> dict[str, str]:
        declared: dict[str, str] = {}
        if metadata is not None:
            declared = {c.name: c.type for c in metadata.columns}
            declared.update({k: "id" for k in metadata.unlearned_key_columns})
        return declared

    @classmethod
    def fit(cls, data: pd.DataFrame, metadata: Table | None, *, rare_threshold: int, max_bins: int, fine_bins: int,
            exact_limit: int, protect: bool, dp: DPStatistics | None = None) -> TableEncoding:
        """Fit a codec per column (key columns of `metadata` are not learned, like id columns).

        `dp`: fit every codec from the DP statistics of `privacy.dp_stats` (see `make_codec`).

        Raises:
            DataError: A column name appears twice.
        """
        check_unique_columns(data, "Autoregressive model")
        declared = cls._declared(metadata)
        codecs = [make_codec(data[col].rename(str(col)), declared.get(str(col)), rare_threshold=rare_threshold,
                             max_bins=max_bins, fine_bins=fine_bins, exact_limit=exact_limit, protect=protect, dp=dp)
                  for col in data.columns]
        return cls(codecs, dp=dp is not None)

    @classmethod
    def dp_releases(cls, data: pd.DataFrame, metadata: Table | None) -> tuple[int, int]:
        """(counts one row adds to, key selections) of a DP fit of these columns: one count and one
        selection per categorical column, two counts (exact values, bounds) and one selection per
        numerical or datetime column (`privacy.dp_stats`)."""
        declared = cls._declared(metadata)
        kinds = [codec_kind(data[col].rename(str(col)), declared.get(str(col))) for col in data.columns]
        return (sum({"categorical": 1, "numeric": 2}.get(k, 0) for k in kinds),
                sum(k != "fixed" for k in kinds))

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Tokens of every row, an int64 matrix of `len(sizes)` columns."""
        parts = [self.codecs[i].encode(data[self.columns[i]]) for i in self.learned]
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(data), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, u: np.ndarray) -> pd.DataFrame:
        """Rows of tokens back to a DataFrame with every column; `u` is (rows, learned columns)."""
        n = len(tokens)
        out: dict[str, pd.Series] = {}
        where = {i: j for j, i in enumerate(self.learned)}
        index = pd.RangeIndex(n)
        for i, codec in enumerate(self.codecs):
            if i in where:
                j = where[i]
                values = codec.decode(tokens[:, self.subs[j]], u[:, j])
            else:
                values = codec.decode(np.zeros((n, 0), dtype=np.int64), np.zeros(n))
            out[codec.column] = values if values.index.equals(index) else values.reset_index(drop=True)
        return pd.DataFrame(out, columns=self.columns, copy=False)  # the decoded columns are new: no copy

    def banned(self) -> list[list[int]]:
        out: list[list[int]] = []
        for i in self.learned:
            out.extend(self.codecs[i].banned())
        return out

    def log_prior(self, tokens: np.ndarray) -> list[np.ndarray]:
        """Smoothed log frequency of each token of each sub-column (heads start there).

        A DP encoding never counts `tokens`: its codecs' noisy counts are used (uniform where a
        codec has none)."""
        if self.dp:
            counts: list[np.ndarray] = []
            for i in self.learned:
                prior = self.codecs[i].prior_counts()
                counts.extend(prior if prior is not None else [np.zeros(v) for v in self.codecs[i].sizes])
            return [np.log((np.asarray(c, dtype=np.float64) + 0.5) / (float(np.sum(c)) + 0.5 * v))
                    for c, v in zip(counts, self.sizes, strict=True)]
        return [np.log((np.bincount(tokens[:, s], minlength=v) + 0.5) / (len(tokens) + 0.5 * v))
                for s, v in enumerate(self.sizes)]

    def report(self) -> dict[str, Any]:
        return {c.column: c.report() for c in self.codecs}

    def rare_report(self) -> dict[str, Any]:
        """What rare-value protection suppressed, per column (only columns where it acted)."""
        out: dict[str, Any] = {}
        for c in self.codecs:
            r = c.report()
            if r.get("rare_values_pooled"):
                out[c.column] = {"values_pooled": r["rare_values_pooled"], "rows": r["rare_rows"]}
            elif r.get("suppressed"):
                out[c.column] = {"suppressed": True}
            elif r.get("clipped_rows") and (r["clipped_rows"]["low"] or r["clipped_rows"]["high"]):
                out[c.column] = {"tail_rows_clipped": r["clipped_rows"]}
        return out

    def state(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        cfgs, arrays = [], {}
        for i, c in enumerate(self.codecs):
            cfg, arr = c.state()
            cfgs.append(cfg)
            arrays.update({f"c{i}.{k}": v for k, v in arr.items()})
        return cfgs, arrays

    @classmethod
    def from_state(cls, cfgs: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> TableEncoding:
        codecs = []
        for i, cfg in enumerate(cfgs):
            prefix = f"c{i}."
            codecs.append(codec_from_state(cfg, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}))
        return cls(codecs, dp=any(getattr(c, "dp_", False) for c in codecs))


def auto_batch_size(n_train: int) -> int:
    """A power of two giving at least about 40 steps an epoch, between 32 and 512."""
    if n_train <= 0:
        return 32
    return int(np.clip(2 ** int(np.floor(np.log2(max(1, n_train / 40)))), 32, 512))


def auto_learning_rate(batch_size: int) -> float:
    """Adam's step size grown with the square root of the batch (1e-3 at 32 rows)."""
    return float(min(1e-2, 1e-3 * np.sqrt(batch_size / 32)))


def train(module: torch.nn.Module, *, loss: Callable[[Any, bool], tuple[torch.Tensor, int]],
          batches: Callable[[int], Iterable[Any]], validation: Sequence[Any], epochs: int | None,
          max_seconds: float | None, learning_rate: float, weight_decay: float, patience: int,
          name: str, progress_bar: bool = False, max_epochs: int = 100,
          ema_decay: float | None = None, sync: DataParallel | None = None) -> dict[str, Any]:
    """Train `module` with AdamW on `loss`, stopping early on the validation loss; keep the best weights.

    Args:
        module: The network (its parameters are optimised).
        loss: `loss(batch, training)` gives (sum of the rows' negative log-likelihood, row count).
        batches: `batches(epoch)` yields the training batches of one epoch (shuffled by the caller).
        validation: Batches of the validation split (empty: the training loss decides).
        epochs: Passes over the training rows; None trains up to `max_epochs` and stops early.
        max_seconds: Time budget of the whole fit (checked after every step), or None.
        learning_rate: AdamW step size (halved when the loss stalls for two epochs, to 1/10 at most).
        weight_decay: AdamW weight decay.
        patience: Epochs without a better validation loss before stopping (when `epochs` is None).
        name: Table name for the logs.
        progress_bar: Show a tqdm bar.
        max_epochs: Cap when `epochs` is None.
        ema_decay: Keep an exponential moving average of the weights (about `1 / (1 - ema_decay)`
            recent steps); validation, early stopping and the fitted model use the average.
        sync: Data-parallel training (`models.data_parallel`): `loss` and `batches` give this
            process's shard (a training batch's row count as its share of the whole batch,
            `rows / world`); the epoch's losses are summed over the processes and the time
            budget is all-reduced, so every process stops at the same step and epoch.

    Returns:
        What happened: epochs run, whether and why it stopped early, the best losses, per-epoch history.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    opt = torch.optim.AdamW(module.parameters(), lr=learning_rate, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=0.1 * learning_rate)
    limit = int(epochs) if epochs is not None else int(max_epochs)
    best, best_state, stale = np.inf, None, 0
    average = WeightAverage(module, ema_decay) if ema_decay else None
    history: list[dict[str, float]] = []
    reason = "epochs"
    bar = tqdm(range(limit), desc=f"autoregressive {name}", disable=not progress_bar, leave=False)
    out_of_time = False
    for epoch in bar:
        t0 = time.perf_counter()
        module.train()
        total, count = 0.0, 0
        for batch in batches(epoch):
            value, n = loss(batch, True)
            opt.zero_grad(set_to_none=True)
            (value / max(1, n)).backward()
            opt.step()
            if average is not None:
                average.update()
            total += float(value.detach())
            count += n
            if max_seconds is not None and _agree(sync, time.perf_counter() - start > max_seconds):
                out_of_time = True
                break
        if sync is not None:
            total, count = sync.sum([total, count])
        train_loss = total / max(1, count)
        module.eval()
        if average is not None:
            average.swap()  # validate (and keep) the averaged weights
        if _agree(sync, bool(validation)):
            with torch.no_grad():
                vt, vc = 0.0, 0
                for batch in validation:
                    value, n = loss(batch, False)
                    vt += float(value)
                    vc += n
            if sync is not None:
                vt, vc = sync.sum([vt, vc])
            val_loss = vt / max(1, vc)
        else:
            val_loss = train_loss
        row = {"epoch": epoch + 1, "train_loss": train_loss, "validation_loss": val_loss,
               "learning_rate": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        history.append(row)
        _log.debug("autoregressive.epoch", table=name, **row)
        bar.set_postfix(train=f"{train_loss:.3f}", val=f"{val_loss:.3f}")
        if val_loss < best - 1e-4 * max(1.0, abs(best) if np.isfinite(best) else 1.0):
            best, stale = val_loss, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
        if average is not None:
            average.swap()
        sched.step(val_loss)
        if out_of_time:
            reason = "time_budget"
            break
        if epochs is None and stale >= patience:
            reason = "early_stopping"
            break
    bar.close()
    if best_state is None and average is not None:
        average.swap()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return {"epochs": len(history), "stopped_early": reason != "epochs", "stop_reason": reason,
            "best_validation_loss": float(best) if np.isfinite(best) else None,
            "seconds": time.perf_counter() - start, "history": history}


def _agree(sync: DataParallel | None, flag: bool) -> bool:
    """`flag`, or with data-parallel training whether it holds on any process (all decide the same)."""
    return flag if sync is None else sync.any(flag)
