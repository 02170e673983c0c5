"""One process at a time creates a database schema (Optuna's study tables, MLflow's store).

Optuna and MLflow create their tables and stamp ``alembic_version`` on first use with no
lock, so processes starting at the same moment on a fresh database crash each other
("UNIQUE constraint failed: alembic_version", "Online migration expected to match one
row", "table ... already exists"), and an interrupted MLflow migration can leave the
store unusable. Every autotune process takes :func:`schema_lock` around that first
creation: a file lock beside an SQLite file, ``pg_advisory_lock`` on PostgreSQL,
``GET_LOCK`` on MySQL. :func:`retry_creation` covers processes that do not take it
(``mlflow ui``, ``optuna-dashboard``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from autotune.errors import StoreError
from autotune.stores import sqlite_path

T = TypeVar("T")
_LOCK_NAME = "autotune-schema"
_LOCK_KEY = zlib.crc32(_LOCK_NAME.encode())  # pg advisory locks take a bigint key
_POLL_S = 0.05


def masked(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and banners."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        head, sep, tail = url.rpartition("@")
        if not sep or "://" not in head:
            return url
        scheme, _, userinfo = head.partition("://")
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:***@{tail}" if ":" in userinfo else url


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (drivers print pages)."""
    text = str(getattr(exc, "orig", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@contextlib.contextmanager
def schema_lock(url: str, *, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold the schema-creation lock of the database ``url`` names.

    Other databases (and in-memory SQLite) get no lock: :func:`retry_creation` remains.
    """
    path = sqlite_path(url)
    if path is not None:
        with _file_lock(path.with_name(path.name + ".lock"), timeout_s):
            yield
    elif url.startswith(("postgresql", "mysql", "mariadb")):
        with _server_lock(url, timeout_s):
            yield
    else:
        yield


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    # fcntl.flock: released by the kernel when the process dies, so a killed worker never
    # leaves a stale lock (the stdlib suffices; no lock library is needed).
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"{path}: another process holds the lock") from None
                time.sleep(_POLL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _server_lock(url: str, timeout_s: float) -> Iterator[None]:
    """A session-level advisory lock on its own connection (the server drops it if we die)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    postgres = url.startswith("postgresql")
    take = "SELECT pg_try_advisory_lock(:key)" if postgres else "SELECT GET_LOCK(:name, 0)"
    release = "SELECT pg_advisory_unlock(:key)" if postgres else "SELECT RELEASE_LOCK(:name)"
    params = {"key": _LOCK_KEY, "name": _LOCK_NAME}
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        try:
            connection = engine.connect()
        except sqlalchemy.exc.DBAPIError as exc:
            raise StoreError(f"{masked(url)}: {first_line(exc)}") from exc
        with connection:
            deadline = time.monotonic() + timeout_s
            while not connection.execute(sqlalchemy.text(take), params).scalar():
                connection.rollback()
                if time.monotonic() > deadline:
                    raise StoreError(f"{masked(url)}: another process holds the schema lock")
                time.sleep(_POLL_S)
            try:
                yield
            finally:
                with contextlib.suppress(sqlalchemy.exc.DBAPIError):
                    connection.execute(sqlalchemy.text(release), params)
                    connection.commit()
    finally:
        engine.dispose()


def retry_creation(create: Callable[[], T], *, attempts: int = 4) -> T:
    """``create()``, retried after a short random pause if it loses a creation race.

    A race shows as an integrity or "already exists" error from the database, or as
    alembic's CommandError; other errors propagate at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except Exception as exc:
            if attempt == attempts or not _lost_race(exc):
                raise
            time.sleep(random.uniform(0.05, 0.3) * attempt)
    raise AssertionError("unreachable")


def _lost_race(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    signs = ("alembic", "already exists", "unique constraint", "duplicate", "database is locked")
    return any(sign in text for sign in signs)
