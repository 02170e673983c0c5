"""Turn a vague intent into a full system prompt: Draft, Generate, Test, Refine.

The Prompt Generator (:class:`~autotune.meta.proposers.GeneratorProposer`) drafts a
Persona / Context / Steps / Format / Examples prompt from the intent; missing or empty
sections are regenerated one at a time (:class:`~autotune.gen._sections.SectionWriter`).
With a benchmark, the draft is scored on the training split by the
:class:`~autotune.evaluate.Evaluator`, and for ``rounds`` rounds the Critic and Refiner
(:class:`~autotune.meta.proposers.RefinerProposer`) rewrite the best prompt from its
failures; the best prompt by training score is kept.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from autotune.bench.benchmark import Benchmark
from autotune.errors import DataError, UserInputError
from autotune.evaluate import EvalResult, Evaluator
from autotune.gen._sections import CompletedSections, SectionWriter
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.meta.brief import TaskBrief, brief_from_benchmark
from autotune.meta.proposers import BaseProposer, GeneratorProposer, RefinerProposer
from autotune.meta.sections import SECTION_NAMES, PromptSections
from autotune.prompt import DEFAULT_USER_TEMPLATE, Prompt

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
        rounds: Refinement rounds after the draft (with a benchmark).
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
        loop = _RefineLoop(result, brief, writer, proposer(RefinerProposer, 1), on_round)
        evaluator = Evaluator(
            task_llm or meta_llm,
            benchmark.metrics,
            params=s.task_params,
            concurrency=s.concurrency,
        )
        best = loop.run(best, evaluator, rounds, user_template)
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


class _RefineLoop:
    """Test the draft, then refine the best prompt from its failures for some rounds."""

    def __init__(
        self,
        result: GeneratedPrompt,
        brief: TaskBrief,
        writer: SectionWriter,
        refiner: RefinerProposer,
        on_round: Callable[[RoundScore], None] | None,
    ) -> None:
        self.result = result
        self.brief = brief
        self.writer = writer
        self.refiner = refiner
        self.on_round = on_round

    def run(
        self, draft: _Candidate, evaluator: Evaluator, rounds: int, user_template: str
    ) -> _Candidate:
        best = self._test(draft, evaluator, 0, "draft", None)
        for number in range(1, rounds + 1):
            assert best.evaluation is not None
            if not best.evaluation.failures:
                self._record(number, "refine", None, best, False, "stopped: every case passes")
                break
            proposal = self.refiner.propose(
                self.brief, best.prompt.system, best.evaluation.failures, number
            )
            self.result.meta_calls += proposal.calls
            if not proposal.ok:
                self._record(number, "refine", None, best, False, proposal.rejected)
                continue
            completed = self.writer.complete_text(proposal.raw, self.brief)
            self.result.meta_calls += completed.calls
            candidate = _candidate(completed, user_template)
            best = self._test(candidate, evaluator, number, "refine", best)
        return best

    def _test(
        self,
        candidate: _Candidate,
        evaluator: Evaluator,
        number: int,
        origin: str,
        best: _Candidate | None,
    ) -> _Candidate:
        evaluation = evaluator.evaluate(candidate.prompt, self.brief.train_cases)
        candidate.evaluation = evaluation
        self.result.task_calls += evaluation.calls
        better = best is None or evaluation.mean > _score(best)
        winner = candidate if better else best
        assert winner is not None
        note = "" if better else f"not better than {_score(winner):.3f}"
        self._record(number, origin, evaluation.mean, winner, better, note)
        return winner

    def _record(
        self, number: int, origin: str, score: float | None, best: _Candidate, kept: bool, note: str
    ) -> None:
        entry = RoundScore(number, origin, score, _score(best), kept, note)
        self.result.score_history.append(entry)
        if self.on_round is not None:
            self.on_round(entry)


def _score(candidate: _Candidate) -> float:
    return candidate.evaluation.mean if candidate.evaluation is not None else float("-inf")
