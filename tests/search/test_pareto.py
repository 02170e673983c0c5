"""The per-case Pareto front: best on at least one case, weighted, not dominated."""

from __future__ import annotations

import random

from autotune.search.candidate import Candidate, CaseScore
from autotune.search.pareto import case_winners, front_weights, select_parent
from autotune.search.parts import PromptParts

CASES = ["a", "b", "c", "d"]


def cand(number: int, scores: dict[str, float | None], persona: str = "") -> Candidate:
    rows = {case: CaseScore(score, 10 + len(persona)) for case, score in scores.items()}
    return Candidate(number, PromptParts(persona=persona), rows={"train": rows}, status="accepted")


def test_each_case_names_its_best_candidates_and_unsolved_cases_are_left_out() -> None:
    population = [
        cand(0, {"a": 1, "b": 0, "c": 0, "d": 0}),
        cand(1, {"a": 1, "b": 1, "c": 0, "d": 0}),
    ]
    assert case_winners(population, CASES) == {"a": [0, 1], "b": [1]}


def test_a_dominated_candidate_leaves_the_front_and_weights_count_cases_won() -> None:
    population = [
        cand(0, {"a": 1, "b": 0, "c": 0, "d": 0}),  # a subset of #1's cases: dominated
        cand(1, {"a": 1, "b": 1, "c": 0, "d": 0}),
        cand(2, {"a": 0, "b": 0, "c": 1, "d": 0}),  # alone on c: stays
    ]
    assert front_weights(population, CASES) == {1: 2, 2: 1}


def test_on_equal_cases_the_cheaper_prompt_stays() -> None:
    cheap = cand(0, {"a": 1, "b": 1})
    costly = cand(1, {"a": 1, "b": 1}, persona="You are a very long persona indeed.")
    assert front_weights([costly, cheap], CASES) == {0: 2}


def test_errors_are_not_scores() -> None:
    population = [cand(0, {"a": None, "b": 1}), cand(1, {"a": 0.5, "b": 0})]
    assert case_winners(population, CASES) == {"a": [1], "b": [0]}


def test_parents_are_drawn_in_proportion_to_cases_won() -> None:
    rng = random.Random(0)
    draws = [select_parent({1: 3, 2: 1}, rng) for _ in range(4000)]
    assert 0.70 < draws.count(1) / len(draws) < 0.80
