"""Early stop over HTTP: stream a chat completion and hang up once the answer is decided.

A server cannot run our stop rule, so a request that carries one is streamed
(``"stream": true``); the text is judged after every delta, and the stream is closed
as soon as the rule says decided. Closing the connection makes llama.cpp's server,
vLLM and OpenAI stop generating. Usage comes from the server when a chunk carries it
(``stream_options.include_usage`` asks for it in the last chunk); a stream cut short
has none, so its counts are estimates: one completion token per delta, and four
characters of the messages per prompt token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autotune.llm._openai_logprobs import choice_logprobs, first_token_alternatives
from autotune.llm.stop import StopRule
from autotune.llm.types import Completion, Message


def streaming_request(request: dict[str, Any]) -> dict[str, Any]:
    """The streamed form of a chat-completion request body."""
    return {**request, "stream": True, "stream_options": {"include_usage": True}}


@dataclass
class StreamReader:
    """Accumulates chunks of one streamed chat completion (dicts as the server sent them)."""

    rule: StopRule
    messages: Sequence[Message]
    model: str
    text: str = ""
    finish_reason: str = "stop"
    deltas: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    decided: bool = False
    choices: tuple[str, ...] = ()
    alternatives: list[Any] | None = None  # the first token's top_logprobs, if sent

    def feed(self, chunk: Any) -> bool:
        """Take one chunk; True once the answer is decided (stop reading)."""
        if not isinstance(chunk, dict):
            raise ValueError(f"stream chunk is not an object: {chunk!r:.80}")
        if chunk.get("usage"):
            self.usage = dict(chunk["usage"])
        self.model = str(chunk.get("model") or self.model)
        for choice in chunk.get("choices") or ():
            if self.alternatives is None and self.choices:
                self.alternatives = first_token_alternatives(choice)
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.text += str(content)
                self.deltas += 1
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        if self.rule.decided(self.text):
            self.decided = True
            self.finish_reason = "stop"
        return self.decided

    def completion(self, latency_s: float) -> Completion:
        """The answer read so far."""
        prompt_chars = sum(len(m.content) for m in self.messages)
        return Completion(
            text=self.text,
            finish_reason=self.finish_reason,
            prompt_tokens=int(self.usage.get("prompt_tokens") or math.ceil(prompt_chars / 4)),
            completion_tokens=int(self.usage.get("completion_tokens") or self.deltas),
            latency_s=latency_s,
            model=self.model,
            choice_logprobs=(
                None
                if self.alternatives is None
                else choice_logprobs(self.alternatives, self.choices)
            ),
        )


def read_stream(stream: Any, reader: StreamReader) -> str | None:
    """Feed ``stream``'s chunks to ``reader`` until it is decided or the stream ends.

    Returns the body instead when the server ignored ``stream`` and sent a plain
    chat completion (the caller parses it as usual).
    """
    try:
        if not _is_event_stream(stream):
            return str(stream.response.read().decode("utf-8", errors="replace"))
        for chunk in stream:
            if reader.feed(chunk):
                break
        return None
    finally:
        stream.close()


async def aread_stream(stream: Any, reader: StreamReader) -> str | None:
    """Async form of :func:`read_stream`."""
    try:
        if not _is_event_stream(stream):
            body = await stream.response.aread()
            return str(body.decode("utf-8", errors="replace"))
        async for chunk in stream:
            if reader.feed(chunk):
                break
        return None
    finally:
        await stream.close()


def _is_event_stream(stream: Any) -> bool:
    content_type = str(stream.response.headers.get("content-type", ""))
    return "text/event-stream" in content_type
