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

from llm_http_doubles import FaultServer

PLANTED_KEY = "sk-test-PLANTED-7d1e9b3c55"
PASSWORD = "hunter2-PLANTED-pw"


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


SUITE = """
name = "faults"
description = "Repeat the word."
data = "cases.jsonl"
input_template = "Word: {word}"
expected = "answer"
split = { column = "split" }

[[metrics]]
name = "exact"
"""

CASES = 20


def write_suite(folder: Path, cases: int = CASES) -> None:
    """suite.toml, cases.jsonl (all test split except 4 train + 4 validation), seed.txt."""
    lines = []
    for index in range(cases):
        split = "train" if index < 4 else "validation" if index < 8 else "test"
        lines.append(
            f'{{"id": "c{index}", "word": "w{index}", "answer": "scripted answer", '
            f'"split": "{split}"}}'
        )
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "suite.toml").write_text(SUITE)
    (folder / "seed.txt").write_text("Repeat the word.\n")
    (folder / "other.txt").write_text("Say the word again.\n")


def error_lines(stderr: str) -> list[str]:
    """The ``autotune: error:`` lines; the test also checks there is no traceback."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("autotune: error:")]
