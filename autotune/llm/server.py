"""Serve a GGUF model (the embedded SmolLM2 by default) as an OpenAI-compatible server.

:func:`serve` runs llama-cpp-python's FastAPI app under uvicorn in this process
(``autotune serve-local``). :func:`start_local_server` starts that command as a
subprocess on a free loopback port and waits until ``/v1/models`` answers; tests and
benchmarks use it to exercise the HTTP backend against a real server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from autotune.errors import ConfigError, LLMError
from autotune.llm.backend_check import ensure_backend_works
from autotune.llm.embedded import DEFAULT_MODEL_ID, default_gguf_path

_LOCAL_SPECS = ("smollm2", "local")


def resolve_local_model(spec: str) -> tuple[Path, str]:
    """The GGUF file and served model name for ``smollm2``/``local``/``gguf:PATH``.

    Raises:
        ConfigError: Any other model string (field ``model``).
        LLMError: The file does not exist.
    """
    if spec in _LOCAL_SPECS:
        return default_gguf_path(), DEFAULT_MODEL_ID
    if spec.startswith("gguf:") and spec[len("gguf:") :]:
        path = Path(spec[len("gguf:") :]).expanduser().resolve()
        if not path.is_file():
            raise LLMError(f"GGUF model file not found: {path}")
        return path, path.stem
    raise ConfigError(f"can serve only smollm2, local or gguf:PATH, got {spec!r}", field="model")


def serve(
    spec: str = "smollm2",
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    n_ctx: int = 2048,
    n_threads: int | None = None,
) -> None:
    """Serve a local model over HTTP until interrupted (blocks)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    model_path, alias = resolve_local_model(spec)
    ensure_backend_works(model_path)
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model_options: dict[str, Any] = {
        "model": str(model_path),
        "model_alias": alias,
        "n_ctx": n_ctx,
        "verbose": False,
    }
    if n_threads is not None:
        model_options["n_threads"] = n_threads
    # Explicit values beat the environment variables these settings classes also read.
    server_settings = ServerSettings(host=host, port=port, api_key=None, interrupt_requests=False)
    app = create_app(
        server_settings=server_settings, model_settings=[ModelSettings(**model_options)]
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LocalServer:
    """A running ``autotune serve-local`` subprocess; a context manager that stops it."""

    def __init__(
        self, process: subprocess.Popen[bytes], host: str, port: int, model: str, log_path: Path
    ) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.model = model
        self.log_path = log_path

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in ``/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def __repr__(self) -> str:
        return f"LocalServer(base_url={self.base_url!r}, model={self.model!r})"

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's combined stdout/stderr."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (terminate, then kill). Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_local_server(
    model: str = "smollm2",
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    startup_timeout_s: float = 120.0,
) -> LocalServer:
    """Start ``autotune serve-local`` in a subprocess and wait until it answers.

    Raises:
        LLMError: The server exited or did not answer in time (with its log's end).
    """
    _, alias = resolve_local_model(model)
    port = port or free_port(host)
    command = [
        sys.executable,
        "-c",
        "import sys; from autotune.cli.main import main; sys.exit(main())",
    ]
    command += ["serve-local", "--model", model, "--host", host, "--port", str(port)]
    command += ["--n-ctx", str(n_ctx)]
    if n_threads is not None:
        command += ["--threads", str(n_threads)]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    log_fd, log_name = tempfile.mkstemp(prefix="autotune-serve-", suffix=".log")
    with os.fdopen(log_fd, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = LocalServer(process, host, port, alias, Path(log_name))
    try:
        _wait_until_ready(server, startup_timeout_s)
    except LLMError as exc:
        tail = server.log_tail()
        server.stop()
        raise LLMError(f"{exc}; its log ends with:\n{tail}") from None
    except BaseException:  # e.g. Ctrl-C while waiting: never leave the process behind
        server.stop()
        raise
    return server


def _wait_until_ready(server: LocalServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LLMError(f"local server exited with code {server.process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise LLMError(f"local server at {server.base_url} did not answer within {timeout_s:g} s")
