"""Start ``autotune worker`` processes and check what they left in the real stores.

Shared by the worker tests and the README recipe test: every check reads the stores
(PostgreSQL through Optuna, the MLflow server through its client) and the requests the
model double saw, never the workers' own word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
from mlflow import MlflowClient
from worker_task import Recorder

from autotune.search._driver import CANDIDATE_ATTR
from autotune.search.coordination import SEED_ATTR, is_lease_study
from autotune.search.storage import open_storage

TIMEOUT_S = 600


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def start(command: list[str], folder: Path, name: str) -> subprocess.Popen[str]:
    """A worker process whose output goes to files in ``folder`` (no pipe to fill)."""
    out = (folder / f"{name}.out").open("w")
    err = (folder / f"{name}.err").open("w")
    return subprocess.Popen(
        command, cwd=folder, stdout=out, stderr=err, text=True, env=worker_env()
    )


def worker_command(experiment: Path, storage: str, tracking_uri: str) -> list[str]:
    return [
        sys.executable, "-m", "autotune.cli.main", "worker", str(experiment),
        "--storage", storage, "--tracking-uri", tracking_uri, "--json",
    ]  # fmt: skip


def results(workers: list[subprocess.Popen[str]], folder: Path, names: list[str]) -> list[Any]:
    """Each worker's ``--json`` document, once every one of them exited 0."""
    documents = []
    for worker, name in zip(workers, names, strict=True):
        code = worker.wait(TIMEOUT_S)
        err = (folder / f"{name}.err").read_text()
        assert code == 0, f"{name} exited {code}: {err[-2000:]}"
        documents.append(json.loads((folder / f"{name}.out").read_text()))
    return documents


def check_study(
    storage: str,
    study_name: str,
    n_trials: int,
    documents: list[Any],
    recorder: Recorder,
    tracking_uri: str,
) -> dict[str, Any]:
    """Every guarantee of a study shared by workers; returns facts for more checks."""
    same = {"wall_s", "usage", "prompt_path", "registry_uri"}
    shared = {json.dumps({k: v for k, v in d.items() if k not in same}) for d in documents}
    assert len(shared) == 1, "every worker reports the one final result"
    result = documents[0]

    backend = open_storage(storage, heartbeat=None)
    study = optuna.load_study(study_name=study_name, storage=backend)
    trials = study.get_trials()
    records = [t for t in trials if CANDIDATE_ATTR in t.user_attrs]
    # Exactly n_trials candidates: no trial beyond them, none left running or waiting.
    assert len(trials) == len(records) == n_trials
    assert all(t.state.is_finished() for t in trials)
    assert sum(result["candidates"].values()) == n_trials

    # The seed once: one seed ticket, one seed candidate, its cases asked once each.
    assert [t.number for t in trials if t.user_attrs.get(SEED_ATTR)] == [0]
    seeds = [t for t in records if t.user_attrs[CANDIDATE_ATTR]["operator"] == "seed"]
    assert [t.number for t in seeds] == [0]
    seed_system = system_text(seeds[0].user_attrs[CANDIDATE_ATTR]["parts"])
    seed_asked = [
        m for m in recorder.task_requests("train review")
        if len(m) == 2 and m[0]["content"] == seed_system
    ]  # fmt: skip
    # A candidate may ask the seed's very system prompt again (TPE's slot 0 without
    # demos, another temperature) or keep rows of a prompt asked before: a seed scored
    # twice would ask more than every record holds.
    same = [t.user_attrs[CANDIDATE_ATTR] for t in records]
    same = [r for r in same if system_text(r["parts"]) == seed_system]
    scored = sum(len(r["rows"].get("train", {})) for r in same)
    own = len(seeds[0].user_attrs[CANDIDATE_ATTR]["rows"]["train"])
    assert own <= len(seed_asked) <= scored, f"seed asked {len(seed_asked)}: {own}..{scored}"

    # No proposal lost or made twice: each Meta-LLM call is in exactly one record (a
    # record's calls are its Meta-LLM calls and one task call per scored case).
    meta = sum(meta_calls(t.user_attrs[CANDIDATE_ATTR]) for t in records)
    assert recorder.meta_calls() == meta

    # One final phase: the test split was asked once for the seed (and once for the
    # winner when it is not the seed), by one worker.
    winner_is_seed = result["best_candidate"] is None
    assert len(recorder.task_requests("test review")) == 8 * (1 if winner_is_seed else 2)
    leases = [n for n in optuna.get_all_study_names(backend) if is_lease_study(n)]
    assert f"{study_name}#final-{n_trials}#0" in leases
    assert f"{study_name}#final-{n_trials}#1" not in leases

    # MLflow: one parent run, ended FINISHED by the final phase, every candidate under it.
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(f"{study_name} (study)")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("autotune.kind") == "study"]
    children = [r for r in runs if r.data.tags.get("autotune.kind") == "candidate"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent_id = parents[0].info.run_id
    assert result["mlflow_parent_run_id"] == parent_id
    assert sorted(int(r.data.tags["autotune.candidate"]) for r in children) == list(range(n_trials))
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent_id}
    unfinished = {r.data.tags["autotune.candidate"]: r.info.status for r in children}
    unfinished = {number: status for number, status in unfinished.items() if status != "FINISHED"}
    assert not unfinished, f"candidate runs not FINISHED: {unfinished}"
    assert len(client.get_metric_history(parent_id, "best_validation")) == 1
    workers = Counter(str(t.user_attrs["worker"]) for t in trials)
    return {"study": study, "records": records, "workers": workers, "leases": leases}


def system_text(parts: dict[str, Any]) -> str:
    from autotune.search.parts import PromptParts

    return PromptParts.from_dict(parts).to_prompt().system


def meta_calls(record: dict[str, Any]) -> int:
    return int(record["calls"]) - sum(len(rows) for rows in record["rows"].values())
