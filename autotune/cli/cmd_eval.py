"""``autotune eval``: score one prompt on a benchmark, print a summary, log an MLflow run."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from autotune.answer_strategies import get_answer_strategy
from autotune.cli._options import add_call_options, open_model
from autotune.errors import AutotuneError, ConfigError, DataError, UserInputError
from autotune.evaluate import (
    DEFAULT_POLICY,
    CaseResult,
    EvalBudgetExceeded,
    EvalResult,
    Evaluator,
)
from autotune.llm import SamplingParams
from autotune.tracking import MlflowTracker, NullTracker, Tracker

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.bench.benchmark import Benchmark
    from autotune.bench.case import Case
    from autotune.llm import BaseLLM
    from autotune.prompt import Prompt

SPLIT_CHOICES = ("test", "validation", "train", "all")
WORST_SHOWN = 5


def register(subparsers: Any) -> None:
    """Add the ``eval`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="score a prompt on a benchmark",
        description=(
            "Run a prompt on a benchmark's cases, print the mean score with its 95% "
            "confidence interval and the worst failures, and log an MLflow run."
        ),
    )
    parser.add_argument("--prompt", required=True, help="prompt file (TOML, YAML or JSON)")
    parser.add_argument("--bench", required=True, help="benchmark suite file (TOML, YAML, JSON)")
    parser.add_argument(
        "--model", default="smollm2", help="smollm2 (default), gguf:PATH, openai:MODEL[@URL], fake"
    )
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="default: test")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N cases")
    parser.add_argument("--concurrency", type=int, default=8, help="cases in flight (default 8)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="default: the prompt's own (tuned) temperature, else 0",
    )
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--tracking-uri", default=None, help="default: sqlite:///mlruns/mlflow.db")
    parser.add_argument("--experiment", default="autotune", help="MLflow experiment name")
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    add_call_options(parser)
    parser.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Handle ``autotune eval``."""
    from autotune.bench import load_benchmark, load_prompt, validate_prompt_fields

    _check_numbers(args)
    bench = load_benchmark(args.bench)
    prompt = load_prompt(args.prompt, bench.user_template)
    validate_prompt_fields(prompt, bench, prompt_file=args.prompt)
    _check_strategy(prompt, args.prompt)
    cases = select_cases(bench, args.split, args.limit)
    if args.temperature is None:
        args.temperature = prompt.temperature or 0.0
    params = SamplingParams(temperature=args.temperature, max_tokens=args.max_tokens)
    llm = open_model(args, args.model)
    tracker: Tracker = (
        NullTracker() if args.no_track else MlflowTracker(args.tracking_uri, args.experiment)
    )
    stdout, stderr = _consoles()
    try:
        result = _evaluate(llm, bench, prompt, cases, params, args.concurrency, stderr)
    except EvalBudgetExceeded as stop:  # keep and log what finished, then stop
        _finish(args, tracker, stdout, bench, prompt, llm, stop.partial)
        raise
    finally:
        llm.close()
    _finish(args, tracker, stdout, bench, prompt, llm, result)
    return 0


def select_cases(bench: Benchmark, split: str, limit: int | None) -> tuple[Case, ...]:
    """The cases of ``split`` (``all``: every case), the first ``limit`` of them if given.

    Raises:
        DataError: The split has no cases.
    """
    cases = bench.cases if split == "all" else bench.split(split)
    if not cases:
        raise DataError(f"benchmark {bench.name!r} has no {split!r} cases", field="split")
    return cases[:limit] if limit is not None else cases


def _check_numbers(args: argparse.Namespace) -> None:
    checks = [
        (args.concurrency >= 1, "--concurrency", "must be >= 1"),
        (args.limit is None or args.limit >= 1, "--limit", "must be >= 1"),
        (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
        (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
    ]
    for ok, field, message in checks:
        if not ok:
            raise UserInputError(message, field=field)


def _check_strategy(prompt: Prompt, prompt_file: str) -> None:
    try:
        get_answer_strategy(prompt.answer_strategy)
    except ConfigError as exc:  # point at the prompt file, not only the field
        raise ConfigError(exc.message, file=prompt_file, field="strategy") from None


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(), Console(stderr=True)


def _evaluate(
    llm: BaseLLM,
    bench: Benchmark,
    prompt: Prompt,
    cases: Sequence[Case],
    params: SamplingParams,
    concurrency: int,
    console: Console,
) -> EvalResult:
    with _progress_bar(console, len(cases), f"eval {bench.name}") as advance:
        evaluator = Evaluator(
            llm,
            bench.metrics,
            params=params,
            concurrency=concurrency,
            progress=advance,
            error_policy=DEFAULT_POLICY,
        )
        return evaluator.evaluate(prompt, cases)


@contextlib.contextmanager
def _progress_bar(console: Console, total: int, label: str) -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("{task.description}", *columns, console=console) as progress:
        task = progress.add_task(label, total=total)

        def advance(row: CaseResult) -> None:
            progress.advance(task)

        yield advance


def _finish(
    args: argparse.Namespace,
    tracker: Tracker,
    console: Console,
    bench: Benchmark,
    prompt: Prompt,
    llm: BaseLLM,
    result: EvalResult,
) -> None:
    title = f"{bench.name} · {prompt.name or prompt.fingerprint()} · {llm.name} · {args.split}"
    print_summary(console, result, title)
    if isinstance(tracker, NullTracker):
        return
    run_params = {
        "model": llm.name,
        "bench": bench.name,
        "bench_source": bench.source,
        "split": args.split,
        "limit": args.limit,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "concurrency": args.concurrency,
    }
    tags = {"autotune.command": "eval", "autotune.bench": bench.name}
    run_name = f"eval-{prompt.name or prompt.fingerprint()}"
    try:
        run_id = tracker.log_eval(result, prompt, params=run_params, run_name=run_name, tags=tags)
    except Exception as exc:  # the summary is printed; say why the run is missing
        uri = getattr(tracker, "tracking_uri", "")
        raise AutotuneError(f"could not log the run to MLflow at {uri}: {exc}") from exc
    console.print(f"MLflow run {run_id} in experiment {args.experiment!r}")


def print_summary(console: Console, result: EvalResult, title: str) -> None:
    """The aggregate table and the worst failures."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    if result.n_scored:
        ci = f"95% CI {result.ci_low:.3f}-{result.ci_high:.3f}"
        table.add_row("score", f"{result.mean:.3f}  ({ci}, over {result.n_scored} scored cases)")
    else:
        table.add_row("score", "- (no case was scored)")
    for name, mean in result.metric_means.items():
        table.add_row(f"  {name}", "-" if mean != mean else f"{mean:.3f}")
    passed = sum(1 for row in result.rows if row.passed)
    errors = f"{result.errors} errors" + (", not scored" if result.errors else "")
    table.add_row("cases", f"{len(result.rows)} ({passed} passed, {errors})")
    table.add_row("calls", str(result.calls))
    table.add_row(
        "tokens",
        f"{result.tokens} ({result.prompt_tokens} prompt + {result.completion_tokens} completion)",
    )
    rate = len(result.rows) / result.wall_s if result.wall_s > 0 else 0.0
    table.add_row("time", f"{result.wall_s:.2f} s ({rate:.1f} cases/s)")
    console.print(table)
    worst = result.failures[:WORST_SHOWN]
    if worst:
        console.print(_failures_table(worst))


def _failures_table(rows: list[CaseResult]) -> Any:
    from rich.table import Table

    table = Table(title="worst cases")
    for column in ("case", "score", "why", "output"):
        table.add_column(column, overflow="fold")
    for row in rows:
        why = row.error or row.reason
        score = f"{row.score:.2f}" if row.scored else "error"
        table.add_row(row.case_id, score, _short(why, 80), _short(row.output, 60))
    return table


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
