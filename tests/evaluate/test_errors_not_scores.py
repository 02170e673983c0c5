"""A failed call is an error row, never a 0 in a mean; policies say when a result is unusable."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import pytest

from autotune.bench.case import Case
from autotune.errors import FatalLLMError, LLMError
from autotune.evaluate import (
    CaseResult,
    ErrorPolicy,
    EvalResult,
    Evaluator,
    UnusableResult,
    paired_scored,
    scored_mean,
)
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Prompt

PROMPT = Prompt(system="Repeat the word.", user_template="Word: {word}")


class Exact(BaseMetric):
    name = "exact"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0 if output.strip() == case.expected else 0.0)


def echo(messages: Sequence[Message], params: SamplingParams) -> str:
    return messages[-1].content.removeprefix("Word: ")


def cases(words: Sequence[str]) -> list[Case]:
    return [Case(f"c{i}", {"word": w}, expected=w) for i, w in enumerate(words)]


def metrics() -> MetricSet:
    return MetricSet([WeightedMetric(Exact())])


def row(case_id: str, score: float, error: str | None = None, retryable: bool = True) -> CaseResult:
    return CaseResult(
        case_id, {}, "", "", None, score, {"exact": score}, error=error, error_retryable=retryable
    )


def test_error_rows_never_enter_mean_ci_or_metric_means() -> None:
    rows = [row("a", 1.0), row("b", 0.0, "LLMError: 500"), row("c", 0.5), row("d", 0.0, "x")]
    result = EvalResult.from_rows(rows, ["exact"])
    assert result.mean == pytest.approx(0.75)
    assert result.metric_means == {"exact": pytest.approx(0.75)}
    assert 0.5 <= result.ci_low <= result.ci_high <= 1.0
    assert (result.errors, result.n_scored, result.error_share) == (2, 2, 0.5)
    assert scored_mean(rows) == pytest.approx(0.75)
    scores = result.scores()
    assert scores[0] == 1.0 and math.isnan(scores[1])


def test_nothing_scored_is_nan_never_zero() -> None:
    result = EvalResult.from_rows([row("a", 0.0, "down"), row("b", 0.0, "down")], ["exact"])
    assert math.isnan(result.mean) and math.isnan(result.metric_means["exact"])
    assert result.summary()["mean"] is None and result.summary()["errors"] == 2
    assert math.isnan(scored_mean([]))


def test_default_policy_allows_ten_percent_retryable_errors() -> None:
    ok = [row(str(i), 1.0) for i in range(9)]
    assert EvalResult.from_rows([*ok, row("e", 0, "timeout")], ["exact"]).usable()
    two = [*ok[:8], row("e", 0, "timeout"), row("f", 0, "timeout")]
    result = EvalResult.from_rows(two, ["exact"])
    reason = result.problem()
    assert reason is not None and "2 of 10 cases failed" in reason
    with pytest.raises(UnusableResult, match="evaluation unusable: 2 of 10"):
        result.check_usable()
    assert result.usable(ErrorPolicy(max_error_share=0.2))


def test_any_rejected_request_is_unusable_by_default() -> None:
    rows = [*[row(str(i), 1.0) for i in range(30)], row("bad", 0, "HTTP 400", retryable=False)]
    result = EvalResult.from_rows(rows, ["exact"])
    assert "rejected" in (result.problem() or "")
    assert result.usable(ErrorPolicy(allow_non_retryable=True))


def test_paired_scored_keeps_cases_scored_on_both_sides() -> None:
    a = EvalResult.from_rows([row("x", 1.0), row("y", 0, "e"), row("z", 0.0)], ["exact"])
    b = EvalResult.from_rows([row("x", 0.0), row("y", 1.0), row("z", 0, "e")], ["exact"])
    assert paired_scored(a, b) == ([1.0], [0.0])


def test_evaluator_keeps_error_rows_out_of_the_mean() -> None:
    llm = ScriptedLLM(echo, fail_on=lambda m: "bad" in m[-1].content, error=LLMError("HTTP 500"))
    result = Evaluator(llm, metrics()).evaluate(PROMPT, cases(["a", "bad", "c", "d"]))
    assert result.mean == 1.0 and result.errors == 1 and result.n_scored == 3


def test_rejected_request_row_is_marked_not_retryable() -> None:
    error = LLMError("HTTP 400: context too long", status=400, retryable=False)
    llm = ScriptedLLM(echo, fail_on=lambda m: "long" in m[-1].content, error=error)
    result = Evaluator(llm, metrics()).evaluate(PROMPT, cases(["a", "long"]))
    assert [r.error_retryable for r in result.rows] == [True, False]
    assert not result.usable()


def test_fatal_error_is_raised_at_once_and_cancels_the_rest() -> None:
    fatal = FatalLLMError("endpoint http://127.0.0.1:1/v1 (model 'm') failed: HTTP 401", status=401)
    llm = ScriptedLLM(echo, latency_s=0.05, fail_on=lambda m: "w3" in m[-1].content, error=fatal)
    started = time.monotonic()
    with pytest.raises(FatalLLMError, match="HTTP 401"):
        Evaluator(llm, metrics(), concurrency=2).evaluate(
            PROMPT, cases([f"w{i}" for i in range(200)])
        )
    assert time.monotonic() - started < 2  # not 200 cases x 50 ms / 2
    assert llm.calls < 20


def test_policy_stops_early_once_the_result_cannot_be_usable() -> None:
    llm = ScriptedLLM(echo, fail_on=lambda m: True, error=LLMError("connection failed"))
    evaluator = Evaluator(llm, metrics(), concurrency=1, error_policy=ErrorPolicy())
    with pytest.raises(UnusableResult, match="11 of 100 cases failed") as caught:
        evaluator.evaluate(PROMPT, cases([f"w{i}" for i in range(100)]))
    assert len(caught.value.partial.rows) == 11  # 10 % of 100 allowed; the 11th stops it
    assert llm.calls == 11
