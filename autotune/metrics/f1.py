"""The ``f1`` metric: token-overlap F1 with SQuAD-style normalization."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autotune.metrics._options import MetricOptions
from autotune.metrics._text import squad_tokens
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 of two texts (lowercase, no punctuation, no articles)."""
    predicted = squad_tokens(prediction)
    wanted = squad_tokens(reference)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(wanted)
    return min(1.0, 2 * precision * recall / (precision + recall))


@register_metric("f1")
class TokenF1(BaseMetric):
    """Token-level F1 against the expected answer (the best one when it is a list)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> TokenF1:
        MetricOptions.model_validate(options)
        return cls()

    def score(self, output: str, case: Case) -> Score:
        if case.expected is None:
            return Score(0.0, "case has no expected output")
        references = case.expected if isinstance(case.expected, list) else [case.expected]
        if not references:
            return Score(0.0, "case has no expected output")
        best = max(token_f1(output, str(reference)) for reference in references)
        if best >= 1.0:
            return Score(1.0)
        return Score(best, f"token F1 {best:.2f}")
