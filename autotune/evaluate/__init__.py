"""Evaluate prompts on benchmark cases: per-case rows, mean score and its CI."""

from __future__ import annotations

from autotune.evaluate.evaluator import EvalBudgetExceeded, Evaluator, check_cases, run_sync
from autotune.evaluate.results import (
    DEFAULT_POLICY,
    CaseResult,
    ErrorPolicy,
    EvalResult,
    UnusableResult,
    paired_scored,
    scored_mean,
)
from autotune.evaluate.stats import bootstrap_mean_ci, paired_bootstrap_diff_ci

__all__ = [
    "DEFAULT_POLICY",
    "CaseResult",
    "ErrorPolicy",
    "EvalBudgetExceeded",
    "EvalResult",
    "Evaluator",
    "UnusableResult",
    "bootstrap_mean_ci",
    "check_cases",
    "paired_bootstrap_diff_ci",
    "paired_scored",
    "run_sync",
    "scored_mean",
]
