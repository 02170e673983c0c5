"""open_storage: every URL kind against a real store, one-line errors, heartbeats."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from real_servers import free_port

from autotune.errors import StoreError
from autotune.search.storage import (
    Heartbeat,
    beating,
    display_url,
    fail_stale_trials,
    open_storage,
    storage_kind,
)

FAST = Heartbeat(interval_s=1, grace_s=2)


def _roundtrip(url: str) -> None:
    """Two storage objects on one URL see each other's trials, as two workers would."""
    first = optuna.create_study(study_name="s", storage=open_storage(url), load_if_exists=True)
    trial = first.ask()
    trial.suggest_int("x", 0, 9)
    first.tell(trial, 0.5)
    second = optuna.create_study(study_name="s", storage=open_storage(url), load_if_exists=True)
    assert [t.value for t in second.trials] == [0.5]
    assert second.trials[0].params.keys() == {"x"}


def test_sqlite_and_journal_files_are_created_with_their_folders(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path}/a/b/study.db")
    _roundtrip(f"journal:///{tmp_path}/c/study.log")
    assert (tmp_path / "a/b/study.db").stat().st_size > 0
    assert (tmp_path / "c/study.log").stat().st_size > 0


def test_postgresql(postgres_url: str) -> None:
    _roundtrip(postgres_url)


def test_redis_journal(redis_url: str) -> None:
    _roundtrip(redis_url)


@pytest.fixture
def storage_proxy(tmp_path: Path) -> Iterator[str]:
    """``autotune storage-proxy`` in front of an SQLite file, as a separate process."""
    port = free_port()
    command = [sys.executable, "-m", "autotune.cli.main", "storage-proxy"]
    command += ["--storage", f"sqlite:///{tmp_path}/proxied.db", "--port", str(port)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"grpc://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def test_grpc_proxy_serves_the_database_and_passes_heartbeats(
    storage_proxy: str, tmp_path: Path
) -> None:
    _roundtrip(storage_proxy)
    study = optuna.load_study(study_name="s", storage=open_storage(storage_proxy, heartbeat=FAST))
    trial = study.ask()
    with beating(study, trial):
        time.sleep(1.5)
    assert fail_stale_trials(study) == []
    time.sleep(2.5)
    assert fail_stale_trials(study) == [trial.number]
    direct = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/proxied.db")
    assert [t.state.name for t in direct.trials] == ["COMPLETE", "FAIL"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (None, "sqlite"),
        (":memory:", "memory"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("journal:///x.log", "journal"),
        ("rediss://h:6380/0", "redis"),
        ("grpc://h:13000", "grpc"),
    ],
)
def test_storage_kind(url: str | None, kind: str) -> None:
    assert storage_kind(url) == kind


def test_display_url_masks_the_password() -> None:
    shown = display_url("postgresql://alice:s3cret@db.example:5432/studies")
    assert "s3cret" not in shown
    assert shown == "postgresql://alice:***@db.example:5432/studies"
    assert "pw" not in display_url("redis://:pw@h:6379/0")


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bob:hunter2@127.0.0.1:{port}/studies",
        "redis://:hunter2@127.0.0.1:{port}/0",
        "grpc://127.0.0.1:{port}",
    ],
)
def test_unreachable_storage_is_one_line_without_the_password(url: str) -> None:
    url = url.format(port=_closed_port())
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        open_storage(url, timeout_s=1)
    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2" not in message
    assert "127.0.0.1" in message
    assert time.monotonic() - started < 15


def test_missing_database_is_one_line(postgres: object, postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StoreError, match='database "no_such_db" does not exist'):
        open_storage(missing)


@pytest.mark.parametrize("url", ["journal://x.log", "nosuchdb://h/x"])
def test_malformed_urls_are_one_line(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_storage(url)
    assert "\n" not in str(caught.value)


def test_heartbeat_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="grace_s"):
        Heartbeat(interval_s=10, grace_s=5)


def test_memory_storage_has_no_heartbeat() -> None:
    study = optuna.create_study(storage=open_storage(":memory:"))
    trial = study.ask()
    with beating(study, trial):
        pass
    assert fail_stale_trials(study) == []
