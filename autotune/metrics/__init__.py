"""Metrics: (output, case) -> :class:`Score` in [0, 1] with a reason.

Built-in metrics by suite-file name: ``exact``, ``normalized``, ``label``, ``contains``,
``not_contains``, ``regex``, ``json_valid``, ``json_schema``, ``json_fields``,
``numeric``, ``f1``, ``judge``; a user's function as ``module:function`` or
``path/to/file.py:function``. A :class:`MetricSet` combines weighted metrics.
"""

from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric

# Importing the built-in metric modules registers them.
from autotune.metrics.custom import FunctionMetric
from autotune.metrics.f1 import TokenF1, token_f1
from autotune.metrics.json_metrics import JsonFields, JsonSchema, JsonValid
from autotune.metrics.judge import LLMJudge, parse_grade
from autotune.metrics.label import LabelMatch, canonical_label, extract_label
from autotune.metrics.match import Contains, ExactMatch, NormalizedMatch, NotContains, RegexMatch
from autotune.metrics.numeric import NumericMatch
from autotune.metrics.registry import (
    BuildContext,
    available_metrics,
    build_metric,
    build_metric_set,
    register_metric,
)

__all__ = [
    "BaseMetric",
    "BuildContext",
    "Contains",
    "ExactMatch",
    "FunctionMetric",
    "JsonFields",
    "JsonSchema",
    "JsonValid",
    "LLMJudge",
    "LabelMatch",
    "MetricSet",
    "NormalizedMatch",
    "NotContains",
    "NumericMatch",
    "RegexMatch",
    "Score",
    "TokenF1",
    "WeightedMetric",
    "available_metrics",
    "build_metric",
    "build_metric_set",
    "canonical_label",
    "extract_label",
    "parse_grade",
    "register_metric",
    "token_f1",
]
