"""The ``autotune`` command: a thin layer that parses arguments and calls the API.

Each sub-command lives in its own module under ``autotune.cli`` and exposes
``register(subparsers)``; that function adds its parser and sets ``handler`` to a
function ``(args) -> int``. User mistakes (:class:`AutotuneError`) become one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from autotune.errors import AutotuneError, BudgetExceeded

COMMAND_MODULES = (
    "chat",
    "serve",
    "eval",
    "run",
    "generate",
    "synth",
    "reflect",
    "compare",
    "regress",
    "report",
    "view",
    "ui",
    "cache",
    "doctor",
    "storage_proxy",
    "worker",
)

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "autotune: interrupted: rerun the same command to resume"


def package_version() -> str:
    """The installed autotune version."""
    try:
        return version("autotune")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="autotune",
        description="Prompt autotuner: a Meta-LLM writes, tests and refines prompts.",
    )
    parser.add_argument("--version", action="version", version=f"autotune {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"autotune.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autotune.cli.cmd_{name}":
                raise
            continue  # command not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``autotune`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USER_ERROR
    args.started_at = time.time()  # runs logged after the work are back-dated to here
    try:
        code: int = handler(args)
    except BudgetExceeded as exc:
        print(f"autotune: stopped: {exc}", file=sys.stderr)
        return 0
    except AutotuneError as exc:
        print(f"autotune: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        # Every finished case and trial is stored (cache, study); a rerun continues.
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
