"""The loopback model server double: deterministic answers, fixed latency, slot limit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from model_double import digest_answer, model_double

from autotune.llm import load_llm
from autotune.llm.types import Message


def test_answers_are_deterministic_through_the_openai_client(tmp_path: Path) -> None:
    with model_double(lambda messages: messages[-1]["content"].upper(), latency_s=0.01) as server:
        llm = load_llm(f"openai:double@{server.base_url}", no_cache=True)
        first = llm.complete([Message("user", "say hi")]).text
        second = llm.complete([Message("user", "say hi")]).text
    assert first == second == "SAY HI"
    assert server.requests == 2


def test_latency_and_the_concurrency_limit_hold() -> None:
    with model_double(latency_s=0.2, max_concurrency=2) as server:
        llm = load_llm(f"openai:double@{server.base_url}", no_cache=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            texts = list(pool.map(lambda i: llm.complete([Message("user", str(i))]).text, range(8)))
        wall = time.perf_counter() - started
    assert wall >= 4 * 0.2  # eight requests through two slots: four rounds
    assert server.max_in_flight == 2
    assert server.queued >= 4
    assert texts == [digest_answer([{"role": "user", "content": str(i)}]) for i in range(8)]


def test_enough_slots_serve_requests_in_parallel() -> None:
    with model_double(latency_s=0.2, max_concurrency=16) as server:
        llm = load_llm(f"openai:double@{server.base_url}", no_cache=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: llm.complete([Message("user", str(i))]).text, range(8)))
        wall = time.perf_counter() - started
    assert wall < 4 * 0.2
    assert server.queued == 0
