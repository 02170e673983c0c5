"""Calibrated label answers: the bias is the labels' mean probability, answers read
against it, and the evaluator applies a prompt's calibration to its label answers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from autotune.bench.case import Case
from autotune.bench.prompt_file import load_prompt, save_prompt
from autotune.evaluate import Evaluator
from autotune.evaluate.calibration import (
    MIN_INPUTS,
    SAME_BIAS,
    calibrated_answer,
    estimate_bias,
    same_bias,
)
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics import MetricSet, WeightedMetric, build_metric
from autotune.prompt import Prompt

LABELS = ["positive", "negative"]
METRICS = MetricSet([WeightedMetric(build_metric({"name": "label", "labels": LABELS}))])
PROMPT = Prompt(system="Classify.", user_template="{text}")
# A model leaning to "positive": 0.8 on positive texts, still 0.6 on negative ones.
LEAN = {"great": 0.8, "fine": 0.8, "awful": 0.6, "dull": 0.6}
CASES = [
    Case(text, {"text": text}, "positive" if LEAN[text] > 0.7 else "negative") for text in LEAN
]


def _logprobs(p_positive: float) -> dict[str, float]:
    return {"positive": math.log(p_positive), "negative": math.log(1 - p_positive)}


def _leaning_llm() -> ScriptedLLM:
    def scores(messages: Sequence[Message], params: SamplingParams) -> tuple[float, ...]:
        found = _logprobs(LEAN[messages[-1].content])
        return tuple(found[label] for label in params.choices)

    return ScriptedLLM(["positive"], logprobs=scores)


def test_the_bias_is_the_labels_mean_probability() -> None:
    rows = [_logprobs(0.8), _logprobs(0.6)] * (MIN_INPUTS // 2)
    bias = dict(estimate_bias(rows) or ())
    assert bias["positive"] == pytest.approx(math.log(0.7))
    assert bias["negative"] == pytest.approx(math.log(0.3))


def test_no_bias_from_too_few_inputs_or_from_inputs_naming_other_labels() -> None:
    assert estimate_bias([_logprobs(0.8)] * (MIN_INPUTS - 1)) is None
    mixed = [_logprobs(0.8)] * MIN_INPUTS + [{"yes": -0.1, "no": -2.0}]
    assert estimate_bias(mixed) is None


def test_a_calibrated_answer_corrects_the_lean() -> None:
    bias = estimate_bias([_logprobs(0.8), _logprobs(0.6)] * MIN_INPUTS)
    assert bias is not None
    assert calibrated_answer(_logprobs(0.6), bias) == "negative"  # raw argmax: positive
    assert calibrated_answer(_logprobs(0.8), bias) == "positive"
    assert calibrated_answer({"yes": -0.1, "no": -2.0}, bias) is None  # other labels


def test_biases_are_the_same_within_the_tolerance_and_for_the_same_labels_only() -> None:
    bias = (("positive", -0.4), ("negative", -1.1))
    near = (("negative", -1.1 + SAME_BIAS / 2), ("positive", -0.4))
    assert same_bias(bias, near) and same_bias(near, bias)
    assert not same_bias(bias, (("positive", -0.4), ("negative", -1.1 - SAME_BIAS)))
    assert not same_bias(bias, (("positive", -0.4),))
    assert not same_bias(bias, ())


def test_the_evaluator_records_label_logprobs_and_reads_calibrated_answers() -> None:
    plain = Evaluator(_leaning_llm(), METRICS).evaluate(PROMPT, CASES)
    assert plain.mean == 0.5  # every answer "positive"
    row = plain.rows[0]
    assert row.choice_logprobs is not None
    assert row.choice_logprobs["positive"] == pytest.approx(math.log(LEAN[row.case_id]))

    bias = estimate_bias([r.choice_logprobs for r in plain.rows if r.choice_logprobs] * 2)
    assert bias is not None
    calibrated = Evaluator(_leaning_llm(), METRICS).evaluate(PROMPT.with_(calibration=bias), CASES)
    assert calibrated.mean == 1.0
    dull = next(r for r in calibrated.rows if r.case_id == "dull")
    assert dull.output == "negative" and ("written", "positive") in dull.trace


def test_without_label_logprobs_a_calibrated_prompt_answers_as_written() -> None:
    bias = (("positive", math.log(0.7)), ("negative", math.log(0.3)))
    result = Evaluator(ScriptedLLM(["positive"]), METRICS).evaluate(
        PROMPT.with_(calibration=bias), CASES
    )
    assert [r.output for r in result.rows] == ["positive"] * 4
    assert all(r.choice_logprobs is None for r in result.rows)


def test_a_calibration_survives_the_prompt_file_and_changes_the_fingerprint(
    tmp_path: Path,
) -> None:
    bias = (("positive", -0.35), ("negative", -1.2))
    prompt = PROMPT.with_(calibration=bias, name="p")
    path = tmp_path / "p.toml"
    save_prompt(prompt, path)
    assert load_prompt(path) == prompt
    assert prompt.fingerprint() != PROMPT.fingerprint()
    assert Prompt.from_dict(prompt.to_dict()) == prompt
