"""The ``reflexion`` strategy: draft, harsh critique, rewrite from the critique.

Each round asks the model to critique the latest answer (a separate request that sees
the task and the answer, not the conversation) and then to rewrite the answer in the
original conversation, so the rewrite still follows the prompt's instructions and
format. ``rounds`` critique+revise rounds cost ``1 + 2 * rounds`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autotune.answer_strategies._templates import load_template
from autotune.answer_strategies.base import AnswerResult, BaseAnswerStrategy, messages_as_text
from autotune.errors import ConfigError
from autotune.llm.base import BaseLLM
from autotune.llm.scope import call_scope
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.prompt import Prompt, fill_template, template_fields


class ReflexionAnswer(BaseAnswerStrategy):
    """Draft -> critique -> revised final answer, repeated ``rounds`` times.

    Args:
        rounds: Critique+revise rounds (at least 1).
        critique_template: Meta-prompt for the critique, with ``{task}`` and ``{answer}``;
            defaults to ``templates/critique.md``.
        revise_template: Request for the rewrite, with ``{critique}``; defaults to
            ``templates/revise.md``.

    The trace is ``[("draft", ..), ("critique", ..), ("final", ..)]`` for one round;
    more rounds insert ``("revision", ..), ("critique", ..)`` pairs before the final.
    """

    name = "reflexion"

    def __init__(
        self,
        rounds: int = 1,
        *,
        critique_template: str | None = None,
        revise_template: str | None = None,
    ) -> None:
        if rounds < 1:
            raise ValueError(f"reflexion needs at least one round, got {rounds}")
        self.rounds = rounds
        self.critique_template = critique_template or load_template("critique")
        self.revise_template = revise_template or load_template("revise")
        _check_fields(self.critique_template, {"task", "answer"}, "critique_template")
        _check_fields(self.revise_template, {"critique"}, "revise_template")

    async def run(
        self,
        llm: BaseLLM,
        prompt: Prompt,
        inputs: Mapping[str, Any],
        params: SamplingParams,
    ) -> AnswerResult:
        messages = prompt.render(inputs)
        task = messages_as_text(messages)
        with call_scope("draft"):
            draft = await llm.aexecute(messages, params)
        completions = [draft]
        trace = [("draft", draft.text)]
        answer = draft.text
        for round_index in range(self.rounds):
            with call_scope(f"critique {round_index + 1}"):
                critique = await llm.aexecute(self.critique_request(task, answer), params)
            with call_scope(f"revise {round_index + 1}"):
                revised = await llm.aexecute(
                    self.revise_request(messages, answer, critique.text), params
                )
            completions += [critique, revised]
            if round_index:
                trace.append(("revision", answer))
            trace.append(("critique", critique.text))
            answer = _keep_if_empty(revised, answer)
        trace.append(("final", answer))
        return AnswerResult(answer, completions, trace, messages)

    def critique_request(self, task: str, answer: str) -> list[Message]:
        """The messages asking for a critique of ``answer`` to ``task``."""
        text = fill_template(self.critique_template, {"task": task, "answer": answer})
        return [Message("user", text)]

    def revise_request(self, messages: list[Message], answer: str, critique: str) -> list[Message]:
        """The original conversation, the answer, and a request to fix it per ``critique``."""
        request = fill_template(self.revise_template, {"critique": critique})
        return [*messages, Message("assistant", answer), Message("user", request)]


def _keep_if_empty(revised: Completion, previous: str) -> str:
    # A weak model sometimes returns nothing; an empty rewrite is never better.
    return revised.text if revised.text.strip() else previous


def _check_fields(template: str, allowed: set[str], field: str) -> None:
    unknown = template_fields(template) - allowed
    if unknown:
        names = ", ".join(sorted(unknown))
        message = f"unknown placeholder(s) {names}; allowed: {sorted(allowed)}"
        raise ConfigError(message, field=field)
