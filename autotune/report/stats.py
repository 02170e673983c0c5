"""Pure statistics of comparisons and the regression gate.

Scores arrive as a matrix: one row per repeat, one column per case. Each case's score
is its mean over repeats; two prompts are compared by the paired bootstrap of the
per-case differences. A *regression* is a drop whose whole confidence interval lies
below ``-tolerance``: noise alone (an interval that straddles zero) never fails a gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from autotune.evaluate.stats import paired_bootstrap_diff_ci

# Per-case means are exact (fsum), so identical inputs give exactly zero differences;
# this margin only absorbs rounding in sums of differences that cancel.
FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class PairedDiff:
    """Mean of candidate minus baseline over paired cases, with its confidence interval."""

    mean: float
    low: float
    high: float

    def regressed(self, tolerance: float = 0.0) -> bool:
        """Whether the whole interval lies below ``-tolerance``."""
        return is_regression(self, tolerance)


def is_regression(diff: PairedDiff, tolerance: float = 0.0) -> bool:
    """A drop counts only when even the interval's upper end is below ``-tolerance``.

    Raises:
        ValueError: ``tolerance`` is negative.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    return diff.high < -tolerance - FLOAT_SLACK


def repeat_means(matrix: Sequence[Sequence[float]]) -> list[float]:
    """Per-case means of a repeats x cases matrix (order of repeats does not matter).

    NaN marks an error (no score): a case's mean is over its scored repeats, and NaN
    when no repeat scored it.

    Raises:
        ValueError: No repeats, or repeats of different lengths.
    """
    if not matrix:
        raise ValueError("need at least one repeat")
    width = len(matrix[0])
    if any(len(row) != width for row in matrix):
        raise ValueError("every repeat must score the same cases")
    means = []
    for case in range(width):
        values = [row[case] for row in matrix if not math.isnan(row[case])]
        means.append(math.fsum(values) / len(values) if values else math.nan)
    return means


def scored_pairs(
    candidate: Sequence[float], baseline: Sequence[float]
) -> tuple[list[float], list[float]]:
    """The pairs where both sides have a score (NaN marks an error row).

    Raises:
        ValueError: Different lengths.
    """
    if len(candidate) != len(baseline):
        raise ValueError(f"paired scores differ in length: {len(candidate)} vs {len(baseline)}")
    pairs = [
        (a, b)
        for a, b in zip(candidate, baseline, strict=True)
        if not (math.isnan(a) or math.isnan(b))
    ]
    return [a for a, _ in pairs], [b for _, b in pairs]


def finite_mean(values: Sequence[float]) -> float:
    """Mean of the non-NaN values; NaN when there are none."""
    kept = [v for v in values if not math.isnan(v)]
    return math.fsum(kept) / len(kept) if kept else math.nan


def majority_passed(matrix: Sequence[Sequence[bool]]) -> list[bool]:
    """Per case: passed in more than half of the repeats."""
    if not matrix:
        raise ValueError("need at least one repeat")
    count = len(matrix)
    return [2 * sum(row[case] for row in matrix) > count for case in range(len(matrix[0]))]


def paired_diff(
    candidate: Sequence[float],
    baseline: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> PairedDiff:
    """The paired bootstrap of ``candidate - baseline`` over the cases both scored.

    Raises:
        ValueError: Different lengths, or no case scored on both sides.
    """
    cand, base = scored_pairs(candidate, baseline)
    if not cand:
        raise ValueError("no case was scored on both sides")
    mean, low, high = paired_bootstrap_diff_ci(
        cand, base, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    return PairedDiff(mean, low, high)


def score_gate(
    candidate: Sequence[Sequence[float]],
    baseline: Sequence[Sequence[float]],
    *,
    tolerance: float = 0.0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[PairedDiff, bool]:
    """Gate one score from repeats x cases matrices: (difference, regressed).

    The two matrices may have different numbers of repeats but must share cases.
    """
    diff = paired_diff(
        repeat_means(candidate),
        repeat_means(baseline),
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )
    return diff, diff.regressed(tolerance)


def case_flips(
    case_ids: Sequence[str], before: Sequence[bool], after: Sequence[bool]
) -> tuple[list[str], list[str]]:
    """(broken, fixed): cases that passed before and fail now, and the reverse."""
    if not len(case_ids) == len(before) == len(after):
        raise ValueError("case ids and pass flags differ in length")
    broken = [cid for cid, was, now in zip(case_ids, before, after, strict=True) if was and not now]
    fixed = [cid for cid, was, now in zip(case_ids, before, after, strict=True) if now and not was]
    return broken, fixed
