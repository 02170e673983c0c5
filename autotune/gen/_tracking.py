"""Log the generation commands' results into a tracked run (params, metrics, artifacts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autotune.gen.generate import GeneratedPrompt
from autotune.gen.reflect import Reflection
from autotune.gen.synth import SynthReport
from autotune.tracking.base import TrackedRun


def log_generated(run: TrackedRun, result: GeneratedPrompt, params: Mapping[str, Any]) -> None:
    """Scores per round, call counts, the sections (Markdown and JSON) and, with a
    benchmark, the best prompt's training evaluation with its case table."""
    for entry in result.score_history:
        if entry.score is not None:
            run.log_metrics({"train_score": entry.score}, step=entry.round)
    if result.evaluation is not None:
        run.log_eval(result.evaluation, result.prompt, params)
    else:
        run.log_params(params)
        run.log_text(json.dumps(result.prompt.to_dict(), indent=2), "prompt.json")
    run.log_metrics(
        {
            "meta_calls": float(result.meta_calls),
            "task_calls": float(result.task_calls),
            "regenerated_sections": float(len(result.regenerated)),
            "defaulted_sections": float(len(result.defaulted)),
            "missing_sections": float(len(result.missing)),
        }
    )
    run.log_text(result.to_markdown(), "generated.md")
    run.log_text(result.to_json(), "generated.json")


def log_synth(
    run: TrackedRun,
    report: SynthReport,
    params: Mapping[str, Any],
    written: tuple[Path, Path] | None,
) -> None:
    """Counts (per discard reason too), the report, the discards and the written files."""
    run.log_params(params)
    metrics = {
        "requested": report.requested,
        "generated": report.generated,
        "kept": report.kept,
        "discarded": len(report.discarded),
        "calls": report.calls,
        "generation_calls": report.generation_calls,
        "judge_calls": report.judge_calls,
    }
    metrics.update({f"discarded/{reason}": count for reason, count in report.reasons().items()})
    run.log_metrics({name: float(value) for name, value in metrics.items()})
    run.log_text(report.summary() + "\n", "report.txt")
    if report.discarded:
        columns = ("input", "expected", "reason", "detail")
        table = {c: [getattr(d, c) or "" for d in report.discarded] for c in columns}
        run.log_table(table, "discarded.json")
    if written is not None:
        for path in written:
            run.log_text(path.read_text(encoding="utf-8"), path.name)


def log_reflection(run: TrackedRun, reflection: Reflection, params: Mapping[str, Any]) -> None:
    """Calls, tokens and every round as Markdown and JSON."""
    run.log_params(params)
    run.log_metrics(
        {
            "rounds": float(len(reflection.rounds)),
            "calls": float(reflection.calls),
            "tokens": float(reflection.tokens),
        }
    )
    run.log_text(reflection.to_markdown(), "reflexion.md")
    rounds = [vars(entry) for entry in reflection.rounds]
    data = {"question": reflection.question, "rounds": rounds, "answer": reflection.answer}
    run.log_text(json.dumps(data, indent=2, ensure_ascii=False), "reflexion.json")
