"""Plain value types of the LLM layer: messages in, a completion out."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from autotune.llm.stop import StopRule

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one completion.

    ``sample_index`` tells apart the n samples of the same request at temperature > 0:
    it is part of the cache key, and backends that take a seed derive it from
    ``seed`` and ``sample_index`` so the samples differ.

    ``response_schema`` is a JSON schema (as JSON text, so the params stay hashable) the
    answer must follow: llama.cpp turns it into a grammar that constrains decoding;
    OpenAI-compatible servers get it as structured output, and servers that ignore it
    answer freely (callers parse leniently). ``grammar`` is a GBNF grammar for backends
    that decode with one (llama.cpp), taking precedence over the schema there; it lets a
    weak model be held to plain text of a given shape, which it writes better than JSON.

    ``stop_rule`` lets a backend end generation once the answer is decided (see
    :mod:`autotune.llm.stop`); it is part of the cache key too.

    ``choices`` asks for the log-probability of each choice's first token as the answer's
    first token (:attr:`Completion.choice_logprobs`), read before any grammar: what a
    calibrated label answer needs (:mod:`autotune.evaluate.calibration`).
    """

    temperature: float = 0.0
    max_tokens: int = 256
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    sample_index: int = 0
    response_schema: str | None = None
    grammar: str | None = None
    stop_rule: StopRule | None = None
    choices: tuple[str, ...] = ()

    def with_(self, **changes: object) -> SamplingParams:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def effective_seed(self) -> int | None:
        """The seed a backend should use for this sample, or None for its own."""
        if self.seed is None:
            return None if self.sample_index == 0 else self.sample_index
        return self.seed + self.sample_index


@dataclass(frozen=True)
class Completion:
    """One model answer with its accounting."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str
    cached: bool = False
    choice_logprobs: tuple[float, ...] | None = None
    """Per requested choice, the log-probability (over the whole vocabulary) of its first
    token as the answer's first token; None when the backend cannot tell, or when two
    choices share a first token."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Messages = Sequence[Message]


def user(content: str) -> Message:
    """Shorthand for a user message."""
    return Message("user", content)


def system(content: str) -> Message:
    """Shorthand for a system message."""
    return Message("system", content)
