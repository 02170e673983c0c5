"""Bootstrap CIs: autotune's own percentile bootstrap against ``scipy.stats.bootstrap``.

The evaluator computes a CI for every evaluation (every trial's mini-batch, every
finalist, every compare variant), so its cost is paid often. Both compute the same
percentile interval with 2000 resamples; the scores are 0/1 (labels: autotune's
multinomial-counts shortcut) and continuous (many distinct values: autotune hands these
to scipy itself, in memory-bounded batches). Timings are the best of 5 runs per cell.

Usage: python benchmarks/bench_bootstrap.py
Writes benchmarks/results/bootstrap.json and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from autotune.evaluate.stats import bootstrap_mean_ci

RESULT_PATH = Path(__file__).parent / "results" / "bootstrap.json"
SIZES = (20, 150, 1000, 10000)
RESAMPLES = 2000


def ours(scores: np.ndarray) -> tuple[float, float]:
    _, low, high = bootstrap_mean_ci(scores, n_resamples=RESAMPLES, seed=0)
    return low, high


def scipy_percentile(scores: np.ndarray) -> tuple[float, float]:
    result = stats.bootstrap(
        (scores,),
        np.mean,
        n_resamples=RESAMPLES,
        method="percentile",
        random_state=np.random.default_rng(0),
        vectorized=True,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def best_us(function: Callable[[np.ndarray], tuple[float, float]], scores: np.ndarray) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        function(scores)
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def main() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for kind in ("0/1 labels", "continuous"):
        for size in SIZES:
            if kind == "0/1 labels":
                scores = (rng.random(size) < 0.7).astype(float)
            else:
                scores = rng.random(size)
            mine, theirs = best_us(ours, scores), best_us(scipy_percentile, scores)
            a, b = ours(scores), scipy_percentile(scores)
            rows.append(
                {
                    "scores": kind,
                    "cases": size,
                    "autotune_us": mine,
                    "scipy_us": theirs,
                    "scipy_over_autotune": theirs / mine,
                    "autotune_ci": a,
                    "scipy_ci": b,
                    "ci_bounds_differ_by": max(abs(a[0] - b[0]), abs(a[1] - b[1])),
                }
            )
    print(f"{'scores':<11} {'cases':>6} {'autotune us':>12} {'scipy us':>10} {'ratio':>6}  CI gap")
    for row in rows:
        print(
            f"{row['scores']:<11} {row['cases']:>6} {row['autotune_us']:>12.0f} "
            f"{row['scipy_us']:>10.0f} {row['scipy_over_autotune']:>6.1f}  "
            f"{row['ci_bounds_differ_by']:.4f}"
        )
    report = {
        "benchmark": "bootstrap",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "resamples": RESAMPLES,
        "rows": rows,
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
