"""``autotune report``: a self-contained HTML page for a study, a comparison or a run."""

from __future__ import annotations

import argparse
from typing import Any

from autotune.cli._options import TRACKING_URI_HELP


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write an HTML report with plots for a study or run",
        description=(
            "Write an HTML report (works offline; plotly.min.js is written once beside it "
            "and shared, or embedded with --inline): the score of each trial with the "
            "best so far, a heat map of trials against cases, score against cost, "
            "parameter importances and parallel coordinates, a table of trials with 95% "
            "intervals and the diff from the seed to the best prompt."
        ),
    )
    parser.add_argument(
        "target",
        metavar="RUN_OR_STUDY",
        help="MLflow run id (study parent, compare or eval run), compare group id, or study name",
    )
    parser.add_argument("--out", default="report.html", help="(default: report.html)")
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)
    parser.add_argument(
        "--storage", default=None, help="Optuna storage (default: sqlite:///mlruns/optuna.db)"
    )
    parser.add_argument(
        "--inline", action="store_true", help="embed plotly.js: one self-contained file"
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Handle ``autotune report``."""
    from autotune.report import write_report

    path = write_report(
        args.target,
        args.out,
        tracking_uri=args.tracking_uri,
        storage=args.storage,
        inline=args.inline,
    )
    print(f"report written to {path}")
    return 0
