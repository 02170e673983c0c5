"""The ``numeric`` metric: the last number in the answer against the expected number."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from autotune.metrics._options import MetricOptions
from autotune.metrics._text import find_numbers, parse_number, shorten
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case


class _NumericOptions(MetricOptions):
    tolerance: float = pydantic.Field(default=1e-6, ge=0.0)
    relative_tolerance: float = pydantic.Field(default=0.0, ge=0.0)
    which: Literal["last", "first"] = "last"


@register_metric("numeric")
class NumericMatch(BaseMetric):
    """1 when the answer's number is within tolerance of the expected number.

    The answer's number is the last one it mentions (option ``which = "first"`` to take
    the first); "$1,250.50", "-3" and ".5" are understood. It passes when
    ``|got - expected| <= tolerance`` or ``<= relative_tolerance * |expected|``.
    """

    def __init__(
        self,
        tolerance: float = 1e-6,
        relative_tolerance: float = 0.0,
        which: Literal["last", "first"] = "last",
    ) -> None:
        self.tolerance = tolerance
        self.relative_tolerance = relative_tolerance
        self.which = which

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> NumericMatch:
        parsed = _NumericOptions.model_validate(options)
        return cls(parsed.tolerance, parsed.relative_tolerance, parsed.which)

    def score(self, output: str, case: Case) -> Score:
        expected = parse_number(case.expected)
        if expected is None or not math.isfinite(expected):
            return Score(0.0, f"expected value {shorten(str(case.expected))!r} is not a number")
        numbers = find_numbers(output)
        if not numbers:
            return Score(0.0, f"no number in {shorten(output, 40)!r}")
        got = numbers[-1] if self.which == "last" else numbers[0]
        allowed = max(self.tolerance, self.relative_tolerance * abs(expected))
        if abs(got - expected) <= allowed:
            return Score(1.0)
        return Score(0.0, f"got {got:g}, expected {expected:g}")
