"""Synthetic test cases: generate, review, replace until N are kept or the budget ends.

Each generation call asks the model for a batch of new inputs (with their label when
the task has labels). Every candidate then passes, cheapest check first:

1. a labelled task needs a readable, allowed label;
2. it must not repeat a few-shot example of a given prompt (similarity above the
   threshold);
3. it must not be a near-duplicate of a case already kept (similarity above the
   threshold; see :mod:`autotune.gen._dedup`);
4. an LLM judge must approve it as realistic and on task (see :mod:`autotune.gen._review`).

Discarded candidates are replaced by generating more, until ``n`` cases are kept or
``max_calls`` model calls (generation and review together) are spent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from autotune.errors import BudgetExceeded, LLMError, UserInputError
from autotune.gen._dedup import SimilarityIndex
from autotune.gen._parse import Candidate, parse_candidates
from autotune.gen._review import CaseJudge
from autotune.llm.base import BaseLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta._render import clip, render_template

NO_LABEL = "no valid label"
REPEATS_DEMO = "repeats a few-shot example"
NEAR_DUPLICATE = "near-duplicate"
JUDGE_REJECTED = "judged unrealistic or off-task"
JUDGE_UNPARSEABLE = "judge unparseable"
JUDGE_FAILED = "judge call failed"
UNREVIEWED = "budget ran out before review"
MAX_BARREN_CALLS = 3  # generation calls in a row that yield no candidate before giving up
AVOID_SHOWN = 3


@dataclass(frozen=True)
class SynthCase:
    """A kept case: the input text and, for labelled tasks, its label."""

    input: str
    expected: str | None = None


@dataclass(frozen=True)
class Discard:
    """A discarded candidate, why, and what it resembled or what the judge said."""

    input: str
    expected: str | None
    reason: str
    detail: str = ""


@dataclass
class SynthReport:
    """What :func:`synthesize_cases` produced and spent."""

    task: str
    labels: tuple[str, ...]
    requested: int
    max_calls: int
    cases: list[SynthCase] = field(default_factory=list)
    discarded: list[Discard] = field(default_factory=list)
    generation_calls: int = 0
    judge_calls: int = 0
    stopped: str = ""
    last_error: str = ""

    @property
    def calls(self) -> int:
        return self.generation_calls + self.judge_calls

    @property
    def kept(self) -> int:
        return len(self.cases)

    @property
    def generated(self) -> int:
        """Candidates considered: kept plus discarded."""
        return self.kept + len(self.discarded)

    @property
    def complete(self) -> bool:
        return self.kept >= self.requested

    def reasons(self) -> dict[str, int]:
        """Discards per reason, most frequent first."""
        return dict(Counter(d.reason for d in self.discarded).most_common())

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"generated {self.generated} candidates in {self.calls} model calls "
            f"({self.generation_calls} generation, {self.judge_calls} review; "
            f"budget {self.max_calls}): kept {self.kept} of {self.requested}, "
            f"discarded {len(self.discarded)}"
        ]
        lines += [f"  {reason}: {count}" for reason, count in self.reasons().items()]
        lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SynthSettings:
    """How :func:`synthesize_cases` samples and filters (see its arguments)."""

    threshold: float = 0.8
    max_calls: int | None = None
    batch_size: int = 8
    review: bool = True
    temperature: float = 0.9
    max_tokens: int = 512
    judge_max_tokens: int = 48
    seed: int = 0

    def calls_for(self, n: int) -> int:
        """``max_calls``, or by default enough for every case to be replaced twice."""
        if self.max_calls is not None:
            return self.max_calls
        batches = math.ceil(n / self.batch_size)
        return 3 * (n + batches) if self.review else 3 * batches + 2


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
    report = SynthReport(task.strip(), clean_labels, n, settings.calls_for(n))
    judge = CaseJudge(
        judge_llm or llm,
        report.task,
        clean_labels,
        max_tokens=settings.judge_max_tokens,
        seed=settings.seed,
    )
    run = _Synthesis(report, llm, judge, settings, SimilarityIndex(exclude), progress)
    run.run()
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
    """The generate-review-replace loop over one report."""

    def __init__(
        self,
        report: SynthReport,
        llm: BaseLLM,
        judge: CaseJudge,
        settings: SynthSettings,
        demos: SimilarityIndex,
        progress: Callable[[SynthReport], None] | None,
    ) -> None:
        self.report = report
        self.llm = llm
        self.judge = judge
        self.settings = settings
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
        params = SamplingParams(
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            seed=self.settings.seed,
            sample_index=report.generation_calls,  # new samples, not cached repeats
        )
        request = [Message("user", self._request_text())]
        report.generation_calls += 1
        try:
            text = self.llm.execute(request, params).text
        except BudgetExceeded:
            raise
        except (LLMError, OSError, ValueError) as exc:
            report.last_error = clip(str(exc), 160)
            return []
        return parse_candidates(text, report.labels)

    def _request_text(self) -> str:
        report = self.report
        count = min(self.settings.batch_size, report.requested - report.kept)
        label_rule = line_format = ""
        if report.labels:
            label_rule = f"Each case needs its correct label, one of: {', '.join(report.labels)}.\n"
            line_format = "Write one case per line as: label | input text."
        else:
            line_format = "Write one input per line."
        recent = [clip(case.input, 120) for case in report.cases[-AVOID_SHOWN:]]
        avoid = "".join(f"\n- {text}" for text in recent)
        return render_template(
            "synth_cases.md",
            task=report.task,
            label_rule=label_rule,
            count=str(count),
            avoid=f"\nDo not repeat these cases already written:{avoid}" if avoid else "",
            line_format=line_format,
        )

    def _consider(self, candidate: Candidate) -> None:
        reason, detail = self._filter(candidate)
        if not reason and self.settings.review:
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
        if self.report.labels and candidate.expected is None:
            return NO_LABEL, ""
        threshold = self.settings.threshold
        for reason, index in ((REPEATS_DEMO, self.demos), (NEAR_DUPLICATE, self.kept)):
            match = index.nearest(candidate.input)
            if match is not None and match.similarity > threshold:
                return reason, f"{match.similarity:.2f} similar to {clip(match.text, 80)!r}"
        return "", ""

    def _review(self, candidate: Candidate) -> tuple[str, str]:
        report = self.report
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
