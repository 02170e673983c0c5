"""Fixtures of the report tests: the scripted model and metrics of ``report_doubles``."""

from __future__ import annotations

import pytest
from report_doubles import Brief, answer

from autotune.llm.fake import ScriptedLLM
from autotune.metrics.base import MetricSet, WeightedMetric
from autotune.metrics.label import LabelMatch


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM(answer, model_id="rules")


@pytest.fixture
def metrics() -> MetricSet:
    return MetricSet(
        [WeightedMetric(LabelMatch(labels=("positive", "negative"))), WeightedMetric(Brief())]
    )
