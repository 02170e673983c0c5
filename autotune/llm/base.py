"""The one model interface of autotune: :class:`BaseLLM`.

A backend implements :meth:`BaseLLM.execute` (and, when it has a native async client,
:meth:`BaseLLM.aexecute`). Everything else in autotune talks to models only through
this class, so caching, accounting and budgets are wrappers around any backend.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence

from autotune.llm.types import Completion, Message, SamplingParams


class BaseLLM(abc.ABC):
    """A chat model: messages in, one :class:`Completion` out.

    Attributes:
        backend: Short backend name (``"llama_cpp"``, ``"openai"``, ``"fake"``).
        model_id: The model's identifier within its backend.
    """

    backend: str = "base"
    model_id: str = ""

    @abc.abstractmethod
    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Run one chat completion and return it."""

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Async form of :meth:`execute`; runs it in a worker thread unless overridden."""
        return await asyncio.to_thread(self.execute, messages, params)

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
    def cache_identity(self) -> str:
        return self.inner.cache_identity

    def close(self) -> None:
        self.inner.close()
