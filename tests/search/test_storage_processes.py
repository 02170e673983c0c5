"""Several real processes on one store: concurrent first start, and a worker that dies.

Before the schema lock, four processes starting at the same moment on a fresh SQLite
or PostgreSQL store crashed each other (alembic_version UNIQUE, MLflow's "Online
migration expected to match one row"); before heartbeats, a dead worker's trial on
another host stayed RUNNING forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from autotune.search.storage import Heartbeat, fail_stale_trials, open_storage

# Imports happen before the barrier, so the processes really create the stores at once.
STARTER = """
import pathlib, sys, time
import optuna
import mlflow.store.tracking.sqlalchemy_store
from autotune.search.storage import check_storage, open_storage
from autotune.tracking.mlflow_sink import MlflowTracker

ready, n, me, storage_url, tracking_uri = sys.argv[1:6]
pathlib.Path(ready, me).touch()
while len(list(pathlib.Path(ready).iterdir())) < int(n):
    time.sleep(0.001)
# What `autotune run` does first: check both stores, open the study, open the tracker.
tracker = MlflowTracker(tracking_uri, experiment="workers")
check_storage(storage_url)
optuna.create_study(study_name="s", storage=open_storage(storage_url), load_if_exists=True)
print(tracker.experiment_id and "started")
"""

WORKER = """
import sys, time
import optuna
from autotune.search.storage import Heartbeat, beating, open_storage

storage = open_storage(sys.argv[1], heartbeat=Heartbeat(interval_s=1, grace_s=3))
study = optuna.load_study(study_name="s", storage=storage)
trial = study.ask()
with beating(study, trial):
    print(trial.number, flush=True)
    time.sleep(600)
"""


def _start_at_once(n: int, storage_url: str, tracking_uri: str, ready: Path) -> list[str]:
    ready.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(ready), str(n), str(i), storage_url, tracking_uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    failures = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        if process.returncode != 0 or out.strip() != "started":
            failures.append(err.strip().splitlines()[-1] if err.strip() else out)
    return failures


def _check_stores(storage_url: str, tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    summaries = optuna.get_all_study_summaries(open_storage(storage_url))
    assert [s.study_name for s in summaries] == ["s"]
    names = [e.name for e in MlflowClient(tracking_uri).search_experiments()]
    assert sorted(names) == ["Default", "workers"]


def test_four_processes_create_fresh_sqlite_stores_at_once(tmp_path: Path) -> None:
    storage_url = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    tracking_uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert _start_at_once(4, storage_url, tracking_uri, tmp_path / "ready") == []
    _check_stores(storage_url, tracking_uri)


def test_four_processes_create_fresh_postgresql_stores_at_once(
    postgres: object, postgres_url: str, tmp_path: Path
) -> None:
    from real_servers import PostgresServer

    assert isinstance(postgres, PostgresServer)
    # Optuna and MLflow both keep an ``alembic_version`` table: one database each.
    tracking_uri = postgres.create_database(f"{postgres_url.rsplit('/', 1)[1]}_mlflow")
    assert _start_at_once(4, postgres_url, tracking_uri, tmp_path / "ready") == []
    _check_stores(postgres_url, tracking_uri)


@pytest.fixture(params=["sqlite", "journal", "postgresql", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/optuna.db"
    if kind == "journal":
        return f"journal:///{tmp_path}/optuna.log"
    if kind == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("redis_url"))


def test_a_killed_workers_trial_is_failed_by_its_stopped_heartbeat(shared_url: str) -> None:
    stale: list[int] = []
    heartbeat = Heartbeat(interval_s=1, grace_s=3, on_stale=lambda s, t: stale.append(t.number))
    study = optuna.create_study(
        study_name="s", storage=open_storage(shared_url, heartbeat=heartbeat)
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, shared_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        number = int(worker.stdout.readline())
        time.sleep(4)  # longer than the grace period: only a live heartbeat keeps it
        assert fail_stale_trials(study) == []
        assert study.trials[number].state == optuna.trial.TrialState.RUNNING
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    deadline = time.monotonic() + 20
    while not stale and time.monotonic() < deadline:
        time.sleep(0.5)
        fail_stale_trials(study)
    assert stale == [number]
    assert study.trials[number].state == optuna.trial.TrialState.FAIL
    assert fail_stale_trials(study) == []  # failed once, by one looker
