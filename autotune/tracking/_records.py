"""Turn evaluation results into plain params, metrics and tables for any tracker."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from autotune.evaluate.results import EvalResult
from autotune.prompt import Prompt

# MLflow accepts letters, digits, "_ - . / space" (and ":" only on some stores).
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")


def safe_key(name: str) -> str:
    """A metric or param name every tracking store accepts."""
    return _UNSAFE_KEY.sub("_", name)


def eval_params(prompt: Prompt, result: EvalResult) -> dict[str, Any]:
    """Parameters that identify what was evaluated."""
    return {
        "prompt_name": prompt.name,
        "prompt_fingerprint": prompt.fingerprint(),
        "answer_strategy": prompt.answer_strategy,
        "instruction_position": prompt.instruction_position,
        "demos": len(prompt.demos),
        "cases": len(result.rows),
    }


def eval_metrics(result: EvalResult) -> dict[str, float]:
    """The aggregate numbers of an evaluation."""
    metrics = {
        "mean": result.mean,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "cases": float(len(result.rows)),
        "errors": float(result.errors),
        "scored": float(result.n_scored),
        "calls": float(result.calls),
        "prompt_tokens": float(result.prompt_tokens),
        "completion_tokens": float(result.completion_tokens),
        "tokens": float(result.tokens),
        "wall_s": result.wall_s,
    }
    for name, value in result.metric_means.items():
        metrics[safe_key(f"metric/{name}")] = value
    return metrics


def eval_table(result: EvalResult) -> dict[str, list[Any]]:
    """The per-case table, one column per field; structured values as JSON text."""
    rows = result.rows
    table: dict[str, list[Any]] = {
        "case_id": [r.case_id for r in rows],
        "score": [r.score for r in rows],
        "output": [r.output for r in rows],
        "expected": [_text(r.expected) for r in rows],
        "reason": [r.reason for r in rows],
        "error": [r.error or "" for r in rows],
        "inputs": [_text(r.inputs) for r in rows],
        "rendered": [r.rendered for r in rows],
        "calls": [r.calls for r in rows],
        "prompt_tokens": [r.prompt_tokens for r in rows],
        "completion_tokens": [r.completion_tokens for r in rows],
        "latency_s": [r.latency_s for r in rows],
        "trace": [_text(r.trace) if r.trace else "" for r in rows],
    }
    for name in result.metric_means:
        table[safe_key(f"metric/{name}")] = [r.metric_scores.get(name, 0.0) for r in rows]
    return table


def prompt_markdown(prompt: Prompt) -> str:
    """The prompt as a readable document."""
    parts = [f"# Prompt {prompt.name or prompt.fingerprint()}", "", "## System", prompt.system]
    parts += ["", "## User template", prompt.user_template]
    for number, demo in enumerate(prompt.demos, start=1):
        parts += ["", f"## Demo {number}", prompt.render_user(demo.input_dict()), "->", demo.output]
    parts += ["", f"answer strategy: {prompt.answer_strategy}"]
    if prompt.calibration:  # answers are read against each label's mean probability
        lean = ", ".join(f"{label} {math.exp(bias):.2f}" for label, bias in prompt.calibration)
        parts += [f"calibrated (mean label probabilities): {lean}"]
    return "\n".join([*parts, ""])


def prompt_json(prompt: Prompt) -> str:
    """The prompt in the JSON form :meth:`Prompt.from_dict` reads back."""
    return json.dumps(prompt.to_dict(), indent=2, ensure_ascii=False, default=str)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)
