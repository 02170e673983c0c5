"""Early-stop rules: once a rule says decided, the rest of the output cannot change the
verdict (hypothesis over generated outputs), and the rules do decide in practice."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotune.bench.case import Case
from autotune.llm import SamplingParams, ScriptedLLM, cache_key, user
from autotune.llm.stop import AllDecided
from autotune.metrics import BaseMetric, MetricSet, WeightedMetric, build_metric
from autotune.metrics.label import label_stop_rule

LABEL_SETS: list[list[str]] = [
    ["positive", "negative"],
    ["world", "sports", "business", "sci_tech"],
    ["pos", "positive", "neg"],
    ["a b", "a", "b"],
    ["yes", "no", "not sure"],
]
# Pieces a rambling model writes: labels in odd spellings, decoration, separators,
# breaks, look-alike words, Unicode that NFKC/casefold rewrites, combining marks.
PIECES = [
    *{label for labels in LABEL_SETS for label in labels},
    "Positive",
    "NEGATIVE",
    "positively",
    "negatives",
    "Sci/Tech",
    "sci-tech",
    "ｐｏｓｉｔｉｖｅ",
    "not",
    "the answer is",
    "**",
    "`",
    '"',
    "'",
    "(",
    ")",
    " ",
    "  ",
    "\n",
    "\t",
    ".",
    ",",
    "!",
    "?",
    ":",
    ";",
    "-",
    "_",
    "/",
    "&",
    "\u0301",
    "\u0338",
    "=",
    "ß",
    "ǅ",
    "x",
    "2",
    "é",
    "e",
    "e\u0301",
]
outputs = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=14).map(
    "".join
)


def _verdict_is_final(metric: BaseMetric | MetricSet, output: str, case: Case) -> None:
    rule = metric.stop_rule(case)
    assert rule is not None
    full = _value(metric, output, case)
    for end in range(len(output) + 1):
        prefix = output[:end]
        if rule.decided(prefix):
            assert _value(metric, prefix, case) == full, (prefix, output)


def _value(metric: BaseMetric | MetricSet, output: str, case: Case) -> float:
    if isinstance(metric, MetricSet):
        return metric.score(output, case)[0]
    return metric.score(output, case).value


@settings(max_examples=300, deadline=None)
@given(output=outputs, which=st.integers(0, len(LABEL_SETS) - 1), pick=st.integers(0, 3))
def test_label_verdict_on_early_stopped_output_equals_full(
    output: str, which: int, pick: int
) -> None:
    labels = LABEL_SETS[which]
    metric = build_metric({"name": "label", "labels": labels})
    case = Case("c", {"input": "q"}, labels[pick % len(labels)])
    _verdict_is_final(metric, output, case)


expected_texts = st.one_of(
    st.sampled_from(["positive", "a b", "Paris.", "42", "", "é", "x é"]), st.text()
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), expected=expected_texts, name=st.sampled_from(["exact", "normalized"]))
def test_match_verdict_on_early_stopped_output_equals_full(
    data: st.DataObject, expected: str, name: str
) -> None:
    # Outputs close to the expected text: its characters, itself, its upper case and
    # decomposed form (an accent arriving after its letter).
    decomposed = unicodedata.normalize("NFD", expected)
    near = [*expected, expected, expected.upper(), decomposed, *decomposed, *PIECES]
    exact_forms = [expected, decomposed, expected.upper(), f" {expected}. ", f"{decomposed}\n"]
    output = data.draw(
        st.one_of(
            st.sampled_from(exact_forms),
            st.lists(st.sampled_from(near), max_size=12).map("".join),
        )
    )
    case = Case("c", {"input": "q"}, expected)
    _verdict_is_final(build_metric({"name": name}), output, case)


@settings(max_examples=200, deadline=None)
@given(
    output=outputs,
    spec=st.sampled_from(
        [
            {"name": "contains"},
            {"name": "not_contains", "value": ["not", "x"]},
            {"name": "contains", "value": ["Positive"], "case_sensitive": True},
        ]
    ),
)
def test_substring_verdict_on_early_stopped_output_equals_full(
    output: str, spec: dict[str, Any]
) -> None:
    case = Case("c", {"input": "q"}, "positive")
    _verdict_is_final(build_metric(spec), output, case)


@settings(max_examples=200, deadline=None)
@given(output=outputs)
def test_metric_set_is_decided_only_when_every_metric_is(output: str) -> None:
    metrics = MetricSet(
        [
            WeightedMetric(build_metric({"name": "label", "labels": ["positive", "negative"]})),
            WeightedMetric(build_metric({"name": "contains", "value": "."}), weight=0.5),
        ]
    )
    case = Case("c", {"input": "q"}, "positive")
    _verdict_is_final(metrics, output, case)
    rule = metrics.stop_rule(case)
    assert isinstance(rule, AllDecided)
    parts = [m.metric.stop_rule(case) for m in metrics.metrics]
    assert rule.decided(output) == all(p is not None and p.decided(output) for p in parts)


@pytest.mark.parametrize(
    ("labels", "text", "decided"),
    [
        (["positive", "negative"], "Positive", False),  # could still become "Positively"
        (["positive", "negative"], "Positive\n", True),
        (["positive", "negative"], "**Negative**.", True),
        (["positive", "negative"], "The review is positive because", True),
        (["positive", "negative"], "The sentiment is", False),
        (["world", "sci_tech"], "Sci/Tech ", False),  # "sci tech" could grow: multi-word
        (["world", "sci_tech"], "Sci/Tech.", True),
    ],
)
def test_label_rule_decides_where_expected(labels: list[str], text: str, decided: bool) -> None:
    rule = label_stop_rule(labels)
    assert rule is not None
    assert rule.decided(text) is decided


def test_labels_that_are_not_plain_words_get_no_rule() -> None:
    assert label_stop_rule(["n.a.", "yes"]) is None
    assert label_stop_rule(["½", "bad"]) is None  # NFKC rewrites the fraction
    metric = build_metric({"name": "label", "labels": ["n.a.", "yes"]})
    assert metric.stop_rule(Case("c", {"input": "q"}, "yes")) is None


def test_exact_rule_decides_once_output_cannot_match() -> None:
    rule = build_metric({"name": "exact"}).stop_rule(Case("c", {"input": "q"}, " Paris "))
    assert rule is not None
    assert not rule.decided("  Par")
    assert not rule.decided("Paris  ")
    assert rule.decided("Paris is")
    assert rule.decided("London")


def test_metric_without_rule_makes_the_set_undecidable() -> None:
    metrics = MetricSet(
        [
            WeightedMetric(build_metric({"name": "label", "labels": ["positive", "negative"]})),
            WeightedMetric(build_metric({"name": "regex", "pattern": "x"})),
        ]
    )
    assert metrics.stop_rule(Case("c", {"input": "q"}, "positive")) is None


def test_stop_rule_is_part_of_the_cache_key_and_absent_rule_keeps_old_keys() -> None:
    llm = ScriptedLLM()
    rule = label_stop_rule(["positive", "negative"])
    plain = SamplingParams(max_tokens=8)
    with_rule = plain.with_(stop_rule=rule)
    messages = [user("hi")]
    assert cache_key(llm, messages, plain) != cache_key(llm, messages, with_rule)
    assert cache_key(llm, messages, with_rule) == cache_key(
        llm, messages, plain.with_(stop_rule=label_stop_rule(["positive", "negative"]))
    )
    # The key of a request without a rule is what it was before rules existed.
    assert cache_key(llm, messages, plain) == (
        "805a7e924061bee7303e779a09557d6550f21eb0d16354553b45a3639c6b72ad"
    )
    assert hash(with_rule) == hash(plain.with_(stop_rule=label_stop_rule(["positive", "negative"])))
