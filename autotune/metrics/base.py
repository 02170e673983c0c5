"""The metric extension point: (output, case) -> score in [0, 1] with a reason."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autotune.llm.stop import StopRule, all_decided

if TYPE_CHECKING:  # only for annotations: a runtime import would make bench <-> metrics a cycle
    from autotune.bench.case import Case


@dataclass(frozen=True)
class Score:
    """A metric's verdict on one output. ``reason`` says briefly why it is not 1."""

    value: float
    reason: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"score {self.value!r} is outside [0, 1]")


class BaseMetric(abc.ABC):
    """A metric function. Subclasses set ``name`` and implement :meth:`score`.

    ``score`` must never raise on odd model output (empty, huge, non-UTF-8-ish text):
    a model's bad answer is a low score with a reason, not an exception.
    """

    name: str = "metric"

    @abc.abstractmethod
    def score(self, output: str, case: Case) -> Score:
        """Score one model output against one case."""

    def stop_rule(self, case: Case) -> StopRule | None:
        """When a partial output's score on ``case`` is final, or None (only at the end).

        A rule must be sound: once it says decided, no continuation may change the
        score's value. Backends stop generating there (see :mod:`autotune.llm.stop`).
        """
        return None

    def answer_choices(self, case: Case) -> tuple[str, ...] | None:
        """The only answers this metric can credit on ``case``, or None (any text).

        A backend that decodes with a grammar may hold the answer to them, so a weak
        model's answer is always one of them instead of unparseable prose.
        """
        return None


@dataclass(frozen=True)
class WeightedMetric:
    """A metric and its weight in the composite score."""

    metric: BaseMetric
    weight: float = 1.0


class MetricSet:
    """The metrics of a benchmark, combined into one weighted score in [0, 1]."""

    def __init__(self, metrics: list[WeightedMetric]) -> None:
        if not metrics:
            raise ValueError("a benchmark needs at least one metric")
        self.metrics = metrics
        self._total_weight = sum(m.weight for m in metrics) or 1.0

    @property
    def names(self) -> list[str]:
        return [m.metric.name for m in self.metrics]

    def stop_rule(self, case: Case) -> StopRule | None:
        """Decided only when every metric is; None if any metric has no rule."""
        return all_decided(m.metric.stop_rule(case) for m in self.metrics)

    def answer_choices(self, case: Case) -> tuple[str, ...] | None:
        """The choices every metric gives; None when they differ or any takes free text
        (a length or judge metric must see what the model would write)."""
        found = {m.metric.answer_choices(case) for m in self.metrics}
        return found.pop() if len(found) == 1 else None

    def score(self, output: str, case: Case) -> tuple[float, dict[str, Score]]:
        """The weighted score and each metric's own :class:`Score`."""
        scores = {m.metric.name: m.metric.score(output, case) for m in self.metrics}
        total = sum(m.weight * scores[m.metric.name].value for m in self.metrics)
        return min(1.0, max(0.0, total / self._total_weight)), scores
