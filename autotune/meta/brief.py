"""What the Meta-LLM is told about a task: :class:`TaskBrief`.

A brief is built from the *training* split alone, so nothing of the validation or
test cases can reach a proposer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.meta.keywords import label_words


@dataclass(frozen=True)
class TaskBrief:
    """What a proposer knows about the task.

    Attributes:
        description: The task in words.
        format_hint: The exact answer structure (e.g. the allowed labels).
        train_cases: Training cases the Meta-LLM may see and quote as examples.
        user_template: How case inputs are rendered into the user message.
        label_words: For a label task, the words a label guide may choose from (see
            :func:`~autotune.meta.keywords.label_words`), from training cases only.
    """

    description: str
    format_hint: str
    train_cases: tuple[Case, ...]
    user_template: str = "{input}"
    label_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


def format_hint_for(labels: Sequence[str], expected: Sequence[object]) -> str:
    """The answer structure a prompt's Format section must state.

    Labels are quoted so a repaired Format can be checked to name them all.
    """
    if labels:
        quoted = " or ".join(f'"{label}"' for label in labels)
        return f"Answer with exactly one word, {quoted}, and nothing else."
    sample = [value for value in expected if value is not None][:5]
    if sample and all(isinstance(value, dict) for value in sample):
        keys = sorted({key for value in sample if isinstance(value, dict) for key in value})
        shown = ", ".join(f'"{key}"' for key in keys)
        return f"Answer with one JSON object with the keys {shown} and nothing else."
    if sample and all(_is_number(value) for value in sample):
        return "End your answer with the final number alone on the last line."
    return "Answer with the expected output only, without explanations."


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value).replace(",", ""))
    except ValueError:
        return False
    return True


def brief_from_benchmark(
    benchmark: Benchmark, train: Sequence[Case], vocabulary: Sequence[Case] = ()
) -> TaskBrief:
    """The brief for a benchmark, quoting only ``train`` cases; label words come from
    ``vocabulary`` (training cases too) and ``train``."""
    description = benchmark.description.strip() or f"the task '{benchmark.name}'"
    return TaskBrief(
        description=description,
        format_hint=format_hint_for(benchmark.labels, [case.expected for case in train]),
        train_cases=tuple(train),
        user_template=benchmark.user_template,
        label_words=label_words([*train, *vocabulary], benchmark.labels),
    )
