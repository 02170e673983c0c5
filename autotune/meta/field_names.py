"""The task's own words for one input and for its answer, read from its instruction.

They name the fields of a form-like framing ("Review: {text}\\nSentiment:"), the way
DSPy's adapters frame a signature's named fields. The words are read, not generated: the
135M Meta-LLM, asked to choose them from the task's nouns, picked the first one listed
or swapped the two on both SST-2 and AG News (a probe of 24 samples).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_DETERMINERS = frozenset({"this", "each", "every", "a", "an", "the"})
# Words that end a noun phrase ("a review *is* positive", "this article *as* World").
_STOPS = frozenset(
    re.findall(
        r"\w+",
        "is are was be as or and of to into from with for in on by at that which whether "
        "about using if than then so but not",
    )
)
# Heads that name no input: "the answer is one label", "each word".
_GENERIC = frozenset(re.findall(r"\w+", "answer answers label labels output word words one"))
_WORD = re.compile(r"[a-z]+")
# Whole runs of letters, so "résumé" stays one word (and is no name) instead of "r".
_TOKEN = re.compile(r"[^\W\d_]+|\S")
_MAX_PHRASE = 3


@dataclass(frozen=True)
class FieldNames:
    """What one input is called (``review``) and what its answer is (``sentiment``)."""

    input: str
    answer: str | None = None


def field_names(texts: Sequence[str], labels: Sequence[str] = ()) -> FieldNames | None:
    """The first input and answer names found in ``texts`` (the instruction first).

    An answer is "the X of ..." ("the sentiment of this review"); an input is any other
    phrase after a determiner ("this movie review", "a news article"), named by its
    last word. A label or a generic word is never a name. ``None`` without an input name.
    """
    banned = {label.lower() for label in labels} | _GENERIC
    inputs: list[str] = []
    answers: list[str] = []
    for text in texts:
        for head, before_of in _phrases(text.lower()):
            if head in banned:
                continue
            (answers if before_of else inputs).append(head)
    answer = answers[0] if answers else None
    found = [word for word in inputs if word != answer]
    return FieldNames(found[0], answer) if found else None


def _phrases(text: str) -> list[tuple[str, bool]]:
    """Each determiner's noun phrase in ``text``: its last word, and whether "of" follows
    a phrase opened by "the" (then it names a property of the input, not the input)."""
    tokens = _TOKEN.findall(text)
    found = []
    for index, token in enumerate(tokens):
        if token not in _DETERMINERS:
            continue
        words = []
        for word in tokens[index + 1 : index + 1 + _MAX_PHRASE]:
            # A name must be a plain word: "à" is alphabetic but no [a-z] run (CI found it).
            if not _WORD.fullmatch(word) or word in _STOPS or word in _DETERMINERS:
                break
            words.append(word)
        if not words:
            continue
        after = tokens[index + 1 + len(words)] if index + 1 + len(words) < len(tokens) else ""
        found.append((words[-1], token == "the" and after == "of"))
    return found


def named_template(template: str, names: FieldNames) -> str:
    """``template`` as a form: the input field, then the answer field's cue."""
    answer = names.answer or "answer"
    return f"{names.input.capitalize()}: {template.strip()}\n{answer.capitalize()}:"
