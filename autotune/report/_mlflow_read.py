"""Read runs back from an MLflow store: find a target, its children, tables and texts."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from autotune.tracking.mlflow_sink import PARENT_RUN_TAG, quiet_store_migrations

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_QUOTE = re.compile(r"['\\]")


def open_client(tracking_uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    quiet_store_migrations()
    return MlflowClient(tracking_uri=tracking_uri)


def _experiment_ids(client: MlflowClient) -> list[str]:
    return [str(e.experiment_id) for e in client.search_experiments()]


def get_run(client: MlflowClient, run_id: str) -> Run | None:
    """The run with that id, or None (also for text that is no run id)."""
    from mlflow.exceptions import MlflowException

    if not _RUN_ID.match(run_id):
        return None
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def runs_tagged(client: MlflowClient, tag: str, value: str) -> list[Run]:
    """Every run (any experiment) with ``tag`` = ``value``, oldest first."""
    ids = _experiment_ids(client)
    if not ids:
        return []
    safe = _QUOTE.sub("", value)
    found = client.search_runs(
        ids, filter_string=f"tags.`{tag}` = '{safe}'", max_results=5000, order_by=["start_time ASC"]
    )
    return list(found)


def child_runs(client: MlflowClient, parent: Run) -> list[Run]:
    """The runs whose parent is ``parent``, oldest first."""
    found = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`{PARENT_RUN_TAG}` = '{parent.info.run_id}'",
        max_results=5000,
        order_by=["start_time ASC"],
    )
    return list(found)


class ArtifactReader:
    """Downloads small artifacts into one temporary folder and parses them."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self._folder = tempfile.TemporaryDirectory(prefix="autotune-report-")

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> ArtifactReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _local(self, run: Run, path: str) -> Path | None:
        """The artifact's file: read in place from a local store, else downloaded."""
        from mlflow.exceptions import MlflowException

        root = urlparse(run.info.artifact_uri or "")
        if root.scheme == "file" or (root.scheme == "" and root.path):
            return Path(url2pathname(root.path)) / path
        target = Path(self._folder.name) / run.info.run_id
        target.mkdir(exist_ok=True)
        try:
            return Path(self.client.download_artifacts(run.info.run_id, path, dst_path=str(target)))
        except (MlflowException, OSError):
            return None

    def text(self, run: Run, path: str) -> str | None:
        """An artifact's text, or None when the run has no such artifact."""
        local = self._local(run, path)
        if local is None:
            return None
        try:
            return local.read_text(encoding="utf-8")
        except OSError:
            return None

    def table(self, run: Run, path: str) -> dict[str, list[Any]] | None:
        """A table MLflow's ``log_table`` wrote, as ``{column: values}``."""
        raw = self.text(run, path)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            columns, rows = data["columns"], data["data"]
        except (ValueError, KeyError, TypeError):
            return None
        return {name: [row[i] for row in rows] for i, name in enumerate(columns)}

    def json(self, run: Run, path: str) -> Any:
        raw = self.text(run, path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None
