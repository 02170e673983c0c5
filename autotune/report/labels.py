"""Label tasks in a comparison: what each variant answered, against what was expected.

A prompt that answers "positive" to every case can look fine by its mean on a skewed
set; the label distribution and the confusion matrix show it at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from autotune.evaluate.results import CaseResult
from autotune.metrics.label import canonical_label, extract_label

NO_LABEL = "(no label)"


@dataclass(frozen=True)
class LabelStats:
    """Counts of expected against predicted labels.

    Attributes:
        labels: The allowed labels, in the benchmark's order.
        columns: The predicted columns: the labels, then :data:`NO_LABEL` if any answer
            named none (or failed).
        matrix: ``matrix[i][j]``: cases expecting ``labels[i]`` answered ``columns[j]``.
        predicted: How often each column was answered.
    """

    labels: tuple[str, ...]
    columns: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    predicted: dict[str, int]

    def share(self, column: str) -> float:
        """The fraction of answers that were ``column``."""
        total = sum(self.predicted.values())
        return self.predicted.get(column, 0) / total if total else 0.0


def predicted_label(row: CaseResult, labels: Sequence[str]) -> str:
    """The label the row's answer names, or :data:`NO_LABEL` (also for errors)."""
    if row.error:
        return NO_LABEL
    return extract_label(row.output, labels) or NO_LABEL


def label_stats(rows: Sequence[CaseResult], labels: Sequence[str]) -> LabelStats | None:
    """The label statistics of ``rows``; None unless the task has labels and the rows
    expect them."""
    if len(labels) < 2:
        return None
    expected = [canonical_label(row.expected, labels) for row in rows]
    if not any(expected):
        return None
    predicted = [predicted_label(row, labels) for row in rows]
    counts = Counter(predicted)
    columns = tuple(labels) + ((NO_LABEL,) if counts.get(NO_LABEL) else ())
    pairs = Counter(zip(expected, predicted, strict=True))
    matrix = tuple(tuple(pairs[(label, column)] for column in columns) for label in labels)
    return LabelStats(tuple(labels), columns, matrix, {c: counts.get(c, 0) for c in columns})
