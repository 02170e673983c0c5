"""Options and checks the generation commands share (model, tracking, numbers, runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping

from autotune.errors import AutotuneError, UserInputError
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

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
