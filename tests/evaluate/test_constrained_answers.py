"""Label answers held to the labels: the evaluator sends the metrics' choice grammar."""

from __future__ import annotations

from autotune.bench.case import Case
from autotune.evaluate import Evaluator
from autotune.llm.fake import ScriptedLLM
from autotune.llm.grammar import choice_grammar
from autotune.llm.types import SamplingParams
from autotune.metrics import MetricSet, WeightedMetric, build_metric
from autotune.prompt import Prompt

PROMPT = Prompt(system="Classify.", user_template="{text}")
CASES = [Case("a", {"text": "great"}, "positive"), Case("b", {"text": "awful"}, "negative")]
LABELS = ["positive", "negative"]


def _metrics(*specs: dict[str, object]) -> MetricSet:
    return MetricSet([WeightedMetric(build_metric(dict(spec))) for spec in specs])


LABEL = _metrics({"name": "label", "labels": LABELS})


def _grammars(evaluator: Evaluator, llm: ScriptedLLM, prompt: Prompt = PROMPT) -> list[object]:
    evaluator.evaluate(prompt, CASES)
    return [params.grammar for _, params in llm.requests]


def test_direct_label_answers_are_held_to_the_labels() -> None:
    llm = ScriptedLLM(["positive"])
    assert _grammars(Evaluator(llm, LABEL), llm) == [choice_grammar(LABELS)] * 2


def test_no_grammar_when_turned_off_or_when_the_answer_is_not_the_completion() -> None:
    llm = ScriptedLLM(["positive"])
    assert _grammars(Evaluator(llm, LABEL, constrain=False), llm) == [None, None]
    llm = ScriptedLLM(["Answer: positive"])
    stepwise = PROMPT.with_(answer_strategy="step_by_step")
    assert _grammars(Evaluator(llm, LABEL), llm, stepwise) == [None, None]


def test_no_grammar_when_a_metric_takes_free_text() -> None:
    llm = ScriptedLLM(["positive"])
    both = _metrics({"name": "label", "labels": LABELS}, {"name": "exact"})
    assert _grammars(Evaluator(llm, both), llm) == [None, None]


def test_label_metrics_that_agree_still_constrain() -> None:
    llm = ScriptedLLM(["positive"])
    twice = _metrics({"name": "label", "labels": LABELS}, {"name": "label", "labels": LABELS})
    assert _grammars(Evaluator(llm, twice), llm) == [choice_grammar(LABELS)] * 2


def test_the_callers_own_grammar_or_schema_wins() -> None:
    for params in (
        SamplingParams(grammar='root ::= "x"'),
        SamplingParams(response_schema='{"type": "string"}'),
    ):
        llm = ScriptedLLM(["positive"])
        assert _grammars(Evaluator(llm, LABEL, params=params), llm) == [params.grammar] * 2
