"""The optimizer facade: :class:`PromptOptimizer`.

Draft, Generate, Test, Refine as a search. The seed prompt is the first candidate; a
searcher (evolution by default, or TPE) proposes the next ones and the Meta-LLM writes
their new sections from the failures it is shown; each candidate is scored on training
cases and recorded as a trial of an Optuna study. Then a few finalists meet the seed on
the validation split, the winner's parts are ablated so no junk survives, and only the
winner and the seed ever see the test split.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import optuna

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import ConfigError
from autotune.evaluate.evaluator import Evaluator
from autotune.evaluate.results import DEFAULT_POLICY, EvalResult
from autotune.llm.accounting import Budget, MeteredLLM, UsageMeter
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.search import _final, _record, _shared
from autotune.search._build import build_searcher, build_space
from autotune.search._driver import Evaluate, SearchLoop, load_population, recorded
from autotune.search._study import IN_MEMORY, open_study
from autotune.search._tracking import log_result
from autotune.search.candidate import Candidate
from autotune.search.events import Phase, Progress, ProgressCallback
from autotune.search.fingerprint import FINGERPRINT_ATTR, check_fingerprint, study_fingerprint
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.result import OptimizationResult
from autotune.search.settings import SearchSettings
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

# Settings that only shape what comes next (proposals, the final phase): a resumed study
# stays consistent when they change. Everything else changes the candidates' cases or
# the searcher's value space.
RESUMABLE_SETTINGS = ("n_validate", "ablate", "meta_temperature", "meta_max_tokens")

optuna.logging.set_verbosity(optuna.logging.WARNING)


class PromptOptimizer:
    """Searches prompts for one task model with one Meta-LLM.

    Args:
        task_llm: The model the prompt is for.
        meta_llm: The model that writes and edits prompts (may be the same).
        settings: The searcher and its settings.
        budget: Limits of the search phase (calls, tokens, dollars, wall time).
        final_budget: Model calls of the final phase (finalists, ablation, test);
            by default room for every step it can take (the seed and ``n_validate``
            finalists on validation, one validation run per ablation unit, the test
            split twice), so no part of a winner escapes its ablation for lack of calls.
        tracker: Where candidates are logged; :class:`NullTracker` when omitted.
        storage: Optuna storage URL; ``None`` keeps the study in memory (private to
            this call); the CLI passes SQLite under ``mlruns/``.
        study_name: The study's name; an existing study of that name is resumed.
        on_progress: Called with a :class:`Progress` event at each step.
        force_resume: Resume a study whose seed prompt or models changed (``--force``);
            any other change of the study's configuration stops with one line.
    """

    def __init__(
        self,
        task_llm: BaseLLM,
        meta_llm: BaseLLM,
        *,
        settings: SearchSettings | None = None,
        budget: Budget | None = None,
        final_budget: int | None = None,
        tracker: Tracker | None = None,
        storage: str | None = None,
        study_name: str = "autotune",
        on_progress: ProgressCallback | None = None,
        force_resume: bool = False,
    ) -> None:
        self.settings = settings or SearchSettings()
        self.meter = UsageMeter()
        self.final_meter = UsageMeter()
        self._task_raw = task_llm
        self.task_llm = MeteredLLM(task_llm, self.meter, budget)
        self.meta_llm = MeteredLLM(meta_llm, self.meter, budget)
        self.final_budget = final_budget
        self.tracker = tracker or NullTracker()
        self.storage = storage or IN_MEMORY
        self.study_name = study_name
        self.on_progress = on_progress
        self.force_resume = force_resume
        self._started = time.perf_counter()
        self._final_limit = 0

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
        """Run (or resume) the study; a finished study is reported, not run again."""
        train, validation = benchmark.split("train"), benchmark.split("validation")
        if not train or not validation:
            raise ConfigError(
                "the search needs non-empty train and validation splits",
                file=benchmark.source or None,
                field="split",
            )
        self._started = time.perf_counter()
        study = open_study(self.study_name, self.storage, self.settings)
        self._check_fingerprint(study, benchmark, seed_prompt)
        finished = _record.load_final(study, seed_prompt, self.settings.n_trials)
        if finished is not None:
            return finished
        space = build_space(benchmark, seed_prompt, self.settings)
        searcher = build_searcher(self.settings, space, study, self.meta_llm)
        tags = {"autotune.kind": "study", "autotune.study": self.study_name}
        log_setup = functools.partial(self._log_setup, benchmark=benchmark, seed=seed_prompt)
        with _shared.parent_run(self.tracker, study, tags, log_setup) as parent:
            loop = SearchLoop(
                study,
                searcher,
                self._evaluate_candidate(benchmark.metrics),
                self.settings.n_trials,
                self.tracker,
                parent,
                self.meter,
                self._emit,
            )
            stopped_by = loop.run()
            if recorded(study) >= self.settings.n_trials:
                result = self._shared_final(study, benchmark, seed_prompt, parent)
            else:  # this worker's budget ran out first: what it has, not kept
                result = self._finish(load_population(study), benchmark, seed_prompt, parent)
                result.stopped_by = stopped_by
                log_result(parent, result)
                if not _shared.others_running(study):
                    self.tracker.set_status(parent.run_id)
        self._emit(Progress("done", 1, 1))
        return result

    def _shared_final(
        self, study: optuna.Study, benchmark: Benchmark, seed_prompt: Prompt, parent: TrackedRun
    ) -> OptimizationResult:
        """The final phase, run by one worker (the others get its result); it ends the
        parent run FINISHED."""
        mine: list[OptimizationResult] = []

        def final() -> dict[str, Any]:
            result = self._finish(load_population(study), benchmark, seed_prompt, parent)
            _record.save_final(study, result)
            log_result(parent, result)
            self.tracker.set_status(parent.run_id)
            mine.append(result)
            return _record.final_summary(result)

        kept = _shared.once(study, f"final-{self.settings.n_trials}", final)
        return mine[0] if mine else _record.from_summary(kept, seed_prompt)

    def _check_fingerprint(
        self, study: optuna.Study, benchmark: Benchmark, seed_prompt: Prompt
    ) -> None:
        """A study is its configuration: resuming it with another one is refused."""
        current = study_fingerprint(
            benchmark, seed_prompt, self.task_llm.name, self.meta_llm.name,
            self.settings.model_dump(),
        )  # fmt: skip
        stored = study.user_attrs.get(FINGERPRINT_ATTR)
        if stored is None and not study.get_trials(deepcopy=False):
            study.set_user_attr(FINGERPRINT_ATTR, current.to_dict())
            return
        check_fingerprint(
            stored, current, study=self.study_name, force=self.force_resume,
            safe_settings=RESUMABLE_SETTINGS,
        )  # fmt: skip

    def _evaluator(self, llm: BaseLLM, metrics: MetricSet, temperature: float) -> Evaluator:
        s = self.settings
        params = SamplingParams(temperature=temperature, max_tokens=s.max_tokens, seed=s.seed)
        return Evaluator(
            llm, metrics, params=params, concurrency=s.concurrency,
            error_policy=DEFAULT_POLICY, constrain=s.constrain_answers,
        )  # fmt: skip

    def _evaluate_candidate(self, metrics: MetricSet) -> Evaluate:
        def evaluate(candidate: Candidate, cases: Sequence[Case]) -> EvalResult:
            evaluator = self._evaluator(self.task_llm, metrics, candidate.parts.temperature)
            return evaluator.evaluate(candidate.parts.to_prompt(), cases)

        return evaluate

    def _finish(
        self,
        population: Population,
        benchmark: Benchmark,
        seed_prompt: Prompt,
        parent: TrackedRun,
    ) -> OptimizationResult:
        validation, test = benchmark.split("validation"), benchmark.split("test")
        steps = 1 + min(self.settings.n_validate, len(population.ranked()))
        steps += len(_final.ABLATION_ORDER) if self.settings.ablate else 0
        planned = steps * len(validation) + 2 * len(test)
        limit = self.final_budget or planned
        self._final_limit = min(limit, planned)
        final_llm = MeteredLLM(self._task_raw, self.final_meter, Budget(max_calls=limit))

        def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
            evaluator = self._evaluator(final_llm, benchmark.metrics, parts.temperature)
            return evaluator.evaluate(parts.to_prompt(), cases)

        phase = _final.FinalPhase(
            score,
            self.settings.n_validate,
            self.settings.ablate,
            calibrate=self.settings.calibrate and self.settings.constrain_answers,
            calls_left=lambda: limit - self.final_meter.snapshot().calls,
            bootstrap_seed=self.settings.seed,
            on_phase=self._phase,
            label_of=_labels_of(benchmark),
        )
        seed_parts = PromptParts.from_prompt(seed_prompt)
        outcome = phase.run(seed_parts, population.ranked(), validation, test)
        return _record.result_of(
            self.study_name,
            self.settings.searcher,
            seed_prompt,
            outcome,
            population,
            self._usage(),
            parent.run_id,
        )

    def _usage(self) -> dict[str, float]:
        search, final = asdict(self.meter.snapshot()), asdict(self.final_meter.snapshot())
        usage = {key: search[key] + final[key] for key in search if key != "wall_s"}
        usage["final_calls"] = final["calls"]
        usage["wall_s"] = time.perf_counter() - self._started
        return usage

    def _phase(self, phase: Phase, done: int, total: int) -> None:
        """A final-phase step; time left from the seconds per call seen so far and the
        calls the phase may still make (at most: ablation often stops early)."""
        usage, final = self.meter.snapshot(), self.final_meter.snapshot()
        calls = usage.calls + final.calls
        pace = (time.perf_counter() - self._started) / calls if calls else None
        left = None if pace is None else pace * max(0, self._final_limit - final.calls)
        self._emit(Progress(phase, done, total, eta_s=left))

    def _emit(self, event: Progress) -> None:
        if self.on_progress is None:
            return
        usage = self.meter.snapshot()
        final = self.final_meter.snapshot()
        self.on_progress(
            Progress(
                phase=event.phase,
                done=event.done,
                total=event.total,
                best=event.best,
                calls=usage.calls + final.calls,
                tokens=usage.tokens + final.tokens,
                elapsed_s=time.perf_counter() - self._started,
                eta_s=event.eta_s,
                note=event.note,
            )
        )

    def _log_setup(self, parent: TrackedRun, *, benchmark: Benchmark, seed: Prompt) -> None:
        """The new parent run's parameters: settings, benchmark, models, seed prompt."""
        params = {f"search.{k}": v for k, v in self.settings.model_dump().items()}
        params.update(
            benchmark=benchmark.name,
            task_model=self.task_llm.name,
            meta_model=self.meta_llm.name,
            seed_prompt=seed.fingerprint(),
        )
        parent.log_params(params)
        parent.log_text(seed.system, "seed_prompt.md")


def _labels_of(benchmark: Benchmark) -> dict[str, str]:
    """Each case's expected label on a label task (empty otherwise): the final phase
    weighs labels equally (see :mod:`autotune.search._final`)."""
    if not benchmark.labels:
        return {}
    return {case.id: str(case.expected) for case in benchmark.cases}
