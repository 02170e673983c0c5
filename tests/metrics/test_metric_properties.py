"""Property tests: every metric scores any text in [0, 1] and never raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autotune.bench.case import Case
from autotune.llm.fake import ScriptedLLM
from autotune.metrics import BaseMetric, FunctionMetric, build_metric, extract_label, parse_grade

LABELS = ("positive", "negative", "sci_tech")
SPECS: list[dict[str, Any]] = [
    {"name": "exact"},
    {"name": "normalized"},
    {"name": "label", "labels": list(LABELS)},
    {"name": "contains"},
    {"name": "not_contains"},
    {"name": "regex", "pattern": r"\d+"},
    {"name": "json_valid"},
    {"name": "json_schema", "schema": {"type": "object", "required": ["a"]}},
    {"name": "json_fields"},
    {"name": "numeric"},
    {"name": "f1"},
    {
        "name": "judge",
        "rubric": "Is it right?",
        "llm": ScriptedLLM(["Grade: 4", "no idea", "9/10"]),
    },
]
METRICS: list[BaseMetric] = [build_metric(spec) for spec in SPECS]

expected_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
    st.lists(st.text(max_size=10), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(output=st.text(max_size=300), expected=expected_values)
def test_every_metric_scores_any_text_within_unit_interval(output: str, expected: Any) -> None:
    case = Case("c", {"input": "question"}, expected)
    for metric in METRICS:
        score = metric.score(output, case)
        assert 0.0 <= score.value <= 1.0, metric.name
        if score.value < 1.0:
            assert score.reason, f"{metric.name} gave {score.value} without a reason"


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1, max_size=200).filter(lambda t: t.strip()))
def test_text_scored_against_itself_is_perfect(text: str) -> None:
    case = Case("c", {"input": "q"}, text)
    for name in ("exact", "normalized", "f1", "contains"):
        assert build_metric({"name": name}).score(text, case).value == 1.0, name


@settings(max_examples=100, deadline=None)
@given(label=st.sampled_from(LABELS), before=st.sampled_from(["", "**", "Answer: ", " "]))
def test_label_scored_against_itself_is_perfect(label: str, before: str) -> None:
    metric = build_metric({"name": "label", "labels": list(LABELS)})
    assert metric.score(f"{before}{label}{before[::-1]}", Case("c", {}, label)).value == 1.0


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), labels=st.lists(st.text(max_size=12), max_size=5))
def test_label_extraction_never_raises(text: str, labels: list[str]) -> None:
    found = extract_label(text, labels)
    assert found is None or found in labels


@settings(max_examples=150, deadline=None)
@given(
    number=st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda f: round(f, 4)),
    ),
    prefix=st.sampled_from(["", "The answer is ", "So we get = ", "Total: $"]),
)
def test_numeric_number_scored_against_itself_is_perfect(number: float, prefix: str) -> None:
    metric = build_metric({"name": "numeric", "relative_tolerance": 1e-9})
    text = f"{number:,}" if isinstance(number, int) else repr(number)
    if prefix.endswith("$") and text.startswith("-"):
        text = text[1:]
        prefix = prefix.replace("$", "-$")
    assert metric.score(prefix + text + ".", Case("c", {}, number)).value == 1.0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=4),
    wrapper=st.sampled_from(["{}", "Here it is: {} Hope it helps!", "```json\n{}\n```"]),
)
def test_json_object_scored_against_itself_is_perfect(value: dict[str, Any], wrapper: str) -> None:
    output = wrapper.replace("{}", json.dumps(value))
    case = Case("c", {}, value)
    assert build_metric({"name": "json_valid"}).score(output, case).value == 1.0
    assert build_metric({"name": "json_fields"}).score(output, case).value == 1.0
    schema = {"type": "object", "required": sorted(value)}
    assert build_metric({"name": "json_schema", "schema": schema}).score(output, case).value == 1.0


@settings(max_examples=200, deadline=None)
@given(
    result=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.booleans(),
        st.tuples(st.floats(allow_nan=True), st.text(max_size=10)),
        st.text(max_size=5),
        st.none(),
    ),
    output=st.text(max_size=50),
)
def test_custom_function_results_are_clamped_into_unit_interval(result: Any, output: str) -> None:
    metric = FunctionMetric(lambda _output, _case: result, "user_fn")
    score = metric.score(output, Case("c", {}, "x"))
    assert 0.0 <= score.value <= 1.0
    if isinstance(result, float) and result != result:  # NaN
        assert score.value == 0.0 and "NaN" in score.reason


@settings(max_examples=200, deadline=None)
@given(reply=st.text(max_size=200), scale=st.sampled_from([(1, 5), (0, 10)]))
def test_judge_grade_parsing_never_raises(reply: str, scale: tuple[int, int]) -> None:
    value = parse_grade(reply, *scale)
    assert value is None or 0.0 <= value <= 1.0
