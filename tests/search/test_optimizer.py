"""The optimizer with scripted task and Meta-LLMs: the loop, its data hygiene, budgets."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_doubles import EDIT

from autotune.bench.benchmark import Benchmark
from autotune.errors import LLMError
from autotune.llm.accounting import Budget
from autotune.llm.fake import ScriptedLLM
from autotune.prompt import Prompt
from autotune.search._driver import CANDIDATE_ATTR
from autotune.search.events import Progress
from autotune.search.fingerprint import StudyMismatch
from autotune.search.optimizer import PromptOptimizer
from autotune.search.reader import read_study
from autotune.search.settings import SearchSettings


def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'optuna.db'}"


def make(
    tmp_path: Path, task: ScriptedLLM, meta: ScriptedLLM, settings: SearchSettings, **kw: object
) -> PromptOptimizer:
    return PromptOptimizer(
        task, meta, settings=settings, storage=storage(tmp_path), study_name="toy", **kw
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("searcher", ["evolution", "tpe"])
def test_search_edits_from_failures_and_beats_the_seed(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
    searcher: str,
) -> None:
    chosen = settings.model_copy(update={"searcher": searcher})
    result = make(tmp_path, task_llm, meta_llm, chosen).optimize(benchmark, seed_prompt)

    assert result.searcher == searcher
    assert result.held_out is not None
    assert result.held_out.seed.mean == pytest.approx(0.5)
    assert result.held_out.best.mean == pytest.approx(1.0)
    assert result.held_out.gain_ci_low > 0
    assert "CAREFULLY" in result.best_prompt.system or EDIT in result.best_prompt.system
    assert sum(result.candidates.values()) == settings.n_trials
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    assert len(study.trials) == settings.n_trials


def test_a_section_edit_is_shown_the_parents_failures(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    make(tmp_path, task_llm, meta_llm, settings).optimize(benchmark, seed_prompt)

    edits = [m[-1].content for m, _ in meta_llm.requests if "You improve one part" in m[-1].content]
    assert edits, "the Meta-LLM was never asked for an edit"
    generic = [text for text in edits if "The model answered" in text]
    assert generic, "no edit showed the model's wrong answers"
    assert "The model answered: positive, I think" in generic[0]
    assert "The right answer: negative" in generic[0]
    assert "train review" in generic[0]
    labelled = [text for text in edits if 'texts should be labelled "negative"' in text]
    assert labelled and "train review" in labelled[0]


def test_test_split_never_reaches_the_meta_llm_or_the_search(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    calls_at: dict[str, int] = {}

    def on_progress(event: Progress) -> None:
        calls_at.setdefault(event.phase, task_llm.calls)

    make(tmp_path, task_llm, meta_llm, settings, on_progress=on_progress).optimize(
        benchmark, seed_prompt
    )

    def mentions_test(messages: list) -> bool:  # type: ignore[type-arg]
        return any("test review" in m.content for m in messages)

    assert not any(mentions_test(messages) for messages, _ in meta_llm.requests)
    before_test = task_llm.requests[: calls_at["held-out"]]
    assert not any(mentions_test(messages) for messages, _ in before_test)
    final = [m for m, _ in task_llm.requests[calls_at["held-out"] :] if mentions_test(m)]
    assert len(final) == 2 * len(benchmark.split("test"))  # seed and winner, once each


def test_a_call_budget_stops_the_search_and_the_final_phase_has_its_own(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    final_budget = 20  # validation has 8 cases, test 8: not enough for everything
    result = make(
        tmp_path,
        task_llm,
        meta_llm,
        settings,
        budget=Budget(max_calls=60),
        final_budget=final_budget,
    ).optimize(benchmark, seed_prompt)

    assert result.stopped_by == "calls"
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) < settings.n_trials  # the rest stay tickets for a resumed run
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE  # finished work kept
    assert result.usage["final_calls"] <= final_budget
    assert result.usage["calls"] - result.usage["final_calls"] <= 60
    assert result.unscored, "what the final budget could not score is listed"


def test_compile_returns_a_better_prompt_in_memory_without_a_test_split(
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    optimizer = PromptOptimizer(task_llm, meta_llm, settings=settings)
    assert optimizer.storage == ":memory:"  # the Python API's study is private to the call
    best = optimizer.compile(
        seed_prompt,
        benchmark.split("train"),
        benchmark.split("validation"),
        metrics=benchmark.metrics,
        labels=benchmark.labels,
    )
    assert EDIT in best.system
    assert not any("test review" in m.content for ms, _ in task_llm.requests for m in ms)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers=st.lists(st.text(max_size=300), min_size=1, max_size=5))
def test_garbage_meta_llm_output_never_crashes_the_search(
    answers: list[str],
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    meta = ScriptedLLM(answers)
    for searcher in ("evolution", "tpe"):
        small = settings.model_copy(update={"n_trials": 6, "searcher": searcher})
        optimizer = PromptOptimizer(task_llm, meta, settings=small, study_name="garbage")
        result = optimizer.optimize(benchmark, seed_prompt)
        assert sum(result.candidates.values()) == small.n_trials
        assert result.rejected_proposals <= meta.calls
        assert result.held_out is not None


def test_a_chatter_edit_is_rejected_counted_and_never_scored(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    chatter = ScriptedLLM(["Sure! Here is the prompt you asked for, I hope it helps."])
    only_edits = settings.model_copy(update={"n_trials": 8})
    optimizer = make(tmp_path, task_llm, chatter, only_edits)
    result = optimizer.optimize(benchmark, seed_prompt)

    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    rejected = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert result.rejected_proposals == len(rejected) > 0
    # Every Meta-LLM answer was chatter: each edit failed (a label guide asks each
    # label up to twice before it gives up), and none was scored.
    assert 0 < result.rejected_proposals <= chatter.calls
    edits = [row.candidate for row in read_study("toy", storage(tmp_path)).candidates]
    edits = [c for c in edits if c.raw]  # the candidates a Meta-LLM answer made
    assert edits and all(c.status == "failed" and not c.scores() for c in edits)
    assert "Sure" not in result.best_prompt.system


def test_a_winning_seed_is_scored_once_on_the_test_split(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    unhelpful = ScriptedLLM(["## Persona\nA helper who reads reviews of films."])
    result = make(tmp_path, task_llm, unhelpful, settings).optimize(benchmark, seed_prompt)

    assert result.best_candidate is None  # nothing beat the seed on validation
    assert result.best_prompt == seed_prompt
    assert result.held_out is not None and result.held_out.gain == 0.0
    test_requests = [m for m, _ in task_llm.requests if any("test review" in x.content for x in m)]
    assert len(test_requests) == len(benchmark.split("test"))


def test_a_finished_study_is_reported_not_run_again(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    first = make(tmp_path, task_llm, meta_llm, settings).optimize(benchmark, seed_prompt)
    calls = task_llm.calls + meta_llm.calls

    again = make(tmp_path, task_llm, meta_llm, settings).optimize(benchmark, seed_prompt)

    assert task_llm.calls + meta_llm.calls == calls
    assert again.best_prompt == first.best_prompt
    assert again.summary()["best_test"] == first.summary()["best_test"]
    assert again.contributions == first.contributions


def test_an_outage_fails_candidates_and_stops_the_search_with_one_error(
    tmp_path: Path,
    benchmark: Benchmark,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    def down(messages: object, params: object) -> str:
        raise LLMError("endpoint http://127.0.0.1:9/v1 failed after 2 attempts: connection failed")

    with pytest.raises(LLMError, match="failed on 3 candidates in a row"):
        make(tmp_path, ScriptedLLM(down), meta_llm, settings).optimize(benchmark, seed_prompt)
    study = optuna.load_study(study_name="toy", storage=storage(tmp_path))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert [t.state for t in finished] == [optuna.trial.TrialState.FAIL] * 3
    assert all(t.value is None for t in study.trials)  # an outage is never a score
    # The seed, tried three times: it never counted, so nothing was built on it.
    assert all(t.user_attrs[CANDIDATE_ATTR]["operator"] == "seed" for t in finished)


def test_a_study_is_its_configuration(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    small = settings.model_copy(update={"n_trials": 2})
    make(tmp_path, task_llm, meta_llm, small).optimize(benchmark, seed_prompt)
    fewer = benchmark.split("train")[:-1]
    changed = Benchmark(
        name=benchmark.name, cases=benchmark.cases, metrics=benchmark.metrics,
        user_template=benchmark.user_template, description=benchmark.description,
        splits={**benchmark.splits, "train": fewer}, labels=benchmark.labels,
    )  # fmt: skip
    with pytest.raises(StudyMismatch, match="--new-study"):
        make(tmp_path, task_llm, meta_llm, small).optimize(changed, seed_prompt)
    other_seed = seed_prompt.with_(system="Classify the review.")
    with pytest.raises(StudyMismatch):
        make(tmp_path, task_llm, meta_llm, small).optimize(benchmark, other_seed)
    forced = make(tmp_path, task_llm, meta_llm, small, force_resume=True)
    assert forced.optimize(benchmark, other_seed).held_out is not None
    more = settings.model_copy(update={"n_trials": 3})  # more trials: a plain resume
    assert make(tmp_path, task_llm, meta_llm, more).optimize(benchmark, seed_prompt).held_out
