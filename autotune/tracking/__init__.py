"""Tracking: a sink for evaluation and search results (MLflow, or nothing).

Importing this package does not import MLflow; that happens on first use of an
:class:`MlflowTracker`.
"""

from __future__ import annotations

from autotune.tracking.base import NullRun, NullTracker, TrackedRun, Tracker
from autotune.tracking.mlflow_sink import (
    MlflowRun,
    MlflowTracker,
    default_tracking_uri,
    log_eval,
    resolve_tracking_uri,
)

__all__ = [
    "MlflowRun",
    "MlflowTracker",
    "NullRun",
    "NullTracker",
    "TrackedRun",
    "Tracker",
    "default_tracking_uri",
    "log_eval",
    "resolve_tracking_uri",
]
