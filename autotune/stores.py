"""Check the study and tracking stores before use: never write into a broken one.

SQLite happily treats an empty (0-byte) file as a new database, and Optuna or MLflow then
create fresh tables in it: a lost study silently becomes a new one. A truncated or
corrupt file fails deep inside SQLAlchemy with a 90-line trace. These checks run first
and turn each case into one :class:`StoreError` line naming the file; the file itself is
only ever read here, never changed or replaced. An MLflow server that does not answer
is one line at start too, instead of a traceback after MLflow's long retry loop.
"""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

from autotune.errors import StoreError

SQLITE_PREFIX = "sqlite:///"
_SQLITE_HEADER = b"SQLite format 3\x00"
PROBE_TIMEOUT_S = 3.0


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for other URLs and ``:memory:``)."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    path = url[len(SQLITE_PREFIX) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def check_sqlite_file(path: Path, what: str, table: str) -> None:
    """Fail with one line if ``path`` exists but is not a sound ``what`` database.

    A missing file is fine (the store creates it). ``table`` is one the store always
    has once created; a database that has other tables but not it belongs to
    something else.

    Raises:
        StoreError: The file is empty, not SQLite, corrupt or truncated, or another
            tool's database. The file is left untouched.
    """
    if not path.exists():
        return
    where = f"{path}: {what}"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{where} cannot be read: {exc.strerror}") from None
    keep = "it was left untouched; move it away or point to another store"
    if size == 0:
        raise StoreError(f"{where} is empty (0 bytes), not a database; {keep}")
    if header != _SQLITE_HEADER:
        raise StoreError(f"{where} is not an SQLite database; {keep}")
    problem = _integrity_problem(path, table)
    if problem is not None:
        raise StoreError(f"{where} {problem}; {keep}")


def _integrity_problem(path: Path, table: str) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{path.resolve().as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})"
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()
        if verdict is None or verdict[0] != "ok":
            return f"is corrupt (sqlite quick_check: {verdict[0] if verdict else 'no answer'})"
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        return f"is corrupt or truncated ({exc})"
    finally:
        conn.close()
    if names and table not in names:
        return f"is another tool's database (no {table!r} table)"
    return None


def check_optuna_storage(url: str | None) -> None:
    """Check an Optuna storage URL's SQLite file before the study is opened.

    Raises:
        StoreError: See :func:`check_sqlite_file`.
    """
    path = sqlite_path(url or "")
    if path is not None:
        check_sqlite_file(path, "Optuna study store", "studies")


def check_tracking_store(uri: str) -> None:
    """Check an MLflow tracking URI before use: its SQLite file, or that a server answers.

    Raises:
        StoreError: A broken SQLite store, or a server that does not answer within
            :data:`PROBE_TIMEOUT_S` seconds.
    """
    path = sqlite_path(uri)
    if path is not None:
        check_sqlite_file(path, "MLflow tracking store", "experiments")
    elif uri.startswith(("http://", "https://")):
        probe_server(uri)


def probe_server(uri: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Fail fast when nothing answers at ``uri`` (any HTTP answer counts as up).

    Raises:
        StoreError: Connection refused, a DNS failure or no answer within ``timeout_s``.
    """
    from autotune.llm.urls import display_url

    shown = display_url(uri)
    request = urllib.request.Request(uri.rstrip("/") + "/health", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return
    except urllib.error.HTTPError:
        return  # it answered: the server is up (auth or paths are MLflow's to report)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreError(
            f"MLflow tracking server {shown} is unreachable ({reason}); start it, "
            "pass another --tracking-uri, or use --no-track"
        ) from None


def relocate_artifacts(database: Path) -> int:
    """Point a moved local MLflow store's artifact locations at its new folder.

    MLflow stores absolute artifact URIs: after ``mv mlruns elsewhere`` every new run
    would still write its artifacts under the old path. Experiments autotune created
    keep artifacts in ``artifacts/`` beside the database; where that recorded folder
    is not beside *this* database any more, the store was moved (or copied), so the
    experiment's location and its runs' URIs are rewritten to the new folder.

    Returns:
        How many experiments were relocated.
    """
    if not database.is_file() or database.stat().st_size == 0:
        return 0
    new_root = (database.parent / "artifacts").resolve().as_uri()
    conn = sqlite3.connect(database, timeout=30)
    try:
        with conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "experiments" not in tables:
                return 0
            moved = [
                (str(exp_id), str(old))
                for exp_id, old in conn.execute(
                    "SELECT experiment_id, artifact_location FROM experiments"
                )
                if _was_moved(str(old or ""), new_root, database)
            ]
            for exp_id, old in moved:
                _rebase(conn, tables, exp_id, old, new_root)
    finally:
        conn.close()
    return len(moved)


def _was_moved(old: str, new_root: str, database: Path) -> bool:
    if old == new_root or not old.startswith("file://") or not old.endswith("/artifacts"):
        return False
    from urllib.parse import unquote, urlsplit

    old_db = Path(unquote(urlsplit(old).path)).parent / database.name
    try:
        return not (old_db.exists() and old_db.samefile(database))
    except OSError:
        return True


def _rebase(conn: sqlite3.Connection, tables: set[str], exp_id: str, old: str, new: str) -> None:
    conn.execute(
        "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", (new, exp_id)
    )
    for table, column in (("runs", "artifact_uri"), ("logged_models", "artifact_location")):
        if table in tables:
            conn.execute(
                f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                f"WHERE experiment_id = ? AND {column} LIKE ? || '/%'",
                (new, len(old) + 1, exp_id, old),
            )
