"""The search loop: ask the searcher, score, tell, record, until the study is done.

Every candidate is one Optuna trial; its record (parts, parents, operator, per-case
scores, feedback) is the trial's user attribute :data:`CANDIDATE_ATTR`, so the study's
storage holds the whole population and a killed run resumes from it. Accepted
candidates are COMPLETE with their search score as value, rejected and pruned ones
PRUNED, unusable ones FAIL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded, LLMError
from autotune.evaluate.results import CaseResult, EvalResult, UnusableResult
from autotune.llm.accounting import UsageMeter
from autotune.search import _tracking
from autotune.search._study import WORKER_ATTR, worker_id
from autotune.search.base import Ask, BaseSearcher
from autotune.search.candidate import SEARCH_SPLIT, Candidate
from autotune.search.coordination import SEED_ATTR, Tickets
from autotune.search.events import Progress, ProgressCallback
from autotune.search.population import Population
from autotune.search.storage import beating
from autotune.tracking.base import TrackedRun, Tracker

CANDIDATE_ATTR = "autotune.candidate"
ERROR_NOTE = "model errors: "
# Candidates failing on model errors one after another mean an outage, not bad prompts.
MAX_FAILING_IN_A_ROW = 3
DROPPED = "dropped: another worker failed its trial (no heartbeat within the grace period)"
_log = logging.getLogger(__name__)

Evaluate = Callable[[Candidate, Sequence[Case]], EvalResult]
"""Scores a candidate on cases; raises :class:`UnusableResult` when errors make it unusable."""
_STATES = {
    "accepted": TrialState.COMPLETE,
    "rejected": TrialState.PRUNED,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
}


def load_population(study: optuna.Study) -> Population:
    """Every recorded candidate of the study (interrupted trials left no record)."""
    return _population(study.get_trials(deepcopy=False))


def _population(trials: Sequence[FrozenTrial]) -> Population:
    return Population(
        Candidate.from_record(trial.number, trial.user_attrs[CANDIDATE_ATTR])
        for trial in trials
        if CANDIDATE_ATTR in trial.user_attrs and trial.state.is_finished()
    )


def counts(trial: FrozenTrial) -> bool:
    """Whether a finished trial counts against ``n_trials``: it recorded a candidate,
    unless it was the seed's and the seed was not scored (then the seed runs again)."""
    record = trial.user_attrs.get(CANDIDATE_ATTR)
    if record is None:
        return False
    return not (trial.user_attrs.get(SEED_ATTR) and record.get("status") != "accepted")


def recorded(study: optuna.Study) -> int:
    """Candidates that count against ``n_trials``."""
    return _recorded(study.get_trials(deepcopy=False))


def _recorded(trials: Sequence[FrozenTrial]) -> int:
    return sum(1 for trial in trials if trial.state.is_finished() and counts(trial))


@dataclass
class SearchLoop:
    """Runs one study's search phase; any number of workers may run it on one study.

    The study's trials are tickets (:class:`~autotune.search.coordination.Tickets`):
    exactly ``n_trials`` candidates are recorded in total, whichever worker records
    them; the seed's ticket comes first and is scored once, and the other candidates
    are asked only once it is. Each candidate is asked from the population as the
    study holds it at that moment (other workers' candidates included), and its trial
    keeps a heartbeat while it runs, so a dead worker's candidate is run again.

    Attributes:
        study: The Optuna study that stores the candidates.
        searcher: Chooses candidates and their cases.
        evaluate: Scores a candidate's prompt on cases.
        n_trials: Candidates to record in total (a resumed study runs the rest).
        tracker: Where each candidate is logged (a child run of ``parent``).
        parent: The study's parent run.
        meter: Usage so far (for progress).
        progress: Called after each candidate.
        poll_s: How often a worker with nothing to do looks again (others still run).
    """

    study: optuna.Study
    searcher: BaseSearcher
    evaluate: Evaluate
    n_trials: int
    tracker: Tracker
    parent: TrackedRun
    meter: UsageMeter
    progress: ProgressCallback | None = None
    poll_s: float = 0.3

    def run(self, mine: Population | None = None) -> str | None:
        """Search until ``n_trials`` candidates are recorded; the budget that stopped it.

        ``mine``, if given, collects this worker's own candidates as they are recorded
        (before the progress event that reports each).
        """
        tickets = Tickets(self.study, self.n_trials, counts, seed_first=True, poll_s=self.poll_s)
        started, outage, ran = time.perf_counter(), 0, 0
        try:
            while (trial := tickets.take()) is not None:
                if not ran and self.parent.run_id:  # the study runs again (a resumed one too)
                    self.tracker.set_status(self.parent.run_id, "RUNNING")
                ran += 1
                candidate = self._one(trial)
                if candidate is None:
                    continue
                if mine is not None:
                    mine.add(candidate)
                self._report(candidate, started)
                failed_seed = candidate.operator == "seed" and candidate.status != "accepted"
                broken = candidate.note.startswith(ERROR_NOTE) or failed_seed
                outage = outage + 1 if broken else 0
                if outage >= MAX_FAILING_IN_A_ROW:
                    raise LLMError(
                        f"stopped: the task model failed on {outage} candidates in a row "
                        f"({candidate.note}); rerun the same command to resume"
                    )
        except BudgetExceeded as exc:
            return exc.resource
        return None

    def _one(self, trial: optuna.Trial) -> Candidate | None:
        """Ask, score and record one candidate; None when another worker failed its
        trial meanwhile (its heartbeat had stopped), which then runs again elsewhere."""
        with beating(self.study, trial):
            trial.set_user_attr(WORKER_ATTR, worker_id())
            population = load_population(self.study)
            name = f"candidate-{trial.number}"
            tags = {
                _tracking.KIND_TAG: _tracking.CANDIDATE_KIND,
                _tracking.NUMBER_TAG: str(trial.number),
            }
            rows: list[CaseResult] = []
            with self.tracker.start_run(name, parent=self.parent.run_id, tags=tags) as run:
                try:
                    if trial.user_attrs.get(SEED_ATTR):
                        ask = self.searcher.ask_seed(trial)
                    else:
                        ask = self.searcher.ask(trial, population)
                    self._score(trial, ask, population, rows)
                except BudgetExceeded:
                    self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                    run.set_tags({"autotune.state": "STOPPED_BY_BUDGET"})
                    raise
                candidate = ask.candidate
                _tracking.log_candidate(run, candidate, rows)
            if not self._record(trial, candidate):
                run.set_tags({_tracking.STATE_TAG: "failed", "autotune.note": DROPPED})
                return None
        return candidate

    def _score(
        self, trial: optuna.Trial, ask: Ask | None, population: Population, rows: list[CaseResult]
    ) -> None:
        while ask is not None and ask.cases:
            candidate = ask.candidate
            try:
                result = self.evaluate(candidate, ask.cases)
            except UnusableResult as exc:  # an outage is not a low score: nothing learns from it
                rows.extend(exc.partial.rows)
                candidate.add_rows(SEARCH_SPLIT, exc.partial.rows)
                candidate.status, candidate.note = "failed", f"{ERROR_NOTE}{exc.reason}"
                return
            rows.extend(result.rows)
            candidate.add_rows(SEARCH_SPLIT, result.rows)
            ask = self.searcher.tell(trial, ask, result.rows, population)

    def _record(self, trial: optuna.Trial, candidate: Candidate) -> bool:
        """Keep the candidate as the trial's record; False if the trial was failed
        meanwhile by another worker (this one's heartbeat had stopped: a suspended or
        overloaded host), whose ticket was then issued again."""
        if candidate.status == "running":  # a searcher that forgot to decide
            candidate.status = "failed"
        state = _STATES[candidate.status]
        try:
            trial.set_user_attr(CANDIDATE_ATTR, candidate.to_record())
            if state == TrialState.COMPLETE:
                self.study.tell(trial, candidate.value)
            else:
                self.study.tell(trial, state=state)
        except UpdateFinishedTrialError:
            _log.warning("candidate %s dropped: %s", trial.number, DROPPED)
            return False
        return True

    def _report(self, last: Candidate, started: float) -> None:
        """Progress of the whole study (every worker's candidates)."""
        if self.progress is None:
            return
        trials = self.study.get_trials(deepcopy=False)
        done, ranked = _recorded(trials), _population(trials).ranked()
        usage = self.meter.snapshot()
        elapsed = time.perf_counter() - started
        self.progress(
            Progress(
                phase="search",
                done=done,
                total=self.n_trials,
                best=ranked[0].value if ranked else None,
                calls=usage.calls,
                tokens=usage.tokens,
                elapsed_s=elapsed,
                eta_s=elapsed / max(1, done) * max(0, self.n_trials - done),
                note=f"#{last.number} {last.operator}: {last.status}",
            )
        )
