"""The SQLite response cache, on real SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autotune.llm import CachedLLM, Message, SamplingParams, ScriptedLLM, cache_key

HELLO = [Message("user", "hello")]


def test_second_identical_request_is_served_from_cache(tmp_path: Path) -> None:
    inner = ScriptedLLM(["first", "second"])
    llm = CachedLLM(inner, tmp_path / "c.sqlite")
    miss = llm.execute(HELLO, SamplingParams())
    hit = llm.execute(HELLO, SamplingParams())
    assert (miss.text, miss.cached) == ("first", False)
    assert (hit.text, hit.cached) == ("first", True)
    assert (hit.prompt_tokens, hit.completion_tokens) == (
        miss.prompt_tokens,
        miss.completion_tokens,
    )
    assert inner.calls == 1


def test_replay_from_a_new_process_view_makes_zero_inner_calls(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first_run = CachedLLM(ScriptedLLM(lambda m, p: m[-1].content.upper()), path)
    questions = [[Message("user", f"q{i}")] for i in range(5)]
    answers = [first_run.execute(q, SamplingParams()).text for q in questions]
    first_run.close()

    replay_inner = ScriptedLLM(["must not be called"])
    replay = CachedLLM(replay_inner, path)
    assert [replay.execute(q, SamplingParams()).text for q in questions] == answers
    assert replay_inner.calls == 0


def test_samples_at_positive_temperature_stay_distinct(tmp_path: Path) -> None:
    inner = ScriptedLLM(["a", "b", "c"])
    llm = CachedLLM(inner, tmp_path / "c.sqlite")
    params = SamplingParams(temperature=0.8)
    first = [llm.execute(HELLO, params.with_(sample_index=i)).text for i in range(3)]
    again = [llm.execute(HELLO, params.with_(sample_index=i)).text for i in range(3)]
    assert first == ["a", "b", "c"]
    assert again == first
    assert inner.calls == 3


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.5},
        {"max_tokens": 9},
        {"top_p": 0.9},
        {"stop": ("\n",)},
        {"seed": 1},
        {"sample_index": 1},
    ],
)
def test_every_sampling_parameter_is_part_of_the_key(change: dict[str, object]) -> None:
    llm = ScriptedLLM()
    base = SamplingParams()
    assert cache_key(llm, HELLO, base) != cache_key(llm, HELLO, base.with_(**change))


def test_model_and_messages_are_part_of_the_key() -> None:
    params = SamplingParams()
    a, b = ScriptedLLM(model_id="a"), ScriptedLLM(model_id="b")
    assert cache_key(a, HELLO, params) != cache_key(b, HELLO, params)
    other = [Message("system", "hello")]
    assert cache_key(a, HELLO, params) != cache_key(a, other, params)


def test_garbage_cache_file_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"\x00garbage, not a database\xff" * 200)
    inner = ScriptedLLM(["fresh"])
    with caplog.at_level(logging.WARNING, logger="autotune.llm.cache"):
        llm = CachedLLM(inner, path)
        assert llm.execute(HELLO, SamplingParams()).text == "fresh"
    assert str(path) in caplog.text
    assert "damaged" in caplog.text
    aside = list(tmp_path.glob("c.sqlite.corrupt-*"))
    assert aside and aside[0].read_bytes().startswith(b"\x00garbage")
    assert llm.execute(HELLO, SamplingParams()).cached  # the rebuilt cache works
    assert inner.calls == 1


def test_cache_damaged_while_open_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite"
    llm = CachedLLM(ScriptedLLM(["x"]), path)
    llm.execute(HELLO, SamplingParams())
    llm.store.close()
    path.write_bytes(b"garbage" * 1000)
    for extra in tmp_path.glob("c.sqlite-*"):
        extra.unlink()
    with caplog.at_level(logging.WARNING, logger="autotune.llm.cache"):
        completion = llm.execute(HELLO, SamplingParams())
    assert completion.text == "x" and not completion.cached
    assert str(path) in caplog.text


def test_schema_is_versioned_and_wal_enabled(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    CachedLLM(ScriptedLLM(), path).execute(HELLO, SamplingParams())
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM _migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert names == ["001_responses", "002_choice_logprobs"]
    assert mode == "wal"


def test_choice_logprobs_round_trip_and_an_old_file_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as conn:  # a cache file as the first version wrote it
        conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied REAL)")
        conn.execute(_FIRST_SCHEMA)
        conn.execute("INSERT INTO _migrations VALUES ('001_responses', 0)")
    inner = ScriptedLLM(["positive"], logprobs=lambda messages, params: (-0.25, -1.5))
    params = SamplingParams(choices=("positive", "negative"))
    first = CachedLLM(inner, path).execute(HELLO, params)
    again = CachedLLM(ScriptedLLM(["other"]), path).execute(HELLO, params)
    assert again.cached and again.choice_logprobs == first.choice_logprobs == (-0.25, -1.5)
    plain = CachedLLM(ScriptedLLM(["other"]), path).execute(HELLO, SamplingParams())
    assert not plain.cached  # asking for choices is part of the key


_FIRST_SCHEMA = """
CREATE TABLE responses (
    key TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL, text TEXT NOT NULL,
    finish_reason TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, latency_s REAL NOT NULL, created_at REAL NOT NULL
)
"""


def test_concurrent_threads_share_one_cache_safely(tmp_path: Path) -> None:
    inner = ScriptedLLM(lambda m, p: f"answer to {m[-1].content}", latency_s=0.001)
    llm = CachedLLM(inner, tmp_path / "c.sqlite")
    questions = [f"q{i % 10}" for i in range(80)]

    def ask(question: str) -> str:
        return llm.execute([Message("user", question)], SamplingParams()).text

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, questions))
    assert answers == [f"answer to {q}" for q in questions]
    calls_after_first_pass = inner.calls
    assert 10 <= calls_after_first_pass <= 80
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(ask, questions))
    assert inner.calls == calls_after_first_pass  # every answer now comes from the cache


def test_async_execute_uses_the_cache(tmp_path: Path) -> None:
    inner = ScriptedLLM(lambda m, p: m[-1].content[::-1])
    llm = CachedLLM(inner, tmp_path / "c.sqlite")

    async def run() -> list[str]:
        tasks = [llm.aexecute([Message("user", f"x{i}")], SamplingParams()) for i in range(4)]
        return [c.text for c in await asyncio.gather(*tasks)]

    assert asyncio.run(run()) == ["0x", "1x", "2x", "3x"]
    assert asyncio.run(run()) == ["0x", "1x", "2x", "3x"]
    assert inner.calls == 4


def test_failed_calls_are_not_cached(tmp_path: Path) -> None:
    inner = ScriptedLLM(["ok"], fail_on=lambda m: m[-1].content == "bad")
    llm = CachedLLM(inner, tmp_path / "c.sqlite")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            llm.execute([Message("user", "bad")], SamplingParams())
    assert inner.calls == 2


def test_unusable_cache_location_degrades_to_uncached_calls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    inner = ScriptedLLM(["a", "b"])
    with caplog.at_level(logging.WARNING, logger="autotune.llm.cache"):
        llm = CachedLLM(inner, blocker / "c.sqlite")
        texts = [llm.execute(HELLO, SamplingParams()).text for _ in range(3)]
    assert texts == ["a", "b", "a"]  # every call reached the model
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(blocker) in warnings[0].getMessage()
