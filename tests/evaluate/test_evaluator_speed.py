"""The evaluator's speed paths: decided-answer stop rules per case."""

from __future__ import annotations

from autotune.bench.case import Case
from autotune.evaluate import Evaluator
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import SamplingParams
from autotune.metrics import MetricSet, WeightedMetric, build_metric
from autotune.metrics.label import LabelDecided
from autotune.metrics.match import CannotEqual
from autotune.prompt import Prompt

PROMPT = Prompt(system="Classify.", user_template="{text}")
CASES = [Case("a", {"text": "great"}, "positive"), Case("b", {"text": "awful"}, "negative")]
LABEL = MetricSet(
    [WeightedMetric(build_metric({"name": "label", "labels": ["positive", "negative"]}))]
)


def _rules(evaluator: Evaluator, llm: ScriptedLLM, prompt: Prompt = PROMPT) -> list[object]:
    evaluator.evaluate(prompt, CASES)
    return [params.stop_rule for _, params in llm.requests]


def test_direct_answers_carry_the_metrics_stop_rule() -> None:
    llm = ScriptedLLM(["positive"])
    assert _rules(Evaluator(llm, LABEL), llm) == [LabelDecided(("positive", "negative"))] * 2


def test_rules_are_per_case_when_the_metric_needs_the_expected_answer() -> None:
    llm = ScriptedLLM(["x"])
    metrics = MetricSet([WeightedMetric(build_metric({"name": "exact"}))])
    rules = _rules(Evaluator(llm, metrics, concurrency=1), llm)
    assert rules == [CannotEqual("positive"), CannotEqual("negative")]


def test_no_rule_when_turned_off_or_when_the_answer_is_not_the_completion() -> None:
    llm = ScriptedLLM(["Answer: positive"])
    assert _rules(Evaluator(llm, LABEL, early_stop=False), llm) == [None, None]
    llm = ScriptedLLM(["Answer: positive"])
    stepwise = PROMPT.with_(answer_strategy="step_by_step")
    assert _rules(Evaluator(llm, LABEL), llm, stepwise) == [None, None]


def test_rule_keeps_the_other_sampling_parameters() -> None:
    llm = ScriptedLLM(["positive"])
    params = SamplingParams(temperature=0.3, max_tokens=7, seed=5)
    Evaluator(llm, LABEL, params=params).evaluate(PROMPT, CASES[:1])
    sent = llm.requests[0][1]
    assert sent.with_(stop_rule=None, grammar=None, choices=()) == params
