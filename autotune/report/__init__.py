"""Compare prompt variants, gate regressions before deployment, and write HTML reports.

from autotune.report import compare, regression_gate, write_report
"""

from __future__ import annotations

from autotune.report._inputs import ResolvedPrompt, check_prompt, is_registry_uri, resolve_prompt
from autotune.report._repeats import RepeatedEval, evaluate_repeated, merge_repeats
from autotune.report._report_data import ReportData, ReportRow
from autotune.report._report_sources import load_report_data
from autotune.report.compare import Comparison, Variant, VariantResult, compare
from autotune.report.html import render_report, write_report
from autotune.report.matrix import write_matrix
from autotune.report.regress import (
    CaseFlip,
    GateResult,
    MetricGate,
    gate_from_runs,
    promote_candidate,
    regression_gate,
)
from autotune.report.stats import PairedDiff, is_regression, paired_diff, score_gate

__all__ = [
    "CaseFlip",
    "Comparison",
    "GateResult",
    "MetricGate",
    "PairedDiff",
    "RepeatedEval",
    "ReportData",
    "ReportRow",
    "ResolvedPrompt",
    "Variant",
    "VariantResult",
    "check_prompt",
    "compare",
    "evaluate_repeated",
    "gate_from_runs",
    "is_registry_uri",
    "is_regression",
    "load_report_data",
    "merge_repeats",
    "paired_diff",
    "promote_candidate",
    "regression_gate",
    "render_report",
    "resolve_prompt",
    "score_gate",
    "write_matrix",
    "write_report",
]
