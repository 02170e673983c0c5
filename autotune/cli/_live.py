"""The live view of a running study, built on :class:`~autotune.search.events.Progress`.

:meth:`RunDisplay.update` is a :data:`~autotune.search.events.ProgressCallback`: the
search calls it at each phase change and after each candidate. On a terminal the view
redraws in place (phase, done/total with a bar, best so far, time left, calls and
tokens, the latest note); elsewhere (a log file, CI) it prints one line per event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autotune.search.events import PHASES, Phase, Progress

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

UsageReader = Callable[[], tuple[int, int]]
"""Returns (model calls, tokens) so far."""

_SHOWN_PHASES: tuple[Phase, ...] = tuple(p for p in PHASES if p != "done")


def clock(seconds: float | None) -> str:
    """``1h02m``, ``3m05s``, ``42s``; ``-`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _count(value: int) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


class RunDisplay:
    """Shows a study's progress; use as a context manager around the run.

    Args:
        console: Where to draw (stderr).
        usage: Reads live (calls, tokens) between events.
        total: Units of the search phase (``n_trials``), shown before the first event.
    """

    def __init__(
        self, console: Console, *, usage: UsageReader | None = None, total: int | None = None
    ) -> None:
        self.console = console
        self.usage = usage
        self.total = total
        self.started = time.monotonic()
        self.event = Progress("drafting", total=None)
        self.event_at = self.started
        self.phase_started = self.started
        self.phase_done = 0  # units already done when the phase's first event came
        self.best: float | None = None
        self._lock = threading.Lock()
        self._live: Any = None

    # --- the ProgressCallback ---

    def update(self, event: Progress) -> None:
        """Take one event (thread-safe); the view redraws at once."""
        with self._lock:
            now = time.monotonic()
            if event.phase != self.event.phase:
                self.phase_started, self.phase_done = now, event.done
            if event.best is not None:
                self.best = event.best if self.best is None else max(self.best, event.best)
            self.event, self.event_at = event, now
        if self._live is not None:
            self._live.refresh()
        elif event.phase != "done":
            self.console.print(self.line(), highlight=False, soft_wrap=True)

    # --- drawing ---

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def time_left(self) -> float | None:
        """The event's estimate (aged), else this phase's pace times what is left."""
        event, now = self.event, time.monotonic()
        if event.eta_s is not None:
            return max(0.0, event.eta_s - (now - self.event_at))
        units = event.done - self.phase_done
        if not event.total or units <= 0:
            return None
        pace = (self.event_at - self.phase_started) / units
        # Count down through the unit in progress only: a slow unit must not read "0s".
        return max(0.0, pace * (event.total - event.done) - min(now - self.event_at, pace))

    def _usage(self) -> tuple[int, int]:
        event = self.event
        if self.usage is not None:
            calls, tokens = self.usage()
            return max(calls, event.calls), max(tokens, event.tokens)
        return event.calls, event.tokens

    def line(self) -> str:
        """The state as one plain line (logs, CI)."""
        event = self.event
        count = f" {event.done}/{event.total}" if event.total else ""
        best = "-" if self.best is None else f"{self.best:.3f}"
        calls, tokens = self._usage()
        text = (
            f"[{clock(self.elapsed())}] {event.phase}{count}  best {best}  left "
            f"{clock(self.time_left())}  calls {calls}  tokens {_count(tokens)}"
        )
        return text + (f"  {event.note}" if event.note else "")

    def __rich__(self) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        event = self.event
        steps = []
        for phase in _SHOWN_PHASES:
            index, current = PHASES.index(phase), PHASES.index(event.phase)
            style = "bold cyan" if phase == event.phase else ("green" if index < current else "dim")
            mark = "▸ " if phase == event.phase else ("✓ " if index < current else "")
            steps.append(f"[{style}]{mark}{phase}[/]")
        grid = Table.grid(padding=(0, 2))
        grid.add_column()
        grid.add_column()
        grid.add_row("[bold]phase[/]", "  ".join(steps))
        if event.total:
            bar = ProgressBar(total=event.total, completed=event.done, width=30)
            row = Table.grid(padding=(0, 1))
            row.add_row(bar, f"{event.done}/{event.total}")
            grid.add_row("[bold]done[/]", row)
        best = "-" if self.best is None else f"{self.best:.3f}"
        grid.add_row("[bold]best[/]", f"[bold green]{best}[/] (train, search cases)")
        left = clock(self.time_left())
        grid.add_row("[bold]time[/]", f"{clock(self.elapsed())} elapsed, {left} left in phase")
        calls, tokens = self._usage()
        grid.add_row("[bold]usage[/]", f"{calls} model calls, {_count(tokens)} tokens")
        if event.note:
            grid.add_row("[bold]latest[/]", event.note)
        return grid

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self.console.print(self.line(), highlight=False, soft_wrap=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
