"""The OpenAI-compatible backend: OpenAI itself, vLLM, llama.cpp's server, Ollama, ...

Transport retries are the ``openai`` SDK's own, configured rather than rewritten:
exponential backoff with jitter on 408/409/429/5xx, timeouts and dropped connections,
honouring ``Retry-After``/``retry-after-ms``. What the SDK lacks is added here: a
``200`` whose body is not a chat completion (malformed JSON, wrong shape) is retried
with the same backoff, and every final failure becomes one :class:`LLMError` naming
the endpoint and the HTTP status or failure kind. The API key is read from the
environment, handed to the SDK and never kept on this object nor put in a message.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx
import openai

from autotune.errors import LLMError
from autotune.llm._aiohttp_transport import async_http_client
from autotune.llm.base import BaseLLM
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.llm.urls import display_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 4
# Local servers ignore the key, but the SDK insists on one.
_PLACEHOLDER_KEY = "no-key-needed"
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]+")
_RETRIED_STATUSES = frozenset({408, 409, 429})
# Posting the plain-JSON body through the SDK's generic ``post`` keeps its retries and
# status errors but skips ``chat.completions.create``'s per-request walk over the typed
# parameter schema (about 1 ms of CPU a call, which caps concurrent throughput).
_CHAT_PATH = "/chat/completions"


class _MalformedBody(Exception):
    """A 2xx response whose body is not a chat completion."""


class OpenAICompatLLM(BaseLLM):
    """A chat model behind an OpenAI-compatible HTTP API.

    Args:
        model: The model name the server knows.
        base_url: Server URL up to ``/v1``; default ``$OPENAI_BASE_URL`` or OpenAI's.
        api_key_env: The environment variable holding the API key.
        timeout_s: Seconds one HTTP attempt may take.
        max_retries: Retries after the first attempt (the SDK's, plus malformed bodies).
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
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self.endpoint = display_url(self.base_url)
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        if not os.environ.get(api_key_env) and self.endpoint == DEFAULT_BASE_URL:
            raise LLMError(f"{self.endpoint} needs an API key: set ${api_key_env}")
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
                raw = self._sync_client().post(_CHAT_PATH, body=request, cast_to=httpx.Response)
                return self._completion(raw.text, time.perf_counter() - start)
            except _MalformedBody as exc:
                if attempt == self.max_retries:
                    raise self._error(exc) from None
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
            time.sleep(_backoff_s(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        request = self._request(messages, params)
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                client = self._loop_client()
                raw = await client.post(_CHAT_PATH, body=request, cast_to=httpx.Response)
                return self._completion(raw.text, time.perf_counter() - start)
            except _MalformedBody as exc:
                if attempt == self.max_retries:
                    raise self._error(exc) from None
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
            await asyncio.sleep(_backoff_s(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._async_client = None

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
        if params.response_schema is not None:
            schema = json.loads(params.response_schema)
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            }
        return request

    def _client_options(self) -> dict[str, Any]:
        return {
            "api_key": os.environ.get(self.api_key_env) or _PLACEHOLDER_KEY,
            "base_url": self.base_url,
            "timeout": self.timeout_s,
            "max_retries": self.max_retries,
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

    def _completion(self, body: str, latency_s: float) -> Completion:
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            usage = data.get("usage") or {}
            return Completion(
                text=str(text),
                finish_reason=str(choice.get("finish_reason") or "stop"),
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                latency_s=latency_s,
                model=str(data.get("model") or self.model_id),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _MalformedBody(f"{type(exc).__name__}: {exc}") from None

    def _error(self, exc: Exception) -> LLMError:
        kind, retried = _failure_kind(exc)
        tries = f" after {self.max_retries + 1} attempts" if retried else ""
        detail = str(exc)
        if exc.__cause__ is not None:  # e.g. what broke the connection
            detail += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
        detail = self._redact(detail)[:300]
        return LLMError(
            f"endpoint {self.endpoint} (model {self.model_id!r}) failed{tries}: {kind}: {detail}"
        )

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        if key:
            text = text.replace(key, "***")
        return _KEY_LIKE.sub(r"\1***", text)


def _failure_kind(exc: Exception) -> tuple[str, bool]:
    """A short name for what went wrong, and whether it was retried."""
    if isinstance(exc, _MalformedBody):
        return "malformed response body", True
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        return f"HTTP {status}", status in _RETRIED_STATUSES or status >= 500
    if isinstance(exc, openai.APITimeoutError):
        return "timed out", True
    if isinstance(exc, openai.APIConnectionError):
        return "connection failed", True
    return type(exc).__name__, False


def _backoff_s(attempt: int) -> float:
    """The SDK's schedule: 0.5 s doubling up to 8 s, minus up to 25 % jitter."""
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())
