"""The schema of a relational database as validated, frozen pydantic models with JSON round-trip."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pyspark_synth.errors import CycleError, ForeignKeyError, MetadataError

__all__ = [
    "SEMANTIC_TYPES",
    "PII_ACTIONS",
    "Column",
    "Constraint",
    "ForeignKey",
    "Metadata",
    "PIIRule",
    "Table",
    "format_validation_error",
    "generated_key_columns",
    "register_detector",
    "type_family",
]

SemanticType = Literal["numerical", "categorical", "datetime", "boolean", "id", "text"]
PIIAction = Literal["drop", "mask", "hash", "fake", "keep", "custom"]
OrphanPolicy = Literal["drop", "null", "keep", "nearest"]
SEMANTIC_TYPES: tuple[str, ...] = SemanticType.__args__  # type: ignore[attr-defined]
PII_ACTIONS: tuple[str, ...] = PIIAction.__args__  # type: ignore[attr-defined]

_TABLE_NAME = re.compile(r"^[^\s.`][^.`]*$")
# Column names may hold dots (`park.key`): the Spark layer quotes every column it names.
_COLUMN_NAME = re.compile(r"^[^\s`][^`]*$")
# The function `Metadata.detect` calls: set by the Spark layer when it is imported, so this pure
# module never imports Spark (the dependency points from the Spark layer to the core).
_DETECTOR: Any = None


def register_detector(detector: Any) -> None:
    """Set the function `Metadata.detect` delegates to (`detect_metadata` of the Spark layer)."""
    global _DETECTOR
    _DETECTOR = detector


def format_validation_error(exc: Exception) -> str:
    """A pydantic ValidationError as short readable text (field path and message, no URLs)."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return "; ".join(parts)
    return str(exc)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_name(value: str, what: str) -> str:
    if what == "Table":
        if not isinstance(value, str) or not _TABLE_NAME.match(value) or value != value.strip():
            raise ValueError(
                f"Table name {value!r} is not usable: table names must be non-empty, without dots, backticks "
                "or surrounding spaces (a dot separates a table from its column in a foreign key target)"
            )
        return value
    if not isinstance(value, str) or not _COLUMN_NAME.match(value) or value != value.strip():
        raise ValueError(
            f"{what} name {value!r} is not usable: column names must be non-empty, without backticks or "
            "surrounding spaces (dots are allowed). Rename the column, e.g. "
            f"df.withColumnRenamed({value!r}, {_suggest(value)!r})"
        )
    return value


def _suggest(name: object) -> str:
    """A usable column name close to `name` (backticks dropped, spaces trimmed)."""
    text = str(name).replace("`", "").strip()
    return text or "column"


def type_family(sql_type: str | None) -> str | None:
    """Return the comparison family of a Spark SQL type string ('integer', 'string', ...)."""
    if sql_type is None:
        return None
    t = sql_type.lower().strip()
    if t in {"tinyint", "smallint", "int", "integer", "bigint", "long", "short", "byte"}:
        return "integer"
    if t in {"float", "double", "real"} or t.startswith("decimal"):
        return "fractional"
    if t in {"string", "str"} or t.startswith(("varchar", "char")):
        return "string"
    if t.startswith("timestamp"):
        return "timestamp"
    return t


class PIIRule(_Frozen):
    """What to do with a column that holds personal data.

    Attributes:
        action: drop, mask, hash (HMAC-SHA256), fake (locale-aware), keep, or custom.
        kind: The PII kind (email, phone, person_name, ...), used to pick a fake generator.
        keep_last: For mask: how many trailing characters stay visible.
        mask_char: For mask: the character that replaces hidden characters.
        locale: For fake: a fixed Faker locale such as "ja_JP".
        locale_column: For fake: a column of the same row whose value (country, locale or
            region) picks the locale; found automatically when unset.
        function: For custom: "module:function" taking and returning a pandas Series.
    """

    action: PIIAction
    kind: str | None = None
    keep_last: int = Field(default=4, ge=0)
    mask_char: str = "*"
    locale: str | None = None
    locale_column: str | None = None
    function: str | None = None

    @model_validator(mode="after")
    def _custom_needs_function(self) -> PIIRule:
        if self.action == "custom" and not self.function:
            raise ValueError("PII action 'custom' needs function='module:function'")
        if self.function and ":" not in self.function:
            raise ValueError(f"PII function {self.function!r} must be written 'module:function'")
        if len(self.mask_char) != 1:
            raise ValueError(f"mask_char must be one character, got {self.mask_char!r}")
        return self


class Constraint(_Frozen):
    """Rules generated values of one column always satisfy.

    Attributes:
        min: Lowest allowed value (inclusive).
        max: Highest allowed value (inclusive).
        greater_than: Name of a column of the same table this column must be strictly above.
        greater_or_equal: Name of a column this column must be at least.
        allowed_values: The only values the column may take.
    """

    min: float | int | str | None = None
    max: float | int | str | None = None
    greater_than: str | None = None
    greater_or_equal: str | None = None
    allowed_values: list[Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Constraint:
        if self.min is not None and self.max is not None:
            try:
                bad = self.min > self.max  # type: ignore[operator]
            except TypeError as exc:
                raise ValueError(f"constraint min {self.min!r} and max {self.max!r} are not comparable") from exc
            if bad:
                raise ValueError(f"constraint min {self.min!r} is above max {self.max!r}")
        if self.allowed_values is not None and len(self.allowed_values) == 0:
            raise ValueError("constraint allowed_values is empty: no value could ever be generated")
        return self


class Column(_Frozen):
    """One column: its name, semantic type, Spark SQL type, nullability and PII rule."""

    name: str
    type: SemanticType = "categorical"
    sql_type: str | None = None
    nullable: bool = True
    pii: PIIRule | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, "Column")


class ForeignKey(_Frozen):
    """A (possibly composite) foreign key from this table's columns to a parent's primary key.

    Attributes:
        columns: The child columns, in the order of the parent's key columns.
        parent_table: The referenced table.
        parent_columns: The referenced columns (the parent's primary key).
        on_orphan: What fitting does with child rows whose key has no parent:
            "null" sets the key to null (the default of a one-column key; columns another foreign
            key of the table also uses keep their values), "nearest" gives the row the parent key
            next to its own (the default of a composite key, whose columns are usually the row's
            own attributes, such as a flight's airport and hour: see
            `spark.fit_database.nearest_parent_keys`), "drop" removes the rows, "keep" keeps them
            and generates no orphan (the model learns from them as they are).
    """

    columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    on_orphan: OrphanPolicy = "null"

    @model_validator(mode="before")
    @classmethod
    def _default_policy(cls, data: Any) -> Any:
        """No policy given (or None): "null" for a one-column key, "nearest" for a composite one."""
        if isinstance(data, Mapping) and data.get("on_orphan") is None:
            cols = data.get("columns")
            many = not isinstance(cols, str) and cols is not None and len(tuple(cols)) > 1
            data = {**data, "on_orphan": "nearest" if many else "null"}
        return data

    @model_validator(mode="after")
    def _same_arity(self) -> ForeignKey:
        if not self.columns:
            raise ValueError("a foreign key needs at least one column")
        if len(self.columns) != len(self.parent_columns):
            raise ValueError(
                f"foreign key {list(self.columns)} -> {self.parent_table}{list(self.parent_columns)}: "
                f"{len(self.columns)} child columns but {len(self.parent_columns)} parent columns"
            )
        return self

    @property
    def label(self) -> str:
        """A readable name such as "flights.(origin, time_hour)"."""
        cols = self.columns[0] if len(self.columns) == 1 else "(" + ", ".join(self.columns) + ")"
        pcols = self.parent_columns[0] if len(self.parent_columns) == 1 else "(" + ", ".join(self.parent_columns) + ")"
        return f"{cols} -> {self.parent_table}.{pcols}"


class Table(_Frozen):
    """A table: columns, primary key, foreign keys, constraints and the parent context to condition on.

    `columns` may be empty while a table is declared by hand; they are then filled from the data
    at fit time. `parent_context_cols` names columns of the driving parent that the child's model is
    conditioned on: the parent named by `driving_parent`, else the first foreign key's. With neither
    set and several parents, fitting chooses the driving key from the data (see
    `spark.fit_database.choose_driving`).
    """

    name: str
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    constraints: dict[str, Constraint] = Field(default_factory=dict)
    parent_context_cols: tuple[str, ...] | None = None
    driving_parent: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, "Table")

    @model_validator(mode="after")
    def _self_consistent(self) -> Table:
        names = [c.name for c in self.columns]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"table '{self.name}': columns {dup} are declared more than once")
        for col in (*self.primary_key, *(c for fk in self.foreign_keys for c in fk.columns)):
            _check_name(col, "Key column")
        if len(set(self.primary_key)) != len(self.primary_key):
            raise ValueError(f"table '{self.name}': primary key {list(self.primary_key)} repeats a column")
        known = set(names)
        if self.columns:
            self._require(known, self.primary_key, "primary key")
            for fk in self.foreign_keys:
                self._require(known, fk.columns, f"foreign key {fk.label}")
            for col, con in self.constraints.items():
                self._require(known, [col], "constraint")
                for other in (con.greater_than, con.greater_or_equal):
                    if other is not None:
                        self._require(known, [other], f"constraint on '{col}'")
            for c in self.columns:
                if c.pii is not None and c.pii.locale_column is not None:
                    self._require(known, [c.pii.locale_column], f"PII rule of '{c.name}' (locale_column)")
        if self.driving_parent is not None and self.driving_parent not in {fk.parent_table for fk in self.foreign_keys}:
            raise ValueError(
                f"table '{self.name}': driving_parent '{self.driving_parent}' is not the parent of any of its "
                f"foreign keys ({[fk.parent_table for fk in self.foreign_keys]})"
            )
        return self

    def _require(self, known: set[str], cols: Iterable[str], what: str) -> None:
        missing = [c for c in cols if c not in known]
        if missing:
            raise ValueError(
                f"table '{self.name}': {what} uses column(s) {missing} that the table does not have. "
                f"Known columns: {sorted(known)}"
            )

    def column(self, name: str) -> Column:
        """Return the column called `name`, or raise MetadataError listing the known columns."""
        for c in self.columns:
            if c.name == name:
                return c
        raise MetadataError(
            f"Table '{self.name}' has no column '{name}'. Known columns: {[c.name for c in self.columns]}"
        )

    @property
    def column_names(self) -> list[str]:
        """The column names in order."""
        return [c.name for c in self.columns]

    @property
    def parent_tables(self) -> list[str]:
        """Distinct parent tables in foreign-key order."""
        out: list[str] = []
        for fk in self.foreign_keys:
            if fk.parent_table not in out:
                out.append(fk.parent_table)
        return out

    @property
    def driving_fk(self) -> ForeignKey | None:
        """The foreign key whose parent drives generation (child counts and context)."""
        for fk in self.foreign_keys:
            if fk.parent_table != self.name and (self.driving_parent is None or fk.parent_table == self.driving_parent):
                return fk
        return None

    @property
    def key_columns(self) -> set[str]:
        """Columns that are part of the primary key or of any foreign key."""
        out = set(self.primary_key)
        for fk in self.foreign_keys:
            out.update(fk.columns)
        return out

    @property
    def generated_key_columns(self) -> tuple[str, ...]:
        """Primary-key columns made from row ids (see `generated_key_columns`)."""
        fk_cols = {c for fk in self.foreign_keys if fk.parent_table != self.name for c in fk.columns}
        return generated_key_columns(self.primary_key, fk_cols)

    @property
    def unlearned_key_columns(self) -> set[str]:
        """Key columns a table model does not learn: every foreign-key column and the primary-key
        columns made from row ids. The other columns of a composite key (weather's origin, year,
        month, day of a key ending in hour) are learned like any attribute."""
        return {c for fk in self.foreign_keys for c in fk.columns} | set(self.generated_key_columns)


def generated_key_columns(primary_key: Sequence[str], fk_columns: set[str]) -> tuple[str, ...]:
    """Primary-key columns made from row ids: those not in a foreign key, and of a composite
    key only the last such column (the others are modelled like any attribute; one unique
    component is enough to make the whole key unique)."""
    free = [c for c in primary_key if c not in fk_columns]
    return tuple(free[-1:]) if len(primary_key) > 1 else tuple(free)


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",")) if "," in value else (value,)
    return tuple(value)


def _parse_fk_target(local: tuple[str, ...], target: Any, table: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(target, str):
        if "." not in target:
            raise MetadataError(
                f"Foreign key '{table}.{','.join(local)}': target {target!r} must be written "
                "'parent_table.parent_column' (or 'parent_table.col1,col2' for a composite key)"
            )
        parent, cols = target.split(".", 1)
        cols = cols.strip("()")
        return parent, _as_tuple(cols)
    if isinstance(target, Sequence) and len(target) == 2:
        return str(target[0]), _as_tuple(target[1])
    raise MetadataError(
        f"Foreign key '{table}.{','.join(local)}': target {target!r} must be 'parent.col' or (parent, [cols])"
    )


class Metadata(BaseModel):
    """A relational database: its tables and the foreign keys between them.

    Built with `add_table(...)` (the seed API) or from JSON; `validate()` checks every foreign key
    and the graph and runs whenever metadata is loaded and before any Spark job.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    tables: dict[str, Table] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_match(self) -> Metadata:
        for key, table in self.tables.items():
            if key != table.name:
                raise ValueError(f"metadata key '{key}' holds table named '{table.name}'; they must be equal")
        return self

    # ----------------------------------------------------------------- building
    def add_table(
        self,
        name: str,
        pk: str | Sequence[str] | None = None,
        *,
        fk: Mapping[str | tuple[str, ...], Any] | None = None,
        constraints: Mapping[str, Constraint | Mapping[str, Any]] | None = None,
        parent_context_cols: Sequence[str] | None = None,
        columns: Mapping[str, str | Column | Mapping[str, Any]] | Sequence[Column] | None = None,
        driving_parent: str | None = None,
        on_orphan: OrphanPolicy | None = None,
    ) -> Metadata:
        """Add (or replace) a table; returns self so calls can be chained.

        Args:
            name: Table name.
            pk: Primary key column, or a list of columns for a composite key.
            fk: `{local_col: "parent_table.parent_col"}`; for a composite key use a tuple of local
                columns and "parent.col1,col2" (or `(parent, [cols])`) as the target.
            constraints: `{column: Constraint(...)}` (or plain dicts).
            parent_context_cols: Columns of the driving parent to condition this table's model on.
            columns: `{name: semantic_type}`, `{name: Column(...)}` or a list of Column.
            driving_parent: The parent whose rows drive child counts and context; when neither it
                nor `parent_context_cols` is set, fitting chooses it from the data.
            on_orphan: Orphan policy for the foreign keys given in `fk` (default: "null" for a
                one-column key, "nearest" for a composite one; see `ForeignKey`).

        Raises:
            MetadataError: The table is inconsistent in itself (cross-table checks run in validate()).
        """
        try:
            table = self._build_table(name, pk, fk, constraints, parent_context_cols, columns, driving_parent, on_orphan)
        except ValidationError as exc:
            raise MetadataError(f"Table '{name}': {format_validation_error(exc)}") from exc
        self.tables = {**self.tables, name: table}
        return self

    @staticmethod
    def _build_table(name, pk, fk, constraints, parent_context_cols, columns, driving_parent, on_orphan) -> Table:  # noqa: ANN001
        cols: list[Column] = []
        if isinstance(columns, Mapping):
            for cname, spec in columns.items():
                if isinstance(spec, Column):
                    cols.append(spec)
                elif isinstance(spec, str):
                    cols.append(Column(name=cname, type=spec))  # type: ignore[arg-type]
                else:
                    cols.append(Column(name=cname, **dict(spec)))
        elif columns is not None:
            cols = list(columns)
        fks = []
        for local, target in (fk or {}).items():
            local_t = _as_tuple(local)
            parent, parent_cols = _parse_fk_target(local_t, target, name)
            fks.append(
                ForeignKey(columns=local_t, parent_table=parent, parent_columns=parent_cols, on_orphan=on_orphan)
            )
        return Table(
                name=name,
                columns=tuple(cols),
                primary_key=_as_tuple(pk),
                foreign_keys=tuple(fks),
                constraints={k: v if isinstance(v, Constraint) else Constraint(**dict(v)) for k, v in (constraints or {}).items()},
                parent_context_cols=tuple(parent_context_cols) if parent_context_cols is not None else None,
                driving_parent=driving_parent,
            )

    def with_table(self, table: Table) -> Metadata:
        """Return a copy of this metadata with `table` added or replaced."""
        return Metadata(tables={**self.tables, table.name: table})

    def table(self, name: str) -> Table:
        """Return the table called `name`, or raise MetadataError listing the known tables."""
        try:
            return self.tables[name]
        except KeyError:
            raise MetadataError(f"Table '{name}' is not in the metadata. Known tables: {sorted(self.tables)}") from None

    # --------------------------------------------------------------- validation
    def validate(self) -> Metadata:
        """Check every foreign key and the FK graph; returns self.

        Raises:
            ForeignKeyError: A parent table or column is unknown, the parent has no primary key,
                the key does not reference it, or the column types differ.
            CycleError: The foreign keys form a cycle between tables (the tables are named).
        """
        for table in self.tables.values():
            if table.parent_context_cols and not table.foreign_keys:
                raise MetadataError(
                    f"Table '{table.name}': parent_context_cols {list(table.parent_context_cols)} are set but the "
                    "table has no foreign key, so there is no parent to take context from. Remove them or add a fk."
                )
            for fk in table.foreign_keys:
                self._check_fk(table, fk)
            dfk = table.driving_fk
            if table.parent_context_cols and dfk is not None:
                parent = self.tables[dfk.parent_table]
                if parent.columns:
                    missing = [c for c in table.parent_context_cols if c not in parent.column_names]
                    if missing:
                        raise MetadataError(
                            f"Table '{table.name}': parent_context_cols {missing} are not columns of its driving "
                            f"parent '{parent.name}'. Known columns: {parent.column_names}"
                        )
        cycle = self.find_cycle()
        if cycle:
            keys = [f"{a}.{fk.label}" for a, b in zip(cycle, cycle[1:], strict=False)
                    for fk in self.tables[a].foreign_keys if fk.parent_table == b]
            raise CycleError(
                "Foreign keys form a cycle between tables " + " -> ".join(cycle) + f" ({', '.join(keys)}). Generation "
                "needs parents before children: remove one foreign key of the cycle (keep the column as a plain id), "
                "or make it a nullable self-reference.",
                cycle,
            )
        return self

    def _check_fk(self, table: Table, fk: ForeignKey) -> None:
        where = f"Foreign key '{table.name}.{','.join(fk.columns)}'"
        if fk.parent_table not in self.tables:
            raise ForeignKeyError(
                f"{where}: table '{fk.parent_table}' is not in the metadata. Known tables: {sorted(self.tables)}. "
                "Add the parent table or fix the name."
            )
        parent = self.tables[fk.parent_table]
        if not parent.primary_key:
            raise ForeignKeyError(
                f"{where}: the referenced table '{parent.name}' has no primary key. Set pk= on '{parent.name}' "
                f"(its key columns: {list(fk.parent_columns)})."
            )
        if parent.columns:
            missing = [c for c in fk.parent_columns if c not in parent.column_names]
            if missing:
                raise ForeignKeyError(
                    f"{where}: parent table '{parent.name}' has no column(s) {missing}. "
                    f"Known columns: {parent.column_names}"
                )
        if set(fk.parent_columns) != set(parent.primary_key):
            raise ForeignKeyError(
                f"{where}: references {list(fk.parent_columns)} but the primary key of '{parent.name}' is "
                f"{list(parent.primary_key)}. A foreign key must reference the parent's whole primary key."
            )
        if table.columns and parent.columns:
            for c, p in zip(fk.columns, fk.parent_columns, strict=True):
                ct, pt = table.column(c).sql_type, parent.column(p).sql_type
                if ct and pt and type_family(ct) != type_family(pt):
                    raise ForeignKeyError(
                        f"{where}: column '{table.name}.{c}' has type {ct} but '{parent.name}.{p}' has type {pt}. "
                        "Cast one of them so both have the same type."
                    )

    def find_cycle(self) -> list[str] | None:
        """Return one cycle of the FK graph between distinct tables as [a, b, ..., a], or None."""
        graph = {
            name: [p for p in t.parent_tables if p != name and p in self.tables] for name, t in self.tables.items()
        }
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for nxt in graph[node]:
                if state.get(nxt) == 1:
                    return stack[stack.index(nxt):] + [nxt]
                if nxt not in state:
                    found = visit(nxt)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return None

        for node in sorted(graph):
            if node not in state:
                found = visit(node)
                if found:
                    return found
        return None

    def children_of(self, name: str) -> list[tuple[Table, ForeignKey]]:
        """(child table, foreign key) pairs that reference table `name`."""
        return [(t, fk) for t in self.tables.values() for fk in t.foreign_keys if fk.parent_table == name]

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain-JSON dictionary of the metadata."""
        return self.model_dump(mode="json", exclude_defaults=False)

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """Serialise to JSON; also write it to `path` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, validate: bool = True) -> Metadata:
        """Build metadata from a dictionary made by `to_dict`, validating it unless told not to."""
        try:
            md = cls.model_validate(dict(data))
        except ValueError as exc:
            raise MetadataError(f"Metadata is not valid: {format_validation_error(exc)}") from exc
        return md.validate() if validate else md

    @classmethod
    def from_json(cls, source: str | Path, *, validate: bool = True) -> Metadata:
        """Load metadata from a JSON string or a path to a JSON file."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            path = Path(text)
            if not path.exists():
                raise MetadataError(f"Metadata file '{path}' does not exist")
            text = path.read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataError(f"Metadata JSON is not valid JSON: {exc}") from exc
        return cls.from_dict(data, validate=validate)

    # --------------------------------------------------------------- detection
    @classmethod
    def detect(cls, tables: Mapping[str, Any], **kwargs: Any) -> Metadata:
        """Infer a first draft of the metadata from Spark DataFrames (types, keys, foreign keys).

        A shortcut for `pyspark_synth.detect_metadata(tables, **kwargs).metadata` (see it for the
        options; its report also lists the foreign keys that do not all resolve, with counts).

        Raises:
            MetadataError: No detector is registered (import `pyspark_synth`, which registers
                the Spark one).
        """
        if _DETECTOR is None:
            raise MetadataError("Metadata.detect needs the Spark detector: import pyspark_synth first "
                                "(or call pyspark_synth.detect_metadata directly)")
        return _DETECTOR(tables, **kwargs).metadata

    def summary(self) -> str:
        """A human-readable multi-line description of the tables and keys."""
        lines = []
        for t in self.tables.values():
            pk = ", ".join(t.primary_key) or "-"
            lines.append(f"{t.name}  (pk: {pk}; {len(t.columns)} columns)")
            for c in t.columns:
                flags = []
                if c.name in t.primary_key:
                    flags.append("pk")
                if not c.nullable:
                    flags.append("not null")
                if c.pii:
                    flags.append(f"pii:{c.pii.kind or '?'}->{c.pii.action}")
                extra = f"  [{', '.join(flags)}]" if flags else ""
                lines.append(f"    {c.name:<24} {c.type:<12} {c.sql_type or ''}{extra}")
            for fk in t.foreign_keys:
                lines.append(f"    fk {fk.label}  (orphans: {fk.on_orphan})")
        return "\n".join(lines)
