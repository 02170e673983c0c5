"""A loopback OpenAI-compatible chat server with a fixed latency and a concurrency limit.

Stands in for a model server in the worker tests and the scaling benchmark: every chat
completion takes ``latency_s`` seconds once one of ``max_concurrency`` slots is free
(further requests queue, as on a real server with N parallel slots), and the answer is
a deterministic function of the messages. It counts requests and the highest number
in flight, so a benchmark can show the server was not the bottleneck.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[Sequence[dict[str, str]]], str]


def digest_answer(messages: Sequence[dict[str, str]]) -> str:
    """A short answer that depends only on the messages."""
    text = json.dumps(list(messages), sort_keys=True)
    return "answer " + hashlib.sha256(text.encode()).hexdigest()[:8]


class ModelDouble:
    """The server; use :func:`model_double` to start and stop it."""

    def __init__(
        self, answer: Answer = digest_answer, *, latency_s: float = 0.2, max_concurrency: int = 64
    ) -> None:
        self.answer = answer
        self.latency_s = latency_s
        self.slots = threading.Semaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.queued = 0  # requests that found every slot taken
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 256
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        if not self.slots.acquire(blocking=False):
            with self._lock:
                self.queued += 1
            self.slots.acquire()
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency_s)
            return self.answer(messages)
        finally:
            with self._lock:
                self.in_flight -= 1
            self.slots.release()


@contextmanager
def model_double(
    answer: Answer = digest_answer, *, latency_s: float = 0.2, max_concurrency: int = 64
) -> Iterator[ModelDouble]:
    """Serve a :class:`ModelDouble` on a free loopback port while the block runs."""
    server = ModelDouble(answer, latency_s=latency_s, max_concurrency=max_concurrency)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(10)


def _completion(text: str, model: str) -> dict[str, Any]:
    words = len(text.split())
    return {
        "id": "chatcmpl-double",
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
        "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words},
    }


def _handler_for(server: ModelDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep output quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "double"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            text = server.complete(body.get("messages", []))
            self._send(200, _completion(text, str(body.get("model", "double"))))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
