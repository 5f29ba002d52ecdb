"""Generation steps for declarative pipelines (Spark Declarative Pipelines, Databricks DLT).

A pipeline's dataset definitions must return lazy DataFrames and must not change the session.
Under Spark Connect (`spark-pipelines run`, Spark 4.1+) two more rules apply, found on 4.3:

* a query function may not *analyze* a DataFrame (`ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION`),
  and `mapInPandas` / `applyInPandas` on a Connect DataFrame ask the server for their input's
  columns; so steps are *prepared* at module level, where analysis is allowed, and the query
  functions only return them;
* the Connect planner analyzes the input of `groupBy().applyInPandas()` when the flow is
  registered, before any dataset exists, so that input cannot read another dataset of the
  pipeline.

Hence a child step generates its rows from its parent's rows recomputed from the parent's step
(generation is deterministic: the same rows the parent dataset materializes) and then keeps the
children whose foreign key is in the parent's *materialized* table. The child's definition
thus takes the materialized parent as input (the pipeline materializes the parent first, and a
parent row removed downstream, e.g. by an expectation, takes its children with it)::

    customers = prepare_table(spark, "customers", 1000, seed=7)
    invoices = prepare_children(spark, "invoices", customers)

    @dp.materialized_view
    def customers():
        return customers_step()

On a classic session (Databricks DLT) the steps are built when the query function calls them,
where the pipeline runtime resolves the parent dataset. Nothing is fitted: the models come from
the registry (`spark.synth.registryRoot`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import MetadataError
from pyspark_synth.seeds import resolve_seed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.io.registry import ModelRegistry

__all__ = ["Step", "prepare_children", "prepare_table"]


def _is_connect(spark: Any) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


@dataclass
class Step:
    """A prepared generation step: call it (in the query function) to get the dataset's DataFrame.

    Attributes:
        table: The fitted table it generates.
        dataset: The pipeline dataset that materializes it (children read this).
        seed: Its root seed.
    """

    table: str
    dataset: str
    seed: int
    _rows: Callable[[], DataFrame] = field(repr=False)
    _output: Callable[[], DataFrame] = field(repr=False)
    _parent: Step | None = field(default=None, repr=False)  # the driving parent's step, for a child

    def __call__(self) -> DataFrame:
        """The DataFrame the dataset's query function returns."""
        return self._output()

    def rows(self) -> DataFrame:
        """The generated rows, recomputed without reading any pipeline dataset."""
        return self._rows()


def _once(build: Callable[[], DataFrame]) -> Callable[[], DataFrame]:
    cache: list[DataFrame] = []

    def get() -> DataFrame:
        if not cache:
            cache.append(build())
        return cache[0]

    return get


def prepare_table(
    spark: SparkSession,
    table: str,
    num_rows: int | None = None,
    *,
    seed: int | None = None,
    dataset: str | None = None,
    registry: ModelRegistry | str | None = None,
    version: int | None = None,
) -> Step:
    """A step generating a fitted table: the same rows as `sample_table(spark, table, num_rows, seed=seed)`.

    Args:
        spark: The pipeline's session.
        table: A fitted table in the registry.
        num_rows: Rows to generate; the original row count when None.
        seed: Root seed (give the same one to the children's steps).
        dataset: Name of the dataset that materializes it (default: `table`).
        registry: Registry or root; defaults to the session's.
        version: Model version; the latest when None.
    """
    from pyspark_synth.spark.sample_table import sample_table

    seed = resolve_seed(seed)
    rows = _once(lambda: sample_table(spark, table, num_rows, seed=seed, registry=registry, version=version))
    if _is_connect(spark):
        rows()  # built (and analyzed) now, at module level
    return Step(table, dataset or table, seed, rows, rows)


def prepare_children(
    spark: SparkSession,
    table: str,
    parent: Step,
    *,
    dataset: str | None = None,
    secondary: Mapping[str, Step] | None = None,
    registry: ModelRegistry | str | None = None,
) -> Step:
    """A step generating a child table for the rows of its parent's materialized dataset.

    With the parent step's seed the rows are those of `sample_children(spark, table, <parent
    rows>, seed=...)` (and of `sample_database`), restricted to children whose driving foreign
    key is in `parent.dataset` (children with a null key are kept).

    Args:
        spark: The pipeline's session.
        table: A child table fitted with `fit_database`.
        parent: The step of its driving parent table.
        dataset: Name of the dataset that materializes it (default: `table`).
        secondary: `{parent table: step}` for the table's other foreign keys.
        registry: Registry or root; defaults to the session's.

    Raises:
        MetadataError: The table was fitted without a driving parent, or `parent` is another table.
    """
    from pyspark.sql import functions as F

    from pyspark_synth.io.registry import registry_for
    from pyspark_synth.spark.checkpoints import plans_only
    from pyspark_synth.spark.sample_database import sample_children

    reg = registry_for(spark, registry)
    spec = reg.get(table).spec
    driving = spec.driving
    if driving is None:
        raise MetadataError(f"Table '{table}' was fitted without a driving parent; generate it with prepare_table().")
    if driving.parent_table != parent.table:
        raise MetadataError(f"Table '{table}' is generated from '{driving.parent_table}', but the parent step "
                            f"generates '{parent.table}'. Pass the step of '{driving.parent_table}'.")
    needed = [s.parent_table for s in spec.secondary if s.parent_table != parent.table]
    missing = [t for t in needed if t not in (secondary or {})]
    if missing:
        raise MetadataError(f"Table '{table}' also references {missing}: pass their steps in secondary={{...}}")
    grand = parent._parent if spec.inherited_context else None
    if spec.inherited_context and (grand is None or grand.table != spec.inherited_context[0].table):
        gp = spec.inherited_context[0].table
        raise MetadataError(f"Table '{table}' is conditioned on columns of '{gp}', the parent's parent: make the "
                            f"step of '{parent.table}' a child step of the step of '{gp}'")
    fk_cols, parent_cols = list(driving.columns), list(driving.parent_columns)
    columns = spec.columns

    def rows() -> DataFrame:
        others = {t: (secondary or {})[t].rows() for t in needed}
        with plans_only():  # a pipeline's definitions may not run jobs
            return sample_children(spark, table, parent.rows(), seed=parent.seed, registry=reg,
                                   secondary_parents=others or None,
                                   grandparents=grand.rows() if grand is not None else None)

    def output() -> DataFrame:
        keys = spark.read.table(parent.dataset).select(
            *[F.col(f"`{p}`").alias(f"__pk{i}") for i, p in enumerate(parent_cols)]).distinct()
        cond = [F.col(f"`{c}`") == F.col(f"__pk{i}") for i, c in enumerate(fk_cols)]
        no_key = F.lit(False)
        for c in fk_cols:
            no_key = no_key | F.col(f"`{c}`").isNull()
        hit = keys.withColumn("__hit", F.lit(True))
        out = cached_rows().join(hit, on=cond, how="left").where(F.col("__hit").isNotNull() | no_key)
        # select, not drop: the Connect planner analyzes a drop's input when the flow is registered
        return out.select(*[F.col(f"`{c}`") for c in columns])

    cached_rows = _once(rows)
    out = _once(output)
    if _is_connect(spark):
        out()  # built now, at module level
    return Step(table, dataset or table, parent.seed, cached_rows, out, parent)
