"""Plain result objects of the evaluator; the search and tracking share them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autotune.evaluate.stats import bootstrap_mean_ci


@dataclass
class CaseResult:
    """One case run through one prompt.

    ``error`` is set (and ``score`` is 0) when the model call failed after retries:
    such a case is recorded, never dropped.
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

    @property
    def passed(self) -> bool:
        return self.error is None and self.score >= 0.999


@dataclass
class EvalResult:
    """One prompt over many cases: per-case rows and the aggregate."""

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

        Error rows count as 0 for every metric. No rows give zeros everywhere.
        """
        if not rows:
            return cls(rows, 0.0, 0.0, 0.0, dict.fromkeys(metric_names, 0.0), wall_s=wall_s)
        mean, low, high = bootstrap_mean_ci(
            [r.score for r in rows], confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        count = len(rows)
        metric_means = {
            name: sum(r.metric_scores.get(name, 0.0) for r in rows) / count for name in metric_names
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
        """Rows that did not fully pass (errors included), worst first."""
        return sorted((r for r in self.rows if not r.passed), key=lambda r: r.score)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.error is not None)

    def scores(self) -> list[float]:
        return [r.score for r in self.rows]
