"""What the search logs: one child run per candidate, and the outcome on the parent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autotune.evaluate.results import CaseResult, EvalResult
from autotune.search.candidate import Candidate
from autotune.search.result import OptimizationResult
from autotune.tracking._records import eval_table, prompt_json, prompt_markdown, safe_key
from autotune.tracking.base import TrackedRun

MAX_PARAM_CHARS = 250
# How a candidate's MLflow run is found and read back (report reads them via reader.py).
KIND_TAG, CANDIDATE_KIND, NUMBER_TAG = "autotune.kind", "candidate", "autotune.candidate"
STATE_TAG, SCORE_METRIC = "autotune.state", "search_score"


def readable_params(candidate: Candidate) -> dict[str, Any]:
    """Params a person can read in the UI's compare and parallel-coordinates views."""
    parts = candidate.parts
    first_words = " ".join(parts.system_text().split()[:12])
    return {
        "candidate": candidate.number,
        "operator": candidate.operator,
        "parents": ",".join(str(n) for n in candidate.parents) or "-",
        "instruction": first_words[:MAX_PARAM_CHARS] or "(none)",
        "sections": ",".join(parts.present()) or "-",
        "n_demos": len(parts.demos),
        "framing": parts.user_template[:MAX_PARAM_CHARS],
        "position": parts.position,
        "answer_strategy": parts.answer_strategy,
        "temperature": parts.temperature,
    }


def log_candidate(run: TrackedRun, candidate: Candidate, rows: Sequence[CaseResult]) -> None:
    """Params, status, search score, the prompt, its cases and failures."""
    run.log_params(readable_params(candidate))
    run.set_tags({STATE_TAG: candidate.status, "autotune.note": candidate.note[:500]})
    metrics: dict[str, float] = {"calls": float(candidate.calls), "cases": float(len(rows))}
    if candidate.value is not None:
        metrics[SCORE_METRIC] = candidate.value
    metrics["errors"] = float(sum(1 for row in rows if row.error is not None))
    prompt_tokens = float(sum(row.prompt_tokens for row in rows))
    completion_tokens = float(sum(row.completion_tokens for row in rows))
    metrics.update(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens=prompt_tokens + completion_tokens,
    )
    metrics.update(metric_means(rows))
    run.log_metrics(metrics)
    prompt = candidate.parts.to_prompt(f"candidate-{candidate.number}")
    run.log_text(prompt_markdown(prompt), "prompt.md")
    run.log_text(prompt_json(prompt), "prompt.json")
    if candidate.raw:
        run.log_text(f"# Meta-LLM answer\n\n{candidate.raw}\n\n{candidate.note}\n", "meta.md")
    if rows:
        result = EvalResult(rows=list(rows), mean=candidate.value or 0.0, ci_low=0.0, ci_high=0.0)
        run.log_table(eval_table(result), "cases.json")


def metric_means(rows: Sequence[CaseResult]) -> dict[str, float]:
    """Each metric's mean over the scored rows, as ``metric/<name>``."""
    scored = [row for row in rows if row.error is None]
    names = {name for row in scored for name in row.metric_scores}
    return {
        safe_key(f"metric/{name}"): sum(row.metric_scores.get(name, 0.0) for row in scored)
        / len(scored)
        for name in sorted(names)
    }


def log_result(run: TrackedRun, result: OptimizationResult) -> None:
    """Seed vs best on validation and test, the ablation table and the best prompt."""
    metrics: dict[str, float] = {
        "seed_validation": result.seed_validation,
        "best_validation": result.best_validation,
        "rejected_proposals": float(result.rejected_proposals),
    }
    held = result.held_out
    if held is not None:
        metrics.update(
            seed_test=held.seed.mean,
            best_test=held.best.mean,
            gain=held.gain,
            gain_ci_low=held.gain_ci_low,
            gain_ci_high=held.gain_ci_high,
            test_errors=float(held.seed.errors + held.best.errors),
        )
        if held.best.rows:
            run.log_table(eval_table(held.best), "test_best_cases.json")
            run.log_table(eval_table(held.seed), "test_seed_cases.json")
    for item in result.contributions:
        metrics[safe_key(f"contribution/{item.part}")] = item.contribution
    metrics.update({f"usage_{k}": float(v) for k, v in result.usage.items() if _number(v)})
    run.log_metrics(metrics)
    run.log_text(prompt_markdown(result.best_prompt), "best_prompt.md")
    run.log_text(prompt_json(result.best_prompt), "best_prompt.json")
    run.log_text(json.dumps(result.summary(), indent=2, default=str), "result.json")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
