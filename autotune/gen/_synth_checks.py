"""Cheap local checks on a synthetic case, run before any LLM review.

A small generator leaks its failure modes into the cases: markdown table rows
(``| 1| 2| 4|``), lone numbers, fill-in placeholders (``[Your Name]``), its own
assistant voice ("Sure, here are...", "As an AI...") and copies of the task text or the
prompt's worked example. Each check names the reason it discards a case, so the report
can count them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from autotune.gen._dedup import SimilarityIndex
from autotune.meta._render import clip

TOO_SHORT = "too short"
DEBRIS = "markup or table debris"
PLACEHOLDER = "fill-in placeholder"
CHATTER = "assistant chatter"
COPIES_PROMPT = "copies the task or the prompt's example"

MIN_WORDS = 4
MIN_LETTER_SHARE = 0.6  # letters among the non-space characters
MAX_TABLE_BARS = 1

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_PLACEHOLDER = re.compile(
    r"\[[^\]\n]{1,40}\]|<[^>\n]{1,40}>|\{[^}\n]{1,40}\}|\b(?:lorem ipsum|insert \w+ here)\b",
    re.IGNORECASE,
)
# Openings of an assistant answering, not of a person writing in.
_CHATTER_OPENINGS = (
    r"(?:sure|certainly|of course|great question)\W",
    r"i(?:'d| would) be (?:happy|glad) to\b",
    r"i(?:'m| am) sorry,? (?:but|i)\b",
    r"here(?:'s| is| are) (?:an? |the |some |\d+ |your |my )?(?:\w+ )?"
    r"(?:message|e-?mail|example|case|input|test|text|tweet|review|question)s?\b",
)
# The assistant's (or a support agent's) voice anywhere in the text.
_CHATTER_PHRASES = (
    r"as an ai",
    r"ai (?:assistant|language model|model|chatbot)",
    r"language model",
    r"i(?:'m| am) (?:an? )?(?:ai|chatbot|virtual assistant)\b",
    r"as a (?:customer (?:support|service) (?:agent|team|representative|ai|bot|chatbot)|chatbot)",
    r"i(?:'m| am) here to (?:help|assist)",
    r"how (?:can|may) i (?:help|assist|support) you",
    r"anything else i can (?:help|do)",
    r"i(?:'m| am) (?:happy|glad) to (?:help|assist)",
    r"i(?:'m| am) sorry to hear",
    r"(?:apologi[sz]e|sorry) for (?:any|the) (?:inconvenience|confusion|misunderstanding)",
    r"i (?:can't|cannot|am unable to|'m unable to|am not able to) (?:assist|help|provide)",
    r"(?:we|i)(?:'re|'m| are| am) (?:unable|not able) to assist",
)
_CHATTER_START = re.compile(r"^\W*(?:" + "|".join(_CHATTER_OPENINGS) + ")", re.IGNORECASE)
_CHATTER_ANYWHERE = re.compile(r"\b(?:" + "|".join(_CHATTER_PHRASES) + ")", re.IGNORECASE)


class LocalChecks:
    """The local checks, with the texts a case must not copy.

    Args:
        prompt_texts: The task text and the prompt's worked examples.
        threshold: Similarity above which a case counts as a copy.
    """

    def __init__(self, prompt_texts: Iterable[str], threshold: float) -> None:
        self.prompt_texts = SimilarityIndex(prompt_texts)
        self.threshold = threshold

    def problem(self, text: str) -> tuple[str, str]:
        """The reason ``text`` fails a check and what it matched, or ``("", "")``."""
        found = _shape_problem(text)
        if found[0]:
            return found
        match = self.prompt_texts.nearest(text)
        if match is not None and match.similarity > self.threshold:
            return COPIES_PROMPT, f"{match.similarity:.2f} similar to {clip(match.text, 80)!r}"
        return "", ""


def _shape_problem(text: str) -> tuple[str, str]:
    words = _WORD.findall(text)
    visible = [char for char in text if not char.isspace()]
    letters = sum(char.isalpha() for char in visible)
    if text.count("|") > MAX_TABLE_BARS:
        return DEBRIS, f"{text.count('|')} table bars"
    if letters < MIN_LETTER_SHARE * len(visible):
        return DEBRIS, f"{letters} letters in {len(visible)} characters"
    if len(words) < MIN_WORDS:
        return TOO_SHORT, f"{len(words)} words"
    placeholder = _PLACEHOLDER.search(text)
    if placeholder is not None:
        return PLACEHOLDER, placeholder.group(0)
    chatter = _CHATTER_START.search(text) or _CHATTER_ANYWHERE.search(text)
    if chatter is not None:
        return CHATTER, chatter.group(0)
    return "", ""
