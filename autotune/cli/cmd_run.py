"""``autotune run EXPERIMENT.toml``: a batch optimization run from an experiment file."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from autotune.cli._live import RunDisplay
from autotune.cli._options import (
    TRACKING_URI_HELP,
    add_cache_options,
    add_call_options,
    add_concurrency_option,
    add_json_option,
    cache_path,
    check_call_options,
    print_json,
)
from autotune.errors import ConfigError
from autotune.llm.accounting import MeteredLLM
from autotune.llm.urls import redact_urls
from autotune.search.events import Progress
from autotune.search.result import OptimizationResult

if TYPE_CHECKING:
    from autotune.experiment import Experiment
    from autotune.llm.base import BaseLLM


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="optimize a prompt as an experiment file describes",
        description=(
            "Run (or resume) the study an experiment file describes. A live view on "
            "stderr shows the phase, trials done, the best score so far, time left, and "
            "model calls and tokens; Ctrl-C stops, and the same command resumes."
        ),
    )
    add_study_arguments(parser, storage_required=False)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run the study in N local processes (default: 1; see `autotune worker`)",
    )
    parser.set_defaults(handler=handle)


def add_study_arguments(parser: argparse.ArgumentParser, *, storage_required: bool) -> None:
    """The options of ``run`` and ``worker``."""
    parser.add_argument("experiment", help="experiment file (TOML/YAML)")
    parser.add_argument("--trials", type=int, help="(default: the file's search.n_trials)")
    parser.add_argument(
        "--study",
        help="study name (default: the experiment's name; an existing study is resumed)",
    )
    add_concurrency_option(parser, default=None)
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    add_cache_options(parser)
    parser.add_argument("--tracking-uri", help=TRACKING_URI_HELP)
    parser.add_argument(
        "--experiment",
        dest="mlflow_experiment",
        default=None,
        help="MLflow experiment (default: STUDY (study))",
    )
    parser.add_argument(
        "--storage",
        required=storage_required,
        help="Optuna storage URL"
        + ("" if storage_required else " (default: sqlite:///mlruns/optuna.db)"),
    )
    parser.add_argument(
        "--new-study",
        action="store_true",
        help="start a fresh study (a new name) instead of resuming one whose setup changed",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="resume the study although its setup changed, where that is safe",
    )
    add_call_options(parser)
    add_json_option(parser)


def _apply(args: argparse.Namespace, experiment: Experiment) -> None:
    """Command-line options override the experiment file."""
    if args.study:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.study):
            raise ConfigError("use letters, digits, '.', '_' and '-'", field="--study")
        experiment.name = args.study
    if args.trials is not None:
        if args.trials < 1:
            raise ConfigError(f"must be at least 1, got {args.trials}", field="--trials")
        experiment.search.n_trials = args.trials
    _apply_study_options(args, experiment)
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise ConfigError("must be >= 1", field="--concurrency")
        experiment.search.concurrency = args.concurrency
    if args.no_track:
        experiment.tracking.enabled = False
    if args.no_cache:
        experiment.models.cache = False
    if args.tracking_uri:
        experiment.tracking.uri = args.tracking_uri
    if args.mlflow_experiment:
        experiment.tracking.experiment = args.mlflow_experiment
    if args.storage:
        experiment.tracking.storage = args.storage


def _apply_study_options(args: argparse.Namespace, experiment: Experiment) -> None:
    """--new-study (a fresh study name), --force, --timeout and --retries."""
    if args.new_study and args.force:
        raise ConfigError("give either --new-study or --force, not both", field="--new-study")
    if args.new_study:
        experiment.name = f"{experiment.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    experiment.force_resume = args.force
    timeout, retries = check_call_options(args)
    if timeout is not None:
        experiment.models.timeout_s = timeout
    if retries is not None:
        experiment.models.max_retries = retries


def handle(args: argparse.Namespace) -> int:
    from autotune._run import build_llms, run_experiment
    from autotune.cli._workers import local_workers
    from autotune.experiment import load_experiment

    experiment = load_experiment(args.experiment)
    _apply(args, experiment)
    console = Console(stderr=True)
    console.print(banner(args, experiment))
    started = time.perf_counter()
    llms = build_llms(experiment, cache_path(args))
    total = experiment.search.n_trials
    with (
        local_workers(args, experiment, console),
        RunDisplay(console, usage=_usage_of(*llms), total=total) as display,
    ):
        result = run_experiment(experiment, on_progress=display.update, llms=llms)
        display.update(Progress("done", total, total, None, *_usage_of(*llms)()))
    wall = time.perf_counter() - started
    if args.json:
        print_json(run_document(result, wall))
    else:
        print_result(Console(), result, wall)
    return 0


def banner(args: argparse.Namespace, experiment: Experiment) -> str:
    """The first line: the study, its models and trials (and where workers meet)."""
    from autotune.search.storage import display_url

    models = (
        f"task model {redact_urls(experiment.models.task)}, "
        f"Meta-LLM {redact_urls(experiment.models.meta or experiment.models.task)}"
    )
    line = f"[bold]autotune {args.command}[/] {experiment.name}: {models}, "
    line += f"{experiment.search.n_trials} trials"
    workers = getattr(args, "workers", 1)
    if args.command == "worker" or workers > 1:
        where = display_url(experiment.tracking.storage)
        line += f" shared by {workers} local workers" if workers > 1 else " (one worker)"
        line += f" on {where}"
    return line


def _usage_of(*llms: BaseLLM) -> Callable[[], tuple[int, int]]:
    """Live (calls, tokens) of the models' meters (each model counted once)."""
    meters = {id(m.meter): m.meter for m in llms if isinstance(m, MeteredLLM)}

    def read() -> tuple[int, int]:
        snapshots = [meter.snapshot() for meter in meters.values()]
        return sum(s.calls for s in snapshots), sum(s.tokens for s in snapshots)

    return read


def run_document(result: OptimizationResult, wall_s: float) -> dict[str, Any]:
    """The ``--json`` output of ``run`` (schema: ``autotune/cli/schemas/run.json``)."""
    return {
        "command": "run",
        **result.summary(),
        "best_prompt": result.best_prompt.to_dict(),
        "wall_s": wall_s,
    }


def print_result(console: Console, result: OptimizationResult, wall_s: float) -> None:
    """Seed vs best on validation and the held-out test split, and where to look."""
    table = Table(title=f"study {result.study_name}")
    table.add_column("")
    table.add_column("seed", justify="right")
    table.add_column("best", justify="right")
    table.add_row("validation", f"{result.seed_validation:.3f}", f"{result.best_validation:.3f}")
    held = result.held_out
    if held is not None:
        table.add_row("test (held out)", f"{held.seed.mean:.3f}", f"{held.best.mean:.3f}")
    console.print(table)
    if held is not None:
        verdict = "above zero" if held.significant else "not above zero"
        console.print(
            f"gain on test: {held.gain * 100:+.1f} points, 95% CI "
            f"[{held.gain_ci_low * 100:+.1f}, {held.gain_ci_high * 100:+.1f}] ({verdict})"
        )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.candidates.items()))
    usage = result.usage
    console.print(
        f"candidates: {counts}; rejected Meta-LLM edits: {result.rejected_proposals}; "
        f"model calls: {usage.get('calls', 0)} (+{usage.get('cached_calls', 0)} cached); "
        f"time: {wall_s:.0f}s"
    )
    if result.stopped_by:
        console.print(f"stopped early: {result.stopped_by} budget reached (all candidates kept)")
    number = result.best_candidate
    origin = f"candidate {number}" if number is not None else "the seed"
    calibrated = ", answers calibrated" if result.best_prompt.calibration else ""
    console.print(f"[bold]best prompt[/] ({origin}{calibrated})")
    console.print(result.best_prompt.system or "(empty system text)", markup=False)
    if result.best_prompt.demos:
        console.print(
            f"+ {len(result.best_prompt.demos)} demos, "
            f"answer strategy {result.best_prompt.answer_strategy}, "
            f"instruction in the {result.best_prompt.instruction_position} message"
        )
    if result.contributions:
        shown = ", ".join(
            f"{c.part} {c.contribution * 100:+.1f} ({c.verdict})" for c in result.contributions
        )
        console.print(f"ablation on validation (points each part is worth): {shown}")
    if result.unscored:
        console.print(f"final budget reached; not scored: {', '.join(result.unscored)}")
    if result.prompt_path:
        console.print(f"written to {result.prompt_path}")
    if result.registry_uri:
        console.print(f"registered as {result.registry_uri}")
    if result.parent_run_id:
        console.print(
            f"MLflow: parent run {result.parent_run_id}; browse with `autotune ui`, "
            f"or `autotune view {result.study_name}` for the report"
        )
