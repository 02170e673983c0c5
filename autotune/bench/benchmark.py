"""A loaded benchmark: cases, splits, metrics and the default user template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autotune.bench.case import Case
from autotune.metrics.base import MetricSet

SPLITS = ("train", "validation", "test")


@dataclass
class Benchmark:
    """Everything needed to score prompts on a task.

    Attributes:
        name: Short name (the suite file's stem unless given).
        description: What the task is, in words; given to the Meta-LLM.
        cases: All cases, in file order.
        splits: ``train`` / ``validation`` / ``test`` case tuples (may be empty).
        metrics: The weighted metrics.
        user_template: The default user template (``{field}`` placeholders).
        labels: The allowed labels for classification tasks, else empty.
        source: Path of the suite file, for messages.
    """

    name: str
    cases: tuple[Case, ...]
    metrics: MetricSet
    user_template: str
    description: str = ""
    splits: Mapping[str, tuple[Case, ...]] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    source: str = ""

    def split(self, name: str) -> tuple[Case, ...]:
        """The cases of one split; all cases when the suite defines no splits."""
        if not self.splits:
            return self.cases
        return self.splits.get(name, ())
