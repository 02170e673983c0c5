"""``autotune generate INTENT``: a full five-section system prompt from a vague intent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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
    from autotune.bench.benchmark import Benchmark
    from autotune.gen import GeneratedPrompt, GenerateSettings, RoundScore
    from autotune.tracking.base import TrackedRun

EXIT_INCOMPLETE = 1
EPILOG = (
    "Sections the Meta-LLM leaves out or empty are asked for again one at a time "
    "(--attempts each). If a section is still missing, the prompt is printed or "
    "written anyway, the missing sections are named on stderr, and the exit code is 1."
)


def register(subparsers: Any) -> None:
    """Add the ``generate`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="write a system prompt (Persona, Context, Steps, Format, Examples) from an intent",
        description=(
            "Turn a vague intent into a full system prompt. With --bench, run Draft, "
            "Generate, Test, Refine for --rounds rounds on the training split and keep "
            "the best prompt."
        ),
        epilog=EPILOG,
    )
    parser.add_argument("intent", help='what the prompt is for, e.g. "a support bot for ..."')
    parser.add_argument("--bench", default=None, help="benchmark suite file to test and refine on")
    parser.add_argument("--rounds", type=int, default=2, help="refinement rounds (default: 2)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N train cases")
    parser.add_argument("--task-model", default=None, help="model that answers (default: --model)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--out", default=None, help="write the prompt to this file")
    parser.add_argument(
        "--attempts", type=int, default=2, help="requests per missing section (default: 2)"
    )
    parser.add_argument(
        "--task-max-tokens",
        type=int,
        default=256,
        help="max tokens of task model answers (default: 256)",
    )
    add_model_options(parser, max_tokens=400)
    add_tracking_options(parser, experiment_default="autotune generate")
    parser.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Handle ``autotune generate``."""
    from autotune._atomic import write_atomic
    from autotune.gen import check_writable, generate_prompt

    intent = _check(args)
    out = check_writable(args.out, field="--out") if args.out else None
    bench = _load_bench(args.bench)
    meta = open_model(args, args.model)
    task = meta
    if args.task_model and args.task_model != args.model:
        task = open_model(args, args.task_model)
    try:
        result = generate_prompt(
            intent,
            meta,
            benchmark=bench,
            task_llm=task,
            rounds=args.rounds,
            settings=_settings(args),
            on_round=_show_round,
        )
    finally:
        meta.close()
        task.close()
    text = result.to_json() if args.format == "json" else result.to_markdown()
    if out is not None:
        write_atomic(out, text)
        print(f"prompt written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _warn(result)
    log_run(args, "generate", lambda run: _log(run, result, args, meta.name, task.name))
    return EXIT_INCOMPLETE if result.missing else 0


def _check(args: argparse.Namespace) -> str:
    intent = require_text(args.intent, "intent", "the intent")
    check_numbers(
        [
            (args.rounds >= 0, "--rounds", "must be >= 0"),
            (args.limit is None or args.limit >= 1, "--limit", "must be >= 1"),
            (args.attempts >= 1, "--attempts", "must be >= 1"),
            (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
            (args.task_max_tokens >= 1, "--task-max-tokens", "must be >= 1"),
            (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
        ]
    )
    check_models(args.model, *([args.task_model] if args.task_model else []))
    return intent


def _settings(args: argparse.Namespace) -> GenerateSettings:
    from autotune.gen import GenerateSettings
    from autotune.llm import SamplingParams

    return GenerateSettings(
        limit=args.limit,
        task_params=SamplingParams(temperature=0.0, max_tokens=args.task_max_tokens),
        section_attempts=args.attempts,
        max_tokens=args.max_tokens,
        temperature=0.7 if args.temperature is None else args.temperature,
        seed=args.seed,
    )


def _load_bench(path: str | None) -> Benchmark | None:
    if path is None:
        return None
    from autotune.bench import load_benchmark

    return load_benchmark(Path(path))


def _show_round(entry: RoundScore) -> None:
    score = "-" if entry.score is None else f"{entry.score:.3f}"
    best = "-" if entry.best is None else f"{entry.best:.3f}"
    mark = " *" if entry.kept else ""
    note = f"  ({entry.note})" if entry.note else ""
    print(
        f"round {entry.round} {entry.origin:6s} train {score}  best {best}{mark}{note}",
        file=sys.stderr,
    )


def _warn(result: GeneratedPrompt) -> None:
    if result.regenerated:
        print(f"regenerated sections: {', '.join(result.regenerated)}", file=sys.stderr)
    if result.defaulted:
        names = ", ".join(result.defaulted)
        print(f"warning: filled from the task, not written by the model: {names}", file=sys.stderr)
    if result.missing:
        names = ", ".join(result.missing)
        print(f"warning: sections still missing after every attempt: {names}", file=sys.stderr)


def _log(
    run: TrackedRun, result: GeneratedPrompt, args: argparse.Namespace, meta: str, task: str
) -> None:
    from autotune.gen._tracking import log_generated

    params = {
        "intent": result.intent,
        "model": meta,
        "task_model": task,
        "bench": args.bench or "",
        "rounds": args.rounds,
        "limit": args.limit,
        "format": args.format,
        "attempts": args.attempts,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
    }
    log_generated(run, result, params)
