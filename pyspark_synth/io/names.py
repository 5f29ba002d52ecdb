"""Table names: the one rule by which every entry point reads a table name.

A name is parts separated by dots: `table`, `schema.table` or `catalog.schema.table` (catalogs
with nested namespaces take more parts). A part in backquotes may hold dots, spaces and other characters
(`` `my.table` ``; a doubled backquote stands for one). Every entry point that takes a table name
(fit, sample, the catalog metadata table, the model registry, the `CALL synth.*` procedures and
the `synth_sample` table function) reads it with `parse_table_name`:

* a catalog table is the whole name, which Spark resolves against the session's current catalog
  and schema (`TableName.sql` is the name quoted for SQL);
* a fitted model is stored in the registry under the name's last part (`TableName.model`, the
  table's own name, as in the metadata), so `default.adult`, `spark_catalog.default.adult` and
  `` `adult` `` all name the model `adult`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark_synth.errors import DataError

__all__ = ["TableName", "model_name", "parse_table_name", "quote_identifier"]

_PART = re.compile(r"`((?:[^`]|``)*)`|([^.`]+)")


@dataclass(frozen=True)
class TableName:
    """A parsed table name.

    Attributes:
        parts: The name's parts, backquotes removed.
    """

    parts: tuple[str, ...]

    @property
    def model(self) -> str:
        """The name a fitted model of this table has in the registry: the last part."""
        return self.parts[-1]

    @property
    def namespace(self) -> tuple[str, ...]:
        """The parts before the table's own name (`()`, `(schema,)` or `(catalog, schema)`)."""
        return self.parts[:-1]

    @property
    def sql(self) -> str:
        """The name quoted for SQL (every part in backquotes)."""
        return ".".join(quote_identifier(p) for p in self.parts)

    def __str__(self) -> str:
        return ".".join(self.parts)


def quote_identifier(part: str) -> str:
    """One identifier part in backquotes (a backquote inside is doubled)."""
    return "`" + part.replace("`", "``") + "`"


def parse_table_name(name: str, *, what: str = "table name") -> TableName:
    """Read a table name by the package's one rule (see the module docstring).

    Args:
        name: `table`, `schema.table` or `catalog.schema.table`, parts optionally in backquotes.
        what: What the name is, for the error message.

    Raises:
        DataError: The name is not a string, is empty, or has an empty or unclosed part.
    """
    if isinstance(name, TableName):
        return name
    if not isinstance(name, str):
        raise DataError(f"The {what} must be a string such as 'table', 'schema.table' or 'catalog.schema.table', "
                        f"got {type(name).__name__}")
    text = name.strip()
    parts: list[str] = []
    pos, valid = 0, bool(text)
    while valid:
        m = _PART.match(text, pos)
        if m is None:
            valid = False  # nothing, or an unclosed backquote, where a part must be
            break
        quoted, plain = m.group(1), m.group(2)
        part = quoted.replace("``", "`") if quoted is not None else plain.strip()
        valid = bool(part)
        parts.append(part)
        pos = m.end()
        if pos == len(text):
            break
        if text[pos] != ".":
            valid = False
            break
        pos += 1
    if not valid:
        raise DataError(f"'{name}' is not a valid {what}: use 'table', 'schema.table' or 'catalog.schema.table', with "
                        "a part that holds dots or spaces in backquotes (`my.table`).")
    return TableName(tuple(parts))


def model_name(name: str) -> str:
    """The registry name of a table's model: the last part of the name (`default.adult` -> `adult`)."""
    return parse_table_name(name).model
