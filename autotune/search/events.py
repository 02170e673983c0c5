"""What a running search reports as it goes: :class:`Progress` events.

The search emits one event at each phase change and after each candidate; a display
(the CLI's live view, a notebook bar) consumes them. Nothing here knows how they are
shown, and the search never waits on the display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal["drafting", "search", "finalists", "ablation", "held-out", "done"]
PHASES: tuple[Phase, ...] = ("drafting", "search", "finalists", "ablation", "held-out", "done")


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running study.

    Attributes:
        phase: What the search is doing now.
        done: Units finished in this phase (candidates, finalists, sections, prompts).
        total: Units this phase will take, when known.
        best: The best score so far on the search's own cases (None before the first).
        calls: Model calls so far in this run (cache hits excluded).
        tokens: Prompt plus completion tokens so far in this run.
        elapsed_s: Seconds since the run started.
        eta_s: Estimated seconds left in the whole run, when it can be estimated.
        note: One line on the latest unit (a candidate's operator and verdict, say).
    """

    phase: Phase
    done: int = 0
    total: int | None = None
    best: float | None = None
    calls: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    note: str = ""


ProgressCallback = Callable[[Progress], None]
