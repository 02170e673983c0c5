"""How many threads llama.cpp should use, chosen by measured speed rather than core count.

On a machine shared with other work, more threads can make a decode several times
slower: llama.cpp's threads meet at a barrier after every operation of the graph and
spin there, so one thread the OS has put aside stalls all the others. Measured on the
2-core development host under a load average of 10-14: a 250-token prompt took 2.7-4.5 s
with one thread and 9.7-23.9 s with two. On an idle machine two threads are the faster.

So the tuner times decodes at each candidate thread count and uses the fastest,
trying the others again now and then because the load changes. Decodes are bucketed
by size (a 500-token prompt and a 16-token generation step scale differently). It tries
more than one thread only while the load average leaves a core free: one such try under
full load cost 10-12 s for a 30-token decode that takes 0.5 s on one thread.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHA = 0.3  # weight of the newest measurement in the running average
# Another thread count is tried at the 8th, 16th, 32nd, ... decode of a bucket, then every
# 128th: often while little is known, rarely later (a slow try can cost 5x its decode).
_EXPLORE_SPARSE = 128


class ThreadTuner:
    """Keeps a running seconds-per-token average per (bucket, thread count)."""

    def __init__(self, most: int) -> None:
        self.candidates = tuple(sorted({1, max(1, most)}))
        self._cost: dict[tuple[int, int], float] = {}
        self._count: dict[int, int] = {}
        self._lock = threading.Lock()
        self._busy = (0.0, True)  # (checked at, whether other work fills the cores)

    def choose(self, n_tokens: int) -> int:
        """The thread count for a decode of ``n_tokens`` tokens."""
        bucket = _bucket(n_tokens)
        if len(self.candidates) == 1 or self._cores_busy():
            return 1
        with self._lock:
            count = self._count.get(bucket, 0)
            self._count[bucket] = count + 1
            untried = [n for n in self.candidates if (bucket, n) not in self._cost]
            if untried:
                return untried[0]
            ranked = sorted(self.candidates, key=lambda n: self._cost[(bucket, n)])
            if len(ranked) > 1 and _explore(count):
                return ranked[1]
            return ranked[0]

    def record(self, n_tokens: int, threads: int, seconds: float) -> None:
        """Take one timed decode into the averages."""
        if n_tokens <= 0 or seconds <= 0:
            return
        key = (_bucket(n_tokens), threads)
        per_token = seconds / n_tokens
        with self._lock:
            old = self._cost.get(key)
            self._cost[key] = per_token if old is None else old + _ALPHA * (per_token - old)

    def _cores_busy(self) -> bool:
        """Whether the 1-minute load average leaves less than one core free (checked at
        most once a second; without a load average, assume busy: one thread is safe)."""
        checked_at, busy = self._busy
        now = time.monotonic()
        if now - checked_at >= 1.0:
            try:
                load = os.getloadavg()[0]
            except OSError:
                load = float("inf")
            busy = load > (os.cpu_count() or 1) - 0.5
            self._busy = (now, busy)
        return busy

    def best(self, n_tokens: int) -> int | None:
        """The fastest thread count measured for decodes of this size, if any."""
        bucket = _bucket(n_tokens)
        with self._lock:
            known = [n for n in self.candidates if (bucket, n) in self._cost]
            return min(known, key=lambda n: self._cost[(bucket, n)]) if known else None


def _explore(count: int) -> bool:
    if count >= _EXPLORE_SPARSE:
        return count % _EXPLORE_SPARSE == 0
    return count >= 8 and count & (count - 1) == 0


def _bucket(n_tokens: int) -> int:
    """1 token, up to 63 (generation steps), 64 and more (prompts)."""
    return 0 if n_tokens <= 1 else 1 if n_tokens < 64 else 2
