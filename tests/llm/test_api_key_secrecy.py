"""A planted API key must never leak into logs, the cache file or error messages."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from llm_http_doubles import Act, FaultServer

from autotune.errors import LLMError
from autotune.llm import Message, SamplingParams, load_llm

PLANTED = "sk-test-PLANTED-4f9c2e7a1b"


@pytest.fixture(autouse=True)
def planted_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)


def test_key_is_sent_but_never_logged_cached_or_raised(
    fault_server: FaultServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, including openai's and httpx's
    cache = tmp_path / "cache" / "responses.sqlite"
    llm = load_llm(f"openai:test-model@{fault_server.base_url}", cache_path=cache, max_retries=1)

    fault_server.play(Act("ok", text="fine"))
    assert llm.execute([Message("user", "hi")], SamplingParams()).text == "fine"
    # The server did receive the key: the test would be vacuous otherwise.
    assert fault_server.requests[0].headers["Authorization"] == f"Bearer {PLANTED}"

    # A server that echoes the key back in its error body, as some proxies do.
    echo = json.dumps({"error": {"message": f"invalid key Bearer {PLANTED}"}})
    fault_server.play(Act("status", 401, body=echo))
    with pytest.raises(LLMError) as caught:
        llm.execute([Message("user", "other question")], SamplingParams())

    assert "Request options" in caplog.text  # the SDK's debug logs were captured
    assert "HTTP 401" in str(caught.value)
    assert "invalid key" in str(caught.value)  # the server's reason survives, redacted
    for text in (str(caught.value), repr(caught.value), repr(llm), caplog.text):
        assert PLANTED not in text
    assert caught.value.__cause__ is None  # no SDK exception carrying the raw body
    cache_bytes = b"".join(p.read_bytes() for p in cache.parent.iterdir())
    assert cache_bytes  # something was written
    assert PLANTED.encode() not in cache_bytes


def test_key_not_in_retry_exhaustion_message(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fault_server.play(Act("status", 500, body=json.dumps({"detail": PLANTED})))
    llm = load_llm(f"openai:m@{fault_server.base_url}", no_cache=True, max_retries=1)
    with pytest.raises(LLMError) as caught:
        llm.execute([Message("user", "hi")], SamplingParams())
    assert fault_server.count == 2
    assert PLANTED not in str(caught.value)
    assert PLANTED not in caplog.text
