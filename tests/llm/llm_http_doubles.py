"""Loopback HTTP doubles for the LLM-layer tests (stdlib only).

:class:`FaultServer` is a fake OpenAI-compatible endpoint that plays a script of
behaviours (status codes, hangs, malformed bodies, dropped connections) and records
every request. :class:`CountingProxy` forwards to a real server and counts the chat
requests that reach it.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Act:
    """One scripted answer: ``kind`` is ok, status, hang, malformed or drop."""

    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    text: str = "scripted answer"


def chat_body(text: str, model: str = "fake-model") -> str:
    """A well-formed chat completion response body."""
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    )


@dataclass
class Recorded:
    at: float
    path: str
    headers: dict[str, str]
    body: Any


class FaultServer:
    """Plays ``script`` one act per request; the last act repeats forever."""

    def __init__(self) -> None:
        self.script: list[Act] = [Act("ok")]
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def play(self, *acts: Act) -> None:
        with self._lock:
            self.script = list(acts)
            self.requests.clear()

    def next_act(self, recorded: Recorded) -> Act:
        with self._lock:
            index = len(self.requests)
            self.requests.append(recorded)
            return self.script[min(index, len(self.script) - 1)]

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            recorded = Recorded(time.monotonic(), self.path, dict(self.headers), json.loads(raw))
            act = server.next_act(recorded)
            if act.kind == "hang":
                server.stopping.wait(10)
                self.close_connection = True
            elif act.kind == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif act.kind == "malformed":
                self._send(200, {"Content-Type": "application/json"}, '{"choices": [')
            elif act.kind == "status":
                self._send(
                    act.status, {"Content-Type": "application/json", **act.headers}, act.body
                )
            else:
                self._send(200, {"Content-Type": "application/json"}, chat_body(act.text))

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class CountingProxy:
    """Forwards every request to ``upstream`` and counts chat completions."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.chat_requests = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def count_chat(self) -> None:
        with self._lock:
            self.chat_requests += 1


def _proxy_handler_for(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._forward(b"")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/chat/completions"):
                proxy.count_chat()
            self._forward(body)

        def _forward(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=120
            )
            headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
            self.send_response(response.status)
            self.send_header("Content-Type", response.getheader("Content-Type") or "")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
