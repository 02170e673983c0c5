"""The search extension point: :class:`BaseSearcher` (like optuna's ``BaseSampler``).

A searcher decides which candidate to try next and on which cases to score it; the
driver (:mod:`autotune.search._driver`) scores it, records it as one trial of the study,
and enforces budgets. The protocol is two calls (and :meth:`BaseSearcher.ask_seed`, asked once per
study before any other candidate: the seed prompt and its first cases):

* :meth:`BaseSearcher.ask` returns an :class:`Ask`: a new candidate and the first cases
  to score it on (no cases when the candidate is already decided, e.g. an unusable
  Meta-LLM edit, which is then recorded as ``failed``);
* :meth:`BaseSearcher.tell` receives the rows of those cases (already added to the
  candidate) and returns the next :class:`Ask` for the same candidate, or ``None`` once
  it has set the candidate's status (accepted, rejected, pruned).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import optuna

from autotune.bench.case import Case
from autotune.evaluate.results import CaseResult
from autotune.meta.brief import TaskBrief
from autotune.search.candidate import Candidate
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.settings import SearchSettings


@dataclass(frozen=True)
class SearchSpace:
    """What a searcher works with; fixed for the life of a study.

    Attributes:
        settings: The search settings.
        seed: The seed prompt, part by part.
        search_cases: Training cases the search scores candidates on.
        demo_pool: Training cases demos are drawn from (never scored, so a demo is never
            also the case it answers).
        brief: What the Meta-LLM is told about the task (training cases only).
        labels: The task's allowed labels (empty for free-form tasks).
    """

    settings: SearchSettings
    seed: PromptParts
    search_cases: tuple[Case, ...]
    demo_pool: tuple[Case, ...]
    brief: TaskBrief
    labels: tuple[str, ...] = ()
    _by_id: dict[str, Case] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({case.id: case for case in (*self.search_cases, *self.demo_pool)})

    def case(self, case_id: str) -> Case | None:
        return self._by_id.get(case_id)

    def case_ids(self) -> list[str]:
        return [case.id for case in self.search_cases]


@dataclass
class Ask:
    """Score ``candidate`` on ``cases`` next; ``stage`` says why (for logs and tests)."""

    candidate: Candidate
    cases: tuple[Case, ...] = ()
    stage: str = ""


class BaseSearcher(abc.ABC):
    """Chooses candidates and the cases they are scored on.

    Subclasses set ``name`` and implement :meth:`ask` and :meth:`tell`. A searcher keeps
    no state that a resumed study could not rebuild from the population: everything it
    decides follows from the population and the trial number.
    """

    name: ClassVar[str] = "searcher"

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def ask_seed(self, trial: optuna.Trial) -> Ask:
        """The seed prompt as candidate ``trial.number`` and the first cases to score it
        on (by default every search case). The driver asks it first, once per study."""
        return Ask(self.seed_candidate(trial.number), self.space.search_cases, "seed")

    @abc.abstractmethod
    def ask(self, trial: optuna.Trial, population: Population) -> Ask:
        """A new candidate (numbered ``trial.number``) and the first cases to score;
        ``population`` holds the scored seed and every candidate recorded so far."""

    @abc.abstractmethod
    def tell(
        self, trial: optuna.Trial, ask: Ask, rows: Sequence[CaseResult], population: Population
    ) -> Ask | None:
        """More cases for the same candidate, or None once its status is set."""

    def seed_candidate(self, number: int) -> Candidate:
        """The seed prompt as a candidate."""
        return Candidate(number=number, parts=self.space.seed, operator="seed")
