"""The regression gate on a scripted model: repeats, per-metric verdicts, flips, outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from report_doubles import make_cases, prompt

from autotune.evaluate import EvalResult
from autotune.llm.fake import ScriptedLLM
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.report import (
    ResolvedPrompt,
    evaluate_repeated,
    merge_repeats,
    promote_candidate,
    regression_gate,
)
from autotune.report._gate_output import junit_xml, markdown_summary

CASES = make_cases(20)  # 7 negatives: c00, c03, ..., c18
NEGATIVES = [case.id for case in CASES if case.expected == "negative"]


def test_each_repeat_samples_with_its_own_index_and_scores_average(
    llm: ScriptedLLM, metrics: MetricSet
) -> None:
    cases = make_cases(6)
    runs = evaluate_repeated(llm, metrics, prompt("NOISY label"), cases, repeats=3)

    seen = sorted(params.sample_index for _, params in llm.requests)
    assert seen == [0] * 6 + [1] * 6 + [2] * 6
    labels = dict(zip(runs.case_ids, runs.merged.rows, strict=True))
    # Negatives are wrong on sample 1 only: 2 of 3 samples pass.
    assert labels["c00"].metric_scores["label"] == pytest.approx(2 / 3)
    assert labels["c00"].score == pytest.approx((2 / 3 + 1) / 2)  # label and brief, weight 1 each
    assert labels["c01"].score == 1.0
    assert runs.passed() == [True] * 6  # 2 of 3 is a majority
    assert runs.merged.calls == 18
    assert runs.merged.metric_means["brief"] == 1.0


def test_a_planted_regression_fails_the_gate_with_per_metric_verdicts_and_flips(
    llm: ScriptedLLM, metrics: MetricSet
) -> None:
    result = regression_gate(llm, metrics, CASES, prompt("BAD label"), prompt("GOOD label"))

    assert not result.passed
    assert result.overall.regressed
    # Each negative loses the label metric (weight 1 of 2): half its score.
    assert result.overall.diff.mean == pytest.approx(-7 / 20 / 2)
    assert result.overall.diff.high < 0
    by_name = {gate.name: gate for gate in result.metrics}
    assert by_name["label"].regressed and by_name["label"].diff.mean == pytest.approx(-7 / 20)
    assert not by_name["brief"].regressed and by_name["brief"].diff.mean == 0.0
    assert [gate.name for gate in result.regressions] == ["score", "label"]
    assert [flip.case_id for flip in result.broken] == NEGATIVES
    assert result.broken[0].candidate_output == "positive"
    assert result.broken[0].baseline_output == "negative"
    assert result.fixed == []


def test_a_drop_within_the_tolerance_passes(llm: ScriptedLLM, metrics: MetricSet) -> None:
    result = regression_gate(
        llm, metrics, CASES, prompt("BAD label"), prompt("GOOD label"), tolerance=0.6
    )
    assert result.passed
    assert len(result.broken) == len(NEGATIVES)  # the flips are still reported


def test_noisy_prompts_that_behave_the_same_pass_with_repeats(
    llm: ScriptedLLM, metrics: MetricSet
) -> None:
    candidate, baseline = prompt("NOISY, answer briefly"), prompt("NOISY label")
    result = regression_gate(llm, metrics, CASES, candidate, baseline, repeats=3)
    assert result.passed
    assert result.overall.diff.mean == 0.0
    assert result.overall.baseline_mean < 1.0  # the noise is there
    assert result.repeats == 3 and result.cases == 20


def test_an_improvement_lists_fixed_cases_and_passes(llm: ScriptedLLM, metrics: MetricSet) -> None:
    result = regression_gate(llm, metrics, CASES, prompt("GOOD label"), prompt("BAD label"))
    assert result.passed
    assert result.overall.diff.low > 0
    assert [flip.case_id for flip in result.fixed] == NEGATIVES
    assert result.broken == []


def test_junit_xml_has_one_case_per_score_and_failures_for_regressions(
    llm: ScriptedLLM, metrics: MetricSet
) -> None:
    result = regression_gate(llm, metrics, CASES, prompt("BAD label"), prompt("GOOD label"))
    root = ET.fromstring(junit_xml(result))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["score", "metric:label", "metric:brief"]
    assert cases["score"].find("failure") is not None
    assert cases["metric:label"].find("failure") is not None
    assert cases["metric:brief"].find("failure") is None
    failure = cases["score"].find("failure")
    assert failure is not None and "-0.175" in (failure.get("message") or "")
    out = cases["score"].findtext("system-out") or ""
    assert "broken (passed before, fails now): 7" in out and "c03: 1.00 -> 0.50" in out
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["candidate"] == "bad" and properties["cases"] == "20"


def test_markdown_summary_shows_verdict_table_and_flips(
    llm: ScriptedLLM, metrics: MetricSet
) -> None:
    failed = regression_gate(llm, metrics, CASES, prompt("BAD label"), prompt("GOOD label"))
    text = markdown_summary(failed)
    assert text.startswith("## Regression gate: ❌ regression")
    assert "| label | 1.000 | 0.650 | -0.350 |" in text
    assert "### Broken cases (7)" in text and "| c18 | 1.00 | 0.50 | positive |" in text
    passed = regression_gate(llm, metrics, CASES, prompt("GOOD again"), prompt("GOOD label"))
    assert markdown_summary(passed).startswith("## Regression gate: ✅ no regression")


def test_merge_needs_repeats_over_the_same_cases(llm: ScriptedLLM, metrics: MetricSet) -> None:
    one = evaluate_repeated(llm, metrics, prompt("GOOD"), make_cases(3)).merged
    other = evaluate_repeated(llm, metrics, prompt("GOOD"), make_cases(4)).merged
    with pytest.raises(ValueError, match="same cases"):
        merge_repeats([one, other], metrics.names)
    with pytest.raises(ValueError, match="at least one"):
        merge_repeats([], metrics.names)
    with pytest.raises(ValueError, match="repeats"):
        evaluate_repeated(llm, metrics, prompt("GOOD"), make_cases(3), repeats=0)


def test_errors_count_as_zero_in_every_repeat(metrics: MetricSet) -> None:
    failing = ScriptedLLM(["positive"], fail_on=lambda messages: "item 1 " in messages[-1].content)
    runs = evaluate_repeated(failing, metrics, prompt("GOOD"), make_cases(3), repeats=2)
    merged: EvalResult = runs.merged
    assert merged.rows[1].error is not None and merged.rows[1].score == 0.0
    assert merged.errors == 1


def test_promotion_needs_a_registered_baseline() -> None:
    file_prompt = ResolvedPrompt(Prompt(system="x"), "prompt.txt")
    with pytest.raises(ValueError, match="registered baseline"):
        promote_candidate(file_prompt, file_prompt, "production")
