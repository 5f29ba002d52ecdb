"""The generation plan: parents-first order of the FK graph, driving parents, context and key roles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pyspark_synth.errors import CycleError, MetadataError
from pyspark_synth.metadata import ForeignKey, Metadata, Table
from pyspark_synth.relational.inherited import InheritedContext

__all__ = ["TablePlan", "Plan", "build_plan", "context_candidates", "context_columns", "grandparent_candidates",
           "inherited_name", "nulled_columns", "unique_pair_key"]

_MAX_AUTO_CONTEXT = 5


@dataclass(frozen=True)
class TablePlan:
    """How one table is fitted and generated.

    Attributes:
        table: The table's metadata.
        driving: The foreign key whose parent drives child counts and context (None for roots).
        secondary: Other foreign keys to parents (keys drawn to follow their child-count law).
        self_refs: Foreign keys to the table itself (filled from earlier generated rows).
        context: Parent columns the child's model is conditioned on.
        generated_keys: Primary-key columns made from row ids.
        inherited: The context columns that are the driving parent's parent's columns (joined onto
            the parent's rows through the parent's own driving key).
    """

    table: Table
    driving: ForeignKey | None = None
    secondary: tuple[ForeignKey, ...] = ()
    self_refs: tuple[ForeignKey, ...] = ()
    context: tuple[str, ...] = ()
    generated_keys: tuple[str, ...] = ()
    inherited: tuple[InheritedContext, ...] = ()

    @property
    def name(self) -> str:
        """The table name."""
        return self.table.name


@dataclass(frozen=True)
class Plan:
    """Tables in generation order (every parent before its children)."""

    metadata: Metadata
    order: tuple[str, ...]
    tables: dict[str, TablePlan] = field(default_factory=dict)

    @property
    def roots(self) -> list[str]:
        """Tables without a driving parent."""
        return [t for t in self.order if self.tables[t].driving is None]


def nulled_columns(columns: Sequence[str], other_keys: Iterable[Sequence[str]]) -> list[str]:
    """The columns of a foreign key to set to null when the key is null (a missing parent).

    Columns that another foreign key of the table also uses keep their values: flights.origin
    is both a key to airports and part of flights.(origin, hour) -> weather, and a flight whose
    weather hour is missing still has its airport. A key with a null column is not checked (as
    SQL's MATCH SIMPLE), so nulling the other columns is enough. When every column is shared,
    all are nulled.
    """
    shared = {c for key in other_keys for c in key}
    own = [c for c in columns if c not in shared]
    return own or list(columns)


def unique_pair_key(tp: TablePlan) -> ForeignKey | None:
    """The secondary key whose pairs with the driving key must be unique, or None.

    A table whose primary key is made of foreign keys only (a link table such as PlaylistTrack or
    film_actor) has no key column made from row ids; its rows stay unique when no two share
    (driving key, one other key inside the primary key). Of several such keys, the one sampling
    draws first (the widest) is returned.
    """
    pk = set(tp.table.primary_key)
    if not pk or tp.driving is None or tp.generated_keys or not set(tp.driving.columns) <= pk:
        return None
    drive = set(tp.driving.columns)
    for fk in sorted(tp.secondary, key=lambda f: -len(f.columns)):
        if set(fk.columns) <= pk and not set(fk.columns) & drive:
            return fk
    return None


def context_columns(child: Table, parent: Table, limit: int = _MAX_AUTO_CONTEXT) -> tuple[str, ...]:
    """The child's declared parent_context_cols, else up to `limit` modelled parent columns.

    Automatic choice: the parent's categorical, boolean and numerical columns (not keys, not free
    text, not PII), categoricals first, in column order.
    """
    if child.parent_context_cols is not None:
        return tuple(child.parent_context_cols)
    return context_candidates(parent)[:limit]


_CONTEXT_RANK = {"categorical": 0, "boolean": 1, "numerical": 2, "datetime": 3}


def context_candidates(parent: Table) -> tuple[str, ...]:
    """The parent's columns a child may be conditioned on: modelled categorical, boolean,
    numerical and datetime columns (not keys, not free text, not PII), categoricals first.

    `fit_database` chooses among them by measured dependence (`relational.context`); without
    data, `context_columns` takes the first few.
    """
    keys = parent.key_columns
    usable = [c for c in parent.columns if c.name not in keys and c.pii is None and c.type in _CONTEXT_RANK]
    usable.sort(key=lambda c: _CONTEXT_RANK[c.type])
    return tuple(c.name for c in usable)


def inherited_name(grandparent: str, column: str, taken: Iterable[str]) -> str:
    """The name a grandparent's column takes on the parent's rows: `<grandparent>__<column>`,
    with leading underscores added until no column of the parent (`taken`) has it."""
    taken = set(taken)
    name = f"{grandparent}__{column}"
    while name in taken:
        name = "_" + name
    return name


def grandparent_candidates(parent: Table, via: ForeignKey | None, grandparent: Table | None) -> tuple[InheritedContext, ...]:
    """The grandparent's columns a child may be conditioned on, through the parent's key `via`.

    They are the grandparent's `context_candidates`, each under `inherited_name`; none when the
    parent has no driving key, or the key is a self reference.
    """
    if via is None or grandparent is None or via.parent_table == parent.name or via.parent_table != grandparent.name:
        return ()
    taken = set(parent.column_names)
    out = []
    for c in context_candidates(grandparent):
        name = inherited_name(grandparent.name, c, taken)
        taken.add(name)
        out.append(InheritedContext(name=name, table=grandparent.name, column=c, columns=tuple(via.columns),
                                    parent_columns=tuple(via.parent_columns)))
    return tuple(out)


def build_plan(metadata: Metadata) -> Plan:
    """Validate the metadata and order its tables parents-first.

    Raises:
        CycleError: Foreign keys form a cycle between tables (they are named).
        MetadataError: A self-reference cannot be honoured (the table's primary key is not made
            from row ids, or the referencing column is not nullable).
    """
    metadata.validate()
    indeg = {name: 0 for name in metadata.tables}
    children: dict[str, list[str]] = {name: [] for name in metadata.tables}
    for name, t in metadata.tables.items():
        for p in t.parent_tables:
            if p != name:
                indeg[name] += 1
                children[p].append(name)
    ready = sorted(n for n, d in indeg.items() if d == 0)
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for c in children[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
        ready.sort()
    if len(order) != len(metadata.tables):
        cycle = metadata.find_cycle() or sorted(set(metadata.tables) - set(order))
        raise CycleError("Foreign keys form a cycle between tables " + " -> ".join(cycle), cycle)
    plans = {}
    for name in order:
        t = metadata.tables[name]
        generated = t.generated_key_columns
        self_refs = tuple(fk for fk in t.foreign_keys if fk.parent_table == name)
        for fk in self_refs:
            if len(generated) != 1 or tuple(fk.parent_columns) != generated:
                raise MetadataError(
                    f"Self-reference '{name}.{','.join(fk.columns)}' cannot be honoured: it must reference a single-column "
                    f"primary key that is generated from row ids (the key of '{name}' is {list(t.primary_key)}). "
                    "Drop the foreign key (keep the column as an id) or give the table a simple primary key."
                )
            for c in fk.columns:
                if t.columns and not t.column(c).nullable:
                    raise MetadataError(
                        f"Self-reference '{name}.{c}' cannot be honoured: the column is not nullable, so the first row "
                        "would need a parent that does not exist yet. Mark the column nullable."
                    )
        driving = t.driving_fk
        secondary = tuple(fk for fk in t.foreign_keys if fk is not driving and fk.parent_table != name)
        context = context_columns(t, metadata.tables[driving.parent_table]) if driving is not None else ()
        plans[name] = TablePlan(table=t, driving=driving, secondary=secondary, self_refs=self_refs,
                                context=context, generated_keys=generated)
    return Plan(metadata=metadata, order=tuple(order), tables=plans)
