"""The gate's statistics on known inputs, and properties that must hold for any scores."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotune.report.stats import (
    PairedDiff,
    case_flips,
    is_regression,
    majority_passed,
    repeat_means,
    score_gate,
)

# Scores as metrics produce them: 0/1 labels and a few partial credits.
SCORE = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0.0, 1.0)


@st.composite
def score_matrices(draw: st.DrawFn) -> list[list[float]]:
    """A repeats x cases matrix of scores."""
    cases = draw(st.integers(1, 30))
    repeats = draw(st.integers(1, 4))
    row = st.lists(SCORE, min_size=cases, max_size=cases)
    return draw(st.lists(row, min_size=repeats, max_size=repeats))


def planted(cases: int, lost: int) -> tuple[list[list[float]], list[list[float]]]:
    """Baseline passes every case; the candidate fails ``lost`` of them."""
    baseline = [[1.0] * cases]
    candidate = [[0.0 if case < lost else 1.0 for case in range(cases)]]
    return candidate, baseline


def test_a_planted_thirty_percent_loss_is_a_regression() -> None:
    candidate, baseline = planted(cases=40, lost=12)
    diff, regressed = score_gate(candidate, baseline)
    assert diff.mean == pytest.approx(-0.3)
    assert diff.low <= -0.3 <= diff.high < 0
    assert regressed


def test_a_loss_smaller_than_the_tolerance_passes() -> None:
    candidate, baseline = planted(cases=40, lost=12)
    diff, regressed = score_gate(candidate, baseline, tolerance=0.5)
    assert diff.high > -0.5
    assert not regressed


def test_tolerance_is_compared_with_the_upper_end_of_the_interval() -> None:
    diff = PairedDiff(mean=-0.3, low=-0.45, high=-0.15)
    assert is_regression(diff, 0.0)
    assert is_regression(diff, 0.1)
    assert not is_regression(diff, 0.15)  # the interval reaches -tolerance: not entirely below
    assert not is_regression(diff, 0.2)
    with pytest.raises(ValueError, match="tolerance"):
        is_regression(diff, -0.1)


def test_a_single_lost_case_out_of_many_is_noise_not_a_regression() -> None:
    candidate, baseline = planted(cases=40, lost=1)
    diff, regressed = score_gate(candidate, baseline)
    assert diff.mean == pytest.approx(-1 / 40)
    assert diff.high == 0.0  # most resamples miss the one lost case
    assert not regressed


def test_repeats_average_per_case_before_the_paired_difference() -> None:
    # Case 0 passes 1 of 3 samples, case 1 passes 3 of 3.
    assert repeat_means([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]) == pytest.approx([1 / 3, 1.0])
    assert majority_passed([[True, True], [False, True], [False, True]]) == [False, True]
    assert majority_passed([[True], [False]]) == [False]  # a tie is not a majority


def test_matrices_must_be_rectangular_and_paired() -> None:
    with pytest.raises(ValueError, match="same cases"):
        repeat_means([[1.0, 0.0], [1.0]])
    with pytest.raises(ValueError, match="at least one"):
        repeat_means([])
    with pytest.raises(ValueError, match="differ in length"):
        score_gate([[1.0, 1.0]], [[1.0]])


def test_case_flips_lists_broken_and_fixed_cases() -> None:
    ids = ["a", "b", "c", "d"]
    broken, fixed = case_flips(ids, [True, True, False, False], [True, False, True, False])
    assert (broken, fixed) == (["b"], ["c"])
    with pytest.raises(ValueError):
        case_flips(ids, [True], [True])


@settings(max_examples=150, deadline=None)
@given(score_matrices())
def test_identical_scores_never_regress(scores: list[list[float]]) -> None:
    diff, regressed = score_gate(scores, scores)
    assert (diff.mean, diff.low, diff.high) == (0.0, 0.0, 0.0)
    assert not regressed


@settings(max_examples=150, deadline=None)
@given(score_matrices(), st.randoms(use_true_random=False))
def test_the_same_samples_in_another_order_never_regress(
    scores: list[list[float]], rng: random.Random
) -> None:
    """Noisy but identical: each case's samples arrive in a different repeat order."""
    shuffled = [list(row) for row in scores]
    for case in range(len(scores[0])):
        column = [row[case] for row in scores]
        rng.shuffle(column)
        for row, value in zip(shuffled, column, strict=True):
            row[case] = value
    _, regressed = score_gate(shuffled, scores)
    assert not regressed


@settings(max_examples=150, deadline=None)
@given(score_matrices(), st.data())
def test_a_candidate_at_least_as_good_on_every_case_never_regresses(
    scores: list[list[float]], data: st.DataObject
) -> None:
    better = [[min(1.0, v + data.draw(st.floats(0.0, 1.0))) for v in row] for row in scores]
    diff, regressed = score_gate(better, scores)
    assert diff.mean >= 0.0
    assert not regressed
