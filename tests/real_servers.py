"""Real servers on loopback ports for tests and benchmarks: PostgreSQL, Redis, MLflow.

Each starts in a fresh temporary folder on a free port of 127.0.0.1 and is torn down
after. ``make services`` installs Debian's ``postgresql`` and ``redis-server``; where a
server is not installed, :class:`ServerUnavailable` says why and the tests skip with
that message. PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The server cannot be started here (not installed, no user to run it as)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(
    check: Callable[[], object], what: str, timeout_s: float, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} while starting")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout_s:.0f}s")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise ServerUnavailable(
            f"PostgreSQL's {name} is not installed (make services installs Debian's postgresql)"
        )
    return path


def _version_key(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in a temporary folder; ``url(db)`` for each database."""

    port: int
    folder: Path
    _as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropped with the server) and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _ctl(self, *args: str) -> None:
        command = [*self._as_user, _pg_bin("pg_ctl"), "-D", str(self.folder / "data"), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[PostgresServer]:
    """Start PostgreSQL (``fsync`` off for tests; the benchmark keeps it on)."""
    initdb = _pg_bin("initdb")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="autotune-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise ServerUnavailable("running as root and runuser is missing")
        try:
            shutil.chown(folder, user="postgres")
        except LookupError as exc:
            raise ServerUnavailable("running as root and there is no 'postgres' user") from exc
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    server = PostgresServer(port, folder, as_user)
    data = str(folder / "data")
    init = [*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    subprocess.run([*init, "--no-sync"], check=True, capture_output=True, timeout=120)
    options = f"-p {port} -h 127.0.0.1 -k {folder} -c max_connections=200"
    if not fsync:
        options += " -F"
    try:
        server._ctl("-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start")
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server._ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server without persistence; yields its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable(
            "redis-server is not installed (make services installs Debian's redis-server)"
        )
    folder = Path(tempfile.mkdtemp(prefix="autotune-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: socket.create_connection(("127.0.0.1", port), 1), "redis", 30, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class MlflowServer:
    url: str
    folder: Path
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def mlflow_server(backend_uri: str | None = None) -> Iterator[MlflowServer]:
    """``mlflow server`` (SQLite backend unless given, served artifacts) on a free port."""
    folder = Path(tempfile.mkdtemp(prefix="autotune-mlflow-"))
    port = free_port()
    backend = backend_uri or f"sqlite:///{folder / 'mlflow.db'}"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--backend-store-uri", backend]
    command += ["--artifacts-destination", str(folder / "artifacts")]
    log = (folder / "server.log").open("wb")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    # Its own process group: `mlflow server` runs uvicorn as a child process.
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _http_ok(f"{url}/health"), "mlflow server", 180, process)
        yield MlflowServer(url, folder, process)
    finally:
        _stop_group(process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)
