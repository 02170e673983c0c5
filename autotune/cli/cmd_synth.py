"""``autotune synth``: synthetic test cases, reviewed and written as a loadable benchmark."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autotune.cli._options import (
    add_model_options,
    add_tracking_options,
    check_models,
    check_numbers,
    log_run,
    open_model,
    require_text,
)

if TYPE_CHECKING:
    from pathlib import Path

    from autotune.gen import SynthReport, SynthSettings
    from autotune.tracking.base import TrackedRun

EXIT_NOTHING_KEPT = 1
EPILOG = (
    "Each generation call asks for one message (--batch-size for more) with a labelled "
    "task's labels taking turns. Candidates are discarded when a local check fails (too "
    "short, table or markup debris, a fill-in placeholder, assistant chatter, a copy of "
    "the task or the prompt's example), when they repeat a few-shot example of "
    "--exclude-demos or a kept case (character n-gram TF-IDF cosine similarity above "
    "--threshold), or when the judge does not approve them (an unreadable verdict counts "
    "as not approved). The judge is first calibrated on an on-task and an off-task "
    "control; a judge that fails (the embedded model does) reviews nothing, and cases "
    "that pass the local checks are kept unreviewed (said on stderr). Replacements are "
    "generated until N cases are kept or --max-calls model calls are spent. The kept "
    "cases are written even when fewer than N (exit 0); when none is kept nothing is "
    "written (exit 1). A suite.toml is written next to the data file, replacing one that "
    "is there."
)


def register(subparsers: Any) -> None:
    """Add the ``synth`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "synth",
        help="generate and review synthetic test cases as a benchmark",
        description="Generate N diverse test cases for a task, review them, write a benchmark.",
        epilog=EPILOG,
    )
    parser.add_argument("--task", required=True, help="the task in words")
    parser.add_argument("-n", type=int, required=True, help="how many cases to keep")
    parser.add_argument("--out", required=True, help="the data file to write (.jsonl)")
    parser.add_argument("--labels", default="", help="comma-separated labels: cases get one each")
    parser.add_argument("--threshold", type=float, default=0.8, help="similarity (default: 0.8)")
    parser.add_argument("--max-calls", type=int, default=None, help="model call budget")
    parser.add_argument(
        "--batch-size", type=int, default=1, help="messages asked per call (default: 1)"
    )
    parser.add_argument("--exclude-demos", default=None, help="prompt file whose demos to avoid")
    parser.add_argument("--judge-model", default=None, help="reviewing model (default: --model)")
    parser.add_argument("--no-review", action="store_true", help="skip the LLM review")
    add_model_options(parser, max_tokens=160)
    add_tracking_options(parser, experiment_default="autotune synth")
    parser.set_defaults(handler=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    """Handle ``autotune synth``."""
    from autotune.gen import check_data_path, synthesize_cases, write_benchmark

    task, labels, settings = _check(args)
    out = check_data_path(args.out, field="--out")
    exclude = _demo_texts(args.exclude_demos)
    llm = open_model(args, args.model)
    judge = llm
    if args.judge_model and args.judge_model != args.model:
        judge = open_model(args, args.judge_model)
    try:
        report = synthesize_cases(
            task,
            llm,
            args.n,
            labels=labels,
            judge_llm=judge,
            exclude=exclude,
            settings=settings,
            progress=_progress_printer(),
        )
    finally:
        llm.close()
        judge.close()
    print(report.summary())
    written: tuple[Path, Path] | None = None
    if report.cases:
        suite = write_benchmark(report, out, judge_model=args.judge_model or args.model)
        written = (out, suite)
        print(f"wrote {report.kept} cases to {out} and the suite {suite}")
    if report.review_warning():
        print(f"warning: {report.review_warning()}", file=sys.stderr)
    if not report.complete:
        print(f"warning: kept {report.kept} of {report.requested} cases", file=sys.stderr)
    params = {**_params(args, llm.name, judge.name, len(exclude)), "reviewed": report.reviewed}
    log_run(args, "synth", lambda run: _log(run, report, params, written))
    return 0 if report.cases else EXIT_NOTHING_KEPT


def _check(args: argparse.Namespace) -> tuple[str, tuple[str, ...], SynthSettings]:
    from autotune.gen import SynthSettings

    task = require_text(args.task, "--task", "the task description")
    labels = tuple(part.strip() for part in args.labels.split(",") if part.strip())
    check_numbers(
        [
            (args.n >= 1, "-n", "must be >= 1"),
            (0.0 < args.threshold <= 1.0, "--threshold", "must be in (0, 1]"),
            (args.max_calls is None or args.max_calls >= 1, "--max-calls", "must be >= 1"),
            (args.batch_size >= 1, "--batch-size", "must be >= 1"),
            (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
            (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
            (not args.labels.strip() or len(set(labels)) >= 2, "--labels", "give two or more"),
        ]
    )
    check_models(args.model, *([args.judge_model] if args.judge_model else []))
    settings = SynthSettings(
        threshold=args.threshold,
        max_calls=args.max_calls,
        batch_size=args.batch_size,
        review=not args.no_review,
        temperature=SynthSettings.temperature if args.temperature is None else args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
    )
    return task, labels, settings


def _demo_texts(prompt_file: str | None) -> list[str]:
    if not prompt_file:
        return []
    from autotune.bench import load_prompt
    from autotune.gen import demo_texts

    # No default user template: only the demos' values matter here, whatever their fields.
    return demo_texts(load_prompt(prompt_file, default_user_template=""))


def _progress_printer() -> Callable[[SynthReport], None]:
    last = [-1]

    def show(report: SynthReport) -> None:
        if report.kept != last[0]:
            last[0] = report.kept
            print(
                f"kept {report.kept}/{report.requested}, discarded {len(report.discarded)}, "
                f"calls {report.calls}/{report.max_calls}",
                file=sys.stderr,
            )

    return show


def _params(args: argparse.Namespace, model: str, judge: str, demos: int) -> dict[str, Any]:
    return {
        "task": args.task.strip(),
        "n": args.n,
        "model": model,
        "judge_model": judge,
        "labels": args.labels,
        "threshold": args.threshold,
        "batch_size": args.batch_size,
        "review": not args.no_review,
        "exclude_demos": args.exclude_demos or "",
        "excluded_texts": demos,
        "out": args.out,
        "seed": args.seed,
    }


def _log(
    run: TrackedRun,
    report: SynthReport,
    params: dict[str, Any],
    written: tuple[Path, Path] | None,
) -> None:
    from autotune.gen._tracking import log_synth

    log_synth(run, report, {**params, "max_calls": report.max_calls}, written)
