"""Fixtures of the search tests: the scripted task of ``search_doubles``."""

from __future__ import annotations

import pytest
import search_doubles

from autotune.bench.benchmark import Benchmark
from autotune.llm.fake import ScriptedLLM
from autotune.prompt import Prompt
from autotune.search.settings import SearchSettings


@pytest.fixture
def benchmark() -> Benchmark:
    return search_doubles.benchmark()


@pytest.fixture
def task_llm() -> ScriptedLLM:
    return search_doubles.task_llm()


@pytest.fixture
def meta_llm() -> ScriptedLLM:
    return search_doubles.meta_llm()


@pytest.fixture
def seed_prompt() -> Prompt:
    return search_doubles.seed_prompt()


@pytest.fixture
def settings() -> SearchSettings:
    return search_doubles.settings()
