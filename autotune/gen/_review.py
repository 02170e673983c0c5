"""The LLM review of synthetic cases: realistic, on task, correctly labelled?

The judge is asked to reply KEEP or DISCARD. Parsing is lenient: a ``Verdict: keep``
line anywhere, or a verdict word (keep, accept, valid, realistic, discard, reject,
off-task, ...) among the reply's first words, optionally negated ("not realistic"), or a
leading yes/no. A reply with none of these is *unparseable*: the case is discarded,
because a case nobody approved must not pass a quality gate.

A judge too weak to judge (the embedded 135M model answers "No, the text is not
realistic..." for every input) would discard everything, so :func:`calibrate` first asks
it about two controls whose verdicts are known: a clearly on-task case (a worked example
of the generation template, with its own task) and a clearly off-task one (a fixed
sentence sharing no word with the task). Only a judge that keeps the first and discards
the second reviews the run's cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from autotune.errors import BudgetExceeded, FatalLLMError, LLMError
from autotune.gen._parse import Candidate
from autotune.llm.base import BaseLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta._render import clip, render_template

VERDICT_WINDOW_WORDS = 12
# Decision words first, then words a judge uses when it echoes the rubric instead.
_KEEP_WORDS = ("keep", "kept", "accept", "accepted", "approve", "approved")
_DISCARD_WORDS = ("discard", "discarded", "reject", "rejected", "drop")
_STRONG: dict[str, bool] = {
    **dict.fromkeys(_KEEP_WORDS, True),
    **dict.fromkeys(_DISCARD_WORDS, False),
}
_WEAK: dict[str, bool] = {"valid": True, "realistic": True, "invalid": False,
                          "unrealistic": False, "off-task": False}  # fmt: skip
_NEGATIONS = {"not", "don't", "dont", "never", "shouldn't"}
_LABELLED = re.compile(
    r"^\W*(?:verdict|decision|answer|result|reply)\W*[:=-]\W*(?P<word>[a-z-]+)", re.I | re.M
)
_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")

Outcome = Literal["keep", "discard", "unparseable", "failed"]


@dataclass(frozen=True)
class Verdict:
    """The judge's decision on one case and its own words (clipped)."""

    outcome: Outcome
    reply: str = ""


def parse_verdict(text: str) -> bool | None:
    """True (keep), False (discard) or None (no verdict can be read) from a judge reply."""
    labelled = _LABELLED.search(text)
    if labelled is not None:
        found = _polarity(labelled.group("word").lower())
        if found is not None:
            return found
    words: list[str] = _WORD.findall(text.lower())[:VERDICT_WINDOW_WORDS]
    for table in (_STRONG, _WEAK):
        for index, word in enumerate(words):
            if word in table:
                negated = any(w in _NEGATIONS for w in words[max(0, index - 2) : index])
                return table[word] != negated
    if words and words[0] in {"yes", "no"}:
        return words[0] == "yes"
    return None


def _polarity(word: str) -> bool | None:
    return _STRONG.get(word, _WEAK.get(word, {"yes": True, "no": False}.get(word)))


class CaseJudge:
    """Asks a model whether a candidate case is realistic, on task and correctly labelled.

    Args:
        llm: The judge model.
        task: The task in words.
        labels: The allowed labels (empty for tasks without expected outputs).
        max_tokens: Length of the judge's reply (the verdict comes first).
        seed: Sampling seed.
    """

    def __init__(
        self,
        llm: BaseLLM,
        task: str,
        labels: tuple[str, ...] = (),
        *,
        max_tokens: int = 48,
        seed: int = 0,
    ) -> None:
        self.llm = llm
        self.task = task
        self.labels = labels
        self.params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=seed)

    def request(self, candidate: Candidate) -> list[Message]:
        """The judge's messages for one candidate."""
        expected = f"Label: {candidate.expected}\n" if candidate.expected else ""
        question = ""
        if self.labels:
            question = f", with the right label (one of: {', '.join(self.labels)})"
        text = render_template(
            "synth_review.md",
            task=self.task,
            input=clip(candidate.input, 600),
            expected_line=expected,
            label_question=question,
        )
        return [Message("user", text)]

    def review(self, candidate: Candidate) -> Verdict:
        """One judge call; a failed call is a ``failed`` verdict, budgets propagate."""
        try:
            reply = self.llm.execute(self.request(candidate), self.params).text
        except (BudgetExceeded, FatalLLMError):
            raise  # a spent budget or a wrong key/URL stops the command
        except (LLMError, OSError, ValueError) as exc:
            return Verdict("failed", clip(str(exc), 160))
        keep = parse_verdict(reply)
        outcome: Outcome = "unparseable" if keep is None else ("keep" if keep else "discard")
        return Verdict(outcome, clip(reply, 160))


# Clearly off-task for most tasks; the one used shares no content word with the task.
OFF_TASK_CONTROLS = (
    "What time does the last train to the airport leave on Sundays?",
    "Can you recommend a good recipe for banana bread with walnuts?",
    "How many moons does the planet Jupiter have?",
)
_CONTENT_WORD = re.compile(r"[a-z]{4,}")
CALIBRATION_CALLS = 2


@dataclass(frozen=True)
class Calibration:
    """Whether the judge kept the on-task control and discarded the off-task one."""

    passed: bool
    on_task: Verdict
    off_task: Verdict

    @property
    def detail(self) -> str:
        """Both verdicts, e.g. ``on-task control: discard ('No, ...'); off-task ...``."""
        return "; ".join(
            f"{name} control: {verdict.outcome} ({clip(verdict.reply, 60)!r})"
            for name, verdict in (("on-task", self.on_task), ("off-task", self.off_task))
        )


def off_task_control(task: str) -> str:
    """The first control sentence with no content word in common with ``task``."""
    task_words = set(_CONTENT_WORD.findall(task.lower()))
    for control in OFF_TASK_CONTROLS:
        if not task_words & set(_CONTENT_WORD.findall(control.lower())):
            return control
    return OFF_TASK_CONTROLS[-1]


def calibrate(judge: CaseJudge, on_task_example: tuple[str, str]) -> Calibration:
    """Ask ``judge`` about two controls (two calls; failures count as failed calibration).

    Args:
        judge: The judge of the run (its task and labels frame the off-task control).
        on_task_example: ``(task, message)`` of a known-good case for another task.
    """
    example_task, message = on_task_example
    params = judge.params
    example_judge = CaseJudge(
        judge.llm, example_task, max_tokens=params.max_tokens, seed=params.seed or 0
    )
    on_task = example_judge.review(Candidate(message))
    label = judge.labels[0] if judge.labels else None
    off_task = judge.review(Candidate(off_task_control(judge.task), label))
    passed = on_task.outcome == "keep" and off_task.outcome == "discard"
    return Calibration(passed, on_task, off_task)
