"""Progress bars for case-by-case work: count, running score, elapsed and time left.

Bars go to stderr and vanish when done (the summary follows), so stdout stays clean
for tables or ``--json``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
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
def case_bar(
    console: Console, total: int, label: str, groups: Sequence[str] = ()
) -> Iterator[RowCallback]:
    """A bar advanced once per finished case row; yields the row callback.

    ``groups`` names equal runs of rows done one after the other (compare's variants,
    regress's baseline then candidate): the bar names the one in progress, and the
    running score is that one's alone.
    """
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
    per_group = total // len(groups) if groups else total
    done = [0]

    def title() -> str:
        if not groups:
            return label
        return f"{label} · {groups[min(done[0] // max(per_group, 1), len(groups) - 1)]}"

    with Progress("{task.description}", *columns, console=console, transient=True) as progress:
        task = progress.add_task(title(), total=total, score=running.text())

        def advance(row: CaseResult) -> None:
            nonlocal running
            if groups and done[0] and done[0] % per_group == 0:
                running = RunningScore()  # the next variant starts
            running.add(row)
            done[0] += 1
            progress.update(task, advance=1, score=running.text(), description=title())

        yield advance
