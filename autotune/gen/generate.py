"""Turn a vague intent into a full system prompt: Draft, Generate, Test, Refine.

The Prompt Generator (:class:`~autotune.meta.proposers.GeneratorProposer`) drafts a
Persona / Context / Steps / Format / Examples prompt from the intent; missing or empty
sections are regenerated one at a time (:class:`~autotune.gen._sections.SectionWriter`).
With a benchmark, the draft is the seed of the search's evolutionary searcher, limited
to section edits (the Meta-LLM rewrites one section from the best prompt's failures; no
section is dropped, so the prompt keeps its five parts) for ``rounds`` candidates on the
training split; the best prompt by training score is kept (ties: the shorter one). A
draft that already passes every training case is kept as it is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import DataError, UserInputError
from autotune.evaluate import EvalResult, Evaluator
from autotune.gen._sections import CompletedSections, SectionWriter
from autotune.llm.accounting import UsageMeter
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.meta.brief import TaskBrief, brief_from_benchmark
from autotune.meta.proposers import BaseProposer, GeneratorProposer
from autotune.meta.section_edit import SectionEditor
from autotune.meta.sections import SECTION_NAMES, PromptSections
from autotune.prompt import DEFAULT_USER_TEMPLATE, Prompt
from autotune.search._driver import SearchLoop
from autotune.search.base import SearchSpace
from autotune.search.candidate import Candidate
from autotune.search.events import Progress, ProgressCallback
from autotune.search.evolution import EvolutionSearcher
from autotune.search.operators import RewriteSection
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.settings import SearchSettings
from autotune.tracking.base import NullRun, NullTracker

ProposerT = TypeVar("ProposerT", bound=BaseProposer)


@dataclass(frozen=True)
class RoundScore:
    """One round of the loop: the candidate's training score and whether it became best.

    ``score`` is None when the round produced no candidate (``note`` says why).
    """

    round: int
    origin: str
    score: float | None
    best: float | None
    kept: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "origin": self.origin,
            "score": self.score,
            "best": self.best,
            "kept": self.kept,
            "note": self.note,
        }


@dataclass
class GeneratedPrompt:
    """The generated prompt, its sections and how it was made.

    Attributes:
        intent: What the user asked for.
        sections: The five sections of the best prompt.
        prompt: The best prompt (the sections as its system text).
        score_history: Training scores per round (empty without a benchmark).
        regenerated: Sections of the best prompt written by a focused request.
        defaulted: Sections of the best prompt filled from the task.
        missing: Sections still empty (the prompt is incomplete when this is not empty).
        meta_calls: Meta-LLM calls.
        task_calls: Task model calls (evaluation).
        evaluation: The best prompt's training evaluation, if any.
    """

    intent: str
    sections: PromptSections
    prompt: Prompt
    score_history: list[RoundScore] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    meta_calls: int = 0
    task_calls: int = 0
    evaluation: EvalResult | None = None

    @property
    def score(self) -> float | None:
        """The best training score, or None without a benchmark."""
        return None if self.evaluation is None else self.evaluation.mean

    def to_markdown(self) -> str:
        """The system prompt with ``## Section`` headers (loadable as a ``.md`` prompt file)."""
        return self.sections.render() + "\n"

    def to_dict(self) -> dict[str, Any]:
        """``{persona, context, steps, format, examples, score_history, ...}``."""
        data: dict[str, Any] = {name: getattr(self.sections, name) for name in SECTION_NAMES}
        data["score_history"] = [entry.to_dict() for entry in self.score_history]
        data["missing_sections"] = list(self.missing)
        data["intent"] = self.intent
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


@dataclass
class _Candidate:
    completed: CompletedSections
    prompt: Prompt
    evaluation: EvalResult | None = None


@dataclass(frozen=True)
class GenerateSettings:
    """How :func:`generate_prompt` samples and tests.

    Attributes:
        limit: Score on only the first ``limit`` training cases.
        task_params: Sampling of the task model (default temperature 0).
        section_attempts: Focused requests per missing section.
        max_tokens: Length of the Meta-LLM's answers.
        temperature: Meta-LLM sampling temperature.
        seed: Meta-LLM sampling seed.
        concurrency: Cases in flight during evaluation.
    """

    limit: int | None = None
    task_params: SamplingParams = field(default_factory=lambda: SamplingParams(temperature=0.0))
    section_attempts: int = 2
    max_tokens: int = 400
    temperature: float = 0.7
    seed: int = 0
    concurrency: int = 4


def generate_prompt(
    intent: str,
    meta_llm: BaseLLM,
    *,
    benchmark: Benchmark | None = None,
    task_llm: BaseLLM | None = None,
    rounds: int = 2,
    settings: GenerateSettings | None = None,
    on_round: Callable[[RoundScore], None] | None = None,
) -> GeneratedPrompt:
    """Write a five-section system prompt for ``intent``; refine it on a benchmark.

    Args:
        intent: The task in the user's words.
        meta_llm: The model that writes, critiques and refines prompts.
        benchmark: Optional benchmark; its training split scores the candidates.
        task_llm: The model that answers the cases (default ``meta_llm``).
        rounds: Candidates the search tries after the draft (with a benchmark).
        settings: Sampling, section attempts, training-case limit.
        on_round: Called after each round with its score (progress display).

    Raises:
        UserInputError: An empty intent, negative rounds or a bad limit.
        DataError: The benchmark has no training cases.
    """
    s = settings or GenerateSettings()
    brief = _brief(intent, benchmark, s.limit, rounds, s.section_attempts)

    def proposer(kind: type[ProposerT], attempts: int) -> ProposerT:
        return kind(
            meta_llm,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            attempts=attempts,
            seed=s.seed,
        )

    writer = proposer(SectionWriter, s.section_attempts)
    draft = proposer(GeneratorProposer, 1).propose(brief, "", (), 0)
    user_template = benchmark.user_template if benchmark else DEFAULT_USER_TEMPLATE
    best = _candidate(writer.complete_text(draft.raw, brief), user_template)
    result = GeneratedPrompt(intent.strip(), best.completed.sections, best.prompt)
    result.meta_calls = draft.calls + best.completed.calls
    if benchmark is not None:
        best = _search(best, result, brief, benchmark, task_llm or meta_llm, meta_llm, rounds, s,
                       on_round)  # fmt: skip
    _finish(result, best)
    return result


def _brief(
    intent: str, benchmark: Benchmark | None, limit: int | None, rounds: int, attempts: int
) -> TaskBrief:
    checks = [
        (bool(intent.strip()), "intent", "the intent is empty: describe the task in words"),
        (rounds >= 0, "rounds", f"must be >= 0, got {rounds}"),
        (limit is None or limit >= 1, "limit", f"must be >= 1, got {limit}"),
        (attempts >= 1, "section_attempts", f"must be >= 1, got {attempts}"),
    ]
    for ok, name, message in checks:
        if not ok:
            raise UserInputError(message, field=name)
    if benchmark is None:
        # No data: the Meta-LLM invents the format and examples from the intent.
        return TaskBrief(description=intent.strip(), format_hint="", train_cases=())
    train = benchmark.split("train")[:limit]
    if not train:
        raise DataError("the benchmark has no training cases", file=benchmark.source or None)
    return dataclasses.replace(brief_from_benchmark(benchmark, train), description=intent.strip())


def _candidate(completed: CompletedSections, user_template: str) -> _Candidate:
    system = completed.sections.render()
    return _Candidate(
        completed, Prompt(system=system, user_template=user_template, name="generated")
    )


def _finish(result: GeneratedPrompt, best: _Candidate) -> None:
    result.sections, result.prompt = best.completed.sections, best.prompt
    result.regenerated = list(best.completed.regenerated)
    result.defaulted = list(best.completed.defaulted)
    result.missing = list(best.completed.missing)
    result.evaluation = best.evaluation


def _search(
    draft: _Candidate,
    result: GeneratedPrompt,
    brief: TaskBrief,
    benchmark: Benchmark,
    task_llm: BaseLLM,
    meta_llm: BaseLLM,
    rounds: int,
    s: GenerateSettings,
    on_round: Callable[[RoundScore], None] | None,
) -> _Candidate:
    """The search's own loop (draft as seed, section edits only) on the training cases."""
    space = _space(draft, brief, benchmark, rounds, s)
    editor = SectionEditor(meta_llm, temperature=s.temperature, seed=s.seed)
    searcher = EvolutionSearcher(space, [RewriteSection(editor)])
    evaluator = Evaluator(
        task_llm, benchmark.metrics, params=s.task_params, concurrency=s.concurrency
    )
    scored: dict[int, EvalResult] = {}

    def evaluate(candidate: Candidate, cases: Sequence[Case]) -> EvalResult:
        evaluation = evaluator.evaluate(candidate.parts.to_prompt("generated"), cases)
        scored[candidate.number] = evaluation
        result.task_calls += evaluation.calls
        return evaluation

    study = optuna.create_study(direction="maximize")
    population = Population()
    history = _History(result, on_round)
    for n_trials in (1, rounds + 1):  # the draft first: a perfect draft needs no edit
        loop = SearchLoop(study, searcher, evaluate, n_trials, NullTracker(), NullRun(),
                          UsageMeter(), history.on_progress(population))  # fmt: skip
        loop.run(population)
        if rounds and all(c.value == 1.0 for c in population.accepted()):
            history.stopped()
            break
    result.meta_calls += sum(c.calls - scored.get(c.number, _NONE).calls for c in population)
    best = population.ranked()[0] if population.ranked() else None
    if best is None or best.operator == "seed":
        draft.evaluation = scored.get(best.number) if best else None
        return draft
    sections = PromptSections(*(best.parts.section(name) for name in SECTION_NAMES))
    completed = dataclasses.replace(draft.completed, sections=sections)
    return _Candidate(completed, best.parts.to_prompt("generated"), scored.get(best.number))


def _space(
    draft: _Candidate, brief: TaskBrief, benchmark: Benchmark, rounds: int, s: GenerateSettings
) -> SearchSpace:
    """Every training case is scored; there are no demos to draw."""
    seed = PromptParts(
        **{name: getattr(draft.completed.sections, name) for name in SECTION_NAMES},
        user_template=draft.prompt.user_template,
        temperature=s.task_params.temperature,
    )
    cases = len(brief.train_cases)
    settings = SearchSettings(
        n_trials=rounds + 1,
        seed=s.seed,
        search_size=max(2, cases),
        minibatch_size=cases,
        concurrency=s.concurrency,
    )
    return SearchSpace(settings, seed, brief.train_cases, (), brief, tuple(benchmark.labels))


_NONE = EvalResult(rows=[], mean=float("nan"), ci_low=float("nan"), ci_high=float("nan"))


class _History:
    """Turns recorded candidates into :class:`RoundScore` entries, as they come."""

    def __init__(self, result: GeneratedPrompt, on_round: Callable[[RoundScore], None] | None):
        self.result = result
        self.on_round = on_round
        self.best: float | None = None

    def on_progress(self, population: Population) -> ProgressCallback:
        def record(event: Progress) -> None:
            if event.phase != "search":
                return
            candidate = max(population, key=lambda c: c.number)
            score = candidate.value if candidate.status == "accepted" else None
            kept = score is not None and (self.best is None or score > self.best)
            self.best = score if kept else self.best
            origin = "draft" if candidate.operator == "seed" else candidate.operator
            note = "" if kept else candidate.note
            self._add(RoundScore(event.done - 1, origin, score, self.best, kept, note))

        return record

    def stopped(self) -> None:
        self._add(RoundScore(1, "edit", None, self.best, False, "stopped: every case passes"))

    def _add(self, entry: RoundScore) -> None:
        self.result.score_history.append(entry)
        if self.on_round is not None:
            self.on_round(entry)
