"""Tracking for the evaluation commands: store errors as one line, traced models.

Runs are opened before the work (so their duration is the work's) and model calls are
recorded for traces while tracking is on.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from autotune.errors import AutotuneError
from autotune.tracking import NullTracker, Tracker
from autotune.tracking.traces import CallLog, TracedLLM

if TYPE_CHECKING:
    from autotune.llm import BaseLLM


@contextlib.contextmanager
def store_errors(tracker: Tracker) -> Iterator[None]:
    """A failing MLflow store is one line naming it, not a traceback."""
    try:
        yield
    except AutotuneError:
        raise
    except Exception as exc:
        uri = getattr(tracker, "tracking_uri", "")
        raise AutotuneError(f"could not log to MLflow at {uri}: {exc}") from exc


def benchmark_tracker(args: argparse.Namespace, benchmark: str) -> Tracker:
    """The tracker of the evaluation commands: the benchmark's experiment by default."""
    if args.no_track:
        return NullTracker()
    from autotune.tracking import MlflowTracker
    from autotune.tracking.naming import benchmark_description, benchmark_experiment

    name = args.experiment or benchmark_experiment(benchmark)
    return MlflowTracker(args.tracking_uri, name, benchmark_description(benchmark))


def traced(llm: BaseLLM, tracker: Tracker, calls: CallLog) -> BaseLLM:
    """``llm`` recording its calls into ``calls`` when tracking is on."""
    return llm if isinstance(tracker, NullTracker) else TracedLLM(llm, calls)
