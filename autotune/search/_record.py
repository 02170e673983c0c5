"""A study's outcome: assembled from the final phase, kept in the study, read back.

A finished study keeps its result in the study's user attribute :data:`FINAL_ATTR`, so
running the same command again reports it instead of scoring (and logging) it twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import optuna

from autotune.evaluate.results import EvalResult
from autotune.prompt import Prompt
from autotune.search._driver import recorded
from autotune.search._final import FinalOutcome
from autotune.search.population import Population
from autotune.search.result import Contribution, Finalist, HeldOut, OptimizationResult

FINAL_ATTR = "autotune.final"
PARENT_RUN_ATTR = "mlflow_parent_run_id"


def result_of(
    study_name: str,
    searcher: str,
    seed_prompt: Prompt,
    outcome: FinalOutcome,
    population: Population,
    usage: dict[str, Any],
    parent_run_id: str,
) -> OptimizationResult:
    """The result of a study whose final phase just ran."""
    winner = outcome.winner
    best = (  # the seed as the user wrote it, with a calibration if it earned one
        seed_prompt.with_(calibration=winner.parts.calibration)
        if winner.number is None
        else winner.parts.to_prompt("best")
    )
    return OptimizationResult(
        study_name=study_name,
        searcher=searcher,
        seed_prompt=seed_prompt,
        best_prompt=best,
        best_candidate=winner.number,
        seed_validation=outcome.seed.validation.mean,
        best_validation=winner.validation.mean,
        held_out=outcome.held_out,
        finalists=outcome.finalists,
        contributions=outcome.contributions,
        candidates=dict(Counter(c.status for c in population)),
        rejected_proposals=rejected_proposals(population),
        operators=population.operator_stats(),
        unscored=outcome.unscored,
        usage=usage,
        parent_run_id=parent_run_id or None,
    )


def rejected_proposals(population: Population) -> int:
    """Meta-LLM edits that never reached scoring (debris, off-task, unparsable)."""
    return sum(1 for c in population if c.status == "failed" and c.note.startswith("edit rejected"))


def final_summary(result: OptimizationResult) -> dict[str, Any]:
    """The outcome as JSON: what the study keeps and workers share (:func:`from_summary`)."""
    summary = result.summary()
    summary["best_prompt"] = result.best_prompt.to_dict()
    return summary


def save_final(study: optuna.Study, result: OptimizationResult) -> None:
    """Keep the outcome in the study (only a finished search's outcome is kept)."""
    if result.stopped_by is not None:
        return
    study.set_user_attr(FINAL_ATTR, final_summary(result))


def load_final(
    study: optuna.Study, seed_prompt: Prompt, n_trials: int
) -> OptimizationResult | None:
    """The kept outcome of a finished study (``n_trials`` candidates recorded), else None."""
    data = study.user_attrs.get(FINAL_ATTR)
    if not data or recorded(study) < n_trials:
        return None
    return from_summary(data, seed_prompt)


def from_summary(data: dict[str, Any], seed_prompt: Prompt) -> OptimizationResult:
    """An :class:`OptimizationResult` rebuilt from :meth:`OptimizationResult.summary`."""
    held = None
    if data.get("gain") is not None:
        low, high = data["gain_ci"]
        held = HeldOut(
            _score(data["seed_test"]), _score(data["best_test"]), data["gain"], low, high
        )
    return OptimizationResult(
        study_name=data["study"],
        searcher=data.get("searcher", "evolution"),
        seed_prompt=seed_prompt,
        best_prompt=Prompt.from_dict(data["best_prompt"]),
        best_candidate=data.get("best_candidate"),
        seed_validation=data["seed_validation"],
        best_validation=data["best_validation"],
        held_out=held,
        finalists=[Finalist(**f) for f in data.get("finalists", [])],
        contributions=[
            Contribution(c["part"], c["score_with"], c["score_without"], c["kept"])
            for c in data.get("contributions", [])
        ],
        candidates=dict(data.get("candidates", {})),
        rejected_proposals=int(data.get("rejected_proposals", 0)),
        operators={k: (int(v[0]), int(v[1])) for k, v in data.get("operators", {}).items()},
        unscored=list(data.get("unscored", [])),
        usage=dict(data.get("usage", {})),
        parent_run_id=data.get("mlflow_parent_run_id"),
    )


def _score(mean: float) -> EvalResult:
    return EvalResult(rows=[], mean=mean, ci_low=mean, ci_high=mean)
