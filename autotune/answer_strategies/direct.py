"""The ``direct`` strategy: one model call with the rendered prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autotune.answer_strategies.base import AnswerResult, BaseAnswerStrategy
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.prompt import Prompt


class DirectAnswer(BaseAnswerStrategy):
    """Send ``prompt.render(inputs)`` and use the reply as the answer."""

    name = "direct"
    answer_is_completion = True

    async def run(
        self,
        llm: BaseLLM,
        prompt: Prompt,
        inputs: Mapping[str, Any],
        params: SamplingParams,
    ) -> AnswerResult:
        messages = prompt.render(inputs)
        completion = await llm.aexecute(messages, params)
        return AnswerResult(completion.text, [completion], request=messages)
