"""A deadline for the model calls of the current task or thread (a wall-time budget).

:class:`~autotune.llm.accounting.MeteredLLM` sets it from ``Budget.max_wall_s`` around
each call; backends that wait on the network cap every attempt's timeout (and their
retries) by the time left, so a hanging server cannot stretch a wall-time budget by
more than one call's timeout. A context variable reaches through wrappers (cache) and
into ``asyncio`` tasks and ``to_thread`` workers without changing any signature.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("autotune_call_deadline", default=None)


def remaining_s() -> float | None:
    """Seconds left before the current deadline (may be <= 0), or None without one."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


@contextlib.contextmanager
def deadline_in(seconds: float | None) -> Iterator[None]:
    """Calls inside must end within ``seconds`` (an earlier deadline already set wins)."""
    if seconds is None:
        yield
        return
    wanted = time.monotonic() + seconds
    current = _DEADLINE.get()
    token = _DEADLINE.set(wanted if current is None else min(current, wanted))
    try:
        yield
    finally:
        _DEADLINE.reset(token)
