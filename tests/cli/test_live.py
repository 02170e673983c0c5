"""The live view of ``autotune run``: Progress events in, phase/done/best/time left out."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from autotune.cli._live import RunDisplay, clock
from autotune.search.events import Progress


def rendered(display: RunDisplay) -> str:
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(display)
    return console.export_text()


def test_the_view_shows_phase_done_best_time_left_and_usage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr("autotune.cli._live.time.monotonic", lambda: now[0])
    display = RunDisplay(Console(file=io.StringIO()), usage=lambda: (12, 34_000))
    display.update(Progress("search", 1, 5, 0.5, note="trial 0 complete"))
    now[0] += 10.0
    display.update(Progress("search", 3, 5, 0.75, note="trial 2 complete"))
    text = rendered(display)
    assert "✓ drafting" in text and "▸ search" in text and "finalists" in text
    assert "3/5" in text and "0.750" in text
    assert "12 model calls, 34.0k tokens" in text and "trial 2 complete" in text
    assert "10s left in phase" in text  # 2 units at 5 s each
    now[0] += 4.0
    assert display.time_left() == pytest.approx(6.0)
    now[0] += 30.0  # a slow trial: the estimate stops at the units still to come
    assert display.time_left() == pytest.approx(5.0)


def test_an_estimate_from_the_search_wins_and_counts_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    monkeypatch.setattr("autotune.cli._live.time.monotonic", lambda: now[0])
    display = RunDisplay(Console(file=io.StringIO()))
    display.update(Progress("held-out", 0, 2, None, calls=5, tokens=9, eta_s=90.0))
    now[0] += 30.0
    assert display.time_left() == pytest.approx(60.0)
    assert "1m00s left" in rendered(display) and "5 model calls, 9 tokens" in rendered(display)


def test_off_a_terminal_each_event_is_one_line() -> None:
    out = io.StringIO()
    with RunDisplay(Console(file=out, width=200), total=2) as display:
        display.update(Progress("drafting", note="slot 1 drafted"))
        display.update(Progress("search", 1, 2, 0.4))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # the start, then one per event
    assert "drafting" in lines[1] and "slot 1 drafted" in lines[1]
    assert "search 1/2  best 0.400" in lines[2]


def test_clock_reads_like_a_duration() -> None:
    assert [clock(5), clock(65), clock(3725), clock(None)] == ["5s", "1m05s", "1h02m", "-"]
