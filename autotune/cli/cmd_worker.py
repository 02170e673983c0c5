"""``autotune worker EXPERIMENT --storage URL``: one more worker on a shared study.

Start it on as many hosts as you like, with the same experiment file and storage: the
workers run the study's candidates between them until ``n_trials`` are recorded, one
of them runs the final phase, and each prints the same result.
"""

from __future__ import annotations

import argparse

from autotune.cli import cmd_run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="join a study as one of several workers (any host, shared --storage)",
        description=(
            "Join the study an experiment file describes, in a storage every worker "
            "reaches (PostgreSQL, Redis, a journal file on one host, a storage proxy). "
            "Workers run candidates until the study has n_trials, one of them runs the "
            "final phase, and every worker prints its result. Track to a shared MLflow "
            "store too (--tracking-uri http://HOST:5000) so the study has one parent run."
        ),
    )
    cmd_run.add_study_arguments(parser, storage_required=True)
    parser.set_defaults(handler=cmd_run.handle)
