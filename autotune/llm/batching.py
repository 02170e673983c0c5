"""Turn concurrent single calls into batches, for backends that decode many at once.

Code written one call at a time (an answer strategy awaiting ``llm.aexecute``) runs
unchanged in many coroutines. A backend that decodes several sequences together gives
each event loop a :class:`Coalescer`: its ``aexecute`` queues the call, and what has
gathered once every ready coroutine has had its turn goes to the model as one batch.
Calls that arrive while a batch runs form the next one. Wrappers above the backend
(cache, meter, tracing) still see, and count, one call at a time, in the caller's
context; only what reaches the backend is batched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from autotune.llm.base import Outcome, Request
from autotune.llm.types import Completion

# Event-loop turns to wait before sending a batch: a caller whose previous answer just
# arrived needs one turn to score it and ask again; more turns cost microseconds.
_SETTLE_TURNS = 3

SendBatch = Callable[[list[Request]], Awaitable[Sequence[Outcome]]]


class Coalescer:
    """Queues the calls of one event loop and sends them as batches of ``max_batch``.

    Args:
        send: Runs one batch (e.g. ``execute_many`` in a worker thread).
        max_batch: Most requests per batch.
    """

    def __init__(self, send: SendBatch, max_batch: int) -> None:
        self._send = send
        self.max_batch = max(1, max_batch)
        self._queue: list[tuple[Request, asyncio.Future[Completion]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Completion:
        """The completion of ``request``, decoded in a batch with its neighbours."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Completion] = loop.create_future()
        self._queue.append((request, future))
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send_batches())
        return await future

    async def _send_batches(self) -> None:
        while self._queue:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            taken = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            taken = [(request, future) for request, future in taken if not future.done()]
            if not taken:
                continue
            try:
                outcomes: Sequence[Outcome] = await self._send([r for r, _ in taken])
            except Exception as exc:  # the whole batch failed: every caller learns why
                outcomes = [exc] * len(taken)
            _deliver([future for _, future in taken], outcomes)


def _deliver(futures: list[asyncio.Future[Completion]], outcomes: Sequence[Outcome]) -> None:
    """Answers first, failures after: callers that got an answer keep it (their rows are
    stored) before a failure such as a spent budget stops the evaluation."""
    pairs = sorted(zip(futures, outcomes, strict=True), key=lambda p: isinstance(p[1], Exception))
    for future, outcome in pairs:
        if future.done():  # the caller was cancelled meanwhile
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
