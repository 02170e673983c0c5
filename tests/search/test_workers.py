"""Workers on one study, for real: ``autotune worker`` processes on a real PostgreSQL
server and a real ``mlflow server``, against the loopback model double.

Checked in the stores, not in the workers' output: exactly n_trials candidates, the
seed scored once, one MLflow parent run, one final phase, every Meta-LLM proposal in
exactly one record and every instruction-pool slot filled once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from model_double import ModelDouble, model_double
from optuna.trial import FrozenTrial
from real_servers import MlflowServer
from worker_task import Recorder, write_experiment
from workers_check import check_study, results, start, worker_command

from autotune.search._driver import CANDIDATE_ATTR

LATENCY_S = 0.05
# `run --workers` starts its processes together, but on a loaded machine one of them
# can finish 12 fast trials before the others have imported: with a second per call
# the study outlasts their start-up (measured: at load 10, 0.05 s let one worker do all).
SLOW_LATENCY_S = 1.0


@pytest.fixture
def double() -> Iterator[tuple[ModelDouble, Recorder]]:
    recorder = Recorder()
    with model_double(recorder, latency_s=LATENCY_S, max_concurrency=64) as server:
        yield server, recorder


@pytest.fixture
def slow_double() -> Iterator[tuple[ModelDouble, Recorder]]:
    recorder = Recorder()
    with model_double(recorder, latency_s=SLOW_LATENCY_S, max_concurrency=64) as server:
        yield server, recorder


@pytest.mark.parametrize(("n_workers", "searcher"), [(2, "evolution"), (4, "tpe")])
def test_workers_share_one_study_through_postgresql_and_an_mlflow_server(
    tmp_path: Path,
    postgres_url: str,
    tracking_server: MlflowServer,
    double: tuple[ModelDouble, Recorder],
    n_workers: int,
    searcher: str,
) -> None:
    server, recorder = double
    name, trials = f"w{n_workers}{searcher}", 16
    experiment = write_experiment(
        tmp_path, server.base_url, name=name, trials=trials, searcher=searcher
    )
    command = worker_command(experiment, postgres_url, tracking_server.url)
    names = [f"worker{i}" for i in range(n_workers)]
    workers = [start(command, tmp_path, worker) for worker in names]
    documents = results(workers, tmp_path, names)

    facts = check_study(postgres_url, name, trials, documents, recorder, tracking_server.url)
    assert len(facts["workers"]) >= 2, f"one worker did everything: {facts['workers']}"
    if searcher == "tpe":
        check_pool(facts["study"].user_attrs, facts["records"], facts["leases"])


def check_pool(attrs: dict[str, Any], records: list[FrozenTrial], leases: list[str]) -> None:
    """Each pool slot filled once, by the one candidate whose proposal it holds; every
    attempt to fill a slot (a lease) is one candidate's proposal, kept or rejected."""
    slots = sorted(int(key.removeprefix("pool_slot_")) for key in attrs if "pool_slot_" in key)
    made = [t.user_attrs[CANDIDATE_ATTR] for t in records]
    made = [r for r in made if r["raw"]]  # the candidates whose own proposal was asked
    fillers = sorted(int(r["note"].split()[1]) for r in made if r["note"].startswith("slot "))
    assert slots == [0, *fillers]  # the seed's slot, then each filled slot exactly once
    assert len([n for n in leases if "#pool-slot-" in n]) == len(made)


def test_run_with_workers_starts_local_processes_on_the_default_sqlite_stores(
    tmp_path: Path, slow_double: tuple[ModelDouble, Recorder]
) -> None:
    server, recorder = slow_double
    experiment = write_experiment(tmp_path, server.base_url, name="local", trials=12)
    command = [sys.executable, "-m", "autotune.cli.main", "run", str(experiment)]
    process = start([*command, "--workers", "3", "--json"], tmp_path, "run")
    documents = results([process], tmp_path, ["run"])

    storage = f"sqlite:///{tmp_path / 'mlruns' / 'optuna.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    facts = check_study(storage, "local", 12, documents, recorder, tracking)
    assert len(facts["workers"]) >= 2, f"one worker did everything: {facts['workers']}"
