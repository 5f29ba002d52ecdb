"""Detection: can a gradient-boosted classifier tell synthetic rows from real ones (the SyntheRela benchmark's test)?

Per table, both sides are laid out the same way in Spark: the table's compared columns (keys, id
and text columns dropped, as everywhere in validation) and, for every foreign key that points at
the table, its children's aggregates joined onto each parent row: the number of children and the
mean of each numerical child column (a grouped aggregation of the child table, left-joined to
the parent; a parent without children counts 0 and has null means). So a parent whose children
are too many, too few or wrong in their numbers gives itself away, which column-by-column and
pair scores cannot see.

A bounded sample of the same number of rows of each side (`rows` at most, one sampling job)
reaches the driver, where the features are coded: numbers as they are (a null becomes a value
below the column's minimum, with a null flag when the column has nulls), categories as codes of
their top categories in the pooled sample (the rest "other", null its own code) marked nominal
for Spark ML. Spark ML's GBTClassifier is then trained k times (k-fold, stratified, the folds
fitted concurrently from driver threads) on real (0) vs synthetic (1) rows; the score is the mean
held-out accuracy: 0.5 means the classifier cannot tell the sides apart, 1.0 that every row gives
itself away. The models' mean feature importances name the features that betray the rows.

Cost: one sampling job over both sides (the children's aggregates joined in) and k small GBT fits
on at most 2 x `rows` rows, whatever the table's size. Spark ML runs a few jobs per tree level and
boosting iteration, so with the defaults (5 folds, 10 trees of depth 3) a table costs about 200
small Spark jobs (the rest of `validate` about a dozen per table): seconds on an idle machine, and
the part of `validate` that grows with the number of tables. `validate(detection=False)` turns it
off; `detection_trees` and `detection_folds` trade power for time. Ten shallow trees are a weaker
detector than the SyntheRela benchmark's XGBoost with its defaults (hundreds of deeper trees), so
its accuracies are lower bounds of that benchmark's: compare accuracies measured the same way.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from pyspark_synth.validation.kinds import (
    ColumnKind,
    category_expr,
    column_kinds,
    numeric_expr,
    quoted,
)
from pyspark_synth.validation.result import MetricRow, Thresholds

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from pyspark_synth.metadata import Metadata

__all__ = ["DetectionFeature", "detect_table", "detection_rows", "encode_sample", "stratified_folds"]

LABEL = "__label"
_MAX_CHILD_COLUMNS = 10
_TOP_FEATURES = 8


class DetectionFeature:
    """One feature of the detection sample: its column in the sampled frame, a readable name, and
    whether it is numeric (numbers, dates, counts, means) or a category."""

    __slots__ = ("column", "name", "numeric")

    def __init__(self, column: str, name: str, numeric: bool) -> None:
        self.column = column
        self.name = name
        self.numeric = numeric

    def __repr__(self) -> str:
        return f"DetectionFeature({self.column!r}, {self.name!r}, numeric={self.numeric})"


# ------------------------------------------------------------------------ Spark side
def _side_frame(
    table: str,
    frames: dict[str, DataFrame],
    cols: list[ColumnKind],
    children: list[tuple[str, Any, list[ColumnKind]]],
) -> tuple[DataFrame, list[DetectionFeature]]:
    """One side's rows of `table` with its features as f0, f1, ... and its children's aggregates joined."""
    from pyspark.sql import functions as F

    feats: list[DetectionFeature] = []
    exprs = []
    for c in cols:
        name = f"f{len(feats)}"
        if c.is_numeric:
            exprs.append(F.nanvl(numeric_expr(c), F.lit(None).cast("double")).alias(name))
        else:
            exprs.append(category_expr(c).alias(name))
        feats.append(DetectionFeature(name, c.name, c.is_numeric))
    parent_cols = sorted({p for _, fk, _ in children for p in fk.parent_columns})
    key_alias = {p: f"__k{i}" for i, p in enumerate(parent_cols)}
    out = frames[table].select(*exprs, *[quoted(p).alias(key_alias[p]) for p in parent_cols])
    for child, fk, ccols in children:
        keys = [key_alias[p] for p in fk.parent_columns]
        not_null = F.lit(True)
        for c in fk.columns:
            not_null = not_null & quoted(c).isNotNull()
        label = child if sum(ch == child for ch, _, _ in children) == 1 else f"{child}[{', '.join(fk.columns)}]"
        count_col = f"f{len(feats)}"
        feats.append(DetectionFeature(count_col, f"{label}: children per row", True))
        aggs = [F.count(F.lit(1)).alias(count_col)]
        for cc in ccols:
            name = f"f{len(feats)}"
            aggs.append(F.avg(F.nanvl(numeric_expr(cc), F.lit(None).cast("double"))).alias(name))
            feats.append(DetectionFeature(name, f"{label}: mean {cc.name}", True))
        agg = (
            frames[child]
            .where(not_null)
            .groupBy(*[quoted(c).alias(k) for c, k in zip(fk.columns, keys, strict=True)])
            .agg(*aggs)
        )
        out = out.join(agg, on=keys, how="left").withColumn(count_col, F.coalesce(F.col(count_col), F.lit(0)))
    return out.select(*[f.column for f in feats]), feats


def _children(
    table: str, reals: dict[str, DataFrame], synths: dict[str, DataFrame], metadata: Metadata | None
) -> list[tuple[str, Any, list[ColumnKind]]]:
    """(child table, foreign key, the child's numerical columns) for every key pointing at `table`."""
    if metadata is None:
        return []
    out = []
    for child, fk in metadata.children_of(table):
        if child.name not in reals or child.name not in synths:
            continue
        ccols, _, _ = column_kinds(reals[child.name], synths[child.name], child)
        out.append((child.name, fk, [c for c in ccols if c.is_numeric][:_MAX_CHILD_COLUMNS]))
    return out


def _sample(real: DataFrame, synthetic: DataFrame, n_real: int, n_synth: int, m: int, seed: int) -> pd.DataFrame:
    """About `m` rows of each side in one job (see `privacy_metrics.privacy_sample`)."""
    from pyspark.sql import functions as F

    from pyspark_synth.validation.privacy_metrics import privacy_sample

    both = real.withColumn(LABEL, F.lit(0)).unionByName(synthetic.withColumn(LABEL, F.lit(1)))
    return privacy_sample(both, [n_real, n_synth], m, seed, side=LABEL)


# ------------------------------------------------------------------------ driver side
def encode_sample(
    sample: pd.DataFrame, feats: list[DetectionFeature], *, top_k: int = 20
) -> tuple[np.ndarray, list[str], list[int]]:
    """The sampled features as a float matrix.

    Numbers stay as they are, a null becomes a value one column range below the minimum and adds
    a null-flag column when the column has nulls; a category becomes the index of its rank among
    the pooled sample's top `top_k` categories, `top_k` for any other and `top_k + 1` for null.

    Returns:
        (matrix, a name per matrix column, the number of codes of each nominal column or 0)
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    nominal: list[int] = []
    for f in feats:
        x = sample[f.column]
        if f.numeric:
            v = x.astype("float64").to_numpy()
            isnull = ~np.isfinite(v)
            if isnull.all():
                v = np.zeros(len(v))
            elif isnull.any():
                lo, hi = np.min(v[~isnull]), np.max(v[~isnull])
                v = np.where(isnull, lo - 1.0 - (hi - lo), v)
            blocks.append(v)
            names.append(f.name)
            nominal.append(0)
            if isnull.any() and not isnull.all():
                blocks.append(isnull.astype("float64"))
                names.append(f"{f.name} is null")
                nominal.append(0)
        else:
            values = x.where(x.notna(), None)
            counts = values.dropna().value_counts()
            top = sorted(counts.index, key=lambda k: (-counts[k], str(k)))[:top_k]
            index = {v: i for i, v in enumerate(top)}
            k = len(top)
            codes = np.array([k + 1 if v is None else index.get(v, k) for v in values], dtype="float64")
            blocks.append(codes)
            names.append(f.name)
            nominal.append(k + 2)
    if not blocks:
        return np.zeros((len(sample), 0)), [], []
    return np.column_stack(blocks), names, nominal


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number per row, each label's rows shuffled and dealt round-robin (balanced folds)."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(labels), dtype="int64")
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        folds[rng.permutation(idx)] = np.arange(len(idx)) % k
    return folds


def _fit_folds(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, nominal: list[int], *, k: int, trees: int, depth: int, seed: int
) -> tuple[list[float], np.ndarray]:
    """Held-out accuracy of each fold's GBTClassifier, and the mean feature importances."""
    import pandas as pd
    from pyspark import inheritable_thread_target
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = SparkSession.active()
    names = [f"x{j}" for j in range(x.shape[1])]
    pdf = pd.DataFrame(x, columns=names)
    pdf["label"] = y.astype("float64")
    pdf["fold"] = folds
    df = spark.createDataFrame(pdf)
    cols = []
    for name, n in zip(names, nominal, strict=True):
        if n:
            meta = {"ml_attr": {"type": "nominal", "num_vals": n, "name": name}}
            cols.append(F.col(name).alias(name, metadata=meta))
        else:
            cols.append(F.col(name))
    df = df.select(*cols, "label", "fold")
    data = VectorAssembler(inputCols=names, outputCol="features").transform(df).select("features", "label", "fold")
    data = data.repartition(1).cache()
    max_bins = max([32, *nominal])

    @inheritable_thread_target(spark)
    def one(fold: int) -> tuple[float, np.ndarray]:
        gbt = GBTClassifier(maxIter=trees, maxDepth=depth, stepSize=0.3, maxBins=max_bins, seed=seed + fold)
        model = gbt.fit(data.where(F.col("fold") != fold))
        pred = model.transform(data.where(F.col("fold") == fold)).select("label", "prediction").toPandas()
        acc = float((pred["label"] == pred["prediction"]).mean()) if len(pred) else float("nan")
        return acc, model.featureImportances.toArray()

    from concurrent.futures import ThreadPoolExecutor

    try:
        with ThreadPoolExecutor(max_workers=min(k, 5)) as pool:
            results = list(pool.map(one, range(k)))
    finally:
        data.unpersist()
    accs = [a for a, _ in results]
    importances = np.mean([imp for _, imp in results], axis=0)
    return accs, importances


def detect_table(
    table: str,
    reals: dict[str, DataFrame],
    synths: dict[str, DataFrame],
    metadata: Metadata | None,
    counts: tuple[int, int],
    *,
    rows: int = 2000,
    folds: int = 5,
    trees: int = 10,
    depth: int = 3,
    top_k: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """The detection accuracy of one table (see the module docstring).

    Args:
        table: The table's name in `reals` and `synths`.
        reals: Real tables by name (children are looked up here).
        synths: Synthetic tables by name.
        metadata: Column kinds, keys and foreign keys (None: the table's own columns only).
        counts: Rows of the real and the synthetic table.
        rows: Most rows per side in the sample.
        folds: Folds of the cross-validation.
        trees: Boosting iterations of each GBTClassifier.
        depth: Depth of each tree.
        top_k: Categories per column kept as such.
        seed: Seed of the sample, the folds and the classifiers.

    Returns:
        {"accuracy", "folds" (accuracy per fold), "rows_per_side", "features" (the top features
        with their mean importance), "n_features", "children", "model", "seconds"}, or with
        "accuracy" None and a "reason" when there is nothing to learn from.
    """
    start = time.perf_counter()
    md_table = metadata.tables.get(table) if metadata is not None else None
    cols, _, _ = column_kinds(reals[table], synths[table], md_table)
    children = _children(table, reals, synths, metadata)
    base: dict[str, Any] = {"children": [c for c, _, _ in children], "model": (
        f"Spark ML GBTClassifier (maxIter={trees}, maxDepth={depth}, stepSize=0.3), {folds}-fold")}
    m = min(int(rows), *counts)
    need = max(2 * folds, 10)
    if not cols and not children:
        return {**base, "accuracy": None, "reason": "no columns to compare (only keys, ids or text) and no child tables"}
    if m < need:
        return {**base, "accuracy": None, "rows_per_side": m,
                "reason": f"too few rows: {m} a side, {folds}-fold detection needs at least {need}"}
    real, feats = _side_frame(table, reals, cols, children)
    synth, _ = _side_frame(table, synths, cols, children)
    sample = _sample(real, synth, counts[0], counts[1], m, seed)
    x, names, nominal = encode_sample(sample, feats, top_k=top_k)
    y = sample[LABEL].to_numpy()
    fold = stratified_folds(y, folds, seed)
    accs, imp = _fit_folds(x, y, fold, nominal, k=folds, trees=trees, depth=depth, seed=seed)
    order = np.argsort(-imp, kind="stable")[:_TOP_FEATURES]
    top = [{"name": names[j], "importance": float(imp[j])} for j in order if imp[j] > 0]
    acc = [a for a in accs if math.isfinite(a)]
    return {
        **base,
        "accuracy": float(np.mean(acc)) if acc else None,
        "folds": accs,
        "rows_per_side": int(min((y == 0).sum(), (y == 1).sum())),
        "features": top,
        "n_features": len(names),
        "seconds": time.perf_counter() - start,
    }


def detection_rows(
    name: str,
    reals: dict[str, DataFrame],
    synths: dict[str, DataFrame],
    metadata: Metadata | None,
    info: dict[str, Any],
    th: Thresholds,
    opts: dict[str, Any],
) -> tuple[list[MetricRow], dict[str, Any]]:
    """The detection row of one table (none when nothing was measured) and its report data; a
    lookup table (`info["lookup"]`) is not measured: it is copied by design."""
    counts = (int(info["rows"]["real"]), int(info["rows"]["synthetic"]))
    if info.get("lookup"):
        return [], {"accuracy": None, "reason": f"lookup table ({info['lookup']}): copied by design"}
    det = detect_table(name, reals, synths, metadata, counts, rows=opts["detection_rows"],
                       folds=opts["detection_folds"], trees=opts["detection_trees"], seed=opts["seed"])
    acc = det.get("accuracy")
    if acc is None:
        return [], det
    detail = {"folds": det["folds"], "rows_per_side": det["rows_per_side"], "top_features": det["features"]}
    row = MetricRow(name, "detection", "*", "detection_accuracy", value=acc, threshold=th.detection_accuracy,
                    passed=acc < th.detection_accuracy, score=min(1.0, 2 * (1 - acc)),
                    detail=json.dumps(detail))
    return [row], det
