"""``autotune view REPORT_OR_STUDY``: write the report and open it (or serve it)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import re
import sys
import webbrowser
from pathlib import Path
from typing import Any

from autotune.cli._options import TRACKING_URI_HELP
from autotune.errors import UserInputError

REPORTS_DIR = Path("mlruns") / "reports"


def register(subparsers: Any) -> None:
    """Add the ``view`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "view",
        help="write a report and open it in a browser (or serve it)",
        description=(
            "Open an HTML report: an existing .html file, or the report of a study, run "
            "or comparison (written to mlruns/reports/ first). Without a browser on "
            "this machine, or with --serve, the page is served on 127.0.0.1 until Ctrl-C."
        ),
    )
    parser.add_argument("target", metavar="REPORT_OR_STUDY", help="report.html, study or run id")
    parser.add_argument("--out", default=None, help="(default: mlruns/reports/TARGET.html)")
    parser.add_argument("--serve", action="store_true", help="serve over HTTP, do not open")
    parser.add_argument("--port", type=int, default=0, help="(default: a free port)")
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)
    parser.add_argument(
        "--storage", default=None, help="Optuna storage (default: sqlite:///mlruns/optuna.db)"
    )
    parser.set_defaults(handler=run_view)


def report_file(args: argparse.Namespace) -> Path:
    """The report to show: the given .html file, or a freshly written one."""
    given = Path(args.target)
    if given.suffix.lower() in (".html", ".htm"):
        if not given.is_file():
            raise UserInputError("no such report file", file=args.target)
        return given.resolve()
    from autotune.report import write_report

    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", args.target)
    out = Path(args.out) if args.out else REPORTS_DIR / f"{safe}.html"
    path = write_report(args.target, out, tracking_uri=args.tracking_uri, storage=args.storage)
    print(f"report written to {path}", file=sys.stderr)
    return path.resolve()


def run_view(args: argparse.Namespace) -> int:
    """Handle ``autotune view``."""
    if not 0 <= args.port < 65536:
        raise UserInputError("must be between 0 and 65535", field="--port")
    page = report_file(args)
    if not args.serve and webbrowser.open(page.as_uri()):
        print(f"opened {page.as_uri()}", file=sys.stderr)
        return 0
    serve(page, args.port)
    return 0


def serve(page: Path, port: int) -> None:
    """Serve ``page``'s folder on 127.0.0.1 until Ctrl-C."""
    handler = functools.partial(QuietHandler, directory=str(page.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/{page.name}"
        print(f"serving {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """No access log on the terminal."""

    def log_message(self, format: str, *args: Any) -> None:
        pass
