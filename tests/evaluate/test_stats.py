import numpy as np
import pytest

from autotune.evaluate.stats import bootstrap_mean_ci, paired_bootstrap_diff_ci


def test_all_equal_scores_give_zero_width_interval() -> None:
    assert bootstrap_mean_ci([0.5] * 40) == (0.5, 0.5, 0.5)


def test_single_score_gives_zero_width_interval() -> None:
    assert bootstrap_mean_ci([1.0]) == (1.0, 1.0, 1.0)


def test_interval_contains_mean_and_is_seeded() -> None:
    scores = [1.0] * 30 + [0.0] * 20
    mean, low, high = bootstrap_mean_ci(scores, seed=3)
    assert mean == pytest.approx(0.6)
    assert low < mean < high
    assert bootstrap_mean_ci(scores, seed=3) == (mean, low, high)


def test_binary_interval_matches_normal_approximation() -> None:
    # For n=400 and p=0.5 the 95% interval half-width is about 1.96 * sqrt(p(1-p)/n).
    scores = [1.0, 0.0] * 200
    mean, low, high = bootstrap_mean_ci(scores, n_resamples=4000)
    half_width = 1.96 * np.sqrt(0.25 / 400)
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)
    assert mean == 0.5


def test_interval_narrows_with_more_cases() -> None:
    pattern = [1.0, 0.0, 1.0, 0.5]
    _, low_small, high_small = bootstrap_mean_ci(pattern * 5)
    _, low_big, high_big = bootstrap_mean_ci(pattern * 100)
    assert high_big - low_big < (high_small - low_small) / 3


def test_many_distinct_values_go_to_scipy_and_agree() -> None:
    from scipy import stats

    rng = np.random.default_rng(1)
    scores = rng.random(1000)  # 1000 distinct values: scipy.stats.bootstrap
    mean, low, high = bootstrap_mean_ci(scores)
    standard_error = scores.std(ddof=1) / np.sqrt(scores.size)
    assert mean == pytest.approx(scores.mean())
    assert (high - low) / 2 == pytest.approx(1.96 * standard_error, rel=0.1)
    theirs = stats.bootstrap(
        (scores,), np.mean, n_resamples=2000, method="percentile", random_state=0
    ).confidence_interval
    assert low == pytest.approx(theirs.low, abs=0.01)
    assert high == pytest.approx(theirs.high, abs=0.01)


def test_paired_difference_of_identical_lists_is_zero() -> None:
    scores = [0.0, 1.0, 0.5, 1.0]
    assert paired_bootstrap_diff_ci(scores, scores) == (0.0, 0.0, 0.0)


def test_paired_difference_detects_a_consistent_gain() -> None:
    before = [0.0] * 30 + [1.0] * 30
    after = [1.0] * 20 + [0.0] * 10 + [1.0] * 30
    diff, low, high = paired_bootstrap_diff_ci(after, before)
    assert diff == pytest.approx(20 / 60)
    assert 0.0 < low < diff < high


def test_paired_difference_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_diff_ci([1.0, 0.0], [1.0])


@pytest.mark.parametrize(
    ("scores", "kwargs"),
    [([], {}), ([1.0], {"confidence": 1.0}), ([1.0], {"n_resamples": 0})],
)
def test_bad_arguments_raise(scores: list[float], kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        bootstrap_mean_ci(scores, **kwargs)  # type: ignore[arg-type]
