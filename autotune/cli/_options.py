"""Options and checks the commands share (model, tracking, cache, concurrency, JSON).

Help texts spell a default one way: ``(default: X)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.errors import AutotuneError, UserInputError
from autotune.tracking.base import NullTracker, TrackedRun, Tracker

if TYPE_CHECKING:
    from autotune.llm.accounting import MeteredLLM

MODEL_HELP = "smollm2, gguf:PATH, openai:MODEL[@URL] or fake (default: smollm2)"
TRACKING_URI_HELP = (
    "MLflow store and prompt registry (default: $MLFLOW_TRACKING_URI, else "
    "sqlite:///mlruns/mlflow.db)"
)
CACHE_DIR_ENV = "AUTOTUNE_CACHE_DIR"
CACHE_FILE = "responses.sqlite"


def add_model_options(parser: argparse.ArgumentParser, *, max_tokens: int) -> None:
    """The model string, server URL, sampling options and the cache options."""
    parser.add_argument("--model", default="smollm2", help=MODEL_HELP)
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server URL (default: $OPENAI_BASE_URL)"
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=max_tokens,
        help=f"per model answer (default: {max_tokens})",
    )
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    add_cache_options(parser)
    add_call_options(parser)


def add_call_options(parser: argparse.ArgumentParser) -> None:
    """``--timeout`` and ``--retries`` of every HTTP model call."""
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per HTTP model call (default: 60)"
    )
    parser.add_argument(
        "--retries", type=int, default=None, help="retries of a failed HTTP call (default: 4)"
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
    """The model ``spec`` names, with --base-url, --no-cache, --cache-dir, --timeout and
    --retries."""
    from autotune.llm import load_llm

    timeout, retries = check_call_options(args)
    return load_llm(
        spec,
        base_url=args.base_url,
        no_cache=args.no_cache,
        cache_path=cache_path(args),
        timeout_s=timeout,
        max_retries=retries,
    )


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """``--no-cache`` and ``--cache-dir``."""
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    parser.add_argument(
        "--cache-dir",
        default=None,
        help=f"response cache folder (default: ${CACHE_DIR_ENV}, else .autotune-cache)",
    )


def cache_path(args: argparse.Namespace) -> Path | None:
    """The response cache file the options name; None means the library default."""
    folder = getattr(args, "cache_dir", None) or os.environ.get(CACHE_DIR_ENV)
    return Path(folder) / CACHE_FILE if folder else None


def add_tracking_options(parser: argparse.ArgumentParser, *, experiment_default: str) -> None:
    """``--tracking-uri``, ``--experiment``, ``--no-track``."""
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)
    parser.add_argument(
        "--experiment", default=None, help=f"MLflow experiment (default: {experiment_default})"
    )
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")


def add_concurrency_option(parser: argparse.ArgumentParser, *, default: int | None) -> None:
    """``-j/--concurrency``: cases in flight at once."""
    shown = "the experiment's" if default is None else str(default)
    parser.add_argument(
        "-j",
        "--concurrency",
        type=int,
        default=default,
        metavar="N",
        help=f"cases in flight at once (default: {shown})",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: one JSON document on stdout instead of tables."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout (progress stays on stderr)",
    )


def print_json(document: Mapping[str, Any]) -> None:
    """Write ``document`` to stdout as the command's only output."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


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


def build_tracker(args: argparse.Namespace, experiment: str) -> Tracker:
    """The MLflow tracker the options name (``--experiment`` wins over ``experiment``),
    or a null one with ``--no-track``."""
    if args.no_track:
        return NullTracker()
    from autotune.tracking import MlflowTracker

    return MlflowTracker(args.tracking_uri, args.experiment or experiment)


def log_run(
    args: argparse.Namespace,
    command: str,
    log: Callable[[TrackedRun], None],
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log one run for ``command`` (after its output is safe); say where it went."""
    from autotune.tracking.naming import command_experiment

    tracker = build_tracker(args, command_experiment(command))
    if isinstance(tracker, NullTracker):
        return
    all_tags = {"autotune.command": command, **(tags or {})}
    # Back-dated to the command's start (main sets it), so the duration is the work's.
    started = getattr(args, "started_at", None)
    try:
        with tracker.start_run(command, tags=all_tags, started_at=started) as run:
            log(run)
    except Exception as exc:  # the output is written; say why the run is missing
        uri = getattr(tracker, "tracking_uri", "")
        raise AutotuneError(f"could not log the run to MLflow at {uri}: {exc}") from exc
    name = getattr(tracker, "experiment", command)
    print(f"MLflow run {run.run_id} in experiment {name!r}", file=sys.stderr)
