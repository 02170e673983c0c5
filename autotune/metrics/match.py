"""String-matching metrics: exact, normalized, contains, not_contains, regex."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from autotune.errors import ConfigError
from autotune.llm.stop import StopRule
from autotune.metrics._options import MetricOptions
from autotune.metrics._text import normalize_text, shorten
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case

_NO_EXPECTED = Score(0.0, "case has no expected output")


def _mismatch(output: str, expected: str) -> Score:
    return Score(0.0, f"got {shorten(output)!r}, expected {shorten(expected)!r}")


@dataclass(frozen=True)
class CannotEqual(StopRule):
    """Decided once ``text.strip()`` can no longer become ``expected`` (score 0 for good)."""

    kind: ClassVar[str] = "cannot_equal"
    expected: str

    def decided(self, text: str) -> bool:
        start = text.lstrip()
        return not (self.expected.startswith(start) or start.rstrip() == self.expected)


@dataclass(frozen=True)
class CannotEqualNormalized(StopRule):
    """Decided once ``normalize_text(text)`` can no longer become ``target``.

    Appending text can change the last normalized character (a combining accent
    joins it), never the ones before it when that character is ASCII.
    """

    kind: ClassVar[str] = "cannot_equal_normalized"
    target: str

    def decided(self, text: str) -> bool:
        normalized = normalize_text(text)
        if not normalized or not normalized[-1].isascii():
            return False
        return not self.target.startswith(normalized[:-1])


@dataclass(frozen=True)
class AllPresent(StopRule):
    """Decided once every needle occurs in the text: later text cannot remove one."""

    kind: ClassVar[str] = "all_present"
    needles: tuple[str, ...]
    case_sensitive: bool = False

    def decided(self, text: str) -> bool:
        haystack = text if self.case_sensitive else text.casefold()
        return all(needle in haystack for needle in self.needles)


@register_metric("exact")
class ExactMatch(BaseMetric):
    """1 when the output equals the expected text after stripping outer whitespace."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> ExactMatch:
        MetricOptions.model_validate(options)
        return cls()

    def stop_rule(self, case: Case) -> StopRule | None:
        return None if case.expected is None else CannotEqual(str(case.expected).strip())

    def score(self, output: str, case: Case) -> Score:
        if case.expected is None:
            return _NO_EXPECTED
        expected = str(case.expected).strip()
        if output.strip() == expected:
            return Score(1.0)
        return _mismatch(output, expected)


@register_metric("normalized")
class NormalizedMatch(BaseMetric):
    """Like ``exact`` but blind to case, punctuation and runs of whitespace."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> NormalizedMatch:
        MetricOptions.model_validate(options)
        return cls()

    def stop_rule(self, case: Case) -> StopRule | None:
        if case.expected is None:
            return None
        return CannotEqualNormalized(normalize_text(str(case.expected)))

    def score(self, output: str, case: Case) -> Score:
        if case.expected is None:
            return _NO_EXPECTED
        expected = str(case.expected)
        if normalize_text(output) == normalize_text(expected):
            return Score(1.0)
        return _mismatch(output, expected)


class _ContainsOptions(MetricOptions):
    value: str | list[str] | None = None
    case_sensitive: bool = False


class _SubstringMetric(BaseMetric):
    """Shared part of ``contains`` / ``not_contains``: which texts to look for."""

    def __init__(self, value: str | list[str] | None = None, case_sensitive: bool = False):
        self.values = [value] if isinstance(value, str) else value
        self.case_sensitive = case_sensitive

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> BaseMetric:
        parsed = _ContainsOptions.model_validate(options)
        return cls(parsed.value, parsed.case_sensitive)

    def _needles(self, case: Case) -> list[str] | None:
        if self.values is not None:
            needles = self.values
        elif case.expected is None:
            return None
        elif isinstance(case.expected, list):
            needles = [str(item) for item in case.expected]
        else:
            needles = [str(case.expected)]
        return needles if self.case_sensitive else [n.casefold() for n in needles]

    def _haystack(self, output: str) -> str:
        return output if self.case_sensitive else output.casefold()

    def stop_rule(self, case: Case) -> StopRule | None:
        # Both scores are final once every needle is present (1 for contains, 0 for
        # not_contains): text only grows.
        needles = self._needles(case)
        return None if needles is None else AllPresent(tuple(needles), self.case_sensitive)


@register_metric("contains")
class Contains(_SubstringMetric):
    """1 when the output contains the option ``value`` (or every item of a list);
    without ``value``, the expected output. Case-insensitive unless ``case_sensitive``."""

    def score(self, output: str, case: Case) -> Score:
        needles = self._needles(case)
        if needles is None:
            return _NO_EXPECTED
        haystack = self._haystack(output)
        missing = [n for n in needles if n not in haystack]
        if not missing:
            return Score(1.0)
        found = len(needles) - len(missing)
        return Score(found / len(needles), f"missing {shorten(missing[0])!r}")


@register_metric("not_contains")
class NotContains(_SubstringMetric):
    """1 when the output contains none of the option ``value`` texts (or the expected)."""

    def score(self, output: str, case: Case) -> Score:
        needles = self._needles(case)
        if needles is None:
            return _NO_EXPECTED
        haystack = self._haystack(output)
        present = [n for n in needles if n in haystack]
        if not present:
            return Score(1.0)
        return Score(1.0 - len(present) / len(needles), f"contains {shorten(present[0])!r}")


class _RegexOptions(MetricOptions):
    pattern: str
    ignore_case: bool = False
    full_match: bool = False


@register_metric("regex")
class RegexMatch(BaseMetric):
    """1 when the option ``pattern`` matches the output (``search``, or ``full_match``)."""

    def __init__(self, pattern: str, ignore_case: bool = False, full_match: bool = False):
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as error:
            raise ConfigError(f"invalid regular expression: {error}", field="pattern") from None
        self.full_match = full_match

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> RegexMatch:
        parsed = _RegexOptions.model_validate(options)
        return cls(parsed.pattern, parsed.ignore_case, parsed.full_match)

    def score(self, output: str, case: Case) -> Score:
        text = output.strip() if self.full_match else output
        matcher = self.pattern.fullmatch if self.full_match else self.pattern.search
        if matcher(text):
            return Score(1.0)
        return Score(0.0, f"no match for /{shorten(self.pattern.pattern, 40)}/")
