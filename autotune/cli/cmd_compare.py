"""``autotune compare``: every (prompt, model) variant on the same cases, side by side."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.cli._options import add_call_options, open_model
from autotune.cli.cmd_eval import SPLIT_CHOICES, select_cases
from autotune.errors import AutotuneError, UserInputError
from autotune.llm import SamplingParams
from autotune.report.matrix import MATRIX_SUFFIXES

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.bench import Benchmark
    from autotune.evaluate import CaseResult
    from autotune.llm import BaseLLM
    from autotune.report import Comparison, ResolvedPrompt, Variant
    from autotune.tracking import Tracker

OUTPUT_WIDTH = 40


def register(subparsers: Any) -> None:
    """Add the ``compare`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="compare prompts and models on the same cases",
        description=(
            "Run every (prompt, model) variant on the same cases; print a side-by-side "
            "matrix, each variant's mean with its 95% CI and the paired difference "
            "against the first variant; log one MLflow run per variant."
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
        "--model", action="append", default=None, help="model string (repeat; default smollm2)"
    )
    add_run_options(parser)
    parser.add_argument("--out", default=None, help="also write the matrix (.html, .csv, .md)")
    parser.add_argument("--experiment", default="autotune", help="MLflow experiment name")
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    parser.set_defaults(handler=run_compare)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options compare and regress share: cases, sampling, repeats, the store."""
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="default: test")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N cases")
    parser.add_argument("--repeats", type=int, default=1, help="samples per case (default 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="cases in flight (default 8)")
    parser.add_argument(
        "--temperature", type=float, default=None, help="default: each prompt's own, else 0"
    )
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    add_call_options(parser)
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store and prompt registry (default: ./mlruns)"
    )


def check_run_options(args: argparse.Namespace) -> None:
    """Reject impossible numbers before loading anything."""
    checks = [
        (args.concurrency >= 1, "--concurrency", "must be >= 1"),
        (args.limit is None or args.limit >= 1, "--limit", "must be >= 1"),
        (args.repeats >= 1, "--repeats", "must be >= 1"),
        (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
        (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
    ]
    for ok, field, message in checks:
        if not ok:
            raise UserInputError(message, field=field)


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
    from autotune.report.compare import log_comparison

    check_run_options(args)
    if args.out and Path(args.out).suffix.lower() not in MATRIX_SUFFIXES:
        raise UserInputError("use a .html, .csv or .md file", file=args.out, field="--out")
    bench = load_benchmark(args.bench)
    prompts = resolve_prompts(args.prompt, bench, args.tracking_uri)
    cases = select_cases(bench, args.split, args.limit)
    tracker = None if args.no_track else make_tracker(args)  # a broken store fails now
    stdout, stderr = consoles()
    with loaded_models(args.model or ["smollm2"], args) as models:
        variants = _variants(args, prompts, models)
        total = len(cases) * args.repeats * len(variants)
        with progress_bar(stderr, total, f"compare {bench.name}") as advance:
            comparison = compare(
                variants,
                cases,
                bench.metrics,
                repeats=args.repeats,
                concurrency=args.concurrency,
                progress=advance,
            )
    print_comparison(stdout, comparison)
    if args.out:
        stdout.print(f"matrix written to {write_matrix(comparison, args.out)}")
    if tracker is not None:
        run_params = {"bench": bench.name, "split": args.split, "limit": args.limit}
        with tracking_errors(tracker):
            log_comparison(tracker, comparison, run_params)
        stdout.print(f"MLflow compare group {comparison.group_id} ({len(variants)} runs)")
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
def tracking_errors(tracker: Tracker) -> Iterator[None]:
    """The results are printed already; a store failure is one line, not a traceback."""
    try:
        yield
    except AutotuneError:
        raise
    except Exception as exc:
        uri = getattr(tracker, "tracking_uri", "")
        raise AutotuneError(f"could not log to MLflow at {uri}: {exc}") from exc


def make_tracker(args: argparse.Namespace) -> Tracker:
    from autotune.tracking import MlflowTracker

    return MlflowTracker(args.tracking_uri, args.experiment)


def consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(), Console(stderr=True)


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


@contextlib.contextmanager
def progress_bar(console: Console, total: int, label: str) -> Iterator[Any]:
    """A rich progress bar advanced once per finished case row."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("{task.description}", *columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)

        def advance(row: CaseResult) -> None:
            progress.advance(task)

        yield advance


def _short(text: str, width: int = OUTPUT_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def print_comparison(console: Console, comparison: Comparison) -> None:
    """The case-by-variant matrix, then each variant's mean and difference."""
    from rich.table import Table

    from autotune.report.matrix import summary_line

    matrix = Table(title="cases", show_lines=False)
    matrix.add_column("case", overflow="fold")
    for variant in comparison.variants:
        matrix.add_column(variant.name, overflow="fold", max_width=OUTPUT_WIDTH)
        matrix.add_column("score", justify="right")
    for index, case_id in enumerate(comparison.case_ids):
        cells = [case_id]
        for variant in comparison.variants:
            row = variant.result.rows[index]
            style = "green" if row.score >= 0.999 else "red"
            score = f"[{style}]{row.score:.2f}[/]" if row.scored else "[red]error[/]"
            cells += [_short(row.error or row.output), score]
        matrix.add_row(*cells)
    console.print(matrix)
    summary = Table(title=f"variants ({comparison.repeats} repeat(s) per case)")
    for column in ("variant", "model", "mean (95% CI); paired difference vs first"):
        summary.add_column(column, overflow="fold")
    for variant in comparison.variants:
        summary.add_row(variant.name, variant.model, summary_line(variant, comparison.confidence))
    console.print(summary)
