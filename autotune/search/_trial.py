"""One trial of the search: choose prompt parts, fill the slot, score on mini-batches."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from autotune.bench.case import Case
from autotune.evaluate.evaluator import EvalBudgetExceeded, Evaluator
from autotune.evaluate.results import CaseResult
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.meta.brief import TaskBrief
from autotune.meta.proposers import BaseProposer, Proposal
from autotune.metrics.base import MetricSet
from autotune.prompt import Demo, Prompt
from autotune.search.pool import InstructionPool, PoolEntry
from autotune.search.settings import SearchSettings

SEED_ATTR = "seed_prompt"


@dataclass
class TrialOutcome:
    """What a trial produced, for the study and for tracking."""

    state: optuna.trial.TrialState
    value: float | None = None
    prompt: Prompt | None = None
    rows: list[CaseResult] = field(default_factory=list)
    step_means: list[float] = field(default_factory=list)
    proposal: Proposal | None = None
    note: str = ""
    calls: int = 0


@dataclass
class SearchSpace:
    """The per-study fixed parts a trial chooses from."""

    settings: SearchSettings
    seed_prompt: Prompt
    pool: InstructionPool
    demo_sets: list[tuple[Demo, ...]]
    batches: list[tuple[Case, ...]]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask the sampler for every prompt part (the same names and choices each trial)."""
        s = self.settings
        return {
            "instruction": trial.suggest_categorical("instruction", self.pool.slot_ids()),
            "n_demos": trial.suggest_categorical("n_demos", s.demo_counts),
            "demo_set": trial.suggest_categorical("demo_set", list(range(s.n_demo_sets))),
            "position": trial.suggest_categorical("position", s.positions),
            "strategy": trial.suggest_categorical("strategy", s.strategies),
            "temperature": trial.suggest_categorical("temperature", s.temperatures),
        }

    def build(self, params: dict[str, Any], instruction: str) -> Prompt:
        """The candidate prompt the parameters describe."""
        demos = self.demo_sets[int(params["demo_set"])][: int(params["n_demos"])]
        return self.seed_prompt.with_(
            system=instruction,
            demos=demos,
            answer_strategy=str(params["strategy"]),
            instruction_position=params["position"],
            name=f"slot{params['instruction']}",
        )

    def prompt_for(
        self, params: Mapping[str, Any], instruction: str, user_attrs: Mapping[str, Any]
    ) -> Prompt:
        """The prompt a trial scores: the seed itself for trial 0, else :meth:`build`."""
        if user_attrs.get(SEED_ATTR):
            return self.seed_prompt
        return self.build(dict(params), instruction)

    def seed_params(self) -> dict[str, Any]:
        """Parameters that describe the seed prompt as closely as the space allows."""
        s, seed = self.settings, self.seed_prompt

        def pick(value: Any, choices: Sequence[Any]) -> Any:
            return value if value in choices else choices[0]

        return {
            "instruction": "0",
            "n_demos": pick(0, s.demo_counts),
            "demo_set": 0,
            "position": pick(seed.instruction_position, s.positions),
            "strategy": pick(seed.answer_strategy, s.strategies),
            "temperature": pick(0.0, s.temperatures),
        }


class TrialRunner:
    """Runs trials: fills slots through proposers and scores candidates."""

    def __init__(
        self,
        space: SearchSpace,
        task_llm: BaseLLM,
        metrics: MetricSet,
        refiner: BaseProposer,
        brief: TaskBrief,
    ) -> None:
        self.space = space
        self.task_llm = task_llm
        self.metrics = metrics
        self.refiner = refiner
        self.brief = brief
        self.failures: dict[int, list[CaseResult]] = {}

    def evaluator(self, temperature: float) -> Evaluator:
        s = self.space.settings
        params = SamplingParams(temperature=temperature, max_tokens=s.max_tokens, seed=s.seed)
        return Evaluator(self.task_llm, self.metrics, params=params, concurrency=s.concurrency)

    def run(self, trial: optuna.Trial, study: optuna.Study) -> TrialOutcome:
        """Score one trial; budgets propagate after the partial outcome is recorded."""
        params = self.space.suggest(trial)
        slot = int(params["instruction"])
        entry = self.space.pool.get(slot)
        proposal = None
        if entry is None:
            entry, proposal = self._fill_slot(slot, study)
            if entry is None:
                note = f"proposal rejected: {proposal.rejected}"
                return TrialOutcome(optuna.trial.TrialState.FAIL, proposal=proposal, note=note)
        prompt = self.space.prompt_for(params, entry.instruction, trial.user_attrs)
        outcome = self._score(trial, prompt, float(params["temperature"]))
        outcome.proposal = proposal
        return outcome

    def _score(self, trial: optuna.Trial, prompt: Prompt, temperature: float) -> TrialOutcome:
        evaluator = self.evaluator(temperature)
        rows: list[CaseResult] = []
        outcome = TrialOutcome(optuna.trial.TrialState.RUNNING, prompt=prompt, rows=rows)
        for step, batch in enumerate(self.space.batches):
            try:
                result = evaluator.evaluate(prompt, batch)
            except EvalBudgetExceeded as exc:
                rows.extend(exc.partial.rows)
                raise
            rows.extend(result.rows)
            outcome.calls += result.calls
            mean = statistics.fmean(row.score for row in rows)
            outcome.step_means.append(mean)
            trial.report(mean, step)
            if trial.should_prune():
                outcome.state = optuna.trial.TrialState.PRUNED
                outcome.value = mean
                break
        else:
            outcome.state = optuna.trial.TrialState.COMPLETE
            outcome.value = outcome.step_means[-1]
        self.failures[trial.number] = [row for row in rows if not row.passed]
        return outcome

    def _fill_slot(self, slot: int, study: optuna.Study) -> tuple[PoolEntry | None, Proposal]:
        """Refine the best trial so far (or the seed) from its failures into ``slot``."""
        parent_slot, current, failures = self._refinement_source(study)
        proposal = self.refiner.propose(self.brief, current, failures, sample_index=slot)
        if proposal.instruction is None:
            return None, proposal
        entry = PoolEntry(
            slot=slot,
            instruction=proposal.instruction,
            origin=proposal.origin,
            parent_slot=parent_slot,
            critique=proposal.critique,
        )
        self.space.pool.put(entry)
        return entry, proposal

    def _refinement_source(self, study: optuna.Study) -> tuple[int, str, list[CaseResult]]:
        """(slot, instruction, failures) of the best completed trial, else of the seed."""
        completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if completed:
            best = max(completed, key=lambda t: (t.value or 0.0, -t.number))
            slot = int(best.params["instruction"])
            entry = self.space.pool.get(slot)
            if entry is not None:
                if best.number not in self.failures:
                    prompt = self.space.prompt_for(best.params, entry.instruction, best.user_attrs)
                    self.failures[best.number] = self._failures_of(prompt, best.params)
                return slot, entry.instruction, self.failures[best.number]
        seed = self.space.seed_prompt
        return 0, seed.system, self._failures_of(seed, self.space.seed_params())

    def _failures_of(self, prompt: Prompt, params: dict[str, Any]) -> list[CaseResult]:
        """Failures on the first mini-batch (free when the response cache is on)."""
        evaluator = self.evaluator(float(params["temperature"]))
        return evaluator.evaluate(prompt, self.space.batches[0]).failures
