"""The optimizer with scripted task and Meta-LLMs: the loop, its data hygiene, resume."""

from __future__ import annotations

import socket
from pathlib import Path

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotune.bench.benchmark import Benchmark
from autotune.llm.accounting import Budget
from autotune.llm.fake import ScriptedLLM
from autotune.prompt import Prompt
from autotune.search.optimizer import PromptOptimizer
from autotune.search.settings import SearchSettings


def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'optuna.db'}"


def make(
    tmp_path: Path, task: ScriptedLLM, meta: ScriptedLLM, settings: SearchSettings, **kw: object
) -> PromptOptimizer:
    return PromptOptimizer(
        task, meta, settings=settings, storage=storage(tmp_path), study_name="toy", **kw
    )  # type: ignore[arg-type]


def count_generator_calls(meta: ScriptedLLM) -> int:
    return sum("Write a system prompt for" in m[-1].content for m, _ in meta.requests)


def test_search_refines_from_failures_and_beats_the_seed(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    result = make(tmp_path, task_llm, meta_llm, settings).optimize(benchmark, seed_prompt)

    assert result.held_out is not None
    assert result.held_out.seed.mean == pytest.approx(0.5)
    assert result.held_out.best.mean == pytest.approx(1.0)
    assert result.held_out.gain_ci_low > 0
    assert "CAREFULLY" in result.best_prompt.system
    assert sum(result.trials.values()) == settings.n_trials


def test_refinement_receives_the_failures(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    make(tmp_path, task_llm, meta_llm, settings).optimize(benchmark, seed_prompt)

    critic_requests = [
        messages[-1].content
        for messages, _ in meta_llm.requests
        if "most important problems" in messages[-1].content
    ]
    assert critic_requests, "the critic was never asked"
    first = critic_requests[0]
    # A failing training case: its input, the model's wrong output and the expected label.
    assert "Model output: positive, I think" in first
    assert "Expected: negative" in first
    assert "train review" in first


def test_test_split_never_reaches_the_proposer_or_the_search(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    searched: list[int] = []

    def on_trial(number: int, outcome: object) -> None:
        searched.append(task_llm.calls)

    optimizer = make(tmp_path, task_llm, meta_llm, settings, on_trial=on_trial)
    optimizer.optimize(benchmark, seed_prompt)

    def mentions_test(messages: list) -> bool:  # type: ignore[type-arg]
        return any("test review" in m.content for m in messages)

    assert not any(mentions_test(messages) for messages, _ in meta_llm.requests)
    search_requests = task_llm.requests[: searched[-1]]
    assert not any(mentions_test(messages) for messages, _ in search_requests)
    # The final held-out scoring does use the test split (seed and best only).
    final = [m for m, _ in task_llm.requests[searched[-1] :] if mentions_test(m)]
    assert len(final) == 2 * len(benchmark.split("test"))


def test_a_killed_run_resumes_without_rerunning_finished_trials(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    finished: list[int] = []

    def kill_after_three(number: int, outcome: object) -> None:
        finished.append(number)
        if len(finished) == 3:
            raise KeyboardInterrupt  # like Ctrl-C / a killed worker, mid-study

    with pytest.raises(KeyboardInterrupt):
        make(tmp_path, task_llm, meta_llm, settings, on_trial=kill_after_three).optimize(
            benchmark, seed_prompt
        )
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    before = {t.number: (t.state, t.value, t.params) for t in study.trials}
    assert len(before) == 3
    generator_calls = count_generator_calls(meta_llm)

    resumed: list[int] = []
    result = make(
        tmp_path, task_llm, meta_llm, settings, on_trial=lambda n, o: resumed.append(n)
    ).optimize(benchmark, seed_prompt)

    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    assert len(study.trials) == settings.n_trials
    assert resumed == list(range(3, settings.n_trials))  # only the missing trials ran
    for number, (state, value, params) in before.items():
        trial = study.trials[number]
        assert (trial.state, trial.value, trial.params) == (state, value, params)
    # The pool survived: the Generator was not asked again for its slots.
    assert count_generator_calls(meta_llm) == generator_calls
    assert result.held_out is not None


def test_a_trial_killed_mid_evaluation_is_marked_failed_on_resume(
    tmp_path: Path,
    benchmark: Benchmark,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    calls = {"n": 0}

    def dies_on_the_twentieth_call(messages: list, params: object) -> str:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt
        return "positive"

    dying = ScriptedLLM(dies_on_the_twentieth_call)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path, dying, meta_llm, settings).optimize(benchmark, seed_prompt)
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    assert study.trials[-1].state == optuna.trial.TrialState.RUNNING

    make(tmp_path, ScriptedLLM(["positive"]), meta_llm, settings).optimize(benchmark, seed_prompt)
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.RUNNING not in states
    assert len(study.trials) == settings.n_trials


def test_a_call_budget_stops_the_search_cleanly(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    budget = Budget(max_calls=30)
    result = make(tmp_path, task_llm, meta_llm, settings, budget=budget).optimize(
        benchmark, seed_prompt
    )

    assert result.stopped_by == "calls"
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    assert len(study.trials) < settings.n_trials
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE  # finished work kept
    assert result.held_out is not None  # the final scoring still ran, outside the budget
    calls_in_search = task_llm.calls + meta_llm.calls - 2 * len(benchmark.split("test"))
    assert calls_in_search - len(benchmark.split("validation")) * 4 <= 30


def test_compile_returns_a_better_prompt_without_a_test_split(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    optimizer = make(tmp_path, task_llm, meta_llm, settings)
    best = optimizer.compile(
        seed_prompt,
        benchmark.split("train"),
        benchmark.split("validation"),
        metrics=benchmark.metrics,
        labels=benchmark.labels,
    )
    assert "CAREFULLY" in best.system
    assert not any("test review" in m.content for ms, _ in task_llm.requests for m in ms)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers=st.lists(st.text(max_size=400), min_size=1, max_size=5))
def test_garbage_meta_llm_output_never_crashes_the_search(
    answers: list[str],
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    meta = ScriptedLLM(answers)
    small = settings.model_copy(update={"n_trials": 4, "n_generated": 2})
    optimizer = PromptOptimizer(
        task_llm, meta, settings=small, storage=":memory:", study_name="garbage"
    )
    result = optimizer.optimize(benchmark, seed_prompt)
    assert sum(result.trials.values()) == small.n_trials
    proposals = meta.calls
    assert result.rejected_proposals <= proposals
    assert result.held_out is not None


def test_resume_leaves_running_trials_of_live_workers_alone(tmp_path: Path) -> None:
    from autotune.search._study import WORKER_ATTR, fail_interrupted_trials

    study = optuna.create_study(storage=storage(tmp_path), study_name="shared")
    other_host = study.ask()
    other_host.set_user_attr(WORKER_ATTR, "some-other-host:1")
    dead_here = study.ask()
    dead_here.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:999999999")
    unknown = study.ask()

    assert fail_interrupted_trials(study) == 2
    states = {t.number: t.state for t in study.get_trials()}
    assert states[other_host.number] == optuna.trial.TrialState.RUNNING
    assert states[dead_here.number] == optuna.trial.TrialState.FAIL
    assert states[unknown.number] == optuna.trial.TrialState.FAIL


def test_a_winning_seed_is_scored_once_on_the_test_split(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    unhelpful = ScriptedLLM(["## Persona\nA helper who reads reviews of films."])
    result = make(tmp_path, task_llm, unhelpful, settings).optimize(benchmark, seed_prompt)

    assert result.best_trial is None  # nothing beat the seed on validation
    assert result.held_out is not None
    assert result.held_out.gain == 0.0
    test_requests = [m for m, _ in task_llm.requests if any("test review" in x.content for x in m)]
    assert len(test_requests) == len(benchmark.split("test"))
