"""Fixtures of the report tests: the scripted model and metrics of ``report_doubles``."""

from __future__ import annotations

import pytest
from report_doubles import Brief, answer, find_chromium

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


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless browser; the tests that need it skip only when none can be installed."""
    found = find_chromium()
    if found is None:
        pytest.skip("chromium is not installed and could not be installed with apt-get")
    return found
