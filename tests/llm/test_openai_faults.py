"""The OpenAI-compatible backend against a loopback server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from llm_http_doubles import Act, FaultServer

from autotune.errors import FatalLLMError, LLMError
from autotune.llm import Message, SamplingParams
from autotune.llm.openai_compat import OpenAICompatLLM

MESSAGES = [Message("user", "hello")]
PARAMS = SamplingParams(max_tokens=8)


def backend(server: FaultServer, *, timeout_s: float = 5.0, retries: int = 2) -> OpenAICompatLLM:
    return OpenAICompatLLM(
        "test-model", base_url=server.base_url, timeout_s=timeout_s, max_retries=retries
    )


def test_success_sends_request_and_parses_answer(fault_server: FaultServer) -> None:
    fault_server.play(Act("ok", text="hi there"))
    completion = backend(fault_server).execute(MESSAGES, SamplingParams(max_tokens=8, seed=3))
    assert completion.text == "hi there"
    assert (completion.prompt_tokens, completion.completion_tokens) == (7, 3)
    [request] = fault_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"] == [{"role": "user", "content": "hello"}]
    assert request.body["max_tokens"] == 8
    assert request.body["seed"] == 3


def test_429_honours_retry_after(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 429, {"Retry-After": "1"}, '{"error": "slow down"}'), Act("ok"))
    completion = backend(fault_server).execute(MESSAGES, PARAMS)
    assert completion.text == "scripted answer"
    first, second = fault_server.requests
    assert second.at - first.at >= 0.95  # the server asked for one second


def test_429_every_time_gives_up_naming_endpoint_and_status(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 429, {"Retry-After": "0.05"}, '{"error": "slow down"}'))
    with pytest.raises(LLMError) as caught:
        backend(fault_server, retries=2).execute(MESSAGES, PARAMS)
    assert fault_server.count == 3  # first try + 2 retries
    message = str(caught.value)
    assert fault_server.base_url in message
    assert "HTTP 429" in message
    assert "3 attempts" in message


def test_500_retries_with_exponential_backoff(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 500, body='{"error": "boom"}'))
    with pytest.raises(LLMError, match="HTTP 500"):
        backend(fault_server, retries=2).execute(MESSAGES, PARAMS)
    times = [r.at for r in fault_server.requests]
    assert len(times) == 3
    # Backoff 0.5 s then 1 s, each shortened by at most 25 % jitter.
    assert times[1] - times[0] >= 0.5 * 0.75 - 0.01
    assert times[2] - times[1] >= 1.0 * 0.75 - 0.01


def test_client_error_is_not_retried(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 400, body='{"error": "bad request"}'))
    with pytest.raises(LLMError, match="HTTP 400") as caught:
        backend(fault_server).execute(MESSAGES, PARAMS)
    assert fault_server.count == 1
    assert "attempts" not in str(caught.value)


def test_hang_past_timeout_is_retried_then_reported(fault_server: FaultServer) -> None:
    fault_server.play(Act("hang"))
    start = time.monotonic()
    with pytest.raises(LLMError, match="timed out") as caught:
        backend(fault_server, timeout_s=0.3, retries=1).execute(MESSAGES, PARAMS)
    assert fault_server.count == 2
    assert fault_server.base_url in str(caught.value)
    assert time.monotonic() - start < 5


def test_hang_then_answer_recovers(fault_server: FaultServer) -> None:
    fault_server.play(Act("hang"), Act("ok", text="late but fine"))
    completion = backend(fault_server, timeout_s=0.3, retries=1).execute(MESSAGES, PARAMS)
    assert completion.text == "late but fine"
    assert fault_server.count == 2


def test_malformed_json_is_retried_then_answers(fault_server: FaultServer) -> None:
    fault_server.play(Act("malformed"), Act("ok", text="well formed"))
    completion = backend(fault_server).execute(MESSAGES, PARAMS)
    assert completion.text == "well formed"
    assert fault_server.count == 2


def test_malformed_json_every_time_ends_in_clear_error(fault_server: FaultServer) -> None:
    fault_server.play(Act("malformed"))
    with pytest.raises(LLMError, match="malformed response body") as caught:
        backend(fault_server, retries=1).execute(MESSAGES, PARAMS)
    assert fault_server.count == 2
    assert fault_server.base_url in str(caught.value)


def test_wrong_shape_json_counts_as_malformed(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 200, body='{"object": "list", "data": []}'))
    with pytest.raises(LLMError, match="malformed response body"):
        backend(fault_server, retries=1).execute(MESSAGES, PARAMS)
    assert fault_server.count == 2


def test_dropped_connection_is_retried(fault_server: FaultServer) -> None:
    fault_server.play(Act("drop"), Act("ok", text="reconnected"))
    completion = backend(fault_server).execute(MESSAGES, PARAMS)
    assert completion.text == "reconnected"
    assert fault_server.count == 2


def test_dropped_connection_every_time_is_reported(fault_server: FaultServer) -> None:
    fault_server.play(Act("drop"))
    with pytest.raises(LLMError, match="connection failed") as caught:
        backend(fault_server, retries=1).execute(MESSAGES, PARAMS)
    assert fault_server.count == 2
    assert fault_server.base_url in str(caught.value)


def test_async_execute_retries_natively(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 503, body="{}"), Act("malformed"), Act("ok", text="async ok"))
    llm = backend(fault_server)

    async def two_loops() -> list[str]:
        return [(await llm.aexecute(MESSAGES, PARAMS)).text]

    assert asyncio.run(two_loops()) == ["async ok"]
    assert fault_server.count == 3
    fault_server.play(Act("ok", text="second loop"))
    # A fresh event loop must not trip over the first loop's connection pool.
    assert asyncio.run(two_loops()) == ["second loop"]


def test_async_failure_raises_llm_error(fault_server: FaultServer) -> None:
    fault_server.play(Act("status", 500, body="{}"))
    with pytest.raises(LLMError, match="HTTP 500"):
        asyncio.run(backend(fault_server, retries=1).aexecute(MESSAGES, PARAMS))
    assert fault_server.count == 2


@pytest.mark.parametrize(("act", "kind"), [("hang", "timed out"), ("drop", "connection failed")])
def test_async_transport_failures_are_retried_then_reported(
    fault_server: FaultServer, act: str, kind: str
) -> None:
    fault_server.play(Act(act), Act("ok", text="recovered"))
    llm = backend(fault_server, timeout_s=0.3, retries=1)
    assert asyncio.run(llm.aexecute(MESSAGES, PARAMS)).text == "recovered"
    assert fault_server.count == 2
    fault_server.play(Act(act))
    with pytest.raises(LLMError, match=kind) as caught:
        asyncio.run(llm.aexecute(MESSAGES, PARAMS))
    assert fault_server.count == 2
    assert fault_server.base_url in str(caught.value)


def test_a_response_schema_is_sent_as_structured_output(fault_server: FaultServer) -> None:
    fault_server.play(Act("ok", text='{"text": "hi"}'))
    schema = '{"type": "object", "properties": {"text": {"type": "string"}}}'
    backend(fault_server).execute(MESSAGES, SamplingParams(max_tokens=8, response_schema=schema))
    [request] = fault_server.requests
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": json.loads(schema)},
    }


def test_a_server_without_structured_output_is_asked_again_without_the_schema(
    fault_server: FaultServer,
) -> None:
    fault_server.play(
        Act("status", 400, body='{"error": "response_format is not supported"}'),
        Act("ok", text="You are a careful reader."),
        Act("ok", text="You are a critic."),
    )
    schema = '{"type": "object", "properties": {"text": {"type": "string"}}}'
    params = SamplingParams(max_tokens=8, response_schema=schema)
    llm = backend(fault_server)
    assert llm.execute(MESSAGES, params).text == "You are a careful reader."
    assert llm.execute(MESSAGES, params).text == "You are a critic."
    first, second, third = fault_server.requests
    assert "response_format" in first.body
    assert "response_format" not in second.body and "response_format" not in third.body


def test_a_server_without_logprobs_is_asked_again_without_them(
    fault_server: FaultServer,
) -> None:
    fault_server.play(
        Act("status", 400, body='{"error": "logprobs are not supported"}'),
        Act("ok", text="positive"),
        Act("ok", text="negative"),
    )
    params = SamplingParams(max_tokens=8, choices=("positive", "negative"))
    llm = backend(fault_server)
    first_answer = llm.execute(MESSAGES, params)
    assert first_answer.text == "positive" and first_answer.choice_logprobs is None
    assert llm.execute(MESSAGES, params).text == "negative"
    first, second, third = fault_server.requests
    assert first.body["logprobs"] is True and first.body["top_logprobs"] == 20
    assert "logprobs" not in second.body and "top_logprobs" not in third.body


def test_a_server_that_drops_the_connection_is_not_a_dead_address(
    fault_server: FaultServer,
) -> None:
    """A concurrent request's answer may still be on its way when another is dropped:
    an address that accepted the connection is reachable, so the error is retryable
    in later candidates, not the run-stopping "nothing has answered"."""
    fault_server.play(Act("drop"))
    with pytest.raises(LLMError) as caught:
        backend(fault_server, retries=0).execute(MESSAGES, PARAMS)
    assert not isinstance(caught.value, FatalLLMError)
    assert "nothing has answered" not in str(caught.value)
