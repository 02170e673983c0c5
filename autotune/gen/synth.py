"""Synthetic test cases: generate, review, replace until N are kept or the budget ends.

Each generation call shows the model a short few-shot conversation (see
:mod:`autotune.gen._synth_prompt`) and asks for one new message for the task (or
``batch_size`` of them, one per line), with a target label when the task has labels:
the labels take turns, so the label asked for becomes the expected output. Every
candidate then passes, cheapest check first:

1. local checks (see :mod:`autotune.gen._synth_checks`): too short, table or markup
   debris, fill-in placeholders, assistant chatter, a copy of the task or of the
   prompt's worked example;
2. it must not repeat a few-shot example of a given prompt (similarity above the
   threshold);
3. it must not be a near-duplicate of a case already kept (similarity above the
   threshold; see :mod:`autotune.gen._dedup`);
4. an LLM judge must approve it as realistic and on task (see
   :mod:`autotune.gen._review`) -- if the judge passed calibration on two controls.
   A judge that fails calibration reviews nothing: cases that pass the local checks are
   kept, and the report says they were not reviewed by an LLM.

Discarded candidates are replaced by generating more, until ``n`` cases are kept or
``max_calls`` model calls (generation, calibration and review together) are spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autotune.errors import BudgetExceeded, FatalLLMError, LLMError, UserInputError
from autotune.gen._dedup import SimilarityIndex
from autotune.gen._parse import Candidate, parse_candidates
from autotune.gen._review import CALIBRATION_CALLS, CaseJudge, calibrate
from autotune.gen._synth_checks import LocalChecks
from autotune.gen._synth_prompt import CasePrompt, case_prompt, clean_message
from autotune.gen._synth_report import (
    JUDGE_FAILED,
    JUDGE_REJECTED,
    JUDGE_UNPARSEABLE,
    NEAR_DUPLICATE,
    REPEATS_DEMO,
    UNREVIEWED,
    Discard,
    SynthCase,
    SynthReport,
)
from autotune.llm.base import BaseLLM
from autotune.llm.types import SamplingParams
from autotune.meta._render import clip

__all__ = [
    "JUDGE_FAILED",
    "JUDGE_REJECTED",
    "JUDGE_UNPARSEABLE",
    "NEAR_DUPLICATE",
    "REPEATS_DEMO",
    "UNREVIEWED",
    "Discard",
    "SynthCase",
    "SynthReport",
    "SynthSettings",
    "synthesize_cases",
]

MAX_BARREN_CALLS = 5  # generation calls in a row that yield no candidate before giving up


@dataclass(frozen=True)
class SynthSettings:
    """How :func:`synthesize_cases` samples and filters (see its arguments).

    ``batch_size`` is how many messages one generation call asks for: 1 (the default)
    is what small models follow; capable models can write several per call.
    """

    threshold: float = 0.8
    max_calls: int | None = None
    batch_size: int = 1
    review: bool = True
    temperature: float = 0.9
    max_tokens: int = 160
    judge_max_tokens: int = 48
    seed: int = 0

    def calls_for(self, n: int) -> int:
        """``max_calls``, or by default room for about three candidates per case (plus a
        review of each and the judge's calibration)."""
        if self.max_calls is not None:
            return self.max_calls
        generation = 3 * math.ceil(n / self.batch_size) + 2
        return generation + (2 * n + 2 if self.review else 0)


def synthesize_cases(
    task: str,
    llm: BaseLLM,
    n: int,
    *,
    labels: Sequence[str] = (),
    judge_llm: BaseLLM | None = None,
    exclude: Sequence[str] = (),
    settings: SynthSettings | None = None,
    progress: Callable[[SynthReport], None] | None = None,
) -> SynthReport:
    """Generate ``n`` diverse, reviewed test cases for ``task``.

    Args:
        task: The task in words.
        llm: The model that writes the cases.
        n: How many cases to keep.
        labels: Allowed labels; each case then gets its label as expected output.
        judge_llm: The reviewing model (default ``llm``).
        exclude: Texts the cases must not repeat (a prompt's few-shot examples).
        settings: Threshold, call budget, batch size, sampling.
        progress: Called with the report after every decision.

    Raises:
        UserInputError: An empty task, ``n`` below 1, a bad threshold, budget or labels.
        BudgetExceeded: A budget of ``llm`` itself ran out.
    """
    settings = settings or SynthSettings()
    clean_labels = _check_inputs(task, n, labels, settings)
    judge_llm = judge_llm or llm
    report = SynthReport(task.strip(), clean_labels, n, settings.calls_for(n))
    report.review, report.judge_model = settings.review, judge_llm.name
    judge = CaseJudge(
        judge_llm,
        report.task,
        clean_labels,
        max_tokens=settings.judge_max_tokens,
        seed=settings.seed,
    )
    prompt = case_prompt()
    checks = LocalChecks([report.task, *(e.message for e in prompt.examples)], settings.threshold)
    demos = SimilarityIndex(exclude)
    _Synthesis(report, llm, judge, settings, prompt, checks, demos, progress).run()
    return report


def _check_inputs(
    task: str, n: int, labels: Sequence[str], settings: SynthSettings
) -> tuple[str, ...]:
    checks = [
        (bool(task.strip()), "task", "the task description is empty"),
        (n >= 1, "n", f"must be at least 1, got {n}"),
        (0.0 < settings.threshold <= 1.0, "threshold", "must be in (0, 1]"),
        (settings.max_calls is None or settings.max_calls >= 1, "max_calls", "must be >= 1"),
        (settings.batch_size >= 1, "batch_size", "must be >= 1"),
    ]
    for ok, name, message in checks:
        if not ok:
            raise UserInputError(message, field=name)
    cleaned = tuple(label.strip() for label in labels if label.strip())
    if labels and (len(cleaned) < 2 or len({c.casefold() for c in cleaned}) != len(cleaned)):
        raise UserInputError("give at least two different, non-empty labels", field="labels")
    return cleaned


class _Synthesis:
    """The generate-check-review-replace loop over one report."""

    def __init__(
        self,
        report: SynthReport,
        llm: BaseLLM,
        judge: CaseJudge,
        settings: SynthSettings,
        prompt: CasePrompt,
        checks: LocalChecks,
        demos: SimilarityIndex,
        progress: Callable[[SynthReport], None] | None,
    ) -> None:
        self.report = report
        self.llm = llm
        self.judge = judge
        self.settings = settings
        self.prompt = prompt
        self.checks = checks
        self.demos = demos
        self.kept = SimilarityIndex()
        self.progress = progress

    def run(self) -> None:
        report, barren = self.report, 0
        while not report.complete:
            if report.calls >= report.max_calls:
                report.stopped = f"budget: all {report.max_calls} model calls used"
                return
            candidates = self._generate()
            barren = 0 if candidates else barren + 1
            if barren >= MAX_BARREN_CALLS:
                why = f" (last error: {report.last_error})" if report.last_error else ""
                report.stopped = f"no usable case in {barren} generation calls in a row{why}"
                return
            for candidate in candidates:
                if report.complete:
                    break
                self._consider(candidate)
        report.stopped = "target reached"

    def _generate(self) -> list[Candidate]:
        report = self.report
        label = (
            report.labels[report.generation_calls % len(report.labels)] if report.labels else None
        )
        count = min(self.settings.batch_size, report.requested - report.kept)
        params = SamplingParams(
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens * count,
            seed=self.settings.seed,
            sample_index=report.generation_calls,  # new samples, not cached repeats
        )
        messages = self.prompt.messages(report.task, label=label, count=count)
        report.generation_calls += 1
        try:
            text = self.llm.execute(messages, params).text
        except (BudgetExceeded, FatalLLMError):
            raise  # a spent budget or a wrong key/URL stops the command
        except (LLMError, OSError, ValueError) as exc:
            report.last_error = clip(str(exc), 160)
            return []
        if count == 1:
            message = clean_message(text)
            return [Candidate(message, label)] if message else []
        return [Candidate(c.input, label) for c in parse_candidates(text, report.labels)]

    def _consider(self, candidate: Candidate) -> None:
        reason, detail = self._filter(candidate)
        if not reason:
            reason, detail = self._review(candidate)
        if reason:
            discard = Discard(candidate.input, candidate.expected, reason, detail)
            self.report.discarded.append(discard)
        else:
            self.report.cases.append(SynthCase(candidate.input, candidate.expected))
            self.kept.add(candidate.input)
        if self.progress is not None:
            self.progress(self.report)

    def _filter(self, candidate: Candidate) -> tuple[str, str]:
        """The reason a cheap check rejects ``candidate`` (and what it matched), or ""."""
        reason, detail = self.checks.problem(candidate.input)
        if reason:
            return reason, detail
        threshold = self.settings.threshold
        for reason, index in ((REPEATS_DEMO, self.demos), (NEAR_DUPLICATE, self.kept)):
            match = index.nearest(candidate.input)
            if match is not None and match.similarity > threshold:
                return reason, f"{match.similarity:.2f} similar to {clip(match.text, 80)!r}"
        return "", ""

    def _review(self, candidate: Candidate) -> tuple[str, str]:
        """The judge's reason to discard ``candidate``, or "" to keep it."""
        report = self.report
        if not report.review:
            return "", ""
        if report.calibration is None:
            if report.calls + CALIBRATION_CALLS >= report.max_calls:
                return UNREVIEWED, "no budget left to calibrate the judge"
            self._calibrate()
        if report.calibration is not None and not report.calibration.passed:
            return "", ""  # the judge cannot judge: local checks decide alone
        if report.calls >= report.max_calls:
            return UNREVIEWED, ""
        report.judge_calls += 1
        verdict = self.judge.review(candidate)
        reasons = {
            "keep": "",
            "discard": JUDGE_REJECTED,
            "unparseable": JUDGE_UNPARSEABLE,
            "failed": JUDGE_FAILED,
        }
        return reasons[verdict.outcome], verdict.reply

    def _calibrate(self) -> None:
        example = self.prompt.examples[0]
        self.report.judge_calls += CALIBRATION_CALLS
        self.report.calibration = calibrate(self.judge, (example.task, example.message))
