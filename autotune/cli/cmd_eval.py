"""``autotune eval``: score one prompt on a benchmark, print a summary, log an MLflow run."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autotune.answer_strategies import get_answer_strategy
from autotune.cli._options import (
    MODEL_HELP,
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
from autotune.cli._tracked import benchmark_tracker, store_errors, traced
from autotune.errors import ConfigError, DataError
from autotune.evaluate import (
    DEFAULT_POLICY,
    CaseResult,
    EvalBudgetExceeded,
    EvalResult,
    Evaluator,
)
from autotune.llm import SamplingParams
from autotune.tracking import TrackedRun, Tracker
from autotune.tracking.traces import CallLog

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
            "confidence interval and the worst failures, and log an MLflow run (in the "
            "benchmark's experiment, with the cases as its dataset and sampled traces)."
        ),
    )
    parser.add_argument("--prompt", required=True, help="prompt file (TOML, YAML or JSON)")
    parser.add_argument("--bench", required=True, help="benchmark suite file (TOML, YAML, JSON)")
    parser.add_argument("--model", default="smollm2", help=MODEL_HELP)
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server URL (default: $OPENAI_BASE_URL)"
    )
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="(default: test)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N cases")
    add_concurrency_option(parser, default=8)
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="(default: the prompt's own tuned temperature, else 0)",
    )
    parser.add_argument("--max-tokens", type=int, default=256, help="(default: 256)")
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: BENCH (benchmark))"
    )
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_cache_options(parser)
    add_call_options(parser)
    add_json_option(parser)
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
    tracker = benchmark_tracker(args, bench.name)
    stdout, stderr = consoles()
    calls = CallLog()
    run_name = f"eval {prompt.name or prompt.fingerprint()}"
    tags = {"autotune.command": "eval", "autotune.kind": "eval", "autotune.bench": bench.name}
    with contextlib.ExitStack() as stack:
        with store_errors(tracker):
            run = stack.enter_context(tracker.start_run(run_name, tags=tags))
            run.log_dataset(bench, args.split, cases)
        try:
            model = traced(llm, tracker, calls)
            result = _evaluate(model, bench, prompt, cases, params, args.concurrency, stderr)
        except EvalBudgetExceeded as stop:  # keep and log what finished, then stop
            with store_errors(tracker):
                _log(args, run, bench, prompt, llm, stop.partial, calls)
            raise
        finally:
            llm.close()
        with store_errors(tracker):
            _log(args, run, bench, prompt, llm, result, calls)
    _show(args, stdout, tracker, run, bench, prompt, llm, result)
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
    check_numbers(
        [
            (args.concurrency >= 1, "--concurrency", "must be >= 1"),
            (args.limit is None or args.limit >= 1, "--limit", "must be >= 1"),
            (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
            (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
        ]
    )


def _check_strategy(prompt: Prompt, prompt_file: str) -> None:
    try:
        get_answer_strategy(prompt.answer_strategy)
    except ConfigError as exc:  # point at the prompt file, not only the field
        raise ConfigError(exc.message, file=prompt_file, field="strategy") from None


def consoles() -> tuple[Console, Console]:
    """stdout for results, stderr for progress."""
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
    with case_bar(console, len(cases), f"eval {bench.name}") as advance:
        evaluator = Evaluator(
            llm,
            bench.metrics,
            params=params,
            concurrency=concurrency,
            progress=advance,
            error_policy=DEFAULT_POLICY,
        )
        return evaluator.evaluate(prompt, cases)


def _log(
    args: argparse.Namespace,
    run: TrackedRun,
    bench: Benchmark,
    prompt: Prompt,
    llm: BaseLLM,
    result: EvalResult,
    calls: CallLog,
) -> None:
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
    run.log_eval(result, prompt, run_params)
    run.log_calls(calls.drain(), result)


def _show(
    args: argparse.Namespace,
    console: Console,
    tracker: Tracker,
    run: TrackedRun,
    bench: Benchmark,
    prompt: Prompt,
    llm: BaseLLM,
    result: EvalResult,
) -> None:
    experiment = getattr(tracker, "experiment", None)
    if args.json:
        print_json(eval_document(result, bench, prompt, llm.name, args.split, run, experiment))
        return
    title = f"{bench.name} · {prompt.name or prompt.fingerprint()} · {llm.name} · {args.split}"
    print_summary(console, result, title)
    if run.run_id:
        console.print(f"MLflow run {run.run_id} in experiment {experiment!r}")


def eval_document(
    result: EvalResult,
    bench: Benchmark,
    prompt: Prompt,
    model: str,
    split: str,
    run: TrackedRun,
    experiment: str | None,
) -> dict[str, Any]:
    """The ``--json`` output of ``eval`` (schema: ``autotune/cli/schemas/eval.json``)."""
    return {
        "command": "eval",
        "benchmark": bench.name,
        "prompt": prompt.name or prompt.fingerprint(),
        "model": model,
        "split": split,
        "summary": result_summary(result),
        "failures": [row_summary(row) for row in result.failures[:WORST_SHOWN]],
        "mlflow": {"run_id": run.run_id, "experiment": experiment} if run.run_id else None,
    }


def result_summary(result: EvalResult) -> dict[str, Any]:
    """An evaluation's numbers for JSON output."""
    return {
        "mean": result.mean,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "cases": len(result.rows),
        "passed": sum(1 for row in result.rows if row.passed),
        "errors": result.errors,
        "metrics": dict(result.metric_means),
        "calls": result.calls,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "wall_s": result.wall_s,
    }


def row_summary(row: CaseResult) -> dict[str, Any]:
    """One case row for JSON output."""
    return {
        "case_id": row.case_id,
        "score": row.score,
        "output": row.output,
        "expected": row.expected,
        "reason": row.reason,
        "error": row.error,
    }


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
