"""MLflow as the tracking store: runs, params, metrics, prompts, case tables, datasets
and traces.

By default everything lives under ``./mlruns``: the run database in
``mlruns/mlflow.db`` (SQLite) and artifacts in ``mlruns/artifacts``; ``autotune ui``
opens it. MLflow is imported only when a tracker is used, because importing it takes
seconds. An explicit :class:`MlflowClient` is used instead of MLflow's global "active
run", so several trackers (or threads) never share hidden state (traces are the one
exception: see :mod:`autotune.tracking._mlflow_traces`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import BudgetExceeded
from autotune.evaluate.results import EvalResult
from autotune.prompt import Prompt
from autotune.tracking._records import safe_key
from autotune.tracking.base import DEFAULT_TRACES_PER_RUN, TrackedRun, Tracker
from autotune.tracking.store import prepare_tracking_store
from autotune.tracking.traces import CallRecord, group_calls, pick_groups

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

DEFAULT_EXPERIMENT = "autotune"
PARENT_RUN_TAG = "mlflow.parentRunId"
_MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
_BATCH = 100  # MLflow's limit on params per log_batch call


LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"  # tables the UI shows as tables
DESCRIPTION_TAG = "mlflow.note.content"  # shown as the experiment's description


def quiet_store_migrations() -> None:
    """Keep MLflow's own chatter off the terminal: schema migrations at INFO, artifact
    download bars (on resume), the trace queue's exit message, and the "View run" links
    a tracking server's client prints on stdout at each run's end (``--json`` output
    is stdout's only content)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    logging.getLogger("mlflow.tracing.export.async_export_queue").setLevel(logging.WARNING)


def default_tracking_uri() -> str:
    """``sqlite:///<cwd>/mlruns/mlflow.db``: the local store ``make ui`` shows."""
    return "sqlite:///" + (Path.cwd() / "mlruns" / "mlflow.db").as_posix()


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri`` if given, else ``$MLFLOW_TRACKING_URI``, else :func:`default_tracking_uri`."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def artifact_root(tracking_uri: str) -> str | None:
    """Where new experiments keep artifacts: ``artifacts/`` beside a SQLite database.

    Other stores (servers, file stores) choose for themselves: None.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    database = Path(tracking_uri[len(prefix) :])
    return (database.parent / "artifacts").resolve().as_uri()


def ensure_experiment(
    client: MlflowClient, name: str, tracking_uri: str, description: str = ""
) -> str:
    """The id of experiment ``name``, created (artifacts under the store) when new."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    tags = {DESCRIPTION_TAG: description} if description else None
    try:
        root = artifact_root(tracking_uri)
        return str(client.create_experiment(name, artifact_location=root, tags=tags))
    except MlflowException:
        # Another process created it between our lookup and create.
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


class MlflowRun(TrackedRun):
    """An open MLflow run, logged to through an explicit client."""

    def __init__(self, client: MlflowClient, run_id: str, tracker: MlflowTracker) -> None:
        self.client = client
        self.run_id = run_id
        self.tracker = tracker
        self._tables: list[dict[str, str]] | None = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(safe_key(k), _param_text(v)) for k, v in params.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + _BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(safe_key(k), float(v), now, step or 0) for k, v in metrics.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, metrics=items[start : start + _BATCH])

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def log_table(self, data: Mapping[str, Sequence[Any]], artifact_file: str) -> None:
        """The table as MLflow's ``log_table`` JSON (``columns``/``data``), replacing a
        file of that name (``log_table`` would append to it on a resumed run)."""
        columns = list(data)
        rows = [[_json_safe(value) for value in row] for row in zip(*data.values(), strict=True)]
        text = json.dumps({"columns": columns, "data": rows}, ensure_ascii=False, default=str)
        self.log_text(text, artifact_file)
        self._mark_table(artifact_file)

    def _mark_table(self, artifact_file: str) -> None:
        if self._tables is None:
            raw = self.client.get_run(self.run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]")
            self._tables = list(json.loads(raw))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in self._tables:
            self._tables.append(entry)
            self.client.set_tag(self.run_id, LOGGED_ARTIFACTS_TAG, json.dumps(self._tables))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, tags=items[start : start + _BATCH])

    def log_dataset(
        self, benchmark: Benchmark, split: str, cases: Sequence[Case] | None = None
    ) -> None:
        from mlflow.entities import DatasetInput, InputTag

        if cases is None:
            cases = benchmark.cases if split == "all" else benchmark.split(split)
        dataset = _dataset(benchmark, cases)
        context = InputTag("mlflow.data.context", split)
        self.client.log_inputs(self.run_id, [DatasetInput(dataset, tags=[context])])

    def log_calls(
        self,
        records: Sequence[CallRecord],
        result: EvalResult | None = None,
        *,
        limit: int = DEFAULT_TRACES_PER_RUN,
    ) -> int:
        from autotune.tracking._mlflow_traces import write_traces

        rows = {row.case_id: row for row in result.rows} if result is not None else {}
        failed = frozenset(key for key, row in rows.items() if not row.passed)
        groups = pick_groups(group_calls(records), limit, failed)
        tags = {"autotune.run": self.run_id}
        return write_traces(
            self.client,
            self.tracker.tracking_uri,
            self.tracker.experiment_id,
            self.run_id,
            groups,
            rows,
            tags,
        )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dataset(benchmark: Benchmark, cases: Sequence[Case]) -> Any:
    """The cases as an MLflow dataset entity: name, digest, source, schema, profile."""
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas

    frame = pd.DataFrame(
        {
            "id": [case.id for case in cases],
            "inputs": [json.dumps(dict(case.inputs), ensure_ascii=False) for case in cases],
            "expected": [
                case.expected if isinstance(case.expected, str) else json.dumps(case.expected)
                for case in cases
            ],
        },
        dtype=object,
    )
    source = Path(benchmark.source).resolve().as_uri() if benchmark.source else benchmark.name
    with warnings.catch_warnings():
        # A file: URI matches MLflow's local-artifact source twice ("file" and ""); the
        # source it picks is right, the warning is noise.
        warnings.filterwarnings("ignore", message=".*interpreted in multiple ways.*")
        dataset = from_pandas(frame, source=source, name=benchmark.name, targets="expected")
    return dataset._to_mlflow_entity()  # what mlflow.log_input sends; the client needs it


class MlflowTracker(Tracker):
    """Logs runs into one MLflow experiment.

    Args:
        tracking_uri: The store; default :func:`resolve_tracking_uri`.
        experiment: The experiment name; created when new (see :mod:`.naming`).
        description: The description a new experiment gets in the UI.

    Raises:
        StoreError: The SQLite store is empty or corrupt, or the server does not answer.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        description: str = "",
    ) -> None:
        from autotune.tracking.store import check_tracking_store

        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        # At start, one line: never a broken store reused, never a dead server's long retries.
        check_tracking_store(self.tracking_uri)
        self.experiment = experiment
        self.description = description
        self._client: MlflowClient | None = None
        self._experiment_id = ""

    @property
    def client(self) -> MlflowClient:
        """The MLflow client, connected (and the experiment ensured) on first use."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            from autotune.stores import relocate_artifacts, sqlite_path

            quiet_store_migrations()
            database = sqlite_path(self.tracking_uri)
            if database is not None:
                # SQLite does not create the folder of its database file.
                database.parent.mkdir(parents=True, exist_ok=True)
            prepare_tracking_store(self.tracking_uri)  # tables created once, under a lock
            if database is not None:
                relocate_artifacts(database)  # a moved mlruns/ keeps its artifacts inside
            client = MlflowClient(tracking_uri=self.tracking_uri)
            self._experiment_id = ensure_experiment(
                client, self.experiment, self.tracking_uri, self.description
            )
            self._client = client
        return self._client

    @property
    def experiment_id(self) -> str:
        _ = self.client
        return self._experiment_id

    @contextlib.contextmanager
    def start_run(
        self,
        name: str,
        *,
        parent: str | None = None,
        tags: Mapping[str, str] | None = None,
        resume_id: str | None = None,
        started_at: float | None = None,
    ) -> Iterator[TrackedRun]:
        client = self.client
        run_id = self._resumable(resume_id)
        if run_id:
            client.update_run(run_id, status="RUNNING")
        else:
            all_tags = dict(tags or {})
            if parent:
                all_tags[PARENT_RUN_TAG] = parent
            start_ms = int((started_at if started_at is not None else time.time()) * 1000)
            run = client.create_run(
                self._experiment_id, tags=all_tags, run_name=name, start_time=start_ms
            )
            run_id = str(run.info.run_id)
        try:
            yield MlflowRun(client, run_id, self)
        except BudgetExceeded:  # a clean stop: what was logged stays valid
            client.set_terminated(run_id, "KILLED")
            raise
        except Exception:
            client.set_terminated(run_id, "FAILED")
            raise
        except BaseException:  # Ctrl-C, cancellation: stopped, not broken
            client.set_terminated(run_id, "KILLED")
            raise
        client.set_terminated(run_id, "FINISHED")

    def existing_run(self, run_id: str) -> TrackedRun:
        return MlflowRun(self.client, run_id, self)

    def open_run(
        self, name: str, *, tags: Mapping[str, str] | None = None, resume_id: str | None = None
    ) -> TrackedRun:
        client = self.client
        run_id = self._resumable(resume_id)
        if run_id:
            client.update_run(run_id, status="RUNNING")
        else:
            run = client.create_run(self._experiment_id, tags=dict(tags or {}), run_name=name)
            run_id = str(run.info.run_id)
        return MlflowRun(client, run_id, self)

    def set_status(self, run_id: str, status: str = "FINISHED") -> None:
        if status == "RUNNING":
            self.client.update_run(run_id, status=status)
        else:
            self.client.set_terminated(run_id, status)

    def running_children(self, parent_id: str) -> list[tuple[str, dict[str, str]]]:
        query = f"tags.`{PARENT_RUN_TAG}` = '{parent_id}' and attributes.status = 'RUNNING'"
        runs = self.client.search_runs([self.experiment_id], query, max_results=5000)
        return [(str(run.info.run_id), dict(run.data.tags)) for run in runs]

    def _resumable(self, run_id: str | None) -> str:
        """``run_id`` when the store has that run in this experiment, else ""."""
        if not run_id:
            return ""
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return ""
        return run_id if run.info.experiment_id == self._experiment_id else ""


def log_eval(
    result: EvalResult,
    prompt: Prompt,
    *,
    params: Mapping[str, Any] | None = None,
    run_name: str = "eval",
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """Log one evaluation as an MLflow run and return its run id.

    Params, metrics (mean, ci_low, ci_high, ``metric/<name>`` means, calls, tokens,
    errors, wall_s), ``prompt.md``/``prompt.json`` and the per-case table ``cases.json``.
    """
    tracker = MlflowTracker(tracking_uri, experiment)
    return tracker.log_eval(
        result, prompt, params=params, run_name=run_name, tags=tags, parent_run_id=parent_run_id
    )


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:_MAX_PARAM_LENGTH]
