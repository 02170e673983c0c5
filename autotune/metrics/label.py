"""The ``label`` metric: pull one allowed label out of a chatty classification answer."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from autotune.errors import ConfigError
from autotune.llm.stop import StopRule
from autotune.metrics._options import MetricOptions
from autotune.metrics._text import shorten
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case

# Markdown and quoting a model wraps answers in: "**Positive**", "`negative`", "'world'".
_DECORATION = re.compile(r"[*_`#>\"'“”‘’\[\]()]+")
_LABEL_SEPARATORS = re.compile(r"[\s_\-/&]+")
_PLAIN_PART = re.compile(r"[^\W_]+")
# Characters no plain label can match across (ASCII, never composed with what follows
# under NFKC). Whitespace joins the words of a multi-word label, so it breaks only
# single-word label sets.
_BREAKS = ".,!?:;"
_SPACE_BREAKS = " \t\r\n"


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _DECORATION.sub(" ", text)


def _label_pattern(label: str) -> re.Pattern[str]:
    """A whole-word pattern for a label; ``sci_tech`` also matches "Sci/Tech", "sci-tech"."""
    parts = [re.escape(part) for part in _LABEL_SEPARATORS.split(label.casefold()) if part]
    body = r"[\s_\-/&]*".join(parts) if parts else re.escape(label.casefold())
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])")


def extract_label(text: str, labels: Sequence[str]) -> str | None:
    """The allowed label a free-text answer names, or None.

    Heuristic, in order: the answer is exactly a label; the answer starts with a label;
    otherwise the label mentioned first as a whole word (the longest one if two start at
    the same place). Never raises.
    """
    if not labels:
        return None
    cleaned = _clean(text)
    stripped = cleaned.strip(" \t\r\n.:;,!?-")
    patterns = [(label, _label_pattern(label)) for label in labels if label.strip()]
    for label, pattern in patterns:
        if pattern.fullmatch(stripped):
            return label
    best: tuple[int, int, str] | None = None
    for label, pattern in patterns:
        match = pattern.search(cleaned)
        if match is None:
            continue
        key = (match.start(), -(match.end() - match.start()), label)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best else None


@dataclass(frozen=True)
class LabelDecided(StopRule):
    """Decided once a complete allowed label is followed by a character no label can
    span (``.``, ``,``, a newline, ...).

    Why that is sound: every label match starting before that character ends before
    it, so the first-mentioned label (earliest start, longest there) is final; and for
    plain labels (words of letters and digits) the exact-match step of
    :func:`extract_label` always agrees with the first mention. Build it with
    :func:`label_stop_rule`, which refuses label sets where that argument fails.
    """

    kind: ClassVar[str] = "label"
    labels: tuple[str, ...]

    def decided(self, text: str) -> bool:
        patterns, breaks = _decision_tools(self.labels)
        cleaned = _clean(text)
        ends = [match.end() for p in patterns if (match := p.search(cleaned)) is not None]
        return bool(ends) and any(char in breaks for char in cleaned[min(ends) :])


def label_stop_rule(labels: Sequence[str]) -> LabelDecided | None:
    """The early-stop rule of :func:`extract_label` for ``labels``, or None when a label
    is not plain (parts of letters and digits, unchanged by NFKC)."""
    for label in labels:
        folded = label.casefold()
        if unicodedata.normalize("NFKC", folded) != folded:
            return None
        parts = [part for part in _LABEL_SEPARATORS.split(folded) if part]
        if not parts or not all(_PLAIN_PART.fullmatch(part) for part in parts):
            return None
    return LabelDecided(tuple(labels))


@functools.cache
def _decision_tools(labels: tuple[str, ...]) -> tuple[list[re.Pattern[str]], frozenset[str]]:
    patterns = [_label_pattern(label) for label in labels if label.strip()]
    multiword = any(
        len([part for part in _LABEL_SEPARATORS.split(label.casefold()) if part]) > 1
        for label in labels
    )
    breaks = set(_BREAKS if multiword else _BREAKS + _SPACE_BREAKS)
    breaks -= set("".join(labels).casefold())
    return patterns, frozenset(breaks)


def canonical_label(value: Any, labels: Sequence[str]) -> str | None:
    """The allowed label ``value`` spells (ignoring case and separators), or None."""
    text = str(value)
    for label in labels:
        if label.strip() and _label_pattern(label).fullmatch(_clean(text).strip()):
            return label
    return None


class _LabelOptions(MetricOptions):
    labels: list[str] | None = None


@register_metric("label")
class LabelMatch(BaseMetric):
    """1 when the label extracted from the output is the expected label.

    Labels come from the metric option ``labels`` or else the benchmark's ``labels``.
    """

    def __init__(self, labels: Sequence[str]) -> None:
        cleaned = [str(label).strip() for label in labels]
        if not cleaned or any(not label for label in cleaned):
            raise ConfigError("the label metric needs a non-empty list of labels", field="labels")
        self.labels = tuple(cleaned)
        self._stop_rule = label_stop_rule(self.labels)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> LabelMatch:
        parsed = _LabelOptions.model_validate(options)
        return cls(parsed.labels if parsed.labels is not None else context.labels)

    def stop_rule(self, case: Case) -> StopRule | None:
        return self._stop_rule

    def answer_choices(self, case: Case) -> tuple[str, ...] | None:
        return self.labels

    def score(self, output: str, case: Case) -> Score:
        if case.expected is None:
            return Score(0.0, "case has no expected label")
        expected = canonical_label(case.expected, self.labels) or str(case.expected)
        found = extract_label(output, self.labels)
        if found is None:
            return Score(0.0, f"no allowed label in {shorten(output, 40)!r}")
        if found == expected:
            return Score(1.0)
        return Score(0.0, f"answered {found!r}, expected {expected!r}")
