"""Structured logging: a structlog logger over the stdlib logger 'pyspark_synth', quiet by default."""

from __future__ import annotations

import logging

import structlog

__all__ = ["get_logger", "set_log_level"]

_ROOT = "pyspark_synth"
_std = logging.getLogger(_ROOT)
if _std.level == logging.NOTSET:
    _std.setLevel(logging.WARNING)
_std.addHandler(logging.NullHandler())

_PROCESSORS = [
    structlog.stdlib.filter_by_level,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.KeyValueRenderer(key_order=["event", "level"], sort_keys=True),
]


def get_logger(name: str = _ROOT) -> structlog.stdlib.BoundLogger:
    """Return a structlog logger bound to a stdlib logger under 'pyspark_synth'.

    Global structlog configuration is left untouched, so an application's own setup is not changed.
    """
    std = logging.getLogger(name if name.startswith(_ROOT) else f"{_ROOT}.{name}")
    return structlog.wrap_logger(std, processors=_PROCESSORS, wrapper_class=structlog.stdlib.BoundLogger)


def set_log_level(level: int | str = "INFO", *, stream: bool = True) -> None:
    """Make the library's log events visible at `level` (they are WARNING-and-above by default).

    Args:
        level: A logging level name or number.
        stream: Also attach a stderr handler when the logger has none that prints.
    """
    _std.setLevel(level)
    if stream and not any(isinstance(h, logging.StreamHandler) for h in _std.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        _std.addHandler(handler)
