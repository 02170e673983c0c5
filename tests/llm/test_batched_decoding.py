"""Batched decoding on the embedded model: the same answers as one request at a time.

Requests that share a prompt prefix (one trial's cases) are decoded together; their
answers must equal what ``execute`` gives one by one, greedy and sampled, with and
without a stop rule. Requests the engine cannot take still get their own outcome.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from autotune.bench.case import Case
from autotune.errors import LLMError
from autotune.evaluate import Evaluator
from autotune.llm import Completion, Message, SamplingParams, load_llm
from autotune.llm.base import Request
from autotune.llm.embedded import LlamaCppLLM
from autotune.metrics import MetricSet, WeightedMetric, build_metric
from autotune.metrics.label import label_stop_rule
from autotune.prompt import Demo, Prompt

CASES_FILE = Path(__file__).parents[2] / "benchmarks" / "sentiment" / "cases.jsonl"
ROWS = [json.loads(line) for line in CASES_FILE.read_text().splitlines()[:40]]
# A trial's prompt: instruction and demos shared by every case (label answers) ...
PROMPT = Prompt(
    system="Classify the sentiment of the review as positive or negative.",
    user_template="{text}",
    demos=tuple(Demo.of({"text": r["text"]}, r["label"]) for r in ROWS[:3]),
)
# ... and one that makes the model talk, to compare long answers too.
TALK = Prompt(system="Explain in two sentences what the review says, then give its sentiment.")


def _requests(
    rows: list[dict[str, str]], params: SamplingParams, prompt: Prompt = PROMPT
) -> list[Request]:
    return [
        Request(prompt.render({"input": row["text"], "text": row["text"]}), params) for row in rows
    ]


def _same(one: list[Completion], many: list[Completion | Exception]) -> float:
    """Share of requests with the same text, token count and finish reason."""
    hits = sum(
        isinstance(b, Completion)
        and (a.text, a.completion_tokens, a.finish_reason, a.prompt_tokens)
        == (b.text, b.completion_tokens, b.finish_reason, b.prompt_tokens)
        for a, b in zip(one, many, strict=True)
    )
    return hits / len(one)


@pytest.mark.embedded
@pytest.mark.parametrize(("prompt", "temperature"), [(TALK, 0.0), (TALK, 0.7), (PROMPT, 0.0)])
def test_batched_answers_equal_one_at_a_time(prompt: Prompt, temperature: float) -> None:
    llm = LlamaCppLLM(n_ctx=1024)
    params = SamplingParams(temperature=temperature, max_tokens=24, seed=3)
    requests = _requests(ROWS[3:19], params, prompt)
    one = [llm.execute(*request) for request in requests]
    many = llm.execute_many(requests)
    # llama.cpp's batched kernels could change the last bits; measured: they do not
    # here (one KV stream per sequence), so every answer must match.
    assert _same(one, many) >= 0.99
    if prompt is TALK:  # real, varied, long answers were compared
        assert len({c.text for c in one}) == len(one)
        assert any(c.finish_reason == "length" for c in one)
    # The prefix is resident now: a second batch answers the same.
    assert _same(one, llm.execute_many(requests)) >= 0.99


@pytest.mark.embedded
def test_batched_stop_rule_ends_where_one_at_a_time_ends() -> None:
    llm = LlamaCppLLM(n_ctx=1024)
    rule = label_stop_rule(["positive", "negative"])
    params = SamplingParams(max_tokens=24, stop_rule=rule)
    requests = _requests(ROWS[19:31], params, TALK)
    one = [llm.execute(*request) for request in requests]
    many = llm.execute_many(requests)
    assert _same(one, many) >= 0.99
    full = llm.execute_many(_requests(ROWS[19:31], params.with_(stop_rule=None), TALK))
    assert sum(c.completion_tokens for c in one) < sum(
        c.completion_tokens for c in full if isinstance(c, Completion)
    )


@pytest.mark.embedded
def test_requests_the_engine_cannot_take_still_get_their_own_outcome() -> None:
    llm = LlamaCppLLM(n_ctx=512)
    short = SamplingParams(max_tokens=6)
    huge = [Message("user", "word " * 600)]
    other = [Message("system", "Answer in French."), Message("user", "Name a colour.")]
    schema = short.with_(response_schema='{"type": "object"}')
    grammar = short.with_(grammar='root ::= "yes" | "no"')
    requests = [
        *_requests(ROWS[31:34], short),
        Request(huge, short),
        Request(other, short),
        Request(other, schema),
        Request(other, grammar),
    ]
    outcomes = llm.execute_many(requests)
    assert isinstance(outcomes[3], LLMError) and "context window" in str(outcomes[3])
    answers = [o for i, o in enumerate(outcomes) if i != 3]
    assert all(isinstance(o, Completion) and o.prompt_tokens > 0 for o in answers)
    assert outcomes[6].text in {"yes", "no"}  # type: ignore[union-attr]
    assert _same([llm.execute(*requests[4])], [outcomes[4]]) == 1.0


@pytest.mark.embedded
def test_evaluator_decodes_a_trial_as_batches_through_cache_and_meter(tmp_path: Path) -> None:
    llm = load_llm("smollm2", cache_path=tmp_path / "c.sqlite", n_ctx=1024)
    backend = llm.inner.inner  # MeteredLLM(CachedLLM(LlamaCppLLM))
    assert isinstance(backend, LlamaCppLLM) and llm.batch_size > 1
    cases = [Case(r["id"], {"text": r["text"]}, r["label"]) for r in ROWS[3:15]]
    metrics = MetricSet(
        [WeightedMetric(build_metric({"name": "label", "labels": ["positive", "negative"]}))]
    )
    params = SamplingParams(max_tokens=16)
    evaluator = Evaluator(llm, metrics, params=params, concurrency=2)
    first = evaluator.evaluate(PROMPT, cases)
    assert first.calls == len(cases) and llm.meter.snapshot().calls == len(cases)
    assert max(backend.recent_batches) == len(cases)
    # The same outputs one at a time (the stop rule included), and then from the cache.
    rows = {row.case_id: row.output for row in first.rows}
    for case in cases:
        one = params.with_(stop_rule=metrics.stop_rule(case))
        assert backend.execute(PROMPT.render(case.inputs), one).text == rows[case.id]
    again = evaluator.evaluate(PROMPT, cases)
    assert [r.output for r in again.rows] == [r.output for r in first.rows]
    assert llm.meter.snapshot().calls == len(cases)  # every answer came from the cache


@pytest.mark.embedded
def test_concurrent_callers_are_batched_and_a_lone_call_is_not() -> None:
    llm = LlamaCppLLM(n_ctx=1024)
    params = SamplingParams(max_tokens=4)
    requests = _requests(ROWS[3:9], params)

    async def main() -> list[Completion]:
        together = await asyncio.gather(*(llm.aexecute(*r) for r in requests))
        await llm.aexecute(*requests[0])
        return list(together)

    answers = asyncio.run(main())
    assert len(answers) == len(requests)
    assert list(llm.recent_batches) == [len(requests), 1]


@pytest.mark.embedded
def test_meta_calls_between_batches_keep_the_trials_prefix_resident() -> None:
    llm = LlamaCppLLM(n_ctx=1024)
    params = SamplingParams(max_tokens=4)
    own = PROMPT.with_(system="Is the review positive or negative? One word.")  # not resident
    trial = _requests(ROWS[3:9], params, own)
    meta = [Message("system", "You improve prompts."), Message("user", "Shorten: be nice.")]

    async def concurrently(requests: list[Request]) -> list[Completion]:
        return list(await asyncio.gather(*(llm.aexecute(*r) for r in requests)))

    start = llm.prefix_stats
    first = asyncio.run(concurrently(trial))
    before = llm.prefix_stats
    paid = before.prefix_evaluated - start.prefix_evaluated
    prefix = before.prefix_tokens - start.prefix_tokens
    assert paid > 0 and prefix > 0  # the first batch evaluates the trial's prefix once
    llm.execute(*Request(meta, params))  # a Meta-LLM call between two of the trial's runs
    lone = asyncio.run(concurrently(trial[:1]))  # the trial's straggler, alone
    again = asyncio.run(concurrently(trial))
    after = llm.prefix_stats
    # Neither the Meta-LLM call nor the lone case made the trial's prefix be evaluated
    # again: both later runs found it resident.
    assert after.groups == before.groups + 2 and after.jobs == before.jobs + 1 + len(trial)
    assert after.prefix_evaluated == before.prefix_evaluated
    assert after.prefix_tokens == before.prefix_tokens + 2 * prefix
    assert list(llm.recent_batches) == [len(trial), 1, len(trial)]
    # ... and the answers are still those of one request at a time.
    one = [llm.execute(*r) for r in trial]
    assert _same(one, first) == _same(one, again) == _same(one[:1], lone) == 1.0
