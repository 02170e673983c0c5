"""A scripted fake model for unit tests (shipped so users can test their own suites).

It answers from a list of replies (cycled) or from a function of the messages, and
records every request, so tests can assert on exactly what a component sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from autotune.llm.base import BaseLLM
from autotune.llm.types import Completion, Message, SamplingParams

Responder = Callable[[Sequence[Message], SamplingParams], str]
Scorer = Callable[[Sequence[Message], SamplingParams], tuple[float, ...] | None]


class ScriptedLLM(BaseLLM):
    """A deterministic stand-in for a real model.

    Args:
        replies: Texts returned in turn (cycled), or a function
            ``(messages, params) -> text`` for replies that depend on the input.
        model_id: The model id it reports.
        latency_s: Seconds each call sleeps, to exercise concurrency.
        fail_on: Optional predicate; when true for a request, the call raises ``error``.
        error: The exception raised for requests ``fail_on`` selects.
        logprobs: Optional ``(messages, params) -> log-probabilities`` of
            ``params.choices``, reported for requests that ask for choices.
    """

    backend = "fake"

    def __init__(
        self,
        replies: Sequence[str] | Responder = ("ok",),
        *,
        model_id: str = "scripted",
        latency_s: float = 0.0,
        fail_on: Callable[[Sequence[Message]], bool] | None = None,
        error: Exception | None = None,
        logprobs: Scorer | None = None,
    ) -> None:
        if not callable(replies) and not replies:
            raise ValueError("ScriptedLLM needs at least one reply")
        self._replies = replies
        self.model_id = model_id
        self.latency_s = latency_s
        self._fail_on = fail_on
        self._error = error or RuntimeError("scripted failure")
        self._logprobs = logprobs
        self._lock = threading.Lock()
        self.requests: list[tuple[list[Message], SamplingParams]] = []

    @property
    def calls(self) -> int:
        """How many requests were made."""
        return len(self.requests)

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        start = time.perf_counter()
        with self._lock:
            index = len(self.requests)
            self.requests.append((list(messages), params))
        if self.latency_s:
            time.sleep(self.latency_s)
        if self._fail_on is not None and self._fail_on(messages):
            raise self._error
        if callable(self._replies):
            text = self._replies(messages, params)
        else:
            text = self._replies[index % len(self._replies)]
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return Completion(
            text=text,
            finish_reason="stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(text.split()),
            latency_s=time.perf_counter() - start,
            model=self.model_id,
            choice_logprobs=(
                self._logprobs(messages, params) if self._logprobs and params.choices else None
            ),
        )
