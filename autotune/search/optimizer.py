"""The optimizer facade: :class:`PromptOptimizer`.

Draft, Generate, Test, Refine as a search. The seed prompt is trial 0; the Prompt
Generator drafts the first instructions; an Optuna study chooses the instruction slot,
the demos, where the instruction sits, the answer strategy and the temperature;
candidates are scored on fixed mini-batches of the training split (a pruner stops
hopeless ones); empty slots are filled by the Critic and Refiner from the best trial's
failures. The best few trials get a full validation score; only the winner and the
seed ever see the test split.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TypeVar

import optuna

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import BudgetExceeded, ConfigError
from autotune.llm.accounting import Budget, MeteredLLM, UsageMeter
from autotune.llm.base import BaseLLM
from autotune.meta.brief import brief_from_benchmark
from autotune.meta.proposers import BaseProposer, GeneratorProposer, Proposal, RefinerProposer
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.search import _final
from autotune.search._study import (
    WORKER_ATTR,
    count_states,
    finished_trials,
    open_study,
    worker_id,
)
from autotune.search._tracking import log_proposal, log_result, log_trial
from autotune.search._trial import SEED_ATTR, SearchSpace, TrialOutcome, TrialRunner
from autotune.search.demos import draw_demo_sets, split_train
from autotune.search.pool import InstructionPool, PoolEntry
from autotune.search.result import OptimizationResult
from autotune.search.settings import SearchSettings
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

REJECTED_ATTR = "rejected_proposals"
ProposerT = TypeVar("ProposerT", bound=BaseProposer)
PARENT_RUN_ATTR = "mlflow_parent_run_id"

optuna.logging.set_verbosity(optuna.logging.WARNING)


class PromptOptimizer:
    """Searches prompts for one task model with one Meta-LLM.

    Args:
        task_llm: The model the prompt is for.
        meta_llm: The model that writes, critiques and refines prompts (may be the same).
        settings: The search space and schedule.
        budget: Limits of the search phase (calls, tokens, dollars, wall time); the
            final validation and test scoring is outside it.
        tracker: Where trials are logged; :class:`NullTracker` when omitted.
        storage: Optuna storage URL; SQLite under ``mlruns/`` by default.
        study_name: The study's name; an existing study of that name is resumed.
        on_trial: Called after each trial with its number and outcome (progress display).
    """

    def __init__(
        self,
        task_llm: BaseLLM,
        meta_llm: BaseLLM,
        *,
        settings: SearchSettings | None = None,
        budget: Budget | None = None,
        tracker: Tracker | None = None,
        storage: str | None = None,
        study_name: str = "autotune",
        on_trial: Callable[[int, TrialOutcome], None] | None = None,
    ) -> None:
        self.settings = settings or SearchSettings()
        self.meter = UsageMeter()
        self._task_free = MeteredLLM(task_llm, self.meter)
        self.task_llm = MeteredLLM(task_llm, self.meter, budget)
        self.meta_llm = MeteredLLM(meta_llm, self.meter, budget)
        self.tracker = tracker or NullTracker()
        self.storage = storage
        self.study_name = study_name
        self.on_trial = on_trial

    def compile(
        self,
        program: Prompt,
        trainset: Sequence[Case],
        valset: Sequence[Case],
        *,
        metrics: MetricSet,
        description: str = "",
        labels: Sequence[str] = (),
    ) -> Prompt:
        """DSPy-style contract: the best prompt found, starting from ``program``."""
        benchmark = Benchmark(
            name=self.study_name,
            cases=(*trainset, *valset),
            metrics=metrics,
            user_template=program.user_template,
            description=description,
            splits={"train": tuple(trainset), "validation": tuple(valset), "test": ()},
            labels=tuple(labels),
        )
        return self.optimize(benchmark, program).best_prompt

    def optimize(self, benchmark: Benchmark, seed_prompt: Prompt) -> OptimizationResult:
        """Run (or resume) the study and score the winner on the held-out test split."""
        train, validation = benchmark.split("train"), benchmark.split("validation")
        if not train or not validation:
            raise ConfigError(
                "the search needs non-empty train and validation splits",
                file=benchmark.source or None,
                field="split",
            )
        study = open_study(self.study_name, self.storage, self.settings)
        runner = self._runner(benchmark, seed_prompt, train, study)
        with self._parent_run(study, benchmark, seed_prompt) as parent:
            stopped_by = self._search(study, runner, parent)
            result = self._finish(study, runner, benchmark, seed_prompt, parent.run_id)
            result.stopped_by = stopped_by
            log_result(parent, result)
        return result

    def _runner(
        self, benchmark: Benchmark, seed_prompt: Prompt, train: Sequence[Case], study: optuna.Study
    ) -> TrialRunner:
        s = self.settings
        demo_pool, score_pool = split_train(train, s.seed)
        batches = [
            tuple(score_pool[i * s.minibatch_size : (i + 1) * s.minibatch_size])
            for i in range(s.n_minibatches)
        ]
        batches = [batch for batch in batches if batch] or [tuple(score_pool)]
        space = SearchSpace(
            settings=s,
            seed_prompt=seed_prompt,
            pool=InstructionPool(study, s.pool_size),
            demo_sets=draw_demo_sets(
                demo_pool, n_sets=s.n_demo_sets, size=max(s.demo_counts), seed=s.seed
            ),
            batches=batches,
        )
        brief = brief_from_benchmark(benchmark, demo_pool)
        refiner = self._proposer(RefinerProposer)
        return TrialRunner(space, self.task_llm, benchmark.metrics, refiner, brief)

    def _proposer(self, kind: type[ProposerT]) -> ProposerT:
        s = self.settings
        return kind(
            self.meta_llm, temperature=s.meta_temperature, max_tokens=s.meta_max_tokens, seed=s.seed
        )

    @contextlib.contextmanager
    def _parent_run(
        self, study: optuna.Study, benchmark: Benchmark, seed_prompt: Prompt
    ) -> Iterator[TrackedRun]:
        """One parent run per study, re-opened when the study resumes."""
        existing = study.user_attrs.get(PARENT_RUN_ATTR)
        tags = {"autotune.kind": "study", "autotune.study": self.study_name}
        with self.tracker.start_run(self.study_name, tags=tags, resume_id=existing) as parent:
            if not existing and parent.run_id:
                study.set_user_attr(PARENT_RUN_ATTR, parent.run_id)
                params = {f"search.{k}": v for k, v in self.settings.model_dump().items()}
                params.update(
                    benchmark=benchmark.name,
                    task_model=self.task_llm.name,
                    meta_model=self.meta_llm.name,
                    seed_prompt=seed_prompt.fingerprint(),
                )
                parent.log_params(params)
                parent.log_text(seed_prompt.system, "seed_prompt.md")
            yield parent

    def _search(self, study: optuna.Study, runner: TrialRunner, parent: TrackedRun) -> str | None:
        """Generate, then run trials until ``n_trials`` are finished or a budget stops it."""
        try:
            self._seed_pool(study, runner, parent)
            if not study.get_trials(deepcopy=False):
                study.enqueue_trial(runner.space.seed_params(), user_attrs={SEED_ATTR: True})
            while finished_trials(study) < self.settings.n_trials:
                self._one_trial(study, runner, parent)
        except BudgetExceeded as exc:
            return exc.resource
        return None

    def _seed_pool(self, study: optuna.Study, runner: TrialRunner, parent: TrackedRun) -> None:
        """Slot 0 is the seed; slots 1..n_generated come from the Prompt Generator."""
        pool, seed = runner.space.pool, runner.space.seed_prompt
        if pool.get(0) is None:
            pool.put(PoolEntry(slot=0, instruction=seed.system, origin="seed"))
        generator = self._proposer(GeneratorProposer)
        last = min(self.settings.n_generated, pool.capacity - 1)
        for slot in range(1, last + 1):
            if pool.get(slot) is not None or study.user_attrs.get(f"generated_{slot}"):
                continue
            proposal = generator.propose(runner.brief, seed.system, [], sample_index=slot)
            study.set_user_attr(f"generated_{slot}", True)
            self._record_proposal(study, parent, proposal, slot)
            if proposal.instruction is not None:
                pool.put(PoolEntry(slot=slot, instruction=proposal.instruction, origin="generator"))

    def _record_proposal(
        self, study: optuna.Study, parent: TrackedRun, proposal: Proposal, slot: int
    ) -> None:
        if not proposal.ok:
            study.set_user_attr(REJECTED_ATTR, int(study.user_attrs.get(REJECTED_ATTR, 0)) + 1)
        log_proposal(parent, proposal, slot)

    def _one_trial(self, study: optuna.Study, runner: TrialRunner, parent: TrackedRun) -> None:
        trial = study.ask()
        trial.set_user_attr(WORKER_ATTR, worker_id())
        before = self.meter.snapshot()
        started = time.perf_counter()
        tags = {"autotune.kind": "trial", "autotune.trial": str(trial.number)}
        with self.tracker.start_run(
            f"trial-{trial.number}", parent=parent.run_id, tags=tags
        ) as run:
            try:
                outcome = runner.run(trial, study)
            except BudgetExceeded:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                run.set_tags({"autotune.state": "STOPPED_BY_BUDGET"})
                raise
            if outcome.proposal is not None:
                slot = int(trial.params["instruction"])
                self._record_proposal(study, parent, outcome.proposal, slot)
            usage = _usage_delta(before, self.meter, started)
            log_trial(run, trial.number, trial.params, outcome, usage)
        if outcome.state == optuna.trial.TrialState.COMPLETE:
            study.tell(trial, outcome.value)
        else:
            study.tell(trial, state=outcome.state)
        if self.on_trial is not None:
            self.on_trial(trial.number, outcome)

    def _finish(
        self,
        study: optuna.Study,
        runner: TrialRunner,
        benchmark: Benchmark,
        seed_prompt: Prompt,
        parent_run_id: str,
    ) -> OptimizationResult:
        """Validation for the best few trials, then the test split for the winner."""
        runner.task_llm = self._task_free  # the final scoring is outside the search budget
        validation, test = benchmark.split("validation"), benchmark.split("test")
        seed, best = _final.select_best(runner, study, validation, self.settings.n_validate)
        held = None
        if test:
            held = _final.held_out(runner, seed.prompt, best.prompt, test, self.settings.seed)
        return OptimizationResult(
            study_name=self.study_name,
            seed_prompt=seed_prompt,
            best_prompt=best.prompt,
            best_trial=best.trial,
            seed_validation=seed.validation.mean,
            best_validation=best.validation.mean,
            held_out=held,
            trials=count_states(study),
            rejected_proposals=int(study.user_attrs.get(REJECTED_ATTR, 0)),
            usage=asdict(self.meter.snapshot()),
            parent_run_id=parent_run_id or None,
        )


def _usage_delta(before: object, meter: UsageMeter, started: float) -> dict[str, float]:
    after = meter.snapshot()
    fields = ("calls", "cached_calls", "prompt_tokens", "completion_tokens", "usd", "latency_s")
    delta = {name: float(getattr(after, name) - getattr(before, name)) for name in fields}
    delta["wall_s"] = time.perf_counter() - started
    return delta
