"""validate() on Spark: known answers, the result forms, the report in a browser, agreement with SDMetrics."""

from __future__ import annotations

import html
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


_MEASURE = """<script>
(function () {
  var charts = [];
  document.querySelectorAll("svg").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    var texts = [];
    svg.querySelectorAll("text").forEach(function (t) {
      var r = t.getBoundingClientRect();
      var own = Array.prototype.filter.call(t.childNodes, function (n) { return n.nodeType === 3; })
        .map(function (n) { return n.nodeValue; }).join("");
      texts.push({text: own, cls: t.getAttribute("class") || "", rotated: t.hasAttribute("transform"),
                  l: r.left, r: r.right, t: r.top, b: r.bottom});
    });
    var rects = [];
    svg.querySelectorAll("rect.scale").forEach(function (e) {
      var r = e.getBoundingClientRect();
      rects.push({l: r.left, r: r.right, t: r.top, b: r.bottom});
    });
    charts.push({chart: svg.getAttribute("data-chart") || "", label: svg.getAttribute("aria-label"),
                 box: {l: box.left, r: box.right, t: box.top, b: box.bottom}, texts: texts, rects: rects});
  });
  var pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify(charts);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture(scope="module")
def awkward(spark) -> ValidationResult:
    """The report's hard cases: a numeric column over a wide range (millions), long category labels
    and long column names (heatmap), a column with 28% nulls, and a 5-row lookup table copied as it is."""
    rng = np.random.default_rng(4)
    n = 240
    labels = ["International Business Machines Corporation", "Very long category label number two",
              "Short", "Another extremely verbose category name", "Ünïcödé ラベル with wide characters"]

    def facts() -> pd.DataFrame:
        cat = rng.choice(labels, n).astype(object)
        cat[rng.random(n) < 0.28] = None
        return pd.DataFrame({"fact_id": range(n), "status_id": [i % 5 for i in range(n)],
                             "revenue": rng.uniform(3.9e6, 6.3e6, n),
                             "customer_company_name_as_registered": cat,
                             "a_rather_long_numeric_column_name_for_the_heatmap": rng.normal(0, 1, n)})

    status = pd.DataFrame({"status_id": range(5), "label": ["new", "paid", "sent", "back", "lost"]})
    md = (
        Metadata()
        .add_table("status", pk="status_id", columns={"status_id": "id", "label": "categorical"})
        .add_table("facts", pk="fact_id", fk={"status_id": "status.status_id"},
                   columns={"fact_id": "id", "status_id": "id", "revenue": "numerical",
                            "customer_company_name_as_registered": "categorical",
                            "a_rather_long_numeric_column_name_for_the_heatmap": "numerical"})
    )
    schema = "fact_id long, status_id long, revenue double, customer_company_name_as_registered string, " \
             "a_rather_long_numeric_column_name_for_the_heatmap double"
    real = {"status": spark.createDataFrame(status), "facts": spark.createDataFrame(facts(), schema)}
    synth = {"status": spark.createDataFrame(status), "facts": spark.createDataFrame(facts(), schema)}
    hold = {"facts": spark.createDataFrame(facts(), schema)}
    return validate(real, synth, md, holdout=hold, sample_rows=200, detection_folds=2, detection_trees=5)


def test_report_marks_lookup_and_na_checks(awkward):
    page = awkward.to_html()
    assert awkward.tables["status"]["lookup"].startswith("5 distinct rows")
    assert not [r for r in awkward.failures if r.table == "status"]
    status = page[page.index('id="t0"'):page.index('id="t1"')]
    assert "Exact-copy rate" in status and 'class="pill lookup"' in status and 'pill fail' not in status
    assert "DCR share (closer to training)" in page and "Membership inference AUC" in page
    assert "Null shares" in page and "nulls left out" in page
    cramer = [r for r in awkward.rows if r.kind == "pair" and r.detail == "cramers_v"]
    assert cramer and all(r.score is None and r.passed is None for r in cramer)  # n/a score: never "fail"
    for r in cramer:
        row = page[page.index(f'<td class="name">{r.name}</td><td>|Δ correlation|'):][:600]
        assert 'class="pill na"' in row and "pill fail" not in row.split("</tr>")[0]


def _layout(tmp_path, result: ValidationResult, width: int) -> tuple[list[dict], str]:
    """Render the report in headless Chromium with a measuring script and take a screenshot.

    The report forbids scripts (Content-Security-Policy); the test's copy drops that header and
    appends a script that records every SVG text's bounding box, read back with --dump-dom."""
    page = result.to_html(tmp_path / "report.html", title="layout")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    flags = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},6000",
    ]
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, "Chromium ran no measuring script"
    shot = tmp_path / f"report-{width}.png"
    subprocess.run([*flags, f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    return json.loads(html.unescape(found.group(1))), str(shot)


def _overlaps(a: dict, b: dict, tol: float = 0.5) -> bool:
    return min(a["r"], b["r"]) - max(a["l"], b["l"]) > tol and min(a["b"], b["b"]) - max(a["t"], b["t"]) > tol


def _layout_problems(charts: list[dict]) -> list[str]:
    """Texts outside their chart, and texts drawn over each other (or over the heatmap's scale)."""
    problems = []
    for c in charts:
        box = c["box"]
        texts = [t for t in c["texts"] if t["text"].strip()]
        for t in texts:  # every label inside its chart: nothing clipped at an edge
            if t["l"] < box["l"] - 1 or t["r"] > box["r"] + 1 or t["t"] < box["t"] - 1 or t["b"] > box["b"] + 1:
                problems.append(f"{c['label']}: {t['text']!r} clipped ({t['l']:.0f}..{t['r']:.0f} in "
                                f"{box['l']:.0f}..{box['r']:.0f})")
        flat = [t for t in texts if not t["rotated"]]
        for i, a in enumerate(flat):  # no two labels on top of each other (tick labels included)
            for b in flat[i + 1:]:
                if _overlaps(a, b):
                    problems.append(f"{c['label']}: {a['text']!r} overlaps {b['text']!r}")
        for a in (t for t in texts if t["rotated"]):  # rotated labels (their boxes overlap each other)
            for b in flat:
                if _overlaps(a, b):
                    problems.append(f"{c['label']}: rotated {a['text']!r} overlaps {b['text']!r}")
        for a in (t for t in texts if t["rotated"]):  # and the colour scale's boxes
            for b in c["rects"]:
                if _overlaps(a, b):
                    problems.append(f"{c['label']}: rotated {a['text']!r} overlaps the colour scale")
    return problems


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", [1280, 700])
def test_report_text_is_neither_clipped_nor_overlapping_in_chromium(awkward, tmp_path, width):
    charts, shot = _layout(tmp_path, awkward, width)
    kinds = {c["chart"] for c in charts}
    assert {"hist", "hbars", "heatmap"} <= kinds, kinds
    problems = _layout_problems(charts)
    assert not problems, "\n".join(problems[:20]) + f"\nscreenshot: {shot}"
    revenue = next(c for c in charts if c["label"] == "real vs synthetic distribution of revenue")
    ticks = [t["text"] for t in revenue["texts"] if t["cls"] == "tick"]
    assert len(ticks) >= 3 and all(t.endswith("M") for t in ticks), ticks  # 4M, 4.5M, ... not 3.97e+06


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
    assert sdm.__version__.startswith("0.32.")  # the version the bench extra pins (its scores are the reference)
    for col in ("x", "y", "k"):
        assert ours[(col, "ks")] == pytest.approx(KSComplement.compute(real[col], synth[col]), abs=tol)
    for col in ("a", "b"):
        assert ours[(col, "tvd")] == pytest.approx(TVComplement.compute(real[col], synth[col]), abs=tol)
    assert ours[("x × y", "corr")] == pytest.approx(
        CorrelationSimilarity.compute(real[["x", "y"]], synth[["x", "y"]], coefficient="Pearson"), abs=tol)
    assert ours[("a × b", "contingency")] == pytest.approx(
        ContingencySimilarity.compute(real[["a", "b"]], synth[["a", "b"]]), abs=tol)
