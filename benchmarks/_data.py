"""Loaders shared by the benchmarks: real datasets from ../shared/datasets and measurement helpers."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

ADULT_TYPES: dict[str, str] = {
    "age": "numerical", "workclass": "categorical", "fnlwgt": "numerical", "education": "categorical",
    "education-num": "numerical", "marital-status": "categorical", "occupation": "categorical",
    "relationship": "categorical", "race": "categorical", "sex": "categorical", "capital-gain": "numerical",
    "capital-loss": "numerical", "hours-per-week": "numerical", "native-country": "categorical",
    "income": "categorical"}


def load_adult() -> pd.DataFrame:
    """UCI adult: leading spaces stripped, '?' read as missing."""
    return pd.read_csv(DATASETS / "adult" / "adult.csv", skipinitialspace=True, na_values=["?"])


def load_schema(name: str) -> dict[str, Any]:
    """A dataset's schema.json: {"tables": {name: {file, primary_key}}, "foreign_keys": [...]}."""
    return json.loads((DATASETS / name / "schema.json").read_text())


def load_csv_tables(name: str, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The dataset's tables as pandas frames (all of them, or `tables`)."""
    schema = load_schema(name)
    out = {}
    for t, spec in schema["tables"].items():
        if tables is None or t in tables:
            out[t] = pd.read_csv(DATASETS / name / spec["file"])
    return out


# ---------------------------------------------------------------- memory
def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process from /proc (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def peak_rss_bytes(pid: int | str = "self") -> int:
    """Peak resident set size (VmHWM) of a process from /proc (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class PeakSampler:
    """A daemon thread sampling callables every `interval` seconds and keeping each one's maximum."""

    def __init__(self, probes: dict[str, Any], interval: float = 0.25) -> None:
        self.probes = probes
        self.interval = interval
        self.peaks: dict[str, float] = {k: 0.0 for k in probes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _poll(self) -> None:
        for k, fn in self.probes.items():
            try:
                self.peaks[k] = max(self.peaks[k], float(fn()))
            except Exception:  # noqa: BLE001 - a probe failing (JVM busy, process gone) is skipped
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._poll()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()


def load_average() -> tuple[float, float, float]:
    return tuple(round(x, 1) for x in os.getloadavg())  # type: ignore[return-value]
