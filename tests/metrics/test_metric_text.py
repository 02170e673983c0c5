"""Unit tests for the string, label, numeric and F1 metrics on tricky answers."""

from __future__ import annotations

import pytest

from autotune.bench.case import Case
from autotune.errors import ConfigError
from autotune.metrics import build_metric, extract_label, token_f1


def score(spec: dict[str, object], output: str, expected: object) -> float:
    return build_metric(spec).score(output, Case("c", {"input": "x"}, expected)).value


def test_exact_strips_only_whitespace() -> None:
    assert score({"name": "exact"}, "  Paris\n", "Paris") == 1.0
    assert score({"name": "exact"}, "paris", "Paris") == 0.0
    assert score({"name": "exact"}, "Paris.", "Paris") == 0.0


def test_normalized_ignores_case_punctuation_and_spacing() -> None:
    assert score({"name": "normalized"}, "  PARIS!! ", "paris") == 1.0
    assert score({"name": "normalized"}, "New   York,", "new york") == 1.0
    assert score({"name": "normalized"}, "Newark", "new york") == 0.0


def test_missing_expected_scores_zero_with_reason() -> None:
    result = build_metric({"name": "exact"}).score("x", Case("c", {}, None))
    assert result.value == 0.0 and "no expected" in result.reason


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("The sentiment is **Positive**.", "positive"),
        ("negative", "negative"),
        ("Negative. Although the actors were positive about it...", "negative"),
        ("Label: `POSITIVE`", "positive"),
        ("I think this review is negative overall, not positive.", "negative"),
        ("Category: Sci/Tech", "sci_tech"),
        ("sci-tech", "sci_tech"),
        ("It's about science.", None),
        ("The positivity here is unclear", None),
        ("", None),
    ],
)
def test_extract_label_from_chatty_answers(answer: str, label: str | None) -> None:
    assert extract_label(answer, ["positive", "negative", "sci_tech"]) == label


def test_label_metric_compares_canonical_labels_and_explains() -> None:
    metric = build_metric({"name": "label", "labels": ["Positive", "Negative"]})
    assert metric.score("positive!", Case("c", {}, "POSITIVE")).value == 1.0
    wrong = metric.score("Negative", Case("c", {}, "positive"))
    assert wrong.value == 0.0 and "Negative" in wrong.reason
    none = metric.score("I cannot tell.", Case("c", {}, "positive"))
    assert none.value == 0.0 and "no allowed label" in none.reason


def test_label_metric_takes_labels_from_the_benchmark() -> None:
    metric = build_metric({"name": "label"}, labels=["world", "sports"])
    assert metric.score("This is Sports news", Case("c", {}, "sports")).value == 1.0
    with pytest.raises(ConfigError, match="labels"):
        build_metric({"name": "label"})


def test_contains_and_not_contains() -> None:
    assert score({"name": "contains"}, "The capital is PARIS.", "Paris") == 1.0
    assert score({"name": "contains", "value": ["a", "zz"]}, "abc", None) == 0.5
    assert score({"name": "contains", "value": "X", "case_sensitive": True}, "x", None) == 0.0
    assert score({"name": "not_contains", "value": "sorry"}, "Sorry, I can't", None) == 0.0
    assert score({"name": "not_contains", "value": "sorry"}, "Here you go", None) == 1.0


def test_regex_search_and_full_match() -> None:
    assert (
        score({"name": "regex", "pattern": r"\bYES\b", "ignore_case": True}, "oh yes.", "") == 1.0
    )
    assert score({"name": "regex", "pattern": r"\d+", "full_match": True}, " 42 ", "") == 1.0
    assert score({"name": "regex", "pattern": r"\d+", "full_match": True}, "42 apples", "") == 0.0
    with pytest.raises(ConfigError, match="regular expression") as info:
        build_metric({"name": "regex", "pattern": "(unclosed"}, field="metrics[2]")
    assert info.value.field == "metrics[2].pattern"


@pytest.mark.parametrize(
    ("answer", "expected", "value"),
    [
        ("First 3 apples, then 4, so the answer is 7.", 7, 1.0),
        ("The total is $1,250.50", "1250.5", 1.0),
        ("It drops to -12 degrees", -12, 1.0),
        ("COVID-19 cases: 19", 19, 1.0),
        ("about .5 of it", 0.5, 1.0),
        ("1,2,3", 3, 1.0),
        ("The answer is 8", 7, 0.0),
        ("no idea", 7, 0.0),
        ("9" * 400, 7, 0.0),
    ],
)
def test_numeric_reads_the_last_number(answer: str, expected: object, value: float) -> None:
    assert score({"name": "numeric"}, answer, expected) == value


def test_numeric_tolerances_and_first_number() -> None:
    assert score({"name": "numeric", "tolerance": 0.5}, "10.4", 10) == 1.0
    assert score({"name": "numeric", "relative_tolerance": 0.01}, "1009", 1000) == 1.0
    assert score({"name": "numeric", "relative_tolerance": 0.01}, "1011", 1000) == 0.0
    assert score({"name": "numeric", "which": "first"}, "5 then 6", 5) == 1.0
    result = build_metric({"name": "numeric"}).score("3", Case("c", {}, "three"))
    assert result.value == 0.0 and "not a number" in result.reason


def test_token_f1_squad_style() -> None:
    assert token_f1("The Eiffel Tower!", "eiffel tower") == 1.0
    assert token_f1("tower", "eiffel tower") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0
    assert token_f1("a the", "x") == 0.0
    assert score({"name": "f1"}, "in Paris", ["London", "Paris"]) == pytest.approx(2 / 3)
