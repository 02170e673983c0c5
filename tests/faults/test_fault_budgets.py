"""Time bounds hold against a hanging server; timeouts and retries are settable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from llm_http_doubles import Act, FaultServer

from autotune._run import build_llms
from autotune.bench.case import Case
from autotune.errors import BudgetExceeded
from autotune.evaluate import EvalBudgetExceeded, Evaluator
from autotune.experiment import load_experiment
from autotune.llm import Message, SamplingParams, load_llm
from autotune.llm.accounting import Budget
from autotune.llm.openai_compat import OpenAICompatLLM
from autotune.metrics.base import MetricSet, WeightedMetric
from autotune.metrics.match import ExactMatch
from autotune.prompt import Prompt

HI = [Message("user", "hi")]


def test_wall_budget_holds_within_one_call_against_a_hanging_server(
    server: FaultServer,
) -> None:
    server.play(Act("hang"))
    # 30 s per attempt x 5 attempts would be 150 s; the budget of 1 s must hold.
    llm = load_llm(
        f"openai:m@{server.base_url}",
        no_cache=True,
        timeout_s=30,
        max_retries=4,
        budget=Budget(max_wall_s=1.0),
    )
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as caught:
        llm.execute(HI, SamplingParams())
    assert time.monotonic() - started < 3
    assert caught.value.resource == "wall_s"
    assert server.count == 1


def test_wall_budget_stops_a_concurrent_evaluation_against_a_hanging_server(
    server: FaultServer,
) -> None:
    server.play(Act("hang"))
    llm = load_llm(
        f"openai:m@{server.base_url}", no_cache=True, timeout_s=30, budget=Budget(max_wall_s=1)
    )
    cases = [Case(f"c{i}", {"input": f"q{i}"}, expected="a") for i in range(20)]
    metrics = MetricSet([WeightedMetric(ExactMatch())])
    started = time.monotonic()
    with pytest.raises(EvalBudgetExceeded):
        Evaluator(llm, metrics, concurrency=4).evaluate(Prompt(system="Answer."), cases)
    assert time.monotonic() - started < 4


def test_a_phase_has_its_own_budget_and_still_counts_in_the_totals(
    server: FaultServer,
) -> None:
    llm = load_llm(f"openai:m@{server.base_url}", no_cache=True, budget=Budget(max_calls=1))
    llm.execute(HI, SamplingParams())
    with pytest.raises(BudgetExceeded):
        llm.execute(HI, SamplingParams())  # the search budget is spent
    final = llm.phase(Budget(max_calls=2))
    final.execute(HI, SamplingParams())
    final.execute(HI, SamplingParams())
    with pytest.raises(BudgetExceeded) as caught:
        final.execute(HI, SamplingParams())
    assert caught.value.limit == 2
    assert final.meter.snapshot().calls == 2
    assert llm.meter.snapshot().calls == 3  # totals stay complete
    assert server.count == 3


def test_timeout_and_retries_come_from_the_experiment_file(tmp_path: Path) -> None:
    (tmp_path / "suite.toml").write_text('data = "c.jsonl"\n')
    (tmp_path / "seed.txt").write_text("Answer.\n")
    (tmp_path / "exp.toml").write_text(
        'name = "t"\nbenchmark = "suite.toml"\nseed_prompt = "seed.txt"\n\n[models]\n'
        'task = "openai:m@http://127.0.0.1:9/v1"\ntimeout_s = 2.5\nmax_retries = 1\n'
        "cache = false\n"
    )
    task, _ = build_llms(load_experiment(tmp_path / "exp.toml"))
    backend = task.inner  # type: ignore[attr-defined]
    assert isinstance(backend, OpenAICompatLLM)
    assert (backend.timeout_s, backend.max_retries) == (2.5, 1)


@pytest.mark.usefixtures("workdir")
def test_cli_retries_option_bounds_the_attempts(server: FaultServer) -> None:
    from autotune.cli.main import main

    server.play(Act("status", 500, body="{}"))
    assert main(["chat", "hi", "--model", f"openai:m@{server.base_url}", "--retries", "2"]) == 2
    assert server.count == 3
    server.play(Act("status", 500, body="{}"))
    assert main(["chat", "hi", "--model", f"openai:m@{server.base_url}", "--retries", "0"]) == 2
    assert server.count == 1
