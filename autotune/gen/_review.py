"""The LLM review of synthetic cases: realistic, on task, correctly labelled?

The judge is asked to start its reply with KEEP or DISCARD. Parsing is lenient: a
``Verdict: keep`` line anywhere, or a verdict word (keep, accept, valid, realistic,
discard, reject, off-task, ...) among the reply's first words, optionally negated
("not realistic"), or a leading yes/no. A reply with none of these is *unparseable*:
the case is discarded, because a case nobody approved must not pass a quality gate
(the report counts these, so a judge that cannot follow the format is visible).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from autotune.errors import BudgetExceeded, LLMError
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
    r"^\W*(?:verdict|decision|answer|result)\W*[:=-]\W*(?P<word>[a-z-]+)", re.IGNORECASE | re.M
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
    return _STRONG.get(word, _WEAK.get(word))


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
        expected = f"Expected label: {candidate.expected}\n" if candidate.expected else ""
        point = ""
        if self.labels:
            allowed = ", ".join(self.labels)
            point = f"- Correct: the expected label is right for the input (labels: {allowed}).\n"
        text = render_template(
            "synth_review.md",
            task=self.task,
            input=clip(candidate.input, 600),
            expected_line=expected,
            label_point=point,
        )
        return [Message("user", text)]

    def review(self, candidate: Candidate) -> Verdict:
        """One judge call; a failed call is a ``failed`` verdict, budgets propagate."""
        try:
            reply = self.llm.execute(self.request(candidate), self.params).text
        except BudgetExceeded:
            raise
        except (LLMError, OSError, ValueError) as exc:
            return Verdict("failed", clip(str(exc), 160))
        keep = parse_verdict(reply)
        outcome: Outcome = "unparseable" if keep is None else ("keep" if keep else "discard")
        return Verdict(outcome, clip(reply, 160))
