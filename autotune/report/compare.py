"""Compare prompt variants: every (prompt, model) pair on the same cases.

Each variant gets its mean with a bootstrap CI, and every variant after the first a
paired difference against the first. With tracking on, each variant becomes one MLflow
run (opened before its work); the runs of one comparison share the tag
``autotune.compare_group``, so the MLflow UI shows them side by side.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autotune.bench.case import Case
from autotune.evaluate.evaluator import ProgressCallback
from autotune.evaluate.results import DEFAULT_POLICY, ErrorPolicy, EvalResult, UnusableResult
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.report._repeats import RepeatedEval, evaluate_repeated
from autotune.report.stats import PairedDiff, paired_diff
from autotune.tracking.base import NullTracker, TrackedRun, Tracker
from autotune.tracking.traces import CallLog, TracedLLM

GROUP_TAG = "autotune.compare_group"
KIND_TAG = "autotune.kind"
VARIANT_TAG = "autotune.variant"


@dataclass(frozen=True)
class Variant:
    """One thing to compare: a prompt run by a model.

    ``params`` overrides the comparison's sampling parameters for this variant (for
    example the temperature a prompt was tuned with).
    """

    name: str
    prompt: Prompt
    llm: BaseLLM
    params: SamplingParams | None = None


@dataclass
class VariantResult:
    """A variant's scores; ``diff`` is the paired difference against the first variant."""

    name: str
    prompt: Prompt
    model: str
    repeated: RepeatedEval
    diff: PairedDiff | None = None
    run_id: str = ""

    @property
    def result(self) -> EvalResult:
        """Per-case means over repeats, with the mean's CI over cases."""
        return self.repeated.merged


@dataclass
class Comparison:
    """All variants on the same cases, in the order given."""

    group_id: str
    case_ids: list[str]
    variants: list[VariantResult]
    repeats: int
    confidence: float = 0.95
    details: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()

    def best(self) -> VariantResult:
        """The variant with the highest mean (the first one on ties)."""
        return max(self.variants, key=lambda v: v.result.mean)


def compare(
    variants: Sequence[Variant],
    cases: Sequence[Case],
    metrics: MetricSet,
    *,
    params: SamplingParams | None = None,
    repeats: int = 1,
    concurrency: int = 8,
    tracker: Tracker | None = None,
    run_params: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    on_run_start: Callable[[TrackedRun], None] | None = None,
    labels: Sequence[str] = (),
    error_policy: ErrorPolicy | None = DEFAULT_POLICY,
) -> Comparison:
    """Run every variant on ``cases`` and compare them.

    With a tracker, each variant is evaluated inside its own run (so the run's duration
    is the variant's), with its sampled model calls as traces; the runs of one
    comparison share the tag ``autotune.compare_group``.

    Args:
        variants: At least one; the first is the reference of the paired differences.
        cases: The cases every variant answers.
        metrics: How answers are scored.
        params: Sampling parameters (a variant's own ``params`` win).
        repeats: Samples per case; a case's score is its mean over them.
        concurrency: Cases in flight per variant.
        tracker: Where to log one run per variant (nothing when omitted).
        run_params: Extra params logged on every variant's run.
        progress: Called with every finished case row.
        confidence: Coverage of the intervals.
        seed: Bootstrap seed.
        on_run_start: Called with each variant's run before its work (to log a dataset).
        labels: The task's labels; the matrix then shows label counts per variant.
        error_policy: When a variant's errors make it unusable (None: never; its
            error rows are then left out of its mean and of the paired differences).

    Raises:
        ValueError: No variants, duplicate names, or ``repeats`` < 1.
        DataError, ConfigError: A prompt cannot run on the cases.
        UnusableResult: A variant's errors make its scores unusable.
        FatalLLMError: A model cannot be reached at all (wrong key, wrong URL).
    """
    names = [variant.name for variant in variants]
    if not names:
        raise ValueError("compare needs at least one variant")
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique, got {names}")
    tracker = tracker or NullTracker()
    run = functools.partial(
        evaluate_repeated,
        metrics=metrics,
        cases=cases,
        repeats=repeats,
        concurrency=concurrency,
        progress=progress,
        confidence=confidence,
        seed=seed,
        error_policy=error_policy,
    )
    group = uuid.uuid4().hex
    tracked = [
        _tracked_variant(tracker, group, v, run, params, error_policy, on_run_start, run_params)
        for v in variants
    ]
    results = [variant for variant, _ in tracked]
    reference = results[0].result.scores()
    for later in results[1:]:
        later.diff = paired_diff(later.result.scores(), reference, confidence=confidence, seed=seed)
    _log_diffs([run for _, run in tracked], results)
    case_ids = results[0].repeated.case_ids
    return Comparison(group, case_ids, results, repeats, confidence, labels=tuple(labels))


def _tracked_variant(
    tracker: Tracker,
    group: str,
    v: Variant,
    run: Callable[..., RepeatedEval],
    params: SamplingParams | None,
    error_policy: ErrorPolicy | None,
    on_run_start: Callable[[TrackedRun], None] | None,
    run_params: Mapping[str, Any] | None,
) -> tuple[VariantResult, TrackedRun]:
    """One variant evaluated inside its own run: params, metrics, cases and traces."""
    with tracker.start_run(f"compare {v.name}", tags=_tags(group, v.name)) as tracked:
        if on_run_start is not None:
            on_run_start(tracked)
        calls = CallLog()
        llm = v.llm if isinstance(tracker, NullTracker) else TracedLLM(v.llm, calls)
        repeated = _usable(run, llm, v, params, error_policy)
        variant = VariantResult(v.name, v.prompt, v.llm.name, repeated, run_id=tracked.run_id)
        extra = {"variant": v.name, "model": variant.model, "repeats": len(repeated.runs)}
        tracked.log_eval(variant.result, v.prompt, {**(run_params or {}), **extra})
        tracked.log_calls(calls.drain(), repeated.runs[0])
    return variant, tracked


def _usable(
    run: Callable[..., RepeatedEval],
    llm: BaseLLM,
    variant: Variant,
    params: SamplingParams | None,
    error_policy: ErrorPolicy | None,
) -> RepeatedEval:
    """The variant's repeats, refused when their errors make them unusable."""
    try:
        repeated = run(llm, prompt=variant.prompt, params=variant.params or params)
        for repeat in repeated.runs:
            if error_policy is not None:
                repeat.check_usable(error_policy)
    except UnusableResult as exc:
        raise UnusableResult(exc.reason, exc.partial, f"variant {variant.name!r}") from None
    return repeated


def _tags(group: str, variant: str) -> dict[str, str]:
    return {
        KIND_TAG: "compare",
        GROUP_TAG: group,
        VARIANT_TAG: variant,
        "autotune.command": "compare",
    }


def _log_diffs(runs: Sequence[TrackedRun], variants: Sequence[VariantResult]) -> None:
    """The paired difference against the first variant, on each later variant's (ended)
    run; re-opening it would move its end time."""
    for run, variant in zip(runs, variants, strict=True):
        if variant.diff is not None:
            run.log_metrics(
                {
                    "diff_vs_first": variant.diff.mean,
                    "diff_ci_low": variant.diff.low,
                    "diff_ci_high": variant.diff.high,
                }
            )
