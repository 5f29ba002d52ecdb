"""The HMAC secret key: found in an argument, a Spark conf or the environment; never shown."""

from __future__ import annotations

import hashlib
import hmac
import os

from pyspark_synth.errors import PrivacyError

__all__ = ["CONF_KEY", "ENV_VAR", "MIN_KEY_BYTES", "SecretKey", "resolve_key"]

CONF_KEY = "spark.synth.hmacKey"
ENV_VAR = "PYSPARK_SYNTH_HMAC_KEY"
MIN_KEY_BYTES = 16

_HOW = (
    f"pass key=... (at least {MIN_KEY_BYTES} bytes), set the Spark conf {CONF_KEY} or the environment "
    f"variable {ENV_VAR}"
)


class SecretKey:
    """A secret HMAC key whose repr and str never show its value.

    `fingerprint` (a keyed digest of a constant) identifies the key in logs without revealing it.
    """

    __slots__ = ("_secret", "source")

    def __init__(self, secret: bytes | str, source: str = "argument") -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(raw) < MIN_KEY_BYTES:
            raise PrivacyError(
                f"The HMAC key from {source} is {len(raw)} bytes long; it must be at least {MIN_KEY_BYTES} bytes "
                "(use e.g. secrets.token_hex(32)). The key itself is not shown."
            )
        self._secret = raw
        self.source = source

    def reveal(self) -> bytes:
        """The key bytes (to hand to an HMAC or a UDF closure; never log them)."""
        return self._secret

    @property
    def fingerprint(self) -> str:
        """8 hex characters that identify the key without revealing it."""
        return hmac.new(self._secret, b"pyspark_synth.key-fingerprint", hashlib.sha256).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"SecretKey(source={self.source!r}, fingerprint={self.fingerprint!r}, value='***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.fingerprint)


def resolve_key(key: SecretKey | bytes | str | None = None, *, conf_value: str | None = None) -> SecretKey | None:
    """The key from the argument, else the Spark conf value, else the environment; None when absent.

    Args:
        key: A key given by the caller.
        conf_value: The value of the Spark conf `spark.synth.hmacKey`, read by the caller.
    """
    if isinstance(key, SecretKey):
        return key
    if key is not None and len(key) > 0:
        return SecretKey(key, "argument")
    if conf_value:
        return SecretKey(conf_value, f"Spark conf {CONF_KEY}")
    env = os.environ.get(ENV_VAR)
    if env:
        return SecretKey(env, f"environment variable {ENV_VAR}")
    return None


def missing_key_error(columns: list[str]) -> PrivacyError:
    """The error raised when hash or fake rules have no key."""
    return PrivacyError(
        f"PII rules for column(s) {columns} (action hash or fake) need a secret HMAC key, and none was found. "
        f"To fix: {_HOW}. A plain unsalted hash is never used."
    )
