"""Reflexion on one input: draft, harsh critique, rewrite, round after round.

This runs the very strategy the optimizer uses as an answer strategy
(:class:`~autotune.answer_strategies.ReflexionAnswer`, looked up by name), on one question,
and regroups its trace per round for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from autotune.answer_strategies import ReflexionAnswer, get_answer_strategy
from autotune.errors import UserInputError
from autotune.evaluate import run_sync
from autotune.llm.base import BaseLLM
from autotune.llm.types import Completion, SamplingParams
from autotune.prompt import Prompt


@dataclass(frozen=True)
class ReflexionRound:
    """One round: the answer under review, the critique of it, and the rewrite."""

    number: int
    draft: str
    critique: str
    final: str


@dataclass
class Reflection:
    """The rounds of a Reflexion run on one question and its final answer."""

    question: str
    system: str
    rounds: list[ReflexionRound]
    answer: str
    completions: list[Completion] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.completions)

    @property
    def tokens(self) -> int:
        return sum(c.total_tokens for c in self.completions)

    def to_markdown(self) -> str:
        """Every round's draft, critique and final answer, labelled."""
        parts = [f"# Reflexion\n\n**Question:** {self.question}"]
        if self.system:
            parts.append(f"**System:** {self.system}")
        for entry in self.rounds:
            parts.append(
                f"## Round {entry.number}\n\n### Draft\n{entry.draft.strip()}\n\n"
                f"### Critique\n{entry.critique.strip()}\n\n### Final answer\n{entry.final.strip()}"
            )
        parts.append(f"## Answer\n{self.answer.strip()}")
        return "\n\n".join(parts) + "\n"


def reflect(
    question: str,
    llm: BaseLLM,
    *,
    rounds: int = 1,
    system: str = "",
    params: SamplingParams | None = None,
) -> Reflection:
    """Answer ``question`` with the ``reflexion`` strategy and keep every round.

    Raises:
        UserInputError: An empty question or fewer than one round.
    """
    if not question.strip():
        raise UserInputError("the question is empty", field="question")
    if rounds < 1:
        raise UserInputError(f"must be at least 1, got {rounds}", field="rounds")
    strategy = get_answer_strategy(ReflexionAnswer.name, rounds=rounds)
    prompt = Prompt(system=system.strip(), answer_strategy=ReflexionAnswer.name, name="reflect")
    inputs = {"input": question.strip()}
    result = run_sync(strategy.run(llm, prompt, inputs, params or SamplingParams()))
    return Reflection(
        question=question.strip(),
        system=system.strip(),
        rounds=rounds_from_trace(result.trace),
        answer=result.output,
        completions=result.completions,
    )


def rounds_from_trace(trace: Sequence[tuple[str, str]]) -> list[ReflexionRound]:
    """Regroup a Reflexion trace (draft, critique, [revision, critique, ...], final).

    Each round reviews the answer the previous round ended with; the last round ends
    with the final answer.
    """
    answers = [text for step, text in trace if step in ("draft", "revision", "final")]
    critiques = [text for step, text in trace if step == "critique"]
    return [
        ReflexionRound(number, answers[number - 1], critique, answers[number])
        for number, critique in enumerate(critiques, start=1)
        if number < len(answers)
    ]
