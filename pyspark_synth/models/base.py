"""The model contract every backend follows, and the registry of backends by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from pyspark_synth.errors import NotFittedError, SynthError
from pyspark_synth.models._archive import read_archive, write_archive

__all__ = [
    "SynthModel",
    "backend_arguments",
    "get_backend",
    "list_backends",
    "load_model_bytes",
    "register_backend",
    "shippable_backend",
    "user_backends",
]


class SynthModel(ABC):
    """A per-table generative model: pandas in, pandas out, bytes for shipping; no Spark.

    Contract (what the Spark engine relies on):
      * `__init__(metadata=None, *, batch_size=500, epochs=300, seed=None, **kwargs)` only stores
        its arguments. `metadata` is the table's `pyspark_synth.metadata.Table` (or None).
      * `fit(data, context=None, **kw)` learns from `data` (one row per table row) and, when given,
        `context` (the parent's context columns aligned row-wise); returns self.
      * `sample(num_rows, context=None, *, seed=None, conditions=None)` returns `num_rows` rows with
        the training columns and dtypes; with `context` it returns one row per context row
        (`num_rows == len(context)`). The same (num_rows, context, seed) gives the same rows.
      * `to_bytes()` / `from_bytes(data)` round-trip the fitted model with no pickle;
        `save(path, overwrite=False)` / `load(path)` do the same through a file.
    """

    name: ClassVar[str] = "base"
    # the training functions set torch's threads around fit() only for a backend that uses torch
    # (importing torch costs a Python worker seconds; the copula never needs it)
    uses_torch: ClassVar[bool] = True

    @abstractmethod
    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, **kwargs: Any) -> SynthModel:
        """Learn the table (and its dependence on `context`)."""

    @abstractmethod
    def sample(self, num_rows: int, context: pd.DataFrame | None = None, *, seed: int | None = None,
               conditions: dict[str, Any] | None = None, **kwargs: Any) -> pd.DataFrame:
        """Generate rows."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """The fitted model as bytes (a pickle-free archive)."""

    @classmethod
    @abstractmethod
    def from_bytes(cls, data: bytes) -> SynthModel:
        """Rebuild a fitted model from `to_bytes()` output."""

    # ------------------------------------------------------------------ helpers
    @property
    def is_fitted(self) -> bool:
        """True after a successful fit (or load)."""
        return getattr(self, "fitted_", False)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet. Call fit() first.")

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted model to one file (a zip of JSON and NumPy arrays)."""
        self._check_fitted()
        return write_archive(path, self.to_bytes(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> SynthModel:
        """Load a model saved with `save()`."""
        return cls.from_bytes(read_archive(path))


_BACKENDS: dict[str, type[SynthModel]] = {}


def register_backend(name: str, cls: type | None = None):  # noqa: ANN201 - decorator or call
    """Register a model class under `name` (case-insensitive); usable as a decorator.

    The class must follow the SynthModel contract (fit, sample, to_bytes, from_bytes).
    """

    def _do(c: type) -> type:
        missing = [m for m in ("fit", "sample", "to_bytes", "from_bytes") if not callable(getattr(c, m, None))]
        if missing:
            raise SynthError(f"Backend '{name}' ({c.__qualname__}) does not follow the model contract: missing {missing}")
        _BACKENDS[name.lower()] = c
        return c

    return _do(cls) if cls is not None else _do


def get_backend(name: str) -> type[SynthModel]:
    """The model class registered under `name` (a built-in backend's module is imported when first
    asked for, so a worker that only needs the copula never imports torch)."""
    _load_builtin(name)
    try:
        return _BACKENDS[name.lower()]
    except KeyError:
        raise SynthError(f"Unknown model backend '{name}'. Registered backends: {sorted(_BACKENDS)}. "
                         "Register a class with pyspark_synth.models.register_backend(name, cls).") from None


def list_backends() -> list[str]:
    """Names of the registered backends."""
    _load_builtins()
    return sorted(_BACKENDS)


def load_model_bytes(data: bytes, backend: type[SynthModel] | None = None) -> SynthModel:
    """Rebuild a fitted model of any registered backend from its bytes (the archive names its kind).

    `backend` is the class to use instead of the look-up by kind: a user's class travels in the UDF
    closure (see `shippable_backend`), since executors never ran the driver's `register_backend`.
    """
    if backend is not None:
        return backend.from_bytes(data)
    from pyspark_synth.models._archive import unpack

    header, _ = unpack(data)
    return get_backend(header["kind"]).from_bytes(data)


_BUILTINS = {"ctgan": "pyspark_synth.models.ctgan", "copula": "pyspark_synth.models.copula",
             "gaussian_copula": "pyspark_synth.models.copula", "autoregressive": "pyspark_synth.models.autoregressive",
             "autoregressive_sequential": "pyspark_synth.models.autoregressive_sequence"}
_BUILTIN_MODULES = tuple(dict.fromkeys(_BUILTINS.values()))


def shippable_backend(name: str) -> type[SynthModel] | None:
    """The class registered under `name` when it is a user's (to ship to executors), else None.

    Built-in backends are found by name on executors; a user's class is registered only in the
    driver's process, so generation closures carry it (cloudpickle sends it by reference when its
    module is importable there, by value when it is defined in `__main__` or a function).
    """
    _load_builtin(name)
    cls = _BACKENDS.get(name.lower())
    if cls is None or cls.__module__ in _BUILTIN_MODULES:
        return None
    return cls


def backend_arguments(name: str, cls: type, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The constructor arguments for backend `cls` (named `name`), checked before any training.

    `epochs` and `batch_size` are given to every backend by the fit functions; a backend whose
    constructor does not take them, or that says `trains_in_epochs = False` (the copula), does not
    get them, and the returned notes say so when they were set. Any other argument the constructor does not take
    is an error, so a misspelt hyper-parameter is never ignored silently.

    Returns:
        (arguments to pass, notes for the fit report).

    Raises:
        SynthError: An argument is not a parameter of the backend (the error lists its parameters).
    """
    import difflib
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return dict(arguments), []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(arguments), []
    accepted = {n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n != "metadata"}
    epochless = not getattr(cls, "trains_in_epochs", True)
    out, notes = {}, []
    for key, value in arguments.items():
        if key in accepted and not (epochless and key in ("epochs", "batch_size")):
            out[key] = value
        elif key in ("epochs", "batch_size"):
            if value is not None:
                notes.append(f"{key}={value!r} not used: the '{name}' backend does not train in epochs or batches")
        else:
            close = difflib.get_close_matches(key, sorted(accepted), n=2)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise SynthError(f"Backend '{name}' has no parameter '{key}'.{hint} Its parameters: {sorted(accepted)}")
    return out, notes


def user_backends() -> dict[str, type[SynthModel]]:
    """The registered backends that are not built in (`{name: class}`), to ship to executors."""
    return {name: cls for name, cls in _BACKENDS.items() if cls.__module__ not in _BUILTIN_MODULES}


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        _import_builtin(mod)


def _load_builtin(name: str) -> None:
    """Import the module of built-in backend `name` if it is not registered yet (every built-in
    module for a name that is not a built-in one, so the error lists them all)."""
    key = name.lower()
    if key in _BACKENDS:
        return
    if key in _BUILTINS:
        _import_builtin(_BUILTINS[key])
    else:
        _load_builtins()


def _import_builtin(mod: str) -> None:
    import importlib

    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        if exc.name != mod:
            raise
