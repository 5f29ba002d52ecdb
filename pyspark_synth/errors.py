"""The error hierarchy: one root, each subclass also a matching builtin so callers can catch either."""

from __future__ import annotations

__all__ = [
    "SynthError",
    "MetadataError",
    "ForeignKeyError",
    "CycleError",
    "NotFittedError",
    "SerializationError",
    "ModelVersionError",
    "PrivacyError",
    "PrivacyWarning",
    "ConstraintError",
    "WriteError",
    "MissingDependencyError",
    "DataError",
]


class SynthError(Exception):
    """Root of every error raised by pyspark_synth."""


class MetadataError(SynthError, ValueError):
    """The metadata (tables, columns, keys, rules) is inconsistent or incomplete."""


class ForeignKeyError(MetadataError):
    """A foreign key points at something that does not exist or does not match."""


class CycleError(MetadataError):
    """The foreign-key graph has a cycle, so there is no parents-first order."""

    def __init__(self, message: str, cycle: list[str] | None = None) -> None:
        super().__init__(message)
        self.cycle = list(cycle or [])


class DataError(SynthError, ValueError):
    """The data does not match what the metadata or the call expects."""


class NotFittedError(SynthError, RuntimeError):
    """A model or table was used before it was fitted."""


class SerializationError(SynthError, OSError):
    """A saved model or archive is missing, corrupt or cannot be written."""


class ModelVersionError(SerializationError):
    """A saved model was written by an incompatible version of the library."""


class PrivacyError(SynthError, ValueError):
    """A PII rule is invalid (missing column, unknown action, missing key)."""


class PrivacyWarning(UserWarning):
    """Part of a fit is not covered by the privacy guarantee asked for (differential privacy)."""


class ConstraintError(SynthError, ValueError):
    """A constraint is invalid or cannot be satisfied."""


class WriteError(SynthError, OSError):
    """Writing generated tables failed; nothing half-written is left visible."""


class MissingDependencyError(SynthError, ImportError):
    """An optional dependency is needed for this call but is not installed."""

    def __init__(self, package: str, purpose: str, extra: str | None = None) -> None:
        hint = f"pip install 'pyspark-synth[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{purpose} needs the package '{package}', which is not installed. Install it with: {hint}")
        self.package = package
