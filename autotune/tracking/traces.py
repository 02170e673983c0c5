"""Record model calls for tracing, without MLflow: :class:`TracedLLM` and :class:`CallLog`.

Wrap a model in :class:`TracedLLM` and every call (messages, answer, tokens, start and
end time, the :mod:`call scopes <autotune.llm.scope>` it ran in) is appended to a
:class:`CallLog`. A tracker later turns the log into traces (one per case, a span per
Reflexion step and per call); the LLM layer itself never learns about tracing.
Recording costs a tuple append per call; writing traces is the tracker's business.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from autotune.llm.base import BaseLLM, LLMWrapper
from autotune.llm.scope import CallScope, current_scopes
from autotune.llm.types import Completion, Message, SamplingParams

DEFAULT_MAX_RECORDS = 20_000


@dataclass(frozen=True)
class CallRecord:
    """One model call as it happened."""

    model: str
    role: str
    messages: tuple[Message, ...]
    params: SamplingParams
    start_ns: int
    end_ns: int
    completion: Completion | None
    error: str
    scopes: tuple[CallScope, ...]


class CallLog:
    """A thread-safe, bounded list of :class:`CallRecord`; :meth:`drain` empties it."""

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.max_records = max_records
        self.dropped = 0
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()

    def add(self, record: CallRecord) -> None:
        with self._lock:
            if len(self._records) >= self.max_records:
                self.dropped += 1
                return
            self._records.append(record)

    def drain(self) -> list[CallRecord]:
        """The records so far (oldest first); the log starts empty again."""
        with self._lock:
            records, self._records = self._records, []
        return records

    def __len__(self) -> int:
        return len(self._records)


class TracedLLM(LLMWrapper):
    """Passes every call to ``inner`` and records it in ``log``.

    Args:
        inner: The model.
        log: Where records go.
        role: What the model is for (``task``, ``meta``), shown on calls outside a scope.
    """

    def __init__(self, inner: BaseLLM, log: CallLog, role: str = "task") -> None:
        super().__init__(inner)
        self.log = log
        self.role = role

    def __repr__(self) -> str:
        return f"TracedLLM({self.inner!r}, role={self.role!r})"

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        start = time.time_ns()
        try:
            completion = self.inner.execute(messages, params)
        except Exception as exc:
            self._record(messages, params, start, None, exc)
            raise
        self._record(messages, params, start, completion, None)
        return completion

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        start = time.time_ns()
        try:
            completion = await self.inner.aexecute(messages, params)
        except Exception as exc:
            self._record(messages, params, start, None, exc)
            raise
        self._record(messages, params, start, completion, None)
        return completion

    def _record(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        start: int,
        completion: Completion | None,
        error: Exception | None,
    ) -> None:
        self.log.add(
            CallRecord(
                model=self.name,
                role=self.role,
                messages=tuple(messages),
                params=params,
                start_ns=start,
                end_ns=time.time_ns(),
                completion=completion,
                error="" if error is None else f"{type(error).__name__}: {error}",
                scopes=current_scopes(),
            )
        )


@dataclass
class CallGroup:
    """The calls of one root scope (a case), or one call made outside any scope."""

    root: CallScope | None
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def start_ns(self) -> int:
        first = min(call.start_ns for call in self.calls)
        return min(first, self.root.start_ns) if self.root and self.root.start_ns else first

    @property
    def end_ns(self) -> int:
        return max(call.end_ns for call in self.calls)

    @property
    def key(self) -> str:
        return self.root.key if self.root is not None else ""

    @property
    def failed(self) -> bool:
        return any(call.error for call in self.calls)


def group_calls(records: Sequence[CallRecord]) -> list[CallGroup]:
    """Records grouped by their outermost scope, in the order the groups started."""
    groups: dict[int, CallGroup] = {}
    alone: list[CallGroup] = []
    for record in records:
        if not record.scopes:
            alone.append(CallGroup(None, [record]))
            continue
        root = record.scopes[0]
        groups.setdefault(root.id, CallGroup(root)).calls.append(record)
    return sorted([*groups.values(), *alone], key=lambda group: group.start_ns)


def pick_groups(
    groups: Sequence[CallGroup], limit: int, failed_keys: frozenset[str] = frozenset()
) -> list[CallGroup]:
    """At most ``limit`` groups: failed ones first (they explain scores), then the rest,
    each in start order. ``failed_keys`` names root scopes whose results failed."""
    failing = [g for g in groups if g.failed or (g.key and g.key in failed_keys)]
    chosen = failing[:limit]
    chosen_ids = {id(g) for g in chosen}
    chosen += [g for g in groups if id(g) not in chosen_ids][: limit - len(chosen)]
    return sorted(chosen, key=lambda group: group.start_ns)
