"""Reality check of the bundled benchmarks: counts, balance, splits, seed prompts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from autotune.bench import SPLITS, Benchmark, load_benchmark, load_prompt, validate_prompt_fields

ROOT = Path(__file__).resolve().parents[2]
# name -> (minimum cases, labels or None)
BUNDLED = {
    "sentiment": (80, ("positive", "negative")),
    "topic": (60, ("world", "sports", "business", "sci_tech")),
    "extract": (30, None),
    "arithmetic": (40, None),
}


def load(name: str) -> Benchmark:
    return load_benchmark(ROOT / "benchmarks" / name / "suite.toml")


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_suite_counts_and_splits(name: str) -> None:
    minimum, labels = BUNDLED[name]
    bench = load(name)
    assert bench.name == name and len(bench.description) > 80
    assert len(bench.cases) >= minimum
    assert len({case.id for case in bench.cases}) == len(bench.cases)
    assert len({json.dumps(dict(case.inputs), sort_keys=True) for case in bench.cases}) == len(
        bench.cases
    )
    parts = [bench.split(split) for split in SPLITS]
    ids = [case.id for part in parts for case in part]
    assert len(ids) == len(set(ids)) == len(bench.cases)  # disjoint and covering everything
    assert all(parts), "every split has cases"
    assert len(parts[0]) == len(bench.cases) // 2  # the 0.5 / 0.25 / 0.25 split
    if labels:
        assert bench.labels == labels
        counts = Counter(case.expected for case in bench.cases)
        assert set(counts) == set(labels) and len(set(counts.values())) == 1  # balanced
        for part in parts:
            part_counts = Counter(case.expected for case in part)
            assert max(part_counts.values()) - min(part_counts.values()) <= 1  # stratified


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_metrics_give_the_expected_answer_full_marks(name: str) -> None:
    bench = load(name)
    for case in bench.cases:
        expected = case.expected
        answer = json.dumps(expected) if isinstance(expected, dict) else f"Answer: {expected}"
        total, scores = bench.metrics.score(answer, case)
        assert total == 1.0, (case.id, scores)
        wrong, _ = bench.metrics.score("I am not sure.", case)
        assert wrong == 0.0, case.id


def test_extract_and_arithmetic_expected_values_are_well_formed() -> None:
    for case in load("extract").cases:
        assert set(case.expected) == {"name", "product", "quantity"}
        assert isinstance(case.expected["quantity"], int) and case.expected["quantity"] > 0
        assert case.expected["name"] in case.inputs["text"]
        assert case.expected["product"] in case.inputs["text"]
    answers = [case.expected for case in load("arithmetic").cases]
    assert all(isinstance(answer, int) for answer in answers)
    assert any(answer < 0 for answer in answers)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_seed_prompt_is_plain_and_fits_the_suite(name: str) -> None:
    bench = load(name)
    prompt = load_prompt(ROOT / "experiments" / f"{name}_seed.txt", bench.user_template)
    assert 10 < len(prompt.system) < 120 and "\n" not in prompt.system
    assert prompt.user_template == bench.user_template and not prompt.demos
    validate_prompt_fields(prompt, bench)
