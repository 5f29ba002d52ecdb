"""validate() on Spark: known answers, the result forms, the report in a browser, agreement with SDMetrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata
from pyspark_synth.validation import RESULT_SCHEMA, ValidationResult, validate

EVIL_COLUMN = "<script>window.__pwned=1;document.title='PWNED'</script>"
EVIL_VALUE = "<img src=x onerror=\"window.__pwned=1;document.title='PWNED'\">"


@pytest.fixture(scope="module")
def identical(spark) -> ValidationResult:
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame(
        {
            EVIL_COLUMN: rng.normal(50, 10, 300),
            "cat": rng.choice(["a", "b", EVIL_VALUE], 300),
            "flag": rng.random(300) < 0.3,
        }
    )
    df = spark.createDataFrame(pdf)
    return spark.synth.validate(df, df, privacy=False)


@pytest.fixture(scope="module")
def shop(spark) -> ValidationResult:
    rng = np.random.default_rng(1)
    countries = ["JP", "DE", "US", "FR"]
    real_c = pd.DataFrame({"id": range(1, 41), "age": rng.normal(40, 8, 40).round(1),
                           "country": [countries[i % 4] for i in range(40)]})
    synth_c = pd.DataFrame({"id": [*range(1, 40), 5], "age": rng.normal(70, 8, 40).round(1),  # id 5 twice
                            "country": [["JP", "DE", "US", "XX"][i % 4] for i in range(40)]})  # FR gone, XX new
    real_o = pd.DataFrame({"order_id": range(100), "customer_id": [1 + i % 40 for i in range(100)],
                           "amount": rng.gamma(2.0, 10.0, 100).round(2)})
    synth_o = pd.DataFrame({"order_id": range(100), "customer_id": [*[1 + i % 20 for i in range(99)], 999],
                            "amount": real_o["amount"].to_numpy()[::-1]})  # same values, other rows
    md = (
        Metadata()
        .add_table("customers", pk="id", columns={"id": "id", "age": "numerical", "country": "categorical"})
        .add_table("orders", pk="order_id", fk={"customer_id": "customers.id"},
                   columns={"order_id": "id", "customer_id": "id", "amount": "numerical"})
    )
    real = {"customers": spark.createDataFrame(real_c), "orders": spark.createDataFrame(real_o)}
    synth = {"customers": spark.createDataFrame(synth_c), "orders": spark.createDataFrame(synth_o)}
    return validate(real, synth, md, sample_rows=200)


def _row(result: ValidationResult, table: str, name: str, metric: str):
    (row,) = [r for r in result.rows if (r.table, r.name, r.metric) == (table, name, metric)]
    return row


def test_identical_tables_score_perfectly(identical):
    assert _row(identical, "table", EVIL_COLUMN, "ks").value == 0.0
    assert _row(identical, "table", EVIL_COLUMN, "ks_error_bound").value >= 0.0
    assert _row(identical, "table", "cat", "tvd").value == 0.0
    assert _row(identical, "table", "flag", "tvd").value == 0.0
    assert identical.score == pytest.approx(1.0)
    assert identical.passed, identical.summary()
    assert identical.tables["table"]["pairs"]["columns"] == [EVIL_COLUMN, "cat", "flag"]


def test_result_as_dataframe_and_json(spark, identical):
    df = identical.to_dataframe(spark)
    assert df.schema.simpleString().replace(" ", "") == "struct<" + RESULT_SCHEMA.replace(" string", ":string").replace(
        " double", ":double").replace(" boolean", ":boolean").replace(", ", ",").replace(" ", "") + ">"
    data = json.loads(identical.to_json())
    assert data["score"] == pytest.approx(1.0) and data["passed"] is True
    assert {r["metric"] for r in data["rows"]} >= {"ks", "tvd", "corr", "contingency", "mean", "q50"}


def test_report_escapes_a_script_column_name(identical, tmp_path):
    page = identical.to_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;window.__pwned=1" in page
    assert page.count("<svg") >= 4


def test_shifted_column_fails_ks(shop):
    age = _row(shop, "customers", "age", "ks")
    assert age.passed is False and age.value > 0.9
    assert _row(shop, "orders", "amount", "ks").value == 0.0
    assert "id" in shop.tables["customers"]["skipped_columns"]
    assert not shop.passed and shop.worst(1)[0].passed is False


def test_missing_and_invented_categories_are_listed(shop):
    tvd = _row(shop, "customers", "country", "tvd")
    detail = json.loads(tvd.detail)
    assert detail["invented"] == ["XX"] and detail["missing"] == ["FR"]
    assert tvd.value == pytest.approx(0.25)
    assert _row(shop, "customers", "country", "invented_categories").value == 1


def test_orphans_duplicate_keys_and_child_counts(shop):
    fk = "customer_id -> customers.id"
    assert _row(shop, "orders", fk, "orphans").value == 1
    assert _row(shop, "orders", fk, "orphans").passed is False
    assert _row(shop, "customers", "id", "duplicate_keys").value == 2
    assert _row(shop, "orders", "order_id", "duplicate_keys").value == 0
    (rel,) = shop.relationships
    assert rel["real"] == {"2": 20, "3": 20}  # 100 orders over 40 customers
    assert rel["synthetic"]["0"] == 19  # childless parent rows are counted (ids 21..39)
    assert _row(shop, "orders", fk, "child_count_ks").passed is False


def test_privacy_rows_are_reported(shop):
    rate = _row(shop, "customers", "*", "exact_copy_rate")
    assert rate.value == 0.0 and rate.passed is True
    copies = _row(shop, "orders", "*", "exact_copy_rate")  # amount (the only compared column) is copied
    assert copies.value == 1.0 and copies.passed is False
    assert shop.tables["orders"]["privacy"]["dcr_synthetic"]["n"] == 100


def test_inputs_must_match(spark, identical):
    from pyspark_synth.errors import DataError

    with pytest.raises(DataError, match="Pass two DataFrames, or two dicts"):
        validate({"a": None}, spark.range(1))


# --------------------------------------------------------------------------- browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_chromium_without_running_injected_script(identical, tmp_path):
    path = tmp_path / "report.html"
    identical.to_html(path, title="Validation of <b>shop</b>")
    flags = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400", "--hide-scrollbars",
    ]
    dom = subprocess.run([*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "</html>" in dom, "Chromium produced no DOM"
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert title == "Validation of &lt;b&gt;shop&lt;/b&gt;"
    assert "PWNED" not in title
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert dom.count("<svg") >= 4 and "<rect" in dom and "<path" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


# ----------------------------------------------------------------------------- peer
@pytest.mark.bench
def test_scores_agree_with_sdmetrics(spark):
    """1-KS, 1-TVD, 1-|Δcorr|/2 and contingency similarity match SDMetrics within 0.02."""
    sdm = pytest.importorskip("sdmetrics")
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement

    rng = np.random.default_rng(7)

    def table(n: int, shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1, n)
        return pd.DataFrame({
            "x": x,
            "y": 2 * x + rng.normal(0, 1 + shift, n),
            "k": rng.poisson(3 + shift, n).astype(float),
            "a": np.where(x > shift, "hi", "lo"),
            "b": rng.choice(["u", "v", "w"], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4]),
        })

    real, synth = table(2000, 0.0), table(1500, 0.4)
    result = validate(spark.createDataFrame(real), spark.createDataFrame(synth), privacy=False)
    ours = {(r.name, r.metric): r.score for r in result.rows if r.score is not None}
    tol = 0.02
    assert sdm.__version__
    for col in ("x", "y", "k"):
        assert ours[(col, "ks")] == pytest.approx(KSComplement.compute(real[col], synth[col]), abs=tol)
    for col in ("a", "b"):
        assert ours[(col, "tvd")] == pytest.approx(TVComplement.compute(real[col], synth[col]), abs=tol)
    assert ours[("x × y", "corr")] == pytest.approx(
        CorrelationSimilarity.compute(real[["x", "y"]], synth[["x", "y"]], coefficient="Pearson"), abs=tol)
    assert ours[("a × b", "contingency")] == pytest.approx(
        ContingencySimilarity.compute(real[["a", "b"]], synth[["a", "b"]]), abs=tol)
