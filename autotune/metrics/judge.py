"""The ``judge`` metric: an LLM grades the answer against a rubric.

The judge model is injected: an ``llm`` object (Python API, tests use ScriptedLLM) or
a ``model`` string built on first use by the build context's factory (default
:func:`autotune.llm.load_llm`), so loading a suite never loads a model.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from autotune.errors import BudgetExceeded, ConfigError
from autotune.llm.base import BaseLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics._options import MetricOptions
from autotune.metrics._text import shorten
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case

_SCALES = {"1-5": (1, 5), "0-10": (0, 10)}
_NUMBER = r"(\d+(?:\.\d+)?)"
_LABELLED = re.compile(rf"\b(?:grade|score|rating)\b\W{{0,12}}?(?:is|of)?\W{{0,6}}{_NUMBER}", re.I)
_FRACTION = re.compile(rf"{_NUMBER}\s*(?:/|out of)\s*{_NUMBER}", re.I)
_BARE = re.compile(rf"(?<![\w.]){_NUMBER}(?!\w)")

_SYSTEM = (
    "You are a strict, fair grader. Read the task input, the reference answer if any, "
    "and the answer to grade. Grade the answer by the rubric on a scale from {low} to "
    "{high}, where {high} is best. Reply with one line: 'Grade: N'."
)


def parse_grade(text: str, low: int, high: int) -> float | None:
    """A judge's reply as a score in [0, 1], or None when no grade can be read.

    Understands "Grade: 4", "**Score**: 8", "4/5", "7 out of 10" and a bare number in
    range; a number outside the scale is ignored.
    """
    span = high - low
    for match in _LABELLED.finditer(text):
        value = float(match.group(1))
        if low <= value <= high:
            return (value - low) / span
    for match in _FRACTION.finditer(text):
        value, top = float(match.group(1)), float(match.group(2))
        if top > 0 and 0 <= value <= top:
            if top == high:
                return max(0.0, (value - low) / span)
            return value / top
    for match in _BARE.finditer(text):
        value = float(match.group(1))
        if low <= value <= high:
            return (value - low) / span
    return None


def _render_case(output: str, case: Case) -> str:
    lines = ["Task input:"]
    lines += [f"{name}: {value}" for name, value in case.inputs.items()]
    if case.expected is not None:
        lines += ["", f"Reference answer: {case.expected}"]
    lines += ["", "Answer to grade:", output]
    return "\n".join(lines)


class _JudgeOptions(MetricOptions):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    rubric: str = pydantic.Field(min_length=1)
    model: str | None = None
    llm: BaseLLM | None = None
    scale: Literal["1-5", "0-10"] = "1-5"
    max_tokens: int = pydantic.Field(default=64, ge=1)


@register_metric("judge")
class LLMJudge(BaseMetric):
    """Asks a model to grade the answer by a rubric; maps the grade onto [0, 1].

    An unreadable grade or a failed judge call scores 0 with the reason, never raises
    (except :class:`BudgetExceeded`, which must stop the run).
    """

    def __init__(
        self,
        rubric: str,
        *,
        llm: BaseLLM | None = None,
        llm_loader: Callable[[], BaseLLM] | None = None,
        scale: Literal["1-5", "0-10"] = "1-5",
        max_tokens: int = 64,
    ) -> None:
        if llm is None and llm_loader is None:
            raise ConfigError(
                "the judge metric needs a 'model' (or an 'llm' object)", field="model"
            )
        self.rubric = rubric
        self._llm = llm
        self._llm_loader = llm_loader
        self._lock = threading.Lock()
        self.low, self.high = _SCALES[scale]
        self.max_tokens = max_tokens

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> LLMJudge:
        parsed = _JudgeOptions.model_validate(options)
        loader: Callable[[], BaseLLM] | None = None
        if parsed.llm is None and parsed.model is not None:
            model, factory = parsed.model, context.llm_factory or _default_factory
            loader = lambda: factory(model)  # noqa: E731 - a deferred call, built on first use
        return cls(
            parsed.rubric,
            llm=parsed.llm,
            llm_loader=loader,
            scale=parsed.scale,
            max_tokens=parsed.max_tokens,
        )

    def judge_llm(self) -> BaseLLM:
        """The judge model, built on first use."""
        with self._lock:
            if self._llm is None:
                assert self._llm_loader is not None
                self._llm = self._llm_loader()
            return self._llm

    def messages(self, output: str, case: Case) -> list[Message]:
        """The judge's chat messages for one answer."""
        system = _SYSTEM.format(low=self.low, high=self.high)
        user = f"Rubric:\n{self.rubric}\n\n{_render_case(output, case)}\n\nGrade:"
        return [Message("system", system), Message("user", user)]

    def score(self, output: str, case: Case) -> Score:
        llm = self.judge_llm()
        params = SamplingParams(temperature=0.0, max_tokens=self.max_tokens)
        try:
            reply = llm.execute(self.messages(output, case), params).text
        except BudgetExceeded:
            raise
        except Exception as error:  # a judge failure is a 0 with a reason, not a crash
            return Score(0.0, f"judge call failed: {shorten(str(error) or type(error).__name__)}")
        value = parse_grade(reply, self.low, self.high)
        if value is None:
            return Score(0.0, f"judge gave no grade: {shorten(reply, 40)!r}")
        value = min(1.0, max(0.0, value))
        return Score(value, "" if value >= 1.0 else f"judge: {shorten(reply, 50)}")


def _default_factory(model: str) -> BaseLLM:
    from autotune.llm import load_llm

    llm: BaseLLM = load_llm(model)
    return llm
