"""Text helpers shared by the metrics: normalizing, number and JSON extraction.

Every function here must accept any string (empty, huge, odd Unicode) without raising:
metrics score model output, and a model's bad answer is a low score, not a crash.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from typing import Any

_WHITESPACE = re.compile(r"\s+")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# A number, optionally negative ("-" not glued to a word, as in "COVID-19"), optionally
# after "$", with thousands separators ("1,250") or decimals ("3.5", ".5").
_NUMBER = re.compile(
    r"(?P<sign>(?<![0-9A-Za-z])[-−])?\s*\$?\s*"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
# How many "{" / "[" positions to try before giving up on finding JSON; bounds the cost
# on long rambling answers full of brackets.
_MAX_JSON_STARTS = 64


def _strip_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)


def normalize_text(text: str) -> str:
    """Casefold, punctuation to spaces, whitespace collapsed: ``" Hi, You! "`` -> ``hi you``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", _strip_punctuation(text)).strip()


def squad_tokens(text: str) -> list[str]:
    """SQuAD-style answer tokens: lowercased, no punctuation, no articles."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = _strip_punctuation(text)
    return _ARTICLES.sub(" ", text).split()


def find_numbers(text: str) -> list[float]:
    """Every number in ``text``, in order, as floats (``"$1,250.50"`` -> 1250.5)."""
    numbers: list[float] = []
    for match in _NUMBER.finditer(text):
        try:
            value = float(match.group("digits").replace(",", ""))
        except ValueError:  # pragma: no cover - the regex only admits digit strings
            continue
        numbers.append(-value if match.group("sign") else value)
    return numbers


def parse_number(value: Any) -> float | None:
    """A number from an int/float or a string holding exactly one number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        numbers = find_numbers(value)
        if len(numbers) == 1:
            return numbers[0]
    return None


def _decode_at(text: str, start: int) -> Any:
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict | list) else None


def find_json(text: str) -> Any:
    """The first JSON object or array in ``text``, or None.

    Lenient about what surrounds it: code fences, a sentence before, text after.
    """
    for block in _FENCE.findall(text):
        stripped = block.strip()
        if stripped[:1] in ("{", "["):
            value = _decode_at(stripped, 0)
            if value is not None:
                return value
    tried = 0
    for index, char in enumerate(text):
        if char in "{[":
            value = _decode_at(text, index)
            if value is not None:
                return value
            tried += 1
            if tried >= _MAX_JSON_STARTS:
                break
    return None


def shorten(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters, for score reasons."""
    flat = _WHITESPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
