"""A child's context column taken from its driving parent's own parent (part of a table's spec)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["InheritedContext"]


class InheritedContext(BaseModel):
    """A context column that is a column of the driving parent's own parent (a grandparent's).

    At fitting and at sampling the grandparent's column is joined onto each parent row through the
    parent's foreign key (`columns` of the parent -> `parent_columns` of `table`), under `name`,
    so the table's model is conditioned on it like on the parent's own columns; a parent whose key
    is null, or has no such grandparent row, gives a null value.

    Attributes:
        name: The context column's name (one of `TableSpec.context`; no column of the parent has it).
        table: The grandparent table.
        column: Its column.
        columns: The parent's foreign-key columns to the grandparent.
        parent_columns: The grandparent's key columns they reference.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    table: str
    column: str
    columns: tuple[str, ...]
    parent_columns: tuple[str, ...]

    @model_validator(mode="after")
    def _key(self) -> InheritedContext:
        if not self.columns or len(self.columns) != len(self.parent_columns):
            raise ValueError(f"inherited context '{self.name}': the parent's key columns {list(self.columns)} and "
                             f"the grandparent's {list(self.parent_columns)} must be as many, at least one")
        return self
