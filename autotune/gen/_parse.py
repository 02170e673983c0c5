"""Lenient parsing of a generator's answer into candidate test cases.

Small models ignore the requested ``label | text`` layout: they number the lines, use
bullets, bold, quotes, JSON lines or a JSON array, write ``Input: ... / Label: ...``
pairs over two lines, and add chatter before and after. Everything that looks like one
case becomes a :class:`Candidate`; a candidate of a labelled task whose label cannot be
read keeps ``expected=None`` so the caller can count it as discarded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from autotune.metrics.label import canonical_label

MIN_INPUT_WORDS = 2
MAX_INPUT_CHARS = 2000

_INPUT_KEYS = ("input", "text", "email", "message", "question", "query", "review", "ticket")
_EXPECTED_KEYS = ("expected", "label", "output", "answer", "category", "class", "intent")
_KEY_LINE = re.compile(
    r"^(?P<key>" + "|".join(_INPUT_KEYS + _EXPECTED_KEYS) + r")\s*#?\d*\s*[:=]\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_MARKER = re.compile(
    r"^\s*(?:[-*•>]+|\(?\d{1,3}\s*[.):\]]|#{1,6}|(?:test\s+)?(?:case|example)\s*#?\d*\s*[:.)-])\s*",
    re.IGNORECASE,
)
_CHATTER = re.compile(r"^(?:sure|here(?:'s| is| are)|certainly|okay|of course)\b", re.IGNORECASE)
_SIGN_OFF = re.compile(r"^(?:i hope|hope th|let me know|feel free|note:)", re.IGNORECASE)
_ABOUT_CASES = re.compile(r"\b(?:cases?|examples?|inputs?|lines?|tests?)\b", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"


@dataclass(frozen=True)
class Candidate:
    """One generated case: its input text and, for labelled tasks, its label (or None)."""

    input: str
    expected: str | None = None


def parse_candidates(text: str, labels: Sequence[str] = ()) -> list[Candidate]:
    """Every case-like item of ``text``, in order (duplicates are left to the caller)."""
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))
    whole = _json_items(body.strip())
    items = whole if whole is not None else list(_line_items(body, labels))
    found = [_finish(input_text, label, labels) for input_text, label in items]
    return [candidate for candidate in found if candidate is not None]


def _finish(input_text: str, label: str | None, labels: Sequence[str]) -> Candidate | None:
    cleaned = _clean(input_text)[:MAX_INPUT_CHARS]
    if len(re.findall(r"\w+", cleaned)) < MIN_INPUT_WORDS:
        return None
    expected = canonical_label(label, labels) if labels and label is not None else None
    return Candidate(cleaned, expected)


def _json_items(text: str) -> list[tuple[str, str | None]] | None:
    """Items of an answer that is one JSON array (or an object holding one), else None."""
    if not text.startswith(("[", "{")):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list):
        return None
    items = [_from_json(item) for item in data]
    return [item for item in items if item is not None]


def _from_json(item: Any) -> tuple[str, str | None] | None:
    if isinstance(item, str):
        return item, None
    if not isinstance(item, dict):
        return None
    lowered = {str(key).lower(): value for key, value in item.items()}
    text = next((lowered[k] for k in _INPUT_KEYS if isinstance(lowered.get(k), str)), None)
    label = next((lowered[k] for k in _EXPECTED_KEYS if lowered.get(k) is not None), None)
    return None if text is None else (text, None if label is None else str(label))


def _line_items(text: str, labels: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """Items line by line; ``Input:`` / ``Label:`` pairs may span two lines."""
    pending: tuple[str, str | None] | None = None  # an open "Input: ..." item
    for raw in text.splitlines():
        line = _MARKER.sub("", raw.strip().replace("**", "")).strip()
        if not line or _is_chatter(line):
            continue
        key_match = _KEY_LINE.match(line)
        key = key_match.group("key").lower() if key_match else ""
        if key_match is not None and key in _INPUT_KEYS:
            if pending is not None:
                yield _closed(pending, labels)
            pending = (key_match.group("value").strip(), None)
            continue
        if key_match is not None and pending is not None and pending[1] is None:
            pending = (pending[0], key_match.group("value").strip())
            continue
        if pending is not None:
            yield _closed(pending, labels)
            pending = None
        item = _from_json(_json_line(line)) if line.startswith("{") else None
        yield item if item is not None else _split_label(line, labels)
    if pending is not None:
        yield _closed(pending, labels)


def _closed(item: tuple[str, str | None], labels: Sequence[str]) -> tuple[str, str | None]:
    """An ``Input:`` item; without a ``Label:`` line the label may sit on the input line."""
    return item if item[1] is not None else _split_label(item[0], labels)


def _is_chatter(line: str) -> bool:
    if line.endswith(":"):
        return True  # a header such as "Here are the cases:" or "Refund requests:"
    if _SIGN_OFF.match(line):
        return True
    return bool(_CHATTER.match(line) and _ABOUT_CASES.search(line))


def _json_line(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _split_label(line: str, labels: Sequence[str]) -> tuple[str, str | None]:
    """``label | text``, ``text | label``, ``[label] text``, ``text (label)``, ..."""
    if not labels:
        return line, None
    for separator in ("|", "\t"):
        parts = [part.strip() for part in line.split(separator) if part.strip()]
        for index, part in enumerate(parts):
            if len(parts) >= 2 and canonical_label(_clean(part), labels):
                return " ".join(parts[:index] + parts[index + 1 :]), part
    names = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    prefix = r"(?:(?:label|category)\s*[:=]\s*)?"
    patterns = (
        rf"^[\[(<]\s*{prefix}(?P<label>{names})\s*[\])>]\s*[:|=>\-–—]*\s*(?P<text>.+)$",
        rf"^{prefix}(?P<label>{names})\s*[:|=>,\-–—]+\s*(?P<text>.+)$",
        rf"^(?P<text>.+?)\s*[(\[]\s*{prefix}(?P<label>{names})\s*[\])]\s*\.?$",
        rf"^(?P<text>.+?)\s*[|:=>,\-–—]+\s*{prefix}(?P<label>{names})\s*\.?$",
    )
    for pattern in patterns:
        match = re.match(pattern, line, re.IGNORECASE)
        if match is not None:
            return match.group("text"), match.group("label")
    return line, None


def _clean(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat.strip().strip(_QUOTES).strip()
