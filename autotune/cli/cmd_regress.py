"""``autotune regress``: a regression gate between a candidate and the deployed prompt.

Exit codes: 0 no regression, 1 regression, 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.cli._options import add_json_option, print_json
from autotune.cli._tracked import benchmark_tracker, store_errors, traced
from autotune.cli.cmd_compare import (
    add_run_options,
    check_run_options,
    consoles,
    loaded_models,
    progress_bar,
    resolve_prompts,
    sampling_for,
)
from autotune.cli.cmd_eval import select_cases
from autotune.errors import UserInputError
from autotune.tracking import TrackedRun
from autotune.tracking.traces import CallLog

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.report import CaseFlip, GateResult, MetricGate, ResolvedPrompt

EXIT_REGRESSION = 1


def register(subparsers: Any) -> None:
    """Add the ``regress`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "regress",
        help="fail when a candidate prompt is worse than the baseline",
        description=(
            "Score a candidate and a baseline prompt on the same cases and fail (exit 1) "
            "when a score's paired 95% CI lies entirely below -TOLERANCE. Exit 0: no "
            "regression; 2: bad input."
        ),
    )
    parser.add_argument("--bench", required=True, help="benchmark suite file")
    parser.add_argument("--candidate", required=True, help="prompt file or prompts:/ URI")
    parser.add_argument(
        "--baseline", required=True, help="prompt file or prompts:/ URI (e.g. @production)"
    )
    parser.add_argument("--model", default="smollm2", help="model string (default: smollm2)")
    add_run_options(parser)
    parser.add_argument(
        "--tolerance", type=float, default=0.0, help="allowed drop in score (default: 0)"
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="CI coverage (default: 0.95)"
    )
    parser.add_argument("--junit", default=None, help="write JUnit XML here")
    parser.add_argument("--summary", default=None, help="write a Markdown summary here")
    parser.add_argument(
        "--promote",
        default=None,
        metavar="ALIAS",
        help=(
            "when the gate passes, point this alias at the candidate (of the baseline's "
            "registered prompt, else of the candidate's: a first @production)"
        ),
    )
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: BENCH (benchmark))"
    )
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_json_option(parser)
    parser.set_defaults(handler=run_regress)


def _check(args: argparse.Namespace) -> None:
    check_run_options(args)
    if args.tolerance < 0:
        raise UserInputError("must be >= 0", field="--tolerance")
    if not 0 < args.confidence < 1:
        raise UserInputError("must be between 0 and 1", field="--confidence")
    registered = [p for p in (args.baseline, args.candidate) if p.startswith("prompts:/")]
    if args.promote is not None and not registered:
        raise UserInputError(
            "needs a registered baseline or candidate (prompts:/NAME@ALIAS)", field="--promote"
        )


def run_regress(args: argparse.Namespace) -> int:
    """Handle ``autotune regress``."""
    from autotune.bench import load_benchmark
    from autotune.report import regression_gate

    _check(args)
    bench = load_benchmark(args.bench)
    candidate, baseline = resolve_prompts([args.candidate, args.baseline], bench, args.tracking_uri)
    cases = select_cases(bench, args.split, args.limit)
    stdout, stderr = consoles()
    tracker = benchmark_tracker(args, bench.name)
    calls = CallLog()
    tags = {"autotune.command": "regress", "autotune.kind": "regress"}
    with contextlib.ExitStack() as stack, loaded_models([args.model], args) as (llm,):
        with store_errors(tracker):
            name = f"regress {candidate.label} vs {baseline.label}"
            run = stack.enter_context(tracker.start_run(name, tags=tags))
            run.log_dataset(bench, args.split, cases)
        total = 2 * len(cases) * args.repeats
        sides = ("baseline", "candidate")  # regression_gate scores the baseline first
        with progress_bar(stderr, total, f"regress {bench.name}", sides) as advance:
            result = regression_gate(
                traced(llm, tracker, calls),
                bench.metrics,
                cases,
                candidate.prompt,
                baseline.prompt,
                params=sampling_for(args, candidate),
                baseline_params=sampling_for(args, baseline),
                repeats=args.repeats,
                tolerance=args.tolerance,
                concurrency=args.concurrency,
                confidence=args.confidence,
                progress=advance,
            )
        result.candidate, result.baseline = candidate.label, baseline.label
        result.details = {"bench": bench.name, "split": args.split, "model": llm.name}
        with store_errors(tracker):
            _log(run, result, calls)
    promoted = None
    if result.passed and args.promote:
        promoted = _promote(args, candidate, baseline)
    if args.json:
        print_json(gate_document(result, run.run_id, promoted))
    else:
        print_gate(stdout, result)
        if promoted is not None:
            stdout.print(f"promoted: {promoted[0]} -> version {promoted[1]}")
    _write_outputs(args, result, stderr)
    return 0 if result.passed else EXIT_REGRESSION


def _log(run: TrackedRun, result: GateResult, calls: CallLog) -> None:
    from autotune.report._gate_output import markdown_summary

    run.log_params(
        {
            **result.details,
            "candidate": result.candidate,
            "baseline": result.baseline,
            "tolerance": result.tolerance,
            "repeats": result.repeats,
            "confidence": result.confidence,
        }
    )
    metrics = {"passed": float(result.passed), "cases": float(result.cases)}
    for gate in (result.overall, *result.metrics):
        key = "score" if gate is result.overall else f"metric/{gate.name}"
        metrics.update(
            {
                f"{key}/baseline": gate.baseline_mean,
                f"{key}/candidate": gate.candidate_mean,
                f"{key}/diff": gate.diff.mean,
                f"{key}/diff_ci_low": gate.diff.low,
                f"{key}/diff_ci_high": gate.diff.high,
            }
        )
    run.log_metrics(metrics)
    run.set_tags({"autotune.verdict": "pass" if result.passed else "regression"})
    run.log_text(markdown_summary(result), "summary.md")
    run.log_calls(calls.drain())


def gate_document(
    result: GateResult, run_id: str, promoted: tuple[str, int] | None
) -> dict[str, Any]:
    """The ``--json`` output of ``regress`` (schema: ``autotune/cli/schemas/regress.json``)."""

    def gate(g: MetricGate) -> dict[str, Any]:
        d = g.diff
        return {
            "name": g.name,
            "baseline": g.baseline_mean,
            "candidate": g.candidate_mean,
            "diff": {"mean": d.mean, "low": d.low, "high": d.high},
            "regressed": g.regressed,
        }

    def flip(f: CaseFlip) -> dict[str, Any]:
        return {
            "case_id": f.case_id,
            "baseline_score": f.baseline_score,
            "candidate_score": f.candidate_score,
            "baseline_output": f.baseline_output,
            "candidate_output": f.candidate_output,
        }

    return {
        "command": "regress",
        **result.details,
        "candidate": result.candidate,
        "baseline": result.baseline,
        "passed": result.passed,
        "tolerance": result.tolerance,
        "repeats": result.repeats,
        "confidence": result.confidence,
        "cases": result.cases,
        "overall": gate(result.overall),
        "metrics": [gate(g) for g in result.metrics],
        "broken": [flip(f) for f in result.broken],
        "fixed": [flip(f) for f in result.fixed],
        "promoted": None if promoted is None else {"alias": promoted[0], "version": promoted[1]},
        "mlflow_run_id": run_id or None,
    }


def _write_outputs(args: argparse.Namespace, result: GateResult, console: Console) -> None:
    from autotune.report._gate_output import junit_xml, markdown_summary

    for option, path, text in (
        ("--junit", args.junit, junit_xml),
        ("--summary", args.summary, markdown_summary),
    ):
        if not path:
            continue
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text(result), encoding="utf-8")
        except OSError as exc:
            raise UserInputError(f"cannot write: {exc.strerror}", file=path, field=option) from None
        console.print(f"{option.lstrip('-')} written to {target}")


def _promote(
    args: argparse.Namespace, candidate: ResolvedPrompt, baseline: ResolvedPrompt
) -> tuple[str, int]:
    """Point the alias at the candidate: ``(prompts:/NAME@ALIAS, version)``."""
    from autotune.report import promote_candidate

    owner = baseline if baseline.registry_name else candidate
    version = promote_candidate(candidate, owner, args.promote, tracking_uri=args.tracking_uri)
    return f"prompts:/{owner.registry_name}@{args.promote}", version


def print_gate(console: Console, result: GateResult) -> None:
    """The verdict, a table of every score's difference, and the flipped cases."""
    from rich.table import Table

    from autotune.report._gate_output import flips_text

    level = round(result.confidence * 100)
    table = Table(
        title=f"{result.candidate} vs {result.baseline}: {result.cases} cases x "
        f"{result.repeats} repeat(s), tolerance {result.tolerance:g}; errors (not scored): "
        f"baseline {result.baseline_errors}, candidate {result.candidate_errors}"
    )
    for column in ("score", "baseline", "candidate", "difference", f"{level}% CI", "verdict"):
        table.add_column(column, justify="left" if column in ("score", "verdict") else "right")
    for gate in (result.overall, *result.metrics):
        d = gate.diff
        verdict = "[red]regressed[/]" if gate.regressed else "[green]ok[/]"
        table.add_row(
            gate.name,
            f"{gate.baseline_mean:.3f}",
            f"{gate.candidate_mean:.3f}",
            f"{d.mean:+.3f}",
            f"{d.low:+.3f} to {d.high:+.3f}",
            verdict,
        )
    console.print(table)
    console.print(flips_text(result), markup=False, highlight=False)
    if result.passed:
        console.print("[green]PASS[/]: no regression")
    else:
        names = ", ".join(gate.name for gate in result.regressions)
        console.print(f"[red]FAIL[/]: regression in {names}")
