"""Writers and readers: Delta (delta-rs) and Parquet, atomic and isolated, on any URI, conf untouched."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality

from pyspark_synth.errors import DataError, WriteError
from pyspark_synth.io import leases
from pyspark_synth.io.readers import read_table
from pyspark_synth.io.writers import write_table, write_tables

ROOT = Path(__file__).resolve().parents[2]


def people_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "person_id": np.arange(1, n + 1, dtype=np.int32),
        "age": rng.integers(18, 90, n).astype(np.int64),
        "income": income,
        "city": rng.choice(["Tokyo", "Berlin", "Lima", "Oslo"], n),
        "active": rng.random(n) < 0.7,
        "signup": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        "birth": [dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20000, n)],
    })


PEOPLE_SCHEMA = ("person_id int not null, age bigint, income double, city string, active boolean, "
                 "signup timestamp, birth date")


@pytest.fixture(scope="module")
def people(spark):
    return spark.createDataFrame(people_frame(2500, seed=5), schema=PEOPLE_SCHEMA)


def _rows(spark, n: int, tag: str):
    from pyspark.sql import functions as F

    return spark.range(n).select(F.col("id"), F.lit(tag).alias("writer"))


def _boom_df(spark):
    """A DataFrame whose first Spark job fails: a call that raises before it proves no job ran."""
    def boom(it):
        for _ in it:
            raise RuntimeError("a Spark job ran")
        yield from ()

    return spark.range(3).mapInPandas(boom, "id long")


# ------------------------------------------------------------------------ moved from test_generation.py


def test_delta_without_jars_is_read_back_by_deltalake(spark, people, tmp_path):
    from deltalake import DeltaTable

    df = people
    paths = spark.synth.write({"people": df}, str(tmp_path / "out"))
    dt_ = DeltaTable(paths["people"])
    assert dt_.version() == 0
    back = dt_.to_pandas().sort_values("person_id").reset_index(drop=True)
    expected = df.toPandas().sort_values("person_id").reset_index(drop=True)
    assert len(back) == 2500
    pd.testing.assert_frame_equal(back[["person_id", "age", "city", "active"]], expected[["person_id", "age", "city", "active"]], check_dtype=False)
    np.testing.assert_allclose(back["income"].to_numpy(float), expected["income"].to_numpy(float), equal_nan=True)
    assert (pd.to_datetime(back["signup"]).dt.tz_localize(None) == expected["signup"]).all()
    # Spark reads the same files as Parquet (Delta's data files are plain Parquet); a Delta directory
    # now keeps every version's files, so the files of the current version are read, not the directory
    assert spark.read.parquet(*dt_.file_uris()).count() == 2500
    with pytest.raises(WriteError, match=r"already exists. Pass mode='overwrite'"):
        spark.synth.write({"people": df}, str(tmp_path / "out"))
    spark.synth.write({"people": df.limit(10)}, str(tmp_path / "out"), mode="overwrite")
    assert len(DeltaTable(paths["people"]).to_pandas()) == 10


def test_parquet_round_trip(spark, people, tmp_path):
    df = people
    paths = spark.synth.write({"people": df}, str(tmp_path / "pq"), format="parquet")
    # Parquet readers mark every column nullable; values and types must match
    assert_df_equality(spark.read.parquet(paths["people"]), df, ignore_row_order=True, ignore_nullable=True)


def test_failed_write_leaves_nothing_visible(spark, people, tmp_path):
    def boom(it):
        for pdf in it:
            if len(pdf):
                raise RuntimeError("executor failure in the middle of a write")
            yield pdf

    bad = people.repartition(2).mapInPandas(boom, people.schema)
    target = tmp_path / "half"
    with pytest.raises(Exception, match="executor failure"):
        write_table(bad, str(target))
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ modes, versions, errors


def test_bad_mode_format_and_options_fail_before_any_spark_job(spark, tmp_path):
    bad = _boom_df(spark)
    with pytest.raises(WriteError, match=r"unknown mode 'upsert'. Use one of \['error', 'overwrite', 'append'\]"):
        write_table(bad, str(tmp_path / "x"), mode="upsert")
    with pytest.raises(WriteError, match=r"unknown format 'csv'. Use one of \['delta', 'parquet'\]"):
        write_table(bad, str(tmp_path / "x"), format="csv")
    with pytest.raises(WriteError, match=r"storage_options must be a mapping of strings to strings"):
        write_table(bad, str(tmp_path / "x"), storage_options={"timeout": 5})
    with pytest.raises(WriteError, match=r"write_tables: unknown mode 'merge'"):
        write_tables({"a": bad}, str(tmp_path / "y"), mode="merge")
    with pytest.raises(WriteError, match=r"table names \['a/b'\] cannot be directory names"):
        write_tables({"a/b": bad}, str(tmp_path / "y"))
    assert list(tmp_path.iterdir()) == []


def test_delta_overwrite_is_a_new_version_with_history_and_time_travel(spark, tmp_path):
    from deltalake import DeltaTable

    target = str(tmp_path / "t")
    write_table(_rows(spark, 30, "first"), target)
    write_table(_rows(spark, 7, "second"), target, mode="overwrite")
    table = DeltaTable(target)
    assert table.version() == 1
    assert [h["operation"] for h in table.history()] == ["WRITE", "CREATE TABLE"]
    assert set(table.to_pandas()["writer"]) == {"second"} and len(table.to_pandas()) == 7
    v0 = DeltaTable(target, version=0).to_pandas()
    assert len(v0) == 30 and set(v0["writer"]) == {"first"}
    # the reader gives the same versions through Spark, in parallel
    assert read_table(spark, target).count() == 7
    assert read_table(spark, target, version=0).where("writer = 'first'").count() == 30
    # an overwrite may change the schema; the old version keeps its own
    write_table(spark.range(3).selectExpr("id * 2 as doubled"), target, mode="overwrite")
    assert DeltaTable(target).schema().fields[0].name == "doubled"
    assert read_table(spark, target, version=0).columns == ["id", "writer"]


def test_delta_append_adds_a_version_and_checks_columns_before_writing(spark, tmp_path):
    from deltalake import DeltaTable

    target = str(tmp_path / "t")
    write_table(_rows(spark, 5, "a"), target, mode="append")  # append creates a missing table
    write_table(_rows(spark, 4, "b").select("writer", "id"), target, mode="append")  # column order follows the table
    table = DeltaTable(target)
    assert table.version() == 1
    counts = table.to_pandas().groupby("writer").size().to_dict()
    assert counts == {"a": 5, "b": 4}
    with pytest.raises(WriteError, match=r"Cannot append to Delta table .*missing \['writer'\], extra \['x'\]"):
        write_table(_boom_df(spark).withColumnRenamed("id", "x").selectExpr("x", "x as id"), target, mode="append")
    assert DeltaTable(target).version() == 1
    assert sorted(p.name for p in Path(target).iterdir() if p.name.startswith("synth-")) == sorted(
        {Path(u).parent.name for u in table.file_uris()})


def test_parquet_append_and_overwrite(spark, tmp_path):
    target = tmp_path / "p"
    write_table(_rows(spark, 6, "a"), str(target), format="parquet", mode="append")
    write_table(_rows(spark, 3, "b"), str(target), format="parquet", mode="append")
    got = spark.read.parquet(str(target)).groupBy("writer").count().toPandas().set_index("writer")["count"].to_dict()
    assert got == {"a": 6, "b": 3}
    with pytest.raises(WriteError, match=r"Cannot append to Parquet table .*other type \['id'\]"):
        write_table(_boom_df(spark).selectExpr("cast(id as string) as id", "'c' as writer"), str(target),
                    format="parquet", mode="append")
    with pytest.raises(WriteError, match=r"already exists. Pass mode='overwrite'"):
        write_table(_boom_df(spark), str(target), format="parquet")
    write_table(_rows(spark, 2, "c"), str(target), format="parquet", mode="overwrite")
    assert spark.read.parquet(str(target)).count() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no staging, no old copy beside it


def test_delta_timestamps_are_microseconds_readable_everywhere(spark, tmp_path):
    """Far dates (outside the nanosecond range INT96 decodes to) keep their exact microseconds."""
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    stamps = [dt.datetime(1000, 1, 2, 3, 4, 5, 123456), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
              dt.datetime(2021, 6, 1, 12, 0, 0, 1), None]
    df = spark.createDataFrame([(i, t, [t], {"at": t}) for i, t in enumerate(stamps)],
                               "id int, t timestamp, ts array<timestamp>, m struct<at: timestamp>")
    target = str(tmp_path / "ts")
    write_table(df, target)
    expected = {r["id"]: r["us"] for r in df.select("id", F.unix_micros("t").alias("us")).collect()}
    table = DeltaTable(target)
    arrow = table.to_pyarrow_table()
    got = dict(zip(arrow.column("id").to_pylist(), arrow.column("t").cast("int64").to_pylist(), strict=True))
    assert got == expected
    back = read_table(spark, target)
    assert back.schema == df.schema
    spark_got = {r["id"]: (r["us"], r["first"], r["nested"]) for r in back.select(
        "id", F.unix_micros("t").alias("us"), F.unix_micros(F.col("ts")[0]).alias("first"),
        F.unix_micros("m.at").alias("nested")).collect()}
    assert spark_got == {i: (us, us, us) for i, us in expected.items()}


def test_writers_never_touch_the_session_conf(spark, people, tmp_path, monkeypatch):
    """Writes work on a session that refuses conf changes, and the conf is the same afterwards."""
    before = dict(spark.conf.getAll)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("this session refuses conf changes (as shared / serverless sessions do)")

    monkeypatch.setattr(spark.conf, "set", refuse)
    monkeypatch.setattr(spark.conf, "unset", refuse)
    small = people.limit(20)
    write_table(small, str(tmp_path / "d"))
    write_table(small, str(tmp_path / "d"), mode="append")
    write_table(small, str(tmp_path / "d"), mode="overwrite")
    write_table(small, str(tmp_path / "p"), format="parquet")
    write_table(small, str(tmp_path / "p"), format="parquet", mode="append")
    write_tables({"a": small, "b": small}, str(tmp_path / "many"), format="delta")
    read_table(spark, str(tmp_path / "d"), version=0).count()
    monkeypatch.undo()
    assert calls == []
    assert dict(spark.conf.getAll) == before


def test_storage_options_reach_delta_rs(spark, tmp_path, monkeypatch):
    import deltalake
    import deltalake.transaction as tx

    seen = []
    real_is, real_create = deltalake.DeltaTable.is_deltatable, tx.create_table_with_add_actions

    def is_deltatable(uri, storage_options=None):
        seen.append(("is_deltatable", storage_options))
        return real_is(uri, storage_options=None)

    def create(*args, storage_options=None, **kwargs):
        seen.append(("create", storage_options))
        return real_create(*args, storage_options=None, **kwargs)

    monkeypatch.setattr(deltalake.DeltaTable, "is_deltatable", staticmethod(is_deltatable))
    monkeypatch.setattr(tx, "create_table_with_add_actions", create)
    opts = {"AWS_REGION": "eu-west-1", "timeout": "30s"}
    write_tables({"a": _rows(spark, 3, "x")}, str(tmp_path / "many"), storage_options=opts)
    assert ("create", opts) in seen and ("is_deltatable", opts) in seen
    assert all(o == opts for _, o in seen)


# ------------------------------------------------------------------------ staging of dead writers


def _dead_lease(**extra) -> str:
    """A lease of a writer on this host whose process is gone."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    info = {"host": socket.gethostname(), "processes": [{"pid": int(proc.stdout), "start": None}],
            "started": time.time(), "heartbeat": time.time(), **extra}
    return json.dumps(info)


def test_parquet_staging_of_a_dead_writer_is_removed_and_a_live_ones_kept(spark, tmp_path):
    target = tmp_path / "p"
    dead = tmp_path / ".p.staging-dead1"
    dead.mkdir()
    (dead / "part-0.parquet").write_text("half")
    (tmp_path / ".p.lease-dead1").write_text(_dead_lease(phase="writing", mode="error"))
    live = tmp_path / ".p.staging-live1"
    live.mkdir()
    (tmp_path / ".p.lease-live1").write_text(json.dumps(leases.writer_info(spark)))
    legacy = tmp_path / ".p.staging-0123456789ab"  # what the previous version left, without a lease
    legacy.mkdir()
    os.utime(legacy, (time.time() - 2 * leases.STALE_AFTER_S,) * 2)
    write_table(_rows(spark, 4, "new"), str(target), format="parquet")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".p.lease-live1", ".p.staging-live1", "p"]
    assert spark.read.parquet(str(target)).count() == 4


def test_a_dead_writers_committed_append_is_finished_not_lost(spark, tmp_path):
    target = tmp_path / "p"
    write_table(_rows(spark, 5, "first"), str(target), format="parquet")
    staged = tmp_path / "staged"
    _rows(spark, 3, "dead").write.parquet(str(staged))
    os.rename(staged, tmp_path / ".p.staging-dead2")
    (tmp_path / ".p.lease-dead2").write_text(_dead_lease(phase="committing", mode="append"))
    write_table(_rows(spark, 2, "next"), str(target), format="parquet", mode="append")
    got = spark.read.parquet(str(target)).groupBy("writer").count().toPandas().set_index("writer")["count"].to_dict()
    assert got == {"first": 5, "dead": 3, "next": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_delta_data_of_a_dead_writer_is_removed_committed_data_kept(spark, tmp_path):
    from deltalake import DeltaTable

    target = tmp_path / "d"
    write_table(_rows(spark, 5, "first"), str(target))
    committed_dirs = sorted(p.name for p in target.iterdir() if p.name.startswith("synth-"))
    dead = target / "synth-dead3"
    dead.mkdir()
    (dead / "part-0.parquet").write_text("half")
    (dead / "_synth_lease.json").write_text(_dead_lease(phase="writing", read_version=0))
    write_table(_rows(spark, 2, "second"), str(target), mode="append")
    names = sorted(p.name for p in target.iterdir() if p.name.startswith("synth-"))
    assert "synth-dead3" not in names and set(committed_dirs) <= set(names) and len(names) == 2
    assert len(DeltaTable(str(target), version=0).to_pandas()) == 5
    assert len(DeltaTable(str(target)).to_pandas()) == 7


# ------------------------------------------------------------------------ concurrent and killed writers

_WRITER = textwrap.dedent("""
    import glob, os, sys, time
    from pyspark.sql import SparkSession, functions as F
    tag, n, mode, barrier, hold_s, started, *jobs = sys.argv[1:]
    spark = (SparkSession.builder.master("local[1]").appName("writer-" + tag)
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.driver.memory", "512m")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")  # starts faster
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")
    from pyspark_synth.errors import WriteError
    from pyspark_synth.io.writers import write_table

    def hold(it, started=started, hold_s=float(hold_s)):
        open(started, "a").close()   # the write's Spark job runs: its staging exists
        time.sleep(hold_s)           # keep it open so the other writer overlaps it
        yield from it

    df = spark.range(int(n), numPartitions=1).select(F.col("id"), F.lit(tag).alias("writer"))
    df = df.mapInPandas(hold, df.schema)
    for job in jobs:                 # fmt=target: both writers start each job together
        fmt, target = job.split("=", 1)
        open(f"{barrier}-{fmt}.{tag}", "w").close()
        while len(glob.glob(f"{barrier}-{fmt}.*")) < 2 and not barrier.endswith("solo"):
            time.sleep(0.02)
        try:
            write_table(df, target, format=fmt, mode=mode)
            print("RESULT", fmt, "ok", flush=True)
        except WriteError as exc:
            print("RESULT", fmt, "refused", exc, flush=True)
""")


def _start_writer(tag: str, n: int, mode: str, barrier: Path, hold_s: float, started: Path,
                  jobs: dict[str, Path]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "PYSPARK_PYTHON": sys.executable}
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, tag, str(n), mode, str(barrier), str(hold_s), str(started),
         *[f"{fmt}={target}" for fmt, target in jobs.items()]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(barrier.parent),
        start_new_session=True)


def _finish(proc: subprocess.Popen) -> dict[str, str]:
    """{format: "ok" or "refused <message>"} from a writer process."""
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    results = dict(line.split(" ", 2)[1:] for line in out.splitlines() if line.startswith("RESULT "))
    assert proc.returncode == 0 and results, f"writer failed (rc {proc.returncode}); stderr tail: {err[-3000:]}"
    return results


def _table_rows(spark, target: Path, fmt: str) -> dict[str, int]:
    df = read_table(spark, str(target)) if fmt == "delta" else spark.read.parquet(str(target))
    return df.groupBy("writer").count().toPandas().set_index("writer")["count"].to_dict()


FORMATS = ("delta", "parquet")


def _two_writers(tmp_path: Path, mode: str) -> tuple[dict[str, Path], dict[str, dict[str, str]]]:
    """Two processes write 300 (w1) and 200 (w2) rows to the same new Delta, then Parquet, target."""
    targets = {fmt: tmp_path / fmt / "t" for fmt in FORMATS}
    for t in targets.values():
        t.parent.mkdir()
    barrier = tmp_path / "barrier"
    procs = {tag: _start_writer(tag, n, mode, barrier, 3.0, tmp_path / f"started-{tag}", targets)
             for tag, n in (("w1", 300), ("w2", 200))}
    results = {tag: _finish(p) for tag, p in procs.items()}
    return targets, {fmt: {tag: results[tag].get(fmt, "missing") for tag in procs} for fmt in FORMATS}


@pytest.mark.slow
def test_two_processes_create_the_same_target_exactly_one_wins(spark, tmp_path):
    targets, results = _two_writers(tmp_path, "error")
    for fmt, by_writer in results.items():
        winners = [tag for tag, r in by_writer.items() if r == "ok"]
        losers = [r for r in by_writer.values() if r.startswith("refused")]
        assert len(winners) == 1 and len(losers) == 1, (fmt, by_writer)
        assert "while this one ran" in losers[0] and "mode='overwrite' to replace it" in losers[0], losers
        assert _table_rows(spark, targets[fmt], fmt) == {winners[0]: 300 if winners[0] == "w1" else 200}
        assert sorted(p.name for p in targets[fmt].parent.iterdir()) == ["t"]  # the loser left nothing beside it
    assert len([p for p in targets["delta"].iterdir() if p.name.startswith("synth-")]) == 1  # nor inside it


@pytest.mark.slow
def test_two_processes_append_to_the_same_new_target_both_land(spark, tmp_path):
    targets, results = _two_writers(tmp_path, "append")
    for fmt, by_writer in results.items():
        assert by_writer == {"w1": "ok", "w2": "ok"}, (fmt, by_writer)
        assert _table_rows(spark, targets[fmt], fmt) == {"w1": 300, "w2": 200}
        assert sorted(p.name for p in targets[fmt].parent.iterdir()) == ["t"]


def _wait_until_gone(pgid: int, timeout: float = 60.0) -> None:
    """Wait until no process of group `pgid` runs (a SIGKILLed JVM takes a moment to be torn down)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        running = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                running.append(stat.parent.name)
        if not running:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes {running} of the killed writer still run")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_killed_writer_leaves_no_staging_after_the_next_write(spark, tmp_path, fmt):
    target = tmp_path / "out" / "t"
    target.parent.mkdir()
    started = tmp_path / "started"
    proc = _start_writer("killed", 100, "error", tmp_path / "barrier-solo", 120.0, started, {fmt: target})
    deadline = time.time() + 180
    while not started.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()
    os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and its Python workers, mid-write
    proc.wait(timeout=60)
    _wait_until_gone(proc.pid)
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "t"]
    if fmt == "delta":
        leftovers += [p.name for p in target.iterdir()]
    assert leftovers, "the killed writer should have left staging behind for this test to mean anything"
    write_table(_rows(spark, 7, "next"), str(target), format=fmt)
    assert sorted(p.name for p in target.parent.iterdir()) == ["t"]
    assert _table_rows(spark, target, fmt) == {"next": 7}
    if fmt == "delta":
        from deltalake import DeltaTable

        referenced = {Path(u).parent.name for u in DeltaTable(str(target)).file_uris()}
        assert {p.name for p in target.iterdir() if p.name != "_delta_log"} == referenced


# ------------------------------------------------------------------------ any Hadoop file system


@pytest.fixture
def synthtest_scheme(spark, tmp_path):
    """A non-`file` scheme, `synthtest://t/...`, that only the session's Hadoop conf knows (local disk)."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    keys = {"fs.synthtest.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
            "fs.synthtest.impl.disable.cache": "true",
            "fs.viewfs.mounttable.t.linkFallback": "file:///"}
    saved = {k: conf.get(k) for k in keys}
    for k, v in keys.items():
        conf.set(k, v)
    yield f"synthtest://t{tmp_path}"
    for k, v in saved.items():
        if v is None:
            conf.unset(k)
        else:
            conf.set(k, v)


def test_parquet_on_a_hadoop_only_scheme(spark, people, tmp_path, synthtest_scheme):
    uri = f"{synthtest_scheme}/lake/people"
    small = people.limit(50)
    assert write_table(small, uri, format="parquet") == uri
    assert (tmp_path / "lake" / "people").is_dir()  # it went through the scheme to the disk
    with pytest.raises(WriteError, match=r"already exists"):
        write_table(_boom_df(spark), uri, format="parquet")
    write_table(small, uri, format="parquet", mode="append")
    assert read_table(spark, uri).count() == 100
    write_table(small.limit(5), uri, format="parquet", mode="overwrite")
    assert_df_equality(read_table(spark, uri), small.limit(5), ignore_row_order=True, ignore_nullable=True)
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == ["people"]
    paths = write_tables({"a": small, "b": small}, f"{synthtest_scheme}/many", format="parquet")
    assert paths == {"a": f"{synthtest_scheme}/many/a", "b": f"{synthtest_scheme}/many/b"}
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["a", "b"]


def test_a_path_without_scheme_is_on_the_default_file_system(spark, people, tmp_path, synthtest_scheme):
    """As in Spark, '/dir' means fs.defaultFS's /dir (HDFS on a cluster), not the driver's disk."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    saved = conf.get("fs.defaultFS")
    conf.set("fs.defaultFS", "synthtest://t/")
    try:
        written = write_table(people.limit(9), str(tmp_path / "viadefault"), format="parquet")
        assert written == f"{synthtest_scheme}/viadefault"
        assert read_table(spark, str(tmp_path / "viadefault")).count() == 9
    finally:
        conf.set("fs.defaultFS", saved)
    assert spark.read.parquet(str(tmp_path / "viadefault")).count() == 9  # the same files, on this disk


def test_delta_on_a_scheme_delta_rs_cannot_reach_says_so_before_any_job(spark, tmp_path, synthtest_scheme):
    uri = f"{synthtest_scheme}/lake/d"
    with pytest.raises(WriteError, match=r"delta-rs, which cannot reach the 'synthtest' scheme.*delta-spark.*"
                                         r"storage_options=.*format='parquet'"):
        write_table(_boom_df(spark), uri)
    assert not (tmp_path / "lake").exists()
    write_table(_rows(spark, 3, "x"), str(tmp_path / "local_delta"))
    with pytest.raises(DataError, match=r"cannot reach the 'synthtest' scheme"):
        read_table(spark, f"{synthtest_scheme}/local_delta")


# ------------------------------------------------------------------------ read_table


def test_read_table_sources_and_errors(spark, people, tmp_path):
    small = people.limit(40)
    assert read_table(spark, small) is small
    csv = tmp_path / "x.csv"
    people_frame(5).to_csv(csv, index=False)
    assert read_table(spark, str(csv)).count() == 5
    single = tmp_path / "one.parquet"
    people_frame(6).drop(columns=["signup"]).to_parquet(single)  # pandas writes nanoseconds
    assert read_table(spark, f"file://{single}").count() == 6
    write_table(small, str(tmp_path / "pq"), format="parquet")
    assert read_table(spark, tmp_path / "pq").count() == 40
    small.write.saveAsTable("read_table_probe")
    try:
        assert read_table(spark, "read_table_probe").count() == 40
    finally:
        spark.sql("DROP TABLE read_table_probe")
    with pytest.raises(DataError, match=r"Table 't': cannot read int; give a DataFrame, a table name or a path"):
        read_table(spark, 3, name="t")
    with pytest.raises(DataError, match=r"Table 'ghost': 'no_such_table_x' is not a readable path or a catalog table"):
        read_table(spark, "no_such_table_x", name="ghost")
    with pytest.raises(DataError, match=r"version=1 is for Delta tables, and the source is a Parquet directory"):
        read_table(spark, str(tmp_path / "pq"), version=1)
    with pytest.raises(DataError, match=r"version must be a Delta table version"):
        read_table(spark, str(tmp_path / "pq"), version=-1)


def test_read_table_delta_empty_partitioned_and_missing_version(spark, tmp_path):
    import pyarrow as pa
    from deltalake import write_deltalake

    empty = str(tmp_path / "empty")
    write_table(spark.createDataFrame([], "id long, name string"), empty)
    got = read_table(spark, empty)
    assert got.count() == 0 and got.columns == ["id", "name"]
    part = str(tmp_path / "part")
    write_deltalake(part, pa.table({"k": ["a b", "c", "c"], "v": [1, 2, 3]}), partition_by=["k"])
    back = read_table(spark, part).orderBy("v").collect()
    assert [(r.k, r.v) for r in back] == [("a b", 1), ("c", 2), ("c", 3)]
    with pytest.raises(DataError, match=r"cannot open version 5 with delta-rs"):
        read_table(spark, part, version=5)
