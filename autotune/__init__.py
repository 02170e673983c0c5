"""autotune: a prompt autotuner.

A Meta-LLM writes, critiques and refines prompts; an Optuna study searches over them;
MLflow tracks every trial. This module is the public API::

    import autotune

    bench = autotune.load_benchmark("benchmarks/sentiment/suite.toml")
    seed = autotune.load_prompt("experiments/sentiment_seed.txt", bench.user_template)
    model = autotune.load_llm("smollm2")
    result = autotune.PromptOptimizer(model, model).optimize(bench, seed)

Heavy parts (Optuna, MLflow, llama.cpp) load on first use, so ``import autotune`` and
the CLI stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autotune.errors import (
    AutotuneError,
    BudgetExceeded,
    ConfigError,
    DataError,
    LLMError,
    UserInputError,
)
from autotune.prompt import Demo, Prompt

if TYPE_CHECKING:
    from autotune.answer_strategies import BaseAnswerStrategy
    from autotune.bench import Benchmark, Case, load_benchmark, load_cases, load_prompt
    from autotune.evaluate import EvalResult, Evaluator
    from autotune.gen import generate_prompt, reflect, synthesize_cases
    from autotune.llm import BaseLLM, Budget, ScriptedLLM, load_llm
    from autotune.metrics import BaseMetric, MetricSet, register_metric
    from autotune.report import compare, regression_gate, write_report
    from autotune.search.optimizer import PromptOptimizer
    from autotune.search.result import OptimizationResult
    from autotune.search.settings import SearchSettings

__version__ = "0.1.0"

_LAZY = {
    "Benchmark": "autotune.bench",
    "Case": "autotune.bench",
    "load_benchmark": "autotune.bench",
    "load_cases": "autotune.bench",
    "load_prompt": "autotune.bench",
    "EvalResult": "autotune.evaluate",
    "Evaluator": "autotune.evaluate",
    "BaseLLM": "autotune.llm",
    "Budget": "autotune.llm",
    "ScriptedLLM": "autotune.llm",
    "load_llm": "autotune.llm",
    "BaseMetric": "autotune.metrics",
    "MetricSet": "autotune.metrics",
    "register_metric": "autotune.metrics",
    "PromptOptimizer": "autotune.search.optimizer",
    "OptimizationResult": "autotune.search.result",
    "SearchSettings": "autotune.search.settings",
    "BaseAnswerStrategy": "autotune.answer_strategies",
    "generate_prompt": "autotune.gen",
    "reflect": "autotune.gen",
    "synthesize_cases": "autotune.gen",
    "compare": "autotune.report",
    "regression_gate": "autotune.report",
    "write_report": "autotune.report",
}

__all__ = [
    "AutotuneError",
    "BaseAnswerStrategy",
    "BaseLLM",
    "BaseMetric",
    "Benchmark",
    "Budget",
    "BudgetExceeded",
    "Case",
    "ConfigError",
    "DataError",
    "Demo",
    "EvalResult",
    "Evaluator",
    "LLMError",
    "MetricSet",
    "OptimizationResult",
    "Prompt",
    "PromptOptimizer",
    "ScriptedLLM",
    "SearchSettings",
    "UserInputError",
    "__version__",
    "compare",
    "generate_prompt",
    "load_benchmark",
    "load_cases",
    "load_llm",
    "load_prompt",
    "reflect",
    "register_metric",
    "regression_gate",
    "synthesize_cases",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import the public names of heavy modules on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autotune' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
