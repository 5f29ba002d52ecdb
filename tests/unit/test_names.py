"""Table names: the one rule every entry point reads a table name by (io.names)."""

from __future__ import annotations

import pytest

from pyspark_synth.errors import DataError
from pyspark_synth.io.names import model_name, parse_table_name


@pytest.mark.parametrize(("name", "parts", "sql"), [
    ("adult", ("adult",), "`adult`"),
    ("default.adult", ("default", "adult"), "`default`.`adult`"),
    ("spark_catalog.default.adult", ("spark_catalog", "default", "adult"), "`spark_catalog`.`default`.`adult`"),
    ("`adult`", ("adult",), "`adult`"),
    ("`my.schema`.`a b`", ("my.schema", "a b"), "`my.schema`.`a b`"),
    ("`x``y`", ("x`y",), "`x``y`"),
    (" default . adult ", ("default", "adult"), "`default`.`adult`"),
])
def test_names_split_at_dots_outside_backquotes(name, parts, sql):
    parsed = parse_table_name(name)
    assert parsed.parts == parts and parsed.sql == sql
    assert parse_table_name(parsed.sql) == parsed  # the quoted form reads back the same


def test_a_model_is_named_after_the_last_part():
    assert {model_name(n) for n in ("adult", "default.adult", "spark_catalog.default.adult", "`adult`")} == {"adult"}


@pytest.mark.parametrize("bad", ["", "  ", "a..b", ".a", "a.", "`a", "a`b", "``"])
def test_bad_names_say_how_to_write_one(bad):
    with pytest.raises(DataError, match=r"is not a valid table name: use 'table', 'schema\.table' or 'catalog\.schema\.table'"):
        parse_table_name(bad)
    with pytest.raises(DataError, match="must be a string"):
        parse_table_name(3)  # type: ignore[arg-type]
