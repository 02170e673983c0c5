"""A small sentiment task with scripted task and Meta-LLMs for the optimizer's tests.

The scripted task model answers correctly only when the instruction it sees contains
the word ``CAREFULLY`` (which only refined prompts carry), so a search that uses the
failures and the refiner shows a real gain; otherwise it always says "positive".
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics.base import MetricSet, WeightedMetric
from autotune.metrics.label import LabelMatch
from autotune.prompt import Prompt
from autotune.search.settings import SearchSettings

WORDS = ["lovely", "awful", "great", "dull", "superb", "boring", "charming", "weak"]
REFINED = "## Persona\nA critic.\n\n## Steps\nRead CAREFULLY and decide.\n\n## Format\npositive"


def _label(text: str) -> str:
    index = next((i for i, word in enumerate(WORDS) if word in text), 0)
    return "positive" if index % 2 == 0 else "negative"


def make_cases(prefix: str, n: int) -> tuple[Case, ...]:
    return tuple(
        Case(
            id=f"{prefix}{i}",
            inputs={"text": f"{prefix} review {i}: it was {WORDS[i % len(WORDS)]}"},
            expected=_label(WORDS[i % len(WORDS)]),
        )
        for i in range(n)
    )


@pytest.fixture
def benchmark() -> Benchmark:
    train, val, test = make_cases("train", 24), make_cases("val", 8), make_cases("test", 8)
    metrics = MetricSet([WeightedMetric(LabelMatch(labels=("positive", "negative")))])
    return Benchmark(
        name="toy",
        cases=(*train, *val, *test),
        metrics=metrics,
        user_template="{text}",
        description="Decide if a review is positive or negative.",
        splits={"train": train, "validation": val, "test": test},
        labels=("positive", "negative"),
    )


def task_answer(messages: Sequence[Message], params: SamplingParams) -> str:
    seen = " ".join(m.content for m in messages)
    if "CAREFULLY" not in seen:
        return "positive, I think"
    return _label(messages[-1].content)


@pytest.fixture
def task_llm() -> ScriptedLLM:
    return ScriptedLLM(task_answer, model_id="task")


@pytest.fixture
def meta_llm() -> ScriptedLLM:
    def answer(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        if "List the two to four most important problems" in text:
            return "- The prompt never asks the model to read carefully."
        if "Rewrite the prompt" in text:
            return REFINED
        return "## Persona\nA helper.\n\n## Context\nReviews of films and things."

    return ScriptedLLM(answer, model_id="meta")


@pytest.fixture
def seed_prompt() -> Prompt:
    return Prompt(system="Classify the text.", user_template="{text}", name="seed")


@pytest.fixture
def settings() -> SearchSettings:
    return SearchSettings(
        n_trials=8,
        pool_size=4,
        n_generated=1,
        demo_counts=[0, 2],
        n_demo_sets=2,
        strategies=["direct"],
        positions=["system"],
        temperatures=[0.0],
        minibatch_size=4,
        n_minibatches=2,
        n_validate=3,
        concurrency=2,
    )
