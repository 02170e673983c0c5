import asyncio
import math
from collections.abc import Sequence

import pytest

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded, ConfigError, DataError, LLMError
from autotune.evaluate import CaseResult, EvalBudgetExceeded, Evaluator
from autotune.llm.base import BaseLLM
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Prompt

PROMPT = Prompt(system="Answer with the word.", user_template="Word: {word}")


class ExactMetric(BaseMetric):
    name = "exact"

    def score(self, output: str, case: Case) -> Score:
        if output.strip() == case.expected:
            return Score(1.0)
        return Score(0.0, f"expected {case.expected!r}")


class ShortMetric(BaseMetric):
    name = "short"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if len(output) <= 5 else Score(0.5, "too long")


class BrokenMetric(BaseMetric):
    name = "broken"

    def score(self, output: str, case: Case) -> Score:
        raise ZeroDivisionError("metric bug")


class InFlightLLM(BaseLLM):
    """Async backend that records how many calls overlap."""

    backend = "test"
    model_id = "in-flight"

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        raise AssertionError("the evaluator must use aexecute")

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        return Completion(messages[-1].content[6:], "stop", 3, 1, 0.005, self.model_id)


def echo_word(messages: Sequence[Message], params: SamplingParams) -> str:
    return messages[-1].content.removeprefix("Word: ")


def make_cases(words: Sequence[str]) -> list[Case]:
    return [
        Case(f"c{i}", {"word": w}, expected=w, source=f"cases.jsonl:{i + 1}")
        for i, w in enumerate(words)
    ]


def exact_only() -> MetricSet:
    return MetricSet([WeightedMetric(ExactMetric())])


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_limit_is_respected(concurrency: int) -> None:
    llm = InFlightLLM()
    result = Evaluator(llm, exact_only(), concurrency=concurrency).evaluate(
        PROMPT, make_cases([f"w{i}" for i in range(20)])
    )
    assert llm.max_in_flight == concurrency
    assert result.mean == 1.0
    assert [row.case_id for row in result.rows] == [f"c{i}" for i in range(20)]


def test_failed_call_is_recorded_and_run_continues() -> None:
    llm = ScriptedLLM(
        echo_word,
        fail_on=lambda messages: "boom" in messages[-1].content,
        error=LLMError("server said 500"),
    )
    result = Evaluator(llm, exact_only(), concurrency=2).evaluate(
        PROMPT, make_cases(["a", "boom", "c", "d"])
    )
    assert len(result.rows) == 4
    failed = result.rows[1]
    assert failed.error == "LLMError: server said 500"
    assert failed.output == "" and not failed.scored
    assert result.errors == 1 and result.n_scored == 3
    assert result.error_share == pytest.approx(0.25)
    # The error row is not a 0 in the mean: three scored cases, all right.
    assert result.mean == pytest.approx(1.0)
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)
    assert result.failures == [failed]


def test_any_backend_exception_is_a_failed_case() -> None:
    llm = ScriptedLLM(echo_word, fail_on=lambda m: True, error=ConnectionError("refused"))
    result = Evaluator(llm, exact_only()).evaluate(PROMPT, make_cases(["a", "b"]))
    assert [row.error for row in result.rows] == ["ConnectionError: refused"] * 2
    assert math.isnan(result.mean) and result.n_scored == 0 and result.calls == 0
    assert not result.usable()


def test_budget_exceeded_propagates_with_finished_rows() -> None:
    seen: list[CaseResult] = []
    llm = ScriptedLLM(
        echo_word,
        fail_on=lambda messages: "w6" in messages[-1].content,
        error=BudgetExceeded("calls", 6, 6),
    )
    evaluator = Evaluator(llm, exact_only(), concurrency=1, progress=seen.append)
    with pytest.raises(BudgetExceeded) as caught:
        evaluator.evaluate(PROMPT, make_cases([f"w{i}" for i in range(10)]))
    assert isinstance(caught.value, EvalBudgetExceeded)
    assert caught.value.resource == "calls"
    partial = caught.value.partial
    assert [row.case_id for row in partial.rows] == [f"c{i}" for i in range(6)]
    assert partial.mean == 1.0 and partial.calls == 6
    assert seen == partial.rows
    assert llm.calls == 7  # nothing was started after the budget ran out


def test_budget_stop_cancels_other_workers() -> None:
    class BudgetAfterTwo(InFlightLLM):
        async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
            if "w2" in messages[-1].content:
                raise BudgetExceeded("tokens", 10, 11)
            return await super().aexecute(messages, params)

    llm = BudgetAfterTwo()
    with pytest.raises(EvalBudgetExceeded) as caught:
        Evaluator(llm, exact_only(), concurrency=3).evaluate(
            PROMPT, make_cases([f"w{i}" for i in range(30)])
        )
    # w0 and w1 were in flight when w2 hit the budget: they are cancelled, not waited for.
    assert caught.value.partial.rows == []
    assert (llm.cancelled, llm.in_flight) == (2, 0)


def test_metric_scores_reasons_and_weights() -> None:
    metrics = MetricSet([WeightedMetric(ExactMetric(), 3.0), WeightedMetric(ShortMetric(), 1.0)])
    llm = ScriptedLLM(["yes", "a long answer"])
    result = Evaluator(llm, metrics, concurrency=1).evaluate(PROMPT, make_cases(["yes", "no"]))
    good, bad = result.rows
    assert good.score == 1.0 and good.reason == ""
    assert good.metric_scores == {"exact": 1.0, "short": 1.0}
    assert bad.metric_scores == {"exact": 0.0, "short": 0.5}
    assert bad.score == pytest.approx(0.5 / 4)
    assert bad.reason == "exact: expected 'no'; short: too long"
    assert result.metric_means == {"exact": 0.5, "short": 0.75}


def test_row_has_rendered_prompt_usage_and_trace() -> None:
    llm = ScriptedLLM(echo_word)
    result = Evaluator(llm, exact_only()).evaluate(PROMPT, make_cases(["alpha beta"]))
    row = result.rows[0]
    assert row.rendered == "[system]\nAnswer with the word.\n\n[user]\nWord: alpha beta"
    assert row.inputs == {"word": "alpha beta"} and row.expected == "alpha beta"
    assert (row.prompt_tokens, row.completion_tokens, row.calls) == (7, 2, 1)
    assert (result.prompt_tokens, result.completion_tokens, result.calls) == (7, 2, 1)
    assert row.latency_s >= 0.0 and result.wall_s >= row.latency_s


def test_broken_metric_keeps_the_answer_as_an_error_row() -> None:
    metrics = MetricSet([WeightedMetric(BrokenMetric())])
    result = Evaluator(ScriptedLLM(["answer"]), metrics).evaluate(PROMPT, make_cases(["x"]))
    row = result.rows[0]
    assert row.error == "ZeroDivisionError: metric bug"
    assert row.output == "answer" and row.score == 0.0


def test_confidence_interval_contains_mean_and_narrows_with_more_cases() -> None:
    def half_right(messages: Sequence[Message], params: SamplingParams) -> str:
        word = echo_word(messages, params)
        return word if int(word[1:]) % 2 else "wrong"

    def interval(count: int) -> tuple[float, float, float]:
        cases = make_cases([f"w{i}" for i in range(count)])
        result = Evaluator(ScriptedLLM(half_right), exact_only()).evaluate(PROMPT, cases)
        return result.ci_low, result.mean, result.ci_high

    low_small, mean_small, high_small = interval(10)
    low_big, mean_big, high_big = interval(200)
    assert low_small < mean_small == 0.5 < high_small
    assert low_big < mean_big == 0.5 < high_big
    assert high_big - low_big < (high_small - low_small) / 2


def test_evaluate_works_inside_a_running_event_loop() -> None:
    evaluator = Evaluator(ScriptedLLM(echo_word), exact_only())

    async def caller() -> float:
        return evaluator.evaluate(PROMPT, make_cases(["a", "b"])).mean

    assert asyncio.run(caller()) == 1.0


def test_missing_input_field_names_case_file_line_and_field() -> None:
    cases = [*make_cases(["a"]), Case("c9", {"other": "x"}, "x", source="data/cases.jsonl:9")]
    with pytest.raises(DataError) as caught:
        Evaluator(ScriptedLLM(), exact_only()).evaluate(PROMPT, cases)
    assert (caught.value.file, caught.value.line, caught.value.field) == (
        "data/cases.jsonl",
        9,
        "word",
    )


def test_no_cases_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no cases"):
        Evaluator(ScriptedLLM(), exact_only()).evaluate(PROMPT, [])


def test_unknown_strategy_is_a_config_error() -> None:
    prompt = PROMPT.with_(answer_strategy="telepathy")
    with pytest.raises(ConfigError) as caught:
        Evaluator(ScriptedLLM(), exact_only()).evaluate(prompt, make_cases(["a"]))
    assert caught.value.field == "strategy"


def test_row_shows_the_request_a_strategy_actually_sent() -> None:
    llm = ScriptedLLM(["thinking...\nAnswer: a"])
    prompt = PROMPT.with_(answer_strategy="step_by_step")
    row = Evaluator(llm, exact_only()).evaluate(prompt, make_cases(["a"])).rows[0]
    sent = llm.requests[0][0][-1].content
    assert sent.startswith("Word: a\n\nThink step by step")
    assert row.rendered.endswith(f"[user]\n{sent}")
    assert (row.output, row.score, row.trace[-1]) == ("a", 1.0, ("final", "a"))
