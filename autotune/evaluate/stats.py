"""Bootstrap confidence intervals for mean scores and paired score differences.

Both functions use the percentile bootstrap, seeded. Scores are usually few distinct
values (0/1 labels, a handful of partial credits), so resampling draws per-value
*counts* from a multinomial instead of per-case indices: the mean of a resample depends
only on how often each distinct value was drawn, and those counts are exactly
``Multinomial(n, value frequencies)``. That is the ordinary bootstrap, in
``O(resamples x distinct values)`` instead of ``O(resamples x n)``.

Scores with many distinct values go to ``scipy.stats.bootstrap`` (percentile method,
in memory-bounded batches). The counts shortcut is kept because the evaluator computes
a CI for every evaluation and, on 0/1 scores, scipy took 12 ms at 150 cases and 0.56 s
at 10,000 cases where the shortcut takes about 0.2 ms (benchmarks/bench_bootstrap.py,
results in benchmarks/results/bootstrap.json).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["bootstrap_mean_ci", "paired_bootstrap_diff_ci"]

FloatArray = npt.NDArray[np.float64]

# Above this many distinct values scipy's resampling is cheaper than the multinomial
# (measured: 150 distinct values took 12.8 ms as counts, 1.9 ms in scipy).
_MAX_DISTINCT_FOR_COUNTS = 16
# Bound on resample-matrix cells per chunk (8 bytes each: about 32 MB).
_CHUNK_CELLS = 4_000_000


def bootstrap_mean_ci(
    scores: Sequence[float] | FloatArray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The mean of ``scores`` and its percentile-bootstrap confidence interval.

    Args:
        scores: One value per case.
        confidence: Coverage of the interval, in (0, 1).
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the random generator; the same inputs give the same interval.

    Returns:
        ``(mean, low, high)`` with ``low <= mean <= high``. All-equal scores (or a single
        score) give a zero-width interval.

    Raises:
        ValueError: ``scores`` is empty or an argument is out of range.
    """
    values = np.asarray(scores, dtype=np.float64)
    _check(values, confidence, n_resamples)
    mean = float(values.mean())
    distinct, counts = np.unique(values, return_counts=True)
    if distinct.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    if distinct.size <= _MAX_DISTINCT_FOR_COUNTS:
        means = _means_from_counts(rng, distinct, counts, n_resamples)
        tail = (1.0 - confidence) / 2.0
        low, high = np.quantile(means, [tail, 1.0 - tail])
    else:
        low, high = _scipy_interval(rng, values, confidence, n_resamples)
    # The bootstrap distribution is centred on the mean; clamp so that float noise or a
    # degenerate resample set never yields an interval that excludes it.
    return mean, min(float(low), mean), max(float(high), mean)


def paired_bootstrap_diff_ci(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired cases and its bootstrap confidence interval.

    Resampling cases (pairs) and averaging their differences is the same as
    bootstrapping the mean of the per-case differences, which is what this does.

    Returns:
        ``(mean_diff, low, high)``; an interval above 0 means ``a`` beats ``b``.

    Raises:
        ValueError: The lists differ in length, are empty, or an argument is out of range.
    """
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.shape != second.shape:
        raise ValueError(f"paired scores differ in length: {first.size} vs {second.size}")
    return bootstrap_mean_ci(
        first - second, confidence=confidence, n_resamples=n_resamples, seed=seed
    )


def _check(values: FloatArray, confidence: float, n_resamples: int) -> None:
    if values.ndim != 1 or values.size == 0:
        raise ValueError("bootstrap needs a non-empty 1-D list of scores")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples!r}")


def _means_from_counts(
    rng: np.random.Generator, distinct: FloatArray, counts: npt.NDArray[np.int64], n: int
) -> FloatArray:
    total = int(counts.sum())
    drawn = rng.multinomial(total, counts / total, size=n)
    result: FloatArray = drawn @ distinct / total
    return result


def _scipy_interval(
    rng: np.random.Generator, values: FloatArray, confidence: float, n: int
) -> tuple[float, float]:
    from scipy import stats

    result = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=n,
        batch=max(1, _CHUNK_CELLS // values.size),
        confidence_level=confidence,
        method="percentile",
        random_state=rng,
        vectorized=True,
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
