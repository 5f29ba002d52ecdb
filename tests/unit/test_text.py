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
    # a column whose every word is unique to one row has no vocabulary (text_specs gives it a format model)
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


def _names(n: int, seed: int = 0) -> pd.Series:
    """`n` people's names, every one its own exact format (lengths vary): all rare at k = 5."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))

    def word() -> str:
        return "".join(rng.choice(letters, rng.integers(3, 10))).capitalize()

    return pd.Series([f"{word()} {word()}" for _ in range(n)], dtype=object)


def test_names_whose_every_format_is_rare_keep_their_shape_and_no_value_or_length_of_one_row():
    from pyspark_synth.models.text import FormatModel, text_model

    real = _names(60)
    real[[3, 9]] = None
    m = FormatModel("name").fit(real)
    assert m.words_ == ["Aa+ Aa+"]  # the exact formats (each length its own) are all rare
    out = text_model(m.to_dict()).sample(np.arange(3000), seed=1, label="t/name")
    present = out.dropna()
    assert present.str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()  # was one lower-case run
    assert not set(present) & set(real.dropna())
    runs = real.dropna().str.split().explode().str.len().to_numpy() - 1  # the lower-case run of each word
    low, high = np.sort(runs)[4], np.sort(runs)[-5]
    drawn = present.str.split().explode().str.len().to_numpy() - 1
    assert drawn.min() >= low and drawn.max() <= high and len(set(drawn)) > 2
    assert abs(out.isna().mean() - 2 / 60) < 0.02
    assert out.equals(text_model(m.to_dict()).sample(np.arange(3000), seed=1, label="t/name"))


def test_text_of_rare_shapes_is_strung_from_its_words_shapes_and_a_lone_pattern_keeps_its_class():
    from pyspark_synth.models.text import FormatModel

    rng = np.random.default_rng(2)
    notes = pd.Series([" ".join(rng.choice(["Aaaa", "bb", "ccccc", "1984", "Dd."], rng.integers(4, 12)))
                       + f" x{i}" for i in range(40)], dtype=object)  # every value's shape its own
    m = FormatModel("notes").fit(notes)
    assert m.words_per_value_ is not None and set(m.words_) <= {"Aa+", "a+", "9+", "Aa.", "a9+", "a9"}
    out = m.sample(np.arange(500), seed=0, label="n")
    counts = out.str.split().str.len()
    real_counts = np.sort(notes.str.split().str.len().to_numpy())
    assert counts.min() >= real_counts[4] and counts.max() <= real_counts[-5]
    assert out.str.fullmatch(r"(([A-Z][a-z]+|[a-z]+|[0-9]+|[A-Z][a-z]\.|[a-z][0-9]+) ?)+").all()
    # six phone numbers of two formats, three rows each: no format nor shape of 5 rows; digits, not letters
    phones = pd.Series(["(503) 555-9831", "(503) 555-3199", "(503) 555-9931", "1-800-222-0451",
                        "1-800-782-7892", "1-800-225-5345"])
    assert FormatModel("phone").fit(phones).sample(np.arange(10), seed=0, label="p").str.fullmatch(r"\d{14}").all()


def test_a_text_column_without_a_shared_word_comes_back_in_its_shapes_not_null():
    table = Table(name="t", columns=(Column(name="company", type="text"),))
    real = _names(80)
    real[::10] = None
    (spec,) = text_specs(table, pd.DataFrame({"company": real}))
    assert spec["kind"] == "format"  # a word model of no word: every row null before
    from pyspark_synth.models.text import text_model

    out = text_model(spec).sample(np.arange(1000), seed=0, label="t/company")
    assert abs(out.isna().mean() - 0.1) < 0.03 and out.dropna().str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()


def test_text_of_any_script_keeps_its_letters_classes_and_shared_alphabet():
    from pyspark_synth.models.text import FormatModel, text_model

    rng = np.random.default_rng(5)
    upper, lower = "АБВГДЕКЛМНОПРСТ", "абвгдежзиклмнопрстуя"
    names = pd.Series([f"{rng.choice(list(upper))}{''.join(rng.choice(list(lower), rng.integers(3, 8)))} "
                       f"{rng.choice(list(upper))}{''.join(rng.choice(list(lower), rng.integers(4, 9)))}"
                       for _ in range(60)])
    m = FormatModel("имя").fit(names)
    # Cyrillic letters are letters (before: literals, no format or shape shared, one class a-z)
    assert m.words_ and all(set(w) <= set("Aa+ ") for w in m.words_)
    out = text_model(m.to_dict()).sample(np.arange(2000), seed=3, label="t/имя")
    assert out.str.fullmatch(f"[{upper}][{lower}]+ [{upper}][{lower}]+").all()  # its own script, not a-z
    assert not set(out) & set(names)
    # a letter of one row is not in the alphabet: only those of at least min_rows rows
    rare = names.copy()
    rare[0] = "Ѣѣѣѣ " + rare[0]
    assert "ѣ" not in "".join(FormatModel("имя").fit(rare).sample(np.arange(2000), seed=3, label="x"))
    # letters without case (CJK): one class, drawn from the column's characters
    given = list("明华伟洋静帆磊敏杰芳")
    han = pd.Series([rng.choice(list("王李张刘陈")) + "".join(rng.choice(given, rng.integers(1, 3)))
                     for _ in range(40)])
    cjk = FormatModel("姓名").fit(han).sample(np.arange(500), seed=0, label="c")
    assert cjk.str.fullmatch("[王李张刘陈明华伟洋静帆磊敏杰芳]{2,3}").all()
    # an ASCII column draws from a-z as before: no alphabet of its own
    assert FormatModel("name").fit(_names(60)).alphabets_ is None
    # the alphabet travels in the table's spec (a fitted model's JSON)
    from pyspark_synth.spec import TextColumnSpec

    table = Table(name="t", columns=(Column(name="имя", type="text"),))
    (spec,) = text_specs(table, pd.DataFrame({"имя": names}))
    stored = TextColumnSpec.model_validate(spec).model_dump(exclude_none=True)
    assert stored["alphabets"]["a"] and text_model(stored).sample(np.arange(50), seed=1, label="s").equals(
        text_model(spec).sample(np.arange(50), seed=1, label="s"))
