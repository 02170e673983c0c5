"""Fixtures of the fault matrix: loopback servers that misbehave on purpose, a suite."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# The loopback doubles live beside the LLM-layer tests; share them, do not copy them.
sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))

from fault_suite import PLANTED_KEY, write_suite
from llm_http_doubles import FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer()
    # Clients that stop early (a fatal error cancels the cases in flight) close their
    # sockets; the server's broken-pipe traces are noise, not the CLI's output.
    fault.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=fault.httpd.serve_forever, daemon=True)
    thread.start()
    yield fault
    fault.stopping.set()
    fault.httpd.shutdown()
    fault.httpd.server_close()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a small suite and prompts; caches and default stores stay in it."""
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    write_suite(tmp_path)
    return tmp_path
