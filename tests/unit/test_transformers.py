"""Contract test: every transformer kind goes through fit -> transform -> inverse_transform and to/from dict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import NotFittedError
from pyspark_synth.metadata import Column, Table
from pyspark_synth.transformers import (
    BooleanTransformer,
    ConstantTransformer,
    ContinuousTransformer,
    DatetimeTransformer,
    EmbeddingTransformer,
    ExcludedTransformer,
    NullIndicator,
    OneHotTransformer,
    TableTransformer,
    transformer_from_state,
)

N = 400


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _with_nulls(s: pd.Series, rate: float = 0.2) -> pd.Series:
    mask = _rng().random(len(s)) < rate
    return s.mask(mask)


def _none_for_null(s: pd.Series) -> pd.Series:
    """Object columns with None for every null (NaN and None are the same null to Spark)."""
    return s.astype(object).where(s.notna(), None) if s.dtype == object else s


def _cases() -> dict[str, tuple[pd.Series, object]]:
    rng = _rng()
    bimodal = np.concatenate([rng.normal(-5, 1, N // 2), rng.normal(20, 3, N - N // 2)])
    ts = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 365, N), unit="s"))
    cats = pd.Series(rng.choice(["a", "b", "c", "007"], N), dtype=object)
    return {
        "float": (pd.Series(bimodal), ContinuousTransformer(seed=1)),
        "int64": (pd.Series(rng.integers(-50, 1000, N), dtype="int64"), ContinuousTransformer(seed=1)),
        "int32": (pd.Series(rng.integers(0, 9, N), dtype="int32"), ContinuousTransformer(seed=1)),
        "float_nulls": (_with_nulls(pd.Series(bimodal)), NullIndicator(ContinuousTransformer(seed=1))),
        "Int64_nulls": (_with_nulls(pd.Series(rng.integers(0, 100, N))).astype("Int64"),
                        NullIndicator(ContinuousTransformer(seed=1))),
        "datetime_ns": (ts, DatetimeTransformer(seed=1)),
        "datetime_us": (ts.astype("datetime64[us]"), DatetimeTransformer(seed=1)),
        "datetime_tz": (ts.dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"), DatetimeTransformer(seed=1)),
        "datetime_nulls": (_with_nulls(ts.dt.floor("D")), NullIndicator(DatetimeTransformer(seed=1))),
        "datetime_str": (ts.dt.strftime("%Y-%m-%d %H:%M:%S").astype(object), DatetimeTransformer(seed=1)),
        "category": (cats, OneHotTransformer()),
        "category_nulls": (_with_nulls(cats), OneHotTransformer()),
        "category_dtype": (cats.astype("category"), OneHotTransformer()),
        "int_category": (pd.Series(rng.choice([3, 5, 11], N)), OneHotTransformer()),
        "embedding": (pd.Series([f"id{i % 120}" for i in range(N)], dtype=object), EmbeddingTransformer()),
        "embedding_nulls": (_with_nulls(pd.Series([f"{i % 90:03d}" for i in range(N)], dtype=object)),
                            EmbeddingTransformer()),
        "bool": (pd.Series(rng.random(N) < 0.3), BooleanTransformer()),
        "boolean_nulls": (_with_nulls(pd.Series(rng.random(N) < 0.3)).astype("boolean"), BooleanTransformer()),
        "constant_int": (pd.Series(np.full(N, 4), dtype="int64"), ConstantTransformer()),
        "constant_str": (pd.Series(["x"] * N, dtype=object), ConstantTransformer()),
        "constant_ts": (pd.Series(pd.to_datetime(["2021-05-01"] * N)).dt.tz_localize("UTC"), ConstantTransformer()),
        "all_null": (pd.Series([np.nan] * N), ConstantTransformer()),
        "excluded": (pd.Series(np.arange(N), dtype="int64"), ExcludedTransformer()),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_transformer_contract(name):
    data, transformer = CASES[name]
    data = data.rename(name)
    transformer.fit(data)
    encoded = transformer.transform(data)
    assert encoded.dtype == np.float32
    assert encoded.shape == (N, transformer.data_dim)
    assert transformer.data_dim == sum(s.data_dim for s in transformer.spans)
    back = transformer.inverse_transform(encoded)
    assert back.name == name and len(back) == N

    if isinstance(transformer, ExcludedTransformer):
        assert back.isna().all() and str(back.dtype) == "Int64"
    else:
        assert back.dtype == data.dtype, (back.dtype, data.dtype)
        assert back.isna().mean() == pytest.approx(data.isna().mean())
        present = ~data.isna().to_numpy()
        if isinstance(transformer, (OneHotTransformer, ConstantTransformer)):
            pd.testing.assert_series_equal(_none_for_null(back), _none_for_null(data.reset_index(drop=True)),
                                           check_names=False)
        elif "datetime" in name:
            # The encoded matrix is float32, so a datetime comes back to within seconds, in its format.
            if name == "datetime_str":
                assert back.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
                got, want = pd.to_datetime(back), pd.to_datetime(data)
            else:
                got, want = back, data
            err = (got[present] - want[present]).abs().max()
            assert err <= pd.Timedelta(minutes=1)
        else:
            x, y = back[present].astype(float).to_numpy(), data[present].astype(float).to_numpy()
            assert np.all((x >= y.min()) & (x <= y.max()))
            assert np.abs(x - y).max() <= 1e-6 * max(1.0, np.abs(y).max()) + 1.0

    config, arrays = transformer.to_dict()
    json.dumps(config)  # JSON-able
    assert all(np.asarray(a).dtype != object for a in arrays.values())
    rebuilt = transformer_from_state(json.loads(json.dumps(config)), arrays)
    np.testing.assert_array_equal(rebuilt.transform(data), encoded)
    pd.testing.assert_series_equal(rebuilt.inverse_transform(encoded), back)


def test_integers_and_floats_clipped_and_rounded():
    data = pd.Series(np.random.default_rng(0).integers(10, 20, 300), name="x")
    t = ContinuousTransformer(seed=0).fit(data)
    wild = t.transform(data)
    wild[:, 0] = np.linspace(-1, 1, len(data))
    back = t.inverse_transform(wild)
    assert back.dtype == np.int64 and back.min() >= 10 and back.max() <= 19
    money = pd.Series(np.round(np.random.default_rng(0).uniform(0, 10, 300), 2), name="m")
    tm = ContinuousTransformer(seed=0).fit(money)
    out = tm.inverse_transform(tm.transform(money)).to_numpy()
    np.testing.assert_allclose(out, np.round(out, 2))


def test_mixture_fits_on_bounded_sample():
    data = pd.Series(np.random.default_rng(0).normal(size=50_000), name="x")
    t = ContinuousTransformer(max_fit_rows=1000, seed=0).fit(data)
    assert 1 <= t.normalizer_.n_modes <= 10
    config, arrays = t.to_dict()
    assert set(arrays) == {"means", "stds", "weights", "spikes"} and len(arrays["spikes"]) == 0


def test_point_masses_are_exact_modes():
    rng = np.random.default_rng(1)
    n = 20_000
    gain = np.where(rng.random(n) < 0.9, 0, np.round(rng.lognormal(8, 1, n))).astype("int64")
    years = rng.choice(np.arange(1, 17), n, p=np.r_[np.full(8, 0.02), np.full(8, 0.105)])
    t = ContinuousTransformer(seed=0).fit(pd.Series(gain, name="gain"))
    assert list(t.normalizer_.spikes_) == [0.0]
    enc = t.transform(pd.Series(gain, name="gain"))
    assert np.all(enc[gain == 0, 0] == 0)  # alpha is 0 at an exact mode
    # Whatever scalar the generator emits, an exact mode decodes to exactly its value.
    noisy = enc.copy()
    noisy[:, 0] = rng.uniform(-1, 1, n)
    back = t.inverse_transform(noisy).to_numpy()
    assert np.all(back[gain == 0] == 0)
    ty = ContinuousTransformer(seed=0).fit(pd.Series(years, name="years"))
    # integers are learned as differences from their minimum (here 1)
    assert list(ty.normalizer_.spikes_ + ty.offset_) == list(range(1, 17)) and len(ty.normalizer_.means_) == 0
    noisy = ty.transform(pd.Series(years, name="years"))
    noisy[:, 0] = rng.uniform(-1, 1, n)
    assert np.array_equal(ty.inverse_transform(noisy).to_numpy(), years)
    plain = ContinuousTransformer(seed=0, spike_share=None).fit(pd.Series(gain, name="gain"))
    assert len(plain.normalizer_.spikes_) == 0


def test_table_transformer_layout_and_roundtrip():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "id": np.arange(200),
        "amount": rng.gamma(2.0, 10.0, 200).round(2),
        "qty": rng.integers(1, 5, 200),
        "code": pd.Series(rng.choice(["10", "20", "30"], 200), dtype=object),
        "city": [f"c{i % 70}" for i in range(200)],
        "flag": rng.random(200) < 0.5,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 1000, 200), unit="h"),
        "const": 1.5,
        "note": ["free text"] * 200,
    })
    meta = Table(name="t", columns=(Column(name="id", type="id"), Column(name="note", type="text")))
    tt = TableTransformer(meta, embedding_threshold=50, seed=0).fit(df)
    assert tt.excluded_columns == ["id", "note"]
    assert "const" not in tt.modelled_columns
    kinds = {s.column: s.kind for s in tt.spans if s.kind in ("category", "embedding")}
    assert kinds == {"code": "category", "city": "embedding", "flag": "category"}
    assert {s.activation for s in tt.spans} == {"tanh", "softmax"}
    enc = tt.transform(df)
    assert enc.shape == (200, tt.data_dim)
    assert tt.output_dim == sum(s.dim for s in tt.spans)
    back = tt.inverse_transform(enc)
    assert list(back.columns) == list(df.columns)
    assert back["code"].tolist() == df["code"].tolist()
    assert back["city"].tolist() == df["city"].tolist()
    assert back["qty"].dtype == np.int64 and back["when"].dtype == df["when"].dtype
    assert back["id"].isna().all() and back["note"].isna().all()
    assert (back["const"] == 1.5).all()
    config, arrays = tt.to_dict()
    rebuilt = TableTransformer.from_dict(json.loads(json.dumps(config)), arrays)
    np.testing.assert_array_equal(rebuilt.transform(df), enc)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="Call fit\\(\\) first"):
        OneHotTransformer().transform(pd.Series(["a"]))
    with pytest.raises(NotFittedError, match="Call fit\\(\\) first"):
        TableTransformer().spans  # noqa: B018


# ------------------------------------------------------------------ shared dtype layer (every backend)
def _dtype_cases() -> dict[str, pd.Series]:
    import datetime as dt
    import decimal

    rng = _rng()
    out = {name: data for name, (data, t) in CASES.items() if not isinstance(t, ExcludedTransformer)}
    out.update({
        "ordered_category": pd.Series(pd.Categorical(rng.choice(["lo", "mid"], N), categories=["lo", "mid", "hi"],
                                                     ordered=True)),
        "Int32_nulls": _with_nulls(pd.Series(rng.integers(0, 9, N))).astype("Int32"),
        "dates": pd.Series([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, N)], dtype=object),
        "decimals": pd.Series([decimal.Decimal(f"{v:.2f}") for v in rng.uniform(0, 99, N)], dtype=object),
        "py_bools": pd.Series([bool(v) for v in rng.random(N) < 0.4], dtype=object),
    })
    return out


DTYPE_CASES = _dtype_cases()


@pytest.mark.parametrize("name", sorted(DTYPE_CASES))
def test_values_read_and_restored_in_their_dtype(name):
    # what the copula uses: one semantic type inference, the values read, then restored unchanged
    from pyspark_synth.transformers.dtypes import (
        datetime_format,
        read_values,
        restore_datetimes,
        restore_numbers,
        restore_values,
    )
    from pyspark_synth.transformers.table import infer_semantic_type

    data = DTYPE_CASES[name].rename(name)
    stype = infer_semantic_type(data)
    expected = {"dates": "datetime", "decimals": "numerical", "py_bools": "boolean", "ordered_category": "categorical",
                "datetime_str": "datetime"}  # text in one date format is read as dates (issue 23)
    if name in expected:
        assert stype == expected[name]
    fmt = datetime_format(data) if stype == "datetime" else None
    values, null, value_type = read_values(data, stype, fmt)
    assert np.array_equal(null, data.isna().to_numpy()) or stype == "numerical"
    if stype == "numerical":
        back = restore_numbers(values, null, str(data.dtype), is_int=pd.api.types.is_integer_dtype(data.dtype),
                               value_type=value_type, decimals=2 if value_type == "decimal" else None)
    elif stype == "datetime":
        back = restore_datetimes(values, null, str(data.dtype), value_type=value_type, fmt=fmt)
    else:
        cats = list(data.dtype.categories) if isinstance(data.dtype, pd.CategoricalDtype) else None
        ordered = bool(getattr(data.dtype, "ordered", False))
        back = restore_values(values.to_numpy(), null, str(data.dtype), cats, ordered)
    assert back.dtype == data.dtype, (back.dtype, data.dtype)
    pd.testing.assert_series_equal(_none_for_null(back), _none_for_null(data.reset_index(drop=True)), check_names=False)


def test_declared_types_win_where_the_data_allow_them():
    from pyspark_synth.transformers.table import infer_semantic_type

    strings = pd.Series(["2021-01-02", "2021-03-04", None], dtype=object)
    assert infer_semantic_type(strings, "datetime") == "datetime"  # parsed as dates
    assert infer_semantic_type(pd.Series([1.5, 2.5]), "datetime") == "numerical"
    assert infer_semantic_type(pd.Series([True, False]), "numerical") == "boolean"
    assert infer_semantic_type(pd.Series([1, 2]), "categorical") == "categorical"
    assert infer_semantic_type(pd.Series(["a", "b"]), "boolean") == "categorical"
    assert infer_semantic_type(pd.Series([1, 2]), "id") == "id"
