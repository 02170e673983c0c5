"""The batch API: BaseLLM.execute_many, its pass through cache and meter, the coalescer
that turns concurrent calls into batches, and the thread tuner."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from autotune.errors import BudgetExceeded
from autotune.llm import Budget, CachedLLM, MeteredLLM, SamplingParams, ScriptedLLM, user
from autotune.llm._threads import ThreadTuner
from autotune.llm.base import Outcome, Request
from autotune.llm.batching import Coalescer
from autotune.llm.types import Completion, Message

PARAMS = SamplingParams(max_tokens=5)


class BatchRecorder(ScriptedLLM):
    """Echoes the last message; records the batches ``execute_many`` receives."""

    def __init__(self) -> None:
        super().__init__(lambda messages, params: messages[-1].content.upper())
        self.batches: list[list[str]] = []

    @property
    def batch_size(self) -> int:
        return 8

    def execute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        self.batches.append([r.messages[-1].content for r in requests])
        return super().execute_many(requests)


def _requests(*words: str) -> list[Request]:
    return [Request([user(word)], PARAMS) for word in words]


def test_default_execute_many_gives_each_request_its_own_outcome() -> None:
    llm = ScriptedLLM(lambda m, p: m[-1].content, fail_on=lambda m: m[-1].content == "bad")
    outcomes = llm.execute_many(_requests("a", "bad", "c"))
    assert [o.text for o in outcomes if isinstance(o, Completion)] == ["a", "c"]
    assert isinstance(outcomes[1], RuntimeError)
    concurrent = asyncio.run(llm.aexecute_many(_requests("x", "bad")))
    assert isinstance(concurrent[0], Completion) and isinstance(concurrent[1], RuntimeError)


def test_cache_sends_only_misses_as_one_batch(tmp_path: Path) -> None:
    inner = BatchRecorder()
    cached = CachedLLM(inner, tmp_path / "c.sqlite")
    cached.execute(*_requests("b")[0])
    outcomes = cached.execute_many(_requests("a", "b", "c", "a"))
    assert inner.batches == [["a", "c"]]  # "b" was cached; the second "a" is sent once
    assert [o.text for o in outcomes if isinstance(o, Completion)] == ["A", "B", "C", "A"]
    assert [o.cached for o in outcomes if isinstance(o, Completion)] == [False, True, False, True]
    again = asyncio.run(cached.aexecute_many(_requests("a", "c")))
    assert all(isinstance(o, Completion) and o.cached for o in again)
    assert len(inner.batches) == 1


def test_meter_reserves_per_request_and_the_budget_refuses_the_rest() -> None:
    inner = BatchRecorder()
    metered = MeteredLLM(inner, budget=Budget(max_calls=3))
    outcomes = metered.execute_many(_requests("a", "b", "c", "d", "e"))
    assert inner.batches == [["a", "b", "c"]]
    assert [type(o) for o in outcomes[3:]] == [BudgetExceeded, BudgetExceeded]
    usage = metered.meter.snapshot()
    assert usage.calls == 3 and usage.failed_calls == 0


def test_meter_counts_cache_hits_in_a_batch_as_free(tmp_path: Path) -> None:
    inner = BatchRecorder()
    metered = MeteredLLM(CachedLLM(inner, tmp_path / "c.sqlite"))
    metered.execute_many(_requests("a", "b"))
    metered.execute_many(_requests("a", "b", "c"))
    usage = metered.meter.snapshot()
    assert (usage.calls, usage.cached_calls) == (3, 2)


def test_coalescer_batches_concurrent_callers_and_delivers_failures_last() -> None:
    sent: list[list[str]] = []
    order: list[str] = []

    async def send(batch: list[Request]) -> list[Outcome]:
        sent.append([r.messages[-1].content for r in batch])
        return [
            RuntimeError("no") if r.messages[-1].content == "bad" else _answer(r.messages)
            for r in batch
        ]

    async def call(coalescer: Coalescer, word: str) -> None:
        try:
            await coalescer.submit(_requests(word)[0])
            order.append(word)
        except RuntimeError:
            order.append(f"failed {word}")

    async def main() -> None:
        coalescer = Coalescer(send, max_batch=3)
        await asyncio.gather(*(call(coalescer, w) for w in ["bad", "a", "b", "c", "d"]))
        await call(coalescer, "alone")

    asyncio.run(main())
    assert sent == [["bad", "a", "b"], ["c", "d"], ["alone"]]
    assert order[:3] == ["a", "b", "failed bad"]  # answers reach their callers first


def _answer(messages: Sequence[Message]) -> Completion:
    return Completion(messages[-1].content, "stop", 1, 1, 0.0, "m")


def test_tuner_uses_one_thread_while_other_work_fills_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (9.0, 9.0, 9.0))
    tuner = ThreadTuner(2)
    assert {tuner.choose(300) for _ in range(50)} == {1}


def test_tuner_tries_each_count_then_keeps_the_fastest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    monkeypatch.setattr("os.getloadavg", lambda: (0.5, 0.5, 0.5))
    tuner = ThreadTuner(8)
    assert tuner.choose(300) == 1
    tuner.record(300, 1, 3.0)
    assert tuner.choose(300) == 8  # each count is tried once before any is preferred
    tuner.record(300, 8, 0.6)
    picks = [tuner.choose(300) for _ in range(40)]
    assert picks.count(8) > 35 and 1 in picks  # mostly the fastest, the other now and then
    assert tuner.best(300) == 8
    assert tuner.best(1) is None  # single-token decodes are measured apart
