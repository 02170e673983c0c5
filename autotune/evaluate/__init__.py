"""Evaluate prompts on benchmark cases: per-case rows, mean score and its CI."""

from __future__ import annotations

from autotune.evaluate.evaluator import EvalBudgetExceeded, Evaluator, check_cases, run_sync
from autotune.evaluate.results import CaseResult, EvalResult
from autotune.evaluate.stats import bootstrap_mean_ci, paired_bootstrap_diff_ci

__all__ = [
    "CaseResult",
    "EvalBudgetExceeded",
    "EvalResult",
    "Evaluator",
    "bootstrap_mean_ci",
    "check_cases",
    "paired_bootstrap_diff_ci",
    "run_sync",
]
