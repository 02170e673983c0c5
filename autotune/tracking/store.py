"""Get an MLflow tracking store ready when several workers start on it at the same moment.

MLflow creates a database store's tables on first use with no lock: workers starting
together on a fresh store break each other's migrations ("Online migration expected to
match one row", "table ... already exists") and can leave the store half-migrated.
:func:`prepare_tracking_store` creates the tables once, under the schema lock of
:mod:`autotune._dblock`. :func:`check_tracking_store` runs the soundness checks of
:mod:`autotune.stores` (an empty or corrupt SQLite file, a server that does not answer)
under the same lock, so a store another worker is creating right now is never mistaken
for an empty file.
"""

from __future__ import annotations

from pathlib import Path

from autotune._dblock import first_line, masked, retry_creation, schema_lock
from autotune.errors import StoreError
from autotune.stores import check_tracking_store as check_unlocked
from autotune.stores import sqlite_path

_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")
_ready: set[str] = set()


def _is_database(uri: str) -> bool:
    return uri.split(":", 1)[0].split("+", 1)[0].lower() in _DATABASES


def check_tracking_store(uri: str) -> None:
    """:func:`autotune.stores.check_tracking_store`, taken under the schema lock.

    Raises:
        StoreError: A broken SQLite store, or a server that does not answer.
    """
    with schema_lock(uri):
        check_unlocked(uri)


def prepare_tracking_store(uri: str) -> None:
    """Create a database store's tables once (after the soundness checks, under the lock).

    Cheap after the first call for a URI in this process; servers and other stores are
    left to MLflow.

    Raises:
        StoreError: In one line: a broken store, an unreachable database, a missing driver.
    """
    if uri in _ready or not _is_database(uri):
        return
    from sqlalchemy.exc import ArgumentError, DBAPIError

    file = sqlite_path(uri)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)  # SQLite does not create folders
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from autotune.tracking.mlflow_sink import quiet_store_migrations

    quiet_store_migrations()
    artifacts = (file.parent / "artifacts") if file is not None else Path("mlruns")
    try:
        with schema_lock(uri):
            check_unlocked(uri)
            retry_creation(lambda: SqlAlchemyStore(uri, artifacts.resolve().as_uri()))
    except ImportError as exc:
        raise StoreError(f"{masked(uri)}: its database driver is missing ({exc})") from exc
    except (ArgumentError, DBAPIError, MlflowException) as exc:
        raise StoreError(f"{masked(uri)}: {first_line(exc)}") from exc
    _ready.add(uri)
