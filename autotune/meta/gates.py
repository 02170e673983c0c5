"""Gates a Meta-LLM edit must pass before it is ever scored.

A small Meta-LLM writes chatter ("Sure! Here is...", "P.S.", "The sentence is three of
the 80 sentences in the prompt") and text about nothing the task is about. Scoring such
an edit wastes calls and, worse, lets junk ride along in a winner when the demos carry
the score. So an edit is rejected, with a reason that is counted and shown, when it
carries chat debris or shares no content word with the task.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

_DEBRIS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "chat reply",
        re.compile(
            r"\b(sure|certainly|here is|here's|hope this|let me know|feel free|as an ai|"
            r"i'?m sorry|i am sorry|i cannot|i can't|happy to help|glad to|thank you|thanks|"
            r"good luck|hello|hi there|dear)\b",
            re.IGNORECASE,
        ),
    ),
    ("postscript", re.compile(r"\bp\.\s?s\.?(?=\s|$)", re.IGNORECASE)),
    ("markup", re.compile(r"```|#|\*\*|<[a-z/]|https?://|www\.|@\w")),
    (
        "talk about the prompt",
        re.compile(
            r"\b(this|the|above|following|my|your) (prompt|instructions?|conversation)\b",
            re.IGNORECASE,
        ),
    ),
    ("first person", re.compile(r"\b(I|me|my|mine|I'm|I've|I'll|we|our)\b")),
    ("question", re.compile(r"\?")),
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# Words that say nothing about a task; "texts are about" comes from a forced prefix.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does for from has have how if in into
    is it its may more most must no not of on one only or other so some such than that the
    their them then there these they this those to too very was what when where which while
    who why will with would you your about also each every just like make makes say says
    text texts answer answers write given should""".split()  # noqa: SIM905 - a word list reads better as text
)
MAX_WORD_CHARS = 20
STEM_CHARS = 5


@dataclass(frozen=True)
class GateVerdict:
    """Whether an edit may be scored, and if not, why."""

    ok: bool
    reason: str = ""


def stem(word: str) -> str:
    """A truncation stem: the first five letters ("movies"/"movie", "reviews"/"review",
    "classifying"/"classify" meet); crude, but a relevance gate needs no more."""
    return word.lower().strip("'-")[:STEM_CHARS]


def content_words(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stopwords, no short words)."""
    return {stem(w) for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in STOPWORDS}


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """The content words of everything the task is about (description, labels, inputs)."""
    found: set[str] = set()
    for text in texts:
        found |= content_words(text)
    return frozenset(found)


def debris(text: str) -> str:
    """The kind of chat debris in ``text``, or ``""``."""
    for name, pattern in _DEBRIS:
        if pattern.search(text):
            return name
    words = [w.lower() for w in _WORD.findall(text)]
    if any(len(w) > MAX_WORD_CHARS for w in words):
        return "run-together words"
    if any(a == b == c for a, b, c in zip(words, words[1:], words[2:], strict=False)):
        return "repetition"
    long_words = [w for w in words if len(w) > 3 and w not in STOPWORDS]
    if long_words and max(long_words.count(w) for w in long_words) >= 4:
        return "repetition"
    pairs = list(itertools.pairwise(words))
    if pairs and max(pairs.count(pair) for pair in pairs) >= 3:
        return "repetition"
    return ""


def check_edit(
    text: str, task_vocabulary: frozenset[str] | None, *, min_words: int = 3
) -> GateVerdict:
    """Reject empty or tiny edits, chat debris, and text sharing no word with the task.

    ``task_vocabulary=None`` skips the relevance check (a Persona names a role, which
    rarely shares a word with the task: "You are a careful editor").
    """
    words = _WORD.findall(text)
    if len(words) < min_words:
        return GateVerdict(False, f"too short ({len(words)} words)")
    kind = debris(text)
    if kind:
        return GateVerdict(False, f"chat debris ({kind})")
    if task_vocabulary is not None and not content_words(text) & task_vocabulary:
        return GateVerdict(False, "off-task (no word in common with the task)")
    return GateVerdict(True)
