"""``autotune ui``: the MLflow UI over the store autotune logs to (offline-safe)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from autotune.cli._options import TRACKING_URI_HELP
from autotune.errors import UserInputError

# MLflow's usage telemetry would try to reach the internet; nothing else here does.
# Its server-side job workers (seven huey processes, for UI-started judges and prompt
# optimization) are not used by autotune and outlive a stopped server: off.
OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
}


def register(subparsers: Any) -> None:
    """Add the ``ui`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ui",
        help="open the MLflow UI on the local store (runs, traces, datasets, prompts)",
        description=(
            "Serve the MLflow UI over the tracking store autotune logs to, on 127.0.0.1 "
            "until Ctrl-C. Everything is served locally (no network access needed)."
        ),
    )
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)
    parser.add_argument("--host", default="127.0.0.1", help="(default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="(default: 5000)")
    parser.set_defaults(handler=run_ui)


def ui_command(tracking_uri: str, host: str, port: int) -> list[str]:
    """The ``mlflow ui`` command line for this store."""
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    root = _artifact_root(tracking_uri)
    if root:
        command += ["--default-artifact-root", root]
    return command


def _artifact_root(tracking_uri: str) -> str | None:
    from autotune.tracking.mlflow_sink import artifact_root

    return artifact_root(tracking_uri)


def run_ui(args: argparse.Namespace) -> int:
    """Handle ``autotune ui``."""
    from autotune.tracking.mlflow_sink import resolve_tracking_uri

    if not 0 < args.port < 65536:
        raise UserInputError("must be between 1 and 65535", field="--port")
    uri = resolve_tracking_uri(args.tracking_uri)
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        print(f"note: {uri} does not exist yet; the UI starts empty", file=sys.stderr)
    print(
        f"MLflow UI for {uri} at http://{args.host}:{args.port} (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    command = ui_command(uri, args.host, args.port)
    # Become the MLflow server: a signal to this process reaches it (and its workers)
    # directly, and nothing of ours lingers as a parent.
    os.execve(command[0], command, {**os.environ, **OFFLINE_ENV})
