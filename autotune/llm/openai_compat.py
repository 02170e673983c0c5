"""The OpenAI-compatible backend: OpenAI itself, vLLM, llama.cpp's server, Ollama, ...

The ``openai`` SDK sends each attempt; the retry loop is ours (SDK retries off), for one
measured reason: the SDK's loop cannot be bounded by a wall-time budget (a hanging
server with 60 s x 5 attempts ran a ``max_wall_s = 10`` study to 307 s). Here each
attempt's timeout is capped by the time left (:mod:`autotune.llm._deadline`), and the
schedule is the SDK's: 408/409/429/5xx, timeouts, dropped connections and malformed
``200`` bodies are retried with exponential backoff and jitter, honouring
``Retry-After``/``retry-after-ms``. A status no retry can fix (401/402/403/404/405/407:
wrong key, wrong URL or model) raises :class:`FatalLLMError` at once, and so does a
connection that still fails after the retries to an address that never answered since
the start (a wrong port or host, not a passing outage); other 4xx raise a
non-retryable :class:`LLMError`. Every message is one line naming the endpoint without
credentials. The API key is read from the environment, handed to the SDK and never
kept on this object nor put in a message; ``user:password@`` in the URL is sent as
HTTP Basic auth.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx
import openai
from openai._types import RequestOptions

from autotune.errors import FatalLLMError, LLMError
from autotune.llm._aiohttp_transport import async_http_client
from autotune.llm._deadline import remaining_s
from autotune.llm._openai_logprobs import (
    LOGPROB_FIELDS,
    choice_logprobs,
    first_token_alternatives,
    logprob_request,
)
from autotune.llm._openai_retry import backoff_s, retry_after_s
from autotune.llm._openai_stream import StreamReader, aread_stream, read_stream, streaming_request
from autotune.llm.base import BaseLLM
from autotune.llm.stop import StopRule
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.llm.urls import check_base_url, display_url, split_credentials

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 4
# Local servers ignore the key, but the SDK insists on one.
_PLACEHOLDER_KEY = "no-key-needed"
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]+")
_RETRIED_STATUSES = frozenset({408, 409, 429})
_FATAL_STATUSES = frozenset({401, 402, 403, 404, 405, 407})
# Posting the plain-JSON body through the SDK's generic ``post`` keeps its status errors
# but skips ``chat.completions.create``'s per-request walk over the typed parameter
# schema (about 1 ms of CPU a call, which caps concurrent throughput).
_CHAT_PATH = "/chat/completions"


class _MalformedBody(Exception):
    """A 2xx response whose body is not a chat completion."""


class _OutOfTime(Exception):
    """The wall-time deadline leaves no time for another attempt."""


class OpenAICompatLLM(BaseLLM):
    """A chat model behind an OpenAI-compatible HTTP API.

    Args:
        model: The model name the server knows.
        base_url: Server URL up to ``/v1``; default ``$OPENAI_BASE_URL`` or OpenAI's.
        api_key_env: The environment variable holding the API key.
        timeout_s: Seconds one HTTP attempt may take.
        max_retries: Retries after the first attempt.

    Raises:
        ConfigError: The URL is not a well-formed http(s) URL.
        LLMError: OpenAI's own endpoint without an API key.
    """

    backend = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.model_id = model
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        url, self._auth_headers = split_credentials(check_base_url(url.rstrip("/")))
        self.base_url = url
        self.endpoint = display_url(self.base_url)
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        if not os.environ.get(api_key_env) and self.endpoint == DEFAULT_BASE_URL:
            raise LLMError(f"{self.endpoint} needs an API key: set ${api_key_env}")
        self._answered = False  # has anything ever answered at this address?
        self._structured = True  # until the server rejects a response_format
        self._logprobs = True  # until the server rejects logprobs
        self._client: openai.OpenAI | None = None
        self._async_client: tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI] | None = None

    def __repr__(self) -> str:
        return f"OpenAICompatLLM(model={self.model_id!r}, endpoint={self.endpoint!r})"

    @property
    def cache_identity(self) -> str:
        # One model name can mean different models on different servers.
        return f"{self.name}@{self.endpoint}"

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        request = self._request(messages, params)
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                options: RequestOptions = {"timeout": self._attempt_timeout()}
                if params.stop_rule is not None:
                    completion = self._streamed(
                        messages, request, params.stop_rule, options, params.choices
                    )
                else:
                    raw = self._sync_client().post(
                        _CHAT_PATH, body=request, cast_to=httpx.Response, options=options
                    )
                    latency = time.perf_counter() - start
                    completion = self._completion(raw.text, latency, params.choices)
                self._answered = True
                return completion
            except (_MalformedBody, _OutOfTime, openai.OpenAIError) as exc:
                if self._drop_unsupported(exc, request):
                    continue
                wait = self._retry_wait(exc, attempt)
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        request = self._request(messages, params)
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                options: RequestOptions = {"timeout": self._attempt_timeout()}
                if params.stop_rule is not None:
                    completion = await self._astreamed(
                        messages, request, params.stop_rule, options, params.choices
                    )
                else:
                    client = self._loop_client()
                    raw = await client.post(
                        _CHAT_PATH, body=request, cast_to=httpx.Response, options=options
                    )
                    latency = time.perf_counter() - start
                    completion = self._completion(raw.text, latency, params.choices)
                self._answered = True
                return completion
            except (_MalformedBody, _OutOfTime, openai.OpenAIError) as exc:
                if self._drop_unsupported(exc, request):
                    continue
                wait = self._retry_wait(exc, attempt)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _streamed(
        self,
        messages: Sequence[Message],
        request: dict[str, Any],
        rule: StopRule,
        options: RequestOptions,
        choices: tuple[str, ...] = (),
    ) -> Completion:
        """One streamed attempt that hangs up once ``rule`` says the answer is decided."""
        reader = StreamReader(rule, messages, self.model_id, choices=choices)
        start = time.perf_counter()
        stream = self._sync_client().post(
            _CHAT_PATH,
            body=streaming_request(request),
            cast_to=object,
            options=options,
            stream=True,
            stream_cls=openai.Stream[object],
        )
        try:
            body = read_stream(stream, reader)
        except ValueError as exc:  # a chunk that is not JSON or not an object
            raise _MalformedBody(f"{type(exc).__name__}: {exc}") from None
        if body is not None:  # the server ignored "stream": a whole answer
            return self._completion(body, time.perf_counter() - start, choices)
        return reader.completion(time.perf_counter() - start)

    async def _astreamed(
        self,
        messages: Sequence[Message],
        request: dict[str, Any],
        rule: StopRule,
        options: RequestOptions,
        choices: tuple[str, ...] = (),
    ) -> Completion:
        reader = StreamReader(rule, messages, self.model_id, choices=choices)
        start = time.perf_counter()
        stream = await self._loop_client().post(
            _CHAT_PATH,
            body=streaming_request(request),
            cast_to=object,
            options=options,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )
        try:
            body = await aread_stream(stream, reader)
        except ValueError as exc:
            raise _MalformedBody(f"{type(exc).__name__}: {exc}") from None
        if body is not None:
            return self._completion(body, time.perf_counter() - start, choices)
        return reader.completion(time.perf_counter() - start)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._async_client = None

    def _attempt_timeout(self) -> float:
        left = remaining_s()
        if left is None:
            return self.timeout_s
        if left <= 0.01:
            raise _OutOfTime("no time left in the wall-time budget")
        return min(self.timeout_s, left)

    def _retry_wait(self, exc: Exception, attempt: int) -> float:
        """Seconds to wait before the next attempt, or raise the final error."""
        kind, retryable = _failure_kind(exc)
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        self._answered = (
            self._answered or status is not None or isinstance(exc, _MalformedBody) or _reached(exc)
        )
        if status in _FATAL_STATUSES:
            raise FatalLLMError(self._message(exc, kind, ""), status=status) from None
        if not retryable or attempt == self.max_retries:
            tries = f" after {attempt + 1} attempts" if attempt else ""
            message = self._message(exc, kind, tries)
            if kind == "connection failed" and not self._answered:
                # Never reached since the start: a wrong address, not a passing outage.
                raise FatalLLMError(message + " (nothing has answered at this address)") from None
            raise LLMError(message, status=status, retryable=retryable) from None
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        wait = retry_after_s(headers)
        wait = backoff_s(attempt) if wait is None else wait
        left = remaining_s()
        if left is not None and wait >= left:  # no time for another attempt
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise LLMError(self._message(exc, kind, tries), status=status) from None
        return wait

    def _request(self, messages: Sequence[Message], params: SamplingParams) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model_id,
            "messages": [m.to_dict() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            request["stop"] = list(params.stop)
        seed = params.effective_seed()
        if seed is not None:
            request["seed"] = seed
        if self._logprobs:
            request.update(logprob_request(params.choices))
        if params.response_schema is not None and self._structured:
            schema = json.loads(params.response_schema)
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            }
        return request

    def _drop_unsupported(self, exc: Exception, request: dict[str, Any]) -> bool:
        """Whether to ask again without structured output or log-probabilities: a server
        that rejects a request carrying them (400/422) does not support them; from then
        on this backend sends none (the caller's lenient parser reads the free answer,
        and answers are not calibrated)."""
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        if status not in (400, 422):
            return False
        if "response_format" in request:
            self._structured = False
            del request["response_format"]
            return True
        if "logprobs" in request:
            self._logprobs = False
            for key in LOGPROB_FIELDS:
                request.pop(key, None)
            return True
        return False

    def _client_options(self) -> dict[str, Any]:
        return {
            "api_key": os.environ.get(self.api_key_env) or _PLACEHOLDER_KEY,
            "base_url": self.base_url,
            "timeout": self.timeout_s,
            "max_retries": 0,  # our loop retries (see the module docstring)
            "default_headers": self._auth_headers or None,
        }

    def _sync_client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai.OpenAI(**self._client_options())
        return self._client

    def _loop_client(self) -> openai.AsyncOpenAI:
        # An async HTTP pool belongs to the event loop that opened it.
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_client[0] is not loop:
            client = openai.AsyncOpenAI(**self._client_options(), http_client=async_http_client())
            self._async_client = (loop, client)
        return self._async_client[1]

    def _completion(self, body: str, latency_s: float, choices: tuple[str, ...] = ()) -> Completion:
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            usage = data.get("usage") or {}
            top = first_token_alternatives(choice)
            return Completion(
                text=str(text),
                finish_reason=str(choice.get("finish_reason") or "stop"),
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                latency_s=latency_s,
                model=str(data.get("model") or self.model_id),
                choice_logprobs=None
                if top is None or not choices
                else choice_logprobs(top, choices),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _MalformedBody(f"{type(exc).__name__}: {exc}") from None

    def _message(self, exc: Exception, kind: str, tries: str) -> str:
        detail = str(exc)
        if exc.__cause__ is not None:  # e.g. what broke the connection
            detail += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
        detail = " ".join(self._redact(detail).split())[:300]  # one line
        return f"endpoint {self.endpoint} (model {self.model_id!r}) failed{tries}: {kind}: {detail}"

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        if key:
            text = text.replace(key, "***")
        return _KEY_LIKE.sub(r"\1***", text)


def _reached(exc: BaseException) -> bool:
    """Whether the failed request got through to a listening server (it then dropped or
    stalled the connection): an address that accepts connections is not a wrong one,
    even while a concurrent request's answer is still on its way (a race seen under load)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failure_kind(exc: Exception) -> tuple[str, bool]:
    """A short name for what went wrong, and whether it is retried."""
    if isinstance(exc, _MalformedBody):
        return "malformed response body", True
    if isinstance(exc, _OutOfTime):
        return "timed out (wall-time budget)", True
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        should = exc.response.headers.get("x-should-retry")
        if should in ("true", "false"):  # the server's own word, as the SDK honours it
            return f"HTTP {status}", should == "true"
        return f"HTTP {status}", status in _RETRIED_STATUSES or status >= 500
    if isinstance(exc, openai.APITimeoutError):
        return "timed out", True
    if isinstance(exc, openai.APIConnectionError):
        return "connection failed", True
    return type(exc).__name__, False
