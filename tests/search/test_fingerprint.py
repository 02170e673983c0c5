"""Study fingerprints: content digests, a diff that names the change, one-line mismatch."""

from __future__ import annotations

import dataclasses

import pytest

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.metrics.base import MetricSet, WeightedMetric
from autotune.metrics.match import ExactMatch
from autotune.prompt import Prompt
from autotune.search.fingerprint import (
    StudyFingerprint,
    StudyMismatch,
    check_fingerprint,
    diff_fingerprints,
    study_fingerprint,
)
from autotune.search.settings import SearchSettings

SEED = Prompt(system="Label it.")


def bench(words: list[str], test: int = 1) -> Benchmark:
    cases = tuple(Case(f"c{i}", {"input": w}, expected=w) for i, w in enumerate(words))
    splits = {"train": cases[:-test], "validation": cases[:1], "test": cases[-test:]}
    metrics = MetricSet([WeightedMetric(ExactMatch())])
    return Benchmark("b", cases, metrics, "{input}", splits=splits, source="/a/suite.toml")


def fp(benchmark: Benchmark, **changes: object) -> StudyFingerprint:
    settings = SearchSettings().model_copy(update=changes).model_dump()
    return study_fingerprint(benchmark, SEED, "openai:m@http://u:pw@h:1/v1", "fake", settings)


def test_same_configuration_gives_the_same_fingerprint_wherever_the_files_are() -> None:
    first = fp(bench(["a", "b", "c"]))
    moved = dataclasses.replace(bench(["a", "b", "c"]), source="/elsewhere/suite.toml")
    assert fp(moved) == first
    assert StudyFingerprint.from_dict(first.to_dict()) == first
    assert "pw" not in str(first.to_dict())  # credentials never stored


def test_more_trials_or_concurrency_do_not_make_another_study() -> None:
    assert fp(bench(["a", "b"])) == fp(bench(["a", "b"]), n_trials=99, concurrency=2)


def test_diff_names_what_changed() -> None:
    base = fp(bench(["a", "b", "c"]))
    assert diff_fingerprints(base, fp(bench(["a", "b", "x"]))) == ["benchmark"]
    assert diff_fingerprints(base, fp(bench(["a", "b", "c"], test=2))) == ["splits"]
    assert diff_fingerprints(base, fp(bench(["a", "b", "c"]), pool_size=4)) == ["search.pool_size"]
    other_seed = study_fingerprint(
        bench(["a", "b", "c"]), Prompt(system="New."), "openai:m@http://h:1/v1", "fake", {}
    )
    assert {"seed_prompt", "search.demo_counts"} <= set(diff_fingerprints(base, other_seed))


def test_a_changed_benchmark_stops_with_one_line_and_cannot_be_forced() -> None:
    stored = fp(bench(["a", "b", "c"])).to_dict()
    with pytest.raises(StudyMismatch) as caught:
        check_fingerprint(stored, fp(bench(["a", "b", "x"])), study="s", force=True)
    message = str(caught.value)
    assert "\n" not in message and "changed: benchmark" in message
    assert "--new-study" in message and "--force" not in message
    assert not caught.value.resumable


def test_search_space_change_is_not_resumable_unless_declared_safe() -> None:
    stored = fp(bench(["a", "b"]))
    changed = fp(bench(["a", "b"]), demo_counts=[0, 2])
    with pytest.raises(StudyMismatch, match=r"search\.demo_counts"):
        check_fingerprint(stored, changed, study="s", force=True)
    safe = check_fingerprint(stored, changed, study="s", force=True, safe_settings=["demo_counts"])
    assert safe == ["search.demo_counts"]


def test_a_changed_model_offers_force_and_force_resumes() -> None:
    stored = fp(bench(["a", "b"]))
    current = dataclasses.replace(stored, task_model="openai:other")
    with pytest.raises(StudyMismatch) as caught:
        check_fingerprint(stored, current, study="s")
    assert "--force" in str(caught.value) and caught.value.changed == ["task_model"]
    assert check_fingerprint(stored, current, study="s", force=True) == ["task_model"]


def test_unchanged_or_unfingerprinted_studies_resume() -> None:
    current = fp(bench(["a", "b"]))
    assert check_fingerprint(current.to_dict(), current, study="s") == []
    assert check_fingerprint(None, current, study="s") == []
