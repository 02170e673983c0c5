"""The answer-strategy extension point: how a prompt is run on one case."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from autotune.llm.base import BaseLLM
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.prompt import Prompt


@dataclass
class AnswerResult:
    """The final answer of one case, with every model call it took.

    Attributes:
        output: The text metrics score.
        completions: Every completion the strategy made, in order.
        trace: Named intermediate steps (``draft``, ``critique``, ``final``) for display.
        request: The messages of the first call, as sent (shown in result tables).
    """

    output: str
    completions: list[Completion] = field(default_factory=list)
    trace: list[tuple[str, str]] = field(default_factory=list)
    request: list[Message] = field(default_factory=list)


class BaseAnswerStrategy(abc.ABC):
    """Turns (prompt, case inputs) into a final answer using one or more model calls."""

    name: str = "strategy"
    # True when the answer is the text of the strategy's one model call, unchanged: then
    # a metric's stop rule (decided answer, see autotune.llm.stop) may end that call.
    answer_is_completion: ClassVar[bool] = False

    @abc.abstractmethod
    async def run(
        self,
        llm: BaseLLM,
        prompt: Prompt,
        inputs: Mapping[str, Any],
        params: SamplingParams,
    ) -> AnswerResult:
        """Answer one case."""


def messages_as_text(messages: Sequence[Message]) -> str:
    """Chat messages as readable text (``[role]`` headers), for tables and meta-prompts."""
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)
