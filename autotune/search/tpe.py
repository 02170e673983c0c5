"""Optuna's TPE over a fixed space of prompt parts (the searcher before evolution).

Each trial chooses an instruction slot, how many demos of which pre-drawn set, where the
instruction sits, the answer strategy and the temperature. Slot 0 holds the seed's
instruction; an empty slot is filled the first time it is chosen: slots up to
``n_generated`` by the Prompt Generator, the rest by the Critic and Refiner from the best
candidate's failures. A candidate is scored on the search cases in ``n_minibatches``
fixed batches, and the median pruner stops one that falls far behind after a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import optuna

from autotune.bench.case import Case
from autotune.evaluate.results import CaseResult
from autotune.meta.proposers import BaseProposer, Proposal
from autotune.prompt import Demo
from autotune.search.base import Ask, BaseSearcher, SearchSpace
from autotune.search.candidate import Candidate
from autotune.search.parts import PromptParts, split_sections
from autotune.search.pool import InstructionPool, PoolEntry
from autotune.search.population import Population


class TPESearcher(BaseSearcher):
    """Tree-structured Parzen Estimator over instruction slots, demos and settings."""

    name: ClassVar[str] = "tpe"

    def __init__(
        self,
        space: SearchSpace,
        pool: InstructionPool,
        demo_sets: Sequence[tuple[Demo, ...]],
        generator: BaseProposer,
        refiner: BaseProposer,
    ) -> None:
        super().__init__(space)
        self.pool = pool
        self.demo_sets = list(demo_sets)
        self.generator = generator
        self.refiner = refiner
        n = max(1, space.settings.n_minibatches)
        cases = space.search_cases
        size = -(-len(cases) // n)
        self.batches = [cases[i : i + size] for i in range(0, len(cases), size)]
        if self.pool.get(0) is None:
            self.pool.put(PoolEntry(slot=0, instruction=space.seed.system_text(), origin="seed"))

    def ask_seed(self, trial: optuna.Trial) -> Ask:
        return Ask(self.seed_candidate(trial.number), self.batches[0], "batch:0")

    def ask(self, trial: optuna.Trial, population: Population) -> Ask:
        params = self._suggest(trial)
        slot = int(params["instruction"])
        entry, proposal = self.pool.get(slot), None
        if entry is None:  # empty: fill it (once, whichever worker chose it first)
            entry, proposal = self._fill(slot, population, trial.number)
        candidate = Candidate(trial.number, self.space.seed, operator="tpe")
        if proposal is not None:
            candidate.raw, candidate.calls = proposal.raw, proposal.calls
        if entry is None:
            assert proposal is not None
            candidate.status, candidate.note = "failed", f"edit rejected: {proposal.rejected}"
            return Ask(candidate)
        candidate.parts = self._parts(params, entry.instruction)
        candidate.note = f"slot {slot} ({entry.origin}), {params['n_demos']} demos"
        return Ask(candidate, self.batches[0], "batch:0")

    def tell(
        self, trial: optuna.Trial, ask: Ask, rows: Sequence[CaseResult], population: Population
    ) -> Ask | None:
        candidate = ask.candidate
        step = int(ask.stage.split(":")[1])
        mean = candidate.mean()
        if mean is None:
            candidate.status, candidate.note = "failed", "no case was scored"
            return None
        if candidate.operator != "seed":
            trial.report(mean, step)
            if trial.should_prune():
                candidate.status = "pruned"
                return None
        if step + 1 < len(self.batches):
            return Ask(candidate, self.batches[step + 1], f"batch:{step + 1}")
        candidate.status = "accepted"
        return None

    def _suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        s = self.space.settings
        return {
            "instruction": trial.suggest_categorical("instruction", self.pool.slot_ids()),
            "n_demos": trial.suggest_categorical("n_demos", s.demo_counts),
            "demo_set": trial.suggest_categorical("demo_set", list(range(s.n_demo_sets))),
            "position": trial.suggest_categorical("position", s.positions),
            "answer_strategy": trial.suggest_categorical("answer_strategy", s.answer_strategies),
            "temperature": trial.suggest_categorical("temperature", s.temperatures),
        }

    def _parts(self, params: dict[str, Any], instruction: str) -> PromptParts:
        demos = self.demo_sets[int(params["demo_set"])][: int(params["n_demos"])]
        return self.space.seed.with_(
            **split_sections(instruction),
            demos=demos,
            position=params["position"],
            answer_strategy=str(params["answer_strategy"]),
            temperature=float(params["temperature"]),
        )

    def _fill(
        self, slot: int, population: Population, sample_index: int
    ) -> tuple[PoolEntry | None, Proposal | None]:
        """Draft (first slots) or refine the best candidate's instruction into ``slot``.

        The proposal is this worker's when it filled the slot or was rejected; None when
        another worker filled the slot meanwhile.
        """
        made: list[Proposal] = []

        def propose() -> PoolEntry | None:
            ranked = population.ranked()
            best = ranked[0] if ranked else population.seed()
            assert best is not None
            instruction = best.parts.system_text()
            if slot <= self.space.settings.n_generated:
                proposal = self.generator.propose(self.space.brief, instruction, [], sample_index)
            else:
                failures = [self._failure(best, i) for i in range(len(best.feedback))]
                found = [row for row in failures if row is not None]
                proposal = self.refiner.propose(self.space.brief, instruction, found, sample_index)
            made.append(proposal)
            if proposal.instruction is None:
                return None
            return PoolEntry(
                slot, proposal.instruction, proposal.origin, best.number, proposal.critique
            )

        entry = self.pool.fill(slot, propose)
        return entry, (made[0] if made else None)

    def _failure(self, candidate: Candidate, index: int) -> CaseResult | None:
        item = candidate.feedback[index]
        case: Case | None = self.space.case(item.case_id)
        if case is None:
            return None
        return CaseResult(
            case_id=case.id,
            inputs=dict(case.inputs),
            rendered="",
            output=item.output,
            expected=case.expected,
            score=0.0,
            reason=item.reason,
        )
