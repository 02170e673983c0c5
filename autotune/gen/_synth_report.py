"""The report of ``synth``: kept cases, discards with their reasons, calls, review status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from autotune.gen._review import Calibration

REPEATS_DEMO = "repeats a few-shot example"
NEAR_DUPLICATE = "near-duplicate"
JUDGE_REJECTED = "judged unrealistic or off-task"
JUDGE_UNPARSEABLE = "judge unparseable"
JUDGE_FAILED = "judge call failed"
UNREVIEWED = "budget ran out before review"


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
    """What :func:`synthesize_cases` produced and spent.

    ``review`` is whether an LLM review was asked for; ``calibration`` holds the judge's
    verdicts on the two controls once asked (None before). ``reviewed`` is true only when
    the judge passed calibration, i.e. when the kept cases were approved by an LLM.
    """

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
    review: bool = True
    judge_model: str = ""
    calibration: Calibration | None = None

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

    @property
    def reviewed(self) -> bool:
        """Whether the kept cases were approved by a calibrated LLM judge."""
        return self.review and self.calibration is not None and self.calibration.passed

    def reasons(self) -> dict[str, int]:
        """Discards per reason, most frequent first."""
        return dict(Counter(d.reason for d in self.discarded).most_common())

    def review_warning(self) -> str:
        """Why the kept cases were not reviewed by an LLM though review was asked ("" if
        they were, or if review was off)."""
        if not self.review or self.calibration is None or self.calibration.passed:
            return ""
        return (
            f"judge {self.judge_model} failed calibration ({self.calibration.detail}); "
            "cases were not reviewed by an LLM — pass --judge-model <a stronger model> "
            "to review"
        )

    def review_line(self) -> str:
        """One line on the LLM review of this run."""
        if not self.review:
            return "review: off (cases passed the local checks only)"
        if self.calibration is None:
            return "review: not run (no candidate reached it)"
        if self.calibration.passed:
            return f"review: judge {self.judge_model} passed calibration and reviewed the cases"
        return f"review: skipped: {self.review_warning()}"

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"generated {self.generated} candidates in {self.calls} model calls "
            f"({self.generation_calls} generation, {self.judge_calls} review; "
            f"budget {self.max_calls}): kept {self.kept} of {self.requested}, "
            f"discarded {len(self.discarded)}"
        ]
        lines += [f"  {reason}: {count}" for reason, count in self.reasons().items()]
        lines.append(self.review_line())
        lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)
