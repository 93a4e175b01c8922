"""Last line of defence against secrets in output.

Every secret the run loads is registered here; every message written to the
terminal or a log goes through :func:`redact`. Results the user explicitly
asked to see (``--show``) are the only text that bypasses it.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

MASK = "****"
_lock = threading.Lock()
_secrets: set[str] = set()

# Patterns that carry secrets whatever their value: query parameters and headers. Pattern
# text: re compiles (and caches) them at the first redaction, not at start-up.
_PATTERNS = (
    r"(?i)((?:client_)?secret=)[^&\s\"']+",
    r"(?i)(access_token=)[^&\s\"']+",
    r"(?i)(authorization:\s*(?:bearer|basic)\s+)\S+",
    r"(?i)(\"(?:access_token|client_secret|secret|apiKey|api_key|token)\"\s*:\s*\")[^\"]+",
)


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` masks it wherever it appears, also
    URL-encoded (as a query parameter or a form field carries it)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.update({value, quote(value, safe=""), quote_plus(value)})


def clear_secrets() -> None:
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = re.sub(pattern, lambda m: m.group(1) + MASK, text)
    return text


def mask(value: str | None, *, keep: int = 4) -> str:
    """``abcd…wxyz``-style preview of a secret, safe to print.

    At most a quarter of the value shows (``keep`` characters at each end, fewer
    for shorter values); a value too short for that is fully masked.
    """
    if not value:
        return ""
    keep = min(keep, len(value) // 8)
    if keep == 0:
        return MASK
    return f"{value[:keep]}…{value[-keep:]}"
