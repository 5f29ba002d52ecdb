"""Free-text columns: shared words only, the length law, nulls, determinism by row id."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from pyspark_synth.metadata import Column, PIIRule, Table
from pyspark_synth.models.text import TextModel, text_specs


def _titles(n: int = 2000) -> pd.Series:
    rng = np.random.default_rng(0)
    common = ["The", "Love", "Night", "Blues", "of", "Song", "My", "Rock", "Dance", "Heart"]
    values = []
    for i in range(n):
        words = list(rng.choice(common, rng.integers(1, 5)))
        values.append(" ".join(words + [f"secret{i}"]))  # a word unique to each row
    s = pd.Series(values, dtype=object)
    s[rng.random(n) < 0.1] = None
    return s


def test_only_words_shared_by_many_rows_are_generated():
    real = _titles()
    model = TextModel("title").fit(real)
    assert "secret7" not in model.words_ and "Love" in model.words_
    out = model.sample(np.arange(5000), seed=1, label="t")
    words = set(" ".join(out.dropna()).split())
    assert words <= set(model.words_)
    assert abs(out.isna().mean() - real.isna().mean()) < 0.03
    real_len = real.dropna().str.split().str.len().mean()
    assert abs(out.dropna().str.split().str.len().mean() - real_len) < 0.15


def test_same_ids_same_values_in_any_order_and_json_round_trip():
    model = TextModel("title").fit(_titles())
    a = model.sample(np.arange(100, 200), seed=3, label="t")
    b = TextModel.from_dict(model.to_dict()).sample(np.arange(199, 99, -1), seed=3, label="t")
    pd.testing.assert_series_equal(a, b[::-1].reset_index(drop=True))
    assert not a.equals(model.sample(np.arange(100, 200), seed=4, label="t"))


def test_specs_skip_pii_and_fill_in_place():
    table = Table(name="t", columns=(Column(name="title", type="text"),
                                     Column(name="bio", type="text", pii=PIIRule(kind="person_name", action="fake")),
                                     Column(name="n", type="numerical")))
    data = pd.DataFrame({"title": _titles(500), "bio": ["x y"] * 500, "n": range(500)})
    specs = text_specs(table, data)
    assert [s["column"] for s in specs] == ["title"]
    # the kernel writes the title's text and leaves the PII column to the privacy rules
    from pyspark_synth.kernel import fill_text
    from pyspark_synth.spec import TextColumnSpec

    rows = pd.DataFrame({"title": [None] * 10, "bio": [None] * 10})
    spec = SimpleNamespace(name="t", text=[TextColumnSpec.model_validate(s) for s in specs])
    fill_text(rows, np.arange(10), spec, seed=0)
    assert rows["title"].notna().sum() >= 7 and rows["bio"].isna().all()
    # a column whose every word is unique to one row has no vocabulary: it stays null
    unique = TextModel("u").fit(pd.Series([f"w{i}" for i in range(300)]))
    assert unique.empty and unique.sample(np.arange(5), seed=0, label="u").isna().all()


def test_format_model_keeps_formats_never_values():
    import hashlib

    from pyspark_synth.models.text import FormatModel, text_model

    hashes = pd.Series([hashlib.sha256(str(i).encode()).hexdigest()[:24] for i in range(300)] + [None] * 100)
    m = FormatModel("h").fit(hashes)
    out = text_model(m.to_dict()).sample(np.arange(2000), seed=1, label="t/h")
    present = out.dropna()
    assert abs(out.isna().mean() - 0.25) < 0.05
    assert present.str.fullmatch(r"[0-9a-f]{24}").all() and present.is_unique
    assert not set(present) & set(hashes.dropna())
    assert out.equals(text_model(m.to_dict()).sample(np.arange(2000), seed=1, label="t/h"))  # keyed by row id
    masked = pd.Series([f"************{i:04d}" for i in range(200)] + ["***-**-" + f"{i:04d}" for i in range(100)])
    out = FormatModel("m").fit(masked).sample(np.arange(3000), seed=2, label="t/m")
    assert out.str.fullmatch(r"\*{12}\d{4}|\*\*\*-\*\*-\d{4}").all()
    assert 0.55 < out.str.startswith("****").mean() < 0.78
