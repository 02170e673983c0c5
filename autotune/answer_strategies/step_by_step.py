"""The ``step_by_step`` strategy: reason first, then extract the final answer.

Small models often ignore the requested ``Answer:`` line, so extraction is layered:
the last ``Answer:`` line of the reasoning; else one short follow-up call asking for the
final answer only; else the last non-empty line of the reasoning. At most two calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from autotune.answer_strategies._templates import load_template
from autotune.answer_strategies.base import AnswerResult, BaseAnswerStrategy
from autotune.llm.base import BaseLLM
from autotune.llm.scope import call_scope
from autotune.llm.types import Message, SamplingParams
from autotune.prompt import Prompt

# "Answer: x", "Final answer: x", "**Answer:** x", "ANSWER - x"; the value may be empty
# when the model puts it on the next line.
_ANSWER_LINE = re.compile(
    r"^[ \t>*#_-]*(?:the[ \t]+)?(?:final[ \t]+)?answer(?:[ \t]+is)?[ \t*_]*[:：=-][ \t*_]*"
    r"(?P<value>.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def extract_answer(text: str) -> str | None:
    """The value of the last ``Answer:`` line in ``text``, or None if there is none."""
    matches = list(_ANSWER_LINE.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    value = _clean(last.group("value"))
    if value:
        return value
    following = text[last.end() :].splitlines()
    return next((_clean(line) for line in following if _clean(line)), None)


def last_nonempty_line(text: str) -> str:
    """The last line with visible content, or ``""``."""
    return next((_clean(line) for line in reversed(text.splitlines()) if _clean(line)), "")


def _clean(value: str) -> str:
    return value.strip().strip("*_`").strip()


class StepByStepAnswer(BaseAnswerStrategy):
    """Ask for step-by-step reasoning, then take the final answer from it."""

    name = "step_by_step"

    async def run(
        self,
        llm: BaseLLM,
        prompt: Prompt,
        inputs: Mapping[str, Any],
        params: SamplingParams,
    ) -> AnswerResult:
        messages = prompt.render(inputs)
        last = messages[-1]
        messages[-1] = Message("user", f"{last.content}\n\n{load_template('step_by_step')}")
        with call_scope("reasoning"):
            reasoning = await llm.aexecute(messages, params)
        trace = [("reasoning", reasoning.text)]
        answer = extract_answer(reasoning.text)
        if answer is not None:
            trace.append(("final", answer))
            return AnswerResult(answer, [reasoning], trace, messages)
        follow_up = [
            *messages,
            Message("assistant", reasoning.text),
            Message("user", load_template("final_answer")),
        ]
        with call_scope("final answer"):
            final = await llm.aexecute(follow_up, params)
        answer = final.text.strip() or last_nonempty_line(reasoning.text)
        trace.append(("final", answer))
        return AnswerResult(answer, [reasoning, final], trace, messages)
