"""The typed, versioned spec of a fitted table and database: everything sampling does, as JSON.

What fitting learned about a table besides its model (how its keys are made, which parent drives
it and with which law of children, the laws of its other foreign keys, self-references, free-text
models, the parent columns its model is conditioned on, its schema and statistics) is one frozen
`TableSpec`, written beside the model as JSON and validated when it is read. A `DatabaseSpec`
holds the specs of a database's tables in generation order and explains, before any Spark job,
what sampling will do (`DatabaseSpec.explain`).

Specs are versioned (`SPEC_VERSION`): a spec from a newer library is refused with a message that
says what to do, an older one is migrated when it is read (`migrate_manifest` reads the untyped
manifests written before specs existed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pyspark_synth._version import __version__
from pyspark_synth.errors import DataError, ModelVersionError, SerializationError
from pyspark_synth.metadata import Metadata, Table, format_validation_error
from pyspark_synth.relational.inherited import InheritedContext
from pyspark_synth.relational.primary_keys import KeySpec

__all__ = [
    "COPY_BACKEND",
    "EMPTY_BACKEND",
    "CopiedRows",
    "SPEC_VERSION",
    "ColumnStats",
    "ColumnPrivacy",
    "CountLawSpec",
    "DatabaseSpec",
    "DrivingRelation",
    "FakeColumnSpec",
    "InheritedContext",
    "LearnedKey",
    "ModelReference",
    "SecondaryRelation",
    "SelfReference",
    "TableSpec",
    "TextColumnSpec",
    "check_num_rows",
    "migrate_manifest",
    "schema_fields",
]

# 1: the redesign's spec; 2: `inherited_context` (grandparents' context columns); 3: `copied` (lookup
# tables copied as they are, backend "copy"). A library reads
# every version up to its own (fields added since default to what older specs meant) and refuses a
# newer one with an upgrade message, not a validation error on the unknown field.
SPEC_VERSION = 3
# the backend of a table that had no rows when it was fitted: no model, an empty synthetic copy
EMPTY_BACKEND = "empty"
# the backend of a lookup table copied as it is (a small code list, `validation.lookups`): no
# model; its rows are in the spec (`TableSpec.copied`) and come back exactly, keys included
COPY_BACKEND = "copy"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountLawSpec(_Frozen):
    """An empirical law of non-negative counts (see `models.laws.CountLaw`)."""

    values: tuple[int, ...]
    cumprobs: tuple[float, ...]

    @model_validator(mode="after")
    def _consistent(self) -> CountLawSpec:
        if not self.values or len(self.values) != len(self.cumprobs):
            raise ValueError(f"a count law needs as many cumulative probabilities as values, got "
                             f"{len(self.values)} values and {len(self.cumprobs)} probabilities")
        if any(v < 0 for v in self.values) or list(self.values) != sorted(set(self.values)):
            raise ValueError("a count law's values must be distinct non-negative counts in ascending order")
        if any(b < a for a, b in zip(self.cumprobs, self.cumprobs[1:], strict=False)) or not math.isclose(
                self.cumprobs[-1], 1.0, abs_tol=1e-9):
            raise ValueError("a count law's cumulative probabilities must rise to 1")
        return self

    def law(self) -> Any:
        """The `CountLaw` to draw from."""
        from pyspark_synth.models.laws import CountLaw

        return CountLaw.from_dict(self.model_dump())

    @property
    def mean(self) -> float:
        """Expected count."""
        prev = 0.0
        total = 0.0
        for v, c in zip(self.values, self.cumprobs, strict=True):
            total += v * (c - prev)
            prev = c
        return total


class DrivingRelation(_Frozen):
    """The foreign key whose parent drives the table: each parent draws its number of children.

    The counts come from one of two places (`counts`): a linkage model (children per parent given
    the parent's context; the table's model then draws each child row), or the table's own
    sequence model (`"sequence"`: the `autoregressive_sequential` backend draws each parent's
    children as one sequence, its length included).

    Attributes:
        columns: The child's key columns.
        parent_table: The driving parent.
        parent_columns: The parent's key columns.
        linkage: The fitted `LinkageModel` state (children per parent given the parent's context);
            None when the sequence model draws the counts.
        counts: Where the children per parent come from: "linkage" or "sequence".
        children: The real law of children per parent (a full-data histogram, zeros included);
            set for "sequence", where it gives the expected size and what `explain` prints.
        null_rate: Share of real rows whose key is null.
        nulled_columns: The key columns set to null at that rate (columns another key shares keep
            their values).
    """

    columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    linkage: dict[str, Any] | None = None
    counts: Literal["linkage", "sequence"] = "linkage"
    children: CountLawSpec | None = None
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    nulled_columns: tuple[str, ...] = ()

    @field_validator("linkage")
    @classmethod
    def _loadable(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        from pyspark_synth.relational.linkage import LinkageModel

        if v is None:
            return v
        try:
            LinkageModel.from_dict(v)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the linkage model state is not valid ({type(exc).__name__}: {exc})") from None
        return v

    @model_validator(mode="after")
    def _source(self) -> DrivingRelation:
        if self.counts == "linkage" and self.linkage is None:
            raise ValueError("a driving relation with counts 'linkage' needs the linkage model state (linkage)")
        if self.counts == "sequence" and (self.linkage is not None or self.children is None):
            raise ValueError("a driving relation with counts 'sequence' takes its counts from the sequence model: it "
                             "needs the real law of children per parent (children) and no linkage model")
        return self

    @property
    def sequential(self) -> bool:
        """True when the table's sequence model draws each parent's children, their number included."""
        return self.counts == "sequence"

    def linkage_model(self) -> Any:
        """The `LinkageModel` to draw child counts from.

        Raises:
            DataError: The counts come from the sequence model (there is no linkage model).
        """
        from pyspark_synth.relational.linkage import LinkageModel

        if self.linkage is None:
            raise DataError(f"The driving key {self.label} has no linkage model: its children per parent come from "
                            "the table's sequence model")
        return LinkageModel.from_dict(self.linkage)

    @property
    def mean_children(self) -> float:
        """Average children per parent in the training data."""
        if self.children is not None and self.linkage is None:
            return float(self.children.mean)
        return float(self.linkage_model().mean_count)

    @property
    def children_range(self) -> tuple[int, int]:
        """The fewest and the most children of one real parent."""
        if self.children is not None and self.linkage is None:
            return int(self.children.values[0]), int(self.children.values[-1])
        values = self.linkage_model().global_.values
        return int(values[0]), int(values[-1])

    @property
    def expected_children(self) -> float:
        """Rows of the child table per parent row: the children with a key, plus the rows whose
        whole key is null (`sample_children` adds those rows; a table sequence-drawn keeps its
        null draw among the children)."""
        mean = self.mean_children
        whole = set(self.nulled_columns or self.columns) >= set(self.columns)
        if self.sequential or not whole or not 0 < self.null_rate < 1:
            return mean
        return mean / (1.0 - self.null_rate)

    @property
    def label(self) -> str:
        """A readable name such as "origin -> airports.faa"."""
        return _key_label(self.columns, self.parent_table, self.parent_columns)


class SecondaryRelation(_Frozen):
    """Another foreign key to a parent: its children per parent follow `law`.

    Attributes:
        unique_pairs: The table's primary key is made of this key and the driving key (a link
            table): no two rows may share both keys.
    """

    columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    law: CountLawSpec
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    nulled_columns: tuple[str, ...] = ()
    unique_pairs: bool = False

    @property
    def label(self) -> str:
        """A readable name such as "tailnum -> planes.tailnum"."""
        return _key_label(self.columns, self.parent_table, self.parent_columns)


class SelfReference(_Frozen):
    """A foreign key to the table itself, filled with earlier generated rows."""

    columns: tuple[str, ...]
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class TextColumnSpec(_Frozen):
    """A free-text column's word model (see `models.text.TextModel`), or, with kind "format", a
    format model (`models.text.FormatModel`: `words` are its formats; with `runs`, shapes whose run
    marks take lengths of those laws, per character class; with `words_per_value`, words' shapes
    strung together by that law; with `alphabets`, the letters its classes are drawn from, where
    the column's shared letters are not ASCII's) of a scrubbed column or of one without a shared word."""

    column: str
    min_rows: int
    max_words: int
    null_rate: float
    words: tuple[str, ...]
    cumprobs: tuple[float, ...]
    lengths: CountLawSpec
    kind: Literal["words", "format"] = "words"
    runs: dict[str, CountLawSpec] | None = None
    words_per_value: CountLawSpec | None = None
    alphabets: dict[str, str] | None = None


class ColumnStats(_Frozen):
    """Full-data statistics of a column (from one Spark aggregation)."""

    null_rate: float = 0.0
    min: float | int | str | None = None
    max: float | int | str | None = None


class ColumnPrivacy(_Frozen):
    """What the privacy step did to one column before the model saw the data (no values, only the rule).

    Attributes:
        column: The column.
        action: "drop", "mask", "hash", "custom" (the model learned the scrubbed values) or "fake"
            (the column was not learned; its values are made at sampling, see `FakeColumnSpec`).
        kind: The PII kind the rule or the detection names, if any.
        origin: Where the rule came from: the metadata (`Column.pii`), the `PrivacyConfig`, or
            detection (`pii="suggest"` applied the detection's suggested action).
        confidence: The detection's confidence (detected rules only).
        key: For hashes: "configured" (a key from the argument, conf or environment: hashes are
            stable across fits) or "per-fit" (a random key of this fit, never stored).
    """

    column: str
    action: Literal["drop", "mask", "hash", "custom", "fake"]
    kind: str | None = None
    origin: Literal["metadata", "config", "detected"]
    confidence: float | None = None
    key: Literal["configured", "per-fit"] | None = None

    def describe(self) -> str:
        """A short readable form ("email hashed (detected email, per-fit key)")."""
        verb = {"drop": "dropped", "mask": "masked", "hash": "hashed", "custom": "scrubbed by a custom function",
                "fake": "faked at sampling"}[self.action]
        why = [f"detected {self.kind}" if self.origin == "detected" else f"{self.origin} rule"]
        if self.key == "per-fit":
            why.append("per-fit key")
        return f"{self.column} {verb} ({', '.join(why)})"


class FakeColumnSpec(_Frozen):
    """A column that is not learned: sampling makes its values with Faker from the generated row.

    A fake is a pure function of (sampling seed, `entity`, the row's `entity_columns` values, kind,
    locale): the same generated entity gets the same fake wherever it appears. A table's own fakes
    use its primary key (the row id without one); a column whose original values were those of a
    parent's faked column through the driving foreign key (`orders.buyer_email` = the e-mail of the
    customer `customer_id` points at) uses that foreign key and the parent's entity, so it gets
    the parent row's fake.

    Attributes:
        column: The output column.
        kind: The fake kind (see `privacy.fake.FAKE_KINDS`).
        entity: "table.column" whose fakes these are (this column's, or the parent column's).
        entity_columns: Columns of the generated row that identify the entity (the primary key,
            or the driving foreign key); none: the row id.
        locale: A fixed Faker locale for every row.
        locale_column: A generated column of this table naming each row's country or locale.
        context_locale: A context column (a column of the driving parent's generated row) naming it.
        null_rate: Share of real rows that were null (the same share of fakes is null).
        date_format: For dates (of birth) written as text or integers: the real column's format
            (see `transformers.dateformats`), in which the fakes are written.
    """

    column: str
    kind: str
    entity: str
    entity_columns: tuple[str, ...] = ()
    locale: str | None = None
    locale_column: str | None = None
    context_locale: str | None = None
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    date_format: str | None = None

    @model_validator(mode="after")
    def _one_locale(self) -> FakeColumnSpec:
        given = [x for x in (self.locale, self.locale_column, self.context_locale) if x is not None]
        if len(given) > 1:
            raise ValueError(f"fake column '{self.column}': give one of locale, locale_column and context_locale, "
                             f"got {given}")
        if self.entity.count(".") < 1:
            raise ValueError(f"fake column '{self.column}': entity must be 'table.column', got {self.entity!r}")
        return self


class CopiedRows(_Frozen):
    """The rows of a lookup table copied into the synthetic data as they are (at most a few hundred).

    Attributes:
        columns: The table's columns, in the output schema's order.
        rows: One tuple per row, values as JSON (dates and timestamps as ISO text, restored to the
            schema's types by the kernel's coercion).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @model_validator(mode="after")
    def _rectangular(self) -> CopiedRows:
        bad = [i for i, r in enumerate(self.rows) if len(r) != len(self.columns)]
        if bad:
            raise ValueError(f"copied rows {bad[:5]} do not have one value per column {list(self.columns)}")
        return self

    def frame(self, row_ids: Any = None) -> Any:
        """The rows (those at positions `row_ids`, by default all) as a pandas DataFrame."""
        import numpy as np
        import pandas as pd

        pdf = pd.DataFrame(list(self.rows), columns=list(self.columns), dtype=object)
        if row_ids is None:
            return pdf
        return pdf.iloc[np.asarray(row_ids, dtype=np.int64)].reset_index(drop=True)


class LearnedKey(_Frozen):
    """A foreign key to a copied lookup table, learned as columns of the child's model
    (`spark.lookup_copies`), and the real children of each code.

    The model draws the codes with the child's other columns; sampling then keeps each code's
    children within the real range (`spark.lookup_copies.bounded_codes`), as every other
    parent's children follow their real law: a code the model draws too rarely (or never: codes
    of fewer rows than the rare-value threshold are not learned) or too often gets rows moved
    from or to the codes with the most to spare.

    Attributes:
        columns: The child's key columns.
        codes: Every key of the copied lookup table (JSON values, in the order of `columns`).
        children: Real child rows of each code (aligned with `codes`). Empty (a spec of
            version 3 written before these were kept): the model's draws are left as they are.
    """

    columns: tuple[str, ...]
    codes: tuple[tuple[Any, ...], ...] = ()
    children: tuple[int, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_columns(cls, data: Any) -> Any:
        """A plain tuple of column names (how version-3 specs first wrote a learned key)."""
        if isinstance(data, (list, tuple)) and all(isinstance(c, str) for c in data):
            return {"columns": tuple(data)}
        return data

    @model_validator(mode="after")
    def _aligned(self) -> LearnedKey:
        if len(self.codes) != len(self.children):
            raise ValueError(f"{len(self.codes)} codes but {len(self.children)} child counts")
        if any(len(c) != len(self.columns) for c in self.codes):
            raise ValueError(f"a code does not have one value per key column {list(self.columns)}")
        if any(n < 0 for n in self.children):
            raise ValueError("a code has a negative number of children")
        return self


class ModelReference(_Frozen):
    """Where the table's model archive is and what it must hold (checked before it is used)."""

    file: str = "model.synth"
    size: int = Field(ge=0)
    sha256: str


def schema_fields(spark_schema: str) -> tuple[tuple[str, str], ...]:
    """`(name, type name)` of each field of a Spark schema in its JSON form, without pyspark.

    Type names are those of `DataType.typeName()` ('integer', 'long', 'string', 'decimal', ...).

    Raises:
        ValueError: The text is not the JSON of a Spark struct type.
    """
    try:
        data = json.loads(spark_schema)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the Spark schema is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "struct" or not isinstance(data.get("fields"), list):
        raise ValueError("the Spark schema is not a struct type's JSON (expected {'type': 'struct', 'fields': [...]})")
    out = []
    for f in data["fields"]:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or "type" not in f:
            raise ValueError(f"the Spark schema has a field without a name or a type: {f!r}")
        t = f["type"]
        name = t.get("type") if isinstance(t, dict) else str(t).split("(")[0]
        out.append((f["name"], str(name)))
    return tuple(out)


class TableSpec(_Frozen):
    """Everything needed to generate one fitted table, besides the model's own weights.

    Attributes:
        spec_version: Format of this spec (`SPEC_VERSION` when written by this library).
        name: The table.
        backend: The model backend ("copula", "ctgan", a user's, or "empty").
        library_version: The pyspark_synth version that fitted it.
        seed: The root seed of the fit.
        table: The table's metadata as fitted (columns, semantic types, keys, constraints).
        spark_schema: The output schema (a Spark StructType's JSON).
        row_count: Rows of the real table.
        training_rows: Rows the model was trained on.
        stats: Full-data statistics per column.
        keys: How primary-key columns are made from row ids.
        context: Parent columns the model is conditioned on (of the driving parent, or of its
            parent: see `inherited_context`).
        inherited_context: The context columns that are the driving parent's parent's columns.
        driving: The driving relation, None for a root table.
        secondary: The other foreign keys to parents.
        self_refs: Foreign keys to the table itself.
        text: Free-text column models.
        model: The model archive, None for an empty table.
        model_report: The backend's own account of its fit (epochs run, early stop, what its
            defaults chose), when it gives one.
        notes: What fitting chose or found for this table.
        privacy: What the privacy step did to each PII column before the model saw the data.
        fakes: Columns not learned but made at sampling (they are in `spark_schema`, not in `table`).
        copied: The rows of a lookup table copied as it is (backend "copy"), None otherwise.
        learned_keys: Foreign keys to copied lookup tables that the model learns as its own
            columns (`spark.lookup_copies`): they are in `table` as plain columns.
    """

    spec_version: int = SPEC_VERSION
    name: str
    backend: str
    library_version: str = __version__
    seed: int
    table: Table
    spark_schema: str
    row_count: int = Field(ge=0)
    training_rows: int = Field(ge=0)
    stats: dict[str, ColumnStats] = Field(default_factory=dict)
    keys: tuple[KeySpec, ...] = ()
    context: tuple[str, ...] = ()
    inherited_context: tuple[InheritedContext, ...] = ()
    driving: DrivingRelation | None = None
    secondary: tuple[SecondaryRelation, ...] = ()
    self_refs: tuple[SelfReference, ...] = ()
    text: tuple[TextColumnSpec, ...] = ()
    model: ModelReference | None = None
    model_report: dict[str, Any] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()
    privacy: tuple[ColumnPrivacy, ...] = ()
    fakes: tuple[FakeColumnSpec, ...] = ()
    copied: CopiedRows | None = None
    learned_keys: tuple[LearnedKey, ...] = ()

    @field_validator("spark_schema")
    @classmethod
    def _schema(cls, v: str) -> str:
        schema_fields(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TableSpec:
        names = [n for n, _ in self.fields]
        faked = {f.column for f in self.fakes}
        if len(faked) != len(self.fakes):
            raise ValueError("a column is faked more than once")
        learned = [n for n in names if n not in faked]
        if self.table.columns and learned != self.table.column_names:
            raise ValueError(f"the schema's columns {names} (less the faked ones {sorted(faked)}) differ from the "
                             f"table's columns {self.table.column_names}")
        known = set(names)
        used = [k.column for k in self.keys] + [c for r in self.relations for c in r.columns] + [t.column for t in self.text]
        used += [c for key in self.learned_keys for c in key.columns]
        used += [c for f in self.fakes for c in (f.column, *f.entity_columns)]
        missing = sorted({c for c in used if c not in known})
        if missing:
            raise ValueError(f"keys, relations, text models or fakes name columns {missing} that the schema does not "
                             "have")
        for f in self.fakes:
            if f.locale_column is not None and (f.locale_column not in known or f.locale_column in faked):
                raise ValueError(f"fake column '{f.column}' takes its locale from '{f.locale_column}', which is not a "
                                 "generated column of the table")
            if f.context_locale is not None and f.context_locale not in self.context:
                raise ValueError(f"fake column '{f.column}' takes its locale from context column "
                                 f"'{f.context_locale}', which is not one of {list(self.context)}")
        inherited = [i.name for i in self.inherited_context]
        if len(set(inherited)) != len(inherited) or not set(inherited) <= set(self.context):
            raise ValueError(f"the inherited context columns {inherited} must be distinct context columns "
                             f"(context: {list(self.context)})")
        if inherited and self.driving is None:
            raise ValueError("a table without a driving parent has no grandparent to inherit context from")
        if self.driving is not None and self.driving.linkage is not None:
            linked = list(self.driving.linkage.get("columns", []))
            if linked != list(self.context):
                raise ValueError(f"the context columns {list(self.context)} differ from the linkage model's {linked}")
        if self.driving is not None and self.driving.sequential and self.backend == EMPTY_BACKEND:
            raise ValueError("an empty table has no sequence model to draw its children per parent from")
        if (self.backend == COPY_BACKEND) != (self.copied is not None):
            raise ValueError(f"backend '{COPY_BACKEND}' and copied rows go together (backend '{self.backend}', "
                             f"{'with' if self.copied is not None else 'without'} copied rows)")
        if self.copied is not None:
            if list(self.copied.columns) != names:
                raise ValueError(f"the copied rows' columns {list(self.copied.columns)} differ from the schema's {names}")
            if len(self.copied.rows) != self.row_count:
                raise ValueError(f"{len(self.copied.rows)} copied rows for a table of {self.row_count} real rows")
            if self.driving is not None or self.keys:
                raise ValueError("a copied table has no driving parent and no keys made from row ids")
        elif self.backend != EMPTY_BACKEND and self.model is None:
            raise ValueError(f"backend '{self.backend}' needs a model reference")
        return self

    @cached_property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """`(column, Spark type name)` of the output, in order (parsed once per spec)."""
        return schema_fields(self.spark_schema)

    @property
    def columns(self) -> list[str]:
        """The output columns, in order."""
        return [n for n, _ in self.fields]

    @property
    def relations(self) -> list[DrivingRelation | SecondaryRelation | SelfReference]:
        """Every foreign key the spec fills: driving, secondary, self-references."""
        return ([self.driving] if self.driving is not None else []) + [*self.secondary, *self.self_refs]

    @property
    def is_empty(self) -> bool:
        """True when the table had no rows when fitted (its synthetic copy is empty)."""
        return self.backend == EMPTY_BACKEND

    @property
    def is_copied(self) -> bool:
        """True for a lookup table copied as it is (its rows are `copied`)."""
        return self.copied is not None

    def copied_rows(self, n: int, where: str) -> int:
        """`n`, the rows asked of the table, checked: a copied table has exactly its real rows.

        Raises:
            DataError: The table is copied and `n` is another number of rows.
        """
        if self.is_copied and n != self.row_count:
            raise DataError(f"{where}: table '{self.name}' is a lookup table copied as it is ({self.row_count} rows, "
                            f"its real ones); it cannot give {n} rows. Ask for {self.row_count} (or leave num_rows "
                            "out), or fit with copy_lookups=False (or a list of the lookup tables to copy without "
                            f"'{self.name}') to model it as any table.")
        return n

    # ------------------------------------------------------------------------- JSON
    def to_json(self, *, indent: int | None = None) -> str:
        """The spec as JSON text (what is written beside the model)."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "table spec") -> TableSpec:
        """Read and validate a spec written by `to_json` (or by an older library version).

        Raises:
            ModelVersionError: The spec is newer than this library understands.
            SerializationError: The text is not a valid spec (says what is wrong, and where).
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"{where} is not JSON ({exc}). Refit the table, or load an earlier version.") from None
        return cls.from_dict(data, where=where)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "table spec") -> TableSpec:
        """Validate a spec from its JSON dictionary (see `from_json`)."""
        if not isinstance(data, dict):
            raise SerializationError(f"{where} is not a JSON object. Refit the table, or load an earlier version.")
        version = data.get("spec_version", SPEC_VERSION)
        if not isinstance(version, int) or version > SPEC_VERSION:
            raise ModelVersionError(
                f"{where} has spec version {version!r} (written by pyspark_synth {data.get('library_version')}); this is "
                f"pyspark_synth {__version__}, which reads spec versions up to {SPEC_VERSION}. Upgrade pyspark_synth to "
                "sample it, or refit the table with this version.")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SerializationError(f"{where} is not a valid table spec: {format_validation_error(exc)}. Refit the "
                                     "table, or load an earlier version.") from None


def _key_label(columns: tuple[str, ...], parent: str, parent_columns: tuple[str, ...]) -> str:
    cols = columns[0] if len(columns) == 1 else "(" + ", ".join(columns) + ")"
    pcols = parent_columns[0] if len(parent_columns) == 1 else "(" + ", ".join(parent_columns) + ")"
    return f"{cols} -> {parent}.{pcols}"


def check_num_rows(value: Any, what: str) -> int:
    """A row count as an int: Python and numpy integers are accepted; floats, booleans and
    negative numbers are refused with the same message everywhere.

    Raises:
        DataError: `value` is not a whole number of rows.
    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DataError(f"{what} must be an integer number of rows, got {type(value).__name__}: {value!r}")
    if value < 0:
        raise DataError(f"{what} must be 0 or more, got {value}")
    return int(value)


class DatabaseSpec(_Frozen):
    """The specs of a fitted database's tables, in generation order (every parent first)."""

    spec_version: int = SPEC_VERSION
    order: tuple[str, ...]
    tables: dict[str, TableSpec]

    @model_validator(mode="after")
    def _complete(self) -> DatabaseSpec:
        if set(self.order) != set(self.tables) or len(set(self.order)) != len(self.order):
            raise ValueError(f"the generation order {list(self.order)} must name each table once: {sorted(self.tables)}")
        seen: set[str] = set()
        for name in self.order:
            spec = self.tables[name]
            for rel in [*([spec.driving] if spec.driving else []), *spec.secondary]:
                if rel.parent_table not in seen:
                    raise ValueError(f"table '{name}' comes before its parent '{rel.parent_table}' in the order")
            for inh in spec.inherited_context:
                if inh.table not in seen:
                    raise ValueError(f"table '{name}' comes before '{inh.table}', whose column '{inh.column}' is "
                                     "its context, in the order")
            seen.add(name)
        return self

    @classmethod
    def from_tables(cls, metadata: Metadata, specs: Mapping[str, TableSpec]) -> DatabaseSpec:
        """The database of `metadata` with each table's fitted spec, in the metadata's generation order."""
        from pyspark_synth.relational.plan import build_plan

        plan = build_plan(metadata)
        try:
            return cls(order=plan.order, tables={t: specs[t] for t in plan.order})
        except ValidationError as exc:
            raise SerializationError(f"The fitted tables do not form the database: {format_validation_error(exc)}. "
                                     "Refit the database with fit_database().") from None

    @property
    def roots(self) -> list[str]:
        """Tables generated without a driving parent."""
        return [t for t in self.order if self.tables[t].driving is None]

    def expected_rows(self, num_rows: Mapping[str, Any] | None = None, *, scale: float | None = None) -> dict[str, float]:
        """Expected rows per table: roots as asked (else their real size times `scale`), children
        the expected parents times their mean children per parent.

        Raises:
            DataError: `num_rows` names unknown or child tables, or a size or `scale` is invalid.
        """
        sizes = dict(num_rows or {})
        unknown = [t for t in sizes if t not in self.tables]
        if unknown:
            raise DataError(f"num_rows names unknown tables {unknown}. Tables: {list(self.order)}")
        children = [t for t in sizes if self.tables[t].driving is not None]
        if children:
            raise DataError(f"num_rows can only set root tables; {children} get their size from their parents. "
                            f"Roots: {self.roots}. Use scale= to grow or shrink everything.")
        for t, n in sizes.items():
            sizes[t] = check_num_rows(n, f"num_rows for table '{t}'")
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale >= 0):
            raise DataError(f"scale must be a number of 0 or more, got {scale!r}")
        factor = 1.0 if scale is None else float(scale)
        out: dict[str, float] = {}
        for name in self.order:
            spec = self.tables[name]
            if spec.is_empty and name not in sizes:
                out[name] = 0.0
            elif spec.is_copied:  # a code list keeps its rows whatever the scale
                out[name] = float(spec.copied_rows(sizes.get(name, spec.row_count), "sample_database"))
            elif spec.driving is None:
                out[name] = float(sizes.get(name, round(spec.row_count * factor)))
            else:
                out[name] = out[spec.driving.parent_table] * spec.driving.expected_children
        return out

    def explain(self, num_rows: Mapping[str, Any] | None = None, *, scale: float | None = None) -> str:
        """What `sample_database` will do, as text: tables in order, from which parents, with
        which expected row counts, models and key laws. Runs no Spark job."""
        expected = self.expected_rows(num_rows, scale=scale)
        lines = [f"{len(self.order)} tables, generated in this order:"]
        for i, name in enumerate(self.order, 1):
            spec = self.tables[name]
            model = ("no model: empty when fitted" if spec.is_empty else "no model: a lookup table copied as it is"
                     if spec.is_copied else f"{spec.backend} model")
            head = f"{i:>3}. {name}: ~{expected[name]:,.0f} rows ({spec.row_count:,} real; {model})"
            lines.append(head)
            if spec.is_copied:
                lines.append("       copied: its real rows, keys included, whatever num_rows or scale")
            elif spec.driving is None:
                lines.append("       root: its size is asked for (num_rows) or its real size times scale")
            else:
                d = spec.driving
                ctx = f", conditioned on {list(spec.context)}" if spec.context else ""
                if spec.inherited_context:
                    ctx += " (" + ", ".join(f"{i.name} = {i.table}.{i.column}" for i in spec.inherited_context) + ")"
                if d.sequential:
                    law = d.children
                    zero = law.cumprobs[0] if law.values[0] == 0 else 0.0
                    lines.append(f"       driven by {d.label}: each of ~{expected[d.parent_table]:,.0f} parents draws its "
                                 f"children as one sequence, their number included, from the {spec.backend} model "
                                 f"(real: {law.values[0]}..{law.values[-1]} per parent, mean {d.mean_children:.3g}, "
                                 f"{zero:.1%} without children){ctx}")
                else:
                    lines.append(f"       driven by {d.label}: each of ~{expected[d.parent_table]:,.0f} parents draws "
                                 f"its children (mean {d.mean_children:.3g}){ctx}")
            for key in spec.learned_keys:
                bounds = (f", {min(key.children)}..{max(key.children)} children per code (real), kept in that range"
                          if key.children else "")
                lines.append(f"       key ({', '.join(key.columns)}): a column of its {spec.backend} model (the "
                             f"{len(key.codes) or ''}{' ' if key.codes else ''}codes of a copied lookup table){bounds}")
            for s in spec.secondary:
                law = s.law
                lines.append(f"       key {s.label}: {law.values[0]}..{law.values[-1]} children per parent "
                             f"(mean {law.mean:.3g}), {s.null_rate:.1%} null" + (", unique pairs" if s.unique_pairs else ""))
            for r in spec.self_refs:
                lines.append(f"       self-reference {', '.join(r.columns)}: an earlier row, {r.null_rate:.1%} null")
            if spec.keys:
                lines.append("       keys from row ids: " + ", ".join(f"{k.column} ({k.kind})" for k in spec.keys))
            if spec.text:
                lines.append("       free text: " + ", ".join(t.column for t in spec.text))
            if spec.privacy:
                lines.append("       privacy: " + "; ".join(p.describe() for p in spec.privacy))
            linked = [f for f in spec.fakes if f.entity != f"{name}.{f.column}"]
            if linked:
                lines.append("       same fakes as: " + ", ".join(
                    f"{f.column} = {f.entity} via {', '.join(f.entity_columns)}" for f in linked))
        return "\n".join(lines)


def migrate_manifest(manifest: Mapping[str, Any], *, model_size: int | None = None,
                     model_sha256: str | None = None) -> TableSpec:
    """The spec of a model saved before specs existed (an untyped manifest with an `extra` dict).

    Raises:
        SerializationError: The manifest lacks what a spec needs.
    """
    where = f"manifest of table '{manifest.get('table')}' v{manifest.get('version')}"
    try:
        extra = dict(manifest.get("extra") or {})
        rel = dict(extra.get("relational") or {})
        table = extra.get("table") or {"name": manifest["table"]}
        drv = rel.get("driving")
        spec = {
            "spec_version": SPEC_VERSION,
            "name": manifest["table"],
            "backend": manifest["backend"],
            "library_version": manifest.get("library_version", "unknown"),
            "seed": manifest["seed"],
            "table": table,
            "spark_schema": manifest["spark_schema"],
            "row_count": manifest["row_count"],
            "training_rows": manifest["training_rows"],
            "stats": (extra.get("stats") or {}).get("columns", {}),
            "keys": extra.get("keys", []),
            "context": rel.get("context", []),
            "driving": None if not drv else {
                "columns": drv["columns"], "parent_table": drv["parent_table"], "parent_columns": drv["parent_columns"],
                "linkage": drv["linkage"], "null_rate": drv.get("null_rate", 0.0),
                "nulled_columns": _legacy_nulled(drv, rel)},
            "secondary": [{"columns": s["columns"], "parent_table": s["parent_table"],
                           "parent_columns": s["parent_columns"], "law": s["law"], "null_rate": s.get("null_rate", 0.0),
                           "nulled_columns": _legacy_nulled(s, rel)} for s in rel.get("secondary", [])],
            "self_refs": [{"columns": r["columns"], "null_rate": r.get("null_rate", 0.0)} for r in rel.get("self_refs", [])],
            "text": extra.get("text", []),
            "model": None if manifest["backend"] == EMPTY_BACKEND else {
                "file": "model.synth", "size": model_size or 0, "sha256": model_sha256 or ""},
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise SerializationError(f"The {where} lacks {exc} and cannot be read as a table spec. Refit the table.") from None
    return TableSpec.from_dict(spec, where=where)


def _legacy_nulled(key: Mapping[str, Any], rel: Mapping[str, Any]) -> list[str]:
    from pyspark_synth.relational.plan import nulled_columns

    others = [k["columns"] for k in [rel.get("driving"), *rel.get("secondary", []), *rel.get("self_refs", [])]
              if k and k is not key]
    return nulled_columns(key["columns"], others)
