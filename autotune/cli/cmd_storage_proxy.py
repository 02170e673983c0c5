"""``autotune storage-proxy --storage URL``: serve one study database to very many workers.

Workers then use ``--storage grpc://HOST:PORT``; the proxy holds the database
connections and caches trials, so hundreds of workers cost the database one client.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "storage-proxy",
        help="serve a study database to many workers (Optuna's gRPC storage proxy)",
        description=("Serve an Optuna storage over gRPC; workers pass --storage grpc://HOST:PORT."),
    )
    parser.add_argument("--storage", required=True, help="database URL (postgresql://...)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=13000, help="port to listen on")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from autotune.search.storage import display_url, serve_proxy

    print(
        f"autotune storage-proxy: {display_url(args.storage)} on grpc://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    serve_proxy(args.storage, host=args.host, port=args.port)
    return 0
