"""``autotune doctor``: check the installation, one line per check; exit 1 on a failure."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from autotune.doctor import run_checks

_MARK = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}


def register(subparsers: Any) -> None:
    """Add the ``doctor`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check versions, the embedded model, stores and the OpenAI endpoint",
        description=(
            "Check the installation: versions, the llama.cpp build and its CPU features, "
            "whether the embedded model answers, where the cache, MLflow store and Optuna "
            "storage are and whether they are writable, and $OPENAI_BASE_URL if set. "
            "Exit 1 when a check fails."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    """Handle ``autotune doctor``."""
    checks = run_checks()
    ok = all(check.status != "fail" for check in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            print(f"{_MARK[check.status]}  {check.name:<{width}}  {check.detail}")
    return 0 if ok else 1
