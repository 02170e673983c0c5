"""When to try an OpenAI-compatible request again: the server's word, else backoff."""

from __future__ import annotations

import email.utils
import random
import time

import httpx

_MAX_RETRY_AFTER_S = 60.0


def retry_after_s(headers: httpx.Headers | None) -> float | None:
    """The server's ``retry-after-ms`` / ``Retry-After`` (seconds or a date), if sane."""
    if headers is None:
        return None
    seconds: float | None = None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
            break
        except ValueError:
            continue
    if seconds is None:
        parsed = email.utils.parsedate_tz(headers.get("retry-after", ""))
        if parsed is not None:
            seconds = float(email.utils.mktime_tz(parsed) - time.time())
    if seconds is None or not 0 < seconds <= _MAX_RETRY_AFTER_S:
        return None
    return seconds


def backoff_s(attempt: int) -> float:
    """The SDK's schedule: 0.5 s doubling up to 8 s, minus up to 25 % jitter."""
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())
