"""``autotune cache stats|clear``: what the response cache holds, and emptying it."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from autotune.cli._options import CACHE_DIR_ENV, add_json_option, cache_path, print_json


def register(subparsers: Any) -> None:
    """Add the ``cache`` command with ``stats`` and ``clear``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cache",
        help="show or clear the response cache",
        description="The response cache answers repeated model requests without a call.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    stats = actions.add_parser("stats", help="entries, tokens and size per model")
    clear = actions.add_parser("clear", help="delete cached answers")
    clear.add_argument("--model", default=None, help="only this model (backend:model)")
    for sub in (stats, clear):
        sub.add_argument(
            "--cache-dir",
            default=None,
            help=f"response cache folder (default: ${CACHE_DIR_ENV}, else .autotune-cache)",
        )
    add_json_option(stats)
    stats.set_defaults(handler=run_stats)
    clear.set_defaults(handler=run_clear)


def _path(args: argparse.Namespace) -> Any:
    from autotune.llm.cache import DEFAULT_CACHE_PATH

    return cache_path(args) or DEFAULT_CACHE_PATH


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).isoformat(" ", "seconds")


def run_stats(args: argparse.Namespace) -> int:
    """Handle ``autotune cache stats``."""
    from autotune.llm.cache import ResponseStore

    path = _path(args)
    if not path.is_file():
        document: dict[str, Any] = {"path": str(path), "entries": 0, "size_bytes": 0}
        document["models"] = []
        _show(args, document)
        return 0
    store = ResponseStore(path)
    try:
        stats = store.stats()
    finally:
        store.close()
    document = {
        "path": str(stats.path),
        "entries": stats.entries,
        "size_bytes": stats.size_bytes,
        "models": [
            {
                "model": m.model,
                "entries": m.entries,
                "tokens": m.tokens,
                "oldest": _when(m.oldest),
                "newest": _when(m.newest),
            }
            for m in stats.models
        ],
    }
    _show(args, document)
    return 0


def _show(args: argparse.Namespace, document: dict[str, Any]) -> None:
    if args.json:
        print_json(document)
        return
    size = document["size_bytes"] / 1e6
    print(f"{document['path']}: {document['entries']} answers, {size:.1f} MB")
    for model in document["models"]:
        print(
            f"  {model['model']}: {model['entries']} answers, {model['tokens']} tokens, "
            f"{model['oldest']} to {model['newest']}"
        )


def run_clear(args: argparse.Namespace) -> int:
    """Handle ``autotune cache clear``."""
    from autotune.llm.cache import ResponseStore

    path = _path(args)
    if not path.is_file():
        print(f"{path}: no cache, nothing to clear")
        return 0
    store = ResponseStore(path)
    try:
        deleted = store.clear(args.model)
    finally:
        store.close()
    what = f" of {args.model}" if args.model else ""
    print(f"{path}: deleted {deleted} answers{what}")
    return 0
