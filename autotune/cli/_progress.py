"""Progress bars for case-by-case work: count, running score, elapsed and time left.

Bars go to stderr and vanish when done (the summary follows), so stdout stays clean
for tables or ``--json``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.evaluate import CaseResult

RowCallback = Callable[["CaseResult"], None]


class RunningScore:
    """The mean score of the finished, scored rows, and how many rows failed to run."""

    def __init__(self) -> None:
        self.total = 0.0
        self.scored = 0
        self.errors = 0

    def add(self, row: CaseResult) -> None:
        if row.error is not None:
            self.errors += 1
            return
        self.total += row.score
        self.scored += 1

    def text(self) -> str:
        score = f"score {self.total / self.scored:.3f}" if self.scored else "score -"
        return score + (f", {self.errors} errors" if self.errors else "")


@contextlib.contextmanager
def case_bar(console: Console, total: int, label: str) -> Iterator[RowCallback]:
    """A bar advanced once per finished case row; yields the row callback."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[score]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    running = RunningScore()
    with Progress("{task.description}", *columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total, score=running.text())

        def advance(row: CaseResult) -> None:
            running.add(row)
            progress.update(task, advance=1, score=running.text())

        yield advance
