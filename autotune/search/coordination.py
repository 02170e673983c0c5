"""Workers sharing one study agree through the study's storage, whatever storage it is.

Two operations are atomic on every Optuna storage (SQLite, PostgreSQL, journal file,
Redis, the gRPC proxy), and everything here is built on them alone:

- creating a study under a name that is taken fails (``DuplicatedStudyError``), so the
  name ``STUDY#KEY#ATTEMPT`` is a lease only one worker gets (:func:`run_once`);
- moving a WAITING trial to RUNNING succeeds for one worker only, so the WAITING trials
  of a study are tickets (:class:`Tickets`): exactly ``n_trials`` are issued, each is
  taken once, and a ticket whose worker died is issued again.

A lease holder keeps a heartbeat trial in its lease study; when the heartbeat stops
(:func:`autotune.search.storage.fail_stale_trials`) or the holder fails, the next
attempt's lease goes to one of the waiting workers. Lease studies are named with
:data:`LEASE_MARK`; readers that list studies skip such names (:func:`is_lease_study`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.exceptions import DuplicatedStudyError
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from autotune.search.storage import beating, fail_stale_trials

LEASE_MARK = "#"
RESULT_ATTR = "result"
SEED_ATTR = "autotune.seed"
_LOG = optuna.logging.get_logger(__name__)


def is_lease_study(name: str) -> bool:
    """Whether a study name is one of :func:`run_once`'s leases, not a user's study."""
    return LEASE_MARK in name


def _lease_name(study_name: str, key: str, attempt: int) -> str:
    return f"{study_name}{LEASE_MARK}{key}{LEASE_MARK}{attempt}"


def run_once(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    key: str,
    action: Callable[[], Any],
    *,
    poll_s: float = 0.5,
    orphan_s: float = 60.0,
) -> Any:
    """Run ``action`` in exactly one of the workers that call this; all get its result.

    The result must be JSON-serializable (it is kept in the storage). If the worker
    running it dies (its heartbeat stops) or raises, one waiting worker runs it again.
    A lease whose holder never started its heartbeat trial within ``orphan_s`` seconds
    counts as dead too. ``storage`` needs heartbeats (``open_storage``'s default).
    """
    attempt = 0
    while True:
        name = _lease_name(study_name, key, attempt)
        try:
            study_id = storage.create_new_study([StudyDirection.MINIMIZE], name)
        except DuplicatedStudyError:
            done, result = _await(storage, name, poll_s, orphan_s)
            if done:
                return result
            attempt += 1
            continue
        return _hold(storage, name, study_id, action)


def _hold(
    storage: optuna.storages.BaseStorage, name: str, study_id: int, action: Callable[[], Any]
) -> Any:
    lease = optuna.load_study(study_name=name, storage=storage)
    trial = lease.ask()
    with beating(lease, trial):
        try:
            result = action()
        except BaseException:
            lease.tell(trial, state=TrialState.FAIL)  # a waiting worker takes over
            raise
        storage.set_study_user_attr(study_id, RESULT_ATTR, result)
        lease.tell(trial, 0.0)
    return result


def _await(
    storage: optuna.storages.BaseStorage, name: str, poll_s: float, orphan_s: float
) -> tuple[bool, Any]:
    """(True, result) once the holder is done; (False, None) once it is dead."""
    lease = optuna.load_study(study_name=name, storage=storage)
    first_seen = time.monotonic()
    while True:
        attrs = storage.get_study_user_attrs(lease._study_id)
        if RESULT_ATTR in attrs:
            return True, attrs[RESULT_ATTR]
        trials = lease.get_trials(deepcopy=False)
        if any(t.state == TrialState.FAIL for t in trials):
            return False, None
        if trials and fail_stale_trials(lease):
            return False, None
        if not trials and time.monotonic() - first_seen > orphan_s:
            _LOG.warning("lease %s was taken but never started: taking it over", name)
            return False, None
        time.sleep(poll_s)


def _counts_by_default(trial: FrozenTrial) -> bool:
    return bool(trial.state != TrialState.FAIL)


@dataclass
class Tickets:
    """Exactly ``n_trials`` trials of a study, shared by any number of workers.

    A ticket is a WAITING trial; :meth:`take` moves one to RUNNING for this worker only.
    A trial counts unless it failed without a result: ``counts(trial)`` tells (by
    default every trial but a FAILed one counts). A ticket whose trial failed without
    counting (its worker died or ran out of budget) is issued again, with the same role:
    the first ticket is the seed's (user attribute :data:`SEED_ATTR`, and ``seed_params``
    as fixed parameters), and the seed is issued again only if its trial did not count.
    A waiting seed ticket is always taken first; with ``seed_first`` no other ticket is
    given out until the seed's trial counts (the other trials build on the seed).

    Attributes:
        study: The study whose trials are the tickets.
        n_trials: The number of trials that count, in total, across all workers.
        counts: Whether a finished trial counts against ``n_trials``.
        seed_params: Fixed parameters of the seed's trial (for a sampler's space).
        seed_first: Hand out other tickets only once the seed's trial counts.
        poll_s: How often :meth:`take` looks again while other workers still run trials.
    """

    study: optuna.Study
    n_trials: int
    counts: Callable[[FrozenTrial], bool] = _counts_by_default
    seed_params: dict[str, Any] | None = None
    seed_first: bool = False
    poll_s: float = 1.0
    _done: int = field(default=-1, init=False)  # the last top-up known to be done
    _seed_counted: bool = field(default=False, init=False)  # a finished trial stays so

    def take(self) -> optuna.Trial | None:
        """A trial for this worker to run, or None once every ticket is done.

        Waits while other workers still run trials: one of them may die, and its ticket
        is then issued again.
        """
        while True:
            trial = self._pop(seed_only=self.seed_first and not self._seed_done())
            if trial is not None:
                return trial
            fail_stale_trials(self.study)
            if self.issue():
                continue
            # Done only when no ticket waits either: another worker may have issued
            # them all between this worker's pop and its issue() (then nothing runs yet).
            live = (TrialState.WAITING, TrialState.RUNNING)
            if not self.study.get_trials(deepcopy=False, states=live):
                return None
            time.sleep(self.poll_s)

    def issue(self) -> int:
        """Issue the missing tickets (each top-up once, whichever worker gets there first).

        Top-up ``k`` makes ``n_trials + k`` tickets exist in all, replacing the first
        ``k`` void ones; top-ups run one after another in ``k`` order, each exactly
        once, so no two workers ever issue the same ticket twice. Returns how many this
        call saw issued.
        """
        trials = self.study.get_trials(deepcopy=False)
        void = sum(1 for t in trials if t.state.is_finished() and not self.counts(t))
        if len(trials) - void >= self.n_trials:
            return 0
        storage = self.study._storage  # the leases live beside the study
        added = 0
        for k in range(self._done + 1, void + 1):
            key = f"tickets-{self.n_trials}-{k}"
            added += int(
                run_once(storage, self.study.study_name, key, functools.partial(self._top_up, k))
            )
            self._done = k
        return added

    def _top_up(self, k: int) -> int:
        trials = self.study.get_trials(deepcopy=False)
        missing = max(0, self.n_trials + k - len(trials))
        live = [t for t in trials if not t.state.is_finished() or self.counts(t)]
        seed_live = any(t.user_attrs.get(SEED_ATTR) for t in live)
        for index in range(missing):
            if index == 0 and not seed_live:
                self.study.enqueue_trial(self.seed_params or {}, user_attrs={SEED_ATTR: True})
            else:
                self.study.enqueue_trial({})
        return missing

    def _seed_done(self) -> bool:
        if not self._seed_counted:
            trials = self.study.get_trials(deepcopy=False)
            self._seed_counted = any(
                t.user_attrs.get(SEED_ATTR) and t.state.is_finished() and self.counts(t)
                for t in trials
            )
        return self._seed_counted

    def _pop(self, *, seed_only: bool = False) -> optuna.Trial | None:
        """Move one WAITING trial to RUNNING for this worker, the seed's first.

        Optuna's own pop (what ask() does first) takes the lowest number and, finding
        none, creates a new trial (one too many); a re-issued seed ticket comes after
        the others, but every other candidate builds on the seed.
        """
        self.study._thread_local.cached_all_trials = None
        storage = self.study._storage
        waiting = storage.get_all_trials(
            self.study._study_id, deepcopy=False, states=(TrialState.WAITING,)
        )
        waiting.sort(key=lambda t: (not t.user_attrs.get(SEED_ATTR), t.number))
        for ticket in waiting:
            if seed_only and not ticket.user_attrs.get(SEED_ATTR):
                break
            try:  # False, or an error, when another worker took it first
                if storage.set_trial_state_values(ticket._trial_id, state=TrialState.RUNNING):
                    return optuna.Trial(self.study, ticket._trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
        return None
