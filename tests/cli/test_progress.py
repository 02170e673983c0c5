"""Case bars: the running score of the scored rows, per variant, with time left."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress

from autotune.cli._progress import RunningScore, case_bar
from autotune.evaluate import CaseResult


def row(score: float, error: str | None = None) -> CaseResult:
    return CaseResult("c", {}, "", "", "", score, error=error)


def test_the_running_score_leaves_errors_out() -> None:
    running = RunningScore()
    assert running.text() == "score -"
    for item in (row(1.0), row(0.0), row(0.0, error="HTTP 500"), row(1.0)):
        running.add(item)
    assert running.text() == "score 0.667, 1 errors"


def test_the_bar_names_the_variant_in_progress_and_scores_it_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    updates: list[dict[str, Any]] = []
    real = Progress.update

    def record(self: Progress, task: Any, **fields: Any) -> None:
        updates.append(fields)
        real(self, task, **fields)

    monkeypatch.setattr(Progress, "update", record)
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with case_bar(console, 4, "compare tiny", ("good", "bad")) as advance:
        for item in (row(1.0), row(1.0), row(0.0), row(0.0)):
            advance(item)
    shown = [(u["description"], u["score"]) for u in updates]
    assert shown == [
        ("compare tiny · good", "score 1.000"),
        ("compare tiny · bad", "score 1.000"),  # the second half has not started yet
        ("compare tiny · bad", "score 0.000"),
        ("compare tiny · bad", "score 0.000"),
    ]
