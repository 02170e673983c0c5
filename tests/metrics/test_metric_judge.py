"""Unit tests for the LLM judge metric, with a scripted judge model."""

from __future__ import annotations

import pytest

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded, ConfigError
from autotune.llm.base import BaseLLM
from autotune.llm.fake import ScriptedLLM
from autotune.metrics import build_metric, parse_grade

CASE = Case("c1", {"question": "What is 2+2?"}, "4")


@pytest.mark.parametrize(
    ("reply", "low", "high", "value"),
    [
        ("Grade: 5", 1, 5, 1.0),
        ("Grade: 1", 1, 5, 0.0),
        ("**Score**: 8", 0, 10, 0.8),
        ("I would rate it 3/5 because...", 1, 5, 0.5),
        ("7 out of 10", 0, 10, 0.7),
        ("It deserves a 4.", 1, 5, 0.75),
        ("Grade: 9. Sorry, on this scale my grade is 4", 1, 5, 0.75),
        ("I cannot grade this.", 1, 5, None),
        ("Grade: 42", 1, 5, None),
    ],
)
def test_parse_grade_is_lenient(reply: str, low: int, high: int, value: float | None) -> None:
    result = parse_grade(reply, low, high)
    assert result == (None if value is None else pytest.approx(value))


def test_judge_sends_rubric_case_and_answer_and_maps_grade() -> None:
    llm = ScriptedLLM(["Grade: 4"])
    metric = build_metric({"name": "judge", "rubric": "Correct and brief.", "llm": llm})
    result = metric.score("It is 4.", CASE)
    assert result.value == pytest.approx(0.75) and "Grade: 4" in result.reason
    (messages, params) = llm.requests[0]
    user_text = messages[-1].content
    for part in ("Correct and brief.", "What is 2+2?", "Reference answer: 4", "It is 4."):
        assert part in user_text
    assert params.temperature == 0.0


def test_unparseable_or_failing_judge_scores_zero_with_reason() -> None:
    rambling = build_metric({"name": "judge", "rubric": "r", "llm": ScriptedLLM(["Hmm, well."])})
    result = rambling.score("x", CASE)
    assert result.value == 0.0 and "no grade" in result.reason
    failing = ScriptedLLM(["Grade: 5"], fail_on=lambda _: True, error=RuntimeError("down"))
    broken = build_metric({"name": "judge", "rubric": "r", "llm": failing})
    result = broken.score("x", CASE)
    assert result.value == 0.0 and "down" in result.reason


def test_judge_lets_budget_exceeded_through() -> None:
    llm = ScriptedLLM(["Grade: 5"], fail_on=lambda _: True, error=BudgetExceeded("calls", 1, 1))
    metric = build_metric({"name": "judge", "rubric": "r", "llm": llm})
    with pytest.raises(BudgetExceeded):
        metric.score("x", CASE)


def test_judge_model_string_is_built_lazily_by_the_factory() -> None:
    built: list[str] = []

    def factory(model: str) -> BaseLLM:
        built.append(model)
        return ScriptedLLM(["9/10"])

    spec = {"name": "judge", "rubric": "r", "model": "fake", "scale": "0-10"}
    metric = build_metric(spec, llm_factory=factory)
    assert built == []
    assert metric.score("x", CASE).value == pytest.approx(0.9)
    metric.score("y", CASE)
    assert built == ["fake"]


def test_judge_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        build_metric({"name": "judge", "rubric": "r"}, field="metrics[1]")
    assert info.value.field == "metrics[1].model"
    with pytest.raises(ConfigError) as info:
        build_metric({"name": "judge", "model": "fake"}, field="metrics[1]")
    assert info.value.field == "metrics[1].rubric"
