"""``autotune compare``: every (prompt, model) variant on the same cases, side by side."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.cli._compare_view import compare_document, print_comparison
from autotune.cli._options import (
    TRACKING_URI_HELP,
    add_cache_options,
    add_call_options,
    add_concurrency_option,
    add_json_option,
    check_numbers,
    open_model,
    print_json,
)
from autotune.cli._progress import case_bar
from autotune.cli._tracked import benchmark_tracker, store_errors
from autotune.cli.cmd_eval import SPLIT_CHOICES, consoles, select_cases
from autotune.errors import UserInputError
from autotune.llm import SamplingParams
from autotune.report.matrix import MATRIX_SUFFIXES
from autotune.tracking import NullTracker

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.bench import Benchmark
    from autotune.llm import BaseLLM
    from autotune.report import ResolvedPrompt, Variant

__all__ = ["consoles", "print_comparison"]


def register(subparsers: Any) -> None:
    """Add the ``compare`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="compare prompts and models on the same cases",
        description=(
            "Run every (prompt, model) variant on the same cases; print each case's "
            "input, expected answer and every variant's output side by side (label "
            "tasks: each variant's label shares and confusion matrix), each variant's "
            "mean with its 95% CI and the paired difference against the first variant; "
            "log one MLflow run per variant."
        ),
    )
    parser.add_argument("--bench", required=True, help="benchmark suite file")
    parser.add_argument(
        "--prompt",
        action="append",
        required=True,
        help="prompt file or prompts:/NAME@ALIAS or prompts:/NAME/VERSION (repeat)",
    )
    parser.add_argument(
        "--model", action="append", default=None, help="model string (repeat; default: smollm2)"
    )
    add_run_options(parser)
    parser.add_argument("--out", default=None, help="also write the matrix (.html, .csv, .md)")
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: BENCH (benchmark))"
    )
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_json_option(parser)
    parser.set_defaults(handler=run_compare)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options compare and regress share: cases, sampling, repeats, the store."""
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server URL (default: $OPENAI_BASE_URL)"
    )
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="(default: test)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N cases")
    parser.add_argument("--repeats", type=int, default=1, help="samples per case (default: 1)")
    add_concurrency_option(parser, default=8)
    parser.add_argument(
        "--temperature", type=float, default=None, help="(default: each prompt's own, else 0)"
    )
    parser.add_argument("--max-tokens", type=int, default=256, help="(default: 256)")
    add_cache_options(parser)
    add_call_options(parser)
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)


def check_run_options(args: argparse.Namespace) -> None:
    """Reject impossible numbers before loading anything."""
    check_numbers(
        [
            (args.concurrency >= 1, "--concurrency", "must be >= 1"),
            (args.limit is None or args.limit >= 1, "--limit", "must be >= 1"),
            (args.repeats >= 1, "--repeats", "must be >= 1"),
            (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
            (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
        ]
    )


def sampling_for(args: argparse.Namespace, resolved: ResolvedPrompt) -> SamplingParams:
    """The option's temperature, else the prompt's tuned one, else 0."""
    temperature = args.temperature
    if temperature is None:
        temperature = resolved.prompt.temperature or 0.0
    return SamplingParams(temperature=temperature, max_tokens=args.max_tokens)


def _variant_names(prompts: Sequence[ResolvedPrompt], models: Sequence[BaseLLM]) -> list[str]:
    names = []
    for resolved in prompts:
        for llm in models:
            name = resolved.label if len(models) == 1 else f"{resolved.label} · {llm.name}"
            names.append(name)
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return unique


def _variants(
    args: argparse.Namespace, prompts: Sequence[ResolvedPrompt], models: Sequence[BaseLLM]
) -> list[Variant]:
    from autotune.report import Variant

    names = iter(_variant_names(prompts, models))
    return [
        Variant(next(names), resolved.prompt, llm, sampling_for(args, resolved))
        for resolved in prompts
        for llm in models
    ]


def run_compare(args: argparse.Namespace) -> int:
    """Handle ``autotune compare``."""
    from autotune.bench import load_benchmark
    from autotune.report import compare, write_matrix

    check_run_options(args)
    if args.out and Path(args.out).suffix.lower() not in MATRIX_SUFFIXES:
        raise UserInputError("use a .html, .csv or .md file", file=args.out, field="--out")
    bench = load_benchmark(args.bench)
    prompts = resolve_prompts(args.prompt, bench, args.tracking_uri)
    cases = select_cases(bench, args.split, args.limit)
    stdout, stderr = consoles()
    tracker = benchmark_tracker(args, bench.name)
    run_params = {"bench": bench.name, "split": args.split, "limit": args.limit}
    with loaded_models(args.model or ["smollm2"], args) as models:
        variants = _variants(args, prompts, models)
        total = len(cases) * args.repeats * len(variants)
        names = [variant.name for variant in variants]
        with (
            progress_bar(stderr, total, f"compare {bench.name}", names) as advance,
            store_errors(tracker),
        ):
            comparison = compare(
                variants,
                cases,
                bench.metrics,
                repeats=args.repeats,
                concurrency=args.concurrency,
                progress=advance,
                tracker=tracker,
                run_params=run_params,
                on_run_start=lambda run: run.log_dataset(bench, args.split, cases),
                labels=bench.labels,
            )
    comparison.details = {"bench": bench.name, "split": args.split}
    written = write_matrix(comparison, args.out) if args.out else None
    if args.json:
        print_json(compare_document(comparison, getattr(tracker, "experiment", None)))
        return 0
    print_comparison(stdout, comparison)
    if written is not None:
        stdout.print(f"matrix written to {written}")
    if not isinstance(tracker, NullTracker):
        stdout.print(
            f"MLflow compare group {comparison.group_id} ({len(variants)} runs in "
            f"experiment {getattr(tracker, 'experiment', '')!r})"
        )
    return 0


def resolve_prompts(
    specs: Sequence[str], bench: Benchmark, tracking_uri: str | None
) -> list[ResolvedPrompt]:
    """Load every prompt argument and check it fits the benchmark."""
    from autotune.report import check_prompt, resolve_prompt

    prompts = [
        resolve_prompt(spec, bench.user_template, tracking_uri=tracking_uri) for spec in specs
    ]
    for resolved in prompts:
        check_prompt(resolved, bench)
    return prompts


@contextlib.contextmanager
def loaded_models(specs: Sequence[str], args: argparse.Namespace) -> Iterator[list[BaseLLM]]:
    """Build each model once; close them all when done."""
    models: list[BaseLLM] = []
    try:
        for spec in specs:
            models.append(open_model(args, spec))
        yield models
    finally:
        for llm in models:
            llm.close()


def progress_bar(console: Console, total: int, label: str, groups: Sequence[str] = ()) -> Any:
    """A bar advanced once per finished case row, with the running score and time left."""
    return case_bar(console, total, label, groups)
