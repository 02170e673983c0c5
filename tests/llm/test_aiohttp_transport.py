"""The async OpenAI path runs over the aiohttp transport: same faults, same errors."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings

import pytest
from llm_http_doubles import Act, FaultServer

from autotune.errors import LLMError
from autotune.llm import Message, SamplingParams
from autotune.llm.openai_compat import OpenAICompatLLM

MESSAGES = [Message("system", "Be brief."), Message("user", "héllo")]
PARAMS = SamplingParams(max_tokens=8, stop=("\n",))


def backend(server: FaultServer, *, timeout_s: float = 5.0, retries: int = 1) -> OpenAICompatLLM:
    return OpenAICompatLLM(
        "test-model", base_url=server.base_url, timeout_s=timeout_s, max_retries=retries
    )


def run_async(llm: OpenAICompatLLM) -> str:
    return asyncio.run(llm.aexecute(MESSAGES, PARAMS)).text


def test_async_request_body_and_headers_reach_the_server(fault_server: FaultServer) -> None:
    fault_server.play(Act("ok", text="fine"))
    assert run_async(backend(fault_server)) == "fine"
    [request] = fault_server.requests
    assert request.path.endswith("/chat/completions")
    assert request.body["messages"] == [m.to_dict() for m in MESSAGES]
    assert (request.body["max_tokens"], request.body["stop"]) == (8, ["\n"])
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["authorization"].startswith("Bearer ")


def test_async_hang_past_timeout_is_retried_then_reported(fault_server: FaultServer) -> None:
    fault_server.play(Act("hang"))
    start = time.monotonic()
    with pytest.raises(LLMError, match="timed out"):
        run_async(backend(fault_server, timeout_s=0.3))
    assert fault_server.count == 2
    assert time.monotonic() - start < 5


def test_async_dropped_connection_is_retried_then_answers(fault_server: FaultServer) -> None:
    fault_server.play(Act("drop"), Act("ok", text="reconnected"))
    assert run_async(backend(fault_server)) == "reconnected"
    assert fault_server.count == 2


def test_async_dropped_connection_every_time_is_reported(fault_server: FaultServer) -> None:
    fault_server.play(Act("drop"))
    with pytest.raises(LLMError, match="connection failed"):
        run_async(backend(fault_server))
    assert fault_server.count == 2


def test_async_refused_connection_is_reported() -> None:
    llm = OpenAICompatLLM("m", base_url="http://127.0.0.1:9/v1", timeout_s=1, max_retries=0)
    with pytest.raises(LLMError, match="connection failed"):
        run_async(llm)


def test_sessions_close_with_their_event_loop(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    fault_server.play(Act("ok", text="one"))
    llm = backend(fault_server)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        assert run_async(llm) == "one"
        assert run_async(llm) == "one"  # a second loop gets a fresh session
        llm.close()
        del llm
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]
    assert "Unclosed" not in caplog.text
