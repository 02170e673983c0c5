"""Plain result objects of the evaluator; the search and tracking share them.

A failed model call is an *error row*, never a score: means, intervals and metric means
are taken over the scored rows only, and an :class:`ErrorPolicy` says when the errors
make a result unusable (default: any non-retryable error, or more than 10 % errors).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autotune.errors import AutotuneError
from autotune.evaluate.stats import bootstrap_mean_ci

NO_SCORE = float("nan")
"""The mean of a result with no scored row: undefined, never 0."""


@dataclass
class CaseResult:
    """One case run through one prompt.

    ``error`` is set when the model call (or the metric) failed: such a row is recorded,
    never dropped, and never scored (``score`` stays 0 only as a placeholder; every
    aggregate skips it). ``error_retryable`` is False for a request the server rejected
    (a 4xx), which the default :class:`ErrorPolicy` treats as unusable.
    ``choice_logprobs`` holds, on a label task whose backend reports them, each label's
    log-probability as the answer's start (what a calibration is estimated from).
    """

    case_id: str
    inputs: dict[str, Any]
    rendered: str
    output: str
    expected: Any
    score: float
    metric_scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    calls: int = 0
    error: str | None = None
    trace: list[tuple[str, str]] = field(default_factory=list)
    error_retryable: bool = True
    choice_logprobs: dict[str, float] | None = None

    @property
    def scored(self) -> bool:
        """Whether this row has a real score (its call and metrics succeeded)."""
        return self.error is None

    @property
    def passed(self) -> bool:
        return self.error is None and self.score >= 0.999


def scored_mean(rows: Iterable[CaseResult]) -> float:
    """Mean score of the scored rows; NaN when none was scored (never 0)."""
    scores = [row.score for row in rows if row.scored]
    return math.fsum(scores) / len(scores) if scores else NO_SCORE


@dataclass(frozen=True)
class ErrorPolicy:
    """When errors make an evaluation unusable.

    Args:
        max_error_share: Most error rows allowed, as a share of all rows.
        allow_non_retryable: Whether a rejected request (4xx row) may pass.
    """

    max_error_share: float = 0.10
    allow_non_retryable: bool = False

    def max_errors(self, total: int) -> int:
        """Most error rows ``total`` rows may have."""
        return math.floor(self.max_error_share * total + 1e-9)

    def problem(self, rows: Sequence[CaseResult], total: int | None = None) -> str | None:
        """Why ``rows`` (of ``total`` cases, default ``len(rows)``) are unusable, or None."""
        errors = [row for row in rows if row.error is not None]
        if not errors:
            return None
        total = len(rows) if total is None else total
        rejected = [row for row in errors if not row.error_retryable]
        if rejected and not self.allow_non_retryable:
            return f"a request was rejected: case {rejected[0].case_id}: {rejected[0].error}"
        if len(errors) > self.max_errors(total):
            share = f"{len(errors) / max(total, 1):.0%} > {self.max_error_share:.0%} allowed"
            return (
                f"{len(errors)} of {total} cases failed ({share}); "
                f"first: case {errors[0].case_id}: {errors[0].error}"
            )
        return None


DEFAULT_POLICY = ErrorPolicy()


class UnusableResult(AutotuneError):
    """Errors made an evaluation unusable; ``partial`` holds the rows so far."""

    def __init__(self, reason: str, partial: EvalResult, what: str = "evaluation") -> None:
        self.reason = reason
        self.partial = partial
        super().__init__(f"{what} unusable: {reason}")


@dataclass
class EvalResult:
    """One prompt over many cases: per-case rows and the aggregate of the scored ones."""

    rows: list[CaseResult]
    mean: float
    ci_low: float
    ci_high: float
    metric_means: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0

    @classmethod
    def from_rows(
        cls,
        rows: list[CaseResult],
        metric_names: Sequence[str],
        *,
        wall_s: float = 0.0,
        confidence: float = 0.95,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> EvalResult:
        """Aggregate rows: mean score with a bootstrap CI, metric means, usage totals.

        Only scored rows enter the mean, the interval and the metric means; with none
        scored they are NaN. Usage totals count every row.
        """
        scored = [r for r in rows if r.scored]
        if scored:
            mean, low, high = bootstrap_mean_ci(
                [r.score for r in scored],
                confidence=confidence,
                n_resamples=n_resamples,
                seed=seed,
            )
        else:
            mean = low = high = NO_SCORE
        metric_means = {
            name: (
                math.fsum(r.metric_scores.get(name, 0.0) for r in scored) / len(scored)
                if scored
                else NO_SCORE
            )
            for name in metric_names
        }
        return cls(
            rows,
            mean,
            low,
            high,
            metric_means,
            calls=sum(r.calls for r in rows),
            prompt_tokens=sum(r.prompt_tokens for r in rows),
            completion_tokens=sum(r.completion_tokens for r in rows),
            wall_s=wall_s,
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def failures(self) -> list[CaseResult]:
        """Rows that did not fully pass, errors first, then the worst scores."""
        return sorted((r for r in self.rows if not r.passed), key=lambda r: (r.scored, r.score))

    @property
    def errors(self) -> int:
        """Rows whose call or metric failed (never scored)."""
        return sum(1 for r in self.rows if r.error is not None)

    @property
    def n_scored(self) -> int:
        """Rows that have a real score."""
        return sum(1 for r in self.rows if r.scored)

    @property
    def error_share(self) -> float:
        """Error rows as a share of all rows (0 for no rows)."""
        return self.errors / len(self.rows) if self.rows else 0.0

    def problem(self, policy: ErrorPolicy = DEFAULT_POLICY) -> str | None:
        """Why errors make this result unusable under ``policy``, or None if usable."""
        if not self.rows:
            return "no case was run"
        return policy.problem(self.rows)

    def usable(self, policy: ErrorPolicy = DEFAULT_POLICY) -> bool:
        """Whether errors leave this result usable under ``policy``."""
        return self.problem(policy) is None

    def check_usable(self, policy: ErrorPolicy = DEFAULT_POLICY, what: str = "evaluation") -> None:
        """Raise :class:`UnusableResult` (one line) when the errors are too many."""
        reason = self.problem(policy)
        if reason is not None:
            raise UnusableResult(reason, self, what)

    def scores(self) -> list[float]:
        """Per-row scores in case order; NaN for error rows (they have none)."""
        return [r.score if r.scored else NO_SCORE for r in self.rows]

    def summary(self) -> dict[str, Any]:
        """The aggregate as plain JSON-ready values (NaN becomes None)."""
        return {
            "mean": _finite(self.mean),
            "ci": [_finite(self.ci_low), _finite(self.ci_high)],
            "cases": len(self.rows),
            "scored": self.n_scored,
            "errors": self.errors,
            "metric_means": {k: _finite(v) for k, v in self.metric_means.items()},
            "calls": self.calls,
            "tokens": self.tokens,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def paired_scored(a: EvalResult, b: EvalResult) -> tuple[list[float], list[float]]:
    """Scores of the cases both results scored, in case order (for paired statistics).

    Raises:
        ValueError: The results cover different cases.
    """
    if [r.case_id for r in a.rows] != [r.case_id for r in b.rows]:
        raise ValueError("the two results cover different cases")
    pairs = [
        (x.score, y.score) for x, y in zip(a.rows, b.rows, strict=True) if x.scored and y.scored
    ]
    return [x for x, _ in pairs], [y for _, y in pairs]
