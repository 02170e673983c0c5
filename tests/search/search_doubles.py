"""A small sentiment task with scripted task and Meta-LLMs for the search tests.

The scripted task model answers correctly only when the instruction it sees contains
the word ``CAREFULLY`` or the phrase ``boring films``, which only Meta-LLM edits bring
(the TPE Refiner writes the first, a section edit about "negative" texts the second),
so a search that uses the failures shows a real gain; otherwise it always says
"positive".
"""

from __future__ import annotations

from collections.abc import Sequence

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


MAGIC = ("CAREFULLY", "boring films")
EDIT = "negative texts are about dull and boring films."


def task_answer(messages: Sequence[Message], params: SamplingParams) -> str:
    seen = " ".join(m.content for m in messages)
    if not any(word in seen for word in MAGIC):
        return "positive, I think"
    return _label(messages[-1].content)


def task_llm() -> ScriptedLLM:
    return ScriptedLLM(task_answer, model_id="task")


def meta_answer(messages: Sequence[Message], params: SamplingParams | None = None) -> str:
    """The scripted Meta-LLM: a critique, a refined prompt, or a section edit."""
    text = messages[-1].content
    if "List the two to four most important problems" in text:
        return "- The prompt never asks the model to read carefully."
    if "Rewrite the prompt" in text:
        return REFINED
    if 'what "negative" texts are about' in text:
        return EDIT
    if "You improve one part" in text:
        return "You are a reader of film reviews."
    return "## Persona\nA helper.\n\n## Context\nReviews of films and things."


def meta_llm() -> ScriptedLLM:
    return ScriptedLLM(meta_answer, model_id="meta")


def seed_prompt() -> Prompt:
    return Prompt(system="Classify the text.", user_template="{text}", name="seed")


def settings() -> SearchSettings:
    return SearchSettings(
        n_trials=12,
        pool_size=4,
        n_generated=1,
        demo_counts=[0, 2],
        n_demo_sets=2,
        positions=["system"],
        minibatch_size=4,
        search_size=12,
        n_minibatches=2,
        n_validate=3,
        concurrency=2,
    )
