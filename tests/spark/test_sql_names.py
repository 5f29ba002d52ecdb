"""Table names in SQL: qualified, three-part and quoted names resolve by one rule in every entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.spark import sql as synth_sql
from pyspark_synth.spark.sample_table import sample_table

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def adult(spark):
    """A small table named default.adult, the plugin active, the session's default (catalog) registry."""
    saved = spark.conf.get("spark.synth.registryRoot", None)
    spark.conf.unset("spark.synth.registryRoot")
    rng = np.random.default_rng(3)
    n = 300
    pdf = pd.DataFrame({"age": rng.integers(17, 90, n).astype(np.int64),
                        "workclass": rng.choice(["Private", "Self-emp", "Gov"], n, p=[0.7, 0.2, 0.1]),
                        "hours": rng.normal(40, 10, n).round(1),
                        "income": rng.choice(["<=50K", ">50K"], n, p=[0.75, 0.25])})
    spark.createDataFrame(pdf).write.mode("overwrite").saveAsTable("default.adult")
    synth_sql.activate(spark)
    yield "default.adult"
    spark.sql("DROP TABLE IF EXISTS default.adult_synth")
    spark.sql("DROP TABLE IF EXISTS default.adult")
    if saved is not None:
        spark.conf.set("spark.synth.registryRoot", saved)


def test_call_fit_then_call_sample_with_the_qualified_name(spark, adult):
    # before: NotFittedError "Table 'default.adult' has no fitted model ... Fitted tables: ['adult']"
    spark.sql("CALL synth.fit(table => 'default.adult', epochs => 1)").collect()
    spark.sql("CALL synth.sample(table => 'default.adult', num_rows => 1234, output => 'default.adult_synth')").collect()
    out = spark.table("default.adult_synth")
    assert out.count() == 1234
    assert out.columns == ["age", "workclass", "hours", "income"]


def test_every_form_of_the_name_is_the_same_model(spark, adult):
    spark.sql("CALL synth.fit(table => 'spark_catalog.default.adult', backend => 'copula', seed => 2)").collect()
    expected = sorted(sample_table(spark, "adult", 40, seed=9).collect())
    for name in ("default.adult", "spark_catalog.default.adult", "`adult`", "`default`.`adult`"):
        called = spark.sql(f"CALL synth.sample(table => '{name}', num_rows => 40, seed => 9)")
        assert sorted(called.collect()) == expected, name
        tvf = spark.sql(f"SELECT * FROM synth_sample('{name}', 40, 9)")
        assert sorted(tvf.collect()) == expected, name
        assert sorted(sample_table(spark, name, 40, seed=9).collect()) == expected, name
    listed = spark.sql("CALL synth.models(table => 'default.adult')").collect()
    assert {r.table_name for r in listed} == {"adult"} and len(listed) >= 2
    sql_rows = spark.sql("SELECT table, version, backend, fitted_at FROM synth_models WHERE table = 'adult' "
                         "ORDER BY version").collect()
    assert [r.version for r in sql_rows] == [r.model_version for r in listed]


def test_a_bad_name_says_how_to_write_one(spark, adult):
    with pytest.raises(Exception, match=r"synth\.sample: DataError: 'default\.\.adult' is not a valid table name"):
        spark.sql("CALL synth.sample(table => 'default..adult', num_rows => 5)").collect()
