"""The one model interface of autotune: :class:`BaseLLM`.

A backend implements :meth:`BaseLLM.execute` (and, when it has a native async client,
:meth:`BaseLLM.aexecute`). Everything else in autotune talks to models only through
this class, so caching, accounting and budgets are wrappers around any backend.

Many requests at once go through :meth:`BaseLLM.execute_many`: one by one by default;
a backend that decodes several sequences together (the embedded llama.cpp model) sets
``batch_size`` above 1 and overrides it.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from typing import NamedTuple

from autotune.llm.types import Completion, Message, SamplingParams


class Request(NamedTuple):
    """One chat request of a batch."""

    messages: Sequence[Message]
    params: SamplingParams


Outcome = Completion | Exception
"""A request's completion, or the exception that failed it."""


class BaseLLM(abc.ABC):
    """A chat model: messages in, one :class:`Completion` out.

    Attributes:
        backend: Short backend name (``"llama_cpp"``, ``"openai"``, ``"fake"``).
        model_id: The model's identifier within its backend.
    """

    backend: str = "base"
    model_id: str = ""

    @property
    def batch_size(self) -> int:
        """How many requests the backend decodes together with profit; 1 when it cannot."""
        return 1

    @abc.abstractmethod
    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Run one chat completion and return it."""

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Async form of :meth:`execute`; runs it in a worker thread unless overridden."""
        return await asyncio.to_thread(self.execute, messages, params)

    def execute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """Run many requests; each one's completion, or the exception it raised, in order.

        The default runs them one after the other through :meth:`execute`.
        """
        outcomes: list[Outcome] = []
        for messages, params in requests:
            try:
                outcomes.append(self.execute(messages, params))
            except Exception as exc:  # one request's failure is its own outcome
                outcomes.append(exc)
        return outcomes

    async def aexecute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """Async form of :meth:`execute_many`: a batching backend's batch in a worker
        thread, otherwise every request concurrently through :meth:`aexecute`."""
        if self.batch_size > 1:
            return await asyncio.to_thread(self.execute_many, requests)
        results = await asyncio.gather(
            *(self.aexecute(messages, params) for messages, params in requests),
            return_exceptions=True,
        )
        return [_outcome(result) for result in results]

    def complete(
        self, messages: Sequence[Message], params: SamplingParams | None = None
    ) -> Completion:
        """Convenience: :meth:`execute` with default sampling parameters."""
        return self.execute(messages, params or SamplingParams())

    @property
    def name(self) -> str:
        """``backend:model_id``, as a user would type it."""
        return f"{self.backend}:{self.model_id}"

    @property
    def cache_identity(self) -> str:
        """What tells this model's answers apart in a response cache; :attr:`name` by default.

        Backends whose model id alone is ambiguous (one name served by many servers)
        add what disambiguates it, never a secret.
        """
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (HTTP clients, model memory). Safe to call twice."""


class LLMWrapper(BaseLLM):
    """Base for wrappers (cache, meter) that delegate to an inner model."""

    def __init__(self, inner: BaseLLM) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.model_id = inner.model_id

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    @property
    def cache_identity(self) -> str:
        return self.inner.cache_identity

    def close(self) -> None:
        self.inner.close()


def _outcome(result: Completion | BaseException) -> Outcome:
    if isinstance(result, Exception | Completion):
        return result
    raise result  # cancellation and interrupts are not a request's outcome
