"""``autotune serve-local``: the embedded model as an OpenAI-compatible HTTP server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autotune.llm.server import resolve_local_model, serve


def register(subparsers: Any) -> None:
    """Add the ``serve-local`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve-local",
        help="serve the embedded model as an OpenAI-compatible server",
        description="Serve a local GGUF model at http://HOST:PORT/v1 until Ctrl-C.",
    )
    parser.add_argument(
        "--model", default="smollm2", help="smollm2 or gguf:PATH (default: smollm2)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="(default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="(default: 8080)")
    parser.add_argument(
        "--n-ctx", type=int, default=2048, help="context size in tokens (default: 2048)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Handle ``autotune serve-local``."""
    _, alias = resolve_local_model(args.model)  # fail fast, before the slow imports
    print(
        f"serving {alias} at http://{args.host}:{args.port}/v1 (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    serve(args.model, host=args.host, port=args.port, n_ctx=args.n_ctx, n_threads=args.threads)
    return 0
