"""What the flat and sequential autoregressive models share: hyper-parameters, encodings, devices,
persistence helpers, and drawing a block of rows token by token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.metadata import Table
from pyspark_synth.models._ar_draw import TokenDrawer
from pyspark_synth.models._ar_nets import (
    Regressors,
    TokenEmbeddings,
    default_threads,
)
from pyspark_synth.models._ar_train import TableEncoding
from pyspark_synth.models.base import SynthModel
from pyspark_synth.models.runtime import TorchThreads
from pyspark_synth.seeds import derive_seed

__all__ = ["ARBase", "draw_tokens", "torch_gen"]

_log = get_logger("pyspark_synth.models.autoregressive")
_MAX_SEED = 2**63 - 1


def torch_gen(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on `device` seeded with `seed` (the global generator is never used)."""
    return torch.Generator(device=device).manual_seed(int(seed) & _MAX_SEED)


class ARBase(SynthModel):
    """Hyper-parameters, encodings, devices and persistence shared by the flat and sequential models."""

    _PARAMS: ClassVar[tuple[str, ...]] = (
        "epochs", "batch_size", "seed", "max_training_seconds", "max_training_rows", "validation_share",
        "early_stopping_patience", "column_order", "condition_share", "hidden_size", "context_size", "dropout",
        "learning_rate", "weight_decay", "ema_decay", "rare_threshold", "max_bins", "fine_bins", "exact_limit",
        "device", "num_threads")

    def __init__(self, metadata: Table | None = None, *, epochs: int | None = None, batch_size: int | None = None,
                 seed: int | None = None, max_training_seconds: float | None = None,
                 max_training_rows: int = 200_000, validation_share: float = 0.1, early_stopping_patience: int = 4,
                 column_order: str | Sequence[str] = "data", condition_share: float = 0.25,
                 hidden_size: int = 64, context_size: int = 32, dropout: float = 0.1,
                 learning_rate: float | None = None, weight_decay: float = 0.0, ema_decay: float | None = 0.99,
                 rare_threshold: int = 5,
                 max_bins: int = 32, fine_bins: int = 16, exact_limit: int = 100, device: str | None = None,
                 num_threads: int | None = None, differential_privacy: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self.differential_privacy = dict(differential_privacy) if differential_privacy is not None else None
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.max_training_seconds = max_training_seconds
        self.max_training_rows = max_training_rows
        self.validation_share = validation_share
        self.early_stopping_patience = early_stopping_patience
        self.column_order = column_order
        self.condition_share = condition_share
        self.hidden_size = hidden_size
        self.context_size = context_size
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.rare_threshold = rare_threshold
        self.max_bins = max_bins
        self.fine_bins = fine_bins
        self.exact_limit = exact_limit
        self.device = device
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (except metadata) as plain JSON values."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in ((k, getattr(self, k)) for k in self._PARAMS)}

    # ------------------------------------------------------------------ helpers
    def _threads(self) -> TorchThreads:
        return TorchThreads(self.num_threads if self.num_threads is not None else default_threads())

    def _where(self) -> str:
        return f"{type(self).__name__}"

    def _check_params(self) -> None:
        w = self._where()
        if self.rare_threshold < 1:
            raise DataError(f"{w}: rare_threshold must be >= 1 (1 turns rare-value protection off), "
                            f"got {self.rare_threshold}")
        if not 0 <= self.validation_share < 1:
            raise DataError(f"{w}: validation_share must be in [0, 1), got {self.validation_share}")
        if self.epochs is not None and self.epochs < 1:
            raise DataError(f"{w}: epochs must be >= 1 or None (train until the validation loss stops "
                            f"improving), got {self.epochs}")
        if isinstance(self.column_order, str) and self.column_order not in ("data", "random"):
            raise DataError(f"{w}: column_order must be 'data', 'random' or a list of column names, "
                            f"got {self.column_order!r}")

    def _fit_context(self, context: pd.DataFrame | None, seed_: int, dp: Any = None) -> np.ndarray | None:
        """Fit the context encoding; its tokens, or None. Context is never emitted, but its codecs
        are protected like the table's, so no rare parent value is stored in the model either
        (with `dp`, a `privacy.dp_stats.DPStatistics`, they are fitted from its noisy statistics)."""
        self.context_encoding_: TableEncoding | None = None
        self.context_columns_: list[str] = []
        if context is None or not len(context.columns):
            return None
        ctx = context.reset_index(drop=True)
        enc = TableEncoding.fit(ctx, None, rare_threshold=self.rare_threshold, max_bins=self.max_bins,
                                fine_bins=self.fine_bins, exact_limit=self.exact_limit, protect=True, dp=dp)
        if not enc.sizes:
            return None
        self.context_encoding_ = enc
        self.context_columns_ = [str(c) for c in context.columns]
        return enc.encode(ctx)

    def _context_tokens(self, context: pd.DataFrame | None, n: int, what: str) -> np.ndarray | None:
        w = self._where()
        if self.context_encoding_ is None:
            if context is not None:
                _log.warning("autoregressive.sample.context_ignored", reason="model was fitted without context")
            return None
        if context is None:
            raise DataError(f"{w}.sample: the model was fitted with parent context columns {self.context_columns_}; "
                            f"pass context= with one row per {what}")
        if len(context) != n:
            raise DataError(f"{w}.sample: {n} {what}s requested but context has {len(context)} rows; they must match "
                            f"(one {what} per context row)")
        missing = [c for c in self.context_columns_ if c not in context.columns]
        if missing:
            raise DataError(f"{w}.sample: context lacks the columns {missing} it was fitted with "
                            f"({self.context_columns_})")
        return self.context_encoding_.encode(context[self.context_columns_].reset_index(drop=True))

    def _order(self, enc: TableEncoding) -> list[int]:
        """The fixed column order, as indexes into enc.learned."""
        names = enc.learned_columns
        if isinstance(self.column_order, str):
            return list(range(len(names)))
        unknown = [c for c in self.column_order if c not in enc.columns]
        if unknown:
            raise DataError(f"{self._where()}: column_order names unknown columns {unknown}. Columns: {enc.columns}")
        first = [names.index(c) for c in self.column_order if c in names]
        return first + [j for j in range(len(names)) if j not in first]

    def _split(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        perm = rng.permutation(n)
        n_val = int(round(n * self.validation_share)) if n >= 50 else 0
        n_val = min(n_val, 20_000)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    def _positions(self, order: list[int], rng: np.random.Generator | None) -> np.ndarray:
        """Place of each column in one training batch's order (None: the fixed order)."""
        c = len(order)
        pos = np.empty(c)
        pos[order] = np.arange(c)
        if rng is None:
            return pos
        if self.column_order == "random":
            return rng.permutation(c).astype(np.float64)
        if c > 1 and rng.random() < self.condition_share:
            return rng.permutation(c).astype(np.float64)
        return pos

    def _drawer(self, order: Sequence[int], temperature: float,
                fixed: dict[int, list[int]] | None = None) -> TokenDrawer:
        """The `TokenDrawer` of the fitted network for this order, temperature and conditions.

        The last one is kept: a Spark partition calls `sample()` once per block with the same
        arguments, and the drawer's tables are rebuilt only when they or the weights change (a
        refit or a weight load moves the parameters' version counters or storage).
        """
        net = self.net_
        weights = tuple((p.data_ptr(), p._version) for p in net.parameters())
        key = (tuple(int(j) for j in order), float(temperature),
               tuple(sorted((int(j), tuple(int(t) for t in v)) for j, v in (fixed or {}).items())), id(net), weights)
        cached = getattr(self, "_drawer_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        drawer = TokenDrawer(net.embeddings, net.regressors, self.encoding_, order, temperature=temperature,
                             banned=self.encoding_.banned(), fixed=fixed)
        self._drawer_cache = (key, drawer)
        return drawer

    def _metadata_json(self) -> Any:
        return self.metadata.model_dump(mode="json") if self.metadata is not None else None

    def _encodings_state(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        cfg, arr = self.encoding_.state()
        arrays.update({f"enc.{k}": v for k, v in arr.items()})
        ccfg = None
        if self.context_encoding_ is not None:
            ccfg, carr = self.context_encoding_.state()
            arrays.update({f"ctx.{k}": v for k, v in carr.items()})
        return {"encoding": cfg, "context_encoding": ccfg, "context_columns": self.context_columns_}

    def _load_encodings(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoding_ = TableEncoding.from_state(cfg["encoding"], {k[4:]: v for k, v in arrays.items()
                                                                    if k.startswith("enc.")})
        self.context_encoding_ = None
        if cfg["context_encoding"] is not None:
            self.context_encoding_ = TableEncoding.from_state(
                cfg["context_encoding"], {k[4:]: v for k, v in arrays.items() if k.startswith("ctx.")})
        self.context_columns_ = list(cfg["context_columns"])

    def _constraints(self, out: pd.DataFrame, seed_: int, enforce_constraints: bool) -> pd.DataFrame:
        if enforce_constraints and self.metadata is not None and self.metadata.constraints:
            from pyspark_synth.models.constraints import enforce

            return enforce(out, self.metadata, rng=np.random.default_rng(derive_seed(seed_, "constraints")))
        return out


def draw_tokens(embeddings: TokenEmbeddings, regressors: Regressors, enc: TableEncoding, order: Sequence[int],
                ctx: torch.Tensor | None, u: np.ndarray, n: int, *, temperature: float, banned: list[list[int]],
                fixed: dict[int, list[int]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw `n` rows of tokens column by column in `order`; returns (tokens, their embeddings).

    A one-off `TokenDrawer` (`_ar_draw`); a model that draws several chunks keeps one instead.

    Args:
        embeddings: The token embeddings.
        regressors: The per-token regressors.
        enc: The table's encoding (sub-columns of each learned column).
        order: Learned-column indexes in drawing order (fixed columns first).
        ctx: The context vector of each row, or None.
        u: (n, >= number of sub-columns) uniforms; column s draws sub-column s.
        n: Rows.
        temperature: Divides the logits.
        banned: Tokens never drawn, per sub-column.
        fixed: {learned column: its tokens} set instead of drawn (conditions).
    """
    drawer = TokenDrawer(embeddings, regressors, enc, order, temperature=temperature, banned=banned, fixed=fixed)
    tok, emb = drawer.draw(ctx, u, n, embeddings=True)
    return tok, emb
