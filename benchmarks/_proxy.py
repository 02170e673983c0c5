"""A loopback counting proxy for benchmarks: every chat call of every client, counted alike.

The proxy sits between the clients (autotune's HTTP backend, DSPy's litellm) and one
OpenAI-compatible server, forwards every request unchanged, and counts each
``/chat/completions`` request under the current *phase* (e.g. ``"autotune:search"``),
with the prompt and completion tokens the server reports and any non-200 answers.
Counting at the server side means no client's own bookkeeping (caches, retries,
exceptions swallowed by an optimizer) can hide a call.

One compatibility shim: litellm (under DSPy) sends OpenAI's newer
``max_completion_tokens``, which llama-cpp-python's server ignores, so DSPy's
``max_tokens`` would have no effect and every answer would run to the end of the
context. The proxy copies it to ``max_tokens`` (counted in ``rewrites``), which makes
the server honour the limit each client asked for.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class PhaseCount:
    """Chat requests seen during one phase."""

    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: int = 0  # finish_reason "length": the answer hit max_tokens
    by_tag: dict[str, int] = field(default_factory=dict)


class CountingProxy:
    """Forwards requests to ``upstream`` (a ``.../v1`` URL) and counts chat calls by phase.

    Use as a context manager; it serves on a free loopback port (``base_url``).
    ``tagger`` (request body -> tag) sorts a phase's calls further, e.g. by the split
    of the case a request asks about.
    """

    def __init__(
        self,
        upstream: str,
        timeout_s: float = 600.0,
        tagger: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.timeout_s = timeout_s
        self.phase = "unassigned"
        self.counts: dict[str, PhaseCount] = {}
        self.rewrites = 0
        self.tagger = tagger
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @contextmanager
    def phase_of(self, name: str) -> Iterator[PhaseCount]:
        """Count the requests made inside the ``with`` block under ``name``."""
        with self._lock:
            previous, self.phase = self.phase, name
            count = self.counts.setdefault(name, PhaseCount())
        try:
            yield count
        finally:
            with self._lock:
                self.phase = previous

    def total(self) -> int:
        """All chat requests so far."""
        with self._lock:
            return sum(count.calls for count in self.counts.values())

    def record(self, status: int, body: bytes, tag: str) -> None:
        """Count one forwarded chat request and what the server answered."""
        with self._lock:
            count = self.counts.setdefault(self.phase, PhaseCount())
            count.calls += 1
            count.by_tag[tag] = count.by_tag.get(tag, 0) + 1
            if status != 200:
                count.errors += 1
                return
            try:
                data: Any = json.loads(body)
                usage = data.get("usage") or {}
                count.prompt_tokens += int(usage.get("prompt_tokens") or 0)
                count.completion_tokens += int(usage.get("completion_tokens") or 0)
                if data["choices"][0].get("finish_reason") == "length":
                    count.truncated += 1
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                count.errors += 1

    def adapt(self, body: bytes) -> tuple[bytes, str]:
        """The body to forward and its tag.

        Copies ``max_completion_tokens`` to ``max_tokens`` (see the module docstring).
        """
        try:
            request = json.loads(body)
        except ValueError:
            return body, "unreadable"
        if not isinstance(request, dict):
            return body, "unreadable"
        tag = self.tagger(request) if self.tagger is not None else "chat"
        if "max_completion_tokens" not in request:
            return body, tag
        if request.get("max_tokens") is None:
            request["max_tokens"] = request["max_completion_tokens"]
        with self._lock:
            self.rewrites += 1
        return json.dumps(request).encode(), tag

    def report(self) -> dict[str, dict[str, int]]:
        """Counts by phase, JSON-ready."""
        with self._lock:
            return {name: asdict(count) for name, count in self.counts.items()}


def _handler_for(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep the output readable
            pass

        def do_GET(self) -> None:
            self._forward(b"")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.endswith("/chat/completions"):
                self._forward(body)
                return
            body, tag = proxy.adapt(body)
            status, data = self._forward(body)
            proxy.record(status, data, tag)

        def _forward(self, body: bytes) -> tuple[int, bytes]:
            upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=proxy.timeout_s
            )
            try:
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                status, data = response.status, response.read()
                content_type = response.getheader("Content-Type") or "application/json"
            except OSError as exc:
                status, data, content_type = 502, str(exc).encode(), "text/plain"
            finally:
                upstream.close()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return status, data

    return Handler
