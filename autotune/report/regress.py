"""The regression gate: is a candidate prompt measurably worse than the baseline?

Both prompts answer the same cases (each ``repeats`` times); per case the score is the
mean over repeats. The overall score and every metric get a paired bootstrap interval
of ``candidate - baseline``; one whose whole interval lies below ``-tolerance`` is a
regression. Cases that flip (passed before, fail now; or the reverse) are listed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from autotune.bench.case import Case
from autotune.evaluate.evaluator import ProgressCallback
from autotune.evaluate.results import DEFAULT_POLICY, ErrorPolicy, UnusableResult
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.report._inputs import ResolvedPrompt
from autotune.report._repeats import RepeatedEval, evaluate_repeated
from autotune.report.stats import (
    PairedDiff,
    case_flips,
    finite_mean,
    is_regression,
    paired_diff,
    repeat_means,
)

OVERALL = "score"


@dataclass(frozen=True)
class MetricGate:
    """One score's verdict: baseline and candidate means and their paired difference."""

    name: str
    baseline_mean: float
    candidate_mean: float
    diff: PairedDiff
    regressed: bool


@dataclass(frozen=True)
class CaseFlip:
    """A case whose pass/fail verdict changed between baseline and candidate."""

    case_id: str
    baseline_score: float
    candidate_score: float
    baseline_output: str
    candidate_output: str


@dataclass
class GateResult:
    """The gate's verdict with everything a reviewer needs to see why.

    Attributes:
        overall: The weighted score's gate.
        metrics: Each metric's gate, in the benchmark's order.
        broken: Cases that passed with the baseline and fail with the candidate.
        fixed: Cases that failed with the baseline and pass with the candidate.
        tolerance: The allowed drop.
        repeats: Samples per case and prompt.
        confidence: Coverage of the intervals.
        cases: Number of cases compared.
        candidate: A label of the candidate prompt.
        baseline: A label of the baseline prompt.
    """

    overall: MetricGate
    metrics: list[MetricGate]
    broken: list[CaseFlip]
    fixed: list[CaseFlip]
    tolerance: float
    repeats: int
    confidence: float
    cases: int
    candidate: str = "candidate"
    baseline: str = "baseline"
    details: dict[str, str] = field(default_factory=dict)
    baseline_errors: int = 0
    candidate_errors: int = 0

    @property
    def regressions(self) -> list[MetricGate]:
        return [gate for gate in (self.overall, *self.metrics) if gate.regressed]

    @property
    def passed(self) -> bool:
        """No score regressed."""
        return not self.regressions


DiffFunction = Callable[[Sequence[float], Sequence[float]], PairedDiff]


def _metric_gate(
    name: str,
    candidate: Sequence[Sequence[float]],
    baseline: Sequence[Sequence[float]],
    tolerance: float,
    diff_of: DiffFunction,
) -> MetricGate:
    cand, base = repeat_means(candidate), repeat_means(baseline)
    diff = diff_of(cand, base)
    return MetricGate(
        name=name,
        baseline_mean=finite_mean(base),
        candidate_mean=finite_mean(cand),
        diff=diff,
        regressed=is_regression(diff, tolerance),
    )


def gate_from_runs(
    candidate: RepeatedEval,
    baseline: RepeatedEval,
    metric_names: Sequence[str],
    *,
    tolerance: float = 0.0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> GateResult:
    """The gate on finished runs of both prompts over the same cases.

    Raises:
        ValueError: The runs cover different cases, or ``tolerance`` is negative.
    """
    if candidate.case_ids != baseline.case_ids:
        raise ValueError("candidate and baseline were scored on different cases")
    diff_of = functools.partial(
        paired_diff, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    overall = _metric_gate(
        OVERALL, candidate.score_matrix(), baseline.score_matrix(), tolerance, diff_of
    )
    metrics = [
        _metric_gate(
            name, candidate.metric_matrix(name), baseline.metric_matrix(name), tolerance, diff_of
        )
        for name in metric_names
    ]
    broken, fixed = _flips(candidate, baseline)
    return GateResult(
        overall=overall,
        metrics=metrics,
        broken=broken,
        fixed=fixed,
        tolerance=tolerance,
        repeats=len(candidate.runs),
        confidence=confidence,
        cases=len(candidate.case_ids),
        baseline_errors=sum(run.errors for run in baseline.runs),
        candidate_errors=sum(run.errors for run in candidate.runs),
    )


def _flips(
    candidate: RepeatedEval, baseline: RepeatedEval
) -> tuple[list[CaseFlip], list[CaseFlip]]:
    ids = candidate.case_ids
    broken_ids, fixed_ids = case_flips(ids, baseline.passed(), candidate.passed())
    by_id = {
        row.case_id: (base_row, row)
        for base_row, row in zip(baseline.merged.rows, candidate.merged.rows, strict=True)
    }

    def flip(case_id: str) -> CaseFlip:
        base_row, cand_row = by_id[case_id]
        return CaseFlip(
            case_id,
            base_row.score,
            cand_row.score,
            base_row.error or base_row.output,
            cand_row.error or cand_row.output,
        )

    return [flip(cid) for cid in broken_ids], [flip(cid) for cid in fixed_ids]


def regression_gate(
    llm: BaseLLM,
    metrics: MetricSet,
    cases: Sequence[Case],
    candidate: Prompt,
    baseline: Prompt,
    *,
    params: SamplingParams | None = None,
    baseline_params: SamplingParams | None = None,
    repeats: int = 1,
    tolerance: float = 0.0,
    concurrency: int = 8,
    confidence: float = 0.95,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    error_policy: ErrorPolicy = DEFAULT_POLICY,
) -> GateResult:
    """Score both prompts on ``cases`` and gate the candidate against the baseline.

    Example::

        result = regression_gate(llm, bench.metrics, bench.split("test"), new, old)
        if not result.passed:
            print([gate.name for gate in result.regressions])

    ``params`` are the sampling parameters of both prompts unless ``baseline_params``
    gives the baseline its own (e.g. the temperature it was tuned with).

    A side whose errors make it unusable under ``error_policy`` is never gated: the
    gate cannot pass (or fail) on scores that were not taken.

    Raises:
        ValueError: ``repeats`` < 1 or ``tolerance`` < 0.
        DataError, ConfigError: A prompt cannot run on the cases.
        UnusableResult: Errors made the baseline's or the candidate's scores unusable.
        FatalLLMError: The model cannot be reached at all (wrong key, wrong URL).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    runs = []
    sides = (("baseline", baseline, baseline_params or params), ("candidate", candidate, params))
    for what, prompt, prompt_params in sides:
        try:
            run = evaluate_repeated(
                llm,
                metrics,
                prompt,
                cases,
                params=prompt_params,
                repeats=repeats,
                concurrency=concurrency,
                progress=progress,
                confidence=confidence,
                seed=seed,
                error_policy=error_policy,
            )
            for repeat in run.runs:
                repeat.check_usable(error_policy, what)
        except UnusableResult as exc:
            raise UnusableResult(exc.reason, exc.partial, what) from None
        runs.append(run)
    result = gate_from_runs(
        runs[1], runs[0], metrics.names, tolerance=tolerance, confidence=confidence, seed=seed
    )
    result.candidate = candidate.name or candidate.fingerprint()
    result.baseline = baseline.name or baseline.fingerprint()
    return result


def promote_candidate(
    candidate: ResolvedPrompt,
    baseline: ResolvedPrompt,
    alias: str,
    *,
    tracking_uri: str | None = None,
    commit_message: str = "",
) -> int:
    """Point ``alias`` of the baseline's registered prompt at the candidate.

    A candidate already registered under the same name keeps its version; any other
    candidate (a file, or another registered prompt) becomes a new version first.

    Returns:
        The version the alias now names.

    Raises:
        ValueError: The baseline is not a registered prompt.
    """
    from autotune.tracking.registry import register_prompt, set_alias

    name = baseline.registry_name
    if name is None:
        raise ValueError("promotion needs a registered baseline (prompts:/NAME@ALIAS)")
    if candidate.registry_name == name and candidate.version is not None:
        set_alias(name, alias, candidate.version, tracking_uri=tracking_uri)
        return candidate.version
    return register_prompt(
        candidate.prompt,
        name,
        alias=alias,
        tracking_uri=tracking_uri,
        commit_message=commit_message or f"promoted from {candidate.spec} by autotune regress",
        tags={"autotune.source": candidate.spec},
    )
