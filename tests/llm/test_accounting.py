"""Usage meter, budgets and prices."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autotune.errors import BudgetExceeded
from autotune.llm import (
    Budget,
    CachedLLM,
    Message,
    MeteredLLM,
    SamplingParams,
    ScriptedLLM,
    UsageMeter,
    price_usd,
)


def ask(llm: MeteredLLM, text: str) -> str:
    return llm.execute([Message("user", text)], SamplingParams()).text


def test_meter_counts_calls_tokens_and_cache_hits_apart(tmp_path: Path) -> None:
    inner = ScriptedLLM(["two words"])
    llm = MeteredLLM(CachedLLM(inner, tmp_path / "c.sqlite"))
    ask(llm, "one two three")
    ask(llm, "one two three")  # cache hit
    ask(llm, "four")
    usage = llm.meter.snapshot()
    assert (usage.calls, usage.cached_calls, usage.failed_calls) == (2, 1, 0)
    assert usage.prompt_tokens == 3 + 1
    assert usage.completion_tokens == 2 + 2
    assert usage.tokens == 8
    assert usage.usd == 0.0  # the fake backend is local


def test_failures_are_counted() -> None:
    llm = MeteredLLM(ScriptedLLM(fail_on=lambda m: True))
    with pytest.raises(RuntimeError):
        ask(llm, "x")
    usage = llm.meter.snapshot()
    assert (usage.calls, usage.failed_calls) == (0, 1)


def test_call_budget_stops_before_the_call_and_cache_hits_are_free(tmp_path: Path) -> None:
    inner = ScriptedLLM(["ok"])
    llm = MeteredLLM(CachedLLM(inner, tmp_path / "c.sqlite"), budget=Budget(max_calls=2))
    ask(llm, "a")
    ask(llm, "a")  # served from cache: does not use the budget
    ask(llm, "b")
    with pytest.raises(BudgetExceeded) as caught:
        ask(llm, "c")
    assert inner.calls == 2
    assert (caught.value.resource, caught.value.limit, caught.value.used) == ("calls", 2, 2)


def test_token_budget(tmp_path: Path) -> None:
    inner = ScriptedLLM(["a b c d e"])  # 5 completion tokens per call
    llm = MeteredLLM(inner, budget=Budget(max_tokens=10))
    ask(llm, "x")  # 1 + 5 = 6 tokens
    ask(llm, "y")  # 12 tokens: the call that crosses the limit still finishes
    with pytest.raises(BudgetExceeded, match="tokens"):
        ask(llm, "z")
    assert inner.calls == 2


def test_dollar_budget_uses_the_price_map() -> None:
    inner = ScriptedLLM(["word " * 50])
    inner.backend = "openai"
    inner.model_id = "gpt-4o-mini"
    per_call = price_usd("openai", "gpt-4o-mini", 1, 50)
    assert per_call > 0
    llm = MeteredLLM(inner, budget=Budget(max_usd=per_call * 2.5))
    for _ in range(3):
        ask(llm, "x")
    with pytest.raises(BudgetExceeded, match="usd"):
        ask(llm, "x")
    assert llm.meter.snapshot().usd == pytest.approx(per_call * 3)


def test_wall_time_budget() -> None:
    llm = MeteredLLM(ScriptedLLM(), meter=UsageMeter(), budget=Budget(max_wall_s=0.05))
    ask(llm, "x")
    time.sleep(0.06)
    with pytest.raises(BudgetExceeded, match="wall_s"):
        ask(llm, "x")


def test_concurrent_callers_cannot_overshoot_the_call_budget() -> None:
    inner = ScriptedLLM(latency_s=0.02)
    llm = MeteredLLM(inner, budget=Budget(max_calls=5))

    def attempt(i: int) -> bool:
        try:
            ask(llm, str(i))
        except BudgetExceeded:
            return False
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert sum(outcomes) == 5
    assert inner.calls == 5


def test_shared_meter_gives_models_a_common_budget() -> None:
    meter, budget = UsageMeter(), Budget(max_calls=3)
    first = MeteredLLM(ScriptedLLM(), meter, budget)
    second = MeteredLLM(ScriptedLLM(), meter, budget)
    ask(first, "a")
    ask(second, "b")
    ask(first, "c")
    with pytest.raises(BudgetExceeded):
        ask(second, "d")


def test_async_calls_are_metered() -> None:
    llm = MeteredLLM(ScriptedLLM(["x y"]), budget=Budget(max_calls=3))

    async def run() -> None:
        for _ in range(3):
            await llm.aexecute([Message("user", "q")], SamplingParams())
        await llm.aexecute([Message("user", "q")], SamplingParams())

    with pytest.raises(BudgetExceeded):
        asyncio.run(run())
    assert llm.meter.snapshot().completion_tokens == 6


def test_prices_come_from_genai_prices_and_local_models_are_free() -> None:
    from genai_prices import Usage as TokenUsage
    from genai_prices import calc_price

    usage = TokenUsage(input_tokens=1000, output_tokens=200)
    expected = float(calc_price(usage, model_ref="gpt-4o-mini").total_price)
    assert expected > 0
    assert price_usd("openai", "gpt-4o-mini", 1000, 200) == pytest.approx(expected)
    assert price_usd("llama_cpp", "gpt-4o-mini", 1000, 200) == 0.0
    assert price_usd("openai", "my-own-finetune-xyz", 1000, 200) == 0.0
