"""What the workers of one study share: its MLflow parent run, its final phase, and the
clean-up of the candidate runs a dead worker left open.

Any number of processes (``autotune worker``, ``run --workers``, or the same command
on several hosts) may run one study. They agree through the study's storage
(:mod:`autotune.search.coordination`): the parent run is created by one of them and
ended FINISHED only by the one that runs the final phase; a worker that stops early
leaves it running for the others, unless it was the last one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.trial import TrialState

from autotune.errors import BudgetExceeded
from autotune.search._record import PARENT_RUN_ATTR
from autotune.search._study import WORKER_ATTR, worker_id
from autotune.search._tracking import NUMBER_TAG
from autotune.search.coordination import run_once
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

PARENT_KEY = "parent-run"


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    return study._storage  # Optuna keeps it private; leases live beside the study


def once(study: optuna.Study, key: str, action: Callable[[], Any]) -> Any:
    """``action`` in exactly one of the study's workers; every worker gets its result."""
    return run_once(storage_of(study), study.study_name, key, action)


def others_running(study: optuna.Study) -> bool:
    """Whether another worker still runs a candidate of the study."""
    me = worker_id()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return any(trial.user_attrs.get(WORKER_ATTR) != me for trial in running)


@contextlib.contextmanager
def parent_run(
    tracker: Tracker,
    study: optuna.Study,
    tags: dict[str, str],
    on_create: Callable[[TrackedRun], None],
) -> Iterator[TrackedRun]:
    """The study's one parent run, created by the first worker (``on_create`` logs its
    parameters) and shared by every worker that joins.

    A worker that raises ends it FAILED (KILLED for Ctrl-C or a budget) only when no
    other worker still runs; the final phase's worker ends it FINISHED itself.
    """
    if isinstance(tracker, NullTracker):
        yield tracker.open_run(study.study_name)
        return

    def create() -> str:
        existing = study.user_attrs.get(PARENT_RUN_ATTR)  # a study from before workers
        run = tracker.open_run(study.study_name, tags=tags, resume_id=existing)
        if run.run_id and run.run_id != existing:
            study.set_user_attr(PARENT_RUN_ATTR, run.run_id)
            on_create(run)
        return run.run_id

    # Marked RUNNING again by the driver when this worker takes a candidate (not here:
    # a worker that arrives during the final phase would undo its FINISHED).
    parent = tracker.existing_run(str(once(study, PARENT_KEY, create)))
    close_orphans(tracker, study, parent.run_id)
    try:
        yield parent
    except BaseException as exc:
        if not others_running(study):
            stopped = isinstance(exc, BudgetExceeded) or not isinstance(exc, Exception)
            tracker.set_status(parent.run_id, "KILLED" if stopped else "FAILED")
        raise
    close_orphans(tracker, study, parent.run_id)


def close_orphans(tracker: Tracker, study: optuna.Study, parent_id: str) -> int:
    """End as KILLED the candidate runs whose trial is no longer running (their worker
    died, or was failed by its stopped heartbeat); how many."""
    if not parent_id:
        return 0
    # Trials first, runs second: a candidate's run ends before its trial is told, so a
    # run still open after its trial finished has lost its worker. (Read the other way
    # round, a candidate finishing between the two reads would be closed as KILLED.)
    finished = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    closed = 0
    for run_id, tags in tracker.running_children(parent_id):
        number = tags.get(NUMBER_TAG, "")
        if number.isdigit() and int(number) in finished:
            tracker.set_status(run_id, "KILLED")
            closed += 1
    return closed
