"""Values as real as the data in every backend (issue 23): dates in their own format, large integers,
infinities, unused categories of a categorical dtype, duplicated column names."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import DataError
from pyspark_synth.metadata import Column, Table
from pyspark_synth.transformers import TableTransformer, infer_semantic_type
from pyspark_synth.transformers.dateformats import format_dates, learn_format, parse_dates

BACKENDS = ("copula", "ctgan", "autoregressive", "autoregressive_sequential")
MAX = 2**63 - 1


def _model(backend: str, metadata: Table | None, epochs: int = 1):
    from pyspark_synth.models.autoregressive import AutoregressiveModel
    from pyspark_synth.models.autoregressive_sequence import SequentialAutoregressiveModel
    from pyspark_synth.models.copula import GaussianCopula
    from pyspark_synth.models.ctgan import CTGAN

    if backend == "copula":
        return GaussianCopula(metadata, seed=0)
    if backend == "ctgan":
        return CTGAN(metadata, epochs=epochs, seed=0, batch_size=100, generator_dim=(32,), critic_dim=(32,),
                     num_threads=1)
    if backend == "autoregressive":
        return AutoregressiveModel(metadata, epochs=epochs, seed=0, rare_threshold=1, hidden_size=16, num_threads=1)
    return SequentialAutoregressiveModel(metadata, epochs=epochs, seed=0, rare_threshold=1, hidden_size=16,
                                         num_threads=1)


def fit_sample(backend: str, data: pd.DataFrame, metadata: Table | None = None, *, rows: int = 600,
               epochs: int = 1) -> pd.DataFrame:
    """Fit a tiny model of `backend`, save and load it, and draw rows from the loaded model."""
    model = _model(backend, metadata, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            if backend == "autoregressive_sequential":
                model.fit(data, group=np.arange(len(data)) // 4)
                loaded = type(model).from_bytes(model.to_bytes())
                out, _ = loaded.sample(num_parents=rows // 4, seed=3)
                return out.reset_index(drop=True)
            if backend == "ctgan":
                model.fit(data, progress_bar=False)
            else:
                model.fit(data)
            return type(model).from_bytes(model.to_bytes()).sample(rows, seed=3)
        finally:
            logging.disable(logging.NOTSET)


# ------------------------------------------------------------------------------------ dates
def _days(n: int, start: str = "1994-03-01", freq: str = "9D") -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq=freq))


def test_formats_are_learned_from_the_values():
    d = _days(300)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S.%3f", "%d.%m.%Y",
                "int:%Y%m%d"):
        written = pd.Series(format_dates(d, fmt))
        assert learn_format(written) == fmt, fmt
        assert parse_dates(written, fmt).equals(d), fmt
    # a column of two-digit years: the century is learned so the years form one span (1994-2001)
    yy = pd.Series(format_dates(d, "int:%y%m%d;pivot=50"), dtype="int64")
    fmt = learn_format(yy)
    assert fmt == "int:%y%m%d;pivot=94" and parse_dates(yy, fmt).equals(d)
    assert list(format_dates(parse_dates(yy, fmt), fmt)) == list(yy)
    # not dates: mixed formats, invalid dates, numbers, free text
    assert learn_format(pd.Series(["2021-01-02", "02/01/2021"])) is None
    assert learn_format(pd.Series(["2021-02-30", "2021-01-01"])) is None
    assert learn_format(pd.Series(np.arange(1000))) is None
    assert learn_format(pd.Series(["alpha", "2021-01-01"])) is None
    assert learn_format(pd.Series([20210230, 20210101])) is None
    # a null marker is a null: kept in the format, parsed as NaT, written back for nulls
    marked = pd.Series(["2021-01-02", "\\N", "2021-03-04", "\\N"])
    fmt = learn_format(marked)
    assert fmt == "%Y-%m-%d;null=\\N" and parse_dates(marked, fmt).isna().tolist() == [False, True, False, True]
    assert list(format_dates(parse_dates(marked, fmt), fmt)) == list(marked)
    assert learn_format(pd.Series(["\\N", "NA"])) is None


def test_text_in_one_date_format_is_read_as_dates():
    d = _days(50)
    assert infer_semantic_type(pd.Series(format_dates(d, "%d/%m/%Y"))) == "datetime"
    assert infer_semantic_type(pd.Series(["a", "b", "a"])) == "categorical"
    ymd = pd.Series(format_dates(d, "int:%Y%m%d"), dtype="int64")
    assert infer_semantic_type(ymd) == "numerical"  # integers are dates only when declared so
    assert infer_semantic_type(ymd, "datetime") == "datetime"
    assert infer_semantic_type(pd.Series(np.arange(50)), "datetime") == "numerical"


@pytest.mark.parametrize("backend", BACKENDS)
def test_dates_come_back_in_their_own_format(backend):
    rng = np.random.default_rng(0)
    n = 400
    d = _days(n).sample(frac=1.0, random_state=1).reset_index(drop=True)
    iso, dmy = pd.Series(format_dates(d, "%Y-%m-%d")), pd.Series(format_dates(d, "%d/%m/%Y"))
    dmy[rng.random(n) < 0.1] = None
    marked = pd.Series(format_dates(d, "%Y-%m-%d %H:%M"))
    marked[rng.random(n) < 0.2] = "\\N"  # as CSV dumps write a missing value
    data = pd.DataFrame({"date": iso, "dob": dmy, "fp1_time": marked, "quali_date": pd.Series(format_dates(d, "int:%Y%m%d"), dtype="int64"),
                         "yymmdd": pd.Series(format_dates(d, "int:%y%m%d;pivot=90"), dtype="int64"),
                         "x": rng.normal(size=n)})
    md = Table(name="t", columns=(Column(name="date", type="datetime"), Column(name="dob", type="datetime"),
                                  Column(name="fp1_time", type="datetime"),
                                  Column(name="quali_date", type="datetime"), Column(name="yymmdd", type="datetime"),
                                  Column(name="x", type="numerical")))
    out = fit_sample(backend, data, md)
    lo, hi = d.min(), d.max()
    for col, fmt in (("date", "%Y-%m-%d"), ("dob", "%d/%m/%Y"), ("quali_date", "int:%Y%m%d"),
                     ("yymmdd", "int:%y%m%d;pivot=90")):
        values = out[col].dropna().reset_index(drop=True)
        assert len(values) > 0.2 * len(out), col  # (a one-epoch GAN draws nulls freely)
        if fmt.startswith("int:"):
            assert pd.api.types.is_integer_dtype(out[col].dtype), (col, out[col].dtype)
        else:
            assert values.map(type).eq(str).all(), col
        parsed = parse_dates(values, fmt)
        assert parsed.notna().all(), (col, values[parsed.isna()].head().tolist())
        assert parsed.min() >= lo and parsed.max() <= hi, col
        # the dates are spread like the real ones (a day/month mix-up would pile them up)
        assert abs((parsed.median() - d.median()) / (hi - lo)) < 0.2, col
        assert list(format_dates(parsed, fmt)) == list(values), col  # the same representation
    assert out["dob"].isna().any() and out["date"].notna().all()
    # missing values written as "\\N" come back written so, the others as "yyyy-mm-dd HH:MM"
    fp1 = out["fp1_time"]
    assert fp1.notna().all() and 0 < (fp1 == "\\N").mean() < 0.8, (fp1 == "\\N").mean()
    assert parse_dates(fp1[fp1 != "\\N"], "%Y-%m-%d %H:%M").notna().all()


# --------------------------------------------------------------------------------- integers
@pytest.mark.parametrize("backend", BACKENDS)
def test_large_integers_come_back_exact_and_in_range(backend):
    rng = np.random.default_rng(0)
    n = 400
    few = rng.choice(np.array([MAX, MAX - 1, MAX - 6], dtype=np.int64), n)
    near = (2**60 + rng.integers(0, 10_000, n)).astype(np.int64)  # above 2**53: floats would round them
    wide = rng.integers(-(2**63), MAX, n, dtype=np.int64, endpoint=True)
    wide[:2] = [MAX, -(2**63)]
    unsigned = (np.uint64(2**64 - 1) - rng.integers(0, 1000, n).astype(np.uint64)).astype(np.uint64)
    data = pd.DataFrame({"few": few, "near": near, "wide": wide, "unsigned": unsigned, "x": rng.normal(size=n)})
    md = Table(name="t", columns=tuple(Column(name=c, type="numerical") for c in data.columns))
    out = fit_sample(backend, data, md)
    assert out["few"].dtype == np.int64 and out["few"].isin(few).mean() > 0.97  # (the copula interpolates
    # a quantile function: a few rows fall between two values)
    for col in ("few", "near", "wide", "unsigned"):
        assert out[col].dtype == data[col].dtype, col
        assert out[col].min() >= data[col].min() and out[col].max() <= data[col].max(), col
    assert (out["wide"] != -(2**63)).any()
    assert len(np.unique(out["near"].to_numpy() % 1000)) > 100  # the low digits are kept, not rounded away


# ------------------------------------------------------------------------------- infinities
def _with_infinities(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    r = rng.random(n)
    x[r < 0.10] = np.inf
    x[(r >= 0.10) & (r < 0.15)] = -np.inf
    x[(r >= 0.15) & (r < 0.25)] = np.nan
    return pd.DataFrame({"x": x, "y": rng.normal(size=n)})


def test_infinities_go_through_the_transformers_exactly():
    data = _with_infinities(500)
    tt = TableTransformer(seed=0).fit(data)
    back = tt.inverse_transform(tt.transform(data))
    assert np.isposinf(back["x"]).sum() == np.isposinf(data["x"]).sum()
    assert np.isneginf(back["x"]).sum() == np.isneginf(data["x"]).sum()
    assert back["x"].isna().sum() == data["x"].isna().sum()
    same = TableTransformer.from_dict(*tt.to_dict())
    assert same.inverse_transform(tt.transform(data)).equals(back)


@pytest.mark.parametrize("backend", BACKENDS)
def test_infinities_keep_their_share(backend):
    data = _with_infinities(800)
    out = fit_sample(backend, data, None, rows=2000, epochs=80 if backend == "ctgan" else 1)
    x = out["x"]
    real = {"inf": 0.10, "-inf": 0.05, "null": 0.10}
    got = {"inf": float(np.isposinf(x).mean()), "-inf": float(np.isneginf(x).mean()), "null": float(x.isna().mean())}
    tol = 0.08 if backend == "ctgan" else 0.04  # a GAN learns shares less closely
    for k, share in real.items():
        assert abs(got[k] - share) <= tol, (k, got)
    assert np.isfinite(x).mean() > 0.5


# ------------------------------------------------------------------------------- categories
@pytest.mark.parametrize("backend", BACKENDS)
def test_unused_categories_are_never_generated_and_order_is_kept(backend):
    rng = np.random.default_rng(0)
    n = 400
    dtype = pd.CategoricalDtype(["low", "mid", "high", "never"], ordered=True)
    level = pd.Series(pd.Categorical(rng.choice(["low", "mid", "high"], n, p=[0.5, 0.3, 0.2]), dtype=dtype))
    one = pd.Series(pd.Categorical(["a"] * n, categories=["a", "b"], ordered=True))
    data = pd.DataFrame({"level": level, "one": one, "x": rng.normal(size=n)})
    out = fit_sample(backend, data)
    assert out["level"].dtype == dtype and out["one"].dtype == one.dtype
    assert (out["level"] == "never").sum() == 0 and out["level"].notna().all()
    assert out["level"].max() in ("mid", "high")  # ordered: comparisons work


# -------------------------------------------------------------------------------- duplicates
@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicated_column_names_are_refused(backend):
    data = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "a"])
    with pytest.raises(DataError, match=r"columns \['a'\] appear more than once; rename them"):
        fit_sample(backend, data)
