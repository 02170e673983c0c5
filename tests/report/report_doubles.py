"""Cases and a scripted model whose behaviour the system prompt chooses.

- ``GOOD`` in the instruction: the right label.
- ``BAD``: always "positive" (wrong on every negative case).
- ``NOISY``: the right label, except on sample 1 of each case ("positive").
"""

from __future__ import annotations

from collections.abc import Sequence

from autotune.bench.case import Case
from autotune.llm.types import Message, SamplingParams
from autotune.metrics.base import BaseMetric, Score
from autotune.prompt import Prompt

NEGATIVE_EVERY = 3  # cases 0, 3, 6, ... are negative


class Brief(BaseMetric):
    """1 when the answer has at most three words."""

    name = "brief"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if len(output.split()) <= 3 else Score(0.0, "too long")


def make_cases(count: int) -> list[Case]:
    cases = []
    for index in range(count):
        label = "negative" if index % NEGATIVE_EVERY == 0 else "positive"
        cases.append(Case(f"c{index:02d}", {"text": f"item {index} felt {label}"}, label))
    return cases


def answer(messages: Sequence[Message], params: SamplingParams) -> str:
    system = " ".join(m.content for m in messages if m.role == "system")
    truth = "negative" if "negative" in messages[-1].content else "positive"
    if "BAD" in system:
        return "positive"
    if "NOISY" in system and params.sample_index == 1:
        return "positive"
    return truth


def prompt(system: str, name: str = "") -> Prompt:
    return Prompt(system=system, user_template="{text}", name=name or system.split()[0].lower())
