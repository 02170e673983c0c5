"""After the search: pick the best candidate on validation, then test it once.

The test split is touched here and nowhere else: only the validation winner and the
seed prompt are scored on it, so the reported gain is an honest held-out number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import optuna

from autotune.bench.case import Case
from autotune.evaluate.results import EvalResult
from autotune.evaluate.stats import paired_bootstrap_diff_ci
from autotune.prompt import Prompt
from autotune.search._trial import TrialRunner
from autotune.search.result import HeldOut


@dataclass
class Finalist:
    """A candidate scored on the validation split."""

    prompt: Prompt
    trial: int | None
    train_score: float
    validation: EvalResult


def top_trials(study: optuna.Study, runner: TrialRunner, k: int) -> list[tuple[int, Prompt, float]]:
    """The ``k`` best completed trials as (number, prompt, train score), one per prompt."""
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    ranked = sorted(completed, key=lambda t: (-(t.value or 0.0), t.number))
    chosen: list[tuple[int, Prompt, float]] = []
    seen: set[str] = set()
    for trial in ranked:
        entry = runner.space.pool.get(int(trial.params["instruction"]))
        if entry is None:
            continue
        prompt = prompt_of(runner, trial, entry.instruction)
        if prompt.fingerprint() in seen:
            continue
        seen.add(prompt.fingerprint())
        chosen.append((trial.number, prompt, float(trial.value or 0.0)))
        if len(chosen) == k:
            break
    return chosen


def prompt_of(runner: TrialRunner, trial: optuna.trial.FrozenTrial, instruction: str) -> Prompt:
    """The prompt a finished trial scored, with the temperature it used."""
    prompt = runner.space.prompt_for(trial.params, instruction, trial.user_attrs)
    return prompt.with_(temperature=float(trial.params.get("temperature", 0.0)))


def score(runner: TrialRunner, prompt: Prompt, cases: Sequence[Case]) -> EvalResult:
    """Score a prompt at the temperature it was tuned with."""
    return runner.evaluator(prompt.temperature or 0.0).evaluate(prompt, cases)


def select_best(
    runner: TrialRunner, study: optuna.Study, validation: Sequence[Case], k: int
) -> tuple[Finalist, Finalist]:
    """(seed, winner) on the validation split; the seed wins ties and empty searches."""
    seed_prompt = runner.space.seed_prompt
    seed = Finalist(seed_prompt, None, 0.0, score(runner, seed_prompt, validation))
    best = seed
    for number, prompt, train_score in top_trials(study, runner, k):
        if prompt.fingerprint() == seed_prompt.fingerprint():
            continue
        finalist = Finalist(prompt, number, train_score, score(runner, prompt, validation))
        if finalist.validation.mean > best.validation.mean:
            best = finalist
    return seed, best


def held_out(
    runner: TrialRunner, seed: Prompt, best: Prompt, test: Sequence[Case], seed_value: int
) -> HeldOut:
    """Seed and best on the test split with the paired bootstrap CI of the gain."""
    seed_result = score(runner, seed, test)
    # When the seed wins validation, its test rows are the best's: score once.
    same = best.fingerprint() == seed.fingerprint()
    best_result = seed_result if same else score(runner, best, test)
    gain, low, high = paired_bootstrap_diff_ci(
        best_result.scores(), seed_result.scores(), seed=seed_value
    )
    return HeldOut(seed_result, best_result, gain, low, high)
