"""Workers on one study, as separate processes on real stores: exactly n_trials trials,
the seed once, one final phase whose result every worker reports, and a dead worker's
ticket or lease taken over by another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from autotune.search.coordination import SEED_ATTR, is_lease_study
from autotune.search.storage import open_storage

WORKER = str(Path(__file__).with_name("coord_worker.py"))


@pytest.fixture(params=["sqlite", "journal", "postgres", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/optuna.db"
    if request.param == "journal":
        return f"journal:///{tmp_path}/optuna.log"
    return str(request.getfixturevalue(f"{request.param}_url"))


def _start(url: str, n_trials: int, name: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, WORKER, url, str(n_trials), name, *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _report(worker: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = worker.communicate(timeout=240)
    assert worker.returncode == 0, out
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="s", storage=open_storage(url, heartbeat=None)).trials


def test_four_workers_run_exactly_n_trials_and_one_final_phase(url: str) -> None:
    workers = [_start(url, 12, f"w{i}") for i in range(4)]
    reports = [_report(worker) for worker in workers]

    ran = [number for report in reports for number in report["ran"]]  # type: ignore[attr-defined]
    assert sorted(ran) == list(range(12))  # each trial run once, by one worker
    trials = _trials(url)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 12
    assert [t.number for t in trials if t.user_attrs.get(SEED_ATTR)] == [0]
    assert sum(bool(report["ran_final"]) for report in reports) == 1
    finals = {json.dumps(report["final"], sort_keys=True) for report in reports}
    assert len(finals) == 1 and '"complete": 12' in finals.pop()
    names = optuna.get_all_study_names(open_storage(url, heartbeat=None))
    assert [name for name in names if not is_lease_study(name)] == ["s"]


def _wait_hanging(worker: subprocess.Popen[str]) -> None:
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.strip() == "hanging":
            return
    raise AssertionError("the worker never reached the ticket it hangs on")


def _kill_when_hanging(worker: subprocess.Popen[str]) -> None:
    _wait_hanging(worker)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(30)


@pytest.mark.parametrize("kind", ["journal", "postgresql"])
def test_a_killed_workers_ticket_is_issued_again(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"journal:///{tmp_path}/optuna.log"
        if kind == "journal"
        else str(request.getfixturevalue("postgres_url"))
    )
    doomed = _start(url, 8, "doomed", "--hang-on-ticket", "1")
    # The survivor starts once the doomed worker holds its ticket: started together on
    # a loaded machine, the survivor could take every ticket first.
    _wait_hanging(doomed)
    survivor = _start(url, 8, "survivor")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(30)
    report = _report(survivor)

    trials = _trials(url)
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 8  # the dead worker's trial was replaced
    assert states.count("FAIL") == 1  # failed by its stopped heartbeat
    assert report["ran_final"] is True
    assert report["final"] == {"by": "survivor", "complete": 8}


def test_a_final_phase_whose_worker_dies_is_taken_over(tmp_path: Path) -> None:
    url = f"journal:///{tmp_path}/optuna.log"
    first = _start(url, 2, "first", "--hang-in-final")
    _kill_when_hanging(first)  # it ran both trials, then died holding the final lease
    second = _start(url, 2, "second")
    report = _report(second)

    assert report["ran_final"] is True
    assert report["final"] == {"by": "second", "complete": 2}
    assert [t.state.name for t in _trials(url)] == ["COMPLETE", "COMPLETE"]
