"""The search loop: ask the searcher, score, tell, record, until the study is done.

Every candidate is one Optuna trial; its record (parts, parents, operator, per-case
scores, feedback) is the trial's user attribute :data:`CANDIDATE_ATTR`, so the study's
storage holds the whole population and a killed run resumes from it. Accepted
candidates are COMPLETE with their search score as value, rejected and pruned ones
PRUNED, unusable ones FAIL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded, LLMError
from autotune.evaluate.results import CaseResult, EvalResult, UnusableResult
from autotune.llm.accounting import UsageMeter
from autotune.search import _tracking
from autotune.search._study import WORKER_ATTR, worker_id
from autotune.search.base import Ask, BaseSearcher
from autotune.search.candidate import SEARCH_SPLIT, Candidate
from autotune.search.events import Progress, ProgressCallback
from autotune.search.population import Population
from autotune.tracking.base import TrackedRun, Tracker

CANDIDATE_ATTR = "autotune.candidate"
ERROR_NOTE = "model errors: "
# Candidates failing on model errors one after another mean an outage, not bad prompts.
MAX_FAILING_IN_A_ROW = 3

Evaluate = Callable[[Candidate, Sequence[Case]], EvalResult]
"""Scores a candidate on cases; raises :class:`UnusableResult` when errors make it unusable."""
_STATES = {
    "accepted": optuna.trial.TrialState.COMPLETE,
    "rejected": optuna.trial.TrialState.PRUNED,
    "pruned": optuna.trial.TrialState.PRUNED,
    "failed": optuna.trial.TrialState.FAIL,
}


def load_population(study: optuna.Study) -> Population:
    """Every recorded candidate of the study (interrupted trials left no record)."""
    candidates = [
        Candidate.from_record(trial.number, trial.user_attrs[CANDIDATE_ATTR])
        for trial in study.get_trials(deepcopy=False)
        if CANDIDATE_ATTR in trial.user_attrs and trial.state.is_finished()
    ]
    return Population(candidates)


def recorded(study: optuna.Study) -> int:
    """Candidates that count against ``n_trials``."""
    return sum(
        1
        for trial in study.get_trials(deepcopy=False)
        if CANDIDATE_ATTR in trial.user_attrs and trial.state.is_finished()
    )


@dataclass
class SearchLoop:
    """Runs one study's search phase.

    Attributes:
        study: The Optuna study that stores the candidates.
        searcher: Chooses candidates and their cases.
        evaluate: Scores a candidate's prompt on cases.
        n_trials: Candidates to record in total (a resumed study runs the rest).
        tracker: Where each candidate is logged (a child run of ``parent``).
        parent: The study's parent run.
        meter: Usage so far (for progress).
        progress: Called after each candidate.
    """

    study: optuna.Study
    searcher: BaseSearcher
    evaluate: Evaluate
    n_trials: int
    tracker: Tracker
    parent: TrackedRun
    meter: UsageMeter
    progress: ProgressCallback | None = None

    def run(self, population: Population) -> str | None:
        """Search until ``n_trials`` candidates are recorded; the budget that stopped it."""
        started, outage = time.perf_counter(), 0
        try:
            while (done := recorded(self.study)) < self.n_trials:
                candidate = self._one(population)
                population.add(candidate)
                self._report(population, done + 1, candidate, started)
                outage = outage + 1 if candidate.note.startswith(ERROR_NOTE) else 0
                if outage >= MAX_FAILING_IN_A_ROW:
                    raise LLMError(
                        f"stopped: the task model failed on {outage} candidates in a row "
                        f"({candidate.note}); rerun the same command to resume"
                    )
        except BudgetExceeded as exc:
            return exc.resource
        return None

    def _one(self, population: Population) -> Candidate:
        trial = self.study.ask()
        trial.set_user_attr(WORKER_ATTR, worker_id())
        name = f"candidate-{trial.number}"
        tags = {
            _tracking.KIND_TAG: _tracking.CANDIDATE_KIND,
            _tracking.NUMBER_TAG: str(trial.number),
        }
        rows: list[CaseResult] = []
        with self.tracker.start_run(name, parent=self.parent.run_id, tags=tags) as run:
            try:
                ask = self.searcher.ask(trial, population)
                self._score(trial, ask, population, rows)
            except BudgetExceeded:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                run.set_tags({"autotune.state": "STOPPED_BY_BUDGET"})
                raise
            candidate = ask.candidate
            _tracking.log_candidate(run, candidate, rows)
        self._record(trial, candidate)
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

    def _record(self, trial: optuna.Trial, candidate: Candidate) -> None:
        if candidate.status == "running":  # a searcher that forgot to decide
            candidate.status = "failed"
        trial.set_user_attr(CANDIDATE_ATTR, candidate.to_record())
        state = _STATES[candidate.status]
        if state == optuna.trial.TrialState.COMPLETE:
            self.study.tell(trial, candidate.value)
        else:
            self.study.tell(trial, state=state)

    def _report(self, population: Population, done: int, last: Candidate, started: float) -> None:
        if self.progress is None:
            return
        ranked = population.ranked()
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
