"""The validation result: thresholds, metric rows, scores, and their DataFrame, JSON and HTML forms."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["MetricRow", "Thresholds", "ValidationResult", "RESULT_SCHEMA"]

RESULT_SCHEMA = (
    "table string, kind string, name string, metric string, real double, synthetic double, "
    "value double, threshold double, passed boolean, score double, detail string"
)


@dataclass(frozen=True)
class Thresholds:
    """Pass/fail limits; a metric passes when it is strictly below (or, for *_min, at least) its limit.

    Attributes:
        ks: Two-sample KS statistic of a numerical or datetime column.
        tvd: Total variation distance of a categorical or boolean column's frequencies.
        corr: |Pearson(real) - Pearson(synthetic)| of a numerical pair.
        contingency: TVD of the joint frequencies of a pair with a categorical column
            (1 - SDMetrics' ContingencySimilarity).
        child_count_ks: KS statistic of the children-per-parent distribution of a foreign key.
        orphans: Most synthetic child rows allowed without a parent (0: every key resolves); also
            the most allowed with a null key where the real key is never null (`null_keys`).
        duplicate_keys: Most synthetic rows allowed whose primary key repeats.
        exact_copy_rate: Most synthetic rows allowed that copy a real row, above the holdout's own
            rate when a holdout is given.
        dcr_ratio_min: Least median DCR(synthetic -> real) / median DCR(holdout -> real)
            (only checked when a holdout is given).
        null_share: |null share(real) - null share(synthetic)| of a column (the TVD of the
            null / not-null split, so on the scale of `tvd`; the column shapes leave nulls out).
        dcr_share: Share of synthetic rows closer to a training row than to a holdout row
            (equal-sized samples; 0.5 is ideal; only with a holdout).
        membership_auc: ROC AUC of a distance-based membership-inference attack (0.5 is ideal;
            only with a holdout).
        detection_accuracy: Cross-validated accuracy of a classifier telling synthetic rows
            from real ones (0.5 is ideal).

    Exact copies, DCR share and membership inference of a lookup table (see `validate`) are
    reported but not judged: a lookup table is copied by design.
    """

    ks: float = 0.1
    tvd: float = 0.1
    corr: float = 0.1
    contingency: float = 0.15
    child_count_ks: float = 0.1
    orphans: float = 0
    duplicate_keys: float = 0
    exact_copy_rate: float = 0.01
    dcr_ratio_min: float = 0.5
    null_share: float = 0.1
    dcr_share: float = 0.6
    membership_auc: float = 0.6
    detection_accuracy: float = 0.9

    @classmethod
    def of(cls, value: Thresholds | dict[str, float] | None) -> Thresholds:
        """Build from None (defaults), a Thresholds or a dict overriding some defaults.

        Raises:
            ValueError: The dict names a threshold that does not exist.
        """
        if value is None:
            return cls()
        if isinstance(value, Thresholds):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"Unknown validation threshold(s) {unknown}. Known thresholds: {sorted(known)}")
        return replace(cls(), **{k: float(v) for k, v in value.items()})


@dataclass(frozen=True)
class MetricRow:
    """One measured metric of a (table, column or pair, metric).

    `value` is the comparison (a distance, a difference or a count); `real` and `synthetic` hold
    the two sides' own values where the metric has them (a mean, a correlation). `score` is the
    metric as a quality in [0, 1] (1 is a perfect match) where one is defined; `passed` is None
    for metrics reported without a pass criterion (a p-value, an error bound, a mean).
    """

    table: str
    kind: str
    name: str
    metric: str
    value: float | None = None
    real: float | None = None
    synthetic: float | None = None
    threshold: float | None = None
    passed: bool | None = None
    score: float | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dictionary (NaN and infinities become None, so the JSON stays valid)."""
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return _clean(v.item())
    return v


def mean_or_none(values: list[float]) -> float | None:
    """The mean of the finite values, or None when there are none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


@dataclass
class ValidationResult:
    """Everything `validate` measured: metric rows, scores, and the bounded data behind the plots.

    Attributes:
        rows: One MetricRow per (table, column or pair, metric).
        thresholds: The limits the rows were judged against.
        tables: Per table: row counts, score, column-shape and pair-trend averages, and the plot
            data (histograms, category frequencies, correlation matrices, DCR samples); "lookup"
            (why the table counts as a lookup table, or None), "privacy" and "detection"
            (accuracy per fold, the features that tell the sides apart) where measured.
        relationships: Per foreign key: orphan counts and the children-per-parent distributions.
        settings: The options the validation ran with (sample size, bins, ...).
    """

    rows: list[MetricRow]
    thresholds: Thresholds
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ scores
    @property
    def column_shapes(self) -> float | None:
        """Mean of the column-shape scores (1 - KS, 1 - TVD) over all tables."""
        return mean_or_none([r.score for r in self.rows if r.kind == "column" and r.metric in ("ks", "tvd")])

    @property
    def pair_trends(self) -> float | None:
        """Mean of the pair-trend scores (1 - |dcorr|/2, contingency similarity) over all tables."""
        return mean_or_none([r.score for r in self.rows if r.kind == "pair" and r.metric in ("corr", "contingency")])

    @property
    def cardinality(self) -> float | None:
        """Mean of 1 - KS of the children-per-parent distributions over all foreign keys."""
        return mean_or_none([r.score for r in self.rows if r.kind == "fk" and r.metric == "child_count_ks"])

    @property
    def null_shares(self) -> float | None:
        """Mean of 1 - |Δ null share| over all compared columns (not part of `score`, which
        compares values the way SDMetrics does, nulls left out)."""
        return mean_or_none([r.score for r in self.rows if r.kind == "column" and r.metric == "null_share"])

    @property
    def detection(self) -> float | None:
        """Mean detection accuracy over the tables measured (0.5: a classifier cannot tell the
        synthetic rows from the real ones; not part of `score`)."""
        return mean_or_none([r.value for r in self.rows if r.kind == "detection" and r.metric == "detection_accuracy"])

    @property
    def score(self) -> float:
        """The overall score in [0, 1]: the mean of column shapes, pair trends and cardinality
        (each an average of its own scores; parts with nothing to measure are left out)."""
        parts = [p for p in (self.column_shapes, self.pair_trends, self.cardinality) if p is not None]
        return sum(parts) / len(parts) if parts else 1.0

    @property
    def table_scores(self) -> dict[str, float]:
        """Per table: the mean of its column-shape and pair-trend averages."""
        return {name: t["score"] for name, t in self.tables.items()}

    @property
    def passed(self) -> bool:
        """True when no metric with a pass criterion failed."""
        return all(r.passed is not False for r in self.rows)

    @property
    def failures(self) -> list[MetricRow]:
        """The metric rows that failed their threshold."""
        return [r for r in self.rows if r.passed is False]

    def worst(self, n: int = 10) -> list[MetricRow]:
        """The `n` worst judged or scored rows: failures first, then by score, lowest first."""
        judged = [r for r in self.rows if r.passed is not None or r.score is not None]
        judged.sort(key=lambda r: (r.passed is not False, r.score if r.score is not None else 1.0))
        return judged[:n]

    def summary(self) -> str:
        """A few readable lines: the score, the verdict and the worst failures."""
        lines = [
            f"Validation score {self.score:.3f} ({'PASSED' if self.passed else 'FAILED'}: "
            f"{len(self.failures)} of {sum(r.passed is not None for r in self.rows)} checks failed)"
        ]
        for r in self.worst(5):
            if r.passed is False:
                lines.append(f"  FAIL {r.table}.{r.name} {r.metric}={_fmt(r.value)} (limit {_fmt(r.threshold)})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ forms
    def to_dict(self) -> dict[str, Any]:
        """A plain-JSON dictionary of the whole result (rows, scores and plot data)."""
        return _clean(
            {
                "score": self.score,
                "passed": self.passed,
                "column_shapes": self.column_shapes,
                "pair_trends": self.pair_trends,
                "cardinality": self.cardinality,
                "null_shares": self.null_shares,
                "detection": self.detection,
                "thresholds": asdict(self.thresholds),
                "settings": self.settings,
                "tables": self.tables,
                "relationships": self.relationships,
                "rows": [r.to_dict() for r in self.rows],
            }
        )

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """Serialise to JSON; also write it to `path` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_dataframe(self, spark: SparkSession) -> DataFrame:
        """The metric rows as a Spark DataFrame (schema `RESULT_SCHEMA`) for pipelines and SQL."""
        data = [
            (r["table"], r["kind"], r["name"], r["metric"], _f(r["real"]), _f(r["synthetic"]), _f(r["value"]),
             _f(r["threshold"]), r["passed"], _f(r["score"]), r["detail"])
            for r in (row.to_dict() for row in self.rows)
        ]
        return spark.createDataFrame(data, RESULT_SCHEMA)

    def to_html(self, path: str | Path | None = None, *, title: str = "Synthetic data validation") -> str:
        """Render the self-contained HTML report; also write it to `path` when given."""
        from pyspark_synth.validation.report import render_html

        text = render_html(self, title=title)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def __repr__(self) -> str:
        return f"ValidationResult(score={self.score:.3f}, passed={self.passed}, rows={len(self.rows)})"


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}"
