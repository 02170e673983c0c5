"""``autotune reflect QUESTION``: Reflexion on one input, every round shown."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from autotune.cli._options import (
    add_model_options,
    add_tracking_options,
    check_models,
    check_numbers,
    log_run,
    open_model,
    require_text,
)

if TYPE_CHECKING:
    from autotune.gen import Reflection
    from autotune.tracking.base import TrackedRun


def register(subparsers: Any) -> None:
    """Add the ``reflect`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "reflect",
        help="answer one question with Reflexion (draft, critique, final answer)",
        description=(
            "Run the reflexion answer strategy on one input: a draft, a harsh critique "
            "(logic errors, missing steps), and a rewritten final answer, per round."
        ),
    )
    parser.add_argument("question", help="the input to answer")
    parser.add_argument("--rounds", type=int, default=1, help="critique rounds (default: 1)")
    parser.add_argument("--system", default="", help="system prompt for the answers")
    add_model_options(parser, max_tokens=256)
    add_tracking_options(parser, experiment_default="autotune reflect")
    parser.set_defaults(handler=run_reflect)


def run_reflect(args: argparse.Namespace) -> int:
    """Handle ``autotune reflect``."""
    from autotune.gen import reflect
    from autotune.llm import SamplingParams

    question = require_text(args.question, "question", "the question")
    check_numbers(
        [
            (args.rounds >= 1, "--rounds", "must be >= 1"),
            (args.max_tokens >= 1, "--max-tokens", "must be >= 1"),
            (args.temperature is None or args.temperature >= 0, "--temperature", "must be >= 0"),
        ]
    )
    check_models(args.model)
    params = SamplingParams(
        temperature=args.temperature or 0.0, max_tokens=args.max_tokens, seed=args.seed
    )
    llm = open_model(args, args.model)
    try:
        reflection = reflect(question, llm, rounds=args.rounds, system=args.system, params=params)
    finally:
        llm.close()
    print(render(reflection))
    run_params = {
        "question": question,
        "system": args.system,
        "model": llm.name,
        "rounds": args.rounds,
        "max_tokens": args.max_tokens,
        "temperature": params.temperature,
        "seed": args.seed,
    }
    log_run(args, "reflect", lambda run: _log(run, reflection, run_params))
    return 0


def render(reflection: Reflection) -> str:
    """Each round's draft, critique and final answer, labelled, for a terminal."""
    lines: list[str] = []
    for entry in reflection.rounds:
        lines += [f"=== Round {entry.number} ===", "--- Draft ---", entry.draft.strip()]
        lines += ["--- Critique ---", entry.critique.strip()]
        lines += ["--- Final answer ---", entry.final.strip(), ""]
    lines += ["=== Answer ===", reflection.answer.strip()]
    return "\n".join(lines)


def _log(run: TrackedRun, reflection: Reflection, params: dict[str, Any]) -> None:
    from autotune.gen._tracking import log_reflection

    log_reflection(run, reflection, params)
