"""Options and checks the generation commands share (model, tracking, numbers, runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from autotune.errors import AutotuneError, UserInputError
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

if TYPE_CHECKING:
    from autotune.llm.accounting import MeteredLLM

MODEL_HELP = "smollm2 (default), gguf:PATH, openai:MODEL[@URL], fake"


def add_model_options(parser: argparse.ArgumentParser, *, max_tokens: int) -> None:
    """The model string, server URL, sampling options and ``--no-cache``."""
    parser.add_argument("--model", default="smollm2", help=MODEL_HELP)
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=max_tokens,
        help=f"per model answer (default {max_tokens})",
    )
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    add_call_options(parser)


def add_call_options(parser: argparse.ArgumentParser) -> None:
    """``--timeout`` and ``--retries`` of every HTTP model call."""
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per HTTP model call (default 60)"
    )
    parser.add_argument(
        "--retries", type=int, default=None, help="retries of a failed HTTP call (default 4)"
    )


def check_call_options(args: argparse.Namespace) -> tuple[float | None, int | None]:
    """``(timeout_s, max_retries)`` from ``--timeout``/``--retries``, checked."""
    timeout, retries = getattr(args, "timeout", None), getattr(args, "retries", None)
    check_numbers(
        [
            (timeout is None or timeout > 0, "--timeout", "must be > 0 seconds"),
            (retries is None or retries >= 0, "--retries", "must be >= 0"),
        ]
    )
    return timeout, retries


def open_model(args: argparse.Namespace, spec: str) -> MeteredLLM:
    """The model ``spec`` names, with --base-url, --no-cache, --timeout and --retries."""
    from autotune.llm import load_llm

    timeout, retries = check_call_options(args)
    return load_llm(
        spec,
        base_url=args.base_url,
        no_cache=args.no_cache,
        timeout_s=timeout,
        max_retries=retries,
    )


def add_tracking_options(parser: argparse.ArgumentParser) -> None:
    """``--tracking-uri``, ``--experiment``, ``--no-track``."""
    parser.add_argument("--tracking-uri", default=None, help="default: sqlite:///mlruns/mlflow.db")
    parser.add_argument("--experiment", default="autotune", help="MLflow experiment name")
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")


def require_text(value: str | None, field: str, what: str) -> str:
    """``value`` stripped; an empty one is a user error naming ``field``."""
    text = (value or "").strip()
    if not text:
        raise UserInputError(f"{what} is empty", field=field)
    return text


def check_numbers(checks: Iterable[tuple[bool, str, str]]) -> None:
    """Raise for the first ``(ok, field, message)`` that is not ok."""
    for ok, field, message in checks:
        if not ok:
            raise UserInputError(message, field=field)


def check_models(*specs: str) -> None:
    """Fail on a malformed model string before any model is loaded."""
    from autotune.llm import parse_model_spec

    for spec in specs:
        parse_model_spec(spec)


def build_tracker(args: argparse.Namespace) -> Tracker:
    """The MLflow tracker the options name, or a null one with ``--no-track``."""
    if args.no_track:
        return NullTracker()
    from autotune.tracking import MlflowTracker

    return MlflowTracker(args.tracking_uri, args.experiment)


def log_run(
    args: argparse.Namespace,
    command: str,
    log: Callable[[TrackedRun], None],
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log one run for ``command`` (after its output is safe); say where it went."""
    tracker = build_tracker(args)
    if isinstance(tracker, NullTracker):
        return
    try:
        with tracker.start_run(command, tags={"autotune.command": command, **(tags or {})}) as run:
            log(run)
    except Exception as exc:  # the output is written; say why the run is missing
        uri = getattr(tracker, "tracking_uri", "")
        raise AutotuneError(f"could not log the run to MLflow at {uri}: {exc}") from exc
    print(f"MLflow run {run.run_id} in experiment {args.experiment!r}", file=sys.stderr)
