"""Run one prompt R times over the same cases and average each case over the repeats."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from autotune.bench.case import Case
from autotune.evaluate.evaluator import Evaluator, ProgressCallback
from autotune.evaluate.results import CaseResult, ErrorPolicy, EvalResult
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.report.stats import majority_passed, repeat_means


@dataclass
class RepeatedEval:
    """One prompt scored ``len(runs)`` times on the same cases (same order in each run).

    ``merged`` has the first run's rows with each case's score and metric scores
    averaged over the repeats, and usage summed over them.
    """

    runs: list[EvalResult]
    merged: EvalResult

    @property
    def case_ids(self) -> list[str]:
        return [row.case_id for row in self.merged.rows]

    def score_matrix(self) -> list[list[float]]:
        """Repeats x cases weighted scores."""
        return [run.scores() for run in self.runs]

    def metric_matrix(self, name: str) -> list[list[float]]:
        """Repeats x cases scores of one metric (NaN for an error row: no score)."""
        return [_metric_row(run, name) for run in self.runs]

    def passed(self) -> list[bool]:
        """Per case: passed in most repeats."""
        return majority_passed([[row.passed for row in run.rows] for run in self.runs])


def merge_repeats(
    runs: Sequence[EvalResult],
    metric_names: Sequence[str],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> EvalResult:
    """One result whose rows hold per-case means over ``runs`` (the CI is over cases).

    Raises:
        ValueError: No runs, or runs over different cases.
    """
    if not runs:
        raise ValueError("need at least one run")
    ids = [row.case_id for row in runs[0].rows]
    if any([row.case_id for row in run.rows] != ids for run in runs):
        raise ValueError("every repeat must score the same cases in the same order")
    scores = repeat_means([run.scores() for run in runs])
    per_metric = {
        name: repeat_means([_metric_row(run, name) for run in runs]) for name in metric_names
    }
    rows = [
        _merged_row([run.rows[index] for run in runs], scores[index], per_metric, index)
        for index in range(len(ids))
    ]
    wall = sum(run.wall_s for run in runs)
    return EvalResult.from_rows(
        rows, metric_names, wall_s=wall, confidence=confidence, n_resamples=n_resamples, seed=seed
    )


def _metric_row(run: EvalResult, name: str) -> list[float]:
    return [r.metric_scores.get(name, 0.0) if r.scored else math.nan for r in run.rows]


def _merged_row(
    rows: list[CaseResult], score: float, per_metric: dict[str, list[float]], index: int
) -> CaseResult:
    first = rows[0]
    errors = [row for row in rows if row.error]
    all_failed = len(errors) == len(rows)
    return dataclasses.replace(
        first,
        score=0.0 if all_failed else score,
        metric_scores={} if all_failed else {k: v[index] for k, v in per_metric.items()},
        prompt_tokens=sum(row.prompt_tokens for row in rows),
        completion_tokens=sum(row.completion_tokens for row in rows),
        latency_s=sum(row.latency_s for row in rows),
        calls=sum(row.calls for row in rows),
        error=errors[0].error if all_failed else None,
        error_retryable=all(row.error_retryable for row in errors),
    )


def evaluate_repeated(
    llm: BaseLLM,
    metrics: MetricSet,
    prompt: Prompt,
    cases: Sequence[Case],
    *,
    params: SamplingParams | None = None,
    repeats: int = 1,
    concurrency: int = 8,
    progress: ProgressCallback | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    error_policy: ErrorPolicy | None = None,
) -> RepeatedEval:
    """Score ``prompt`` ``repeats`` times; repeat ``r`` samples with ``sample_index=r``.

    Distinct sample indexes make the response cache keep one answer per repeat (so
    sampling noise is measured, not replayed), and seeded backends draw differently.

    Raises:
        ValueError: ``repeats`` < 1.
        DataError, ConfigError, EvalBudgetExceeded: As :meth:`Evaluator.evaluate`.
        UnusableResult: With ``error_policy``, a repeat's errors make it unusable.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    base = params or SamplingParams()
    runs = []
    for index in range(repeats):
        evaluator = Evaluator(
            llm,
            metrics,
            params=base.with_(sample_index=base.sample_index + index),
            concurrency=concurrency,
            progress=progress,
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
            error_policy=error_policy,
        )
        runs.append(evaluator.evaluate(prompt, cases))
    merged = merge_repeats(
        runs, metrics.names, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    return RepeatedEval(runs, merged)
