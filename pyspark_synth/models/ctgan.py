"""CTGAN (Xu et al. 2019) with parent-context conditioning: fit on pandas, sample deterministically."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, SerializationError
from pyspark_synth.metadata import Table
from pyspark_synth.models._archive import pack, unpack, write_archive
from pyspark_synth.models.averaging import WeightAverage
from pyspark_synth.models.base import SynthModel, register_backend
from pyspark_synth.models.layers import (
    Critic,
    Generator,
    activate,
    build_module,
    gradient_penalty,
    init_parameters,
)
from pyspark_synth.models.runtime import TorchThreads
from pyspark_synth.seeds import derive_seed, resolve_seed
from pyspark_synth.transformers import TableTransformer
from pyspark_synth.transformers.categorical import OneHotTransformer
from pyspark_synth.transformers.layout import ConditionalSampler, Layout
from pyspark_synth.transformers.rare import (
    DEFAULT_RARE_THRESHOLD,
    check_rare_threshold,
    protect_rare_values,
)
from pyspark_synth.transformers.table import check_unique_columns

__all__ = ["CTGAN"]

_log = get_logger("pyspark_synth.models.ctgan")
_KIND = "ctgan"
_CHUNK = 8192  # rows per generator call in sample(); fixed, so results never depend on it
_MAX_SEED = 2**63 - 1
_MAX_AUTO_EPOCHS = 300


def _torch_gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) & _MAX_SEED)


@register_backend("ctgan")
class CTGAN(SynthModel):
    """Conditional tabular GAN: mode-specific normalisation, conditional generator, WGAN-GP + PacGAN.

    Follows Xu et al. 2019 (training-by-sampling with log-frequency, residual generator,
    Gumbel-softmax outputs, PacGAN critic with gradient penalty), adds learned entity embeddings
    for high-cardinality columns and conditioning on a parent's context columns.

    Args:
        metadata: The table's metadata. Columns typed `id`/`text` and key columns are not learned
            (they come back as nulls for the layer above to fill); constraints are enforced in sample().
        batch_size: Rows per training step (rounded up to a multiple of `pac`).
        epochs: Passes over the data. None (the default) picks enough epochs for about
            `auto_steps` generator steps, at most 300 epochs: small tables get CTGAN's 300 epochs,
            large ones a bounded training time.
        auto_steps: Generator steps aimed at when `epochs` is None.
        seed: Root seed of the fit (transformers, initial weights, batches, noise).
        embedding_threshold: Categorical columns with more distinct values use an entity embedding.
        noise_dim: Width of the generator's noise.
        generator_dim: Widths of the generator's residual blocks.
        critic_dim: Widths of the critic's hidden layers.
        generator_lr: Adam learning rate of the generator.
        critic_lr: Adam learning rate of the critic.
        weight_decay: Adam weight decay of both networks.
        critic_steps: Critic updates per generator update.
        pac: Rows per PacGAN pack.
        tau: Gumbel-softmax temperature in training.
        gp_lambda: Weight of the gradient penalty.
        max_modes: Upper bound on Gaussian modes per numeric column.
        max_fit_rows: Rows used to fit each numeric column's mixture.
        context_cond_dropout: With context, the share of training rows without a conditional vector
            (those rows teach the generator to follow the context alone, as in sample()).
        early_stopping_patience: Stop when the critic's Wasserstein estimate has not improved for
            this many epochs (None: train all epochs).
        num_threads: Torch intra-op threads used inside fit() and sample() (the previous setting
            is restored afterwards). None (the default) keeps torch's setting: all cores on a
            driver, the one thread the Spark executors set in their Python workers. On a machine
            busy with other CPU-heavy work set 1: torch's threads meet at a barrier many times per
            step, and when they must wait for CPU time a step can become 10-25x slower (measured
            here with two threads next to other jobs), while one thread only loses the parallel
            speed-up (about 1.7x on two idle cores).
        ema_decay: Decay of the moving average of the generator's weights that sample() uses
            (about `1 / (1 - ema_decay)` recent steps); None samples from the last weights.
        conditional_embedding: Feed the conditional vector's high-cardinality columns (those
            above `embedding_threshold` values) to both networks through entity embeddings. The
            one-hot vector (False, as CTGAN does) gives every value a slot, `pac` times in the
            critic: on a 6,000-row table with a column of 5,000 strings an epoch took 99 s that
            way and 14.7 s embedded (6.8x, one thread on a busy 2-core machine;
            `benchmarks/ctgan_high_cardinality.py` runs both).
        rare_threshold: `k` of the rare-value protection (`transformers.rare`): categorical values
            of fewer than k training rows are redrawn among the frequent values and numerical and
            datetime values are clipped to [k-th smallest, k-th largest] before the transformers are
            fitted, so no rare category and no single record's extreme is stored or generated.
            1 (or 0) turns it off.
        differential_privacy: Refused (PrivacyError at `fit`): CTGAN has no sound DP mode. Its
            training-by-sampling draws conditions from the real rows' category frequencies, its
            mode-specific normaliser fits Gaussian mixtures to the real values, and its generator's
            batch normalisation mixes the conditions of a whole batch, so clipping each row's
            critic gradient would not bound what one record changes. Use
            backend="autoregressive" with differential privacy. Kept as a parameter (None) so
            saved configurations still load.
    """

    name = "ctgan"
    # No differential-privacy mode (see `differential_privacy` above); `training.has_dp_mode` reads it.
    differential_privacy_mode = False

    def __init__(self, metadata: Table | None = None, *, batch_size: int = 500, epochs: int | None = None,
                 seed: int | None = None, embedding_threshold: int = 50, noise_dim: int = 128,
                 generator_dim: Sequence[int] = (256, 256), critic_dim: Sequence[int] = (256, 256),
                 generator_lr: float = 2e-4, critic_lr: float = 2e-4, weight_decay: float = 1e-6,
                 critic_steps: int = 1, pac: int = 10, tau: float = 0.2, gp_lambda: float = 10.0,
                 max_modes: int = 10, max_fit_rows: int = 5_000, context_cond_dropout: float = 0.5,
                 early_stopping_patience: int | None = None, num_threads: int | None = None,
                 auto_steps: int = 2500, ema_decay: float | None = 0.995,
                 conditional_embedding: bool = True, rare_threshold: int = DEFAULT_RARE_THRESHOLD,
                 differential_privacy: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self.batch_size = batch_size
        self.epochs = epochs
        self.seed = seed
        self.embedding_threshold = embedding_threshold
        self.noise_dim = noise_dim
        self.generator_dim = generator_dim
        self.critic_dim = critic_dim
        self.generator_lr = generator_lr
        self.critic_lr = critic_lr
        self.weight_decay = weight_decay
        self.critic_steps = critic_steps
        self.pac = pac
        self.tau = tau
        self.gp_lambda = gp_lambda
        self.max_modes = max_modes
        self.max_fit_rows = max_fit_rows
        self.context_cond_dropout = context_cond_dropout
        self.early_stopping_patience = early_stopping_patience
        self.num_threads = num_threads
        self.auto_steps = auto_steps
        self.ema_decay = ema_decay
        self.conditional_embedding = conditional_embedding
        self.rare_threshold = rare_threshold
        self.differential_privacy = dict(differential_privacy) if differential_privacy is not None else None

    _PARAMS = ("batch_size", "epochs", "seed", "embedding_threshold", "noise_dim", "generator_dim", "critic_dim",
               "generator_lr", "critic_lr", "weight_decay", "critic_steps", "pac", "tau", "gp_lambda", "max_modes",
               "max_fit_rows", "context_cond_dropout", "early_stopping_patience", "num_threads", "auto_steps",
               "ema_decay", "conditional_embedding", "rare_threshold", "differential_privacy")

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (except metadata) as plain JSON values."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in ((k, getattr(self, k)) for k in self._PARAMS)}

    # ------------------------------------------------------------------ setup
    def _excluded_metadata(self, data: pd.DataFrame) -> Table | None:
        """The metadata with key columns typed `id` so they are not learned (the Spark layer writes keys)."""
        md = self.metadata
        if md is None:
            return None
        keys = md.unlearned_key_columns
        cols = list(md.columns)
        known = {c.name for c in cols}
        from pyspark_synth.metadata import Column

        cols = [c.model_copy(update={"type": "id"}) if c.name in keys else c for c in cols]
        cols += [Column(name=k, type="id") for k in sorted(keys) if k not in known and k in data.columns]
        return md.model_copy(update={"columns": tuple(cols)})

    def _build_networks(self, init_seed: int | None, cond_embedding: bool = True) -> None:
        """Build both networks; `cond_embedding` feeds high-cardinality conditions through entity
        embeddings (a 5,000-value column costs an embedding's width, not 5,000 inputs per row and
        pack), False feeds the one-hot conditional vector as models saved before it did."""
        spans = self.layout_.spans
        ctx_spans = self.context_layout_.spans if self.context_layout_ is not None else None
        cond_dim = self.sampler_.cond_dim
        cond_spans = [spans[i] for i in self.layout_.discrete] if cond_embedding else None
        self.cond_embedding_ = bool(cond_embedding)
        self.generator_ = build_module(lambda: Generator(self.noise_dim, cond_dim, ctx_spans, list(self.generator_dim),
                                                         self.layout_.act_dim, cond_spans=cond_spans))
        self.critic_ = build_module(lambda: Critic(spans, cond_dim, ctx_spans, list(self.critic_dim), self.pac,
                                                   cond_spans=cond_spans))
        if init_seed is not None:
            g = _torch_gen(init_seed)
            init_parameters(self.generator_, g)
            init_parameters(self.critic_, g)

    # -------------------------------------------------------------------- fit
    def _threads(self) -> TorchThreads:
        return TorchThreads(self.num_threads)

    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, table_name: str | None = None,
            checkpoint_dir: str | Path | None = None, log_metrics: bool | str | Path = True, seed: int | None = None,
            progress_bar: bool = True, checkpoint_interval: int = 10, **kwargs: Any) -> CTGAN:
        """Learn the table, conditioned on `context` when given; returns self.

        Args:
            data: The table's rows.
            context: Parent context columns aligned row-wise with `data` (same length), or None.
            table_name: Name used in logs, the progress bar and checkpoint file names.
            checkpoint_dir: Write an archive there every `checkpoint_interval` epochs (and
                `<table>_metrics.csv` when `log_metrics` is true).
            log_metrics: Log losses per epoch; a path writes them as CSV to that file.
            seed: Overrides the constructor's seed for this fit.
            progress_bar: Show a tqdm progress bar.
            checkpoint_interval: Epochs between checkpoints.
            **kwargs: `epochs` or `batch_size` override the constructor for this fit; other keys
                are ignored with a warning (accepted for compatibility).

        Raises:
            DataError: `data` is not a non-empty DataFrame, or `context` is not aligned with it.
        """
        with self._threads():
            return self._fit(data, context, table_name, checkpoint_dir, log_metrics, seed, progress_bar,
                             checkpoint_interval, **kwargs)

    def _fit(self, data: pd.DataFrame, context: pd.DataFrame | None, table_name: str | None,
             checkpoint_dir: str | Path | None, log_metrics: bool | str | Path, seed: int | None,
             progress_bar: bool, checkpoint_interval: int, **kwargs: Any) -> CTGAN:
        from tqdm.auto import tqdm

        epochs = kwargs.pop("epochs", self.epochs)
        batch_size = int(kwargs.pop("batch_size", self.batch_size))
        if kwargs:
            _log.warning("ctgan.fit.ignored_arguments", arguments=sorted(kwargs))
        name = table_name or (self.metadata.name if self.metadata is not None else "table")
        if not isinstance(data, pd.DataFrame) or len(data) == 0:
            raise DataError(f"CTGAN.fit('{name}'): data must be a non-empty pandas DataFrame, got "
                            f"{type(data).__name__} with {len(data) if hasattr(data, '__len__') else '?'} rows")
        if context is not None and (not isinstance(context, pd.DataFrame) or len(context) != len(data)):
            raise DataError(f"CTGAN.fit('{name}'): context must be a DataFrame with one row per data row "
                            f"({len(data)}), got {type(context).__name__} with "
                            f"{len(context) if hasattr(context, '__len__') else '?'} rows. Align it with the child rows.")
        seed_ = resolve_seed(seed if seed is not None else self.seed)
        start = time.perf_counter()
        data = data.reset_index(drop=True)
        check_unique_columns(data, f"CTGAN.fit('{name}')")
        k = check_rare_threshold(self.rare_threshold, f"CTGAN('{name}'): rare_threshold")
        data, rare = protect_rare_values(data, self.metadata, threshold=k, seed=derive_seed(seed_, "rare"))
        self.fit_report_: dict[str, Any] = {"backend": _KIND, "rare_threshold": k,
                                            "rare_values": {r.column: r.to_dict() for r in rare}}

        self.transformer_ = TableTransformer(
            self._excluded_metadata(data), embedding_threshold=self.embedding_threshold, max_modes=self.max_modes,
            max_fit_rows=self.max_fit_rows, seed=derive_seed(seed_, "transformer")).fit(data)
        self.layout_ = Layout(self.transformer_.spans)
        encoded = self.transformer_.transform(data)
        self.context_transformer_, self.context_layout_, ctx_encoded = None, None, None
        self.context_columns_: list[str] = []
        if context is not None and len(context.columns):
            ctt = TableTransformer(None, embedding_threshold=self.embedding_threshold, max_modes=self.max_modes,
                                   max_fit_rows=self.max_fit_rows, seed=derive_seed(seed_, "context")).fit(
                context.reset_index(drop=True))
            if ctt.spans:
                self.context_transformer_ = ctt
                self.context_layout_ = Layout(ctt.spans)
                self.context_columns_ = [str(c) for c in context.columns]
                ctx_encoded = ctt.transform(context.reset_index(drop=True))
        self.sampler_ = ConditionalSampler(self.layout_, self.layout_.codes(encoded))
        if self.differential_privacy is not None:
            from pyspark_synth.errors import PrivacyError

            raise PrivacyError(f"CTGAN.fit('{name}'): CTGAN has no differential-privacy mode (its conditions, "
                               "normaliser and batch normalisation read real rows outside any per-record bound). "
                               "Use backend='autoregressive' with PrivacyConfig(enable_differential_privacy=True), "
                               "or fit CTGAN without differential privacy.")
        self._build_networks(derive_seed(seed_, "init"), bool(self.conditional_embedding))
        self.seed_ = seed_
        self.n_rows_ = len(data)
        self.history_: list[dict[str, float]] = []
        self.fitted_ = True
        _log.info("ctgan.fit.start", table=name, rows=len(data), columns=len(data.columns),
                  output_dim=self.layout_.act_dim, cond_dim=self.sampler_.cond_dim,
                  context_columns=self.context_columns_, batch_size=batch_size, seed=seed_)
        if self.layout_.act_dim == 0:
            _log.info("ctgan.fit.nothing_to_learn", table=name)
            self._finish()
            return self

        pac = self.pac
        batch = max(pac, -(-batch_size // pac) * pac)
        if batch != batch_size:
            _log.info("ctgan.fit.batch_rounded", requested=batch_size, used=batch, pac=pac)
        steps = max(1, len(data) // batch)
        if epochs is None:
            epochs = int(min(_MAX_AUTO_EPOCHS, max(1, -(-self.auto_steps // steps))))
            _log.info("ctgan.fit.auto_epochs", epochs=epochs, steps_per_epoch=steps)
        epochs = int(epochs)
        drop = self.context_cond_dropout if self.context_layout_ is not None else 0.0
        rng = np.random.default_rng(derive_seed(seed_, "batches"))
        g = _torch_gen(derive_seed(seed_, "noise"))
        gen, critic = self.generator_, self.critic_
        opt_g = torch.optim.Adam(gen.parameters(), lr=self.generator_lr, betas=(0.5, 0.9),
                                 weight_decay=self.weight_decay)
        opt_d = torch.optim.Adam(critic.parameters(), lr=self.critic_lr, betas=(0.5, 0.9),
                                 weight_decay=self.weight_decay)
        average = WeightAverage(gen, self.ema_decay) if self.ema_decay else None
        spans = self.layout_.spans
        ctx_act_all = self.context_layout_.to_activation(ctx_encoded) if ctx_encoded is not None else None
        gen.train()
        critic.train()
        best, stale = np.inf, 0
        bar = tqdm(range(epochs), desc=f"CTGAN {name}", disable=not progress_bar, leave=False)
        for epoch in bar:
            t0 = time.perf_counter()
            sums = np.zeros(4)
            for _ in range(steps):
                for _ in range(self.critic_steps):
                    cond_np, _col, _cat, rows = self.sampler_.sample_train(batch, rng, drop)
                    cond = torch.from_numpy(cond_np)
                    ctx = torch.from_numpy(ctx_act_all[rows]) if ctx_act_all is not None else None
                    real = torch.from_numpy(self.layout_.to_activation(encoded[rows]))
                    z = torch.randn(batch, self.noise_dim, generator=g)
                    with torch.no_grad():
                        fake = activate(gen(z, cond, ctx), spans, tau=self.tau, generator=g)
                    y_real = critic(real, cond, ctx, generator=g)
                    y_fake = critic(fake, cond, ctx, generator=g)
                    pen = gradient_penalty(critic, real, fake, cond, ctx, g, self.gp_lambda)
                    loss_d = y_fake.mean() - y_real.mean()
                    opt_d.zero_grad(set_to_none=True)
                    (loss_d + pen).backward()
                    opt_d.step()
                cond_np, col, cat, rows = self.sampler_.sample_train(batch, rng, drop)
                cond = torch.from_numpy(cond_np)
                ctx = torch.from_numpy(ctx_act_all[rows]) if ctx_act_all is not None else None
                z = torch.randn(batch, self.noise_dim, generator=g)
                raw = gen(z, cond, ctx)
                fake = activate(raw, spans, tau=self.tau, generator=g)
                y_fake = critic(fake, cond, ctx, generator=g)
                ce = self._cond_loss(raw, col, cat)
                loss_g = -y_fake.mean() + ce
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                if average is not None:
                    average.update()
                sums += (loss_g.item(), loss_d.item(), pen.item(), ce.item())
            m = sums / steps
            row = {"epoch": epoch + 1, "generator_loss": float(m[0]), "critic_loss": float(m[1]),
                   "gradient_penalty": float(m[2]), "cond_loss": float(m[3]),
                   "seconds": time.perf_counter() - t0}
            self.history_.append(row)
            if log_metrics:
                _log.info("ctgan.epoch", table=name, **row)
            bar.set_postfix(g=f"{m[0]:.3f}", d=f"{m[1]:.3f}")
            if checkpoint_dir is not None and checkpoint_interval > 0 and (epoch + 1) % checkpoint_interval == 0:
                if average is not None:
                    average.swap()
                self._checkpoint(Path(checkpoint_dir), name, epoch + 1, log_metrics)
                if average is not None:
                    average.swap()
            if self.early_stopping_patience is not None:
                w = abs(m[1])
                if w < best - 1e-3:
                    best, stale = w, 0
                else:
                    stale += 1
                    if stale >= self.early_stopping_patience:
                        _log.info("ctgan.fit.early_stop", table=name, epoch=epoch + 1, best_critic_loss=best)
                        break
        bar.close()
        if average is not None:
            average.swap()  # the fitted generator is the averaged one
        self._finish()
        if checkpoint_dir is not None:
            self._checkpoint(Path(checkpoint_dir), name, len(self.history_), log_metrics, final=True)
        if isinstance(log_metrics, (str, Path)):
            self._write_metrics(Path(log_metrics))
        self.fit_seconds_ = time.perf_counter() - start
        _log.info("ctgan.fit.done", table=name, seconds=round(self.fit_seconds_, 2), epochs=len(self.history_))
        return self

    def _finish(self) -> None:
        self.generator_.eval()
        self.critic_.eval()

    def _cond_loss(self, raw: torch.Tensor, col: np.ndarray, cat: np.ndarray) -> torch.Tensor:
        """Cross-entropy between the generator's output for the conditioned column and the condition."""
        loss = raw.new_zeros(())
        for j, i in enumerate(self.layout_.discrete):
            sel = np.flatnonzero(col == j)
            if len(sel):
                a = self.layout_.act_offsets[i]
                block = raw[torch.from_numpy(sel), a:a + self.layout_.spans[i].dim]
                loss = loss + F.cross_entropy(block, torch.from_numpy(cat[sel]), reduction="sum")
        return loss / len(col)

    def _checkpoint(self, folder: Path, name: str, epoch: int, log_metrics: bool | str | Path,
                    final: bool = False) -> None:
        mode = self.generator_.training
        self._finish()
        path = folder / (f"{name}_final.synth" if final else f"{name}_epoch{epoch:04d}.synth")
        write_archive(path, self.to_bytes(), overwrite=True)
        if mode:
            self.generator_.train()
            self.critic_.train()
        if log_metrics:
            self._write_metrics(folder / f"{name}_metrics.csv")
        _log.info("ctgan.checkpoint", path=str(path), epoch=epoch)

    def _write_metrics(self, path: Path) -> None:
        if not self.history_:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.history_[0]))
            writer.writeheader()
            writer.writerows(self.history_)

    @property
    def training_history_(self) -> pd.DataFrame:
        """Per-epoch losses of the last fit as a DataFrame."""
        self._check_fitted()
        return pd.DataFrame(self.history_)

    # ----------------------------------------------------------------- sample
    def _condition_codes(self, conditions: dict[str, Any]) -> tuple[dict[int, int], dict[str, Any]]:
        """Split conditions into {discrete span index: category code} and plain column overrides."""
        tt = self.transformer_
        by_span: dict[int, int] = {}
        plain: dict[str, Any] = {}
        span_of = {self.layout_.spans[i].column: i for i in self.layout_.discrete}
        for col, value in conditions.items():
            if col not in tt.columns_:
                raise DataError(f"CTGAN.sample: condition on unknown column '{col}'. Known columns: {tt.columns_}")
            t = tt.transformers_[col]
            if col in span_of and isinstance(t, OneHotTransformer):
                is_null = value is None or (isinstance(value, float) and np.isnan(value))
                if is_null and t.has_null_:
                    code = len(t.categories_)
                else:
                    code = int(t._index.get_indexer(pd.Series([value], dtype=object))[0])
                    if code < 0:
                        alt = [str(c) for c in t.categories_]
                        code = alt.index(str(value)) if str(value) in alt else -1
                if code < 0:
                    shown = t.categories_[:20]
                    raise DataError(f"CTGAN.sample: condition {col}={value!r} was never seen in training. "
                                    f"Known values (first 20): {shown}")
                by_span[span_of[col]] = code
            else:
                plain[col] = value
        return by_span, plain

    def sample(self, num_rows: int, context: pd.DataFrame | None = None, *, seed: int | None = None,
               conditions: dict[str, Any] | None = None, enforce_constraints: bool = True,
               **kwargs: Any) -> pd.DataFrame:
        """Generate rows; the same (num_rows, context, seed) always gives the same rows.

        Args:
            num_rows: Rows to generate (must equal `len(context)` when context is given).
            context: Parent context rows, one output row per context row (needed when the model
                was fitted with context).
            seed: Seed of this draw; None draws a fresh one.
            conditions: `{column: value}`: every row gets exactly that value; discrete columns
                also steer the generator through the conditional vector.
            enforce_constraints: Repair rows so the metadata's constraints hold.
            **kwargs: Accepted for compatibility and ignored.

        Returns:
            A DataFrame with the training columns and dtypes (id/text/key columns all null).

        Raises:
            NotFittedError: The model is not fitted.
            DataError: Bad `num_rows`, missing or misaligned context, or an unknown condition.
        """
        self._check_fitted()
        if kwargs:
            _log.debug("ctgan.sample.ignored_arguments", arguments=sorted(kwargs))
        with self._threads():
            return self._sample(num_rows, context, seed, conditions, enforce_constraints)

    def _sample(self, num_rows: int, context: pd.DataFrame | None, seed: int | None,
                conditions: dict[str, Any] | None, enforce_constraints: bool) -> pd.DataFrame:
        if isinstance(num_rows, bool) or not isinstance(num_rows, (int, np.integer)) or num_rows < 0:
            raise DataError(f"CTGAN.sample: num_rows must be a non-negative int, got {num_rows!r}")
        n = int(num_rows)
        ctx_act = None
        if self.context_transformer_ is not None:
            if context is None:
                raise DataError(f"CTGAN.sample: the model was fitted with parent context columns "
                                f"{self.context_columns_}; pass context= with one row per row to generate")
            if len(context) != n:
                raise DataError(f"CTGAN.sample: num_rows={n} but context has {len(context)} rows; they must match "
                                "(one generated row per context row)")
            ctx_act = self.context_layout_.to_activation(
                self.context_transformer_.transform(context.reset_index(drop=True)))
        elif context is not None:
            _log.warning("ctgan.sample.context_ignored", reason="model was fitted without context")
        seed_ = resolve_seed(seed)
        by_span, plain = self._condition_codes(conditions or {})

        layout, sampler = self.layout_, self.sampler_
        g = _torch_gen(derive_seed(seed_, "sample"))
        rng = np.random.default_rng(derive_seed(seed_, "cond"))
        # All randomness of the request is drawn up front, in a fixed order.
        z = torch.randn(n, self.noise_dim, generator=g)
        u = torch.rand(n, len(layout.softmax), generator=g).numpy()
        if by_span:
            first = next(iter(by_span))
            j = layout.discrete.index(first)
            col = np.full(n, j, dtype=np.int64)
            cat = np.full(n, by_span[first], dtype=np.int64)
        elif self.context_transformer_ is not None:
            col = np.full(n, -1, dtype=np.int64)
            cat = col.copy()
        else:
            col, cat = sampler.sample_original(n, rng)

        tanh_idx = [i for i, s in enumerate(layout.spans) if s.activation == "tanh"]
        scalars = np.zeros((n, len(tanh_idx)), dtype=np.float32)
        choices = np.zeros((n, len(layout.softmax)), dtype=np.int64)
        if layout.act_dim:
            gen = self.generator_
            gen.eval()
            with torch.inference_mode():
                for a in range(0, n, _CHUNK):
                    b = min(n, a + _CHUNK)
                    cond = torch.from_numpy(sampler.cond_vector(col[a:b], cat[a:b]))
                    ctx = torch.from_numpy(ctx_act[a:b]) if ctx_act is not None else None
                    raw = gen(z[a:b], cond, ctx)
                    for t, i in enumerate(tanh_idx):
                        off = layout.act_offsets[i]
                        scalars[a:b, t] = torch.tanh(raw[:, off]).numpy()
                    for c, i in enumerate(layout.softmax):
                        off, dim = layout.act_offsets[i], layout.spans[i].dim
                        if i in by_span:
                            choices[a:b, c] = by_span[i]
                            continue
                        cum = torch.softmax(raw[:, off:off + dim], dim=1).cumsum(dim=1).numpy()
                        pick = (cum < u[a:b, c:c + 1]).sum(axis=1)
                        choices[a:b, c] = np.minimum(pick, dim - 1)
        out = self.transformer_.inverse_transform(layout.from_choices(scalars, choices))
        for c, value in plain.items():
            out[c] = pd.Series([value] * n, dtype=object).astype(out[c].dtype) if n else out[c]
        if enforce_constraints and self.metadata is not None and self.metadata.constraints:
            from pyspark_synth.models.constraints import enforce

            out = enforce(out, self.metadata, rng=np.random.default_rng(derive_seed(seed_, "constraints")))
        return out

    # ------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """The fitted model as a pickle-free archive (config JSON + generator weights + transformer state)."""
        self._check_fitted()
        tcfg, tarr = self.transformer_.to_dict()
        arrays: dict[str, np.ndarray] = {f"tt.{k}": v for k, v in tarr.items()}
        ccfg = None
        if self.context_transformer_ is not None:
            ccfg, carr = self.context_transformer_.to_dict()
            arrays.update({f"ctx.{k}": v for k, v in carr.items()})
        for k, v in self.generator_.state_dict().items():
            arrays[f"gen.{k}"] = v.detach().cpu().numpy()
        arrays["cond_counts"] = self.sampler_.counts
        config = {
            "params": self.get_params(),
            "metadata": self.metadata.model_dump(mode="json") if self.metadata is not None else None,
            "transformer": tcfg,
            "context_transformer": ccfg,
            "context_columns": self.context_columns_,
            "seed": self.seed_,
            "n_rows": self.n_rows_,
            "history": self.history_,
            "cond_embedding": self.cond_embedding_,
        }
        return pack(_KIND, config, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> CTGAN:
        """Rebuild a fitted model from `to_bytes()` output (no code runs while loading).

        Raises:
            SerializationError: The bytes are not a CTGAN archive or are corrupt.
            ModelVersionError: The archive was written by a newer, incompatible library.
        """
        header, arrays = unpack(data, expected_kind=_KIND, where="CTGAN model")
        cfg = header["config"]
        try:
            metadata = Table.model_validate(cfg["metadata"]) if cfg["metadata"] is not None else None
            params = dict(cfg["params"])
            obj = cls(metadata, **params)
            sub = {k[3:]: v for k, v in arrays.items() if k.startswith("tt.")}
            obj.transformer_ = TableTransformer.from_dict(cfg["transformer"], sub)
            obj.layout_ = Layout(obj.transformer_.spans)
            obj.context_transformer_, obj.context_layout_ = None, None
            if cfg["context_transformer"] is not None:
                sub = {k[4:]: v for k, v in arrays.items() if k.startswith("ctx.")}
                obj.context_transformer_ = TableTransformer.from_dict(cfg["context_transformer"], sub)
                obj.context_layout_ = Layout(obj.context_transformer_.spans)
            obj.context_columns_ = list(cfg["context_columns"])
            obj.sampler_ = ConditionalSampler(obj.layout_, None, arrays["cond_counts"])
            obj.conditional_embedding = bool(cfg.get("cond_embedding", False))  # older models: one-hot
            obj._build_networks(None, obj.conditional_embedding)
            state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("gen.")}
            obj.generator_.load_state_dict(state, strict=True)
            obj.seed_, obj.n_rows_ = cfg["seed"], cfg["n_rows"]
            obj.history_ = list(cfg.get("history", []))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise SerializationError(
                f"CTGAN model archive (library {header.get('library_version')}) could not be rebuilt: {exc}. "
                "It may be corrupt or from an incompatible pyspark_synth version; refit and save the model again."
            ) from exc
        obj.fitted_ = True
        obj._finish()
        return obj

    def __repr__(self) -> str:
        table = self.metadata.name if self.metadata is not None else None
        return f"CTGAN(table={table!r}, epochs={self.epochs}, batch_size={self.batch_size}, fitted={self.is_fitted})"
