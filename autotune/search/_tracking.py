"""What the search logs: one child run per trial, proposals and the result on the parent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from autotune.evaluate.results import CaseResult, EvalResult
from autotune.meta.proposers import Proposal
from autotune.search._trial import TrialOutcome
from autotune.search.result import OptimizationResult
from autotune.tracking._records import eval_table, prompt_json, prompt_markdown, safe_key
from autotune.tracking.base import TrackedRun


def _as_result(rows: list[CaseResult], mean: float) -> EvalResult:
    return EvalResult(rows=rows, mean=mean, ci_low=mean, ci_high=mean)


def log_trial(
    run: TrackedRun,
    number: int,
    params: Mapping[str, Any],
    outcome: TrialOutcome,
    usage: Mapping[str, float],
) -> None:
    """Params (the chosen parts), per-step scores, usage, prompt, cases and failures."""
    run.log_params({**params, "trial": number})
    run.set_tags({"autotune.state": outcome.state.name, "autotune.note": outcome.note})
    for step, mean in enumerate(outcome.step_means):
        run.log_metrics({"train_score_step": mean}, step=step)
    metrics = dict(usage)
    if outcome.value is not None:
        metrics["train_score"] = outcome.value
    metrics.update(metric_means(outcome.rows))
    run.log_metrics(metrics)
    if outcome.prompt is not None:
        run.log_text(prompt_markdown(outcome.prompt), "prompt.md")
        run.log_text(prompt_json(outcome.prompt), "prompt.json")
    if outcome.rows:
        result = _as_result(outcome.rows, outcome.value or 0.0)
        run.log_table(eval_table(result), "cases.json")
        failures = _as_result(result.failures, 0.0)
        run.log_table(eval_table(failures), "failures.json")
    if outcome.proposal is not None:
        log_proposal(run, outcome.proposal, int(params.get("instruction", -1)))


def metric_means(rows: list[CaseResult]) -> dict[str, float]:
    """Each metric's mean over the scored rows, as ``metric/<name>``."""
    names = {name for row in rows for name in row.metric_scores}
    return {
        safe_key(f"metric/{name}"): sum(row.metric_scores.get(name, 0.0) for row in rows)
        / len(rows)
        for name in sorted(names)
    }


def log_proposal(run: TrackedRun, proposal: Proposal, slot: int) -> None:
    """The Meta-LLM's critique and raw answer, and whether it was accepted."""
    name = f"proposals/slot-{slot}-{proposal.origin}"
    verdict = "accepted" if proposal.ok else f"rejected: {proposal.rejected}"
    body = [f"# {proposal.origin} for slot {slot}: {verdict}"]
    if proposal.repaired:
        body.append(f"Repaired sections: {', '.join(proposal.repaired)}")
    if proposal.critique:
        body.append(f"## Critique\n{proposal.critique}")
    body.append(f"## Meta-LLM answer\n{proposal.raw}")
    if proposal.instruction:
        body.append(f"## Instruction used\n{proposal.instruction}")
    run.log_text("\n\n".join(body), f"{name}.md")


def log_result(run: TrackedRun, result: OptimizationResult) -> None:
    """Seed vs best on validation and test, the gain and the best prompt."""
    metrics = {
        "seed_validation": result.seed_validation,
        "best_validation": result.best_validation,
        "rejected_proposals": float(result.rejected_proposals),
    }
    if result.held_out is not None:
        held = result.held_out
        metrics.update(
            seed_test=held.seed.mean,
            best_test=held.best.mean,
            gain=held.gain,
            gain_ci_low=held.gain_ci_low,
            gain_ci_high=held.gain_ci_high,
        )
        run.log_table(eval_table(held.best), "test_best_cases.json")
        run.log_table(eval_table(held.seed), "test_seed_cases.json")
    metrics.update({f"usage_{k}": float(v) for k, v in result.usage.items()})
    run.log_metrics(metrics)
    run.log_text(prompt_markdown(result.best_prompt), "best_prompt.md")
    run.log_text(prompt_json(result.best_prompt), "best_prompt.json")
    run.log_text(json.dumps(result.summary(), indent=2, default=str), "result.json")
