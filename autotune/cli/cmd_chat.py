"""``autotune chat``: ask a model one question, print its answer (usage goes to stderr)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autotune.cli._options import MODEL_HELP, add_cache_options, add_call_options, open_model
from autotune.errors import UserInputError
from autotune.llm import Message, SamplingParams


def register(subparsers: Any) -> None:
    """Add the ``chat`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat",
        help="ask a model one question and print the answer",
        description="Send one message to a model and print its answer; usage goes to stderr.",
    )
    parser.add_argument("message", help="the user message")
    parser.add_argument(
        "--model",
        default="smollm2",
        help=MODEL_HELP,
    )
    parser.add_argument("--system", default=None, help="a system message")
    parser.add_argument("--temperature", type=float, default=0.0, help="(default: 0)")
    parser.add_argument("--max-tokens", type=int, default=256, help="(default: 256)")
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server URL (default: $OPENAI_BASE_URL)"
    )
    add_cache_options(parser)
    add_call_options(parser)
    parser.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    """Handle ``autotune chat``."""
    if args.temperature < 0:
        raise UserInputError("must be >= 0", field="--temperature")
    if args.max_tokens < 1:
        raise UserInputError("must be >= 1", field="--max-tokens")
    llm = open_model(args, args.model)
    messages = [Message("system", args.system)] if args.system else []
    messages.append(Message("user", args.message))
    params = SamplingParams(temperature=args.temperature, max_tokens=args.max_tokens)
    try:
        completion = llm.execute(messages, params)
    finally:
        llm.close()
    print(completion.text)
    print(
        f"[{llm.name}] tokens: {completion.prompt_tokens} prompt + "
        f"{completion.completion_tokens} completion, latency {completion.latency_s:.2f} s, "
        f"cached: {'yes' if completion.cached else 'no'}",
        file=sys.stderr,
    )
    return 0
