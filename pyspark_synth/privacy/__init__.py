"""PII detection and scrubbing (mask, HMAC hash, locale-aware fakes)."""
